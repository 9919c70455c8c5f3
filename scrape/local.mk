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

EXTRA_DIST += tests/fuzz/corpus

if FUZZING
# libFuzzer targets: ./configure --enable-fuzzing CC=clang
noinst_PROGRAMS += tests/fuzz/fuzz_text tests/fuzz/fuzz_openmetrics
tests_fuzz_fuzz_text_SOURCES = tests/fuzz/fuzz_expfmt.c
tests_fuzz_fuzz_text_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_FORMAT=SCRAPE_FORMAT_TEXT
tests_fuzz_fuzz_text_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_text_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_text_LDADD = libtinyprom.a $(DEP_LIBS)
tests_fuzz_fuzz_openmetrics_SOURCES = tests/fuzz/fuzz_expfmt.c
tests_fuzz_fuzz_openmetrics_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_FORMAT=SCRAPE_FORMAT_OPENMETRICS
tests_fuzz_fuzz_openmetrics_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_openmetrics_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_openmetrics_LDADD = libtinyprom.a $(DEP_LIBS)
endif
