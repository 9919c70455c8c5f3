/* SPDX-License-Identifier: Apache-2.0
 * test_metrics.c - unit tests for lib/metrics: exposition rendering
 * (HELP/TYPE, sorting, escaping, histogram buckets), registration rules,
 * lock-free updates under concurrency, process metrics. */
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
#include <time.h>

#include "lib/metrics.h"

static char *render(tp_metrics_registry *r)
{
	tp_strbuf sb = { 0 };
	tp_metrics_render(r, &sb);
	return tp_sb_steal(&sb);
}

static void test_counter_gauge_render(void **state)
{
	(void)state;
	tp_metrics_registry *r = tp_metrics_registry_new();
	tp_metric *c = tp_metrics_counter_new(r, "zz_requests_total", "Requests.\nSecond \\ line.");
	tp_metric *g = tp_metrics_gauge_new(r, "aa_temperature", "Temp.");
	assert_non_null(c);
	assert_non_null(g);
	tp_metrics_counter_inc(c);
	tp_metrics_counter_add(c, 2);
	tp_metrics_counter_add(c, 0.5);
	tp_metrics_counter_add(c, -10); /* ignored */
	tp_metrics_gauge_set(g, -1.5e-7);
	char *s = render(r);
	assert_string_equal(s, "# HELP aa_temperature Temp.\n"
			       "# TYPE aa_temperature gauge\n"
			       "aa_temperature -1.5e-07\n"
			       "# HELP zz_requests_total Requests.\\nSecond \\\\ line.\n"
			       "# TYPE zz_requests_total counter\n"
			       "zz_requests_total 3.5\n");
	free(s);
	assert_true(tp_metrics_value(c) == 3.5);
	tp_metrics_gauge_add(g, 1.5e-7);
	tp_metrics_gauge_set(g, INFINITY);
	s = render(r);
	assert_non_null(strstr(s, "aa_temperature +Inf\n"));
	free(s);
	tp_metrics_registry_free(r);
}

static void test_labels_sorted_escaped(void **state)
{
	(void)state;
	tp_metrics_registry *r = tp_metrics_registry_new();
	const char *names[] = { "handler", "code" };
	tp_metric_family *f = tp_metrics_family_new(r, TP_METRIC_COUNTER, "http_requests_total", "Reqs.", names,
						    2, NULL, 0);
	assert_non_null(f);
	const char *v1[] = { "/api/v1/query", "200" };
	const char *v2[] = { "/-/healthy", "200" };
	const char *v3[] = { "/api/v1/query", "400" };
	const char *v4[] = { "q\"uo\\te\n", "" };  /* empty value: the label is left out */
	tp_metric *a = tp_metrics_child(f, v1);
	assert_ptr_equal(a, tp_metrics_child(f, v1)); /* same child on second lookup */
	tp_metrics_counter_inc(a);
	tp_metrics_counter_inc(tp_metrics_child(f, v2));
	tp_metrics_counter_add_u64(tp_metrics_child(f, v3), 7);
	tp_metrics_counter_inc(tp_metrics_child(f, v4));
	char *s = render(r);
	assert_string_equal(s, "# HELP http_requests_total Reqs.\n"
			       "# TYPE http_requests_total counter\n"
			       "http_requests_total{handler=\"/-/healthy\",code=\"200\"} 1\n"
			       "http_requests_total{handler=\"/api/v1/query\",code=\"200\"} 1\n"
			       "http_requests_total{handler=\"/api/v1/query\",code=\"400\"} 7\n"
			       "http_requests_total{handler=\"q\\\"uo\\\\te\\n\"} 1\n");
	free(s);
	tp_metrics_registry_free(r);
}

static void test_histogram(void **state)
{
	(void)state;
	tp_metrics_registry *r = tp_metrics_registry_new();
	const double b[] = { 0.25, 1, 10 };
	tp_metric *h = tp_metrics_histogram_new(r, "req_duration_seconds", "Latency.", b, 3);
	assert_non_null(h);
	tp_metrics_histogram_observe(h, 0.125);
	tp_metrics_histogram_observe(h, 0.25);  /* le is inclusive */
	tp_metrics_histogram_observe(h, 5);
	tp_metrics_histogram_observe(h, 100);
	char *s = render(r);
	assert_string_equal(s, "# HELP req_duration_seconds Latency.\n"
			       "# TYPE req_duration_seconds histogram\n"
			       "req_duration_seconds_bucket{le=\"0.25\"} 2\n"
			       "req_duration_seconds_bucket{le=\"1\"} 2\n"
			       "req_duration_seconds_bucket{le=\"10\"} 3\n"
			       "req_duration_seconds_bucket{le=\"+Inf\"} 4\n"
			       "req_duration_seconds_sum 105.375\n"
			       "req_duration_seconds_count 4\n");
	free(s);
	assert_int_equal(tp_metrics_histogram_count(h), 4);

	/* labelled histogram: le comes last */
	const char *ln[] = { "handler" };
	tp_metric_family *f = tp_metrics_family_new(r, TP_METRIC_HISTOGRAM, "lat_seconds", "L.", ln, 1,
						    tp_metrics_default_buckets, 11);
	const char *lv[] = { "/x" };
	tp_metrics_histogram_observe(tp_metrics_child(f, lv), 0.007);
	s = render(r);
	assert_non_null(strstr(s, "lat_seconds_bucket{handler=\"/x\",le=\"0.005\"} 0\n"
				  "lat_seconds_bucket{handler=\"/x\",le=\"0.01\"} 1\n"));
	assert_non_null(strstr(s, "lat_seconds_count{handler=\"/x\"} 1\n"));
	free(s);
	tp_metrics_registry_free(r);
}

static void test_registration_rules(void **state)
{
	(void)state;
	tp_metrics_registry *r = tp_metrics_registry_new();
	const double bad[] = { 1, 1 };
	const double good[] = { 1, 2 };
	const char *le[] = { "le" };
	const char *dup[] = { "a", "a" };
	const char *inv[] = { "9x" };
	const char *res[] = { "__x" };
	assert_null(tp_metrics_counter_new(r, "bad-name", "x"));
	assert_null(tp_metrics_counter_new(r, "", "x"));
	assert_null(tp_metrics_histogram_new(r, "h", "x", bad, 2));
	assert_null(tp_metrics_family_new(r, TP_METRIC_HISTOGRAM, "h2", "x", le, 1, good, 2));
	assert_null(tp_metrics_family_new(r, TP_METRIC_GAUGE, "g", "x", dup, 2, NULL, 0));
	assert_null(tp_metrics_family_new(r, TP_METRIC_GAUGE, "g", "x", inv, 1, NULL, 0));
	assert_null(tp_metrics_family_new(r, TP_METRIC_GAUGE, "g", "x", res, 1, NULL, 0));
	assert_null(tp_metrics_family_new(r, TP_METRIC_GAUGE, "g", "x", NULL, 0, good, 2));
	/* re-registration: same shape returns the same family, other shape fails */
	tp_metric *c1 = tp_metrics_counter_new(r, "ns:c_total", "x");
	assert_non_null(c1);
	assert_ptr_equal(c1, tp_metrics_counter_new(r, "ns:c_total", "x"));
	assert_null(tp_metrics_gauge_new(r, "ns:c_total", "x"));
	/* families without children are not rendered */
	const char *ln[] = { "a" };
	assert_non_null(tp_metrics_family_new(r, TP_METRIC_GAUGE, "unused", "x", ln, 1, NULL, 0));
	char *s = render(r);
	assert_null(strstr(s, "unused"));
	assert_non_null(strstr(s, "ns:c_total 0\n"));
	free(s);
	tp_metrics_registry_free(r);
	tp_metrics_registry_free(NULL);
}

static double forty_two(void *ud)
{
	return *(double *)ud;
}

static void test_func_metrics(void **state)
{
	(void)state;
	tp_metrics_registry *r = tp_metrics_registry_new();
	double v = 42;
	tp_metrics_func_new(r, TP_METRIC_GAUGE, "fn_gauge", "F.", forty_two, &v);
	char *s = render(r);
	assert_non_null(strstr(s, "fn_gauge 42\n"));
	free(s);
	v = 1e21;
	s = render(r);
	assert_non_null(strstr(s, "fn_gauge 1e+21\n"));
	free(s);
	tp_metrics_registry_free(r);
}

#define NT 4
#define NINC 100000

static void *hammer(void *arg)
{
	tp_metric **m = arg;
	for (int i = 0; i < NINC; i++) {
		tp_metrics_counter_inc(m[0]);
		tp_metrics_gauge_add(m[1], 0.5);
		tp_metrics_histogram_observe(m[2], (double)(i % 3));
	}
	return NULL;
}

static void test_concurrent_updates(void **state)
{
	(void)state;
	tp_metrics_registry *r = tp_metrics_registry_new();
	const double b[] = { 0.5, 1.5 };
	tp_metric *m[3] = {
		tp_metrics_counter_new(r, "c_total", "c"),
		tp_metrics_gauge_new(r, "g", "g"),
		tp_metrics_histogram_new(r, "h", "h", b, 2),
	};
	pthread_t t[NT];
	for (int i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, hammer, m);
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	assert_true(tp_metrics_value(m[0]) == (double)NT * NINC);
	assert_true(tp_metrics_value(m[1]) == 0.5 * NT * NINC);
	assert_int_equal(tp_metrics_histogram_count(m[2]), NT * NINC);
	tp_metrics_registry_free(r);
}

static void test_process_metrics(void **state)
{
	(void)state;
	tp_metrics_registry *r = tp_metrics_registry_new();
	tp_metrics_register_process(r);
	char *s = render(r);
	assert_non_null(strstr(s, "# TYPE process_resident_memory_bytes gauge\n"));
	assert_non_null(strstr(s, "# TYPE process_cpu_seconds_total counter\n"));
	assert_non_null(strstr(s, "# TYPE go_goroutines gauge\n"));
	/* plausible values */
	const char *p = strstr(s, "\nprocess_resident_memory_bytes ");
	assert_non_null(p);
	double rss = strtod(p + strlen("\nprocess_resident_memory_bytes "), NULL);
	assert_true(rss > 100000 && rss < 1e11);
	p = strstr(s, "\nprocess_start_time_seconds ");
	assert_non_null(p);
	double st = strtod(p + strlen("\nprocess_start_time_seconds "), NULL);
	double now = (double)time(NULL);
	assert_true(st > now - 3600 && st <= now + 1);
	p = strstr(s, "\nprocess_open_fds ");
	assert_non_null(p);
	double fds = strtod(p + strlen("\nprocess_open_fds "), NULL);
	assert_true(fds >= 3 && fds < 10000);
	p = strstr(s, "\ngo_threads ");
	assert_non_null(p);
	assert_true(strtod(p + strlen("\ngo_threads "), NULL) >= 1);
	free(s);
	tp_metrics_registry_free(r);
}

static int64_t fake_now_ns;
static int64_t fake_clock(void) { return fake_now_ns; }

static void test_summary(void **state)
{
	(void)state;
	tp_metrics_set_clock(fake_clock);
	fake_now_ns = 1000LL * 1000000000;  /* any start; windows are 120 s */
	tp_metrics_registry *r = tp_metrics_registry_new();
	static const double q[] = { 0.5, 0.9, 0.99 };
	static const char *const ln[] = { "slice" };
	tp_metric_family *f = tp_metrics_summary_family_new(r, "q_seconds", "Q.", ln, 1, q, 3);
	assert_non_null(f);
	/* the same shape registers to the same family; another shape does not */
	assert_ptr_equal(tp_metrics_summary_family_new(r, "q_seconds", "Q.", ln, 1, q, 3), f);
	assert_null(tp_metrics_summary_family_new(r, "q_seconds", "Q.", ln, 1, q, 2));
	assert_null(tp_metrics_family_new(r, TP_METRIC_SUMMARY, "s2", "x", NULL, 0, NULL, 0));
	static const double bad[] = { 0.5, 0.5 }, out_of_range[] = { 1.0 };
	static const char *const qlabel[] = { "quantile" };
	assert_null(tp_metrics_summary_family_new(r, "s3", "x", NULL, 0, bad, 2));
	assert_null(tp_metrics_summary_family_new(r, "s4", "x", NULL, 0, out_of_range, 1));
	assert_null(tp_metrics_summary_family_new(r, "s5", "x", qlabel, 1, q, 1));

	const char *a[] = { "inner_eval" }, *b[] = { "queue_time" };
	tp_metric *ma = tp_metrics_child(f, a), *mb = tp_metrics_child(f, b);
	assert_true(isnan(tp_metrics_summary_quantile(ma, 0.5)));  /* empty window */
	for (int i = 100; i >= 1; i--)  /* 1..100 in any order */
		tp_metrics_summary_observe(ma, i);
	tp_metrics_summary_observe(mb, 0.25);
	assert_true(tp_metrics_summary_quantile(ma, 0.5) == 50);
	assert_true(tp_metrics_summary_quantile(ma, 0.9) == 90);
	assert_true(tp_metrics_summary_quantile(ma, 0.99) == 99);
	assert_true(isnan(tp_metrics_summary_quantile(ma, 0.75)));  /* not one of the family's */
	char *s = render(r);
	assert_string_equal(s, "# HELP q_seconds Q.\n"
			       "# TYPE q_seconds summary\n"
			       "q_seconds{slice=\"inner_eval\",quantile=\"0.5\"} 50\n"
			       "q_seconds{slice=\"inner_eval\",quantile=\"0.9\"} 90\n"
			       "q_seconds{slice=\"inner_eval\",quantile=\"0.99\"} 99\n"
			       "q_seconds_sum{slice=\"inner_eval\"} 5050\n"
			       "q_seconds_count{slice=\"inner_eval\"} 100\n"
			       "q_seconds{slice=\"queue_time\",quantile=\"0.5\"} 0.25\n"
			       "q_seconds{slice=\"queue_time\",quantile=\"0.9\"} 0.25\n"
			       "q_seconds{slice=\"queue_time\",quantile=\"0.99\"} 0.25\n"
			       "q_seconds_sum{slice=\"queue_time\"} 0.25\n"
			       "q_seconds_count{slice=\"queue_time\"} 1\n");
	free(s);

	/* 8 minutes later the first observations still count; new ones join */
	fake_now_ns += 8 * 60 * 1000000000LL;
	for (int i = 0; i < 100; i++)
		tp_metrics_summary_observe(ma, 1000);
	assert_true(tp_metrics_summary_quantile(ma, 0.5) == 100);
	assert_true(tp_metrics_summary_quantile(ma, 0.9) == 1000);
	/* after 10 minutes the first window has aged out; sum and count stay */
	fake_now_ns += 2 * 60 * 1000000000LL + 1;
	assert_true(tp_metrics_summary_quantile(ma, 0.5) == 1000);
	assert_true(tp_metrics_summary_quantile(ma, 0.99) == 1000);
	assert_int_equal(tp_metrics_summary_count(ma), 200);
	/* and then everything */
	fake_now_ns += 10 * 60 * 1000000000LL;
	assert_true(isnan(tp_metrics_summary_quantile(ma, 0.5)));
	s = render(r);
	assert_non_null(strstr(s, "q_seconds{slice=\"inner_eval\",quantile=\"0.5\"} NaN\n"));
	assert_non_null(strstr(s, "q_seconds_count{slice=\"inner_eval\"} 200\n"));
	free(s);

	/* past TP_SUMMARY_SAMPLES a window samples: 100,000 observations of a
	 * uniform 0..99,999 give quantiles within a few percent */
	tp_metric *mc = tp_metrics_child(f, (const char *[]){ "prepare_time" });
	for (int i = 0; i < 100000; i++)
		tp_metrics_summary_observe(mc, (double)((i * 7919) % 100000));
	double p50 = tp_metrics_summary_quantile(mc, 0.5), p90 = tp_metrics_summary_quantile(mc, 0.9);
	assert_true(fabs(p50 - 50000) < 8000);
	assert_true(fabs(p90 - 90000) < 5000);
	assert_int_equal(tp_metrics_summary_count(mc), 100000);
	tp_metrics_registry_free(r);
	tp_metrics_set_clock(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_gauge_render),
		cmocka_unit_test(test_labels_sorted_escaped),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_registration_rules),
		cmocka_unit_test(test_func_metrics),
		cmocka_unit_test(test_concurrent_updates),
		cmocka_unit_test(test_process_metrics),
		cmocka_unit_test(test_summary),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
