/* SPDX-License-Identifier: Apache-2.0
 * test_promqltest.c - unit tests for the promqltest runner's own parsing:
 * series-description expansion (FORMAT.md §5), scalar lines (§6.3), file
 * structure and directives (§1, §4, §6) and the float tolerance (§7.6).
 * Needs neither the storage nor the engine. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "promql/promqltest.h"

static int expand(tp_arena *a, const char *s, promql_test_slot **slots, size_t *n)
{
	char err[200];
	return promql_test_values_parse(a, s, strlen(s), slots, n, err, sizeof err);
}

static void test_values_expand(void **state)
{
	(void)state;
	tp_arena a;
	tp_arena_init(&a);
	promql_test_slot *s;
	size_t n;

	/* FORMAT.md §13 worked example */
	assert_int_equal(expand(&a, "0+10x3 _ stale 7x1 _x2 -1", &s, &n), 0);
	assert_int_equal(n, 11);
	double want[] = { 0, 10, 20, 30 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(s[i].kind, PROMQL_TEST_SLOT_FLOAT);
		assert_true(s[i].v == want[i]);
	}
	assert_int_equal(s[4].kind, PROMQL_TEST_SLOT_EMPTY);
	assert_true(promql_test_is_stale(s[5].v));
	assert_true(s[6].v == 7 && s[7].v == 7);
	assert_int_equal(s[8].kind, PROMQL_TEST_SLOT_EMPTY);
	assert_int_equal(s[9].kind, PROMQL_TEST_SLOT_EMPTY);
	assert_true(s[10].v == -1);

	/* 1-1x3 counts down; the sign of the first term is its own */
	assert_int_equal(expand(&a, "1-1x3", &s, &n), 0);
	assert_int_equal(n, 4);
	assert_true(s[0].v == 1 && s[3].v == -2);
	assert_int_equal(expand(&a, "-2+4x3", &s, &n), 0);
	assert_true(n == 4 && s[0].v == -2 && s[3].v == 10);

	/* 0x10 is eleven zeros, not hex */
	assert_int_equal(expand(&a, "0x10", &s, &n), 0);
	assert_int_equal(n, 11);
	assert_true(s[10].v == 0);

	/* repeated addition, not v+i*d */
	assert_int_equal(expand(&a, "0+1.33x10", &s, &n), 0);
	double x = 0;
	for (int i = 0; i < 10; i++)
		x += 1.33;
	assert_true(s[10].v == x);

	/* exponents keep their sign */
	assert_int_equal(expand(&a, "1.6666666666666675e+09 1e-3", &s, &n), 0);
	assert_int_equal(n, 2);
	assert_true(s[0].v == 1.6666666666666675e+09 && s[1].v == 1e-3);

	/* NaN / Inf in any case, signed */
	assert_int_equal(expand(&a, "NaN nan -Inf +inf INF", &s, &n), 0);
	assert_int_equal(n, 5);
	assert_true(isnan(s[0].v) && isnan(s[1].v) && !promql_test_is_stale(s[0].v));
	assert_true(isinf(s[2].v) && s[2].v < 0 && isinf(s[3].v) && s[3].v > 0 && isinf(s[4].v));

	/* _xN is N empty slots, vxN is N+1 values */
	assert_int_equal(expand(&a, "_x3 1x3", &s, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(s[2].kind, PROMQL_TEST_SLOT_EMPTY);
	assert_int_equal(s[3].kind, PROMQL_TEST_SLOT_FLOAT);

	/* histogram literals are one slot each (with spaces inside) */
	assert_int_equal(expand(&a, "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x2 1", &s, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(s[0].kind, PROMQL_TEST_SLOT_HIST);
	assert_int_equal(s[3].kind, PROMQL_TEST_SLOT_FLOAT);
	assert_int_equal(expand(&a, "{{sum:1}}+{{sum:2}}x3", &s, &n), 0);
	assert_int_equal(n, 4);

	/* literal contents are checked (§5.4) */
	assert_int_equal(expand(&a, "{{}} {{schema:-53 custom_values:[1 2] buckets:[1 0 3] counter_reset_hint:gauge}}",
				&s, &n),
			 0);
	assert_int_equal(expand(&a, "{{sum:NaN count:Inf z_bucket_w:0.001 n_buckets:[1] n_offset:-2}}", &s, &n), 0);
	assert_int_equal(expand(&a, "{{bogus:1}}", &s, &n), -1);
	assert_int_equal(expand(&a, "{{sum:1 sum:2}}", &s, &n), -1);
	assert_int_equal(expand(&a, "{{schema:0.5}}", &s, &n), -1);
	assert_int_equal(expand(&a, "{{counter_reset_hint:maybe}}", &s, &n), -1);
	assert_int_equal(expand(&a, "{{buckets:1}}", &s, &n), -1);

	/* empty is fine */
	assert_int_equal(expand(&a, "", &s, &n), 0);
	assert_int_equal(n, 0);

	/* invalid items */
	assert_int_equal(expand(&a, "1-1", &s, &n), -1);
	assert_int_equal(expand(&a, "1+-2x3", &s, &n), -1);
	assert_int_equal(expand(&a, "Infx3", &s, &n), -1);
	assert_int_equal(expand(&a, "stalex3", &s, &n), -1);
	assert_int_equal(expand(&a, "1x", &s, &n), -1);
	assert_int_equal(expand(&a, "abc", &s, &n), -1);
	tp_arena_free(&a);
}

static void test_series_line(void **state)
{
	(void)state;
	tp_arena a;
	tp_arena_init(&a);
	promql_test_series s;
	char err[200];
	const char *l = "http_requests{job=\"api, server\", le='Hello World',instance=`0`,} 1 2";
	assert_int_equal(promql_test_series_parse(&a, l, strlen(l), &s, err, sizeof err), 0);
	assert_int_equal(s.labels.n, 4);
	/* sorted by name */
	assert_string_equal(s.labels.v[0].name, "__name__");
	assert_string_equal(s.labels.v[0].value, "http_requests");
	assert_string_equal(s.labels.v[1].name, "instance");
	assert_string_equal(s.labels.v[2].value, "api, server");
	assert_string_equal(s.labels.v[3].value, "Hello World");
	assert_int_equal(s.nslots, 2);

	l = "{__name__=\"foo\", a=\"1\"} 3";
	assert_int_equal(promql_test_series_parse(&a, l, strlen(l), &s, err, sizeof err), 0);
	promql_test_series t;
	l = "foo{a=\"1\"} 3";
	assert_int_equal(promql_test_series_parse(&a, l, strlen(l), &t, err, sizeof err), 0);
	assert_true(tp_labels_equal(&s.labels, &t.labels));

	l = "node_namespace_pod:kube_pod_info:{pod=\"x\\\"y\\n\"} 1";
	assert_int_equal(promql_test_series_parse(&a, l, strlen(l), &s, err, sizeof err), 0);
	assert_string_equal(s.labels.v[0].value, "node_namespace_pod:kube_pod_info:");
	assert_string_equal(s.labels.v[1].value, "x\"y\n");

	l = "{} 5";
	assert_int_equal(promql_test_series_parse(&a, l, strlen(l), &s, err, sizeof err), 0);
	assert_int_equal(s.labels.n, 0);

	/* empty label values vanish, as in Prometheus */
	l = "foo{a=\"\"} 1";
	assert_int_equal(promql_test_series_parse(&a, l, strlen(l), &s, err, sizeof err), 0);
	assert_int_equal(s.labels.n, 1);

	l = "foo{a!=\"1\"} 1";
	assert_int_equal(promql_test_series_parse(&a, l, strlen(l), &s, err, sizeof err), -1);
	l = "foo{a=\"1\" 1";
	assert_int_equal(promql_test_series_parse(&a, l, strlen(l), &s, err, sizeof err), -1);
	tp_arena_free(&a);
}

static void test_scalar_line(void **state)
{
	(void)state;
	double v;
	assert_true(promql_test_parse_scalar("2", 1, &v) && v == 2);
	assert_true(promql_test_parse_scalar("-0.5", 4, &v) && v == -0.5);
	assert_true(promql_test_parse_scalar("0x1f", 4, &v) && v == 31);
	assert_true(promql_test_parse_scalar("+Inf", 4, &v) && isinf(v));
	assert_true(promql_test_parse_scalar("NaN", 3, &v) && isnan(v));
	assert_true(promql_test_parse_scalar("1e3", 3, &v) && v == 1000);
	assert_false(promql_test_parse_scalar("{} 5", 4, &v));
	assert_false(promql_test_parse_scalar("foo 5", 5, &v));
	assert_false(promql_test_parse_scalar("", 0, &v));
}

static void test_tolerance(void **state)
{
	(void)state;
	assert_true(promql_test_float_equal(1, 1));
	assert_true(promql_test_float_equal(0.3333333333333333, 1.0 / 3));
	assert_true(promql_test_float_equal(1.833333333, 11.0 / 6));
	/* relative to |a|+|b|: about 2e-6 relative to each */
	assert_true(promql_test_float_equal(1000000, 1000001.5));
	assert_false(promql_test_float_equal(1000000, 1000002.5));
	assert_false(promql_test_float_equal(1, 1.00001));
	/* an expected 0 demands an exact 0 */
	assert_false(promql_test_float_equal(0, 1e-17));
	assert_true(promql_test_float_equal(0, -0.0));
	assert_true(promql_test_float_equal(INFINITY, INFINITY));
	assert_false(promql_test_float_equal(INFINITY, -INFINITY));
	assert_false(promql_test_float_equal(INFINITY, 1e308));
	/* NaN equals NaN, but the stale marker only equals itself */
	assert_true(promql_test_float_equal(NAN, NAN));
	assert_true(promql_test_float_equal(promql_test_stale(), promql_test_stale()));
	assert_false(promql_test_float_equal(promql_test_stale(), NAN));
	assert_false(promql_test_float_equal(NAN, promql_test_stale()));
	assert_false(promql_test_float_equal(NAN, 1));
	/* v2.42: no stale-marker rule, otherwise the same */
	assert_true(promql_test_float_equal_v242(promql_test_stale(), NAN));
	assert_true(promql_test_float_equal_v242(0.3333333333333333, 1.0 / 3));
	assert_false(promql_test_float_equal_v242(0, 1e-17));
	assert_false(promql_test_float_equal_v242(1, 1.00001));
}

static const char *sample_file =
	"# comment\n"
	"load 5m\n"
	"  http_requests{job=\"api\"} 0+10x10\n"
	"  http_requests{job=\"api\"} 1+1x2\n"
	"  other 1 2\n"
	"\n"
	"eval instant at 50m sum(http_requests)\n"
	"  {} 100\n"
	"\n"
	"eval_ordered instant at 50m topk(2, http_requests)\n"
	"  http_requests{job=\"b\"} 2\n"
	"  http_requests{job=\"a\"} 1\n"
	"  # empty\n"
	"eval instant at 1m 1 + 1\n"
	"  2\n"
	"eval range from 0 to 2m step 1m foo > 2 or bar\n"
	"  expect warn msg: PromQL warning: x (1:1)\n"
	"  expect no_info\n"
	"  foo{job=\"1\"} _ 3 5\n"
	"\n"
	"clear\n"
	"eval_fail instant at 0m label_replace(testmetric, \"src\", \"\", \"\", \"\")\n"
	"\n"
	"eval instant at 0 x\n"
	"  expect fail regex: found duplicate\n"
	"  expect string \"Foo\\n\"\n"
	"\n"
	"load_with_nhcb 1m\n"
	"  x_bucket{le=\"1\"} 1 2\n"
	"\n"
	"eval instant at 1m some_metric[1m]\n"
	"  expect range vector from 10s to 1m step 10s\n"
	"  some_metric{env=\"a\"} 2 3 4 5 6\n";

static void test_file_parse(void **state)
{
	(void)state;
	promql_test_file f;
	char err[300];
	int rc = promql_test_file_parse(&f, "t.test", sample_file, err, sizeof err);
	if (rc)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(f.ncmds, 10);
	assert_int_equal(f.nevals, 7);
	const promql_test_cmd *c = &f.cmds[0];
	assert_int_equal(c->kind, PROMQL_TEST_LOAD);
	assert_int_equal(c->line, 2);
	assert_int_equal(c->interval_ms, 300000);
	/* duplicate label set: the later line replaces the earlier */
	assert_int_equal(c->nseries, 2);
	assert_int_equal(c->series[0].nslots, 3);

	c = &f.cmds[1];
	assert_int_equal(c->kind, PROMQL_TEST_EVAL);
	assert_int_equal(c->at_ms, 3000000);
	assert_string_equal(c->expr, "sum(http_requests)");
	assert_int_equal(c->nseries, 1);
	assert_int_equal(c->series[0].labels.n, 0);

	c = &f.cmds[2];
	assert_true(c->ordered);
	assert_int_equal(c->series[1].pos, 2);

	c = &f.cmds[3];
	assert_true(c->has_scalar && c->scalar == 2 && c->nseries == 0);

	/* the scalar line ended the body: the next eval follows directly */
	c = &f.cmds[4];
	assert_true(c->is_range);
	assert_int_equal(c->end_ms, 120000);
	assert_int_equal(c->step_ms, 60000);
	assert_true(c->want_warn && c->no_info);
	assert_int_equal(c->nannos, 1);
	assert_string_equal(c->annos[0].msg, "PromQL warning: x (1:1)");
	assert_int_equal(c->series[0].slots[0].kind, PROMQL_TEST_SLOT_EMPTY);

	assert_int_equal(f.cmds[5].kind, PROMQL_TEST_CLEAR);
	assert_true(f.cmds[6].fail && !f.cmds[6].fail_msg);
	assert_string_equal(f.cmds[7].fail_regex, "found duplicate");
	assert_true(f.cmds[7].has_string);
	assert_string_equal(f.cmds[7].string, "Foo\n");
	assert_true(f.cmds[8].nhcb);
	c = &f.cmds[9];
	assert_true(c->range_vector);
	assert_int_equal(c->rv_start_ms, 10000);
	assert_int_equal(c->series[0].nslots, 5);
	promql_test_file_free(&f);

	/* errors */
	assert_int_equal(promql_test_file_parse(&f, "t", "lod 5m\n", err, sizeof err), -1);
	assert_int_equal(promql_test_file_parse(&f, "t", "load\n", err, sizeof err), -1);
	assert_int_equal(promql_test_file_parse(&f, "t", "load 30s1m\n", err, sizeof err), -1);
	assert_int_equal(promql_test_file_parse(&f, "t", "eval instant at 1m\n", err, sizeof err), -1);
	assert_int_equal(promql_test_file_parse(&f, "t", "eval instant at 1m x\n  x 1 2\n", err, sizeof err), -1);
	assert_int_equal(promql_test_file_parse(&f, "t", "eval range from 2m to 1m step 1m x\n", err, sizeof err),
			 -1);
	assert_int_equal(
		promql_test_file_parse(&f, "t", "eval instant at 1m x\n  expect warn\n  expect no_warn\n", err,
				       sizeof err),
		-1);
	assert_int_equal(promql_test_file_parse(&f, "t", "eval instant at 1m x\n  expect bogus\n", err, sizeof err),
			 -1);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(
		promql_test_file_parse(&f, "t", "eval instant at 1m x\n  expect fail\n  expect fail\n", err, sizeof err),
		-1);
	/* eval_fail plus one expect fail (with a message) is fine */
	assert_int_equal(promql_test_file_parse(&f, "t", "eval_fail instant at 1m x\n  expect fail msg: boom\n", err,
						sizeof err),
			 0);
	assert_true(f.cmds[0].fail);
	assert_string_equal(f.cmds[0].fail_msg, "boom");
	promql_test_file_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_expand),
		cmocka_unit_test(test_series_line),
		cmocka_unit_test(test_scalar_line),
		cmocka_unit_test(test_tolerance),
		cmocka_unit_test(test_file_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
