/* SPDX-License-Identifier: Apache-2.0
 * test_api_http.c - the HTTP API over a head with data, in-process: fills a
 * tsdb head through the public appender, starts api_server on 127.0.0.1:0
 * and talks to it with libcurl. Covers what the process-level script
 * cannot without an ingestion path: series/labels/label values with data,
 * match[] unions from body and query string, limits with the truncation
 * warning, vector and matrix results with labels, execution errors
 * (422), the timeout and lookback_delta parameters, the query queue
 * deadline, the engine's duration summary, and remote-write back-pressure
 * (503 with Retry-After). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <math.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/options.h"
#include "api/server.h"
#include "remote/codec.h"
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

#define UP_VEC "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":" UP_A \
	",\"value\":[200,\"1\"]},{\"metric\":" UP_B ",\"value\":[200,\"0\"]}]}}"
#define EMPTY_VEC "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}"

static void test_lookback_delta(void **state)
{
	fixture *f = *state;
	/* the last samples are at t=120; at t=200 they are 80 s old */
	expect(f, "/api/v1/query?query=up&time=200", NULL, 200, UP_VEC);
	expect(f, "/api/v1/query?query=up&time=200&lookback_delta=1m", NULL, 200, EMPTY_VEC);
	expect(f, "/api/v1/query?query=up&time=200&lookback_delta=90", NULL, 200, UP_VEC);
	expect(f, "/api/v1/query", "query=up&time=200&lookback_delta=79s", 200, EMPTY_VEC);
	/* 0 means the server's (5m), as Prometheus's engine */
	expect(f, "/api/v1/query?query=up&time=200&lookback_delta=0", NULL, 200, UP_VEC);
	expect(f, "/api/v1/query_range?query=count(up)&start=170&end=200&step=30&lookback_delta=1m", NULL, 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
	       "\"values\":[[170,\"2\"]]}]}}");
	expect(f, "/api/v1/query?query=up&time=200&lookback_delta=soon", NULL, 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"error parsing lookback delta duration: "
	       "cannot parse \\\"soon\\\" to a valid duration\"}");
}

static void test_timeout(void **state)
{
	fixture *f = *state;
	expect(f, "/api/v1/query?query=up&time=200&timeout=10s", NULL, 200, UP_VEC);
	expect(f, "/api/v1/query?query=up&time=200&timeout=abc", NULL, 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"timeout\\\": "
	       "cannot parse \\\"abc\\\" to a valid duration\"}");
	/* a timeout that has already passed, as Go's context.WithTimeout(0) */
	const char *timed_out = "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in "
				"expression evaluation\"}";
	expect(f, "/api/v1/query?query=up&time=200&timeout=0", NULL, 503, timed_out);
	expect(f, "/api/v1/query_range", "query=up&start=0&end=100&step=10&timeout=-1", 503, timed_out);

	/* every --query.max-concurrency slot taken: the query waits in the
	 * queue until its timeout */
	for (int64_t i = 0; i < f->opts.max_concurrency; i++)
		assert_int_equal(api_query_begin(f->srv, 0), 0);
	assert_int_equal(api_query_begin(f->srv, tp_mono_ns() + 1000000), -1);
	expect(f, "/api/v1/query?query=up&time=200&timeout=100ms", NULL, 503,
	       "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in query queue\"}");
	api_query_end(f->srv);
	/* one slot free again: the same request gets it (a timeout of 2 min,
	 * so a loaded machine's slow evaluation does not turn this into a
	 * timeout; the slot is free at once either way) */
	expect(f, "/api/v1/query?query=up&time=200&timeout=2m", NULL, 200, UP_VEC);
	for (int64_t i = 1; i < f->opts.max_concurrency; i++)
		api_query_end(f->srv);
}

/* The value of one sample line in the registry's exposition, NAN if absent. */
static double metric(fixture *f, const char *series)
{
	tp_strbuf sb = { 0 };
	tp_metrics_render(f->reg, &sb);
	double v = NAN;
	size_t n = strlen(series);
	for (const char *p = tp_sb_cstr(&sb); p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = strtod(p + n + 1, NULL);
			break;
		}
	}
	tp_sb_free(&sb);
	return v;
}

static void test_query_duration_summary(void **state)
{
	fixture *f = *state;
	static const char *const slices[] = { "inner_eval", "prepare_time", "queue_time", "result_sort" };
	double before[4], after[4];
	char name[160];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "prometheus_engine_query_duration_seconds_count{slice=\"%s\"}", slices[i]);
		before[i] = metric(f, name);
		if (isnan(before[i]))
			before[i] = 0;
	}
	char *got;
	assert_int_equal(http(f, "/api/v1/query?query=up&time=200", NULL, &got), 200);
	free(got);
	assert_int_equal(http(f, "/api/v1/query_range?query=up&start=0&end=100&step=10", NULL, &got), 200);
	free(got);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "prometheus_engine_query_duration_seconds_count{slice=\"%s\"}", slices[i]);
		after[i] = metric(f, name);
	}
	assert_true(after[0] - before[0] == 2);  /* inner_eval: both queries */
	assert_true(after[1] - before[1] == 2);  /* prepare_time */
	assert_true(after[2] - before[2] == 2);  /* queue_time */
	assert_true(after[3] - before[3] == 1);  /* result_sort: the range query only */
	double p50 = metric(f, "prometheus_engine_query_duration_seconds{slice=\"inner_eval\",quantile=\"0.5\"}");
	double p99 = metric(f, "prometheus_engine_query_duration_seconds{slice=\"inner_eval\",quantile=\"0.99\"}");
	assert_true(p50 >= 0 && p50 < 60);
	assert_true(p99 >= p50);
}

/* ---- remote-write back-pressure, on a second server ---- */

static void test_write_backpressure(void **state)
{
	(void)state;
	api_options opts;
	char err[256];
	char *argv[] = { "tinyprom", "--web.listen-address=127.0.0.1:0", "--web.enable-remote-write-receiver",
			 "--web.remote-write-receiver.concurrent-limit=1", NULL };
	assert_int_equal(api_options_parse(&opts, 4, argv, err, sizeof err), API_OPTIONS_RUN);
	tsdb_head *head = tsdb_head_new(NULL);
	promql_engine *engine = promql_engine_new(head, NULL);
	tp_metrics_registry *reg = tp_metrics_registry_new();
	api_server_config cfg = { .opts = &opts, .head = head, .engine = engine, .metrics = reg, .threads = 2 };
	api_server *srv = api_server_start(&cfg, err, sizeof err);
	assert_non_null(srv);
	uint16_t port = api_server_port(srv);

	/* A: a write whose body has not all arrived holds the only slot */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	const char *hdr = "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
			  "Content-Encoding: snappy\r\nContent-Length: 10\r\n\r\nabc";
	assert_int_equal(write(fd, hdr, strlen(hdr)), (ssize_t)strlen(hdr));
	for (int i = 0; i < 6000 && atomic_load(&srv->writes_inflight) == 0; i++)
		usleep(10000);  /* until the server has A's headers (up to a minute) */
	assert_int_equal(atomic_load(&srv->writes_inflight), 1);

	/* B: told to come back */
	size_t zn;
	char *empty = remote_snappy_encode("", 0, &zn);  /* an empty WriteRequest */
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", (unsigned)port);
	tp_strbuf body = { 0 }, headers = { 0 };
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, empty);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)zn);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &headers);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 503);
	assert_non_null(strstr(tp_sb_cstr(&headers), "Retry-After: 1\r\n"));
	assert_non_null(strstr(tp_sb_cstr(&body), "too many concurrent remote write requests"));

	/* A completes (a bad body: 400) and frees the slot */
	assert_int_equal(write(fd, "defghijk", 7), 7);
	char buf[512];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	assert_true(n > 12);
	buf[n] = '\0';
	assert_true(strncmp(buf, "HTTP/1.1 400", 12) == 0);
	close(fd);
	for (int i = 0; i < 6000 && atomic_load(&srv->writes_inflight) != 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&srv->writes_inflight), 0);

	/* B again: accepted */
	tp_sb_reset(&body);
	tp_sb_reset(&headers);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 204);
	curl_easy_cleanup(c);
	free(empty);
	tp_sb_free(&body);
	tp_sb_free(&headers);
	/* the rejection is counted as Prometheus counts HTTP requests */
	tp_sb_reset(&body);
	tp_metrics_render(reg, &body);
	assert_non_null(strstr(tp_sb_cstr(&body), "prometheus_http_requests_total{code=\"503\",handler=\"/api/v1/write\"} 1\n"));
	tp_sb_free(&body);
	api_server_stop(srv);
	promql_engine_free(engine);
	tsdb_head_free(head);
	tp_metrics_registry_free(reg);
	api_options_free(&opts);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_labels_and_values),
		cmocka_unit_test(test_queries_with_data),
		cmocka_unit_test(test_tsdb_status),
		cmocka_unit_test(test_lookback_delta),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_query_duration_summary),
		cmocka_unit_test(test_write_backpressure),
	};
	int rc = cmocka_run_group_tests_name("api_http", tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
