/* SPDX-License-Identifier: Apache-2.0
 * test_remote.c - remote write/read codec: snappy framing, protobuf decode
 * of real encoder output, applying writes whole-or-nothing, and reading the
 * samples back through a ReadRequest. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crc32c.h"
#include "remote/codec.h"
#include "remote/xor.h"
#include "tests/support/xor_decode.h"

/* Builds a snappy-compressed WriteRequest with nseries series named
 * name_i{job="j"} and nsamples samples each starting at t0 (step 1000). */
static char *make_write(const char *name, int nseries, int nsamples, int64_t t0, size_t *n)
{
	Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
	Prometheus__TimeSeries *ts = calloc((size_t)nseries, sizeof(*ts));
	Prometheus__TimeSeries **tsp = calloc((size_t)nseries, sizeof(void *));
	Prometheus__Label *lab = calloc((size_t)nseries * 2, sizeof(*lab));
	Prometheus__Label **labp = calloc((size_t)nseries * 2, sizeof(void *));
	Prometheus__Sample *sm = calloc((size_t)(nseries * nsamples), sizeof(*sm));
	Prometheus__Sample **smp = calloc((size_t)(nseries * nsamples), sizeof(void *));
	char (*names)[32] = calloc((size_t)nseries, 32);
	for (int i = 0; i < nseries; i++) {
		prometheus__time_series__init(&ts[i]);
		snprintf(names[i], 32, "%s_%d", name, i);
		/* deliberately unsorted: job before __name__ */
		prometheus__label__init(&lab[2 * i]);
		lab[2 * i].name = "job";
		lab[2 * i].value = "j";
		prometheus__label__init(&lab[2 * i + 1]);
		lab[2 * i + 1].name = "__name__";
		lab[2 * i + 1].value = names[i];
		labp[2 * i] = &lab[2 * i];
		labp[2 * i + 1] = &lab[2 * i + 1];
		ts[i].labels = &labp[2 * i];
		ts[i].n_labels = 2;
		for (int j = 0; j < nsamples; j++) {
			Prometheus__Sample *s = &sm[i * nsamples + j];
			prometheus__sample__init(s);
			s->timestamp = t0 + j * 1000;
			s->value = i * 100 + j;
			smp[i * nsamples + j] = s;
		}
		ts[i].samples = &smp[i * nsamples];
		ts[i].n_samples = (size_t)nsamples;
		tsp[i] = &ts[i];
	}
	wr.timeseries = tsp;
	wr.n_timeseries = (size_t)nseries;
	size_t rawn = prometheus__write_request__get_packed_size(&wr);
	uint8_t *raw = malloc(rawn + 1);
	prometheus__write_request__pack(&wr, raw);
	char *out = remote_snappy_encode(raw, rawn, n);
	free(raw);
	free(ts);
	free(tsp);
	free(lab);
	free(labp);
	free(sm);
	free(smp);
	free(names);
	return out;
}

static void test_snappy_errors(void **state)
{
	(void)state;
	tp_arena a;
	tp_arena_init(&a);
	char err[256];
	const char *out;
	size_t outn;
	const unsigned char framed[] = { 0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y', 0, 0 };
	assert_int_equal(remote_snappy_decode(framed, sizeof(framed), 1 << 20, &a, &out, &outn, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "framed"));
	const char garbage[] = "\x05garbage-not-snappy";
	assert_int_equal(remote_snappy_decode(garbage, sizeof(garbage) - 1, 1 << 20, &a, &out, &outn, err, sizeof(err)),
			 -1);
	/* a declared length over the cap is refused before allocating */
	size_t zn;
	char zeros[4096] = { 0 };
	char *z = remote_snappy_encode(zeros, sizeof(zeros), &zn);
	assert_int_equal(remote_snappy_decode(z, zn, 1024, &a, &out, &outn, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exceeds"));
	assert_int_equal(remote_snappy_decode(z, zn, 1 << 20, &a, &out, &outn, err, sizeof(err)), 0);
	assert_int_equal(outn, sizeof(zeros));
	free(z);
	/* valid snappy around garbage protobuf */
	const char junk[] = "\xff\xff\xff\xff\xff\xff";
	char *j = remote_snappy_encode(junk, sizeof(junk) - 1, &zn);
	assert_null(remote_write_decode(j, zn, &a, err, sizeof(err)));
	assert_non_null(strstr(err, "proto"));
	free(j);
	tp_arena_free(&a);
}

static void test_write_then_read(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	size_t n;
	char *body = make_write("m", 3, 5, 1000, &n);
	tp_arena a;
	tp_arena_init(&a);
	char err[256];
	Prometheus__WriteRequest *wr = remote_write_decode(body, n, &a, err, sizeof(err));
	assert_non_null(wr);
	assert_int_equal(wr->n_timeseries, 3);
	remote_write_result res;
	assert_int_equal(remote_write_apply(h, wr, &res), 0);
	assert_int_equal(res.samples, 15);
	assert_int_equal(res.series, 3);
	free(body);

	/* read back m_1 over [2000, 4000] */
	Prometheus__ReadRequest rr = PROMETHEUS__READ_REQUEST__INIT;
	Prometheus__Query q = PROMETHEUS__QUERY__INIT;
	Prometheus__Query *qp = &q;
	Prometheus__LabelMatcher m = PROMETHEUS__LABEL_MATCHER__INIT;
	Prometheus__LabelMatcher *mp = &m;
	m.type = PROMETHEUS__LABEL_MATCHER__TYPE__RE;
	m.name = "__name__";
	m.value = "m_1|m_2";
	q.matchers = &mp;
	q.n_matchers = 1;
	q.start_timestamp_ms = 2000;
	q.end_timestamp_ms = 4000;
	rr.queries = &qp;
	rr.n_queries = 1;
	size_t respn;
	char *resp = remote_read_samples(h, &rr, NULL, &respn, err, sizeof(err));
	assert_non_null(resp);
	const char *raw;
	size_t rawn;
	assert_int_equal(remote_snappy_decode(resp, respn, 1 << 24, &a, &raw, &rawn, err, sizeof(err)), 0);
	Prometheus__ReadResponse *rp = prometheus__read_response__unpack(NULL, rawn, (const uint8_t *)raw);
	assert_non_null(rp);
	assert_int_equal(rp->n_results, 1);
	assert_int_equal(rp->results[0]->n_timeseries, 2);
	Prometheus__TimeSeries *ts = rp->results[0]->timeseries[0];
	assert_int_equal(ts->n_labels, 2);
	assert_string_equal(ts->labels[0]->name, "__name__");
	assert_string_equal(ts->labels[0]->value, "m_1");
	assert_string_equal(ts->labels[1]->name, "job");
	assert_int_equal(ts->n_samples, 3);
	assert_int_equal(ts->samples[0]->timestamp, 2000);
	assert_true(ts->samples[0]->value == 101);
	assert_int_equal(ts->samples[2]->timestamp, 4000);
	prometheus__read_response__free_unpacked(rp, NULL);
	free(resp);

	/* a request with an out-of-order sample lands not at all */
	body = make_write("m", 3, 2, 500, &n); /* t=500 < 5000 for m_0..m_2 */
	wr = remote_write_decode(body, n, &a, err, sizeof(err));
	assert_non_null(wr);
	/* make series m_0 new (so it would have been accepted) */
	wr->timeseries[0]->labels[1]->value = "fresh";
	assert_int_equal(remote_write_apply(h, wr, &res), -1);
	assert_non_null(strstr(res.error, "out of order"));
	assert_int_equal(res.samples, 0);
	free(body);
	tsdb_querier *qq = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	tsdb_matcher fm;
	assert_int_equal(tsdb_matcher_init(&fm, TSDB_MATCH_EQ, "__name__", "fresh", err, sizeof(err)), 0);
	tsdb_series_set *ss = tsdb_querier_select(qq, &fm, 1);
	assert_false(tsdb_series_set_next(ss)); /* nothing from the rolled-back request is visible */
	tsdb_series_set_free(ss);
	tsdb_matcher_free(&fm);
	tsdb_querier_free(qq);

	/* a bad regex in a read request is an error, not a crash */
	m.value = "(";
	assert_null(remote_read_samples(h, &rr, NULL, &respn, err, sizeof(err)));

	tp_arena_free(&a);
	tsdb_head_free(h);
}

static void test_labels_from_proto(void **state)
{
	(void)state;
	tp_arena a;
	tp_arena_init(&a);
	Prometheus__Label l[3];
	Prometheus__Label *lp[3] = { &l[0], &l[1], &l[2] };
	for (int i = 0; i < 3; i++)
		prometheus__label__init(&l[i]);
	l[0].name = "b";
	l[0].value = "2";
	l[1].name = "a";
	l[1].value = "";
	l[2].name = "__name__";
	l[2].value = "x";
	tp_labels out;
	char err[128];
	assert_int_equal(remote_labels_from_proto(&a, lp, 3, &out, err, sizeof(err)), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0].name, "__name__");
	assert_string_equal(out.v[1].name, "b");
	l[1].name = "b";
	l[1].value = "3";
	assert_int_equal(remote_labels_from_proto(&a, lp, 3, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate"));
	tp_arena_free(&a);
}

/* ---- Prometheus XOR chunks ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: a fixed seed, so failures reproduce */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double from_bits(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static uint64_t to_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

/* Bytes worked out by hand from the layout: t 1000,2000,3000 and values
 * 1,1,2. 00 03 count | d0 0f zigzag varint 1000 | 3ff0.. raw 1.0 |
 * e8 07 uvarint delta 1000 | bits 0 (same value), 0 (dod 0), 1 1 (new
 * window) 00001 (leading 1) 001011 (11 significant bits) 11111111111. */
static void test_xor_known_bytes(void **state)
{
	(void)state;
	static const uint8_t want[] = { 0x00, 0x03, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
					0xe8, 0x07, 0x30, 0x97, 0xff, 0xc0 };
	remote_xor_chunk c;
	remote_xor_init(&c);
	remote_xor_append(&c, 1000, 1.0);
	remote_xor_append(&c, 2000, 1.0);
	remote_xor_append(&c, 3000, 2.0);
	assert_int_equal(c.len, sizeof(want));
	assert_memory_equal(c.buf, want, sizeof(want));
	remote_xor_free(&c);
}

/* A timestamp delta-of-delta drawn to hit every class and its edges. */
static int64_t random_dod(void)
{
	static const int64_t edges[] = { 0, 1, -1, 8191, -8191, 8192, -8192, 8193, 65535, -65535, 65536, -65536,
					 65537, 524287, -524287, 524288, -524288, 524289, 1ll << 40, -(1ll << 40) };
	switch (rnd() % 4) {
	case 0: return 0;
	case 1: return edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];
	case 2: return (int64_t)(rnd() % 2001) - 1000;
	default: return (int64_t)(rnd() % 4000001) - 2000000;
	}
}

static double random_value(double prev)
{
	static const uint64_t specials[] = {
		0x7ff0000000000002ull,  /* the stale marker */
		0x7ff8000000000001ull,  /* Prometheus's NaN */
		0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff0000000000000ull /* +Inf */,
		0xfff0000000000000ull /* -Inf */, 0x8000000000000000ull /* -0 */, 0x0000000000000001ull /* denormal */,
		0x7fefffffffffffffull, 0,
	};
	switch (rnd() % 6) {
	case 0: return prev;  /* same bits: the '0' case */
	case 1: return from_bits(specials[rnd() % (sizeof(specials) / sizeof(specials[0]))]);
	case 2: return (double)(rnd() % 1000);  /* counters */
	case 3: return prev + (double)(rnd() % 10);  /* small changes reuse the window */
	case 4: return from_bits(rnd());  /* any bit pattern */
	default: return (double)(int64_t)rnd() / 3.0;
	}
}

static void test_xor_roundtrip_random(void **state)
{
	(void)state;
	enum { N = REMOTE_XOR_MAX_SAMPLES };
	int64_t ts[N], got_t[N];
	uint64_t vs[N], got_v[N];
	remote_xor_chunk c;
	remote_xor_init(&c);
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 1 + rnd() % N;
		int64_t t = (int64_t)(rnd() % 4000000000000ull) - 1000000000000ll;  /* negative times too */
		int64_t delta = (int64_t)(rnd() % 60000);
		double v = 0;
		remote_xor_reset(&c);
		for (size_t i = 0; i < n; i++) {
			if (i == 1)
				delta = (int64_t)(rnd() % 100000);
			else if (i > 1) {
				int64_t d = delta + random_dod();
				delta = d < 0 ? 0 : d;  /* timestamps never go back */
			}
			if (i)
				t += delta;
			v = random_value(v);
			ts[i] = t;
			vs[i] = to_bits(v);
			remote_xor_append(&c, t, v);
		}
		size_t used;
		long got = test_xor_decode(c.buf, c.len, got_t, got_v, N, &used);
		assert_int_equal(got, (long)n);
		assert_int_equal((c.len - 2) * 8 - used, c.free_bits);  /* no stray bytes */
		for (size_t i = 0; i < n; i++) {
			if (got_t[i] != ts[i] || got_v[i] != vs[i])
				fail_msg("iteration %d sample %zu: got (%lld, %016llx) want (%lld, %016llx)", iter, i,
					 (long long)got_t[i], (unsigned long long)got_v[i], (long long)ts[i],
					 (unsigned long long)vs[i]);
		}
	}
	remote_xor_free(&c);
}

/* ---- STREAMED_XOR_CHUNKS ---- */

typedef struct frames {
	uint8_t *buf;
	size_t len;
	size_t nframes;
	int fail_after;  /* emit fails on this frame (1-based); 0: never */
} frames;

static int collect(void *ud, const void *p, size_t n)
{
	frames *f = ud;
	if (f->fail_after && (int)f->nframes + 1 == f->fail_after)
		return -1;
	f->buf = realloc(f->buf, f->len + n);
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	f->nframes++;
	return 0;
}

typedef struct seen_series {
	char labels[256];
	int64_t t[2000];
	uint64_t v[2000];
	size_t n;
	int64_t query_index;
} seen_series;

/* Parses frames as a client does (uvarint length, big-endian CRC-32C,
 * ChunkedReadResponse), decoding every chunk; fills out[] in order and
 * checks that series are never interleaved. Returns the series count. */
static size_t parse_frames(const frames *f, seen_series *out, size_t max, size_t *nframes, size_t *max_chunk)
{
	size_t pos = 0, n = 0;
	*nframes = 0;
	*max_chunk = 0;
	while (pos < f->len) {
		uint64_t len = 0;
		unsigned shift = 0;
		while (f->buf[pos] & 0x80) {
			len |= (uint64_t)(f->buf[pos++] & 0x7f) << shift;
			shift += 7;
		}
		len |= (uint64_t)f->buf[pos++] << shift;
		assert_true(pos + 4 + len <= f->len);
		uint32_t crc = ((uint32_t)f->buf[pos] << 24) | ((uint32_t)f->buf[pos + 1] << 16) |
			       ((uint32_t)f->buf[pos + 2] << 8) | f->buf[pos + 3];
		pos += 4;
		assert_int_equal(crc, tp_crc32c(f->buf + pos, len));
		Prometheus__ChunkedReadResponse *r = prometheus__chunked_read_response__unpack(NULL, len, f->buf + pos);
		assert_non_null(r);
		pos += len;
		(*nframes)++;
		assert_int_equal(r->n_chunked_series, 1);  /* one series per frame, as Prometheus */
		Prometheus__ChunkedSeries *cs = r->chunked_series[0];
		char key[256] = "";
		for (size_t i = 0; i < cs->n_labels; i++) {
			size_t kl = strlen(key);
			snprintf(key + kl, sizeof(key) - kl, "%s=%s,", cs->labels[i]->name, cs->labels[i]->value);
		}
		seen_series *s;
		if (n > 0 && strcmp(out[n - 1].labels, key) == 0 && out[n - 1].query_index == r->query_index) {
			s = &out[n - 1];  /* the same series continues in this frame */
		} else {
			for (size_t i = 0; i < n; i++)  /* a series is never resumed later */
				assert_false(strcmp(out[i].labels, key) == 0 && out[i].query_index == r->query_index);
			assert_true(n < max);
			s = &out[n++];
			memset(s, 0, sizeof(*s));
			snprintf(s->labels, sizeof(s->labels), "%s", key);
			s->query_index = r->query_index;
		}
		for (size_t i = 0; i < cs->n_chunks; i++) {
			Prometheus__Chunk *ch = cs->chunks[i];
			assert_int_equal(ch->type, PROMETHEUS__CHUNK__ENCODING__XOR);
			long k = test_xor_decode(ch->data.data, ch->data.len, s->t + s->n, s->v + s->n, 2000 - s->n, NULL);
			assert_true(k > 0);
			assert_true(k <= REMOTE_XOR_MAX_SAMPLES);
			if ((size_t)k > *max_chunk)
				*max_chunk = (size_t)k;
			assert_int_equal(ch->min_time_ms, s->t[s->n]);
			assert_int_equal(ch->max_time_ms, s->t[s->n + (size_t)k - 1]);
			s->n += (size_t)k;
		}
		prometheus__chunked_read_response__free_unpacked(r, NULL);
	}
	return n;
}

static void test_read_chunked(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	/* m_0..m_2 with 300 samples each at t=1000,2000,...; m_1 carries
	 * NaN, the stale marker and -0 at fixed places */
	tsdb_appender *app = tsdb_appender_new(h);
	tp_label lv[2];
	for (int s = 0; s < 3; s++) {
		char name[16];
		snprintf(name, sizeof(name), "m_%d", s);
		lv[0] = (tp_label){ "__name__", name };
		lv[1] = (tp_label){ "job", "j" };
		tp_labels l = { lv, 2 };
		for (int i = 0; i < 300; i++) {
			double v = s * 1000 + i * 0.5;
			if (s == 1 && i == 7)
				v = from_bits(0x7ff8000000000001ull);
			if (s == 1 && i == 8)
				v = tsdb_stale_nan();
			if (s == 1 && i == 9)
				v = -0.0;
			assert_int_equal(tsdb_appender_add(app, &l, 1000 + (int64_t)i * 1000, v, NULL), TSDB_OK);
		}
	}
	tsdb_appender_commit(app);
	tsdb_appender_free(app);

	Prometheus__ReadRequest rr = PROMETHEUS__READ_REQUEST__INIT;
	Prometheus__Query q[2] = { PROMETHEUS__QUERY__INIT, PROMETHEUS__QUERY__INIT };
	Prometheus__Query *qp[2] = { &q[0], &q[1] };
	Prometheus__LabelMatcher m[3] = { PROMETHEUS__LABEL_MATCHER__INIT, PROMETHEUS__LABEL_MATCHER__INIT,
					  PROMETHEUS__LABEL_MATCHER__INIT };
	Prometheus__LabelMatcher *mp0[2] = { &m[0], &m[1] }, *mp1[1] = { &m[2] };
	m[0].type = PROMETHEUS__LABEL_MATCHER__TYPE__RE;
	m[0].name = "__name__";
	m[0].value = "m_1|m_2";
	m[1].type = PROMETHEUS__LABEL_MATCHER__TYPE__EQ;  /* an external label's: dropped */
	m[1].name = "site";
	m[1].value = "a";
	m[2].type = PROMETHEUS__LABEL_MATCHER__TYPE__EQ;
	m[2].name = "__name__";
	m[2].value = "m_0";
	q[0].matchers = mp0;
	q[0].n_matchers = 2;
	q[0].start_timestamp_ms = 5000;   /* samples 4..254 */
	q[0].end_timestamp_ms = 255000;
	q[1].matchers = mp1;
	q[1].n_matchers = 1;
	q[1].start_timestamp_ms = 0;
	q[1].end_timestamp_ms = 1000000;
	rr.queries = qp;
	rr.n_queries = 2;
	tp_label ev[1] = { { "site", "a" } };
	tp_labels ext = { ev, 1 };
	remote_read_opts o = { .external_labels = &ext };
	frames f = { 0 };
	char err[256];
	assert_int_equal(remote_read_chunked(h, &rr, &o, collect, &f, err, sizeof(err)), 0);
	static seen_series got[8];
	size_t nframes, max_chunk;
	size_t n = parse_frames(&f, got, 8, &nframes, &max_chunk);
	assert_int_equal(n, 3);
	assert_int_equal(nframes, 3);  /* each series fits one 1 MiB frame */
	assert_int_equal(max_chunk, REMOTE_XOR_MAX_SAMPLES);
	assert_string_equal(got[0].labels, "__name__=m_1,job=j,site=a,");
	assert_string_equal(got[1].labels, "__name__=m_2,job=j,site=a,");
	assert_string_equal(got[2].labels, "__name__=m_0,job=j,site=a,");
	assert_int_equal(got[0].query_index, 0);
	assert_int_equal(got[2].query_index, 1);
	assert_int_equal(got[0].n, 251);
	assert_int_equal(got[2].n, 300);
	for (size_t i = 0; i < got[0].n; i++) {
		int64_t k = 4 + (int64_t)i;
		assert_int_equal(got[0].t[i], 1000 + k * 1000);
		uint64_t want = to_bits(1000 + (double)k * 0.5);
		if (k == 7)
			want = 0x7ff8000000000001ull;
		else if (k == 8)
			want = TSDB_STALE_NAN_BITS;
		else if (k == 9)
			want = 0x8000000000000000ull;
		assert_true(got[0].v[i] == want);
	}
	free(f.buf);

	/* a small frame limit splits a series over several frames, in order */
	memset(&f, 0, sizeof(f));
	o.max_frame_bytes = 100;
	assert_int_equal(remote_read_chunked(h, &rr, &o, collect, &f, err, sizeof(err)), 0);
	n = parse_frames(&f, got, 8, &nframes, &max_chunk);
	assert_int_equal(n, 3);
	assert_int_equal(nframes, 3 + 3 + 3);  /* 251 and 300 samples: 3 chunks each, one per frame */
	assert_int_equal(got[2].n, 300);
	for (size_t i = 0; i < got[2].n; i++)
		assert_true(got[2].v[i] == to_bits((double)i * 0.5));
	free(f.buf);

	/* a client that goes away stops the stream with an error */
	memset(&f, 0, sizeof(f));
	f.fail_after = 2;
	assert_int_equal(remote_read_chunked(h, &rr, &o, collect, &f, err, sizeof(err)), -1);
	assert_int_equal(f.nframes, 1);
	free(f.buf);

	/* a bad regex is an error before any frame */
	memset(&f, 0, sizeof(f));
	m[0].value = "(";
	assert_int_equal(remote_read_chunked(h, &rr, &o, collect, &f, err, sizeof(err)), -1);
	assert_int_equal(f.nframes, 0);
	tsdb_head_free(h);
}

/* ---- remote/wire.c against protobuf-c ---- */

/* Both decoders on buf[0..n): the same verdict, and the same content. */
static int check_same(const uint8_t *buf, size_t n)
{
	Prometheus__WriteRequest *m = prometheus__write_request__unpack(NULL, n, buf);
	remote_wire_request r;
	remote_wire_init(&r);
	int rc = remote_wire_decode(&r, buf, n);
	assert_int_equal(rc == 0, m != NULL);
	if (m) {
		assert_true(remote_wire_equal_proto(&r, m));
		prometheus__write_request__free_unpacked(m, NULL);
	}
	remote_wire_free(&r);
	return rc == 0;
}

static const char *pick(const char *const *v, size_t n)
{
	return v[rnd() % n];
}

/* A random WriteRequest packed by protobuf-c into a malloc'd buffer. */
static uint8_t *random_write(size_t *outn)
{
	static const char *const names[] = { "__name__", "a", "b", "job", "", "instance" };
	static const char *const values[] = { "", "x", "yy", "up", "a much longer label value with spaces" };
	Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
	Prometheus__TimeSeries ts[5], *tsp[5];
	Prometheus__Label lab[5][4], *labp[5][4], elab[5][2][2], *elabp[5][2][2];
	Prometheus__Sample sm[5][3], *smp[5][3];
	Prometheus__Exemplar ex[5][2], *exp_[5][2];
	Prometheus__MetricMetadata md[2], *mdp[2];
	wr.n_timeseries = rnd() % 6;
	wr.timeseries = tsp;
	for (size_t i = 0; i < wr.n_timeseries; i++) {
		prometheus__time_series__init(&ts[i]);
		tsp[i] = &ts[i];
		ts[i].n_labels = rnd() % 5;
		ts[i].labels = labp[i];
		for (size_t j = 0; j < ts[i].n_labels; j++) {
			prometheus__label__init(&lab[i][j]);
			lab[i][j].name = (char *)pick(names, TP_ARRAY_LEN(names));
			lab[i][j].value = (char *)pick(values, TP_ARRAY_LEN(values));
			labp[i][j] = &lab[i][j];
		}
		ts[i].n_samples = rnd() % 4;
		ts[i].samples = smp[i];
		for (size_t j = 0; j < ts[i].n_samples; j++) {
			prometheus__sample__init(&sm[i][j]);
			sm[i][j].timestamp = (int64_t)(rnd() >> (rnd() % 64));
			sm[i][j].value = from_bits(rnd());
			smp[i][j] = &sm[i][j];
		}
		ts[i].n_exemplars = rnd() % 4 == 0 ? 1 + rnd() % 2 : 0;
		ts[i].exemplars = exp_[i];
		for (size_t j = 0; j < ts[i].n_exemplars; j++) {
			prometheus__exemplar__init(&ex[i][j]);
			ex[i][j].n_labels = rnd() % 3;
			ex[i][j].labels = elabp[i][j];
			for (size_t k = 0; k < ex[i][j].n_labels; k++) {
				prometheus__label__init(&elab[i][j][k]);
				elab[i][j][k].name = "trace_id";
				elab[i][j][k].value = (char *)pick(values, TP_ARRAY_LEN(values));
				elabp[i][j][k] = &elab[i][j][k];
			}
			ex[i][j].value = (double)rnd();
			ex[i][j].timestamp = (int64_t)rnd();
			exp_[i][j] = &ex[i][j];
		}
	}
	wr.n_metadata = rnd() % 3;
	wr.metadata = mdp;
	for (size_t i = 0; i < wr.n_metadata; i++) {
		prometheus__metric_metadata__init(&md[i]);
		md[i].type = (Prometheus__MetricMetadata__MetricType)(rnd() % 8);
		md[i].metric_family_name = (char *)pick(values, TP_ARRAY_LEN(values));
		md[i].help = "help text";
		mdp[i] = &md[i];
	}
	size_t n = prometheus__write_request__get_packed_size(&wr);
	uint8_t *buf = malloc(n + 64);
	prometheus__write_request__pack(&wr, buf);
	*outn = n;
	return buf;
}

static void test_wire_vs_protobuf_c_random(void **state)
{
	(void)state;
	int accepted = 0, rejected = 0;
	for (int it = 0; it < 20000; it++) {
		size_t n;
		uint8_t *buf = random_write(&n);
		assert_true(check_same(buf, n));  /* what protobuf-c packs decodes */
		if (rnd() % 2) {
			/* an unknown field of a random wire type, appended */
			static const uint8_t unknown[][10] = {
				{ 0x20, 0x96, 0x01 },                         /* 4: varint */
				{ 0x29, 1, 2, 3, 4, 5, 6, 7, 8 },             /* 5: fixed64 */
				{ 0x32, 0x02, 0xff, 0x00 },                   /* 6: bytes */
				{ 0x3d, 1, 2, 3, 4 },                         /* 7: fixed32 */
				{ 0x12, 0x00 },                               /* 2: reserved */
			};
			static const size_t unknown_len[] = { 3, 9, 4, 5, 2 };
			size_t k = rnd() % TP_ARRAY_LEN(unknown_len);
			memcpy(buf + n, unknown[k], unknown_len[k]);
			assert_true(check_same(buf, n + unknown_len[k]));
		}
		/* then damage it a little: any verdict, but the same one */
		for (int m = 1 + (int)(rnd() % 3); m > 0 && n > 0; m--) {
			size_t at = rnd() % n;
			switch (rnd() % 4) {
			case 0: buf[at] = (uint8_t)rnd(); break;
			case 1: buf[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
			case 2: n = at; break;
			default: buf[at] = (uint8_t)(rnd() % 2 ? 0x80 : (buf[at] & 0xf8) | (uint8_t)(rnd() % 8)); break;
			}
		}
		if (check_same(buf, n))
			accepted++;
		else
			rejected++;
		free(buf);
	}
	/* the damage exercised both verdicts */
	assert_true(accepted > 1000 && rejected > 1000);
}

static void test_wire_by_hand(void **state)
{
	(void)state;
	remote_wire_request r;
	remote_wire_init(&r);
	/* TimeSeries{label{a=b}, sample{v=1,t=5}, label{c=d}}: labels apart */
	static const uint8_t apart[] = { 0x0a, 0x1d, 0x0a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b',
					 0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x05,
					 0x0a, 0x06, 0x0a, 0x01, 'c', 0x12, 0x01, 'd' };
	assert_true(check_same(apart, sizeof apart));
	assert_int_equal(remote_wire_decode(&r, apart, sizeof apart), 0);
	assert_int_equal(r.n_series, 1);
	assert_int_equal(r.series[0].n_labels, 2);
	assert_null(r.series[0].key);  /* not cacheable */
	assert_int_equal(r.samples[0].t, 5);
	assert_true(r.samples[0].v == 1.0);
	/* the same with the labels together: the key is their 16 bytes */
	static const uint8_t together[] = { 0x0a, 0x1d, 0x0a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b',
					    0x0a, 0x06, 0x0a, 0x01, 'c', 0x12, 0x01, 'd',
					    0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x05 };
	assert_true(check_same(together, sizeof together));
	assert_int_equal(remote_wire_decode(&r, together, sizeof together), 0);
	assert_ptr_equal(r.series[0].key, together + 2);
	assert_int_equal(r.series[0].key_len, 16);
	/* a sample value sent as a varint; a group; a NUL inside a string;
	 * a repeated scalar (the last wins); tag 0 */
	static const uint8_t bad_type[] = { 0x0a, 0x04, 0x12, 0x02, 0x08, 0x01 };
	assert_false(check_same(bad_type, sizeof bad_type));
	static const uint8_t group[] = { 0x0b, 0x0c };
	assert_false(check_same(group, sizeof group));
	static const uint8_t nul[] = { 0x0a, 0x09, 0x0a, 0x07, 0x0a, 0x05, 'a', 0, 'b', 'c', 'd' };
	assert_true(check_same(nul, sizeof nul));
	static const uint8_t twice[] = { 0x0a, 0x08, 0x12, 0x06, 0x10, 0x01, 0x10, 0x02, 0x10, 0x03 };
	assert_true(check_same(twice, sizeof twice));
	assert_int_equal(remote_wire_decode(&r, twice, sizeof twice), 0);
	assert_int_equal(r.samples[0].t, 3);
	static const uint8_t tag0[] = { 0x00, 0x01 };
	assert_false(check_same(tag0, sizeof tag0));
	static const uint8_t tag0_long[] = { 0x80, 0x00, 0x01 };
	check_same(tag0_long, sizeof tag0_long);
	static const uint8_t long_varint[] = { 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
	check_same(long_varint, sizeof long_varint);
	static const uint8_t too_long_varint[] = { 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	assert_false(check_same(too_long_varint, sizeof too_long_varint));
	assert_true(check_same((const uint8_t *)"", 0));
	remote_wire_free(&r);
}

/* Decodes a snappy body with remote/wire.c into r. */
static void wire_body(remote_wire_request *r, const char *body, size_t n, tp_arena *a)
{
	const char *raw;
	size_t rawn;
	char err[128];
	assert_int_equal(remote_snappy_decode(body, n, REMOTE_MAX_DECODED_BYTES, a, &raw, &rawn, err, sizeof err), 0);
	assert_int_equal(remote_wire_decode(r, raw, rawn), 0);
}

static void test_apply_wire_cache(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	remote_series_cache *c = remote_series_cache_new(0);
	tp_arena a;
	tp_arena_init(&a);
	remote_wire_request r;
	remote_wire_init(&r);
	remote_write_result res;
	tsdb_stats st;
	size_t n;

	char *body = make_write("m", 3, 5, 1000, &n);
	wire_body(&r, body, n, &a);
	free(body);
	assert_int_equal(remote_write_apply_wire(h, c, &r, &res), 0);
	assert_int_equal(res.samples, 15);
	assert_int_equal(res.series, 3);
	assert_int_equal(remote_series_cache_len(c), 3);

	/* the same series again: found in the cache, no new series */
	body = make_write("m", 3, 2, 10000, &n);
	wire_body(&r, body, n, &a);
	free(body);
	assert_int_equal(remote_write_apply_wire(h, c, &r, &res), 0);
	assert_int_equal(res.samples, 6);
	tsdb_head_stats(h, &st);
	assert_int_equal(st.series_created, 3);
	assert_int_equal(st.samples_appended, 21);

	/* out of order through cached refs: nothing lands, the error names
	 * the series */
	body = make_write("m", 3, 2, 500, &n);
	wire_body(&r, body, n, &a);
	free(body);
	assert_int_equal(remote_write_apply_wire(h, c, &r, &res), -1);
	assert_non_null(strstr(res.error, "out of order sample"));
	assert_non_null(strstr(res.error, "m_0"));
	assert_non_null(strstr(res.error, "timestamp=500"));
	assert_int_equal(res.samples, 0);
	tsdb_head_stats(h, &st);
	assert_int_equal(st.samples_appended, 21);

	/* retention removes the series: the cached refs are gone, the
	 * series are created again under new refs */
	assert_int_equal(tsdb_head_truncate(h, 1000000), 3);
	body = make_write("m", 3, 2, 2000000, &n);
	wire_body(&r, body, n, &a);
	free(body);
	assert_int_equal(remote_write_apply_wire(h, c, &r, &res), 0);
	assert_int_equal(res.samples, 6);
	tsdb_head_stats(h, &st);
	assert_int_equal(st.series_created, 6);
	assert_int_equal(st.num_series, 3);
	assert_int_equal(remote_series_cache_len(c), 3);
	body = make_write("m", 3, 2, 3000000, &n);
	wire_body(&r, body, n, &a);
	free(body);
	assert_int_equal(remote_write_apply_wire(h, c, &r, &res), 0);
	tsdb_head_stats(h, &st);
	assert_int_equal(st.series_created, 6);
	assert_int_equal(st.samples_appended, 33);

	/* a series without __name__ is skipped, and not cached */
	static const uint8_t noname[] = { 0x0a, 0x13, 0x0a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b',
					  0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f };
	assert_int_equal(remote_wire_decode(&r, noname, sizeof noname), 0);
	assert_int_equal(remote_write_apply_wire(h, c, &r, &res), 0);
	assert_int_equal(res.series_skipped, 1);
	assert_int_equal(res.samples, 0);
	assert_int_equal(remote_series_cache_len(c), 3);

	/* a small cache stays bounded (16 entries a shard at least) */
	remote_series_cache *small = remote_series_cache_new(64 * 16);
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		body = make_write(name, 50, 1, 5000000 + i, &n);
		wire_body(&r, body, n, &a);
		free(body);
		assert_int_equal(remote_write_apply_wire(h, small, &r, &res), 0);
		assert_int_equal(res.samples, 50);
		assert_true(remote_series_cache_len(small) <= 64 * 16);
	}
	remote_series_cache_free(small);

	remote_wire_free(&r);
	tp_arena_free(&a);
	remote_series_cache_free(c);
	tsdb_head_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snappy_errors),
		cmocka_unit_test(test_write_then_read),
		cmocka_unit_test(test_labels_from_proto),
		cmocka_unit_test(test_xor_known_bytes),
		cmocka_unit_test(test_xor_roundtrip_random),
		cmocka_unit_test(test_read_chunked),
		cmocka_unit_test(test_wire_vs_protobuf_c_random),
		cmocka_unit_test(test_wire_by_hand),
		cmocka_unit_test(test_apply_wire_cache),
	};
	return cmocka_run_group_tests_name("remote", tests, NULL, NULL);
}
