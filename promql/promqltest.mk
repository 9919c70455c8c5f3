# promql/promqltest.mk - the promqltest file runner (`tinyprom promqltest`)
# and its suites: our own tests/promql/*.test (all must pass) and, when
# $(srcdir)/../shared/promqltest/upstream exists, Prometheus's own files
# gated by tests/promql/known-failures.txt. Both scripts print TAP, one
# test point per file.
libtinyprom_a_SOURCES += \
	promql/promqltest.h \
	promql/promqltest_parse.c \
	promql/promqltest.c

check_PROGRAMS += tests/unit/test_promqltest
TESTS += tests/unit/test_promqltest
tests_unit_test_promqltest_SOURCES = tests/unit/test_promqltest.c
tests_unit_test_promqltest_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_promqltest_LDADD = $(TEST_LDADD)

check_PROGRAMS += tests/unit/test_promqltest_run
TESTS += tests/unit/test_promqltest_run
tests_unit_test_promqltest_run_SOURCES = tests/unit/test_promqltest_run.c
tests_unit_test_promqltest_run_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_promqltest_run_LDADD = $(TEST_LDADD)

PROMQLTEST_OWN = \
	tests/promql/aggregations.test \
	tests/promql/binops.test \
	tests/promql/dates.test \
	tests/promql/extended_selectors.test \
	tests/promql/duration_expr.test \
	tests/promql/histogram_quantile.test \
	tests/promql/labels.test \
	tests/promql/math.test \
	tests/promql/over_time.test \
	tests/promql/range.test \
	tests/promql/rate.test \
	tests/promql/selectors.test \
	tests/promql/subquery.test

TESTS += tests/promql/test-cli.sh tests/promql/run-own.sh tests/promql/run-upstream.sh
EXTRA_DIST += tests/promql/test-cli.sh tests/promql/run-own.sh tests/promql/run-upstream.sh \
	tests/promql/known-failures.txt tests/promql/own-known-failures.txt \
	tests/promql/crosscheck-promtool.py tests/promql/draft-known-failures.py \
	tests/promql/README.md \
	$(PROMQLTEST_OWN)
