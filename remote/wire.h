/* SPDX-License-Identifier: Apache-2.0
 * wire.h - zero-copy decoder of a remote-write 1.0 WriteRequest, for the
 * receiver's hot path (see the top of wire.c for why it is not protobuf-c).
 *
 * It accepts exactly the inputs protobuf-c's unpack of prometheus.WriteRequest
 * accepts, and yields the same series, labels and samples; strings are
 * borrowed from the decoded buffer, which must outlive the request. */
#ifndef REMOTE_WIRE_H
#define REMOTE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A label as sent. The strings are not NUL-terminated; protobuf-c's C
 * strings end at the first NUL byte, so consumers use remote_wire_strlen. */
typedef struct remote_wire_label {
	const char *name, *value;
	uint32_t name_len, value_len;
} remote_wire_label;

typedef struct remote_wire_sample {
	int64_t t;
	double v;
} remote_wire_sample;

typedef struct remote_wire_series {
	/* The series' Label fields exactly as sent (tags and lengths included)
	 * when they are contiguous in the message, as every sender writes
	 * them; NULL when they are not, or there are none. Equal bytes mean
	 * an equal label set: the receiver's series cache keys on them. */
	const uint8_t *key;
	size_t key_len;
	size_t n_labels;            /* see remote_wire_series_labels */
	size_t label0;              /* into remote_wire_request.labels when key is NULL */
	size_t sample0, n_samples;  /* into remote_wire_request.samples */
	size_t n_exemplars;
} remote_wire_series;

typedef struct remote_wire_request {
	remote_wire_series *series;
	size_t n_series, cap_series;
	remote_wire_label *labels;  /* of the series whose labels are apart */
	size_t n_labels, cap_labels;
	remote_wire_sample *samples;
	size_t n_samples, cap_samples;
	size_t n_metadata;
} remote_wire_request;

void remote_wire_init(remote_wire_request *r);
void remote_wire_free(remote_wire_request *r);  /* r is reusable after init */

/* Decodes a serialized WriteRequest (uncompressed) into r, replacing what
 * it held. Returns 0, or -1 when protobuf-c would reject the bytes. */
int remote_wire_decode(remote_wire_request *r, const void *buf, size_t n);

/* Writes the series' s->n_labels labels, in the order sent, to out;
 * returns how many. */
size_t remote_wire_series_labels(const remote_wire_request *r, const remote_wire_series *s, remote_wire_label *out);

/* 1 when r holds what protobuf-c's unpack of the same bytes gave in m:
 * the same series with the same label strings, samples (bit-exact) and
 * exemplar counts, and the same number of metadata entries; else 0. For
 * tests and the fuzzer. */
struct Prometheus__WriteRequest;
int remote_wire_equal_proto(const remote_wire_request *r, const struct Prometheus__WriteRequest *m);

/* Length of a wire string as protobuf-c's NUL-terminated copy sees it. */
static inline size_t remote_wire_strlen(const char *s, uint32_t n)
{
	const char *z = n ? memchr(s, 0, n) : NULL;
	return z ? (size_t)(z - s) : n;
}

#endif
