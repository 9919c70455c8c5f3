# promql/engine.mk - evaluation: the engine (engine.h) over tsdb.h and the
# AST, its unit tests and the query benchmark.
libtinyprom_a_SOURCES += \
	promql/engine.c promql/engine.h promql/value.h \
	promql/funcs_eval.c \
	promql/funcs_extended.c \
	promql/window.c promql/window.h \
	promql/aggregate.c \
	promql/binop.c \
	promql/histogram.c

check_PROGRAMS += tests/unit/test_promql_engine
TESTS += tests/unit/test_promql_engine
tests_unit_test_promql_engine_SOURCES = tests/unit/test_promql_engine.c
tests_unit_test_promql_engine_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_promql_engine_LDADD = $(TEST_LDADD) -lm

check_PROGRAMS += tests/unit/test_promql_extended
TESTS += tests/unit/test_promql_extended
tests_unit_test_promql_extended_SOURCES = tests/unit/test_promql_extended.c
tests_unit_test_promql_extended_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_promql_extended_LDADD = $(TEST_LDADD) -lm
check_PROGRAMS += tests/unit/test_promql_window
TESTS += tests/unit/test_promql_window
tests_unit_test_promql_window_SOURCES = tests/unit/test_promql_window.c
tests_unit_test_promql_window_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_promql_window_LDADD = $(TEST_LDADD) -lm

noinst_PROGRAMS += bench/promql-bench
bench_promql_bench_SOURCES = bench/promql-bench.c bench/promql-data.c bench/promql-data.h
bench_promql_bench_LDADD = libtinyprom.a $(DEP_LIBS) -lm

# promql-compare.sh: the same data sent to tinyprom and Prometheus 2.42
noinst_PROGRAMS += bench/promql-load
bench_promql_load_SOURCES = bench/promql-load.c bench/promql-data.c bench/promql-data.h
bench_promql_load_LDADD = libtinyprom.a $(DEP_LIBS) -lm
EXTRA_DIST += bench/promql-compare.sh bench/promql-compare.py
