/* SPDX-License-Identifier: Apache-2.0
 * test_tsdb_chunk.c - bit stream and chunk codec: round trips of edge
 * values and timestamps bit-exact, full chunks, resumed appenders, seek,
 * corrupt input. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/bstream.h"
#include "tsdb/chunk.h"

static double u2f(uint64_t u)
{
	double v;
	memcpy(&v, &u, 8);
	return v;
}

static uint64_t f2u(double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	return u;
}

static uint64_t rng_state = 0x1234567887654321ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Encodes n samples into one chunk (buffer big enough), decodes them with
 * both the iterator and the bulk decoder, checks bit-exactness. */
static void roundtrip(const int64_t *t, const double *v, size_t n)
{
	size_t cap = 64 + n * 24;
	uint8_t *buf = malloc(cap);
	tsdb_chunk_app a;
	tsdb_chunk_app_init(&a, buf, cap);
	for (size_t i = 0; i < n; i++)
		assert_true(tsdb_chunk_app_append(&a, t[i], v[i]));
	size_t len = tsdb_chunk_app_bytes(&a);
	assert_int_equal(tsdb_chunk_count(buf, len), n);

	tsdb_chunk_iter it;
	tsdb_chunk_iter_init(&it, buf, len, UINT32_MAX);
	for (size_t i = 0; i < n; i++) {
		assert_true(tsdb_chunk_iter_next(&it));
		int64_t tt;
		double vv;
		tsdb_chunk_iter_at(&it, &tt, &vv);
		assert_int_equal(tt, t[i]);
		assert_int_equal(f2u(vv), f2u(v[i]));
	}
	assert_false(tsdb_chunk_iter_next(&it));
	assert_int_equal(tsdb_chunk_iter_err(&it), 0);

	tsdb_sample *out = malloc((n + 1) * sizeof(*out));
	long k = tsdb_chunk_decode(buf, len, UINT32_MAX, INT64_MIN, INT64_MAX, out);
	assert_int_equal(k, (long)n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out[i].t, t[i]);
		assert_int_equal(f2u(out[i].v), f2u(v[i]));
	}

	/* the appender rebuilt from the bytes continues identically */
	if (n > 1) {
		uint8_t *b2 = malloc(cap);
		tsdb_chunk_app a2;
		tsdb_chunk_app_init(&a2, b2, cap);
		for (size_t i = 0; i < n / 2; i++)
			assert_true(tsdb_chunk_app_append(&a2, t[i], v[i]));
		tsdb_chunk_app a3;
		assert_int_equal(tsdb_chunk_app_resume(&a3, b2, tsdb_chunk_app_bytes(&a2), cap), TSDB_OK);
		for (size_t i = n / 2; i < n; i++)
			assert_true(tsdb_chunk_app_append(&a3, t[i], v[i]));
		assert_int_equal(tsdb_chunk_app_bytes(&a3), len);
		assert_memory_equal(b2, buf, len);
		free(b2);
	}
	free(out);
	free(buf);
}

static void test_bstream(void **state)
{
	(void)state;
	uint8_t buf[64];
	memset(buf, 0xee, sizeof(buf));
	tsdb_bstream bs;
	tsdb_bstream_init(&bs, buf, sizeof(buf), 0);
	unsigned widths[] = { 1, 3, 7, 8, 13, 31, 32, 33, 56, 64, 2, 64, 5 };
	uint64_t vals[13];
	for (size_t i = 0; i < 13; i++) {
		vals[i] = rnd();
		if (widths[i] < 64)
			vals[i] &= (1ULL << widths[i]) - 1;
		assert_true(tsdb_bstream_write_bits(&bs, vals[i], widths[i]));
	}
	tsdb_bstream_reader r;
	tsdb_bstream_reader_init(&r, buf, tsdb_bstream_bytes(&bs));
	for (size_t i = 0; i < 13; i++) {
		uint64_t got;
		assert_true(tsdb_bstream_read_bits64(&r, widths[i], &got));
		assert_int_equal(got, vals[i]);
	}
	/* a full buffer refuses and stays intact */
	uint8_t small[2];
	tsdb_bstream_init(&bs, small, 2, 0);
	assert_true(tsdb_bstream_write_bits(&bs, 0x5, 3));
	assert_false(tsdb_bstream_write_bits(&bs, 0, 14));
	assert_int_equal(bs.nbits, 3);
	assert_true(tsdb_bstream_write_bits(&bs, 0x1fff, 13));
	assert_int_equal(small[0], 0xbf);
	assert_int_equal(small[1], 0xff);
	/* unary */
	uint8_t u[2] = { 0xd0, 0xff };  /* 1101 0000 1111 1111 */
	tsdb_bstream_reader_init(&r, u, 2);
	assert_int_equal(tsdb_bstream_read_unary(&r, 5), 2);
	assert_int_equal(tsdb_bstream_read_unary(&r, 5), 1);
	assert_int_equal(tsdb_bstream_read_unary(&r, 5), 0);
	assert_int_equal(tsdb_bstream_read_unary(&r, 5), 0);
	assert_int_equal(tsdb_bstream_read_unary(&r, 5), 0);
	assert_int_equal(tsdb_bstream_read_unary(&r, 5), 5);  /* capped, no terminator */
	assert_int_equal(tsdb_bstream_read_unary(&r, 5), -1); /* 3 ones then end */
}

static void test_edge_values(void **state)
{
	(void)state;
	double v[] = {
		0.0, -0.0, 1.0, -1.0, u2f(TSDB_STALE_NAN_BITS), NAN, -NAN, u2f(0x7ff8000000000001ULL),
		u2f(0xfff0000000000001ULL), u2f(0x7fffffffffffffffULL), INFINITY, -INFINITY, DBL_MIN,
		DBL_MAX, -DBL_MAX, 5e-324, u2f(0x000fffffffffffffULL), 0.1, 1e300, 9007199254740992.0,
		-9007199254740992.0, 9007199254740993.0, 42.0, 42.0, 42.5, u2f(TSDB_STALE_NAN_BITS),
		u2f(TSDB_STALE_NAN_BITS), 3.0, -0.0, 0.0,
	};
	size_t n = sizeof(v) / sizeof(v[0]);
	int64_t t[sizeof(v) / sizeof(v[0])];
	for (size_t i = 0; i < n; i++)
		t[i] = 1700000000000LL + (int64_t)i * 15000;
	roundtrip(t, v, n);
	/* the same values, starting with an integer: integer mode escapes */
	double v2[sizeof(v) / sizeof(v[0]) + 1];
	v2[0] = 7.0;
	memcpy(v2 + 1, v, sizeof(v));
	int64_t t2[sizeof(v2) / sizeof(v2[0])];
	for (size_t i = 0; i < n + 1; i++)
		t2[i] = -5000 + (int64_t)i * 1000;
	roundtrip(t2, v2, n + 1);
	/* a chunk starting with -0.0, NaN, stale */
	double v3[] = { u2f(TSDB_STALE_NAN_BITS), 1.0, 2.0 };
	int64_t t3[] = { 0, 1, 2 };
	roundtrip(t3, v3, 3);
	double v4[] = { -0.0, -0.0, 0.0 };
	roundtrip(t3, v4, 3);
}

static void test_timestamps(void **state)
{
	(void)state;
	int64_t t[] = { INT64_MIN, INT64_MIN + 1, -1000000000000LL, -1, 0, 1, 2, 1000, 999999999999LL,
			1700000000000LL, 1700000000001LL, 1700000015000LL, 1700000015007LL,
			1700000029993LL, 1700000030000LL, 1700086400000LL, INT64_MAX - 1, INT64_MAX };
	size_t n = sizeof(t) / sizeof(t[0]);
	double v[sizeof(t) / sizeof(t[0])];
	for (size_t i = 0; i < n; i++)
		v[i] = (double)i;
	roundtrip(t, v, n);
	/* jittery 1 s scrapes with irregular gaps, random floats */
	enum { N = 2000 };
	static int64_t tt[N];
	static double vv[N];
	int64_t cur = 1795427770145LL;
	for (int i = 0; i < N; i++) {
		uint64_t r = rnd();
		cur += 1000 + (int64_t)(r % 11) - 5;
		if (r % 97 == 0)
			cur += (int64_t)(r >> 40);  /* gap */
		tt[i] = cur;
		vv[i] = (r & 1) ? (double)(r >> 11) / 3.0 : u2f(rnd());
	}
	roundtrip(tt, vv, N);
}

static void test_constant_and_counters(void **state)
{
	(void)state;
	enum { N = 500 };
	static int64_t t[N];
	static double v[N];
	for (int i = 0; i < N; i++) {
		t[i] = 1000LL * i;
		v[i] = 12345.0;
	}
	roundtrip(t, v, N);
	/* compact: a constant series at a fixed interval takes ~2 bits a sample */
	uint8_t buf[4096];
	tsdb_chunk_app a;
	tsdb_chunk_app_init(&a, buf, sizeof(buf));
	for (int i = 0; i < N; i++)
		assert_true(tsdb_chunk_app_append(&a, t[i], v[i]));
	assert_true(tsdb_chunk_app_bytes(&a) < 20 + N / 4);
	/* counter with resets, growing irregularly */
	double c = 0;
	for (int i = 0; i < N; i++) {
		if (i % 170 == 169)
			c = 0;
		c += (double)(rnd() % 1000);
		v[i] = c;
	}
	roundtrip(t, v, N);
	/* fractional counter (seconds) */
	c = 0;
	for (int i = 0; i < N; i++) {
		c += 0.01 * (double)(rnd() % 100);
		v[i] = c;
	}
	roundtrip(t, v, N);
	/* integers near the 2^53 edge, big jumps both ways */
	for (int i = 0; i < N; i++)
		v[i] = (i & 1) ? 9007199254740992.0 : -9007199254740992.0;
	roundtrip(t, v, N);
}

static void test_decimal(void **state)
{
	(void)state;
	/* values with few decimals take the scaled-integer path; a value that
	 * needs more digits re-encodes the chunk at a larger scale */
	double v[] = { 0.0, 0.5, 0.58, 0.585, 811.41, 1e-12, 0.1 + 0.2, -0.0, 123456789.123, 3.0,
		       u2f(TSDB_STALE_NAN_BITS), 0.001, -7.25, 1795427770.883576, 1795427771.8960528 };
	size_t n = sizeof(v) / sizeof(v[0]);
	int64_t t[sizeof(v) / sizeof(v[0])];
	for (size_t i = 0; i < n; i++)
		t[i] = 1000LL * (int64_t)i;
	roundtrip(t, v, n);
	/* a CPU-seconds counter with two decimals is much smaller than XOR */
	enum { N = 120 };
	int64_t tt[N];
	double vv[N];
	for (int i = 0; i < N; i++) {
		tt[i] = 1000LL * i;
		vv[i] = (81141.0 + 97.0 * i + (double)(rnd() % 3)) / 100.0;
	}
	roundtrip(tt, vv, N);
	uint8_t buf[4096];
	tsdb_chunk_app a;
	tsdb_chunk_app_init(&a, buf, sizeof(buf));
	for (int i = 0; i < N; i++)
		assert_true(tsdb_chunk_app_append(&a, tt[i], vv[i]));
	assert_true(tsdb_chunk_app_bytes(&a) < 3 * N / 2);
	/* rescaling in a buffer that is too small refuses and keeps the bytes */
	uint8_t small[24], copy[24];
	tsdb_chunk_app_init(&a, small, sizeof(small));
	int k = 0;
	while (tsdb_chunk_app_append(&a, k, (double)k))
		k++;
	memcpy(copy, small, sizeof(small));
	size_t len = tsdb_chunk_app_bytes(&a);
	assert_false(tsdb_chunk_app_append(&a, k, 0.123456789));
	assert_int_equal(tsdb_chunk_app_bytes(&a), len);
	assert_memory_equal(copy, small, len);
}

static void test_runs(void **state)
{
	(void)state;
	/* runs of every length from 1 to 40 between changes, in both value
	 * modes; the appender resumed at every position continues with the
	 * same bytes, and a jitter inside a run splits it */
	enum { N = 900 };
	static int64_t t[N];
	static double v[N];
	for (int mode = 0; mode < 2; mode++) {
		int i = 0, len = 1;
		int64_t ts = 1000;
		double val = mode ? 0.125 : 7.0;
		while (i < N) {
			for (int k = 0; k < len && i < N; k++, i++) {
				t[i] = ts;
				v[i] = val;
				ts += 1000 + (k == 20 ? 3 : 0);
			}
			val = mode ? u2f(rnd()) : val + 1.0;
			len = len % 40 + 1;
		}
		roundtrip(t, v, N);
		size_t cap = N * 24;
		uint8_t *full = malloc(cap), *part = malloc(cap);
		tsdb_chunk_app a;
		tsdb_chunk_app_init(&a, full, cap);
		for (int k = 0; k < N; k++)
			assert_true(tsdb_chunk_app_append(&a, t[k], v[k]));
		size_t len_full = tsdb_chunk_app_bytes(&a);
		for (int cut = 1; cut < N; cut += 7) {
			tsdb_chunk_app b;
			tsdb_chunk_app_init(&b, part, cap);
			for (int k = 0; k < cut; k++)
				assert_true(tsdb_chunk_app_append(&b, t[k], v[k]));
			assert_int_equal(tsdb_chunk_app_resume(&b, part, tsdb_chunk_app_bytes(&b), cap), TSDB_OK);
			for (int k = cut; k < N; k++)
				assert_true(tsdb_chunk_app_append(&b, t[k], v[k]));
			assert_int_equal(tsdb_chunk_app_bytes(&b), len_full);
			assert_memory_equal(part, full, len_full);
		}
		/* seek into the middle of a long run */
		tsdb_chunk_iter it;
		tsdb_chunk_iter_init(&it, full, len_full, UINT32_MAX);
		assert_true(tsdb_chunk_iter_seek(&it, t[N / 2]));
		int64_t tt;
		double vv;
		tsdb_chunk_iter_at(&it, &tt, &vv);
		assert_int_equal(tt, t[N / 2]);
		assert_int_equal(f2u(vv), f2u(v[N / 2]));
		free(full);
		free(part);
	}
}

static void test_full_chunk(void **state)
{
	(void)state;
	uint8_t buf[64], copy[64];
	tsdb_chunk_app a;
	tsdb_chunk_app_init(&a, buf, sizeof(buf));
	int n = 0;
	for (;; n++) {
		memcpy(copy, buf, sizeof(buf));
		size_t len = tsdb_chunk_app_bytes(&a);
		if (!tsdb_chunk_app_append(&a, 1000LL * n + (n % 3), u2f(rnd()))) {
			/* a refused append changes nothing */
			assert_int_equal(tsdb_chunk_app_bytes(&a), len);
			assert_memory_equal(copy, buf, len);
			break;
		}
	}
	assert_true(n >= 3);
	assert_int_equal(tsdb_chunk_count(buf, tsdb_chunk_app_bytes(&a)), n);
	tsdb_chunk_iter it;
	tsdb_chunk_iter_init(&it, buf, tsdb_chunk_app_bytes(&a), UINT32_MAX);
	int k = 0;
	while (tsdb_chunk_iter_next(&it))
		k++;
	assert_int_equal(k, n);
	assert_int_equal(tsdb_chunk_iter_err(&it), 0);
	/* max_samples limits what is read */
	tsdb_chunk_iter_init(&it, buf, tsdb_chunk_app_bytes(&a), 2);
	assert_true(tsdb_chunk_iter_next(&it));
	assert_true(tsdb_chunk_iter_next(&it));
	assert_false(tsdb_chunk_iter_next(&it));
	/* the sample count limit */
	uint8_t *big = malloc(1 << 20);
	tsdb_chunk_app_init(&a, big, 1 << 20);
	for (int i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
		assert_true(tsdb_chunk_app_append(&a, i, 1.0));
	assert_false(tsdb_chunk_app_append(&a, TSDB_CHUNK_MAX_SAMPLES, 1.0));
	/* one run of 32765 samples: a few bytes */
	assert_true(tsdb_chunk_app_bytes(&a) < 32);
	tsdb_sample *all = malloc(TSDB_CHUNK_MAX_SAMPLES * sizeof(*all));
	assert_int_equal(tsdb_chunk_decode(big, tsdb_chunk_app_bytes(&a), UINT32_MAX, INT64_MIN, INT64_MAX, all),
			 TSDB_CHUNK_MAX_SAMPLES);
	for (int i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
		assert_true(all[i].t == i && all[i].v == 1.0);
	free(all);
	free(big);
}

static void test_seek(void **state)
{
	(void)state;
	uint8_t buf[2048];
	tsdb_chunk_app a;
	tsdb_chunk_app_init(&a, buf, sizeof(buf));
	for (int i = 0; i < 100; i++)
		assert_true(tsdb_chunk_app_append(&a, 10LL * i, i));
	tsdb_chunk_iter it;
	tsdb_chunk_iter_init(&it, buf, tsdb_chunk_app_bytes(&a), UINT32_MAX);
	int64_t t;
	double v;
	assert_true(tsdb_chunk_iter_seek(&it, 55));
	tsdb_chunk_iter_at(&it, &t, &v);
	assert_int_equal(t, 60);
	assert_true(v == 6.0);
	assert_true(tsdb_chunk_iter_seek(&it, 10));  /* backwards: stays */
	tsdb_chunk_iter_at(&it, &t, &v);
	assert_int_equal(t, 60);
	assert_true(tsdb_chunk_iter_seek(&it, 990));
	assert_false(tsdb_chunk_iter_seek(&it, 991));
	assert_false(tsdb_chunk_iter_seek(&it, 0));  /* exhausted stays exhausted */
	tsdb_sample out[100];
	assert_int_equal(tsdb_chunk_decode(buf, tsdb_chunk_app_bytes(&a), UINT32_MAX, 95, 205, out), 11);
	assert_int_equal(out[0].t, 100);
	assert_int_equal(out[10].t, 200);
}

static void test_corrupt(void **state)
{
	(void)state;
	uint8_t buf[512];
	tsdb_chunk_app a;
	tsdb_chunk_app_init(&a, buf, sizeof(buf));
	for (int i = 0; i < 50; i++)
		assert_true(tsdb_chunk_app_append(&a, 1000LL * i + (i * 7 % 5), u2f(rnd())));
	size_t len = tsdb_chunk_app_bytes(&a);
	/* every truncation ends with an error, never reads past the end */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *b = malloc(cut ? cut : 1);
		memcpy(b, buf, cut);
		tsdb_chunk_iter it;
		tsdb_chunk_iter_init(&it, b, cut, UINT32_MAX);
		int k = 0;
		while (tsdb_chunk_iter_next(&it))
			k++;
		assert_true(k < 50);
		tsdb_sample out[64];
		long d = tsdb_chunk_decode(b, cut, UINT32_MAX, INT64_MIN, INT64_MAX, out);
		assert_true(d < 50);
		if (cut >= 2)
			assert_int_equal(d, -1);
		if (cut >= 2)
			assert_int_equal(tsdb_chunk_iter_err(&it), TSDB_ECORRUPT);
		tsdb_chunk_app r;
		if (cut >= 2)
			assert_int_equal(tsdb_chunk_app_resume(&r, b, cut, cut), TSDB_ECORRUPT);
		free(b);
	}
	/* bit flips in a valid chunk with runs, both value modes: the bulk
	 * decoder and the iterator agree, and neither reads out of bounds */
	for (int mode = 0; mode < 2; mode++) {
		uint8_t good[1024];
		tsdb_chunk_app ga;
		tsdb_chunk_app_init(&ga, good, sizeof(good));
		for (int i = 0; i < 200; i++)
			assert_true(tsdb_chunk_app_append(&ga, 1000LL * i + (i % 13 == 0 ? 3 : 0),
							  mode ? (double)(i / 9) : (i % 11 ? 0.25 : u2f(rnd()))));
		size_t glen = tsdb_chunk_app_bytes(&ga);
		for (int round = 0; round < 3000; round++) {
			uint8_t *m = malloc(glen);
			memcpy(m, good, glen);
			int flips = 1 + (int)(rnd() % 3);
			for (int f = 0; f < flips; f++) {
				uint64_t bit = rnd() % (glen * 8);
				m[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			}
			static tsdb_sample out[0x8000];
			long d = tsdb_chunk_decode(m, glen, UINT32_MAX, INT64_MIN, INT64_MAX, out);
			tsdb_chunk_iter it;
			tsdb_chunk_iter_init(&it, m, glen, UINT32_MAX);
			long k = 0;
			while (tsdb_chunk_iter_next(&it)) {
				if (d >= 0) {
					assert_true(k < d);
					assert_int_equal(it.t, out[k].t);
					assert_int_equal(it.vbits, f2u(out[k].v));
				}
				k++;
			}
			assert_int_equal(d < 0, tsdb_chunk_iter_err(&it) != 0);
			if (d >= 0)
				assert_int_equal(k, d);
			free(m);
		}
	}
	/* random garbage never crashes */
	for (int round = 0; round < 2000; round++) {
		uint8_t g[40];
		for (size_t i = 0; i < sizeof(g); i++)
			g[i] = (uint8_t)rnd();
		tsdb_chunk_iter it;
		tsdb_chunk_iter_init(&it, g, sizeof(g), UINT32_MAX);
		while (tsdb_chunk_iter_next(&it))
			;
		/* the bulk decoder agrees with the iterator on whatever it reads */
		static tsdb_sample out[0x8000];
		long d = tsdb_chunk_decode(g, sizeof(g), UINT32_MAX, INT64_MIN, INT64_MAX, out);
		tsdb_chunk_iter_init(&it, g, sizeof(g), UINT32_MAX);
		for (long i = 0; i < d; i++) {
			assert_true(tsdb_chunk_iter_next(&it));
			assert_int_equal(it.t, out[i].t);
			assert_int_equal(it.vbits, f2u(out[i].v));
		}
		if (d >= 0)
			assert_false(tsdb_chunk_iter_next(&it));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bstream),
		cmocka_unit_test(test_edge_values),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_constant_and_counters),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_full_chunk),
		cmocka_unit_test(test_seek),
		cmocka_unit_test(test_corrupt),
	};
	return cmocka_run_group_tests_name("tsdb_chunk", tests, NULL, NULL);
}
