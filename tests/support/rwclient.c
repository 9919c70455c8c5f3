/* SPDX-License-Identifier: Apache-2.0
 * rwclient.c - the HTTP side shared by the remote-write / remote-read
 * test and benchmark clients (see rwclient.h). */
#include "config.h"

#include "tests/support/rwclient.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "remote/codec.h"

size_t rwc_collect(char *p, size_t sz, size_t nm, void *ud)
{
	rwc_body *b = ud;
	size_t n = sz * nm;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *q = realloc(b->p, cap);
		if (!q)
			return 0;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

struct curl_slist *rwc_headers(const char *version, ...)
{
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "Content-Encoding: snappy");
	h = curl_slist_append(h, "Content-Type: application/x-protobuf");
	h = curl_slist_append(h, version);
	va_list ap;
	va_start(ap, version);
	for (const char *line; (line = va_arg(ap, const char *)) != NULL;)
		h = curl_slist_append(h, line);
	va_end(ap);
	return h;
}

CURLcode rwc_post(CURL *c, const char *url, struct curl_slist *h, const void *body, size_t n, rwc_body *resp,
		  long *status)
{
	resp->n = 0;
	if (resp->p)
		resp->p[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rwc_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	CURLcode rc = curl_easy_perform(c);
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return rc;
}

char *rwc_pack_snappy(const ProtobufCMessage *m, size_t *outn)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *pb = malloc(len + 1);
	if (!pb)
		abort();
	protobuf_c_message_pack(m, pb);
	char *z = remote_snappy_encode(pb, len, outn);
	free(pb);
	return z;
}

Prometheus__ReadResponse *rwc_read_response_decode(const rwc_body *b, char *err, size_t errlen)
{
	tp_arena a;
	tp_arena_init(&a);
	const char *raw;
	size_t rawn;
	Prometheus__ReadResponse *r = NULL;
	err[0] = '\0';
	/* unpacking copies what it keeps, so the arena goes at once */
	if (remote_snappy_decode(b->p, b->n, 1u << 30, &a, &raw, &rawn, err, errlen) == 0)
		r = prometheus__read_response__unpack(NULL, rawn, (const uint8_t *)raw);
	tp_arena_free(&a);
	return r;
}
