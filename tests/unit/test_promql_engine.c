/* SPDX-License-Identifier: Apache-2.0
 * test_promql_engine.c - unit tests of the PromQL engine: samples are
 * loaded into a tsdb head, queries run through promql_query_instant/range,
 * and results are compared series by series (labels formatted as
 * name{a="b"}, values with a relative tolerance). */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/intern.h"
#include "lib/labels.h"
#include "lib/strbuf.h"
#include "promql/engine.h"
#include "promql/value.h"
#include "tsdb/tsdb.h"

typedef struct fx {
	tsdb_head *head;
	promql_engine *eng;
} fx;

/* Labels from "name,a=1,b=2" (name may be empty: ",a=1"). */
static tp_labels parse_labels(tp_arena *a, const char *spec)
{
	tp_labels l = { .v = tp_arena_alloc(a, sizeof(tp_label) * 16), .n = 0 };
	char *s = tp_arena_strdup(a, spec);
	char *save = NULL;
	bool first = true;
	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (first && !eq) {
			l.v[l.n++] = (tp_label){ TP_METRIC_NAME, tok };
		} else if (eq) {
			*eq = 0;
			l.v[l.n++] = (tp_label){ tok, eq + 1 };
		}
		first = false;
	}
	tp_labels_normalize(&l);
	return l;
}

/* Appends values at t0_s + i*step_s; NAN with stale=true writes a stale
 * marker, isnan otherwise skips. */
static void load(fx *f, const char *spec, int64_t t0_s, int64_t step_s, size_t n, const double *vals)
{
	tp_arena a;
	tp_arena_init(&a);
	tp_labels l = parse_labels(&a, spec);
	tsdb_appender *app = tsdb_appender_new(f->head);
	for (size_t i = 0; i < n; i++) {
		if (isnan(vals[i]) && !tsdb_is_stale_nan(vals[i]))
			continue;
		assert_int_equal(tsdb_appender_add(app, &l, (t0_s + (int64_t)i * step_s) * 1000, vals[i], NULL), TSDB_OK);
	}
	tsdb_appender_commit(app);
	tsdb_appender_free(app);
	tp_arena_free(&a);
}

/* Linear series v0 + i*inc for n samples. */
static void load_lin(fx *f, const char *spec, int64_t t0_s, int64_t step_s, size_t n, double v0, double inc)
{
	double *v = malloc(sizeof(double) * n);
	for (size_t i = 0; i < n; i++)
		v[i] = v0 + inc * (double)i;
	load(f, spec, t0_s, step_s, n, v);
	free(v);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(fx));
	f->head = tsdb_head_new(NULL);
	promql_engine_opts o = { .experimental_functions = true };
	f->eng = promql_engine_new(f->head, &o);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	promql_engine_free(f->eng);
	tsdb_head_free(f->head);
	free(f);
	return 0;
}

static char *fmt_labels(const tp_labels *l)
{
	tp_strbuf sb = { 0 };
	tp_labels_format(&sb, l, true);
	return tp_sb_steal(&sb);
}

static bool close_to(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	if (a == b)
		return true;
	return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Expects an instant vector: pairs of (labels text, value), in any order
 * unless ordered. */
static void expect_vec(fx *f, int64_t t_s, const char *q, bool ordered, size_t n, ...)
{
	promql_result r;
	promql_err err = promql_query_instant(f->eng, q, t_s * 1000, &r);
	if (err != PROMQL_OK)
		fail_msg("query %s failed: %s", q, r.err_msg ? r.err_msg : "?");
	assert_int_equal(r.type, PROMQL_TYPE_VECTOR);
	if (r.nseries != n) {
		for (size_t i = 0; i < r.nseries; i++) {
			char *s = fmt_labels(&r.series[i].labels);
			print_message("  got %s %g\n", s, r.series[i].points[0].v);
			free(s);
		}
		fail_msg("query %s: %zu series, want %zu", q, r.nseries, n);
	}
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);
		double v = va_arg(ap, double);
		bool found = false;
		for (size_t k = 0; k < r.nseries && !found; k++) {
			if (ordered && k != i)
				continue;
			char *s = fmt_labels(&r.series[k].labels);
			if (strcmp(s, want) == 0) {
				found = true;
				if (!close_to(r.series[k].points[0].v, v))
					fail_msg("query %s: %s = %.17g, want %.17g", q, s, r.series[k].points[0].v, v);
				assert_int_equal(r.series[k].points[0].t, t_s * 1000);
			}
			free(s);
		}
		if (!found)
			fail_msg("query %s: series %s missing%s", q, want, ordered ? " (or out of order)" : "");
	}
	va_end(ap);
	promql_result_free(&r);
}

static void expect_scalar(fx *f, int64_t t_s, const char *q, double v)
{
	promql_result r;
	promql_err err = promql_query_instant(f->eng, q, t_s * 1000, &r);
	if (err != PROMQL_OK)
		fail_msg("query %s failed: %s", q, r.err_msg ? r.err_msg : "?");
	assert_int_equal(r.type, PROMQL_TYPE_SCALAR);
	if (!close_to(r.scalar, v))
		fail_msg("query %s = %.17g, want %.17g", q, r.scalar, v);
	promql_result_free(&r);
}

static void expect_err(fx *f, int64_t t_s, const char *q, promql_err type, const char *msg)
{
	promql_result r;
	promql_err err = promql_query_instant(f->eng, q, t_s * 1000, &r);
	assert_int_equal(err, type);
	if (msg && (!r.err_msg || !strstr(r.err_msg, msg)))
		fail_msg("query %s: error %s, want %s", q, r.err_msg ? r.err_msg : "(none)", msg);
	promql_result_free(&r);
}

static bool has_anno(char **a, size_t n, const char *sub)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(a[i], sub))
			return true;
	return false;
}

/* ---- tests ---- */

static void test_lookback_and_staleness(void **state)
{
	fx *f = *state;
	const double v[] = { 1, 2 };
	load(f, "foo,job=a", 0, 60, 2, v);
	double s[] = { 5, 6, 0 };
	s[2] = tsdb_stale_nan();
	load(f, "bar,job=b", 0, 10, 3, s);
	expect_vec(f, 120, "foo", false, 1, "foo{job=\"a\"}", 2.0);
	/* left-open lookback (t-5m, t]: the sample at 60s is gone at 360s */
	expect_vec(f, 359, "foo", false, 1, "foo{job=\"a\"}", 2.0);
	expect_vec(f, 360, "foo", false, 0);
	/* a stale marker ends the series at once */
	expect_vec(f, 15, "bar", false, 1, "bar{job=\"b\"}", 6.0);
	expect_vec(f, 20, "bar", false, 0);
	expect_vec(f, 120, "foo offset 1m", false, 1, "foo{job=\"a\"}", 2.0);
	expect_vec(f, 1000, "foo @ 60", false, 1, "foo{job=\"a\"}", 2.0);
	expect_vec(f, 1000, "foo @ 60 offset 1m", false, 1, "foo{job=\"a\"}", 1.0);
	expect_vec(f, 0, "foo offset -1m", false, 1, "foo{job=\"a\"}", 2.0);
}

static void test_rate_extrapolation(void **state)
{
	fx *f = *state;
	load_lin(f, "http_requests_total,job=api", 0, 60, 11, 0, 10);
	/* window (5m,10m]: 60..100 at 6m..10m; extrapolated by 60s at the start */
	expect_vec(f, 600, "rate(http_requests_total[5m])", false, 1, "{job=\"api\"}", 50.0 / 300);
	expect_vec(f, 600, "increase(http_requests_total[5m])", false, 1, "{job=\"api\"}", 50.0);
	expect_vec(f, 600, "delta(http_requests_total[5m])", false, 1, "{job=\"api\"}", 50.0);
	expect_vec(f, 600, "irate(http_requests_total[5m])", false, 1, "{job=\"api\"}", 10.0 / 60);
	/* counter reset */
	const double c[] = { 10, 20, 5, 15 };
	load(f, "resets_total", 0, 60, 4, c);
	expect_vec(f, 180, "resets(resets_total[10m])", false, 1, "{}", 1.0);
	expect_vec(f, 180, "changes(resets_total[10m])", false, 1, "{}", 3.0);
	/* the non-counter info annotation */
	load_lin(f, "gauge", 0, 60, 11, 0, 1);
	promql_result r;
	assert_int_equal(promql_query_instant(f->eng, "rate(gauge[5m])", 600000, &r), PROMQL_OK);
	assert_true(has_anno(r.infos, r.ninfos,
			     "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"gauge\" (1:6)"));
	promql_result_free(&r);
}

static void test_over_time(void **state)
{
	fx *f = *state;
	const double v[] = { 1, 4, 2, 8, 5 };
	load(f, "g,i=1", 0, 60, 5, v);
	expect_vec(f, 240, "avg_over_time(g[5m])", false, 1, "{i=\"1\"}", 4.0);
	expect_vec(f, 240, "sum_over_time(g[5m])", false, 1, "{i=\"1\"}", 20.0);
	expect_vec(f, 240, "count_over_time(g[5m])", false, 1, "{i=\"1\"}", 5.0);
	/* left-open window: the sample at 0s is outside (4m, ...] at 240s for [4m] */
	expect_vec(f, 240, "count_over_time(g[4m])", false, 1, "{i=\"1\"}", 4.0);
	expect_vec(f, 240, "max_over_time(g[5m])", false, 1, "{i=\"1\"}", 8.0);
	expect_vec(f, 240, "min_over_time(g[5m])", false, 1, "{i=\"1\"}", 1.0);
	expect_vec(f, 240, "last_over_time(g[5m])", false, 1, "g{i=\"1\"}", 5.0);
	expect_vec(f, 240, "quantile_over_time(0.5, g[5m])", false, 1, "{i=\"1\"}", 4.0);
	expect_vec(f, 240, "stdvar_over_time(g[5m])", false, 1, "{i=\"1\"}", 6.0);
	expect_vec(f, 240, "mad_over_time(g[5m])", false, 1, "{i=\"1\"}", 2.0);
	expect_vec(f, 240, "present_over_time(g[5m])", false, 1, "{i=\"1\"}", 1.0);
	expect_vec(f, 240, "absent_over_time(nothing{a=\"b\"}[5m])", false, 1, "{a=\"b\"}", 1.0);
	expect_vec(f, 240, "absent_over_time(g[5m])", false, 0);
	load_lin(f, "lin", 0, 60, 5, 10, 6);
	expect_vec(f, 240, "deriv(lin[5m])", false, 1, "{}", 0.1);
	expect_vec(f, 240, "predict_linear(lin[5m], 60)", false, 1, "{}", 40.0);
}

static void test_subquery(void **state)
{
	fx *f = *state;
	load_lin(f, "c_total", 0, 15, 41, 0, 1);
	/* inner steps at 1m multiples in (5m, 10m]: 6..10m, values 24..40 */
	expect_vec(f, 600, "max_over_time(c_total[5m:1m])", false, 1, "{}", 40.0);
	expect_vec(f, 600, "min_over_time(c_total[5m:1m])", false, 1, "{}", 24.0);
	expect_vec(f, 600, "count_over_time(c_total[5m:])", false, 1, "{}", 5.0);
	expect_vec(f, 600, "min_over_time(c_total[5m:1m] offset 1m)", false, 1, "{}", 20.0);
	promql_result r;
	assert_int_equal(promql_query_instant(f->eng, "c_total[1m:30s]", 600000, &r), PROMQL_OK);
	assert_int_equal(r.type, PROMQL_TYPE_MATRIX);
	assert_int_equal(r.nseries, 1);
	assert_int_equal(r.series[0].npoints, 2);
	assert_int_equal(r.series[0].points[0].t, 570000);
	assert_true(close_to(r.series[0].points[1].v, 40));
	promql_result_free(&r);
}

static void test_aggregations(void **state)
{
	fx *f = *state;
	const char *sp[] = { "req,job=a,i=1", "req,job=a,i=2", "req,job=b,i=3", "req,job=b,i=4" };
	const double vals[] = { 1, 5, 3, 10 };
	for (int i = 0; i < 4; i++)
		load(f, sp[i], 0, 60, 1, &vals[i]);
	expect_vec(f, 60, "sum by (job) (req)", false, 2, "{job=\"a\"}", 6.0, "{job=\"b\"}", 13.0);
	expect_vec(f, 60, "avg without (i) (req)", false, 2, "{job=\"a\"}", 3.0, "{job=\"b\"}", 6.5);
	expect_vec(f, 60, "count(req)", false, 1, "{}", 4.0);
	expect_vec(f, 60, "max by (job) (req)", false, 2, "{job=\"a\"}", 5.0, "{job=\"b\"}", 10.0);
	expect_vec(f, 60, "min(req)", false, 1, "{}", 1.0);
	expect_vec(f, 60, "group by (job) (req)", false, 2, "{job=\"a\"}", 1.0, "{job=\"b\"}", 1.0);
	expect_vec(f, 60, "stddev(req)", false, 1, "{}", sqrt(11.1875));
	expect_vec(f, 60, "quantile(0.5, req)", false, 1, "{}", 4.0);
	expect_vec(f, 60, "topk(2, req)", true, 2, "req{i=\"4\", job=\"b\"}", 10.0, "req{i=\"2\", job=\"a\"}", 5.0);
	expect_vec(f, 60, "bottomk(1, req)", true, 1, "req{i=\"1\", job=\"a\"}", 1.0);
	expect_vec(f, 60, "topk by (job) (1, req)", false, 2, "req{i=\"2\", job=\"a\"}", 5.0, "req{i=\"4\", job=\"b\"}", 10.0);
	expect_vec(f, 60, "count_values(\"v\", req)", false, 4, "{v=\"1\"}", 1.0, "{v=\"5\"}", 1.0, "{v=\"3\"}", 1.0,
		   "{v=\"10\"}", 1.0);
	expect_vec(f, 60, "sort_desc(req)", true, 4, "req{i=\"4\", job=\"b\"}", 10.0, "req{i=\"2\", job=\"a\"}", 5.0,
		   "req{i=\"3\", job=\"b\"}", 3.0, "req{i=\"1\", job=\"a\"}", 1.0);
	expect_vec(f, 60, "sort(req)", true, 4, "req{i=\"1\", job=\"a\"}", 1.0, "req{i=\"3\", job=\"b\"}", 3.0,
		   "req{i=\"2\", job=\"a\"}", 5.0, "req{i=\"4\", job=\"b\"}", 10.0);
}

static void test_binary_ops(void **state)
{
	fx *f = *state;
	const double a1 = 10, a2 = 20, b1 = 2, b2 = 4, g = 100;
	load(f, "a,job=x,i=1", 0, 60, 1, &a1);
	load(f, "a,job=y,i=2", 0, 60, 1, &a2);
	load(f, "b,job=x,i=1", 0, 60, 1, &b1);
	load(f, "b,job=y,i=2", 0, 60, 1, &b2);
	load(f, "info,job=x,team=t1", 0, 60, 1, &g);
	expect_vec(f, 60, "a / b", false, 2, "{i=\"1\", job=\"x\"}", 5.0, "{i=\"2\", job=\"y\"}", 5.0);
	expect_vec(f, 60, "a > 15", false, 1, "a{i=\"2\", job=\"y\"}", 20.0);
	expect_vec(f, 60, "a > bool 15", false, 2, "{i=\"1\", job=\"x\"}", 0.0, "{i=\"2\", job=\"y\"}", 1.0);
	expect_vec(f, 60, "2 * a", false, 2, "{i=\"1\", job=\"x\"}", 20.0, "{i=\"2\", job=\"y\"}", 40.0);
	expect_vec(f, 60, "a * on(job) group_left(team) info", false, 1, "{i=\"1\", job=\"x\", team=\"t1\"}", 1000.0);
	expect_vec(f, 60, "a and on(job) info", false, 1, "a{i=\"1\", job=\"x\"}", 10.0);
	expect_vec(f, 60, "a unless on(job) info", false, 1, "a{i=\"2\", job=\"y\"}", 20.0);
	/* b matches a on all labels but the name: or keeps only a */
	expect_vec(f, 60, "a or b", false, 2, "a{i=\"1\", job=\"x\"}", 10.0, "a{i=\"2\", job=\"y\"}", 20.0);
	expect_vec(f, 60, "a or on(i) info", false, 3, "a{i=\"1\", job=\"x\"}", 10.0, "a{i=\"2\", job=\"y\"}", 20.0,
		   "info{job=\"x\", team=\"t1\"}", 100.0);
	expect_scalar(f, 60, "1 + 2 * 3", 7);
	expect_scalar(f, 60, "2 ^ 10", 1024);
	expect_err(f, 60, "a + on() b", PROMQL_ERR_EXECUTION,
		   "found duplicate series for the match group {} on the right hand-side of the operation");
	expect_err(f, 60, "a + ignoring(i, job) b", PROMQL_ERR_EXECUTION, "many-to-many matching not allowed");
	expect_err(f, 60, "{__name__=~\"a|b\"} * 2", PROMQL_ERR_EXECUTION,
		   "vector cannot contain metrics with the same labelset");
}

/* n terms of `1+1+...`: a left-leaning tree n levels deep */
static char *sum_of_ones(size_t n)
{
	char *q = malloc(2 * n);
	for (size_t i = 0; i < n; i++) {
		q[2 * i] = '1';
		q[2 * i + 1] = i + 1 < n ? '+' : '\0';
	}
	return q;
}

/* Evaluation recurses once per level: trees deeper than PROMQL_MAX_DEPTH
 * are refused at parse time (and released without recursing), so a huge
 * query is an error, never a stack overflow in a server thread. */
static void test_nesting_limit(void **state)
{
	fx *f = *state;
	char *q = sum_of_ones(1000);
	expect_scalar(f, 60, q, 1000);
	free(q);
	q = sum_of_ones(1001);
	expect_err(f, 60, q, PROMQL_ERR_BAD_DATA, "expression nesting too deep");
	free(q);
	q = sum_of_ones(300000);
	expect_err(f, 60, q, PROMQL_ERR_BAD_DATA, "expression nesting too deep");
	free(q);
}

static void test_histogram_quantile(void **state)
{
	fx *f = *state;
	const char *le[] = { "0.1", "0.5", "1", "+Inf" };
	const double cnt[] = { 10, 50, 90, 100 };
	char spec[64];
	for (int i = 0; i < 4; i++) {
		snprintf(spec, sizeof(spec), "lat_bucket,job=a,le=%s", le[i]);
		load(f, spec, 0, 60, 1, &cnt[i]);
	}
	expect_vec(f, 60, "histogram_quantile(0.5, lat_bucket)", false, 1, "{job=\"a\"}", 0.5);
	expect_vec(f, 60, "histogram_quantile(0.3, lat_bucket)", false, 1, "{job=\"a\"}", 0.1 + 0.4 * 0.5);
	expect_vec(f, 60, "histogram_quantile(0.99, lat_bucket)", false, 1, "{job=\"a\"}", 1.0);
	expect_vec(f, 60, "histogram_quantile(-1, lat_bucket)", false, 1, "{job=\"a\"}", -INFINITY);
	expect_vec(f, 60, "histogram_quantile(2, lat_bucket)", false, 1, "{job=\"a\"}", INFINITY);
	expect_vec(f, 60, "histogram_fraction(0, 0.5, lat_bucket)", false, 1, "{job=\"a\"}", 0.5);
	/* no +Inf bucket: NaN */
	const double one = 1;
	load(f, "noinf_bucket,le=1", 0, 60, 1, &one);
	expect_vec(f, 60, "histogram_quantile(0.5, noinf_bucket)", false, 1, "{}", NAN);
	/* non-monotonic buckets are fixed up with an info */
	const double nm[] = { 5, 3, 10 };
	const char *nle[] = { "1", "2", "+Inf" };
	for (int i = 0; i < 3; i++) {
		snprintf(spec, sizeof(spec), "nm_bucket,le=%s", nle[i]);
		load(f, spec, 0, 60, 1, &nm[i]);
	}
	promql_result r;
	assert_int_equal(promql_query_instant(f->eng, "histogram_quantile(0.4, nm_bucket)", 60000, &r), PROMQL_OK);
	assert_int_equal(r.nseries, 1);
	assert_true(close_to(r.series[0].points[0].v, 0.8));
	assert_true(has_anno(r.infos, r.ninfos, "needed to be fixed for monotonicity"));
	promql_result_free(&r);
}

static void test_label_functions(void **state)
{
	fx *f = *state;
	const double v = 1;
	load(f, "up,job=api-server,instance=host:9090", 0, 60, 1, &v);
	expect_vec(f, 60, "label_replace(up, \"svc\", \"$1\", \"job\", \"(.*)-server\")", false, 1,
		   "up{instance=\"host:9090\", job=\"api-server\", svc=\"api\"}", 1.0);
	/* not fully matching: unchanged */
	expect_vec(f, 60, "label_replace(up, \"svc\", \"$1\", \"job\", \"api\")", false, 1,
		   "up{instance=\"host:9090\", job=\"api-server\"}", 1.0);
	expect_vec(f, 60, "label_join(up, \"both\", \"/\", \"job\", \"instance\")", false, 1,
		   "up{both=\"api-server/host:9090\", instance=\"host:9090\", job=\"api-server\"}", 1.0);
	expect_err(f, 60, "label_replace(up, \"x\", \"\", \"job\", \"(\")", PROMQL_ERR_EXECUTION,
		   "invalid regular expression in label_replace(): (");
	expect_vec(f, 60, "absent(nope{job=\"x\", env=~\"p.*\"})", false, 1, "{job=\"x\"}", 1.0);
	expect_vec(f, 60, "absent(up)", false, 0);
	expect_vec(f, 60, "vector(3)", false, 1, "{}", 3.0);
	expect_scalar(f, 60, "scalar(up)", 1);
	expect_scalar(f, 60, "time()", 60);
	expect_vec(f, 60, "timestamp(up)", false, 1, "{instance=\"host:9090\", job=\"api-server\"}", 0.0);
	expect_vec(f, 60, "clamp_max(up * 5, 3)", false, 1, "{instance=\"host:9090\", job=\"api-server\"}", 3.0);
	expect_vec(f, 60, "round(up / 3, 0.1)", false, 1, "{instance=\"host:9090\", job=\"api-server\"}", 0.3);
	expect_vec(f, 86400 * 31 + 3600 * 5, "hour()", false, 1, "{}", 5.0);
	expect_vec(f, 86400 * 31 + 3600 * 5, "month()", false, 1, "{}", 2.0);
	expect_vec(f, 86400 * 31, "days_in_month()", false, 1, "{}", 28.0);
	expect_vec(f, 0, "day_of_week()", false, 1, "{}", 4.0);
}

static void test_range_query(void **state)
{
	fx *f = *state;
	load_lin(f, "m,k=v", 0, 30, 21, 0, 1);
	promql_result r;
	assert_int_equal(promql_query_range(f->eng, "m * 2", 0, 600000, 60000, &r), PROMQL_OK);
	assert_int_equal(r.type, PROMQL_TYPE_MATRIX);
	assert_int_equal(r.nseries, 1);
	assert_int_equal(r.series[0].npoints, 11);
	for (size_t i = 0; i < 11; i++) {
		assert_int_equal(r.series[0].points[i].t, (int64_t)i * 60000);
		assert_true(close_to(r.series[0].points[i].v, 4.0 * (double)i));
	}
	promql_result_free(&r);
	/* scalars become one unlabelled series */
	assert_int_equal(promql_query_range(f->eng, "time()", 0, 120000, 60000, &r), PROMQL_OK);
	assert_int_equal(r.nseries, 1);
	assert_int_equal(r.series[0].npoints, 3);
	assert_true(close_to(r.series[0].points[2].v, 120));
	promql_result_free(&r);
	/* the range result matches instant queries at each step */
	assert_int_equal(promql_query_range(f->eng, "sum_over_time(m[2m])", 60000, 600000, 60000, &r), PROMQL_OK);
	assert_int_equal(r.nseries, 1);
	for (size_t i = 0; i < r.series[0].npoints; i++) {
		promql_result ri;
		assert_int_equal(promql_query_instant(f->eng, "sum_over_time(m[2m])", r.series[0].points[i].t, &ri),
				 PROMQL_OK);
		assert_int_equal(ri.nseries, 1);
		assert_true(close_to(ri.series[0].points[0].v, r.series[0].points[i].v));
		promql_result_free(&ri);
	}
	promql_result_free(&r);
	/* sort in a range query: warning, no reordering */
	assert_int_equal(promql_query_range(f->eng, "sort(m)", 0, 60000, 60000, &r), PROMQL_OK);
	assert_true(has_anno(r.warnings, r.nwarnings, "sort is ineffective for range queries"));
	promql_result_free(&r);
	/* @ end() in a range query is constant */
	assert_int_equal(promql_query_range(f->eng, "m @ end()", 0, 120000, 60000, &r), PROMQL_OK);
	assert_int_equal(r.series[0].npoints, 3);
	assert_true(close_to(r.series[0].points[0].v, 4));
	promql_result_free(&r);
}

static void test_limits(void **state)
{
	fx *f = *state;
	load_lin(f, "big", 0, 1, 1000, 0, 1);
	promql_engine_opts o = { .max_samples = 100 };
	promql_engine *eng = promql_engine_new(f->head, &o);
	promql_result r;
	assert_int_equal(promql_query_instant(eng, "big[10m]", 999000, &r), PROMQL_ERR_EXECUTION);
	assert_string_equal(r.err_msg, "query processing would load too many samples into memory in query execution");
	promql_result_free(&r);
	assert_int_equal(promql_query_instant(eng, "big", 999000, &r), PROMQL_OK);
	promql_result_free(&r);
	assert_int_equal(promql_query_instant(eng, "sum(", 0, &r), PROMQL_ERR_BAD_DATA);
	promql_result_free(&r);
	assert_int_equal(promql_query_range(eng, "big[1m]", 0, 10, 1, &r), PROMQL_ERR_BAD_DATA);
	promql_result_free(&r);
	promql_engine_free(eng);
	/* A 1 ms timeout cannot hold a subquery of 2*10^6 steps (~250 ms on
	 * the development machine: a margin of 250x, so the outcome does not
	 * depend on the machine's speed; an earlier 4 ms query here passed
	 * on a fast CI machine). */
	promql_engine_opts ot = { .timeout_ms = 1 };
	eng = promql_engine_new(f->head, &ot);
	assert_int_equal(promql_query_range(eng, "sum_over_time((big * 2)[1000s:1ms])", 0, 999000, 100, &r),
			 PROMQL_ERR_TIMEOUT);
	assert_string_equal(r.err_msg, "query timed out in expression evaluation");
	promql_result_free(&r);
	promql_engine_free(eng);
	/* a per-query deadline already passed fails before any work */
	eng = promql_engine_new(f->head, &o);
	promql_parse_error perr;
	promql_expr *ex = promql_parse("big", NULL, &perr);
	assert_non_null(ex);
	promql_query_opts qo = { .deadline_ns = 1 };
	assert_int_equal(promql_eval_instant_opts(eng, ex, 999000, &qo, &r), PROMQL_ERR_TIMEOUT);
	promql_expr_free(ex);
	assert_string_equal(r.err_msg, "query timed out in expression evaluation");
	promql_result_free(&r);
	promql_engine_free(eng);
}


static void test_delayed_name_removal(void **state)
{
	fx *f = *state;
	load_lin(f, "m_total,env=1", 0, 60, 11, 0, 1);
	load_lin(f, "n_total,env=1", 0, 60, 11, 0, 2);
	promql_engine_opts o = { .delayed_name_removal = true };
	promql_engine *eng = promql_engine_new(f->head, &o);
	promql_result r;
	/* names are only dropped at the end: label_replace can still read them */
	assert_int_equal(promql_query_instant(eng, "label_replace(rate({env=\"1\"}[5m]), \"n\", \"$1\", \"__name__\", \"(.+)\")",
					      600000, &r),
			 PROMQL_OK);
	assert_int_equal(r.nseries, 2);
	for (size_t i = 0; i < r.nseries; i++) {
		assert_null(tp_labels_get(&r.series[i].labels, "__name__"));
		assert_non_null(tp_labels_get(&r.series[i].labels, "n"));
	}
	promql_result_free(&r);
	/* but dropped names collide at the end */
	assert_int_equal(promql_query_instant(eng, "rate({env=\"1\"}[5m])", 600000, &r), PROMQL_ERR_EXECUTION);
	assert_string_equal(r.err_msg, "vector cannot contain metrics with the same labelset");
	promql_result_free(&r);
	promql_engine_free(eng);
	/* without the feature the collision is immediate */
	expect_err(f, 600, "label_replace(rate({env=\"1\"}[5m]), \"n\", \"$1\", \"__name__\", \"(.+)\")",
		   PROMQL_ERR_EXECUTION, "vector cannot contain metrics with the same labelset");
}

static void test_info_function(void **state)
{
	fx *f = *state;
	const double one = 1, v = 7;
	load(f, "app,instance=a,job=j", 0, 60, 1, &v);
	load(f, "target_info,instance=a,job=j,region=eu", 0, 60, 1, &one);
	load(f, "build_info,instance=a,job=j,version=1.2", 0, 60, 1, &one);
	expect_vec(f, 60, "info(app)", false, 1, "app{instance=\"a\", job=\"j\", region=\"eu\"}", 7.0);
	expect_vec(f, 60, "info(app, {__name__=\"build_info\"})", false, 1, "app{instance=\"a\", job=\"j\", version=\"1.2\"}",
		   7.0);
	expect_vec(f, 60, "info(app, {region=~\"us.*\"})", false, 0);
	expect_vec(f, 60, "info(app, {other=~\".*\"})", false, 1, "app{instance=\"a\", job=\"j\"}", 7.0);
}

static void test_more_aggregations(void **state)
{
	fx *f = *state;
	const double vals[] = { 3, NAN, 1, 2 };
	const char *sp[] = { "x,i=1", "x,i=2", "x,i=3", "x,i=4" };
	for (int i = 0; i < 4; i++) {
		double v = i == 1 ? NAN : vals[i];
		tp_arena a;
		tp_arena_init(&a);
		tp_labels l = parse_labels(&a, sp[i]);
		tsdb_appender *app = tsdb_appender_new(f->head);
		assert_int_equal(tsdb_appender_add(app, &l, 0, v, NULL), TSDB_OK);
		tsdb_appender_commit(app);
		tsdb_appender_free(app);
		tp_arena_free(&a);
	}
	/* NaN sorts last in topk and bottomk */
	expect_vec(f, 0, "topk(2, x)", true, 2, "x{i=\"1\"}", 3.0, "x{i=\"4\"}", 2.0);
	expect_vec(f, 0, "bottomk(2, x)", true, 2, "x{i=\"3\"}", 1.0, "x{i=\"4\"}", 2.0);
	expect_vec(f, 0, "limitk(2, x)", false, 2, "x{i=\"1\"}", 3.0, "x{i=\"2\"}", NAN);
	expect_vec(f, 0, "max(x)", false, 1, "{}", 3.0);
	expect_vec(f, 0, "sum(x)", false, 1, "{}", NAN);
	expect_err(f, 0, "topk(NaN, x)", PROMQL_ERR_EXECUTION, "Parameter value is NaN");
	promql_result r;
	assert_int_equal(promql_query_instant(f->eng, "quantile(1.5, x)", 0, &r), PROMQL_OK);
	assert_true(has_anno(r.warnings, r.nwarnings, "PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:10)"));
	assert_true(isinf(r.series[0].points[0].v));
	promql_result_free(&r);
}

static void test_range_subquery_at(void **state)
{
	fx *f = *state;
	load_lin(f, "s", 0, 60, 21, 0, 1);
	promql_result r;
	/* absent_over_time over a range: 1 only where the window is empty */
	assert_int_equal(promql_query_range(f->eng, "absent_over_time(s[1m])", 1140000, 1440000, 60000, &r), PROMQL_OK);
	assert_int_equal(r.nseries, 1);
	assert_int_equal(r.series[0].npoints, 4);
	assert_int_equal(r.series[0].points[0].t, 1260000);
	promql_result_free(&r);
	/* a subquery pinned with @ gives the same value at every step */
	assert_int_equal(promql_query_range(f->eng, "max_over_time(s[5m:1m] @ 300)", 0, 600000, 120000, &r), PROMQL_OK);
	assert_int_equal(r.nseries, 1);
	assert_int_equal(r.series[0].npoints, 6);
	for (size_t i = 0; i < 6; i++)
		assert_true(close_to(r.series[0].points[i].v, 5));
	promql_result_free(&r);
}

static void test_xxh64(void **state)
{
	(void)state;
	assert_int_equal(promql_xxh64("", 0), 0xef46db3751d8e999ULL);
	assert_int_equal(promql_xxh64("abc", 3), 0x44bc2cf5ad770999ULL);
	const char *s = "Nobody inspects the spammish repetition";
	assert_int_equal(promql_xxh64(s, strlen(s)), 0xfbcea83c8a378bf1ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookback_and_staleness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_extrapolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_over_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subquery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aggregations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nesting_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_histogram_quantile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_functions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delayed_name_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_function, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more_aggregations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_subquery_at, setup, teardown),
		cmocka_unit_test(test_xxh64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
