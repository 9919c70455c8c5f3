/* SPDX-License-Identifier: Apache-2.0
 * rwclient.h - the HTTP side shared by the remote-write / remote-read
 * clients of the tests and benchmarks (tests/integration/rw-load,
 * rr-client, bench/api-bench, rw-push, promql-load): a response-body
 * collector, the protocol's request headers, one POST of a
 * snappy-compressed protobuf body, and packing + compressing a request
 * and uncompressing + unpacking a SAMPLES answer. Write requests are
 * built with remote_write_encode (remote/sender.h).
 *
 * Each tool keeps its own policy: timeouts (set on the handle), what
 * counts as success, retries and messages. */
#ifndef TESTS_SUPPORT_RWCLIENT_H
#define TESTS_SUPPORT_RWCLIENT_H

#include <curl/curl.h>
#include <stddef.h>

#include "remote/remote.pb-c.h"

#define RWC_WRITE_VERSION "X-Prometheus-Remote-Write-Version: 0.1.0"
#define RWC_READ_VERSION "X-Prometheus-Remote-Read-Version: 0.1.0"

/* A response body; p is NUL-terminated once anything arrived. Zero it to
 * start; free(p) when done. */
typedef struct rwc_body {
	char *p;
	size_t n, cap;
} rwc_body;

/* CURLOPT_WRITEFUNCTION appending to the rwc_body in ud (0 on OOM, which
 * fails the transfer). */
size_t rwc_collect(char *p, size_t sz, size_t nm, void *ud);

/* The headers of a snappy protobuf POST: Content-Encoding: snappy,
 * Content-Type: application/x-protobuf, the version line (RWC_*_VERSION),
 * then any further header lines given, up to a NULL. Free with
 * curl_slist_free_all. */
struct curl_slist *rwc_headers(const char *version, ...);

/* POSTs body[0..n) to url with headers h on c (its other options, such
 * as timeouts, are the caller's), the answer collected into resp (emptied
 * first). Returns the transfer's result; *status gets the HTTP status the
 * handle saw (0 when none), also when the transfer failed. */
CURLcode rwc_post(CURL *c, const char *url, struct curl_slist *h, const void *body, size_t n, rwc_body *resp,
		  long *status);

/* Packs a protobuf message and snappy-compresses it: a malloc'd buffer
 * of *outn bytes (the caller frees it). */
char *rwc_pack_snappy(const ProtobufCMessage *m, size_t *outn);

/* Uncompresses a SAMPLES remote read answer and unpacks it (free it with
 * prometheus__read_response__free_unpacked). NULL when it fails: err
 * holds snappy's reason when the body does not uncompress, and is ""
 * when the protobuf does not decode. */
Prometheus__ReadResponse *rwc_read_response_decode(const rwc_body *b, char *err, size_t errlen);

#endif
