# scrape/local.mk - exposition parsers, targets, SD, scrape loop.
include scrape/relabel.mk

libtinyprom_a_SOURCES += \
	scrape/expfmt.c scrape/expfmt.h \
	scrape/expfmt_lint.c scrape/expfmt_lint.h \
	scrape/metadata.c scrape/metadata.h

check_PROGRAMS += tests/unit/test_expfmt
TESTS += tests/unit/test_expfmt
tests_unit_test_expfmt_SOURCES = tests/unit/test_expfmt.c
tests_unit_test_expfmt_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_expfmt_LDADD = $(TEST_LDADD)

# Parse benchmark: ./bench/parse-bench [FILE] [ITERATIONS]
noinst_PROGRAMS += bench/parse-bench
bench_parse_bench_SOURCES = bench/parse-bench.c
bench_parse_bench_LDADD = libtinyprom.a $(DEP_LIBS)

EXTRA_DIST += tests/fuzz/corpus tests/data/expositions tests/data/promtool

if FUZZING
# libFuzzer targets: ./configure --enable-fuzzing --enable-sanitizers CC=clang
# (--enable-sanitizers keeps jemalloc away from ASan). The parser sources
# are compiled into each target so libFuzzer's coverage sees them; the
# rest comes from libtinyprom.a. Run: tests/fuzz/fuzz_text tests/fuzz/corpus
FUZZ_SRC = scrape/expfmt.c scrape/metadata.c scrape/expfmt_lint.c
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined
noinst_PROGRAMS += tests/fuzz/fuzz_text tests/fuzz/fuzz_openmetrics tests/fuzz/fuzz_lint
tests_fuzz_fuzz_text_SOURCES = tests/fuzz/fuzz_expfmt.c $(FUZZ_SRC)
tests_fuzz_fuzz_text_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_FORMAT=SCRAPE_FORMAT_TEXT
tests_fuzz_fuzz_text_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_text_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_text_LDADD = libtinyprom.a $(DEP_LIBS)
tests_fuzz_fuzz_openmetrics_SOURCES = tests/fuzz/fuzz_expfmt.c $(FUZZ_SRC)
tests_fuzz_fuzz_openmetrics_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_FORMAT=SCRAPE_FORMAT_OPENMETRICS
tests_fuzz_fuzz_openmetrics_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_openmetrics_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_openmetrics_LDADD = libtinyprom.a $(DEP_LIBS)
tests_fuzz_fuzz_lint_SOURCES = tests/fuzz/fuzz_lint.c $(FUZZ_SRC)
tests_fuzz_fuzz_lint_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_lint_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_lint_LDADD = libtinyprom.a $(DEP_LIBS)
endif

# `tinyprom check metrics` end to end, and against promtool 2.42 if present.
TESTS += tests/unit/test_expfmt_cli.sh
EXTRA_DIST += tests/unit/test_expfmt_cli.sh

# the scrape manager (libcurl multi loop, cache, staleness) and service discovery
libtinyprom_a_SOURCES += scrape/manager.c scrape/manager.h \
	scrape/discovery.c scrape/discovery.h
check_PROGRAMS += tests/unit/test_scrape tests/unit/test_discovery
TESTS += tests/unit/test_scrape tests/unit/test_discovery
tests_unit_test_scrape_SOURCES = tests/unit/test_scrape.c
tests_unit_test_scrape_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_scrape_LDADD = $(TEST_LDADD)
tests_unit_test_discovery_SOURCES = tests/unit/test_discovery.c
tests_unit_test_discovery_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_discovery_LDADD = $(TEST_LDADD)
