/* SPDX-License-Identifier: Apache-2.0
 * test_promql_parse.c - PromQL parser tests: valid expressions and their
 * canonical text (Prometheus's String()), invalid ones and Prometheus's
 * exact error text, precedence, string escapes, durations, keywords as
 * names, the function table and promql_parse_selector. Many cases are the
 * facts of Prometheus's promql/parser/parse_test.go and printer_test.go.
 * Each table row is its own cmocka test, so a failure names its input. */
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

#include "lib/strbuf.h"
#include "promql/ast.h"
#include "promql/functions.h"

/* the experimental features the promqltest runner enables */
static const promql_parse_opts experimental = {.experimental_functions = true, .duration_expressions = true};

/* ---- valid input -> canonical text ---- */

typedef struct valid_case {
	const char *in;
	const char *out;  /* NULL: same as in */
	bool exp;         /* needs experimental functions / duration expressions */
} valid_case;

static const valid_case valid[] = {
	/* numbers */
	{"1", NULL, false},
	{"+Inf", NULL, false},
	{"-Inf", NULL, false},
	{"inf", "+Inf", false},
	{"NaN", NULL, false},
	{"nAN", "NaN", false},
	{".5", "0.5", false},
	{"5.", "5", false},
	{"123.4567", NULL, false},
	{"5e-3", "0.005", false},
	{"5e3", "5000", false},
	{"0x123", "291", false},
	{"0x1f", "31", false},
	{"010", "8", false},
	{"1_000", "1000", false},
	{"-1", NULL, false},
	{"+1", "1", false},
	{"- 1", "-1", false},
	{"1e+06", "1000000", false},
	/* durations as numbers */
	{"1h", NULL, false},
	{"1h30m", NULL, false},
	{"90m", "1h30m", false},
	{"500ms", NULL, false},
	{"-5m", NULL, false},
	/* arithmetic and precedence */
	{"1 + 1", NULL, false},
	{"1 - 1", NULL, false},
	{"1 * 1", NULL, false},
	{"1 % 1", NULL, false},
	{"1 / 1", NULL, false},
	{"1 == bool 1", NULL, false},
	{"1 != bool 1", NULL, false},
	{"1 > bool 1", NULL, false},
	{"1 >= bool 1", NULL, false},
	{"1 < bool 1", NULL, false},
	{"1 <= bool 1", NULL, false},
	{"-1^2", "-1 ^ 2", false},
	{"-2^2", "-2 ^ 2", false},
	{"-(2^2)", "-(2 ^ 2)", false},
	{"2^3^2", "2 ^ 3 ^ 2", false},
	{"+1 + -2 * 1", "1 + -2 * 1", false},
	{"1 + 2/(3*1)", "1 + 2 / (3 * 1)", false},
	{"1 < bool 2 - 1 * 2", NULL, false},
	{"-some_metric", NULL, false},
	{"+some_metric", NULL, false},
	{" +some_metric", "+some_metric", false},
	{"foo * bar", NULL, false},
	{"foo * sum", NULL, false},
	{"foo == 1", NULL, false},
	{"foo == bool 1", NULL, false},
	{"2.5 / bar", NULL, false},
	{"foo and bar", NULL, false},
	{"foo or bar", NULL, false},
	{"foo unless bar", NULL, false},
	{"foo + bar or bla and blub", NULL, false},
	{"foo and bar unless baz or qux", NULL, false},
	{"bar + on(foo) bla / on(baz, buz) group_right(test) blub",
	 "bar + on (foo) bla / on (baz, buz) group_right (test) blub", false},
	{"foo * on(test,blub) bar", "foo * on (test, blub) bar", false},
	{"foo * on(test,blub) group_left bar", "foo * on (test, blub) group_left () bar", false},
	{"foo and on(test,blub) bar", "foo and on (test, blub) bar", false},
	{"foo and on() bar", "foo and on () bar", false},
	{"foo and ignoring(test,blub) bar", "foo and ignoring (test, blub) bar", false},
	{"foo and ignoring() bar", "foo and bar", false},
	{"foo unless on(bar) baz", "foo unless on (bar) baz", false},
	{"foo / on(test,blub) group_left(bar) bar", "foo / on (test, blub) group_left (bar) bar", false},
	{"foo / ignoring(test,blub) group_left(blub) bar", "foo / ignoring (test, blub) group_left (blub) bar", false},
	{"foo - on(test,blub) group_right(bar,foo) bar", "foo - on (test, blub) group_right (bar, foo) bar", false},
	{"foo atan2 bar", NULL, false},
	{"foo atan2 on(a) bar", "foo atan2 on (a) bar", false},
	{"1 atan2 2", NULL, false},
	{"a + b * c", NULL, false},
	{"(a + b) * c", NULL, false},
	{"a > b or c < d and e", NULL, false},
	{"a * b ^ c", NULL, false},
	/* vector selectors */
	{"foo", NULL, false},
	{"min", NULL, false},
	{"foo offset 5m", NULL, false},
	{"foo offset -7m", NULL, false},
	{"foo OFFSET 1h30m", "foo offset 1h30m", false},
	{"foo OFFSET 1m30ms", "foo offset 1m30ms", false},
	{"foo @ 1603774568", "foo @ 1603774568.000", false},
	{"foo @ -100", "foo @ -100.000", false},
	{"foo @ .3", "foo @ 0.300", false},
	{"foo @ 3.", "foo @ 3.000", false},
	{"foo @ 3.33", "foo @ 3.330", false},
	{"foo @ 3.3333", "foo @ 3.333", false},
	{"foo @ 3.3335", "foo @ 3.334", false},
	{"foo @ 3e2", "foo @ 300.000", false},
	{"foo @ 3e-1", "foo @ 0.300", false},
	{"foo @ 0xA", "foo @ 10.000", false},
	{"foo @ -3.3e1", "foo @ -33.000", false},
	{"foo @ start()", NULL, false},
	{"foo @ end()", NULL, false},
	{"foo @ 123 offset 5m", "foo @ 123.000 offset 5m", false},
	{"foo offset 5m @ 123", "foo @ 123.000 offset 5m", false},
	{"foo:bar{a=\"bc\"}", NULL, false},
	{"foo{NaN='bc'}", "foo{NaN=\"bc\"}", false},
	{"foo{bar='}'}", "foo{bar=\"}\"}", false},
	{"foo{a=\"b\", foo!=\"bar\", test=~\"test\", bar!~\"baz\"}", "foo{a=\"b\",bar!~\"baz\",foo!=\"bar\",test=~\"test\"}", false},
	{"foo{a=\"b\", foo!=\"bar\", test=~\"test\", bar!~\"baz\",}", "foo{a=\"b\",bar!~\"baz\",foo!=\"bar\",test=~\"test\"}", false},
	{"{__name__=~\"foo.+\"}", NULL, false},
	{"{__name__=\"foo\",__name__=\"bar\"}", "{__name__=\"bar\",__name__=\"foo\"}", false},
	{"{\"foo\"}", "{__name__=\"foo\"}", false},
	{"{\"my.metric\", \"a.b\"=\"c\"}", "{\"a.b\"=\"c\",__name__=\"my.metric\"}", false},
	{"{foo=\"bar\"}", NULL, false},
	{"{x=\"\",a=\"z\"}", "{a=\"z\",x=\"\"}", false},
	{"foo{ # comment\n a=\"b\"}", "foo{a=\"b\"}", false},
	{"foo # comment", "foo", false},
	{"# first\nfoo", "foo", false},
	/* keywords as names */
	{"by", NULL, false},
	{"without", NULL, false},
	{"offset", NULL, false},
	{"start", NULL, false},
	{"end", NULL, false},
	{"sum", NULL, false},
	{"and", NULL, false},
	{"foo and and", NULL, false},
	{"sum + count", NULL, false},
	{"offset offset 5m", NULL, false},
	{"foo{by=\"x\", on=\"y\", bool=\"z\"}", "foo{bool=\"z\",by=\"x\",on=\"y\"}", false},
	{"sum by (on, bool, group_left, by, offset, sum, and, atan2) (foo)",
	 "sum by (on, bool, group_left, by, offset, sum, and, atan2) (foo)", false},
	{"SUM BY (x) (foo)", "sum by (x) (foo)", false},
	/* matrix selectors */
	{"test[5s]", NULL, false},
	{"test[5m]", NULL, false},
	{"test[5m30s]", NULL, false},
	{"test[5h] OFFSET 5m", "test[5h] offset 5m", false},
	{"test[5d] OFFSET 10s", "test[5d] offset 10s", false},
	{"test[5w] offset 2w", NULL, false},
	{"test{a=\"b\"}[5y] OFFSET 3d", "test{a=\"b\"}[5y] offset 3d", false},
	{"test{a=\"b\"}[5m] @ 123 offset 1m", "test{a=\"b\"}[5m] @ 123.000 offset 1m", false},
	{"foo[10]", "foo[10s]", false},
	{"foo[1.5]", "foo[1s500ms]", false},
	{"foo[ 5m ]", "foo[5m]", false},
	{"foo[5m] offset 5", "foo[5m] offset 5s", false},
	/* subqueries */
	{"foo{bar=\"baz\"}[10m:6s]", NULL, false},
	{"foo{bar=\"baz\"}[10m5s:1h6ms]", NULL, false},
	{"foo[10m:]", NULL, false},
	{"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:5s])", NULL, false},
	{"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:])[4m:3s]", NULL, false},
	{"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:] offset 4m)[4m:3s]", NULL, false},
	{"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:] @ 1603775091)[4m:3s]",
	 "min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:] @ 1603775091.000)[4m:3s]", false},
	{"sum without(and, by, avg, count, alert, annotations)(some_metric) [30m:10s]",
	 "sum without (and, by, avg, count, alert, annotations) (some_metric)[30m:10s]", false},
	{"some_metric OFFSET 1m [10m:5s]", "some_metric offset 1m[10m:5s]", false},
	{"(foo + bar{nm=\"val\"})[5m:]", NULL, false},
	{"(foo + bar{nm=\"val\"})[5m:] offset 10m", NULL, false},
	{"(foo + bar{nm=\"val\"} @ 1234)[5m:] @ 1603775019", "(foo + bar{nm=\"val\"} @ 1234.000)[5m:] @ 1603775019.000", false},
	{"foo[5m:1m] @ end()", NULL, false},
	/* aggregations */
	{"sum by (foo)(some_metric)", "sum by (foo) (some_metric)", false},
	{"avg by (foo)(some_metric)", "avg by (foo) (some_metric)", false},
	{"max by (foo)(some_metric)", "max by (foo) (some_metric)", false},
	{"sum without (foo) (some_metric)", NULL, false},
	{"sum (some_metric) without (foo)", "sum without (foo) (some_metric)", false},
	{"stddev(some_metric)", NULL, false},
	{"stdvar by (foo)(some_metric)", "stdvar by (foo) (some_metric)", false},
	{"sum by ()(some_metric)", "sum(some_metric)", false},
	{"sum by (foo,bar,)(some_metric)", "sum by (foo, bar) (some_metric)", false},
	{"sum by (foo,)(some_metric)", "sum by (foo) (some_metric)", false},
	{"sum without ()(some_metric)", "sum without () (some_metric)", false},
	{"topk(5, some_metric)", NULL, false},
	{"count_values(\"value\", some_metric)", NULL, false},
	{"sum without(and, by, avg, count, alert, annotations)(some_metric)",
	 "sum without (and, by, avg, count, alert, annotations) (some_metric)", false},
	{"quantile(0.9, foo)", NULL, false},
	{"bottomk by (x) (3, foo)", NULL, false},
	{"group(foo)", NULL, false},
	{"limitk(5, foo)", NULL, true},
	{"limit_ratio(0.5, foo)", NULL, true},
	{"sum by (\"a.b\") (foo)", NULL, false},
	{"sum(foo) by (job)", "sum by (job) (foo)", false},
	{"sum(rate(foo[5m])) by (job) / sum(rate(bar[5m])) by (job)",
	 "sum by (job) (rate(foo[5m])) / sum by (job) (rate(bar[5m]))", false},
	/* functions */
	{"time()", NULL, false},
	{"floor(some_metric{foo!=\"bar\"})", NULL, false},
	{"rate(some_metric[5m])", NULL, false},
	{"round(some_metric)", NULL, false},
	{"round(some_metric, 5)", NULL, false},
	{"label_join(foo, \"dst\", \",\", \"a\", \"b\", \"c\")", NULL, false},
	{"label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")", NULL, false},
	{"histogram_quantile(0.9, sum by (le) (rate(foo_bucket[5m])))", NULL, false},
	{"clamp(foo, 0, 1)", NULL, false},
	{"day_of_month()", NULL, false},
	{"vector(1)", NULL, false},
	{"scalar(foo) + 1", NULL, false},
	{"absent(nonexistent{job=\"myjob\"})", NULL, false},
	{"predict_linear(foo[1h], 3600)", NULL, false},
	{"quantile_over_time(0.5, foo[1m])", NULL, false},
	{"sort_by_label(foo, \"a\", \"b\")", NULL, true},
	{"double_exponential_smoothing(foo[5m], 0.5, 0.5)", NULL, true},
	{"mad_over_time(foo[5m])", NULL, true},
	{"info(foo, {bar=\"baz\"})", NULL, true},
	{"info(foo)", NULL, true},
	{"rate(foo[5m] offset 1m)", NULL, false},
	/* strings */
	{"\"double-quoted string \\\" with escaped quote\"", NULL, false},
	{"'single-quoted string \\' with escaped quote'", "\"single-quoted string ' with escaped quote\"", false},
	{"`backtick-quoted string`", "\"backtick-quoted string\"", false},
	{"\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\" - \\xFF\\377\\u1234\\U00010111\\U0001011111☺\"",
	 "\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\" - \\xff\\xff\u1234\U00010111\U000101111" "1☺\"", false},
	{"'\\a\\b\\f\\n\\r\\t\\v\\\\\\' - \\xFF\\377\\u1234\\U00010111\\U0001011111☺'",
	 "\"\\a\\b\\f\\n\\r\\t\\v\\\\' - \\xff\\xff\u1234\U00010111\U000101111" "1☺\"", false},
	{"`\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\\' - \\xFF\\377\\u1234\\U00010111\\U0001011111☺`",
	 "\"\\\\a\\\\b\\\\f\\\\n\\\\r\\\\t\\\\v\\\\\\\\\\\\\\\"\\\\' - \\\\xFF\\\\377\\\\u1234\\\\U00010111\\\\U0001011111☺\"", false},
	{"foo{a=\"\\x41\\102\"}", "foo{a=\"AB\"}", false},
	/* parentheses and nesting */
	{"((foo))", NULL, false},
	{"(1)", NULL, false},
	{"-(foo)", NULL, false},
	{"(-foo)", NULL, false},
	{"\n\tfoo\n", "foo", false},
	/* duration expressions (promql-duration-expr): arithmetic inside
	 * [...], one operand after offset; printed as DurationExpr.String() */
	{"foo[1800]", "foo[30m]", false},
	{"foo[(5m)]", "foo[5m]", true},
	{"foo[26m+4m]", "foo[26m + 4m]", true},
	{"foo[60*30]", "foo[60 * 30]", true},
	{"foo[2m*(10+5)]", "foo[2m * (10 + 5)]", true},
	{"foo[(2)*3m]", "foo[2 * 3m]", true},
	{"foo[-5m+35m]", "foo[-5m + 35m]", true},
	{"foo[1h30m % 1h]", NULL, true},
	{"foo[30m1s-30m1s % 1m]", "foo[30m1s - 30m1s % 1m]", true},
	{"foo[(9m30s+30s)*3]", "foo[(9m30s + 30s) * 3]", true},
	{"foo[2^3^2s]", "foo[2 ^ 3 ^ 2s]", true},
	{"foo[-(1m+2m)*-1]", "foo[-(1m + 2m) * -1]", true},
	{"foo[24m+((1.5*2m)+2m)]", "foo[24m + ((1.5 * 2m) + 2m)]", true},
	{"foo[step()]", NULL, true},
	{"foo[STEP()*2]", "foo[step() * 2]", true},
	{"foo[range()]", NULL, true},
	{"foo[((max_of(min_of((step()+1),((1h))),1ms)))]", "foo[(max_of(min_of((step() + 1), 1h), 1ms))]", true},
	{"x[29s+1s:5s+5s]", "x[29s + 1s:5s + 5s]", true},
	{"x[5m:step()]", NULL, true},
	{"x[1m*range():]", "x[1m * range():]", true},
	{"foo offset (2 * 2)", NULL, true},
	{"foo offset (5m)", "foo offset 5m", true},
	{"foo offset -(5m)", "foo offset -5m", false},
	{"foo offset -(step()+1)", "foo offset -(step() + 1)", true},
	{"foo offset step()", NULL, true},
	{"foo offset -step()", NULL, true},
	{"foo offset +step()", "foo offset step()", true},
	{"foo offset -min_of(step(), 1s)", NULL, true},
	{"foo offset min_of(step(), 1s) + 8000", NULL, true},
	{"foo offset -2 ^ 2", "foo offset -2s ^ 2", false},
	{"foo offset (-2 ^ 2)", NULL, true},
	{"foo @ 10 offset (1m + 1m)", "foo @ 10.000 offset (1m + 1m)", true},
	{"rate(foo[5m] offset (1m+1m))", "rate(foo[5m] offset (1m + 1m))", true},
	{"sum(foo)[5m:1m] offset range()", NULL, true},
	/* query-context functions, min_of/max_of, histogram_quantiles */
	{"step()", NULL, true},
	{"vector(step()) + start() - end() * range()", NULL, true},
	{"min_of(3, max_of(-1, NaN))", NULL, true},
	{"histogram_quantiles(foo, \"q\", 0.5, 0.9)", NULL, true},
	/* ... and still metric and label names */
	{"step + range", NULL, false},
	{"sum by (step, range, min_of) (max_of)", NULL, false},
	{"foo offset 5m + step", NULL, false},
};

static void test_valid(void **state)
{
	const valid_case *c = *state;
	promql_parse_error err;
	promql_expr *e = promql_parse(c->in, c->exp ? &experimental : NULL, &err);
	if (!e)
		fail_msg("parse %s: %s", c->in, err.msg);
	tp_strbuf sb = {0};
	promql_node_print(&sb, e->root);
	const char *want = c->out ? c->out : c->in;
	if (strcmp(tp_sb_cstr(&sb), want) != 0)
		fail_msg("parse %s: printed %s, want %s", c->in, tp_sb_cstr(&sb), want);
	/* round trip: the canonical text parses to the same text */
	promql_expr *e2 = promql_parse(tp_sb_cstr(&sb), c->exp ? &experimental : NULL, &err);
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
	bool exp;
} invalid_case;

static const invalid_case invalid[] = {
	{"", "1:1: parse error: no expression found in input", false},
	{"# just a comment\n\n", "1:1: parse error: no expression found in input", false},
	{"1+", "1:3: parse error: unexpected end of input", false},
	{".", "1:1: parse error: unexpected character: '.'", false},
	{"2.5.", "1:1: parse error: bad number or duration syntax: \"2.5.\"", false},
	{"100..4", "1:1: parse error: bad number or duration syntax: \"100..\"", false},
	{"0deadbeef", "1:1: parse error: bad number or duration syntax: \"0de\"", false},
	{"1 /", "1:4: parse error: unexpected end of input", false},
	{"*1", "1:1: parse error: unexpected <op:*>", false},
	{"(1))", "1:5: parse error: unexpected right parenthesis ')'", false},
	{"((1)", "1:5: parse error: unclosed left parenthesis", false},
	{"999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999",
	 NULL, false},
	{"(", "1:2: parse error: unclosed left parenthesis", false},
	{"1 and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression", false},
	{"1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier", false},
	{"1 or 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression", false},
	{"1 unless 1", "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression", false},
	{"1 !~ 1", "1:3: parse error: unexpected character after '!': '~'", false},
	{"1 =~ 1", "1:3: parse error: unexpected character after '=': '~'", false},
	{"-\"string\"", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\"", false},
	{"-test[5m]", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\"", false},
	{"*test", "1:1: parse error: unexpected <op:*>", false},
	{"1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery", false},
	{"foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times", false},
	{"a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>", false},
	{"foo and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression", false},
	{"1 and foo", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression", false},
	{"foo or 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression", false},
	{"foo unless 1", "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression", false},
	{"1 or on(bar) foo", "1:1: parse error: vector matching only allowed between instant vectors", false},
	{"foo == on(bar) 10", "1:1: parse error: vector matching only allowed between instant vectors", false},
	{"foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>", false},
	{"foo and on(bar) group_left(baz) bar", "1:1: parse error: no grouping allowed for \"and\" operation", false},
	{"foo and on(bar) group_right(baz) bar", "1:1: parse error: no grouping allowed for \"and\" operation", false},
	{"foo or on(bar) group_left(baz) bar", "1:1: parse error: no grouping allowed for \"or\" operation", false},
	{"foo unless on(bar) group_left(baz) bar", "1:1: parse error: no grouping allowed for \"unless\" operation", false},
	{"http_requests{group=\"production\"} + on(instance) group_left(job,instance) cpu_count{type=\"smp\"}",
	 "1:35: parse error: label \"instance\" must not occur in ON and GROUP clause at once", false},
	{"foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators", false},
	{"foo + bool 10", "1:5: parse error: bool modifier can only be used on comparison operators", false},
	{"foo and bool 10", "1:5: parse error: bool modifier can only be used on comparison operators", false},
	{"{", "1:2: parse error: unexpected end of input inside braces", false},
	{"}", "1:1: parse error: unexpected character: '}'", false},
	{"some{", "1:6: parse error: unexpected end of input inside braces", false},
	{"some}", "1:5: parse error: unexpected character: '}'", false},
	{"some_metric{a=b}", "1:15: parse error: unexpected identifier \"b\" in label matching, expected string", false},
	{"some_metric{a:b=\"b\"}", "1:14: parse error: unexpected character inside braces: ':'", false},
	{"foo{a*\"b\"}", "1:6: parse error: unexpected character inside braces: '*'", false},
	{"foo{a>=\"b\"}", "1:6: parse error: unexpected character inside braces: '>'", false},
	{"some_metric{a=\"\\xff\"}", NULL, false}, /* escaped: valid */
	{"foo{gibberish}", "1:14: parse error: unexpected \"}\" in label matching, expected label matching operator", false},
	{"some_metric{a=\"\xff\"}", "1:15: parse error: invalid UTF-8 rune", false},
	{"foo{1}", "1:5: parse error: unexpected character inside braces: '1'", false},
	{"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher", false},
	{"{x=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher", false},
	{"{x=~\".*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher", false},
	{"{x!~\".+\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher", false},
	{"{x!=\"a\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher", false},
	{"foo{__name__=\"bar\"}", "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"", false},
	{"foo{__name__= =}", "1:15: parse error: unexpected \"=\" in label matching, expected string", false},
	{"foo{,}", "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\"", false},
	{"foo{__name__ == \"bar\"}", "1:15: parse error: unexpected \"=\" in label matching, expected string", false},
	{"foo{__name__=\"bar\" lol}", "1:20: parse error: unexpected identifier \"lol\" in label matching, expected \",\" or \"}\"", false},
	{"foo[5mm]", "1:5: parse error: bad number or duration syntax: \"5mm\"", false},
	{"foo[5m1]", "1:5: parse error: bad number or duration syntax: \"5m1\"", false},
	{"foo[5m:1m1]", "1:8: parse error: bad number or duration syntax: \"1m1\"", false},
	{"foo[5y1hs]", "1:5: parse error: not a valid duration string: \"5y1hs\"", false},
	{"foo[5m1h]", "1:5: parse error: not a valid duration string: \"5m1h\"", false},
	{"foo[5m1m]", "1:5: parse error: not a valid duration string: \"5m1m\"", false},
	{"foo[\"5m\"]", "1:5: parse error: unexpected character in duration expression: '\"'", false},
	{"foo[]", "1:5: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()", false},
	{"foo[-1]", "1:5: parse error: duration must be greater than 0", false},
	{"some_metric[5m] OFFSET 1mm", "1:24: parse error: bad number or duration syntax: \"1mm\"", false},
	{"some_metric[5m] OFFSET", "1:23: parse error: unexpected end of input in offset, expected number, duration, step(), or range()", false},
	{"some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range", false},
	{"some_metric @ 123 [5m]", "1:19: parse error: no @ modifiers allowed before range", false},
	{"(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors", false},
	{"sum(some_metric1 offset 1m offset 1m)", "1:5: parse error: offset may not be set multiple times", false},
	{"foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times", false},
	{"foo @ start() @ end()", "1:1: parse error: @ <timestamp> may not be set multiple times", false},
	{"foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf", false},
	{"foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN", false},
	{"foo @ 1 offset 1m @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times", false},
	{"1 @ 5", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery", false},
	{"sum without(==)(some_metric)", "1:13: parse error: unexpected <op:==> in grouping opts, expected label", false},
	{"sum without(,)(some_metric)", "1:13: parse error: unexpected \",\" in grouping opts, expected label", false},
	{"sum without(foo,,)(some_metric)", "1:17: parse error: unexpected \",\" in grouping opts, expected label", false},
	{"sum some_metric by (test)", "1:5: parse error: unexpected identifier \"some_metric\" in aggregation", false},
	{"sum (some_metric) by test", "1:22: parse error: unexpected identifier \"test\" in grouping opts, expected \"(\"", false},
	{"sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided", false},
	{"MIN keep_common (some_metric)", "1:5: parse error: unexpected identifier \"keep_common\" in aggregation", false},
	{"sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>", false},
	{"sum without (test) (some_metric) by (test)", "1:34: parse error: unexpected <by>", false},
	{"topk(some_metric)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1", false},
	{"topk(some_metric,)", "1:17: parse error: trailing commas not allowed in function call args", false},
	{"topk(some_metric, other_metric)", "1:6: parse error: expected type scalar in aggregation parameter, got instant vector", false},
	{"count_values(5, other_metric)", "1:14: parse error: expected type string in aggregation parameter, got scalar", false},
	{"rate(some_metric[5m]) @ 1234", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery", false},
	{"sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector", false},
	{"limitk(5, foo)", "1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions", false},
	{"limit_ratio(0.5, foo)", "1:1: parse error: limit_ratio() is experimental and must be enabled with --enable-feature=promql-experimental-functions", false},
	{"floor()", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 0", false},
	{"floor(some_metric, other_metric)", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2", false},
	{"floor(some_metric, 1)", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2", false},
	{"floor(1)", "1:7: parse error: expected type instant vector in call to function \"floor\", got scalar", false},
	{"hour(some_metric, some_metric, some_metric)", "1:1: parse error: expected at most 1 argument(s) in call to \"hour\", got 3", false},
	{"time(some_metric)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1", false},
	{"non_existent_function_far_bar()", "1:1: parse error: unknown function with name \"non_existent_function_far_bar\"", false},
	{"rate(some_metric)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector", false},
	{"label_replace(a, `b`, `c\\xff`, `d`, `.*`)", NULL, false},
	{"label_join(foo, \"a\")", "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2", false},
	{"round(foo, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3", false},
	{"sort_by_label(foo, \"a\")", "1:1: parse error: function \"sort_by_label\" is not enabled", false},
	{"mad_over_time(foo[5m])", "1:1: parse error: function \"mad_over_time\" is not enabled", false},
	{"info(foo, bar)", "1:11: parse error: expected label selectors only, got vector selector instead", true},
	{"\"\\", "1:1: parse error: unterminated quoted string", false},
	{"\"abc\ndef\"", "1:1: parse error: unterminated quoted string", false},
	{"`abc", "1:1: parse error: unterminated raw string", false},
	{"\"\\q\"", "1:1: parse error: unknown escape sequence U+0071 'q'", false},
	{"\"\\xZZ\"", "1:1: parse error: illegal character U+005A 'Z' in escape sequence", false},
	{"\"\\uD800\"", "1:1: parse error: escape sequence is an invalid Unicode code point", false},
	{"foo{a=\"\\q\"}", "1:7: parse error: unknown escape sequence U+0071 'q'", false},
	{"foo[5m:1m:1m]", "1:10: parse error: unexpected colon ':'", false},
	{"foo[:1m]", "1:6: parse error: unexpected colon before duration in duration expression", false},
	{"foo[5m", "1:7: parse error: unclosed left bracket", false},
	{"foo[5m+", "1:8: parse error: unclosed left bracket", false},
	{"foo[", "1:5: parse error: unexpected end of input in duration expression", false},
	{"foo]", "1:4: parse error: unexpected right bracket ']'", false},
	{"foo[5m][5m]", "1:8: parse error: ranges only allowed for vector selectors", false},
	{"foo[5m:1m][5m]", "1:11: parse error: ranges only allowed for vector selectors", false},
	{"rate(foo[5m])[1m:1m:1m]", "1:20: parse error: unexpected colon ':'", false},
	/* duration expressions */
	{"foo[5m+1m]", "1:5: parse error: experimental duration expression is not enabled", false},
	{"foo[(5m)]", "1:6: parse error: experimental duration expression is not enabled", false},
	{"foo offset (5m)", "1:13: parse error: experimental duration expression is not enabled", false},
	{"foo[step()]", "1:5: parse error: experimental duration expression is not enabled", false},
	{"foo offset -step()", "1:12: parse error: experimental duration expression is not enabled", false},
	{"step()", "1:1: parse error: function \"step\" is not enabled", false},
	{"min_of(1, 2)", "1:1: parse error: function \"min_of\" is not enabled", false},
	{"foo[0]", "1:5: parse error: duration must be greater than 0", false},
	{"foo[5m:0s]", "1:8: parse error: duration must be greater than 0", false},
	{"foo[1m/0]", "1:7: parse error: division by zero", true},
	{"foo[1m%0]", "1:7: parse error: modulo by zero", true},
	{"foo[1e10]", "1:5: parse error: duration out of range", false},
	{"foo offset 1e10", "1:12: parse error: duration out of range", false},
	{"foo offset -1e10", "1:12: parse error: duration out of range", false},
	{"foo offset NaN", "1:12: parse error: duration out of range", false},
	{"foo[foo]", "1:5: parse error: unexpected character in duration expression: 'f'", true},
	{"foo[sum]", "1:5: parse error: unexpected character in duration expression: 's'", true},
	{"foo[5m foo]", "1:8: parse error: unexpected character: 'f', expected ':'", true},
	{"foo[5m[1m]]", "1:7: parse error: unexpected left bracket '['", true},
	{"foo[step():1m]", "1:12: parse error: unexpected colon before duration in duration expression", true},
	{"foo[5m 1m]", "1:8: parse error: unexpected duration \"1m\" in subquery or range, expected \":\" or \"]\"", true},
	{"foo[5m+]", "1:8: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()", true},
	{"foo[min_of(1m 2m)]", "1:15: parse error: unexpected duration \"2m\" in subquery or range selector, expected number, duration, step(), or range()", true},
	{"foo[5m:1m 1m]", "1:11: parse error: unexpected duration \"1m\" in subquery selector, expected \"]\"", true},
	{"foo[5m:+]", "1:9: parse error: unexpected \"]\" in subquery selector, expected number, duration, step(), range(), or \"]\"", true},
	{"foo offset bar", "1:12: parse error: unexpected identifier \"bar\" in offset, expected number, duration, step(), or range()", true},
	{"foo offset (1m+)", "1:16: parse error: unexpected \")\" in offset, expected number, duration, step(), or range()", true},
	{"foo offset step", "1:16: parse error: unexpected end of input in offset, expected number, duration, step(), or range()", true},
	{"foo offset step() offset (1m+1m)", "1:1: parse error: offset may not be set multiple times", true},
	{"1 offset step()", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery", true},
	{"min_of(1)", "1:1: parse error: expected 2 argument(s) in call to \"min_of\", got 1", true},
	{"step(1)", "1:1: parse error: expected 0 argument(s) in call to \"step\", got 1", true},
	{"histogram_quantiles(foo, \"q\")", "1:1: parse error: expected at least 3 argument(s) in call to \"histogram_quantiles\", got 2", true},
	{"histogram_quantiles(foo, 1, 0.5)", "1:26: parse error: expected type string in call to function \"histogram_quantiles\", got scalar", true},
	{"foo[5m][1m:1m]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead", false},
	{"\"x\"[5m:]", "1:1: parse error: subquery is only allowed on instant vector, got string instead", false},
	{"foo + \"x\"", "1:7: parse error: binary expression must contain only scalar and instant vector types", false},
	{"foo[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types", false},
	{"on", "1:1: parse error: unexpected <on>", false},
	{"foo @ bar", "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp", false},
	{"a $ b", "1:3: parse error: unexpected character: '$'", false},
	{"foo\n+ bar{", "2:7: parse error: unexpected end of input inside braces", false},
	{"foo{a=\"b\"} {", "1:12: parse error: unexpected \"{\"", false},
	{"foo{a!b}", "1:6: parse error: unexpected character after '!' inside braces: 'b'", false},
	{"foo{a={}", "1:7: parse error: unexpected left brace '{'", false},
	{"foo !bar", "1:5: parse error: unexpected character after '!': 'b'", false},
	{"sum(foo) by (a:b)", "1:14: parse error: unexpected metric identifier \"a:b\" in grouping opts, expected label", false},
};

static void test_invalid(void **state)
{
	const invalid_case *c = *state;
	promql_parse_error err;
	promql_expr *e = promql_parse(c->in, c->exp ? &experimental : NULL, &err);
	if (e) {
		tp_strbuf sb = {0};
		promql_node_print(&sb, e->root);
		if (c->err)
			fail_msg("parse %s: no error, printed %s; want %s", c->in, tp_sb_cstr(&sb), c->err);
		tp_sb_free(&sb);
		promql_expr_free(e);
		if (!c->err)  /* cases that are valid in Prometheus too, kept for no-crash */
			return;
	}
	if (c->err && strcmp(err.msg, c->err) != 0)
		fail_msg("parse %s:\n got  %s\n want %s", c->in, err.msg, c->err);
}

/* ---- structure: precedence, associativity, values ---- */

static promql_expr *parse_ok(const char *q)
{
	promql_parse_error err;
	promql_expr *e = promql_parse(q, &experimental, &err);
	if (!e)
		fail_msg("parse %s: %s", q, err.msg);
	return e;
}

static void test_precedence(void **state)
{
	(void)state;
	promql_expr *e = parse_ok("-2^2");
	assert_int_equal(e->root->kind, PROMQL_NODE_UNARY);
	assert_true(e->root->u.unary.neg);
	assert_int_equal(e->root->u.unary.expr->kind, PROMQL_NODE_BINARY);
	assert_int_equal(e->root->u.unary.expr->u.binary.op, PROMQL_OP_POW);
	promql_expr_free(e);

	e = parse_ok("2^3^2"); /* right-assoc: 2^(3^2) */
	assert_int_equal(e->root->u.binary.op, PROMQL_OP_POW);
	assert_int_equal(e->root->u.binary.lhs->kind, PROMQL_NODE_NUMBER);
	assert_int_equal(e->root->u.binary.rhs->kind, PROMQL_NODE_BINARY);
	promql_expr_free(e);

	e = parse_ok("a - b - c"); /* left-assoc: (a-b)-c */
	assert_int_equal(e->root->u.binary.op, PROMQL_OP_SUB);
	assert_int_equal(e->root->u.binary.lhs->kind, PROMQL_NODE_BINARY);
	assert_int_equal(e->root->u.binary.rhs->kind, PROMQL_NODE_VECTOR_SELECTOR);
	promql_expr_free(e);

	e = parse_ok("a or b and c unless d"); /* or lowest: a or ((b and c) unless d) */
	assert_int_equal(e->root->u.binary.op, PROMQL_OP_OR);
	assert_int_equal(e->root->u.binary.rhs->u.binary.op, PROMQL_OP_UNLESS);
	assert_int_equal(e->root->u.binary.rhs->u.binary.lhs->u.binary.op, PROMQL_OP_AND);
	assert_int_equal(e->root->u.binary.rhs->u.binary.matching->card, PROMQL_CARD_MANY_TO_MANY);
	promql_expr_free(e);

	e = parse_ok("a == b + c * d atan2 e ^ f");
	const promql_node *n = e->root;
	assert_int_equal(n->u.binary.op, PROMQL_OP_EQL);
	n = n->u.binary.rhs;
	assert_int_equal(n->u.binary.op, PROMQL_OP_ADD);
	n = n->u.binary.rhs;
	assert_int_equal(n->u.binary.op, PROMQL_OP_ATAN2); /* (c*d) atan2 (e^f) */
	assert_int_equal(n->u.binary.lhs->u.binary.op, PROMQL_OP_MUL);
	assert_int_equal(n->u.binary.rhs->u.binary.op, PROMQL_OP_POW);
	promql_expr_free(e);

	e = parse_ok("-a * b"); /* unary binds tighter than '*' */
	assert_int_equal(e->root->kind, PROMQL_NODE_BINARY);
	assert_int_equal(e->root->u.binary.lhs->kind, PROMQL_NODE_UNARY);
	promql_expr_free(e);

	e = parse_ok("a + b offset 5m"); /* offset binds to b */
	assert_int_equal(e->root->u.binary.rhs->u.vs.offset_ms, 300000);
	assert_null(e->root->u.binary.lhs->u.vs.matchers[1].name == NULL ? NULL : NULL);
	promql_expr_free(e);

	e = parse_ok("1 + 2");
	assert_null(e->root->u.binary.matching); /* scalar op: no matching */
	promql_expr_free(e);

	e = parse_ok("a * on(x) group_left(y) b");
	const promql_matching *m = e->root->u.binary.matching;
	assert_non_null(m);
	assert_true(m->on);
	assert_int_equal(m->card, PROMQL_CARD_MANY_TO_ONE);
	assert_int_equal(m->nlabels, 1);
	assert_string_equal(m->labels[0], "x");
	assert_int_equal(m->ninclude, 1);
	assert_string_equal(m->include[0], "y");
	promql_expr_free(e);
}

static void test_values(void **state)
{
	(void)state;
	promql_expr *e = parse_ok("foo{a=\"b\",c=~\"d.*\"}[1h30m] @ 12.5 offset -1m");
	const promql_node *ms = e->root;
	assert_int_equal(ms->kind, PROMQL_NODE_MATRIX_SELECTOR);
	assert_int_equal(ms->u.ms.range_ms, 5400000);
	const promql_node *vs = ms->u.ms.vs;
	assert_string_equal(vs->u.vs.name, "foo");
	assert_int_equal(vs->u.vs.nmatchers, 3);
	assert_string_equal(vs->u.vs.matchers[2].name, "__name__"); /* name matcher last */
	assert_int_equal(vs->u.vs.matchers[1].type, TSDB_MATCH_RE);
	assert_int_equal(vs->u.vs.offset_ms, -60000);
	assert_int_equal(vs->u.vs.at, PROMQL_AT_TIMESTAMP);
	assert_int_equal(vs->u.vs.at_ms, 12500);
	assert_int_equal(promql_node_type(ms), PROMQL_TYPE_MATRIX);
	promql_expr_free(e);

	e = parse_ok("x[1h:5m] offset 10m @ end()");
	assert_int_equal(e->root->kind, PROMQL_NODE_SUBQUERY);
	assert_int_equal(e->root->u.sq.range_ms, 3600000);
	assert_int_equal(e->root->u.sq.step_ms, 300000);
	assert_int_equal(e->root->u.sq.offset_ms, 600000);
	assert_int_equal(e->root->u.sq.at, PROMQL_AT_END);
	promql_expr_free(e);

	e = parse_ok("5m");
	assert_true(e->root->u.number.value == 300.0);
	assert_true(e->root->u.number.duration);
	promql_expr_free(e);

	e = parse_ok("0x1f + 1e3 + .5 + Inf");
	assert_true(e->root->u.binary.rhs->u.number.value == INFINITY);
	promql_expr_free(e);

	e = parse_ok("'a\\tb' ");
	assert_string_equal(e->root->u.string.value, "a\tb");
	promql_expr_free(e);

	e = parse_ok("`a\\tb`");
	assert_string_equal(e->root->u.string.value, "a\\tb");
	promql_expr_free(e);

	e = parse_ok("\"\\u263a\\U0001F600\\101\\x42\"");
	assert_string_equal(e->root->u.string.value, "\xe2\x98\xba\xf0\x9f\x98\x80" "AB");
	promql_expr_free(e);

	e = parse_ok("topk(3, foo)");
	assert_int_equal(e->root->u.agg.op, PROMQL_AGG_TOPK);
	assert_int_equal(e->root->u.agg.param->kind, PROMQL_NODE_NUMBER);
	assert_false(e->root->u.agg.has_grouping);
	promql_expr_free(e);

	e = parse_ok("sum without () (foo)");
	assert_true(e->root->u.agg.has_grouping);
	assert_true(e->root->u.agg.without);
	assert_int_equal(e->root->u.agg.ngrouping, 0);
	promql_expr_free(e);

	e = parse_ok("rate(foo[5m])");
	assert_int_equal(e->root->u.call.fn->id, PROMQL_FN_RATE);
	assert_int_equal(e->root->pos_start, 0);
	assert_int_equal(e->root->pos_end, 13);
	promql_expr_free(e);
}

/* Literal durations are constants; anything else stays an expression
 * for the engine (it may depend on the query's step and range). */
static void test_durations(void **state)
{
	(void)state;
	promql_expr *e = parse_ok("foo[1800]");
	assert_int_equal(e->root->u.ms.range_ms, 1800000);
	assert_null(e->root->u.ms.range_expr);
	promql_expr_free(e);

	e = parse_ok("foo[(90s)]"); /* a parenthesised literal is a literal */
	assert_int_equal(e->root->u.ms.range_ms, 90000);
	assert_null(e->root->u.ms.range_expr);
	promql_expr_free(e);

	e = parse_ok("foo[2m*(10+5)] offset -(1m)");
	const promql_duration *d = e->root->u.ms.range_expr;
	assert_non_null(d);
	assert_int_equal(d->op, PROMQL_DUR_MUL);
	assert_true(d->lhs->is_duration && d->lhs->value == 120);
	assert_int_equal(d->rhs->op, PROMQL_DUR_ADD);
	assert_true(d->rhs->wrapped);
	assert_int_equal(d->pos_start, 4);
	assert_int_equal(d->pos_end, 12); /* Prometheus: parentheses are not part of the range */
	assert_int_equal(e->root->u.ms.vs->u.vs.offset_ms, -60000);
	assert_null(e->root->u.ms.vs->u.vs.offset_expr);
	promql_expr_free(e);

	e = parse_ok("x[5m:step()] offset -step()");
	assert_int_equal(e->root->u.sq.range_ms, 300000);
	assert_int_equal(e->root->u.sq.step_ms, 0);
	assert_int_equal(e->root->u.sq.step_expr->op, PROMQL_DUR_STEP);
	d = e->root->u.sq.offset_expr;
	assert_int_equal(d->op, PROMQL_DUR_SUB);
	assert_null(d->lhs);
	assert_int_equal(d->rhs->op, PROMQL_DUR_STEP);
	promql_expr_free(e);

	/* offset takes one operand: the rest is ordinary arithmetic */
	e = parse_ok("foo offset -2 ^ 2");
	assert_int_equal(e->root->kind, PROMQL_NODE_BINARY);
	assert_int_equal(e->root->u.binary.op, PROMQL_OP_POW);
	assert_int_equal(e->root->u.binary.lhs->u.vs.offset_ms, -2000);
	promql_expr_free(e);
	e = parse_ok("foo offset (-2 ^ 2)");
	d = e->root->u.vs.offset_expr;
	assert_int_equal(d->op, PROMQL_DUR_SUB); /* -(2^2): '-' binds like '*' */
	assert_int_equal(d->rhs->op, PROMQL_DUR_POW);
	promql_expr_free(e);
	e = parse_ok("foo offset min_of(step(), 1s) + 8000");
	assert_int_equal(e->root->kind, PROMQL_NODE_BINARY);
	assert_int_equal(e->root->u.binary.lhs->u.vs.offset_expr->op, PROMQL_DUR_MIN_OF);
	promql_expr_free(e);

	/* the query-context functions are calls outside durations */
	e = parse_ok("step() + range()");
	assert_int_equal(e->root->u.binary.lhs->u.call.fn->id, PROMQL_FN_STEP);
	assert_int_equal(e->root->u.binary.rhs->u.call.fn->id, PROMQL_FN_RANGE);
	promql_expr_free(e);
	e = parse_ok("step");
	assert_int_equal(e->root->kind, PROMQL_NODE_VECTOR_SELECTOR);
	promql_expr_free(e);
}

static void test_functions_table(void **state)
{
	(void)state;
	for (int i = 0; i < PROMQL_FN__COUNT; i++) {
		const promql_function *f = promql_function_by_id((promql_func_id)i);
		assert_non_null(f);
		assert_non_null(f->name);
		assert_int_equal(f->id, i);
		assert_ptr_equal(promql_function_lookup(f->name, strlen(f->name)), f);
		if (i > 0)
			assert_true(strcmp(promql_function_by_id((promql_func_id)(i - 1))->name, f->name) < 0);
	}
	assert_null(promql_function_lookup("holt_winters", 12));
	assert_null(promql_function_lookup("rat", 3));
	assert_null(promql_function_by_id(PROMQL_FN__COUNT));
	const promql_function *f = promql_function_lookup("label_replace", 13);
	assert_int_equal(f->nargs, 5);
	assert_int_equal(promql_function_arg_type(f, 4), PROMQL_TYPE_STRING);
	f = promql_function_lookup("label_join", 10);
	assert_int_equal(f->variadic, -1);
	assert_int_equal(promql_function_arg_type(f, 7), PROMQL_TYPE_STRING);
	f = promql_function_lookup("double_exponential_smoothing", 28);
	assert_true(f->experimental);
	assert_int_equal(f->arg_types[0], PROMQL_TYPE_MATRIX);
	assert_int_equal(f->nargs, 3);
	f = promql_function_lookup("histogram_quantile", 18);
	assert_int_equal(f->arg_types[1], PROMQL_TYPE_VECTOR);
	assert_false(f->experimental);
	f = promql_function_lookup("round", 5);
	assert_int_equal(f->variadic, 1);
	assert_true(promql_function_lookup("ts_of_max_over_time", 19)->experimental);
	assert_true(promql_function_lookup("first_over_time", 15)->experimental);
	assert_true(promql_function_lookup("info", 4)->experimental);
	assert_false(promql_function_lookup("last_over_time", 14)->experimental);
	assert_int_equal(promql_function_lookup("pi", 2)->ret, PROMQL_TYPE_SCALAR);
	f = promql_function_lookup("step", 4);
	assert_true(f->experimental);
	assert_int_equal(f->nargs, 0);
	assert_int_equal(f->ret, PROMQL_TYPE_SCALAR);
	f = promql_function_lookup("max_of", 6);
	assert_int_equal(f->nargs, 2);
	assert_int_equal(f->arg_types[1], PROMQL_TYPE_SCALAR);
	f = promql_function_lookup("histogram_quantiles", 19);
	assert_true(f->experimental);
	assert_int_equal(f->variadic, -1);
	assert_int_equal(promql_function_arg_type(f, 1), PROMQL_TYPE_STRING);
	assert_int_equal(promql_function_arg_type(f, 9), PROMQL_TYPE_SCALAR);

	assert_string_equal(promql_type_name(PROMQL_TYPE_MATRIX), "range vector");
	assert_string_equal(promql_binop_str(PROMQL_OP_ATAN2), "atan2");
	assert_string_equal(promql_binop_str(PROMQL_OP_LTE), "<=");
	assert_string_equal(promql_aggop_str(PROMQL_AGG_COUNT_VALUES), "count_values");
	assert_true(promql_binop_is_comparison(PROMQL_OP_GTE));
	assert_false(promql_binop_is_comparison(PROMQL_OP_ADD));
	assert_true(promql_binop_is_set(PROMQL_OP_UNLESS));
	assert_true(promql_aggop_has_param(PROMQL_AGG_LIMIT_RATIO));
	assert_false(promql_aggop_has_param(PROMQL_AGG_SUM));
}

static void test_selector(void **state)
{
	(void)state;
	tsdb_matcher *ms;
	size_t n;
	promql_parse_error err;
	assert_int_equal(promql_parse_selector("up{job=~\"a|b\"}", &ms, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ms[0].name, "job");
	assert_string_equal(ms[1].name, "__name__");
	assert_string_equal(ms[1].value, "up");
	promql_matchers_free(ms, n);

	assert_int_equal(promql_parse_selector("{\"my.metric\"}", &ms, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ms[0].value, "my.metric");
	promql_matchers_free(ms, n);

	assert_int_equal(promql_parse_selector("up + 1", &ms, &n, &err), -1);
	assert_string_equal(err.msg, "1:4: parse error: unexpected <op:+>");
	assert_int_equal(promql_parse_selector("rate(x[5m])", &ms, &n, &err), -1);
	assert_int_equal(promql_parse_selector("x[5m]", &ms, &n, &err), -1);
	assert_int_equal(promql_parse_selector("{}", &ms, &n, &err), -1);
	assert_string_equal(err.msg, "1:1: parse error: vector selector must contain at least one non-empty matcher");
	assert_int_equal(promql_parse_selector("", &ms, &n, &err), -1);
	assert_int_equal(promql_parse_selector("{a=~\"(\"}", &ms, &n, &err), -1);
	assert_non_null(strstr(err.msg, "1:2: parse error: "));
}

/* Deep nesting fails cleanly instead of overflowing. */
static void test_deep_nesting(void **state)
{
	(void)state;
	size_t depth = 5000;
	char *q = malloc(depth * 2 + 2);
	memset(q, '(', depth);
	q[depth] = '1';
	memset(q + depth + 1, ')', depth);
	q[depth * 2 + 1] = 0;
	promql_parse_error err;
	promql_expr *e = promql_parse(q, NULL, &err);
	assert_null(e);
	assert_non_null(strstr(err.msg, "parse error"));
	free(q);
	e = parse_ok("((((((((((1))))))))))");
	promql_expr_free(e);
}

/* ---- binary-operator fill modifiers (promql-binop-fill-modifiers) ---- */

static const promql_parse_opts fill_opts = {.binop_fill_modifiers = true};

static const valid_case fill_valid[] = {
	{"foo + fill(0) bar", NULL, false},
	{"foo + fill (0) bar", "foo + fill(0) bar", false},
	{"foo + FILL(1) bar", "foo + fill(1) bar", false},
	{"foo + fill_left(1) bar", NULL, false},
	{"foo + fill_right(1) bar", NULL, false},
	{"foo + fill_left(1) fill_right(2) bar", NULL, false},
	{"foo + fill_right(2) fill_left(1) bar", "foo + fill_left(1) fill_right(2) bar", false},
	{"foo + fill_left(1) fill_right(1) bar", "foo + fill(1) bar", false},
	{"foo + fill(-1.5) bar", NULL, false},
	{"foo + fill(+2) bar", "foo + fill(2) bar", false},
	{"foo + fill(Inf) bar", "foo + fill(+Inf) bar", false},
	{"foo + fill(-Inf) bar", NULL, false},
	{"foo + fill(nan) bar", "foo + fill(NaN) bar", false},
	{"foo + fill(1m) bar", "foo + fill(60) bar", false},
	{"foo + fill(-1m) bar", "foo + fill(-60) bar", false},
	{"foo + fill(0x10) bar", "foo + fill(16) bar", false},
	{"foo == bool on (a) fill(0) bar", NULL, false},
	{"foo * ignoring (a) group_left (b) fill_right(1) bar", NULL, false},
	{"foo * on (a) group_right fill_left(1) bar", "foo * on (a) group_right () fill_left(1) bar", false},
	{"foo + fill(0) bar + baz", NULL, false},
	{"foo + fill(0) (bar + baz)", NULL, false},
	/* not followed by '(': still metric and label names */
	{"fill + fill(0) fill", NULL, false},
	{"fill_left", NULL, false},
	{"foo + fill_right", NULL, false},
	{"sum by (fill) (fill_right)", NULL, false},
	{"foo + on (fill) fill(1) fill", NULL, false},
	{"foo{fill=\"x\"}", NULL, false},
	{"rate(fill_left[5m])", NULL, false},
};

static const invalid_case fill_invalid[] = {
	{"foo + fill(0) 1", "1:1: parse error: filling in missing series only allowed between instant vectors", false},
	{"1 + fill_left(0) foo", "1:1: parse error: filling in missing series only allowed between instant vectors", false},
	{"foo and fill(0) bar", "1:1: parse error: filling in missing series not allowed for set operators", false},
	{"foo unless on (a) fill_right(0) bar",
	 "1:1: parse error: filling in missing series not allowed for set operators", false},
	{"fill(0)", "1:1: parse error: unexpected <fill>", false},
};

/* Inputs that must fail to parse (syntax errors in the fill clause). */
static const char *const fill_syntax_errors[] = {
	"foo + fill() bar",
	"foo + fill(foo) bar",
	"foo + fill(1 bar",
	"foo + fill(0) fill(1) bar",
	"foo + fill_left(1) fill_left(2) bar",
	"foo + fill(1) fill_left(2) bar",
	"foo + fill(\"1\") bar",
	"foo + fill((1)) bar",
	"foo + fill(1) on (a) bar",
	"foo + fill(1)",
};

static void test_fill_modifiers(void **state)
{
	(void)state;
	promql_parse_error err;
	for (size_t i = 0; i < sizeof(fill_valid) / sizeof(fill_valid[0]); i++) {
		const valid_case *c = &fill_valid[i];
		promql_expr *e = promql_parse(c->in, &fill_opts, &err);
		if (!e)
			fail_msg("parse %s: %s", c->in, err.msg);
		tp_strbuf sb = {0}, sb2 = {0};
		promql_node_print(&sb, e->root);
		const char *want = c->out ? c->out : c->in;
		if (strcmp(tp_sb_cstr(&sb), want) != 0)
			fail_msg("parse %s: printed %s, want %s", c->in, tp_sb_cstr(&sb), want);
		promql_expr *e2 = promql_parse(tp_sb_cstr(&sb), &fill_opts, &err);
		if (!e2)
			fail_msg("reparse %s: %s", tp_sb_cstr(&sb), err.msg);
		promql_node_print(&sb2, e2->root);
		assert_string_equal(tp_sb_cstr(&sb2), tp_sb_cstr(&sb));
		tp_sb_free(&sb);
		tp_sb_free(&sb2);
		promql_expr_free(e);
		promql_expr_free(e2);
	}
	for (size_t i = 0; i < sizeof(fill_invalid) / sizeof(fill_invalid[0]); i++) {
		const invalid_case *c = &fill_invalid[i];
		promql_expr *e = promql_parse(c->in, &fill_opts, &err);
		if (e)
			fail_msg("parse %s: no error; want %s", c->in, c->err);
		if (strcmp(err.msg, c->err) != 0)
			fail_msg("parse %s:\n got  %s\n want %s", c->in, err.msg, c->err);
	}
	for (size_t i = 0; i < sizeof(fill_syntax_errors) / sizeof(fill_syntax_errors[0]); i++) {
		promql_expr *e = promql_parse(fill_syntax_errors[i], &fill_opts, &err);
		if (e)
			fail_msg("parse %s: no error", fill_syntax_errors[i]);
		assert_non_null(strstr(err.msg, "parse error: "));
	}

	/* the feature gate: the whole binary expression, as newBinaryExpression */
	assert_null(promql_parse("foo + fill(0) bar", NULL, &err));
	assert_string_equal(err.msg, "1:1: parse error: binop fill modifiers are experimental and not enabled");
	assert_null(promql_parse("1 + (foo - on (a) fill_left(2) bar)", &experimental, &err));
	assert_string_equal(err.msg, "1:6: parse error: binop fill modifiers are experimental and not enabled");
	promql_expr *e = promql_parse("fill + fill", NULL, &err);  /* names need no flag */
	assert_non_null(e);
	promql_expr_free(e);

	/* the values land on their sides */
	e = promql_parse("foo + fill_right(2) fill_left(-1m) bar", &fill_opts, &err);
	assert_non_null(e);
	const promql_matching *m = e->root->u.binary.matching;
	assert_non_null(m);
	assert_true(m->has_fill_lhs && m->has_fill_rhs);
	assert_true(m->fill_lhs == -60.0);
	assert_true(m->fill_rhs == 2.0);
	promql_expr_free(e);
	e = promql_parse("foo + on (a) group_left fill_left(NaN) bar", &fill_opts, &err);
	assert_non_null(e);
	m = e->root->u.binary.matching;
	assert_int_equal(m->card, PROMQL_CARD_MANY_TO_ONE);
	assert_true(m->has_fill_lhs && !m->has_fill_rhs);
	assert_true(isnan(m->fill_lhs));
	promql_expr_free(e);
	e = promql_parse("foo + on (a) bar", &fill_opts, &err);
	assert_non_null(e);
	m = e->root->u.binary.matching;
	assert_false(m->has_fill_lhs || m->has_fill_rhs);
	promql_expr_free(e);
}

int main(void)
{
	size_t nv = sizeof(valid) / sizeof(valid[0]), ni = sizeof(invalid) / sizeof(invalid[0]);
	size_t n = 0, cap = nv + ni + 9;
	struct CMUnitTest *tests = calloc(cap, sizeof(*tests));
	char **names = calloc(cap, sizeof(char *));
	for (size_t i = 0; i < nv; i++) {
		names[n] = malloc(96);
		snprintf(names[n], 96, "valid %.80s", valid[i].in);
		tests[n++] = (struct CMUnitTest){names[n - 1], test_valid, NULL, NULL, (void *)&valid[i]};
	}
	for (size_t i = 0; i < ni; i++) {
		names[n] = malloc(96);
		snprintf(names[n], 96, "invalid %.80s", invalid[i].in);
		tests[n++] = (struct CMUnitTest){names[n - 1], test_invalid, NULL, NULL, (void *)&invalid[i]};
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_precedence);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_values);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_durations);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_functions_table);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_selector);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_deep_nesting);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fill_modifiers);
	/* TAP test names must not contain newlines or '#' */
	for (size_t i = 0; i < n; i++)
		for (char *c = (char *)tests[i].name; *c; c++)
			if (*c == '\n' || *c == '\t' || *c == '#')
				*c = ' ';
	int rc = _cmocka_run_group_tests("promql_parse", tests, n, NULL, NULL);
	for (size_t i = 0; i < nv + ni; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
