/* SPDX-License-Identifier: Apache-2.0
 * rr-client.c - a remote read client for the integration tests: sends one
 * ReadRequest and prints the samples of the answer, whichever response
 * type the server chose, so the answers of tinyprom and of a real
 * Prometheus can be compared line by line.
 *
 *   rr-client --url URL --start MS --end MS [--accept chunks|samples|both]
 *             MATCHER...
 *
 * A MATCHER is name=value, name!=value, name=~regex or name!~regex.
 * --accept both (the default) asks for [STREAMED_XOR_CHUNKS, SAMPLES], as
 * Prometheus's newer clients do. Output: a first line "type=chunks" or
 * "type=samples" (chosen from the response Content-Type, as clients do),
 * then one line per sample "labels<TAB>t_ms<TAB>value bits in hex", series
 * in response order, only samples within [start, end] (a Prometheus
 * server sends whole chunks, which may reach outside the range).
 * Streamed frames are checked as a client checks them: the CRC-32C of
 * every frame, the query index, and every chunk's min/max time; chunks
 * are decoded by tests/support/xor_decode.c, not by tinyprom's encoder.
 * Exits 0 on success, 1 on any protocol error (printed on stderr). */
#include "config.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/crc32c.h"
#include "remote/remote.pb-c.h"
#include "tests/support/rwclient.h"
#include "tests/support/xor_decode.h"

#define MAX_MATCHERS 16

static const char *g_url = "";

static int die(const char *msg)
{
	fprintf(stderr, "rr-client: %s: %s\n", g_url, msg);
	return 1;
}

static int parse_matcher(const char *s, Prometheus__LabelMatcher *m)
{
	static const struct { const char *op; int type; } ops[] = {
		{ "!~", PROMETHEUS__LABEL_MATCHER__TYPE__NRE }, { "=~", PROMETHEUS__LABEL_MATCHER__TYPE__RE },
		{ "!=", PROMETHEUS__LABEL_MATCHER__TYPE__NEQ }, { "=", PROMETHEUS__LABEL_MATCHER__TYPE__EQ },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const char *at = strstr(s, ops[i].op);
		if (!at)
			continue;
		prometheus__label_matcher__init(m);
		m->type = ops[i].type;
		m->name = strndup(s, (size_t)(at - s));
		m->value = strdup(at + strlen(ops[i].op));
		return 0;
	}
	return -1;
}

static void print_labels(Prometheus__Label **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%s=\"%s\"", i ? "," : "{", l[i]->name, l[i]->value);
	printf("}");
}

static void print_sample(Prometheus__Label **l, size_t nl, int64_t t, uint64_t bits, int64_t start, int64_t end)
{
	if (t < start || t > end)
		return;
	print_labels(l, nl);
	printf("\t%" PRId64 "\t%016" PRIx64 "\n", t, bits);
}

static int print_samples(const rwc_body *b, int64_t start, int64_t end)
{
	char err[256];
	Prometheus__ReadResponse *r = rwc_read_response_decode(b, err, sizeof(err));
	if (!r && err[0])
		return die(err);
	if (!r || r->n_results != 1)
		return die("bad ReadResponse");
	printf("type=samples\n");
	for (size_t i = 0; i < r->results[0]->n_timeseries; i++) {
		Prometheus__TimeSeries *ts = r->results[0]->timeseries[i];
		for (size_t k = 0; k < ts->n_samples; k++) {
			uint64_t bits;
			memcpy(&bits, &ts->samples[k]->value, sizeof(bits));
			print_sample(ts->labels, ts->n_labels, ts->samples[k]->timestamp, bits, start, end);
		}
	}
	prometheus__read_response__free_unpacked(r, NULL);
	return 0;
}

static int print_chunks(const rwc_body *b, int64_t start, int64_t end)
{
	const uint8_t *p = (const uint8_t *)b->p;
	size_t pos = 0;
	static int64_t ts[65536];
	static uint64_t vs[65536];
	printf("type=chunks\n");
	while (pos < b->n) {
		uint64_t len = 0;
		unsigned shift = 0;
		for (;;) {
			if (pos >= b->n || shift > 63)
				return die("truncated frame length");
			uint8_t c = p[pos++];
			len |= (uint64_t)(c & 0x7f) << shift;
			shift += 7;
			if (!(c & 0x80))
				break;
		}
		if (b->n - pos < 4 || b->n - pos - 4 < len)
			return die("truncated frame");
		uint32_t crc = ((uint32_t)p[pos] << 24) | ((uint32_t)p[pos + 1] << 16) | ((uint32_t)p[pos + 2] << 8) |
			       p[pos + 3];
		pos += 4;
		if (crc != tp_crc32c(p + pos, len))
			return die("frame CRC-32C mismatch");
		Prometheus__ChunkedReadResponse *r = prometheus__chunked_read_response__unpack(NULL, len, p + pos);
		pos += len;
		if (!r)
			return die("bad ChunkedReadResponse");
		if (r->query_index != 0)
			return die("query_index is not 0");
		for (size_t s = 0; s < r->n_chunked_series; s++) {
			Prometheus__ChunkedSeries *cs = r->chunked_series[s];
			for (size_t c = 0; c < cs->n_chunks; c++) {
				Prometheus__Chunk *ch = cs->chunks[c];
				if (ch->type != PROMETHEUS__CHUNK__ENCODING__XOR)
					return die("not an XOR chunk");
				long n = test_xor_decode(ch->data.data, ch->data.len, ts, vs, 65536, NULL);
				if (n <= 0) {
					fprintf(stderr, "rr-client: chunk of %zu bytes:", ch->data.len);
					for (size_t k = 0; k < ch->data.len; k++)
						fprintf(stderr, " %02x", ch->data.data[k]);
					fputc('\n', stderr);
					return die("undecodable XOR chunk");
				}
				if (ts[0] != ch->min_time_ms || ts[n - 1] != ch->max_time_ms)
					return die("chunk min/max time disagree with its samples");
				for (long k = 0; k < n; k++)
					print_sample(cs->labels, cs->n_labels, ts[k], vs[k], start, end);
			}
		}
		prometheus__chunked_read_response__free_unpacked(r, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = NULL, *accept = "both";
	int64_t start = 0, end = 0;
	Prometheus__LabelMatcher ms[MAX_MATCHERS], *mp[MAX_MATCHERS];
	size_t nm = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc)
			start = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--end") == 0 && i + 1 < argc)
			end = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--accept") == 0 && i + 1 < argc)
			accept = argv[++i];
		else if (nm < MAX_MATCHERS && parse_matcher(argv[i], &ms[nm]) == 0) {
			mp[nm] = &ms[nm];
			nm++;
		} else
			return die("usage: rr-client --url URL --start MS --end MS [--accept chunks|samples|both] MATCHER...");
	}
	if (!url || nm == 0)
		return die("--url and a matcher are required");
	g_url = url;

	Prometheus__ReadRequest rr = PROMETHEUS__READ_REQUEST__INIT;
	Prometheus__Query q = PROMETHEUS__QUERY__INIT, *qp = &q;
	q.start_timestamp_ms = start;
	q.end_timestamp_ms = end;
	q.matchers = mp;
	q.n_matchers = nm;
	rr.queries = &qp;
	rr.n_queries = 1;
	Prometheus__ReadRequest__ResponseType types[2];
	if (strcmp(accept, "chunks") == 0) {
		types[0] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS;
		rr.n_accepted_response_types = 1;
	} else if (strcmp(accept, "samples") == 0) {
		types[0] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES;
		rr.n_accepted_response_types = 1;
	} else {
		types[0] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS;
		types[1] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES;
		rr.n_accepted_response_types = 2;
	}
	rr.accepted_response_types = types;
	size_t bodyn;
	char *body = rwc_pack_snappy(&rr.base, &bodyn);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	struct curl_slist *h = rwc_headers(RWC_READ_VERSION, "Accept-Encoding: snappy", NULL);
	rwc_body resp = { 0 };
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	int rc = 1;
	long code;
	char *ct = NULL;
	if (rwc_post(c, url, h, body, bodyn, &resp, &code) != CURLE_OK) {
		die("request failed");
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (code != 200) {
		fprintf(stderr, "rr-client: HTTP %ld: %.*s\n", code, (int)resp.n, resp.p ? resp.p : "");
		goto out;
	}
	/* the decoder is chosen by the Content-Type, as Prometheus's client does */
	if (ct && strncasecmp(ct, "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse", 70) == 0)
		rc = print_chunks(&resp, start, end);
	else if (ct && strncasecmp(ct, "application/x-protobuf", 22) == 0)
		rc = print_samples(&resp, start, end);
	else
		fprintf(stderr, "rr-client: unexpected Content-Type %s\n", ct ? ct : "(none)");
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	free(resp.p);
	free(body);
	for (size_t i = 0; i < nm; i++) {
		free(ms[i].name);
		free(ms[i].value);
	}
	return rc;
}
