/* SPDX-License-Identifier: Apache-2.0
 * test_api_json.c - unit tests for api/json (envelope, error types and
 * status codes, Prometheus's timestamp and value forms, escaping, result
 * shapes) and api/params (form decoding and body/query merging). */
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

#include "api/json.h"
#include "api/params.h"

static char *out(tp_strbuf *sb)
{
	return tp_sb_steal(sb);
}

static void check_time(int64_t ms, const char *want)
{
	tp_strbuf sb = { 0 };
	api_json_time(&sb, ms);
	char *s = out(&sb);
	assert_string_equal(s, want);
	free(s);
}

static void check_value(double v, const char *want)
{
	tp_strbuf sb = { 0 };
	api_json_value(&sb, v);
	char *s = out(&sb);
	assert_string_equal(s, want);
	free(s);
}

static void test_timestamps(void **state)
{
	(void)state;
	check_time(1435781451781, "1435781451.781");
	check_time(1435781451000, "1435781451");
	check_time(1435781451500, "1435781451.500");  /* marshalTimestamp keeps three digits */
	check_time(1435781451005, "1435781451.005");
	check_time(1435781451050, "1435781451.050");
	check_time(4000, "4");
	check_time(0, "0");
	check_time(-1500, "-1.500");
	check_time(-1, "-0.001");
	check_time(INT64_MIN, "-9223372036854775.808");
	check_time(INT64_MAX, "9223372036854775.807");
	check_time(4294967295999, "4294967295.999");  /* the last second of the 32-bit digit loop */
	check_time(4294967296000, "4294967296");
	check_time(100999, "100.999");
	check_time(9010, "9.010");
}

static void test_values(void **state)
{
	(void)state;
	check_value(1, "\"1\"");
	check_value(0, "\"0\"");
	check_value(-0.0, "\"-0\"");
	check_value(0.1, "\"0.1\"");
	check_value(1.5, "\"1.5\"");
	check_value(100000000, "\"100000000\"");
	check_value(1e20, "\"100000000000000000000\"");
	check_value(1e21, "\"1e+21\"");
	check_value(1.5e22, "\"1.5e+22\"");
	check_value(1e-6, "\"0.000001\"");
	check_value(1e-7, "\"1e-07\"");
	check_value(-2.5e-8, "\"-2.5e-08\"");
	check_value(1.0 / 3, "\"0.3333333333333333\"");
	check_value(NAN, "\"NaN\"");
	check_value(INFINITY, "\"+Inf\"");
	check_value(-INFINITY, "\"-Inf\"");
}

static void test_strings(void **state)
{
	(void)state;
	tp_strbuf sb = { 0 };
	api_json_string(&sb, "plain");
	api_json_string(&sb, "q\"b\\s\nt\tr\rc\x01\x1f");
	api_json_string(&sb, "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	api_json_string(&sb, "bad\xff\xc3");
	api_json_string(&sb, NULL);
	char *s = out(&sb);
	assert_string_equal(s, "\"plain\"\"q\\\"b\\\\s\\nt\\tr\\rc\\u0001\\u001f\""
			       "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\"bad\\ufffd\\ufffd\"\"\"");
	free(s);
}

static void test_envelope_and_errors(void **state)
{
	(void)state;
	tp_strbuf sb = { 0 };
	api_json_error(&sb, API_ERR_BAD_DATA, "invalid parameter \"query\": 1:1: parse error");
	char *s = out(&sb);
	assert_string_equal(s, "{\"status\":\"error\",\"errorType\":\"bad_data\","
			       "\"error\":\"invalid parameter \\\"query\\\": 1:1: parse error\"}");
	free(s);
	assert_int_equal(api_json_error_status(API_ERR_BAD_DATA), 400);
	assert_int_equal(api_json_error_status(API_ERR_EXECUTION), 422);
	assert_int_equal(api_json_error_status(API_ERR_TIMEOUT), 503);
	assert_int_equal(api_json_error_status(API_ERR_CANCELED), 503);
	assert_int_equal(api_json_error_status(API_ERR_INTERNAL), 500);
	assert_int_equal(api_json_error_status(API_ERR_NOT_FOUND), 404);
	assert_int_equal(api_json_error_status(API_ERR_UNAVAILABLE), 500);
	assert_string_equal(api_json_error_type(API_ERR_EXECUTION), "execution");
	assert_string_equal(api_json_error_type(API_ERR_TIMEOUT), "timeout");
	assert_int_equal(api_err_from_promql(PROMQL_ERR_EXECUTION), API_ERR_EXECUTION);
	assert_int_equal(api_err_from_promql(PROMQL_ERR_CANCELED), API_ERR_CANCELED);

	char *w[] = { "w1", "w\"2" };
	char *in[] = { "i1" };
	api_json_success_begin(&sb);
	tp_sb_puts(&sb, "[]");
	api_json_success_end(&sb, w, 2, in, 1);
	s = out(&sb);
	assert_string_equal(s, "{\"status\":\"success\",\"data\":[],\"warnings\":[\"w1\",\"w\\\"2\"],"
			       "\"infos\":[\"i1\"]}");
	free(s);
	api_json_success_begin(&sb);
	tp_sb_puts(&sb, "[]");
	api_json_success_end(&sb, NULL, 0, NULL, 0);
	s = out(&sb);
	assert_string_equal(s, "{\"status\":\"success\",\"data\":[]}");
	free(s);
}

static void test_result_shapes(void **state)
{
	(void)state;
	tp_label l1[] = { { "__name__", "up" }, { "job", "a\"b" } };
	tp_label l2[] = { { "job", "c" } };
	promql_point p1[] = { { 1000, 1 }, { 2500, 0.5 } };
	promql_point p2[] = { { 1000, NAN } };
	promql_series ser[] = {
		{ .labels = { l1, 2 }, .points = p1, .npoints = 2 },
		{ .labels = { l2, 1 }, .points = p2, .npoints = 1 },
	};
	promql_result r;
	memset(&r, 0, sizeof r);
	tp_strbuf sb = { 0 };

	r.type = PROMQL_TYPE_SCALAR;
	r.scalar = 2;
	r.t = 4000;
	api_json_query_data(&sb, &r);
	char *s = out(&sb);
	assert_string_equal(s, "{\"resultType\":\"scalar\",\"result\":[4,\"2\"]}");
	free(s);

	r.type = PROMQL_TYPE_STRING;
	r.string = "hi\n";
	api_json_query_data(&sb, &r);
	s = out(&sb);
	assert_string_equal(s, "{\"resultType\":\"string\",\"result\":[4,\"hi\\n\"]}");
	free(s);

	r.type = PROMQL_TYPE_VECTOR;
	r.series = ser;
	r.nseries = 2;
	api_json_query_data(&sb, &r);
	s = out(&sb);
	assert_string_equal(s, "{\"resultType\":\"vector\",\"result\":["
			       "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\\\"b\"},\"value\":[1,\"1\"]},"
			       "{\"metric\":{\"job\":\"c\"},\"value\":[1,\"NaN\"]}]}");
	free(s);

	r.type = PROMQL_TYPE_MATRIX;
	api_json_query_data(&sb, &r);
	s = out(&sb);
	assert_string_equal(s, "{\"resultType\":\"matrix\",\"result\":["
			       "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\\\"b\"},\"values\":[[1,\"1\"],[2.500,\"0.5\"]]},"
			       "{\"metric\":{\"job\":\"c\"},\"values\":[[1,\"NaN\"]]}]}");
	free(s);

	r.nseries = 0;
	api_json_query_data(&sb, &r);
	s = out(&sb);
	assert_string_equal(s, "{\"resultType\":\"matrix\",\"result\":[]}");
	free(s);
	r.type = PROMQL_TYPE_VECTOR;
	api_json_query_data(&sb, &r);
	s = out(&sb);
	assert_string_equal(s, "{\"resultType\":\"vector\",\"result\":[]}");
	free(s);
}

static void test_params_form(void **state)
{
	(void)state;
	api_params p = { 0 };
	char err[128];
	const char *body = "query=sum+by+(job)+(up)&match%5B%5D=a%7Bb%3D%22c%22%7D&time=4&empty=&flag&&match[]=x";
	assert_int_equal(api_params_parse_form(&p, body, strlen(body), err, sizeof err), 0);
	assert_string_equal(api_params_get(&p, "query"), "sum by (job) (up)");
	assert_string_equal(api_params_get(&p, "time"), "4");
	assert_string_equal(api_params_get(&p, "empty"), "");
	assert_string_equal(api_params_get(&p, "flag"), "");
	assert_null(api_params_get(&p, "missing"));
	assert_int_equal(api_params_count(&p, "match[]"), 2);
	/* query-string parameters come after the body's */
	api_params_add(&p, "time", 4, "99", 2);
	api_params_add(&p, "match[]", 7, "q", 1);
	assert_string_equal(api_params_get(&p, "time"), "4");  /* the body wins */
	const char *m[8];
	size_t n = api_params_get_all(&p, "match[]", m, 8);
	assert_int_equal(n, 3);
	assert_string_equal(m[0], "a{b=\"c\"}");
	assert_string_equal(m[1], "x");
	assert_string_equal(m[2], "q");
	assert_int_equal(api_params_get_all(&p, "match[]", m, 2), 2);
	api_params_free(&p);

	/* bad escapes: nothing is added, Go's message */
	const char *bad = "a=1&b=%zz";
	assert_int_equal(api_params_parse_form(&p, bad, strlen(bad), err, sizeof err), -1);
	assert_string_equal(err, "invalid URL escape \"%zz\"");
	assert_int_equal(p.n, 0);
	bad = "a=%4";
	assert_int_equal(api_params_parse_form(&p, bad, strlen(bad), err, sizeof err), -1);
	assert_string_equal(err, "invalid URL escape \"%4\"");
	api_params_free(&p);

	char dec[32];
	assert_int_equal(api_url_decode("a%20b+c%2b", 10, dec), 6);
	assert_string_equal(dec, "a b c+");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_envelope_and_errors),
		cmocka_unit_test(test_result_shapes),
		cmocka_unit_test(test_params_form),
	};
	return cmocka_run_group_tests_name("api_json", tests, NULL, NULL);
}
