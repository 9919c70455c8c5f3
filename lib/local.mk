# lib/local.mk - shared pieces: strings, interning, arena, hashing, labels,
# durations and times, logging, self-metrics.
libtinyprom_a_SOURCES += \
	lib/common.c lib/common.h \
	lib/arena.c lib/arena.h \
	lib/hash.c lib/hash.h \
	lib/intern.c lib/intern.h \
	lib/labels.c lib/labels.h \
	lib/strbuf.c lib/strbuf.h \
	lib/ftoa.c lib/ftoa.h \
	lib/duration.c lib/duration.h \
	lib/bulkmem.c lib/bulkmem.h

check_PROGRAMS += tests/unit/test_lib
TESTS += tests/unit/test_lib
tests_unit_test_lib_SOURCES = tests/unit/test_lib.c
tests_unit_test_lib_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lib_LDADD = $(TEST_LDADD)

# logging, self-metrics and flag parsing (server branch)
libtinyprom_a_SOURCES += \
	lib/log.c lib/log.h \
	lib/metrics.c lib/metrics.h \
	lib/flags.c lib/flags.h

check_PROGRAMS += tests/unit/test_log tests/unit/test_metrics
TESTS += tests/unit/test_log tests/unit/test_metrics
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_log_LDADD = $(TEST_LDADD)
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metrics_LDADD = $(TEST_LDADD)

# CRC-32C (Castagnoli) for the WAL and remote read frames
libtinyprom_a_SOURCES += lib/crc32c.c lib/crc32c.h
