/* SPDX-License-Identifier: Apache-2.0
 * test_tsdb_head.c - head, appender, matchers and querier: commit and
 * rollback, out-of-order and duplicate rules, matcher semantics (anchoring,
 * DOTALL, empty-label rules), a randomized comparison against a naive
 * model, iterators, truncation, WAL hooks and concurrent append + query. */
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

#include "tsdb/tsdb.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t f2u(double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	return u;
}

static double u2f(uint64_t u)
{
	double v;
	memcpy(&v, &u, 8);
	return v;
}

/* Builds a label set from "name", "value", ... pairs (sorted by the caller). */
static tp_labels mk(tp_label *buf, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		buf[i].name = va_arg(ap, const char *);
		buf[i].value = va_arg(ap, const char *);
	}
	va_end(ap);
	return (tp_labels){ buf, (uint32_t)n };
}

typedef struct mspec {
	tsdb_match_type type;
	const char *name, *value;
} mspec;

/* Runs a select and returns the number of series; optionally collects the
 * value of label `want` of each, joined with ',' into out. */
static size_t sel(tsdb_head *h, int64_t mint, int64_t maxt, const mspec *spec, size_t n, const char *want,
		  char *out, size_t outlen)
{
	tsdb_matcher ms[8];
	char err[256];
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tsdb_matcher_init(&ms[i], spec[i].type, spec[i].name, spec[i].value, err, sizeof(err)), 0);
	tsdb_querier *q = tsdb_querier_new(h, mint, maxt);
	tsdb_series_set *ss = tsdb_querier_select(q, ms, n);
	size_t k = 0;
	if (out)
		out[0] = '\0';
	const tp_labels *prev = NULL;
	while (tsdb_series_set_next(ss)) {
		const tp_labels *l = tsdb_series_set_labels(ss);
		if (prev)
			assert_true(tp_labels_cmp(prev, l) < 0);
		prev = l;
		if (out) {
			const char *v = tp_labels_get(l, want);
			if (k)
				strncat(out, ",", outlen - strlen(out) - 1);
			strncat(out, v ? v : "-", outlen - strlen(out) - 1);
		}
		k++;
	}
	assert_int_equal(k, tsdb_series_set_count(ss));
	tsdb_series_set_free(ss);
	tsdb_querier_free(q);
	for (size_t i = 0; i < n; i++)
		tsdb_matcher_free(&ms[i]);
	return k;
}

static size_t count_samples(tsdb_head *h, int64_t mint, int64_t maxt)
{
	mspec m = { TSDB_MATCH_RE, "__name__", ".+" };
	tsdb_matcher tm;
	tsdb_matcher_init(&tm, m.type, m.name, m.value, NULL, 0);
	tsdb_querier *q = tsdb_querier_new(h, mint, maxt);
	tsdb_series_set *ss = tsdb_querier_select(q, &tm, 1);
	tsdb_sample *buf = NULL;
	size_t cap = 0, n = 0;
	while (tsdb_series_set_next(ss))
		n += tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
	free(buf);
	tsdb_series_set_free(ss);
	tsdb_querier_free(q);
	tsdb_matcher_free(&tm);
	return n;
}

static void test_commit_rollback(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	tsdb_appender *a = tsdb_appender_new(h);
	tp_label b[4];
	tp_labels l = mk(b, 2, "__name__", "up", "job", "x");
	uint32_t ref = 0;
	assert_int_equal(tsdb_appender_add(a, &l, 1000, 1.0, &ref), TSDB_OK);
	assert_true(ref >= 1);
	assert_int_equal(tsdb_appender_add_ref(a, ref, 2000, 2.0), TSDB_OK);
	assert_int_equal(count_samples(h, INT64_MIN, INT64_MAX), 0);  /* not yet visible */
	assert_int_equal(tsdb_appender_commit(a), 2);
	assert_int_equal(count_samples(h, INT64_MIN, INT64_MAX), 2);
	assert_int_equal(tsdb_appender_add_ref(a, ref, 3000, 3.0), TSDB_OK);
	tsdb_appender_rollback(a);
	assert_int_equal(count_samples(h, INT64_MIN, INT64_MAX), 2);
	/* after rollback, the rolled-back timestamp is free again */
	assert_int_equal(tsdb_appender_add_ref(a, ref, 3000, 4.0), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(a), 1);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_int_equal(count_samples(h, INT64_MIN, INT64_MAX), 3);
	assert_int_equal(count_samples(h, 1500, 2500), 1);
	assert_int_equal(count_samples(h, 3001, 9000), 0);
	/* labels by ref; invalid labels; unknown ref */
	const tp_labels *got = tsdb_head_series_labels(h, ref);
	assert_non_null(got);
	assert_true(tp_labels_equal(got, &l));
	assert_null(tsdb_head_series_labels(h, 999));
	assert_int_equal(tsdb_appender_add_ref(a, 999, 1, 1), TSDB_ENOTFOUND);
	tp_labels empty = { b, 0 };
	assert_int_equal(tsdb_appender_add(a, &empty, 1, 1, NULL), TSDB_EINVAL);
	tp_labels bad = mk(b, 2, "job", "x", "__name__", "up");  /* unsorted */
	assert_int_equal(tsdb_appender_add(a, &bad, 1, 1, NULL), TSDB_EINVAL);
	tp_labels bad2 = mk(b, 1, "0bad", "x");
	assert_int_equal(tsdb_appender_add(a, &bad2, 1, 1, NULL), TSDB_EINVAL);
	/* freeing an appender drops what is pending */
	assert_int_equal(tsdb_appender_add_ref(a, ref, 9000, 9.0), TSDB_OK);
	tsdb_appender_free(a);
	tsdb_appender_free(NULL);
	assert_int_equal(count_samples(h, INT64_MIN, INT64_MAX), 3);
	tsdb_stats s;
	tsdb_head_stats(h, &s);
	assert_int_equal(s.num_series, 1);
	assert_int_equal(s.num_samples, 3);
	assert_int_equal(s.samples_appended, 3);
	assert_int_equal(s.min_time_ms, 1000);
	assert_int_equal(s.max_time_ms, 3000);
	assert_true(s.chunk_bytes > 0 && s.head_bytes > 0);
	tsdb_head_free(h);
	tsdb_head_free(NULL);
}

static void test_order_rules(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	tsdb_appender *a = tsdb_appender_new(h);
	tp_label b[2];
	tp_labels l = mk(b, 1, "__name__", "m");
	uint32_t ref;
	double stale = tsdb_stale_nan();
	assert_true(tsdb_is_stale_nan(stale));
	assert_false(tsdb_is_stale_nan(NAN));
	assert_int_equal(tsdb_appender_add(a, &l, 100, 1.0, &ref), TSDB_OK);
	/* pending: same t same bits is a no-op, other bits a duplicate, older out of order */
	assert_int_equal(tsdb_appender_add_ref(a, ref, 100, 1.0), TSDB_OK);
	assert_int_equal(tsdb_appender_add_ref(a, ref, 100, 2.0), TSDB_EDUPLICATE);
	assert_int_equal(tsdb_appender_add_ref(a, ref, 99, 1.0), TSDB_EOUTOFORDER);
	assert_int_equal(tsdb_appender_add_ref(a, ref, 200, stale), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(a), 2);
	/* committed */
	assert_int_equal(tsdb_appender_add_ref(a, ref, 200, stale), TSDB_OK);
	assert_int_equal(tsdb_appender_add_ref(a, ref, 200, NAN), TSDB_EDUPLICATE);  /* other NaN bits */
	assert_int_equal(tsdb_appender_add_ref(a, ref, 150, 1.0), TSDB_EOUTOFORDER);
	assert_int_equal(tsdb_appender_commit(a), 0);
	/* -0.0 and 0.0 differ in bits */
	assert_int_equal(tsdb_appender_add_ref(a, ref, 300, 0.0), TSDB_OK);
	assert_int_equal(tsdb_appender_add_ref(a, ref, 300, -0.0), TSDB_EDUPLICATE);
	assert_int_equal(tsdb_appender_commit(a), 1);
	/* two appenders racing on one series: the later commit drops its sample */
	tsdb_appender *a2 = tsdb_appender_new(h);
	assert_int_equal(tsdb_appender_add_ref(a, ref, 400, 1.0), TSDB_OK);
	assert_int_equal(tsdb_appender_add_ref(a2, ref, 350, 1.0), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(a), 1);
	assert_int_equal(tsdb_appender_commit(a2), 0);
	tsdb_stats s;
	tsdb_head_stats(h, &s);
	assert_int_equal(s.duplicate_samples, 3);
	assert_int_equal(s.out_of_order_samples, 3);
	assert_int_equal(s.samples_appended, 4);
	assert_string_equal(tsdb_rc_str(TSDB_EOUTOFORDER), "out of order sample");
	assert_string_equal(tsdb_rc_str(TSDB_EDUPLICATE), "duplicate sample for timestamp");
	/* the stale marker reads back bit-exact */
	tsdb_matcher m;
	tsdb_matcher_init(&m, TSDB_MATCH_EQ, "__name__", "m", NULL, 0);
	tsdb_querier *q = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	tsdb_series_set *ss = tsdb_querier_select(q, &m, 1);
	assert_true(tsdb_series_set_next(ss));
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	assert_int_equal(tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap), 4);
	assert_int_equal(f2u(buf[1].v), TSDB_STALE_NAN_BITS);
	assert_int_equal(f2u(buf[2].v), f2u(0.0));
	free(buf);
	tsdb_series_set_free(ss);
	tsdb_querier_free(q);
	tsdb_matcher_free(&m);
	tsdb_appender_free(a);
	tsdb_appender_free(a2);
	tsdb_head_free(h);
}

static tsdb_head *matcher_head(void)
{
	tsdb_head *h = tsdb_head_new(NULL);
	tsdb_appender *a = tsdb_appender_new(h);
	tp_label b[4];
	tp_labels ls[] = {
		mk(b, 3, "__name__", "http_requests", "code", "200", "path", "/a"),
		mk(b + 3, 0),
	};
	(void)ls;
	const char *codes[] = { "200", "404", "500", NULL };
	const char *paths[] = { "/a", "/b", "x\ny", NULL };
	int k = 0;
	for (int c = 0; c < 4; c++) {
		for (int p = 0; p < 4; p++) {
			tp_label v[3];
			uint32_t n = 0;
			v[n++] = (tp_label){ "__name__", "http_requests" };
			if (codes[c])
				v[n++] = (tp_label){ "code", codes[c] };
			if (paths[p])
				v[n++] = (tp_label){ "path", paths[p] };
			tp_labels l = { v, n };
			assert_int_equal(tsdb_appender_add(a, &l, 1000 + k, (double)k, NULL), TSDB_OK);
			k++;
		}
	}
	tp_labels other = mk(b, 2, "__name__", "other", "code", "2000");
	assert_int_equal(tsdb_appender_add(a, &other, 5, 5, NULL), TSDB_OK);
	tsdb_appender_commit(a);
	tsdb_appender_free(a);
	return h;
}

static void test_matchers(void **state)
{
	(void)state;
	tsdb_matcher m;
	char err[256];
	/* anchoring, DOTALL, alternation */
	assert_int_equal(tsdb_matcher_init(&m, TSDB_MATCH_RE, "a", "fo+", err, sizeof(err)), 0);
	assert_true(tsdb_matcher_matches(&m, "foo"));
	assert_false(tsdb_matcher_matches(&m, "xfoo"));
	assert_false(tsdb_matcher_matches(&m, "foox"));
	assert_false(tsdb_matcher_matches_empty(&m));
	tsdb_matcher_free(&m);
	assert_int_equal(tsdb_matcher_init(&m, TSDB_MATCH_RE, "a", "a.c", err, sizeof(err)), 0);
	assert_true(tsdb_matcher_matches(&m, "a\nc"));
	tsdb_matcher_free(&m);
	assert_int_equal(tsdb_matcher_init(&m, TSDB_MATCH_RE, "a", "a|b", err, sizeof(err)), 0);
	assert_true(tsdb_matcher_matches(&m, "b"));
	assert_false(tsdb_matcher_matches(&m, "ab"));
	tsdb_matcher_free(&m);
	assert_int_equal(tsdb_matcher_init(&m, TSDB_MATCH_NRE, "a", ".*", err, sizeof(err)), 0);
	assert_false(tsdb_matcher_matches(&m, "x\ny"));
	assert_false(tsdb_matcher_matches_empty(&m));
	tsdb_matcher_free(&m);
	assert_int_equal(tsdb_matcher_init(&m, TSDB_MATCH_EQ, "a", "", err, sizeof(err)), 0);
	assert_true(tsdb_matcher_matches_empty(&m));
	assert_true(tsdb_matcher_matches(&m, NULL));
	tsdb_matcher_free(&m);
	assert_int_equal(tsdb_matcher_init(&m, TSDB_MATCH_RE, "a", "(", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid regular expression"));
	tsdb_matcher_free(&m);

	tsdb_head *h = matcher_head();
	char out[512];
	const mspec name = { TSDB_MATCH_EQ, "__name__", "http_requests" };
	mspec s[3];
#define Q(n, want) sel(h, INT64_MIN, INT64_MAX, s, n, want, out, sizeof(out))
	s[0] = name;
	assert_int_equal(Q(1, "code"), 16);
	s[1] = (mspec){ TSDB_MATCH_EQ, "code", "200" };
	assert_int_equal(Q(2, "code"), 4);
	/* {code=""}: series without the label */
	s[1] = (mspec){ TSDB_MATCH_EQ, "code", "" };
	assert_int_equal(Q(2, "code"), 4);
	assert_string_equal(out, "-,-,-,-");
	/* {code!=""}: series with the label */
	s[1] = (mspec){ TSDB_MATCH_NEQ, "code", "" };
	assert_int_equal(Q(2, "code"), 12);
	/* != a value also selects series lacking the label */
	s[1] = (mspec){ TSDB_MATCH_NEQ, "code", "200" };
	assert_int_equal(Q(2, "code"), 12);
	/* =~ with a regex matching "" also selects series lacking the label */
	s[1] = (mspec){ TSDB_MATCH_RE, "code", "2.*|" };
	assert_int_equal(Q(2, "code"), 8);
	s[1] = (mspec){ TSDB_MATCH_RE, "code", "200|404" };
	assert_int_equal(Q(2, "code"), 8);
	s[1] = (mspec){ TSDB_MATCH_RE, "code", "200|200" };
	assert_int_equal(Q(2, "code"), 4);
	s[1] = (mspec){ TSDB_MATCH_RE, "code", "20" };  /* anchored: no prefix match */
	assert_int_equal(Q(2, "code"), 0);
	s[1] = (mspec){ TSDB_MATCH_RE, "code", "[45]0[04]" };
	assert_int_equal(Q(2, "code"), 8);
	s[1] = (mspec){ TSDB_MATCH_RE, "code", ".*" };
	assert_int_equal(Q(2, "code"), 16);
	s[1] = (mspec){ TSDB_MATCH_RE, "code", ".+" };
	assert_int_equal(Q(2, "code"), 12);
	s[1] = (mspec){ TSDB_MATCH_NRE, "code", ".+" };
	assert_int_equal(Q(2, "code"), 4);
	s[1] = (mspec){ TSDB_MATCH_NRE, "code", ".*" };
	assert_int_equal(Q(2, "code"), 0);
	s[1] = (mspec){ TSDB_MATCH_NRE, "code", "200|404" };
	assert_int_equal(Q(2, "code"), 8);
	s[1] = (mspec){ TSDB_MATCH_NRE, "code", "" };  /* has the label */
	assert_int_equal(Q(2, "code"), 12);
	/* DOTALL in selection */
	s[1] = (mspec){ TSDB_MATCH_RE, "path", "x.y" };
	assert_int_equal(Q(2, "path"), 4);
	assert_string_equal(out, "x\ny,x\ny,x\ny,x\ny");
	/* three matchers */
	s[1] = (mspec){ TSDB_MATCH_RE, "path", "/.*" };
	s[2] = (mspec){ TSDB_MATCH_NEQ, "code", "500" };
	assert_int_equal(Q(3, "code"), 6);
	/* unknown label name */
	s[1] = (mspec){ TSDB_MATCH_EQ, "nope", "x" };
	assert_int_equal(Q(2, "code"), 0);
	s[1] = (mspec){ TSDB_MATCH_NEQ, "nope", "x" };
	assert_int_equal(Q(2, "code"), 16);
	/* a matcher-only-negative select scans all series */
	s[0] = (mspec){ TSDB_MATCH_NEQ, "code", "200" };
	assert_int_equal(Q(1, "code"), 13);
	s[0] = (mspec){ TSDB_MATCH_RE, "code", "2.*" };
	assert_int_equal(Q(1, "code"), 5);
	assert_string_equal(out, "200,200,200,200,2000");
	/* time range: series without samples in range are skipped */
	s[0] = name;
	assert_int_equal(sel(h, 1000, 1003, s, 1, "code", out, sizeof(out)), 4);
	assert_int_equal(sel(h, 2000, 3000, s, 1, "code", out, sizeof(out)), 0);

	/* label names and values */
	tsdb_querier *q = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	const char **v;
	size_t n = tsdb_querier_label_names(q, NULL, 0, &v);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "__name__");
	assert_string_equal(v[1], "code");
	assert_string_equal(v[2], "path");
	free(v);
	n = tsdb_querier_label_values(q, "code", NULL, 0, &v);
	assert_int_equal(n, 4);
	assert_string_equal(v[0], "200");
	assert_string_equal(v[3], "500");
	free(v);
	tsdb_matcher mm;
	tsdb_matcher_init(&mm, TSDB_MATCH_EQ, "__name__", "other", NULL, 0);
	n = tsdb_querier_label_values(q, "code", &mm, 1, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "2000");
	free(v);
	n = tsdb_querier_label_names(q, &mm, 1, &v);
	assert_int_equal(n, 2);
	free(v);
	tsdb_matcher_free(&mm);
	tsdb_querier_free(q);
	tsdb_head_free(h);
#undef Q
}

static void test_big_union(void **state)
{
	(void)state;
	/* unions of big postings lists (radix-sorted) combined with others */
	tsdb_head *h = tsdb_head_new(NULL);
	tsdb_appender *a = tsdb_appender_new(h);
	const char *g[] = { "a", "b", "c" };
	for (int i = 0; i < 12000; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%05d", i);
		tp_label b[3] = { { "__name__", "m" }, { "g", g[(i * 7) % 3] }, { "id", id } };
		tp_labels l = { b, 3 };
		assert_int_equal(tsdb_appender_add(a, &l, i, i, NULL), TSDB_OK);
	}
	tsdb_appender_commit(a);
	tsdb_appender_free(a);
	mspec s[2] = { { TSDB_MATCH_RE, "g", "a|b" }, { TSDB_MATCH_RE, "id", "0.*" } };
	assert_int_equal(sel(h, INT64_MIN, INT64_MAX, s, 1, NULL, NULL, 0), 8000);
	s[0].value = "[ab]";
	assert_int_equal(sel(h, INT64_MIN, INT64_MAX, s, 1, NULL, NULL, 0), 8000);
	/* ids 00000..09999 starting with 0: 10000 of them, two thirds in a|b */
	size_t n = sel(h, INT64_MIN, INT64_MAX, s, 2, NULL, NULL, 0);
	assert_true(n >= 6666 && n <= 6667);
	s[0] = (mspec){ TSDB_MATCH_NRE, "g", "a|b" };
	assert_int_equal(sel(h, INT64_MIN, INT64_MAX, s, 1, NULL, NULL, 0), 4000);
	tsdb_head_free(h);
}

/* ---- randomized comparison against a naive model ---- */

enum { RS = 40, RT = 700 };
typedef struct model {
	int64_t t[RT];
	double v[RT];
	int n;
} model;

static const char *rvals[] = { "a", "b", "c", "dd", "e\nf" };

static void rlabels(int s, tp_label *b, tp_labels *l)
{
	uint32_t n = 0;
	static char ids[RS][16];
	snprintf(ids[s], sizeof(ids[s]), "%d", s);
	b[n++] = (tp_label){ "__name__", s % 3 ? "metric_a" : "metric_b" };
	b[n++] = (tp_label){ "id", ids[s] };
	if (s % 4)
		b[n++] = (tp_label){ "x", rvals[s % 5] };
	if (s % 7 != 3)
		b[n++] = (tp_label){ "y", rvals[(s / 5) % 5] };
	b[n++] = (tp_label){ "z", rvals[s % 2] };
	*l = (tp_labels){ b, n };
}

static double rvalue(int k)
{
	switch (rnd() % 8) {
	case 0: return tsdb_stale_nan();
	case 1: return u2f(rnd());
	case 2: return (double)(rnd() % 5);
	case 3: return (double)k;
	case 4: return -0.0;
	case 5: return (double)(int64_t)rnd() / 7.0;
	default: return (double)(k / 3);
	}
}

static bool model_match(const tsdb_matcher *ms, size_t n, const tp_labels *l)
{
	for (size_t i = 0; i < n; i++)
		if (!tsdb_matcher_matches(&ms[i], tp_labels_get(l, ms[i].name)))
			return false;
	return true;
}

static void test_randomized(void **state)
{
	(void)state;
	rng = 42;
	static model mod[RS];
	memset(mod, 0, sizeof(mod));
	tsdb_options o = { .chunk_samples = 1 + (uint32_t)(rnd() % 50) };
	tsdb_head *h = tsdb_head_new(&o);
	tsdb_appender *a = tsdb_appender_new(h);
	tp_label b[8];
	uint32_t refs[RS] = { 0 };
	int64_t t = -50000;
	for (int step = 0; step < RT; step++) {
		t += 1 + (int64_t)(rnd() % 3000);
		for (int s = 0; s < RS; s++) {
			if (rnd() % 3 == 0)
				continue;
			int64_t ts = t + (int64_t)(rnd() % 5);
			double v = rvalue(step);
			tp_labels l;
			rlabels(s, b, &l);
			int rc = refs[s] && rnd() % 2 ? tsdb_appender_add_ref(a, refs[s], ts, v)
						      : tsdb_appender_add(a, &l, ts, v, &refs[s]);
			model *m = &mod[s];
			int64_t last = m->n ? m->t[m->n - 1] : INT64_MIN;
			if (ts > last) {
				assert_int_equal(rc, TSDB_OK);
				m->t[m->n] = ts;
				m->v[m->n++] = v;
			} else {
				assert_true(rc != TSDB_OK || (ts == last && f2u(v) == f2u(m->v[m->n - 1])));
			}
		}
		tsdb_appender_commit(a);
	}
	tsdb_appender_free(a);
	const mspec specs[][2] = {
		{ { TSDB_MATCH_EQ, "__name__", "metric_a" }, { TSDB_MATCH_RE, "x", "a|b|" } },
		{ { TSDB_MATCH_NEQ, "y", "a" }, { TSDB_MATCH_RE, "z", ".*" } },
		{ { TSDB_MATCH_RE, "x", "e.f" }, { TSDB_MATCH_NRE, "y", "d+" } },
		{ { TSDB_MATCH_RE, "__name__", "metric_.*" }, { TSDB_MATCH_EQ, "y", "" } },
		{ { TSDB_MATCH_NRE, "x", "" }, { TSDB_MATCH_EQ, "z", "b" } },
		{ { TSDB_MATCH_RE, "__name__", ".+" }, { TSDB_MATCH_NEQ, "x", "" } },
	};
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	for (int round = 0; round < 60; round++) {
		const mspec *sp = specs[round % 6];
		tsdb_matcher ms[2];
		for (int i = 0; i < 2; i++)
			tsdb_matcher_init(&ms[i], sp[i].type, sp[i].name, sp[i].value, NULL, 0);
		int64_t mint = -60000 + (int64_t)(rnd() % 1200000);
		int64_t maxt = mint + (int64_t)(rnd() % 600000);
		if (round % 10 == 0) {
			mint = INT64_MIN;
			maxt = INT64_MAX;
		}
		tsdb_querier *q = tsdb_querier_new(h, mint, maxt);
		tsdb_series_set *ss = tsdb_querier_select(q, ms, 2);
		/* expected: the model's series in label order with a sample in range */
		size_t expect = 0;
		for (int s = 0; s < RS; s++) {
			tp_labels l;
			rlabels(s, b, &l);
			bool in = false;
			for (int k = 0; k < mod[s].n; k++)
				in |= mod[s].t[k] >= mint && mod[s].t[k] <= maxt;
			expect += model_match(ms, 2, &l) && in;
		}
		assert_int_equal(tsdb_series_set_count(ss), expect);
		while (tsdb_series_set_next(ss)) {
			uint32_t ref = tsdb_series_set_ref(ss);
			int s = -1;
			for (int i = 0; i < RS; i++)
				if (refs[i] == ref)
					s = i;
			assert_true(s >= 0);
			assert_true(model_match(ms, 2, tsdb_series_set_labels(ss)));
			/* a sub-range via bulk decode */
			int64_t lo = mint == INT64_MIN ? INT64_MIN : mint + (int64_t)(rnd() % 100000);
			size_t got = tsdb_series_set_samples(ss, lo, INT64_MAX, &buf, &cap);
			size_t j = 0;
			for (int k = 0; k < mod[s].n; k++) {
				if (mod[s].t[k] < lo || mod[s].t[k] < mint || mod[s].t[k] > maxt)
					continue;
				assert_true(j < got);
				assert_int_equal(buf[j].t, mod[s].t[k]);
				assert_int_equal(f2u(buf[j].v), f2u(mod[s].v[k]));
				j++;
			}
			assert_int_equal(j, got);
			/* the iterator, with seeks */
			tsdb_iter it;
			tsdb_series_set_iter(ss, &it);
			int k = 0;
			while (k < mod[s].n && mod[s].t[k] < mint)
				k++;
			bool more = tsdb_iter_next(&it);
			while (more) {
				assert_true(k < mod[s].n && mod[s].t[k] <= maxt);
				int64_t it_t;
				double it_v;
				tsdb_iter_at(&it, &it_t, &it_v);
				assert_int_equal(it_t, mod[s].t[k]);
				assert_int_equal(f2u(it_v), f2u(mod[s].v[k]));
				if (rnd() % 4 == 0) {
					int64_t target = it_t + (int64_t)(rnd() % 20000);
					more = tsdb_iter_seek(&it, target);
					while (k < mod[s].n && mod[s].t[k] < target)
						k++;
				} else {
					more = tsdb_iter_next(&it);
					k++;
				}
			}
			assert_true(k >= mod[s].n || mod[s].t[k] > maxt);
		}
		tsdb_series_set_free(ss);
		tsdb_querier_free(q);
		for (int i = 0; i < 2; i++)
			tsdb_matcher_free(&ms[i]);
	}
	free(buf);
	tsdb_head_free(h);
}

/* A series an appender is adding samples to (created, nothing committed
 * yet) survives a truncation in between, and the commit lands; one whose
 * appender rolled back is removed by the next truncation. */
static void test_truncate_pending(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	tsdb_appender *a = tsdb_appender_new(h);
	tp_label lv[1] = { { "__name__", "pending" } };
	tp_labels l = { lv, 1 };
	uint32_t ref;
	assert_int_equal(tsdb_appender_add(a, &l, 1000, 1.5, &ref), TSDB_OK);
	assert_int_equal(tsdb_head_truncate(h, INT64_MIN), 0);
	assert_int_equal(tsdb_head_truncate(h, 500), 0);
	assert_int_equal(tsdb_appender_commit(a), 1);
	tsdb_stats st;
	tsdb_head_stats(h, &st);
	assert_int_equal(st.num_series, 1);
	assert_int_equal(st.num_samples, 1);
	tp_label lv2[1] = { { "__name__", "rolled_back" } };
	assert_int_equal(tsdb_appender_add(a, &(tp_labels){ lv2, 1 }, 2000, 2.5, NULL), TSDB_OK);
	assert_int_equal(tsdb_head_truncate(h, INT64_MIN), 0);
	tsdb_appender_rollback(a);
	assert_int_equal(tsdb_head_truncate(h, INT64_MIN), 1);
	tsdb_head_stats(h, &st);
	assert_int_equal(st.num_series, 1);
	assert_ptr_not_equal(tsdb_head_series_labels(h, ref), NULL);
	tsdb_appender_free(a);
	tsdb_head_free(h);
}

static void test_truncate(void **state)
{
	(void)state;
	tsdb_options o = { .chunk_samples = 10 };
	tsdb_head *h = tsdb_head_new(&o);
	tsdb_appender *a = tsdb_appender_new(h);
	tp_label b[2], b2[2];
	tp_labels old = mk(b2, 1, "__name__", "old");
	uint32_t ref_old, ref_new;
	for (int i = 0; i < 25; i++)
		assert_int_equal(tsdb_appender_add(a, &old, i * 1000, i, &ref_old), TSDB_OK);
	tp_labels nw = mk(b, 1, "__name__", "new");
	for (int i = 0; i < 100; i++)
		assert_int_equal(tsdb_appender_add(a, &nw, i * 1000, i, &ref_new), TSDB_OK);
	tsdb_appender_commit(a);
	tsdb_stats s;
	tsdb_head_stats(h, &s);
	assert_int_equal(s.num_chunks, 2 + 9);
	assert_int_equal(s.num_samples, 125);
	/* drops chunks [0..9], [10..19] of both; old keeps its head chunk */
	assert_int_equal(tsdb_head_truncate(h, 20000), 0);
	tsdb_head_stats(h, &s);
	assert_int_equal(s.num_samples, 5 + 80);
	assert_int_equal(s.min_time_ms, 20000);
	assert_int_equal(count_samples(h, INT64_MIN, INT64_MAX), 85);
	/* everything of "old" is older than 30000: the series leaves the index */
	assert_int_equal(tsdb_head_truncate(h, 30000), 1);
	assert_null(tsdb_head_series_labels(h, ref_old));
	assert_int_equal(tsdb_appender_add_ref(a, ref_old, 99000, 1), TSDB_ENOTFOUND);
	mspec m = { TSDB_MATCH_EQ, "__name__", "old" };
	assert_int_equal(sel(h, INT64_MIN, INT64_MAX, &m, 1, NULL, NULL, 0), 0);
	tsdb_querier *q = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	const char **v;
	size_t n = tsdb_querier_label_values(q, "__name__", NULL, 0, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "new");
	free(v);
	tsdb_querier_free(q);
	tsdb_head_stats(h, &s);
	assert_int_equal(s.num_series, 1);
	assert_int_equal(s.series_removed, 1);
	assert_int_equal(s.num_samples, 70);
	/* older than the truncation point: out of bounds */
	assert_int_equal(tsdb_appender_add_ref(a, ref_new, 100, 1), TSDB_EOUTOFBOUNDS);
	/* the series comes back under a new ref */
	uint32_t ref2;
	assert_int_equal(tsdb_appender_add(a, &old, 200000, 1, &ref2), TSDB_OK);
	assert_true(ref2 > ref_new);
	assert_int_equal(tsdb_appender_add_ref(a, ref_new, 200000, 1), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(a), 2);
	assert_int_equal(sel(h, INT64_MIN, INT64_MAX, &m, 1, NULL, NULL, 0), 1);
	tsdb_head_stats(h, &s);
	assert_int_equal(s.out_of_bounds_samples, 1);
	tsdb_appender_free(a);
	tsdb_head_free(h);
}

/* ---- hooks ---- */

typedef struct hookrec {
	int series;
	size_t samples;
	bool fail;     /* the "WAL" refuses the next batches */
} hookrec;

static void on_series(void *ctx, uint32_t ref, const tp_labels *l)
{
	(void)ref;
	(void)l;
	((hookrec *)ctx)->series++;
}

static int on_samples(void *ctx, const tsdb_ref_sample *s, size_t n, char *err, size_t errlen)
{
	(void)s;
	hookrec *r = ctx;
	if (r->fail) {
		snprintf(err, errlen, "write to WAL: no space left on device");
		return -1;
	}
	r->samples += n;
	return 0;
}

static void test_hooks(void **state)
{
	(void)state;
	hookrec r = { 0, 0, false };
	tsdb_head *h = tsdb_head_new(NULL);
	tsdb_head_hooks hk = { on_series, on_samples, &r };
	tsdb_head_set_hooks(h, &hk);
	tsdb_appender *a = tsdb_appender_new(h);
	tp_label b[2];
	tp_labels l = mk(b, 1, "__name__", "m");
	assert_int_equal(tsdb_appender_add(a, &l, 1, 1, NULL), TSDB_OK);
	assert_int_equal(tsdb_appender_add(a, &l, 2, 1, NULL), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(a), 2);
	assert_null(tsdb_appender_error(a));
	assert_int_equal(r.series, 1);
	assert_int_equal(r.samples, 2);
	/* a batch the log refuses is not committed, says why, and leaves the
	 * appender and the series usable */
	r.fail = true;
	assert_int_equal(tsdb_appender_add(a, &l, 3, 3, NULL), TSDB_OK);
	tp_label b2[2];
	tp_labels l2 = mk(b2, 1, "__name__", "n");
	assert_int_equal(tsdb_appender_add(a, &l2, 3, 3, NULL), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_non_null(tsdb_appender_error(a));
	assert_string_equal(tsdb_appender_error(a), "write to WAL: no space left on device");
	tsdb_stats st;
	tsdb_head_stats(h, &st);
	assert_int_equal(st.samples_appended, 2);
	assert_int_equal(st.max_time_ms, 2);
	r.fail = false;
	assert_int_equal(tsdb_appender_add(a, &l, 3, 4, NULL), TSDB_OK);  /* t=3 was never stored */
	assert_int_equal(tsdb_appender_add(a, &l2, 3, 3, NULL), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(a), 2);
	assert_null(tsdb_appender_error(a));
	assert_int_equal(r.series, 2);
	assert_int_equal(r.samples, 4);
	tsdb_appender_free(a);
	/* truncation is not held back by the dropped batch's pending marks */
	assert_int_equal(tsdb_head_truncate(h, 100), 2);
	tsdb_head_free(h);
}

/* ---- concurrency ---- */

enum { NW = 4, NSER = 200, NSTEP = 300 };
static tsdb_head *ch;
static volatile int writers_done;
static int tolerant;  /* truncation runs: out of bounds and removed series are fine */

static void *writer(void *arg)
{
	int w = (int)(intptr_t)arg;
	tsdb_appender *a = tsdb_appender_new(ch);
	uint32_t refs[NSER] = { 0 };
	char ids[NSER][16];
	for (int s = 0; s < NSER; s++)
		snprintf(ids[s], sizeof(ids[s]), "%d", s);
	char wid[8];
	snprintf(wid, sizeof(wid), "w%d", w);
	for (int step = 0; step < NSTEP; step++) {
		for (int s = 0; s < NSER; s++) {
			tp_label b[3] = { { "__name__", "conc" }, { "id", ids[s] }, { "w", wid } };
			tp_labels l = { b, 3 };
			int rc = refs[s] ? tsdb_appender_add_ref(a, refs[s], step * 1000LL, step)
					 : tsdb_appender_add(a, &l, step * 1000LL, step, &refs[s]);
			if (tolerant && rc == TSDB_ENOTFOUND)
				refs[s] = 0;
			else if (!(tolerant && rc == TSDB_EOUTOFBOUNDS))
				assert_int_equal(rc, TSDB_OK);
		}
		if (step % 7 == 6)
			tsdb_appender_rollback(a);  /* odd steps lost: fine, the reader only checks order */
		else
			tsdb_appender_commit(a);
	}
	tsdb_appender_free(a);
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	tsdb_matcher m;
	tsdb_matcher_init(&m, TSDB_MATCH_RE, "w", "w.*", NULL, 0);
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	int rounds = 0;
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE) || rounds < 3) {
		tsdb_querier *q = tsdb_querier_new(ch, INT64_MIN, INT64_MAX);
		tsdb_series_set *ss = tsdb_querier_select(q, &m, 1);
		while (tsdb_series_set_next(ss)) {
			size_t n = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
			for (size_t i = 0; i < n; i++) {
				assert_true(buf[i].v == (double)(buf[i].t / 1000));
				if (i)
					assert_true(buf[i].t > buf[i - 1].t);
			}
			tsdb_iter it;
			tsdb_series_set_iter(ss, &it);
			size_t k = 0;
			while (tsdb_iter_next(&it))
				k++;
			assert_int_equal(k, n);
		}
		tsdb_series_set_free(ss);
		tsdb_querier_free(q);
		rounds++;
	}
	free(buf);
	tsdb_matcher_free(&m);
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	tsdb_options o = { .chunk_samples = 32 };
	ch = tsdb_head_new(&o);
	writers_done = 0;
	pthread_t w[NW], r[2];
	for (int i = 0; i < NW; i++)
		pthread_create(&w[i], NULL, writer, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, reader, NULL);
	for (int i = 0; i < NW; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	tsdb_stats s;
	tsdb_head_stats(ch, &s);
	assert_int_equal(s.num_series, NW * NSER);
	int kept = NSTEP - NSTEP / 7;
	assert_int_equal(s.num_samples, (uint64_t)NW * NSER * kept);
	assert_int_equal(count_samples(ch, INT64_MIN, INT64_MAX), (size_t)NW * NSER * kept);
	/* a truncation while nothing else runs */
	tsdb_head_truncate(ch, 150000);
	tsdb_head_free(ch);
}

static void *truncator(void *arg)
{
	(void)arg;
	size_t removed = 0;
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		tsdb_stats s;
		tsdb_head_stats(ch, &s);
		if (s.max_time_ms > 100000)
			removed += tsdb_head_truncate(ch, s.max_time_ms - 100000);
	}
	return (void *)removed;
}

static void *free_querier(void *arg)
{
	tsdb_querier_free(arg);
	return NULL;
}

static void test_concurrent_truncate(void **state)
{
	(void)state;
	tsdb_options o = { .chunk_samples = 16 };
	ch = tsdb_head_new(&o);
	writers_done = 0;
	tolerant = 1;
	pthread_t w[2], r, tr;
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, writer, (void *)(intptr_t)i);
	pthread_create(&r, NULL, reader, NULL);
	pthread_create(&tr, NULL, truncator, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
	pthread_join(r, NULL);
	pthread_join(tr, NULL);
	tsdb_stats s;
	tolerant = 0;
	/* truncations during the run are best effort (they wait for a moment
	 * without queriers); this one runs for sure */
	tsdb_head_truncate(ch, 200000);
	tsdb_head_stats(ch, &s);
	assert_true(s.min_time_ms > 200000 - 40000);  /* chunks of 16 samples a second apart */
	assert_int_equal(count_samples(ch, INT64_MIN, INT64_MAX), s.num_samples);
	/* a querier may be freed by another thread; truncation waits for it */
	tsdb_querier *q = tsdb_querier_new(ch, INT64_MIN, INT64_MAX);
	pthread_t f;
	pthread_create(&f, NULL, free_querier, q);
	pthread_join(f, NULL);
	tsdb_head_truncate(ch, INT64_MAX);
	tsdb_head_stats(ch, &s);
	assert_int_equal(s.num_series, 0);
	assert_int_equal(s.num_samples, 0);
	assert_int_equal(s.chunk_bytes, 0);
	tsdb_head_free(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_rollback),
		cmocka_unit_test(test_order_rules),
		cmocka_unit_test(test_matchers),
		cmocka_unit_test(test_big_union),
		cmocka_unit_test(test_randomized),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_truncate_pending),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_concurrent_truncate),
	};
	return cmocka_run_group_tests_name("tsdb_head", tests, NULL, NULL);
}
