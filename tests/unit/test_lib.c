/* SPDX-License-Identifier: Apache-2.0
 * test_lib.c - unit tests for lib/: durations, times, float formatting,
 * labels, interning, arena. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/bulkmem.h"
#include "lib/duration.h"
#include "lib/ftoa.h"
#include "lib/intern.h"
#include "lib/labels.h"
#include "lib/strbuf.h"

static int64_t dur(const char *s)
{
	int64_t ms = -12345;
	if (tp_duration_parse(s, strlen(s), &ms) != 0)
		return -1;
	return ms;
}

static void test_duration_parse(void **state)
{
	(void)state;
	assert_int_equal(dur("0"), 0);
	assert_int_equal(dur("90s"), 90000);
	assert_int_equal(dur("1h30m"), 5400000);
	assert_int_equal(dur("500ms"), 500);
	assert_int_equal(dur("1d"), 86400000);
	assert_int_equal(dur("1w"), 7 * 86400000LL);
	assert_int_equal(dur("1y"), 365 * 86400000LL);
	assert_int_equal(dur("1m1s1ms"), 61001);
	/* invalid: empty, no unit, wrong order, repeated unit, unknown unit, sign, float */
	assert_int_equal(dur(""), -1);
	assert_int_equal(dur("10"), -1);
	assert_int_equal(dur("1s1h"), -1);
	assert_int_equal(dur("1s1s"), -1);
	assert_int_equal(dur("1x"), -1);
	assert_int_equal(dur("-1s"), -1);
	assert_int_equal(dur("1.5h"), -1);
	assert_int_equal(dur("99999999999999999999y"), -1);
}

static void test_duration_format(void **state)
{
	(void)state;
	char b[48];
	struct { int64_t ms; const char *s; } c[] = {
		{ 0, "0s" }, { 90000, "1m30s" }, { 86400000, "1d" }, { 7 * 86400000LL, "1w" },
		{ 365 * 86400000LL, "1y" }, { 500, "500ms" }, { 5400000, "1h30m" }, { 1001, "1s1ms" },
		{ 15 * 86400000LL, "15d" }, { 14 * 86400000LL, "2w" }, { 90 * 86400000LL, "90d" },
		{ 366 * 86400000LL, "366d" }, { 8 * 86400000LL + 1000, "8d1s" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		tp_duration_format(b, c[i].ms);
		assert_string_equal(b, c[i].s);
		/* round trip */
		assert_int_equal(dur(b), c[i].ms);
	}
}

static void test_time_parse(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(tp_time_parse("1700000000", &ms), 0);
	assert_int_equal(ms, 1700000000000LL);
	assert_int_equal(tp_time_parse("1700000000.123", &ms), 0);
	assert_int_equal(ms, 1700000000123LL);
	assert_int_equal(tp_time_parse("-1.5", &ms), 0);
	assert_int_equal(ms, -1500);
	assert_int_equal(tp_time_parse("2023-11-14T22:13:20Z", &ms), 0);
	assert_int_equal(ms, 1700000000000LL);
	assert_int_equal(tp_time_parse("2023-11-14T22:13:20.5Z", &ms), 0);
	assert_int_equal(ms, 1700000000500LL);
	assert_int_equal(tp_time_parse("2023-11-14T23:13:20+01:00", &ms), 0);
	assert_int_equal(ms, 1700000000000LL);
	assert_int_equal(tp_time_parse("", &ms), -1);
	assert_int_equal(tp_time_parse("abc", &ms), -1);
	assert_int_equal(tp_time_parse("2023-13-14T22:13:20Z", &ms), -1);
	assert_int_equal(tp_time_parse("2023-11-14T22:13:20", &ms), -1);
	assert_int_equal(tp_time_parse("NaN", &ms), -1);
	char b[40];
	tp_time_format_rfc3339(b, 1700000000500LL);
	assert_string_equal(b, "2023-11-14T22:13:20.5Z");
	tp_time_format_rfc3339(b, 0);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
}

static void test_float_format(void **state)
{
	(void)state;
	char b[400];
	struct { double v; const char *g, *f; } c[] = {
		{ 0, "0", "0" }, { 1, "1", "1" }, { 0.1, "0.1", "0.1" }, { 100000, "100000", "100000" },
		{ 1e6, "1e+06", "1000000" }, { 1.5e-7, "1.5e-07", "0.00000015" }, { 0.0001, "0.0001", "0.0001" },
		{ 123456789, "1.23456789e+08", "123456789" }, { -2.5, "-2.5", "-2.5" },
		{ 1.0 / 3, "0.3333333333333333", "0.3333333333333333" },
		{ INFINITY, "+Inf", "+Inf" }, { -INFINITY, "-Inf", "-Inf" }, { NAN, "NaN", "NaN" },
		{ 1e21, "1e+21", "1000000000000000000000" }, { 5e-324, "5e-324", NULL },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		tp_format_float(b, c[i].v);
		assert_string_equal(b, c[i].g);
		if (c[i].f) {
			tp_format_float_f(b, c[i].v);
			assert_string_equal(b, c[i].f);
		}
	}
}

/* The reference for tp_ftoa_shortest, from glibc's correctly rounded
 * printf/strtod: for each length p, the p-digit decimals next to v (the
 * correctly rounded %.*e and one unit either side: at the lower edge of a
 * binade the interval is lopsided, and the closest p-digit decimal may
 * read back as the neighbour while the next one up still reads back as
 * v); the first length with a decimal that reads back wins, the closest
 * one (by long double) if two do. */
static int ref_shortest(double v, char *digits, int *exp10)
{
	for (int prec = 1; prec <= 17; prec++) {
		char tmp[40];
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		unsigned long long m = 0;
		const char *p = tmp;
		for (; *p && *p != 'e'; p++)
			if (*p >= '0' && *p <= '9')
				m = m * 10 + (unsigned long long)(*p - '0');
		int e = atoi(p + 1);
		unsigned long long lo = 1;
		for (int i = 1; i < prec; i++)
			lo *= 10;
		unsigned long long best = 0;
		long double bestd = 0;
		static const int order[3] = { 0, -1, 1 };  /* ties: printf's rounding (half to even) */
		for (int o = 0; o < 3; o++) {
			unsigned long long c = m + (unsigned long long)(long long)order[o];
			if (c < lo || c >= lo * 10)
				continue;  /* another length */
			char cand[48];
			snprintf(cand, sizeof(cand), "%llue%d", c, e - prec + 1);
			if (strtod(cand, NULL) != v)
				continue;
			long double dist = fabsl(strtold(cand, NULL) - (long double)v);
			if (!best || dist < bestd) {
				best = c;
				bestd = dist;
			}
		}
		if (!best)
			continue;
		int n = 0;
		char rev[24];
		for (unsigned long long c = best; c; c /= 10)
			rev[n++] = (char)('0' + c % 10);
		for (int i = 0; i < n; i++)
			digits[i] = rev[n - 1 - i];
		*exp10 = e;
		while (n > 1 && digits[n - 1] == '0')
			n--;
		return n;
	}
	return 0;
}

static void check_shortest(double v)
{
	char a[32], b[32];
	int ea, eb;
	int na = tp_ftoa_shortest(v, a, &ea), nb = ref_shortest(v, b, &eb);
	if (na != nb || ea != eb || memcmp(a, b, (size_t)na) != 0)
		fail_msg("%a (%.17g): got %.*se%d, want %.*se%d", v, v, na, a, ea, nb, b, eb);
}

static uint64_t ftoa_rng = 0x5851f42d4c957f2dULL;

static uint64_t ftoa_rnd(void)
{
	ftoa_rng ^= ftoa_rng << 13;
	ftoa_rng ^= ftoa_rng >> 7;
	ftoa_rng ^= ftoa_rng << 17;
	return ftoa_rng;
}

static void test_ftoa_shortest(void **state)
{
	(void)state;
	/* every binade's edges, powers of ten and their neighbours */
	for (int e = -1074; e <= 1023; e++) {
		double p = ldexp(1, e);
		check_shortest(p);
		check_shortest(nextafter(p, INFINITY));
		if (e > -1074)
			check_shortest(nextafter(p, 0));
	}
	for (int k = -323; k <= 308; k++) {
		char s[16];
		snprintf(s, sizeof(s), "1e%d", k);
		double p = strtod(s, NULL);
		check_shortest(p);
		check_shortest(nextafter(p, INFINITY));
		check_shortest(nextafter(p, 0));
	}
	check_shortest(1.7976931348623157e308);
	check_shortest(2.2250738585072014e-308);
	check_shortest(4.9406564584124654e-324);
	check_shortest(9007199254740991.0);
	check_shortest(9007199254740992.0);
	check_shortest(9007199254740994.0);
	check_shortest(0.3);
	check_shortest(2.0 / 3);
	/* random bit patterns (every exponent), short decimals, integers */
	for (int i = 0; i < 50000; i++) {
		uint64_t bits = ftoa_rnd() & 0x7fffffffffffffffULL;
		double v;
		memcpy(&v, &bits, sizeof(v));
		if (isfinite(v) && v > 0)
			check_shortest(v);
		char s[40];
		snprintf(s, sizeof(s), "%llue%d", (unsigned long long)(ftoa_rnd() % 100000000), (int)(ftoa_rnd() % 40) - 20);
		v = strtod(s, NULL);
		if (v > 0)
			check_shortest(v);
		v = (double)(ftoa_rnd() >> (ftoa_rnd() % 64));
		if (v > 0)
			check_shortest(v);
	}
}

static void test_labels(void **state)
{
	(void)state;
	tp_label a[] = { { "job", "x" }, { "__name__", "up" }, { "empty", "" }, { "instance", "h:1" } };
	tp_labels l = { a, 4 };
	tp_labels_normalize(&l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "__name__");
	assert_string_equal(l.v[2].name, "job");
	assert_null(tp_labels_get(&l, "empty"));
	assert_string_equal(tp_labels_get(&l, "instance"), "h:1");

	tp_strbuf sb = { 0 };
	tp_labels_format(&sb, &l, true);
	assert_string_equal(tp_sb_cstr(&sb), "up{instance=\"h:1\", job=\"x\"}");
	tp_sb_reset(&sb);
	tp_labels_format(&sb, &l, false);
	assert_string_equal(tp_sb_cstr(&sb), "{__name__=\"up\", instance=\"h:1\", job=\"x\"}");
	tp_sb_free(&sb);

	/* content equality and hashing independent of where strings live */
	char n1[] = "job", v1[] = "x";
	tp_label b[] = { { "__name__", "up" }, { "instance", "h:1" }, { n1, v1 } };
	tp_labels m = { b, 3 };
	assert_true(tp_labels_equal(&l, &m));
	assert_true(tp_labels_hash(&l) == tp_labels_hash(&m));
	b[2].value = "y";
	assert_true(tp_labels_cmp(&l, &m) < 0);
	assert_false(tp_labels_hash(&l) == tp_labels_hash(&m));
	/* a prefix sorts first */
	tp_labels p = { b, 2 };
	assert_true(tp_labels_cmp(&p, &l) < 0);

	tp_arena ar;
	tp_arena_init(&ar);
	tp_labels_builder lb;
	tp_lb_init(&lb, &ar, &l);
	tp_lb_set(&lb, "zone", "eu");
	tp_lb_set(&lb, "a", "1");
	tp_lb_del(&lb, "__name__");
	tp_lb_set(&lb, "job", "");
	tp_labels r = tp_lb_labels(&lb);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.v[0].name, "a");
	assert_string_equal(r.v[1].name, "instance");
	assert_string_equal(r.v[2].name, "zone");
	const char *keep[] = { "zone" };
	tp_lb_filter(&lb, keep, 1, true);
	r = tp_lb_labels(&lb);
	assert_int_equal(r.n, 1);
	tp_arena_free(&ar);

	assert_true(tp_label_name_valid("a_b1", 4));
	assert_false(tp_label_name_valid("1a", 2));
	assert_false(tp_label_name_valid("a:b", 3));
	assert_true(tp_metric_name_valid("a:b", 3));
	assert_false(tp_metric_name_valid("", 0));
}

static void test_intern_arena(void **state)
{
	(void)state;
	char buf[] = "hello";
	const char *a = tp_intern("hello", 5);
	const char *b = tp_intern(buf, 5);
	assert_ptr_equal(a, b);
	assert_string_equal(a, "hello");
	assert_ptr_not_equal(tp_intern("hell", 4), a);
	for (int i = 0; i < 20000; i++) {
		char s[32];
		int n = snprintf(s, sizeof(s), "v%d", i);
		assert_string_equal(tp_intern(s, (size_t)n), s);
	}
	assert_ptr_equal(tp_intern_cstr("v123"), tp_intern_cstr("v123"));
	assert_true(tp_intern_count() >= 20002);

	tp_arena ar;
	tp_arena_init(&ar);
	for (int i = 0; i < 1000; i++) {
		char *p = tp_arena_alloc(&ar, (size_t)i + 1);
		assert_true(((uintptr_t)p & 15) == 0);
		memset(p, 0xab, (size_t)i + 1);
	}
	char *big = tp_arena_zalloc(&ar, 1 << 20);
	assert_int_equal(big[12345], 0);
	tp_arena_reset(&ar);
	assert_int_equal(ar.used_bytes, 0);
	assert_string_equal(tp_arena_strdup(&ar, "x"), "x");
	tp_arena_free(&ar);
}

/* The per-thread intern cache: strings that collide in one thread's
 * cache slot, and the same strings from other threads, still intern to
 * one pointer each; a string that differs only in its tail is not taken
 * for a cached one. */
typedef struct {
	const char *got[64];
} intern_run;

static void *intern_thread(void *p)
{
	intern_run *r = p;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 64; i++) {
			char s[32];
			int n = snprintf(s, sizeof(s), "shared-%d", i * 977);
			const char *x = tp_intern(s, (size_t)n);
			assert_string_equal(x, s);
			if (round > 0)
				assert_ptr_equal(x, r->got[i]);
			r->got[i] = x;
		}
	return NULL;
}

static void test_intern_threads(void **state)
{
	(void)state;
	intern_run runs[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, intern_thread, &runs[i]), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 1; i < 4; i++)
		assert_memory_equal(runs[i].got, runs[0].got, sizeof(runs[0].got));
	/* many strings through one thread's cache: every answer is right */
	for (int i = 0; i < 50000; i++) {
		char s[32];
		int n = snprintf(s, sizeof(s), "k%d", i % 5000);
		const char *x = tp_intern(s, (size_t)n);
		assert_string_equal(x, s);
		assert_ptr_equal(x, tp_intern_cstr(s));
	}
	assert_ptr_not_equal(tp_intern("abcdef", 6), tp_intern("abcdeg", 6));
	assert_ptr_not_equal(tp_intern("abcdef", 6), tp_intern("abcde", 5));
}

/* Memory from the huge-page arena is ordinary heap memory: usable, freed
 * by another thread, and the thread's own arena comes back after leave. */
static void *free_all_thread(void *p)
{
	void **v = p;
	for (int i = 0; i < 10000; i++)
		free(v[i]);
	return NULL;
}

static void test_bulkmem(void **state)
{
	(void)state;
	void **v = calloc(10000, sizeof(void *));
	assert_non_null(v);
	int prev = tp_bulkmem_enter();
#if defined(TP_JEMALLOC)
	assert_true(prev >= 0);
#else
	assert_int_equal(prev, -1);  /* sanitizer build: no jemalloc, no arena */
#endif
	for (int i = 0; i < 10000; i++) {
		size_t n = (size_t)(i % 7 == 0 ? 70000 : 16 + i % 200);
		v[i] = malloc(n);
		assert_non_null(v[i]);
		memset(v[i], i & 0xff, n);
	}
	tp_bulkmem_leave(prev);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(((unsigned char *)v[i])[0], i & 0xff);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, free_all_thread, v), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* a second enter reuses the arena; nested enters restore in order */
	int p1 = tp_bulkmem_enter();
	int p2 = tp_bulkmem_enter();
	void *x = malloc(100);
	assert_non_null(x);
	tp_bulkmem_leave(p2);
	tp_bulkmem_leave(p1);
	free(x);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_float_format),
		cmocka_unit_test(test_ftoa_shortest),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_intern_arena),
		cmocka_unit_test(test_intern_threads),
		cmocka_unit_test(test_bulkmem),
	};
	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
