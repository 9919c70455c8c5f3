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

# libFuzzer target for the record decoders (configure --enable-fuzzing CC=clang).
if FUZZING
noinst_PROGRAMS += tsdb/fuzz_wal
# wal_read.c is compiled into the target too, so the decoders get coverage feedback
tsdb_fuzz_wal_SOURCES = tsdb/wal_fuzz.c tsdb/wal_read.c
tsdb_fuzz_wal_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address
tsdb_fuzz_wal_LDFLAGS = -fsanitize=fuzzer,address
tsdb_fuzz_wal_LDADD = libtinyprom.a $(DEP_LIBS)
endif

# The head made durable: replay at open, hooks, checkpoint at truncation.
libtinyprom_a_SOURCES += tsdb/wal_head.c tsdb/wal_head.h
check_PROGRAMS += tests/unit/test_wal_head
TESTS += tests/unit/test_wal_head
tests_unit_test_wal_head_SOURCES = tests/unit/test_wal_head.c
tests_unit_test_wal_head_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_wal_head_LDADD = $(TEST_LDADD)
