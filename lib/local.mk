# lib/local.mk - shared pieces: strings, interning, arena, hashing, labels,
# durations and times, logging, self-metrics.
libtinyprom_a_SOURCES += \
	lib/common.c lib/common.h \
	lib/arena.c lib/arena.h \
	lib/hash.c lib/hash.h \
	lib/intern.c lib/intern.h \
	lib/labels.c lib/labels.h \
	lib/strbuf.c lib/strbuf.h \
	lib/duration.c lib/duration.h

check_PROGRAMS += tests/unit/test_lib
TESTS += tests/unit/test_lib
tests_unit_test_lib_SOURCES = tests/unit/test_lib.c
tests_unit_test_lib_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lib_LDADD = $(TEST_LDADD)
libtinyprom_a_SOURCES += lib/crc32c.c lib/crc32c.h
