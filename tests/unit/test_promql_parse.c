/* SPDX-License-Identifier: Apache-2.0
 * test_promql_parse.c - PromQL parser tests. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/strbuf.h"
#include "promql/ast.h"
#include "promql/functions.h"

static void test_smoke(void **state)
{
	(void)state;
	promql_parse_error err;
	promql_expr *e = promql_parse("sum by (job) (rate(foo{a=\"b\"}[5m] offset 1m))", NULL, &err);
	if (!e)
		fail_msg("%s", err.msg);
	tp_strbuf sb = {0};
	promql_node_print(&sb, e->root);
	assert_string_equal(tp_sb_cstr(&sb), "sum by (job) (rate(foo{a=\"b\"}[5m] offset 1m))");
	tp_sb_free(&sb);
	promql_expr_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smoke),
	};
	return cmocka_run_group_tests_name("promql_parse", tests, NULL, NULL);
}
