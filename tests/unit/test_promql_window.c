/* SPDX-License-Identifier: Apache-2.0
 * test_promql_window.c - sliding range functions (promql/window.c):
 *  - the exact accumulator against an independent exact reference
 *    (__int128 sums of scaled integers) with removals, ties, subnormals
 *    and overflow;
 *  - the sliding state against the one-shot loops of Prometheus (Kahan
 *    sum, min/max with their NaN and tie rules, changes/resets) on random
 *    data with NaN, +-Inf, +-0 and mixed magnitudes;
 *  - range queries against instant queries at each of their steps, bit
 *    for bit, for every range function, over random data with gaps, stale
 *    markers, NaN and infinities. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/labels.h"
#include "lib/strbuf.h"
#include "promql/engine.h"
#include "promql/value.h"
#include "promql/window.h"
#include "tsdb/tsdb.h"

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static double rnd01(void)
{
	return (double)(rnd64() >> 11) / 9007199254740992.0;
}

static bool same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* ---- the exact accumulator ---- */

static double xsum_of(const double *v, size_t n)
{
	promql_xsum x = { .lo = PROMQL_XSUM_DIGITS, .hi = -1 };
	promql_xsum_reset(&x);
	for (size_t i = 0; i < n; i++)
		promql_xsum_add(&x, v[i], 1);
	return promql_xsum_round(&x);
}

static void test_xsum_cases(void **state)
{
	(void)state;
	struct {
		double v[4];
		size_t n;
		double want;
	} c[] = {
		{ { 0 }, 0, 0 },
		{ { -0.0 }, 1, 0 },
		{ { 1, 2 }, 2, 3 },
		{ { 0.1, 0.2 }, 2, 0.30000000000000004 },
		{ { 1, 0x1p-53 }, 2, 1 },                            /* tie: to even */
		{ { 1, 0x1p-53, 0x1p-200 }, 3, 1 + 0x1p-52 },        /* just above the tie */
		{ { 1 + 0x1p-52, 0x1p-53 }, 2, 1 + 0x1p-51 },        /* tie, odd: up */
		{ { 1, -0x1p-54 }, 2, 1 },
		{ { 1, -0x1p-53, -0x1p-300 }, 3, 1 - 0x1p-53 },
		{ { 1e308, 1e308, -1e308 }, 3, 1e308 },               /* no overflow in between */
		{ { 1.7976931348623157e308, 1.7976931348623157e308 }, 2, INFINITY },
		{ { -1.7976931348623157e308, -1.7976931348623157e308 }, 2, -INFINITY },
		{ { 0x1p-1074, 0x1p-1074 }, 2, 0x1p-1073 },          /* subnormals */
		{ { 0x1p-1022, -0x1p-1074 }, 2, 0x1p-1022 - 0x1p-1074 },
		{ { 1e100, 1, -1e100 }, 3, 1 },                      /* where Kahan says 0 */
		{ { 3, -3 }, 2, 0 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		double got = xsum_of(c[i].v, c[i].n);
		if (!same_bits(got, c[i].want))
			fail_msg("case %zu: got %a, want %a", i, got, c[i].want);
	}
	/* infinities and NaNs are counted, not summed */
	promql_xsum x = { .lo = PROMQL_XSUM_DIGITS, .hi = -1 };
	promql_xsum_add(&x, INFINITY, 1);
	promql_xsum_add(&x, NAN, 1);
	promql_xsum_add(&x, 2, 1);
	assert_int_equal(x.pinf, 1);
	assert_int_equal(x.nan, 1);
	promql_xsum_add(&x, NAN, -1);
	promql_xsum_add(&x, INFINITY, -1);
	assert_int_equal(x.pinf + x.nan + x.ninf, 0);
	assert_true(promql_xsum_round(&x) == 2);
}

/* Random doubles a_i * 2^(s_i + e) (a_i of up to 53 bits) are summed
 * exactly as __int128 integers; GCC's __int128 -> double conversion rounds
 * to nearest even, which gives the reference. Half of the values are taken
 * away again in a shuffled order. */
static void test_xsum_random(void **state)
{
	(void)state;
	rng_state = 0x243f6a8885a308d3ULL;
	__extension__ typedef __int128 i128;
	for (int round = 0; round < 4000; round++) {
		static const int bases[] = { 0, -1074, -1074 + 20, -600, 900, -30 };
		int e = bases[round % 6];
		size_t n = 1 + rnd64() % 40;
		double v[40];
		i128 a[40];
		int shmax = e == 900 ? 60 : 64;
		for (size_t i = 0; i < n; i++) {
			int bits = 1 + (int)(rnd64() % 53);
			int64_t m = (int64_t)(rnd64() >> (64 - bits));
			if (rnd64() & 1)
				m = -m;
			int s = (int)(rnd64() % (uint64_t)(shmax - bits + 1));
			a[i] = (i128)m * ((i128)1 << s);
			v[i] = ldexp((double)m, s + e);
		}
		promql_xsum x = { .lo = PROMQL_XSUM_DIGITS, .hi = -1 };
		promql_xsum_reset(&x);
		i128 total = 0;
		for (size_t i = 0; i < n; i++) {
			promql_xsum_add(&x, v[i], 1);
			total += a[i];
		}
		for (size_t i = 0; i < n / 2; i++) {
			size_t k = rnd64() % n;
			promql_xsum_add(&x, v[k], -1);
			total -= a[k];
		}
		double want = ldexp((double)total, e);
		double got = promql_xsum_round(&x);
		if (want == 0)
			want = 0;  /* +0 */
		if (!same_bits(got, want))
			fail_msg("round %d (scale 2^%d): got %a, want %a", round, e, got, want);
	}
}

/* ---- sliding state against the one-shot loops ---- */

static double ref_kahan_sum(const tsdb_sample *s, size_t n)
{
	double sum = 0, c = 0;
	for (size_t i = 0; i < n; i++)
		kahan_inc(s[i].v, &sum, &c);
	return isinf(sum) ? sum : sum + c;
}

static double ref_avg(const tsdb_sample *s, size_t n)
{
	double sum = s[0].v, count = 1, mean = 0, c = 0;
	bool incremental = false;
	for (size_t i = 1; i < n; i++) {
		count = (double)(i + 1);
		if (!incremental) {
			double ns = sum, nc = c;
			kahan_inc(s[i].v, &ns, &nc);
			if (!isinf(ns)) {
				sum = ns;
				c = nc;
				continue;
			}
			incremental = true;
			mean = sum / (count - 1);
			c /= (count - 1);
		}
		double q = (count - 1) / count;
		double m = q * mean, mc = q * c;
		kahan_inc(s[i].v / count, &m, &mc);
		mean = m;
		c = mc;
	}
	return incremental ? mean + c : sum / count + c / count;
}

static void ref_ext(promql_func_id id, const tsdb_sample *s, size_t n, double *v, int64_t *t)
{
	double m = s[0].v;
	int64_t mt = s[0].t;
	for (size_t i = 0; i < n; i++) {
		double cur = s[i].v;
		bool take;
		switch (id) {
		case PROMQL_FN_MIN_OVER_TIME: take = cur < m || isnan(m); break;
		case PROMQL_FN_MAX_OVER_TIME: take = cur > m || isnan(m); break;
		case PROMQL_FN_TS_OF_MIN_OVER_TIME: take = cur <= m || isnan(m); break;
		default: take = cur >= m || isnan(m); break;
		}
		if (take) {
			m = cur;
			mt = s[i].t;
		}
	}
	*v = m;
	*t = mt;
}

static double ref_count_pairs(promql_func_id id, const tsdb_sample *s, size_t n)
{
	double r = 0;
	for (size_t i = 1; i < n; i++) {
		double a = s[i - 1].v, b = s[i].v;
		if (id == PROMQL_FN_CHANGES ? (b != a && !(isnan(a) && isnan(b))) : b < a)
			r++;
	}
	return r;
}

/* Values of one kind: 0 gauge-like floats, 1 small integers (counters with
 * resets), 2 mixed magnitudes with specials, 3 values of one magnitude
 * and many exact ties. */
static double gen_value(int kind, double prev)
{
	uint64_t r = rnd64() % 100;
	switch (kind) {
	case 0: return rnd01() * 100;
	case 1: return r < 5 ? 0 : prev + (double)(rnd64() % 20);
	case 2:
		if (r < 4)
			return NAN;
		if (r < 7)
			return INFINITY;
		if (r < 10)
			return -INFINITY;
		if (r < 13)
			return -0.0;
		if (r < 16)
			return 1e300 * (rnd01() - 0.5);
		if (r < 20)
			return 1e-300 * rnd01();
		if (r < 25)
			return 1e20 * (rnd01() - 0.5);
		return rnd01() * 10 - 5;
	default: return (double)(rnd64() % 4) * 0.5 - (r < 10 ? 0.0 : 1.0) + (r == 7 ? -0.0 : 0.0);
	}
}

static void test_slide_vs_oneshot(void **state)
{
	(void)state;
	rng_state = 0x13198a2e03707344ULL;
	static const promql_func_id fns[] = {
		PROMQL_FN_SUM_OVER_TIME, PROMQL_FN_AVG_OVER_TIME, PROMQL_FN_MIN_OVER_TIME, PROMQL_FN_MAX_OVER_TIME,
		PROMQL_FN_TS_OF_MIN_OVER_TIME, PROMQL_FN_TS_OF_MAX_OVER_TIME, PROMQL_FN_CHANGES, PROMQL_FN_RESETS,
	};
	tp_arena arena;
	tp_arena_init(&arena);
	size_t exact_sums = 0, fallbacks = 0, checked = 0;
	for (int round = 0; round < 400; round++) {
		int kind = round % 4;
		size_t n = 50 + rnd64() % 400;
		tsdb_sample *pts = malloc(sizeof(tsdb_sample) * n);
		double prev = 0;
		for (size_t i = 0; i < n; i++) {
			pts[i].t = (int64_t)i * 15000;
			pts[i].v = prev = gen_value(kind, prev);
		}
		for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
			promql_func_id id = fns[f];
			promql_slide s = { 0 };
			promql_slide_init(&s, &arena, id, pts, n, false);
			size_t lo = 0, hi = 0, width = 1 + rnd64() % 60;
			while (hi < n) {
				/* windows slide by random strides, sometimes skipping ahead */
				hi += 1 + rnd64() % (rnd64() % 10 == 0 ? 100 : 4);
				if (hi > n)
					hi = n;
				if (hi > width && hi - width > lo)
					lo = hi - width;
				if (rnd64() % 8 == 0 && lo + 1 < hi)
					lo += rnd64() % (hi - lo);
				double got;
				promql_slide_rc rc = promql_slide_eval(&s, lo, hi, &got);
				assert_int_not_equal(rc, PROMQL_SLIDE_NONE);
				const tsdb_sample *w = pts + lo;
				size_t wn = hi - lo;
				double want;
				int64_t wt;
				checked++;
				switch (id) {
				case PROMQL_FN_SUM_OVER_TIME:
				case PROMQL_FN_AVG_OVER_TIME:
					if (rc == PROMQL_SLIDE_FALLBACK) {
						fallbacks++;
						continue;
					}
					exact_sums++;
					if (id == PROMQL_FN_SUM_OVER_TIME) {
						want = ref_kahan_sum(w, wn);
						if (!same_bits(got, want) && !(isnan(got) && isnan(want)))
							fail_msg("sum kind %d [%zu,%zu): got %a, Kahan %a", kind, lo, hi, got, want);
					} else {
						want = ref_avg(w, wn);
						bool ok = (isnan(got) && isnan(want)) || got == want ||
							  fabs(got - want) <= 2 * fabs(nextafter(want, INFINITY) - want);
						if (!ok)
							fail_msg("avg kind %d [%zu,%zu): got %a, reference %a", kind, lo, hi, got,
								 want);
						if (kind == 1 || kind == 3)  /* exact partial sums: identical */
							assert_true(same_bits(got, want) || (isnan(got) && isnan(want)));
					}
					break;
				case PROMQL_FN_CHANGES:
				case PROMQL_FN_RESETS:
					assert_int_equal(rc, PROMQL_SLIDE_VALUE);
					want = ref_count_pairs(id, w, wn);
					assert_true(got == want);
					break;
				default:
					assert_int_equal(rc, PROMQL_SLIDE_VALUE);
					ref_ext(id, w, wn, &want, &wt);
					if (id == PROMQL_FN_TS_OF_MIN_OVER_TIME || id == PROMQL_FN_TS_OF_MAX_OVER_TIME)
						want = (double)wt / 1000;
					if (!same_bits(got, want) && !(isnan(got) && isnan(want)))
						fail_msg("fn %d kind %d [%zu,%zu): got %a, want %a", (int)id, kind, lo, hi, got,
							 want);
					break;
				}
			}
		}
		free(pts);
	}
	/* the comparison must not be vacuous: most gauge/counter windows take
	 * the exact path, mixed magnitudes often fall back */
	assert_true(exact_sums > 5 * fallbacks / 4);
	assert_true(fallbacks > 0);
	assert_true(checked > 10000);
	tp_arena_free(&arena);
}

/* ---- range queries equal instant queries at each step ---- */

typedef struct fx {
	tsdb_head *head;
	promql_engine *eng;
} fx;

static void load_random(fx *f)
{
	rng_state = 0xa4093822299f31d0ULL;
	tsdb_appender *app = tsdb_appender_new(f->head);
	for (int k = 0; k < 8; k++) {
		char inst[8];
		snprintf(inst, sizeof(inst), "%d", k);
		tp_label lv[2] = { { TP_METRIC_NAME, "m" }, { "i", inst } };
		tp_labels l = { lv, 2 };
		int kind = k % 4;
		double prev = 0;
		int64_t t = (int64_t)(rnd64() % 30000);
		while (t < 2 * 3600 * 1000) {
			uint64_t r = rnd64() % 100;
			double v = r < 3 ? tsdb_stale_nan() : (prev = gen_value(kind, prev));
			assert_int_equal(tsdb_appender_add(app, &l, t, v, NULL), TSDB_OK);
			/* mostly 15 s apart, sometimes a gap of minutes */
			t += r < 1 ? 120000 + (int64_t)(rnd64() % 600000) : 5000 + (int64_t)(rnd64() % 20000);
		}
	}
	tsdb_appender_commit(app);
	tsdb_appender_free(app);
}

static int setup_engine(void **state)
{
	fx *f = calloc(1, sizeof(fx));
	f->head = tsdb_head_new(NULL);
	promql_engine_opts o = { .experimental_functions = true };
	f->eng = promql_engine_new(f->head, &o);
	load_random(f);
	*state = f;
	return 0;
}

static int teardown_engine(void **state)
{
	fx *f = *state;
	promql_engine_free(f->eng);
	tsdb_head_free(f->head);
	free(f);
	return 0;
}

static const promql_series *find_series(const promql_result *r, const tp_labels *l)
{
	for (size_t i = 0; i < r->nseries; i++)
		if (tp_labels_equal(&r->series[i].labels, l))
			return &r->series[i];
	return NULL;
}

static void check_range_vs_instant(fx *f, const char *q, int64_t start, int64_t end, int64_t step)
{
	promql_result rr;
	if (promql_query_range(f->eng, q, start, end, step, &rr) != PROMQL_OK)
		fail_msg("%s: range query failed: %s", q, rr.err_msg);
	size_t points = 0;
	for (int64_t t = start; t <= end; t += step) {
		promql_result ir;
		if (promql_query_instant(f->eng, q, t, &ir) != PROMQL_OK)
			fail_msg("%s @%lld: instant query failed: %s", q, (long long)t, ir.err_msg);
		size_t present = 0;
		for (size_t s = 0; s < rr.nseries; s++) {
			const promql_series *rs = &rr.series[s];
			const promql_point *p = NULL;
			for (size_t k = 0; k < rs->npoints; k++)
				if (rs->points[k].t == t)
					p = &rs->points[k];
			if (!p)
				continue;
			present++;
			points++;
			const promql_series *is = ir.type == PROMQL_TYPE_VECTOR ? find_series(&ir, &rs->labels) : NULL;
			if (!is) {
				tp_strbuf sb = { 0 };
				tp_labels_format(&sb, &rs->labels, true);
				fail_msg("%s @%lld: %s only in the range result", q, (long long)t, tp_sb_cstr(&sb));
			}
			if (!same_bits(is->points[0].v, p->v)) {
				tp_strbuf sb = { 0 };
				tp_labels_format(&sb, &rs->labels, true);
				fail_msg("%s @%lld %s: range %a, instant %a", q, (long long)t, tp_sb_cstr(&sb), p->v,
					 is->points[0].v);
			}
		}
		if (ir.type == PROMQL_TYPE_VECTOR && ir.nseries != present)
			fail_msg("%s @%lld: instant has %zu series, range %zu", q, (long long)t, ir.nseries, present);
		promql_result_free(&ir);
	}
	promql_result_free(&rr);
	if (points == 0)
		fail_msg("%s: no points compared", q);
}

static void test_range_equals_instant(void **state)
{
	fx *f = *state;
	static const char *const fns[] = {
		"sum_over_time(m[%s])", "avg_over_time(m[%s])", "min_over_time(m[%s])", "max_over_time(m[%s])",
		"ts_of_min_over_time(m[%s])", "ts_of_max_over_time(m[%s])", "count_over_time(m[%s])",
		"changes(m[%s])", "resets(m[%s])", "rate(m[%s])", "increase(m[%s])", "delta(m[%s])",
		"irate(m[%s])", "idelta(m[%s])", "deriv(m[%s])", "stddev_over_time(m[%s])",
		"stdvar_over_time(m[%s])", "quantile_over_time(0.3, m[%s])", "mad_over_time(m[%s])",
		"last_over_time(m[%s])", "first_over_time(m[%s])", "ts_of_last_over_time(m[%s])",
		"present_over_time(m[%s])", "predict_linear(m[%s], 60)",
		"sum_over_time(m[%s:30s])", "avg_over_time(m[%s:1m])", "max_over_time(rate(m[2m])[%s:45s])",
		"min_over_time(m[%s] offset 7m)",
	};
	static const char *const ranges[] = { "1m", "5m", "17m", "1h" };
	for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
		for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
			char q[128];
			snprintf(q, sizeof(q), fns[i], ranges[r]);
			/* steps shorter and longer than the sample interval */
			check_range_vs_instant(f, q, 3 * 60000 + 7000, 2 * 3600000, r % 2 ? 37000 : 150000);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xsum_cases),
		cmocka_unit_test(test_xsum_random),
		cmocka_unit_test(test_slide_vs_oneshot),
		cmocka_unit_test_setup_teardown(test_range_equals_instant, setup_engine, teardown_engine),
	};
	return cmocka_run_group_tests_name("promql_window", tests, NULL, NULL);
}
