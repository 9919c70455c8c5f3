/* SPDX-License-Identifier: Apache-2.0
 * test_api_http.c - the HTTP API over a head with data, in-process: fills a
 * tsdb head through the public appender, starts api_server on 127.0.0.1:0
 * and talks to it with libcurl. Covers what the process-level script
 * cannot without an ingestion path: series/labels/label values with data,
 * match[] unions from body and query string, limits with the truncation
 * warning, vector and matrix results with labels, and execution errors
 * (422). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/options.h"
#include "api/server.h"
#include "lib/metrics.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"

typedef struct fixture {
	api_options opts;
	tsdb_head *head;
	promql_engine *engine;
	tp_metrics_registry *reg;
	api_server *srv;
	char base[64];
} fixture;

static void add(tsdb_appender *a, double v, int64_t t, const char *name, const char *k1, const char *v1,
		const char *k2, const char *v2)
{
	tp_label l[3] = { { "__name__", name }, { k1, v1 }, { k2, v2 } };
	tp_labels ls = { l, 3 };
	tp_labels_normalize(&ls);
	assert_int_equal(tsdb_appender_add(a, &ls, t, v, NULL), TSDB_OK);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	char err[256];
	char *argv[] = { "tinyprom", "--web.listen-address=127.0.0.1:0", NULL };
	assert_int_equal(api_options_parse(&f->opts, 2, argv, err, sizeof err), API_OPTIONS_RUN);
	f->head = tsdb_head_new(NULL);
	tsdb_appender *a = tsdb_appender_new(f->head);
	for (int64_t t = 0; t <= 120000; t += 15000) {
		add(a, 1, t, "up", "instance", "x:1", "job", "a");
		add(a, 0, t, "up", "instance", "y:2", "job", "b");
		add(a, (double)t / 1000, t, "http_requests_total", "code", "200", "job", "a");
	}
	assert_true(tsdb_appender_commit(a) > 0);
	tsdb_appender_free(a);
	f->engine = promql_engine_new(f->head, NULL);
	f->reg = tp_metrics_registry_new();
	api_server_config cfg = { .opts = &f->opts, .head = f->head, .engine = f->engine, .metrics = f->reg,
				  .start_time_ms = 0, .threads = 2 };
	f->srv = api_server_start(&cfg, err, sizeof err);
	assert_non_null(f->srv);
	api_server_set_ready(f->srv, true);
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", (unsigned)api_server_port(f->srv));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	api_server_stop(f->srv);
	promql_engine_free(f->engine);
	tsdb_head_free(f->head);
	tp_metrics_registry_free(f->reg);
	api_options_free(&f->opts);
	free(f);
	return 0;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	tp_sb_append(ud, p, sz * n);
	return sz * n;
}

/* GET (post_body NULL) or form POST; returns the status, body in *out. */
static long http(fixture *f, const char *path, const char *post_body, char **out)
{
	CURL *c = curl_easy_init();
	char url[4096];
	snprintf(url, sizeof url, "%s%s", f->base, path);
	tp_strbuf sb = { 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
	if (post_body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	*out = sb.buf ? tp_sb_steal(&sb) : strdup("");
	return code;
}

static void expect(fixture *f, const char *path, const char *post, long code, const char *body)
{
	char *got;
	long c = http(f, path, post, &got);
	if (c != code || strcmp(got, body) != 0)
		print_error("%s%s%s\n  got  %ld %s\n  want %ld %s\n", path, post ? " body=" : "", post ? post : "", c,
			    got, code, body);
	assert_int_equal(c, code);
	assert_string_equal(got, body);
	free(got);
}

#define UP_A "{\"__name__\":\"up\",\"instance\":\"x:1\",\"job\":\"a\"}"
#define UP_B "{\"__name__\":\"up\",\"instance\":\"y:2\",\"job\":\"b\"}"
#define REQ_A "{\"__name__\":\"http_requests_total\",\"code\":\"200\",\"job\":\"a\"}"
#define TRUNC ",\"warnings\":[\"results truncated due to limit\"]"

static void test_series(void **state)
{
	fixture *f = *state;
	expect(f, "/api/v1/series?match[]=up", NULL, 200, "{\"status\":\"success\",\"data\":[" UP_A "," UP_B "]}");
	/* match[] sets are ORed and de-duplicated, sorted by labels */
	expect(f, "/api/v1/series?match[]=up&match[]=%7Bjob%3D%22a%22%7D", NULL, 200,
	       "{\"status\":\"success\",\"data\":[" REQ_A "," UP_A "," UP_B "]}");
	/* body and query-string match[] build one list */
	expect(f, "/api/v1/series?match[]=http_requests_total", "match%5B%5D=up%7Bjob%3D%22b%22%7D", 200,
	       "{\"status\":\"success\",\"data\":[" REQ_A "," UP_B "]}");
	expect(f, "/api/v1/series?match[]=up&limit=1", NULL, 200,
	       "{\"status\":\"success\",\"data\":[" UP_A "]" TRUNC "}");
	expect(f, "/api/v1/series?match[]=up&limit=2", NULL, 200,
	       "{\"status\":\"success\",\"data\":[" UP_A "," UP_B "]}");
	/* time range after the data */
	expect(f, "/api/v1/series?match[]=up&start=1000&end=2000", NULL, 200, "{\"status\":\"success\",\"data\":[]}");
	expect(f, "/api/v1/series?match[]=up&start=-292273086-05-16T16:47:06Z&end=292277025-08-18T07:12:54.999999999Z",
	       NULL, 200, "{\"status\":\"success\",\"data\":[" UP_A "," UP_B "]}");
}

static void test_labels_and_values(void **state)
{
	fixture *f = *state;
	expect(f, "/api/v1/labels", NULL, 200,
	       "{\"status\":\"success\",\"data\":[\"__name__\",\"code\",\"instance\",\"job\"]}");
	expect(f, "/api/v1/labels", "match[]=up", 200,
	       "{\"status\":\"success\",\"data\":[\"__name__\",\"instance\",\"job\"]}");
	expect(f, "/api/v1/labels?limit=2", NULL, 200,
	       "{\"status\":\"success\",\"data\":[\"__name__\",\"code\"]" TRUNC "}");
	expect(f, "/api/v1/label/job/values", NULL, 200, "{\"status\":\"success\",\"data\":[\"a\",\"b\"]}");
	expect(f, "/api/v1/label/__name__/values", NULL, 200,
	       "{\"status\":\"success\",\"data\":[\"http_requests_total\",\"up\"]}");
	expect(f, "/api/v1/label/job/values?match[]=http_requests_total", NULL, 200,
	       "{\"status\":\"success\",\"data\":[\"a\"]}");
	expect(f, "/api/v1/label/job/values?match[]=http_requests_total&match[]=up%7Bjob%3D%22b%22%7D", NULL, 200,
	       "{\"status\":\"success\",\"data\":[\"a\",\"b\"]}");
	expect(f, "/api/v1/label/job/values?limit=1", NULL, 200, "{\"status\":\"success\",\"data\":[\"a\"]" TRUNC "}");
	expect(f, "/api/v1/label/nosuch/values", NULL, 200, "{\"status\":\"success\",\"data\":[]}");
	expect(f, "/api/v1/label/job/values?limit=x", NULL, 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"limit\\\": strconv.Atoi: parsing \\\"x\\\": invalid syntax\"}");
}

static void test_queries_with_data(void **state)
{
	fixture *f = *state;
	expect(f, "/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=120", NULL, 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":" UP_A
	       ",\"value\":[120,\"1\"]}]}}");
	/* an instant query over a range selector returns a matrix */
	expect(f, "/api/v1/query?query=http_requests_total%5B30s%5D&time=120", NULL, 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":" REQ_A
	       ",\"values\":[[105,\"105\"],[120,\"120\"]]}]}}");
	expect(f, "/api/v1/query_range?query=sum(up)&start=0&end=30&step=15", NULL, 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
	       "\"values\":[[0,\"1\"],[15,\"1\"],[30,\"1\"]]}]}}");
	expect(f, "/api/v1/query", "query=irate(http_requests_total%5B1m%5D)&time=120", 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
	       "{\"code\":\"200\",\"job\":\"a\"},\"value\":[120,\"1\"]}]}}");
	/* limit truncates vectors and matrices (series are sorted here) */
	expect(f, "/api/v1/query?query=sort_desc(up)&time=120&limit=1", NULL, 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":" UP_A
	       ",\"value\":[120,\"1\"]}]}" TRUNC "}");
	expect(f, "/api/v1/query_range?query=up&start=0&end=15&step=15&limit=1", NULL, 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":" UP_A
	       ",\"values\":[[0,\"1\"],[15,\"1\"]]}]}" TRUNC "}");
	expect(f, "/api/v1/query?query=up&time=120&limit=-3", NULL, 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"limit\\\": limit must be non-negative\"}");
	/* many-to-many matching is an execution error: 422 */
	char *got;
	long c = http(f, "/api/v1/query?query=up%20%2B%20on()%20up&time=120", NULL, &got);
	assert_int_equal(c, 422);
	assert_non_null(strstr(got, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\""));
	free(got);
}

static void test_tsdb_status(void **state)
{
	fixture *f = *state;
	char *got;
	assert_int_equal(http(f, "/api/v1/status/tsdb", NULL, &got), 200);
	/* 3 series; pairs: __name__ x2, code=200, instance x2, job x2.
	 * chunkCount is whatever the head reports (open chunks may not count). */
	assert_true(strncmp(got, "{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":3,"
				 "\"numLabelPairs\":7,\"chunkCount\":", 86) == 0);
	assert_non_null(strstr(got, ",\"minTime\":0,\"maxTime\":120000},\"seriesCountByMetricName\":[],"
				    "\"labelValueCountByLabelName\":[],\"memoryInBytesByLabelName\":[],"
				    "\"seriesCountByLabelValuePair\":[]}}"));
	free(got);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_labels_and_values),
		cmocka_unit_test(test_queries_with_data),
		cmocka_unit_test(test_tsdb_status),
	};
	int rc = cmocka_run_group_tests_name("api_http", tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
