/* SPDX-License-Identifier: Apache-2.0
 * test_promqltest_run.c - the promqltest runner end to end on the real
 * tsdb and engine: every comparison rule must be able to fail. A script
 * mixes correct and deliberately wrong expectations; the test checks the
 * outcome of each eval line (pass / fail / skip) and the counts. Only the
 * simplest PromQL is used (selectors, 1 + 1, vector(), sort_desc), so a
 * failure here points at the runner, not at the engine. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promqltest.h"

typedef struct outcome {
	int line;
	promql_test_outcome o;
} outcome;

typedef struct seen {
	outcome v[64];
	int n;
} seen;

static void record(void *ud, const promql_test_file *f, const promql_test_cmd *c, promql_test_outcome o,
		   const char *detail)
{
	(void)f;
	seen *s = ud;
	if (o == PROMQL_TEST_FAIL && getenv("PT_VERBOSE"))
		fprintf(stderr, "%s", detail);
	if (s->n < 64) {
		s->v[s->n].line = c->line;
		s->v[s->n].o = o;
		s->n++;
	}
}

/* Each eval header carries its expected outcome in a comment line above
 * it: "# P", "# F" or "# S". */
static const char *script =
	"load 1m\n"
	"  m{a=\"1\"} 1 2 3\n"
	"  m{a=\"2\"} 4 5 6\n"
	"\n"
	"# P\n"
	"eval instant at 2m m\n"
	"  m{a=\"1\"} 3\n"
	"  m{a=\"2\"} 6\n"
	"\n"
	"# F wrong value\n"
	"eval instant at 2m m\n"
	"  m{a=\"1\"} 3\n"
	"  m{a=\"2\"} 6.1\n"
	"\n"
	"# F expected series missing from the expectation\n"
	"eval instant at 2m m\n"
	"  m{a=\"1\"} 3\n"
	"\n"
	"# F expected series not in the result\n"
	"eval instant at 2m m{a=\"1\"}\n"
	"  m{a=\"1\"} 3\n"
	"  m{a=\"3\"} 3\n"
	"\n"
	"# F labels must match exactly (name missing)\n"
	"eval instant at 2m m{a=\"1\"}\n"
	"  {a=\"1\"} 3\n"
	"\n"
	"# P empty result\n"
	"eval instant at 2m m{a=\"9\"}\n"
	"\n"
	"# P\n"
	"eval range from 0 to 2m step 1m m{a=\"1\"}\n"
	"  m{a=\"1\"} 1 2 3\n"
	"\n"
	"# F a point where the expectation has none\n"
	"eval range from 0 to 2m step 1m m{a=\"1\"}\n"
	"  m{a=\"1\"} _ 2 3\n"
	"\n"
	"# F too few points returned\n"
	"eval range from 0 to 2m step 1m m{a=\"1\"}\n"
	"  m{a=\"1\"} 1 2 3 4\n"
	"\n"
	"# P\n"
	"eval instant at 1m 1 + 1\n"
	"  2\n"
	"# F\n"
	"eval instant at 1m 1 + 1\n"
	"  3\n"
	"# F scalar expected, vector returned\n"
	"eval instant at 1m vector(2)\n"
	"  2\n"
	"\n"
	"# F vector expected, scalar returned\n"
	"eval instant at 1m 2\n"
	"  {} 2\n"
	"\n"
	"# F expected an error\n"
	"eval instant at 2m m\n"
	"  expect fail\n"
	"\n"
	"# P\n"
	"eval instant at 2m sort_desc(m)\n"
	"  expect ordered\n"
	"  m{a=\"2\"} 6\n"
	"  m{a=\"1\"} 3\n"
	"\n"
	"# F wrong order\n"
	"eval_ordered instant at 2m sort_desc(m)\n"
	"  m{a=\"1\"} 3\n"
	"  m{a=\"2\"} 6\n"
	"\n"
	"# F an annotation that does not come\n"
	"eval instant at 2m m{a=\"1\"}\n"
	"  expect warn\n"
	"  m{a=\"1\"} 3\n"
	"\n"
	"load 1m\n"
	"  h {{schema:0 sum:1 count:1}}x2\n"
	"\n"
	"# S histogram metric\n"
	"eval instant at 1m h\n"
	"  h 1\n"
	"\n"
	"# S nameless selector while histograms are loaded\n"
	"eval instant at 1m {a=\"1\"}\n"
	"  m{a=\"1\"} 2\n"
	"\n"
	"# S histogram literal expected\n"
	"eval instant at 1m m{a=\"1\"}\n"
	"  m{a=\"1\"} {{schema:0 sum:1 count:1}}\n"
	"\n"
	"clear\n"
	"\n"
	"# P after clear nothing is left\n"
	"eval instant at 2m m\n"
	"\n"
	"load 1m\n"
	"  m{a=\"1\"} 7\n"
	"\n"
	"# P\n"
	"eval instant at 0m {a=\"1\"}\n"
	"  m{a=\"1\"} 7\n";

static void test_outcomes(void **state)
{
	(void)state;
	promql_test_file f;
	char err[300];
	int rc = promql_test_file_parse(&f, "inline.test", script, err, sizeof err);
	if (rc)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	seen s = { 0 };
	promql_test_opts opts = { .report = record, .ud = &s };
	promql_test_counts cnt = { 0 };
	assert_int_equal(promql_test_run(&f, &opts, &cnt, err, sizeof err), 0);

	/* the expected outcome of line L is written on line L-1 */
	const char *lines[256];
	int nl = 0;
	for (const char *p = script; *p && nl < 256;) {
		lines[nl++] = p;
		const char *e = strchr(p, '\n');
		if (!e)
			break;
		p = e + 1;
	}
	unsigned want_p = 0, want_f = 0, want_s = 0;
	assert_int_equal(s.n, (int)f.nevals);
	for (int i = 0; i < s.n; i++) {
		const char *mark = lines[s.v[i].line - 2];
		assert_true(mark[0] == '#');
		promql_test_outcome want = mark[2] == 'P' ? PROMQL_TEST_PASS
				       : mark[2] == 'F' ? PROMQL_TEST_FAIL
							: PROMQL_TEST_SKIP;
		want_p += want == PROMQL_TEST_PASS;
		want_f += want == PROMQL_TEST_FAIL;
		want_s += want == PROMQL_TEST_SKIP;
		if (s.v[i].o != want)
			fprintf(stderr, "line %d: outcome %d, want %d\n", s.v[i].line, (int)s.v[i].o, (int)want);
		assert_int_equal(s.v[i].o, want);
	}
	assert_int_equal(cnt.passed, want_p);
	assert_int_equal(cnt.failed, want_f);
	assert_int_equal(cnt.skipped, want_s);
	promql_test_file_free(&f);
}

static unsigned long queries_for(const char *text, unsigned *passed)
{
	promql_test_file f;
	char err[300];
	assert_int_equal(promql_test_file_parse(&f, "q.test", text, err, sizeof err), 0);
	promql_test_counts cnt = { 0 };
	assert_int_equal(promql_test_run(&f, NULL, &cnt, err, sizeof err), 0);
	promql_test_file_free(&f);
	*passed = cnt.passed;
	return cnt.queries;
}

/* FORMAT.md §9: an instant eval at T != 0 runs as written, then with @ T
 * at -10T, 0, T/5, T, 10T, each also as a range query: 12 queries. At
 * T == 0 the re-runs are at -1000, 0, 1000 ms: 8. Time-dependent
 * functions skip the @ re-runs (2), expected failures the range mode (6),
 * `@ start()` only the range mode of the run as written (11),
 * ordered evals still run the range query (12), range evals run once. */
static void test_reruns(void **state)
{
	(void)state;
	const char *load = "load 1m\n  m{a=\"1\"} 1 2 3\n\n";
	char buf[512];
	unsigned p;
	struct {
		const char *eval;
		unsigned long want;
	} cases[] = {
		{ "eval instant at 2m m\n  m{a=\"1\"} 3\n", 12 },
		{ "eval instant at 0m m\n  m{a=\"1\"} 1\n", 8 },
		{ "eval instant at 2m timestamp(m)\n  {a=\"1\"} 120\n", 2 },
		{ "eval instant at 2m m @ start()\n  m{a=\"1\"} 3\n", 11 },
		{ "eval instant at 2m sort(m)\n  expect ordered\n  m{a=\"1\"} 3\n", 12 },
		{ "eval instant at 2m label_replace(m, \"b\", \"\", \"a\", \"(.*\")\n  expect fail\n", 6 },
		{ "eval range from 0 to 2m step 1m m\n  m{a=\"1\"} 1 2 3\n", 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "%s%s", load, cases[i].eval);
		unsigned long q = queries_for(buf, &p);
		if (q != cases[i].want || p != 1)
			fprintf(stderr, "case %zu: %lu queries, %u passed\n", i, q, p);
		assert_int_equal(p, 1);
		assert_int_equal(q, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_reruns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
