/* SPDX-License-Identifier: Apache-2.0
 * test_promql_extended.c - the anchored and smoothed selector modifiers
 * (promql-extended-range-selectors): parsing, canonical text (Prometheus's
 * printer.go order) and its round trip, the tree they build, Prometheus's
 * parse errors, the feature switch, and the error types of the engine.
 * Each table row is its own cmocka test, so a failure names its input. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "promql/ast.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"

static const promql_parse_opts on = {.extended_range_selectors = true};
static const promql_parse_opts off = {.experimental_functions = true, .duration_expressions = true};

/* ---- valid input -> canonical text ---- */

typedef struct valid_case {
	const char *in;
	const char *out;  /* NULL: same as in */
} valid_case;

static const valid_case valid[] = {
	{"foo anchored", NULL},
	{"foo smoothed", NULL},
	{"foo ANCHORED", "foo anchored"},
	{"foo Smoothed", "foo smoothed"},
	{"rate(foo[5m] anchored)", NULL},
	{"rate(foo[5m] smoothed)", NULL},
	{"increase(foo{a=\"b\"}[1m1ms] anchored)", NULL},
	/* an instant selector prints @, the modifier, offset */
	{"foo offset 1m smoothed", "foo smoothed offset 1m"},
	{"foo smoothed offset 1m", NULL},
	{"foo smoothed @ 100", "foo @ 100.000 smoothed"},
	{"foo @ 100 anchored offset 1m", "foo @ 100.000 anchored offset 1m"},
	{"foo offset -1m @ end() anchored", "foo @ end() anchored offset -1m"},
	/* a range selector prints the modifier right after the range */
	{"foo[5m] offset 1m anchored", "foo[5m] anchored offset 1m"},
	{"foo[5m] anchored offset 1m", NULL},
	{"foo[5m] @ 100 smoothed", "foo[5m] smoothed @ 100.000"},
	{"foo[5m] smoothed @ start() offset 1m", NULL},
	{"foo anchored[5m]", "foo[5m] anchored"},
	{"delta({__name__=\"foo\"}[5m] smoothed)", NULL},
	/* setting the same modifier twice is no error upstream */
	{"foo anchored anchored", "foo anchored"},
	/* binding: tighter than every operator */
	{"a + b smoothed", NULL},
	{"-foo smoothed", NULL},
	{"foo anchored * 2", NULL},
	{"2 ^ foo smoothed", NULL},
	{"sum(rate(foo[5m] anchored)) by (job)", "sum by (job) (rate(foo[5m] anchored))"},
	/* still metric and label names */
	{"anchored", NULL},
	{"smoothed{a=\"b\"}", NULL},
	{"anchored smoothed", NULL},
	{"foo{anchored=\"x\",smoothed=\"y\"}", NULL},
	{"sum by (anchored, smoothed) (foo)", NULL},
	{"rate(anchored[5m] anchored)", NULL},
	{"foo and smoothed", NULL},
	{"anchored offset 5m", NULL},
	{"sum anchored", NULL},
	{"foo + on (anchored) group_left (smoothed) bar", NULL},
};

static void test_valid(void **state)
{
	const valid_case *c = *state;
	promql_parse_error err;
	promql_expr *e = promql_parse(c->in, &on, &err);
	if (!e)
		fail_msg("parse %s: %s", c->in, err.msg);
	tp_strbuf sb = {0};
	promql_node_print(&sb, e->root);
	const char *want = c->out ? c->out : c->in;
	if (strcmp(tp_sb_cstr(&sb), want) != 0)
		fail_msg("parse %s: printed %s, want %s", c->in, tp_sb_cstr(&sb), want);
	promql_expr *e2 = promql_parse(tp_sb_cstr(&sb), &on, &err);
	if (!e2)
		fail_msg("reparse %s: %s", tp_sb_cstr(&sb), err.msg);
	tp_strbuf sb2 = {0};
	promql_node_print(&sb2, e2->root);
	assert_string_equal(tp_sb_cstr(&sb2), tp_sb_cstr(&sb));
	tp_sb_free(&sb);
	tp_sb_free(&sb2);
	promql_expr_free(e);
	promql_expr_free(e2);
}

/* ---- invalid input -> Prometheus's error text ---- */

typedef struct invalid_case {
	const char *in;
	const char *err;
	const promql_parse_opts *opts;
} invalid_case;

static const invalid_case invalid[] = {
	{"rate(foo[5m:] anchored)", "1:6: parse error: anchored modifier is not supported for subqueries", &on},
	{"foo[5m:1m] smoothed", "1:1: parse error: smoothed modifier is not supported for subqueries", &on},
	{"(foo) anchored", "1:1: parse error: anchored modifier not implemented", &on},
	{"sum(foo) smoothed", "1:1: parse error: smoothed modifier not implemented", &on},
	{"1 anchored", "1:1: parse error: anchored modifier not implemented", &on},
	{"rate(foo[5m]) smoothed", "1:1: parse error: smoothed modifier not implemented", &on},
	{"(a + b) smoothed", "1:1: parse error: smoothed modifier not implemented", &on},
	{"foo anchored smoothed", "1:1: parse error: anchored and smoothed modifiers cannot be used together", &on},
	{"rate(foo[5m] smoothed anchored)",
	 "1:6: parse error: anchored and smoothed modifiers cannot be used together", &on},
	{"foo smoothed[5m] anchored", "1:1: parse error: anchored and smoothed modifiers cannot be used together", &on},
	{"foo anchored 5", "1:14: parse error: unexpected number \"5\"", &on},
	{"anchored(foo)", "1:1: parse error: unknown function with name \"anchored\"", &on},
	/* the feature switched off: the modifiers are refused, the names stay */
	{"foo anchored", "1:1: parse error: anchored modifier is experimental and not enabled", &off},
	{"rate(foo[5m] smoothed)", "1:6: parse error: smoothed modifier is experimental and not enabled", &off},
	{"rate(foo[5m:] anchored)", "1:6: parse error: anchored modifier is experimental and not enabled", &off},
	{"foo anchored", "1:1: parse error: anchored modifier is experimental and not enabled", NULL},
	{"sum by (anchored) (smoothed)", NULL, &off},
};

static void test_invalid(void **state)
{
	const invalid_case *c = *state;
	promql_parse_error err;
	promql_expr *e = promql_parse(c->in, c->opts, &err);
	if (!c->err) {
		if (!e)
			fail_msg("parse %s: %s", c->in, err.msg);
		promql_expr_free(e);
		return;
	}
	if (e) {
		tp_strbuf sb = {0};
		promql_node_print(&sb, e->root);
		fail_msg("parse %s: no error, printed %s; want %s", c->in, tp_sb_cstr(&sb), c->err);
	}
	if (strcmp(err.msg, c->err) != 0)
		fail_msg("parse %s:\n got  %s\n want %s", c->in, err.msg, c->err);
}

/* ---- the tree ---- */

static promql_expr *parse_ok(const char *q)
{
	promql_parse_error err;
	promql_expr *e = promql_parse(q, &on, &err);
	if (!e)
		fail_msg("parse %s: %s", q, err.msg);
	return e;
}

static void test_tree(void **state)
{
	(void)state;
	/* the modifier binds to the right operand, not the operation */
	promql_expr *e = parse_ok("a + b smoothed");
	assert_int_equal(e->root->kind, PROMQL_NODE_BINARY);
	assert_false(e->root->u.binary.lhs->u.vs.smoothed);
	assert_true(e->root->u.binary.rhs->u.vs.smoothed);
	assert_false(e->root->u.binary.rhs->u.vs.anchored);
	promql_expr_free(e);

	/* and under a unary minus */
	e = parse_ok("-foo anchored");
	assert_int_equal(e->root->kind, PROMQL_NODE_UNARY);
	assert_true(e->root->u.unary.expr->u.vs.anchored);
	promql_expr_free(e);

	/* offset, @ and the modifier all land on the vector selector */
	e = parse_ok("rate(foo[5m] offset 1m anchored @ 100)");
	const promql_node *ms = e->root->u.call.args[0];
	assert_int_equal(ms->kind, PROMQL_NODE_MATRIX_SELECTOR);
	assert_int_equal(ms->u.ms.range_ms, 300000);
	assert_true(ms->u.ms.vs->u.vs.anchored);
	assert_false(ms->u.ms.vs->u.vs.smoothed);
	assert_int_equal(ms->u.ms.vs->u.vs.offset_ms, 60000);
	assert_int_equal(ms->u.ms.vs->u.vs.at, PROMQL_AT_TIMESTAMP);
	assert_int_equal(ms->u.ms.vs->u.vs.at_ms, 100000);
	promql_expr_free(e);

	/* a keyword before the modifier is a metric name */
	e = parse_ok("sum smoothed");
	assert_int_equal(e->root->kind, PROMQL_NODE_VECTOR_SELECTOR);
	assert_string_equal(e->root->u.vs.name, "sum");
	assert_true(e->root->u.vs.smoothed);
	promql_expr_free(e);

	e = parse_ok("anchored anchored");
	assert_string_equal(e->root->u.vs.name, "anchored");
	assert_true(e->root->u.vs.anchored);
	promql_expr_free(e);

	/* without the modifier nothing is marked */
	e = parse_ok("rate(foo[5m])");
	assert_false(e->root->u.call.args[0]->u.ms.vs->u.vs.anchored);
	assert_false(e->root->u.call.args[0]->u.ms.vs->u.vs.smoothed);
	promql_expr_free(e);
}

/* ---- engine: the switch and the error types ---- */

static void test_engine(void **state)
{
	(void)state;
	tsdb_head *head = tsdb_head_new(NULL);
	assert_non_null(head);
	promql_engine_opts eo = {.extended_range_selectors = true};
	promql_engine *eng = promql_engine_new(head, &eo);
	promql_result r;

	/* an unsupported function is an execution error, also without data */
	promql_query_instant(eng, "deriv(foo[1m] anchored)", 60000, &r);
	assert_int_equal(r.err, PROMQL_ERR_EXECUTION);
	assert_string_equal(r.err_msg, "anchored modifier can only be used with: changes, delta, increase, rate, "
				       "resets - not with deriv");
	promql_result_free(&r);
	promql_query_range(eng, "predict_linear(foo[1m] smoothed, 60)", 0, 60000, 30000, &r);
	assert_int_equal(r.err, PROMQL_ERR_EXECUTION);
	assert_string_equal(r.err_msg,
			    "smoothed modifier can only be used with: delta, increase, rate - not with predict_linear");
	promql_result_free(&r);

	/* a supported one over no data: an empty vector */
	promql_query_instant(eng, "resets(foo[1m] anchored)", 60000, &r);
	assert_int_equal(r.err, PROMQL_OK);
	assert_int_equal(r.type, PROMQL_TYPE_VECTOR);
	assert_int_equal(r.nseries, 0);
	promql_result_free(&r);
	promql_engine_free(eng);

	/* the engine option is off by default: a bad_data parse error */
	eng = promql_engine_new(head, NULL);
	promql_query_instant(eng, "rate(foo[1m] smoothed)", 60000, &r);
	assert_int_equal(r.err, PROMQL_ERR_BAD_DATA);
	assert_string_equal(r.err_msg, "1:6: parse error: smoothed modifier is experimental and not enabled");
	promql_result_free(&r);
	promql_engine_free(eng);
	tsdb_head_free(head);
}

int main(void)
{
	size_t nv = sizeof(valid) / sizeof(valid[0]), ni = sizeof(invalid) / sizeof(invalid[0]);
	size_t n = 0, cap = nv + ni + 2;
	struct CMUnitTest *tests = calloc(cap, sizeof(*tests));
	char **names = calloc(cap, sizeof(char *));
	for (size_t i = 0; i < nv; i++) {
		names[n] = malloc(96);
		snprintf(names[n], 96, "valid %.80s", valid[i].in);
		tests[n++] = (struct CMUnitTest){names[n - 1], test_valid, NULL, NULL, (void *)&valid[i]};
	}
	for (size_t i = 0; i < ni; i++) {
		names[n] = malloc(96);
		snprintf(names[n], 96, "invalid %.70s%s", invalid[i].in,
			 invalid[i].opts == &on ? "" : " (feature off)");
		tests[n++] = (struct CMUnitTest){names[n - 1], test_invalid, NULL, NULL, (void *)&invalid[i]};
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tree);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_engine);
	int rc = _cmocka_run_group_tests("promql_extended", tests, n, NULL, NULL);
	for (size_t i = 0; i < nv + ni; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
