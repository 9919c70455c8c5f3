# tsdb/wal.mk - write-ahead log, checkpoints, replay.
libtinyprom_a_SOURCES += \
	tsdb/wal.c tsdb/wal.h tsdb/wal_int.h \
	tsdb/wal_read.c tsdb/wal_replay.c
EXTRA_DIST += tsdb/WAL.md

check_PROGRAMS += tests/unit/test_wal
TESTS += tests/unit/test_wal
tests_unit_test_wal_SOURCES = tests/unit/test_wal.c
tests_unit_test_wal_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_wal_LDADD = $(TEST_LDADD)
