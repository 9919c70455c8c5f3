# tsdb/local.mk - storage: chunks, head, index, querier.
libtinyprom_a_SOURCES += \
	tsdb/tsdb.h \
	tsdb/bstream.c tsdb/bstream.h \
	tsdb/chunk.c tsdb/chunk.h \
	tsdb/head_internal.h tsdb/head.c \
	tsdb/postings.c \
	tsdb/matcher.c tsdb/matcher.h \
	tsdb/querier.c
EXTRA_DIST += tsdb/README.md

check_PROGRAMS += tests/unit/test_tsdb_chunk tests/unit/test_tsdb_head
TESTS += tests/unit/test_tsdb_chunk tests/unit/test_tsdb_head
tests_unit_test_tsdb_chunk_SOURCES = tests/unit/test_tsdb_chunk.c
tests_unit_test_tsdb_chunk_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_tsdb_chunk_LDADD = $(TEST_LDADD)
tests_unit_test_tsdb_head_SOURCES = tests/unit/test_tsdb_head.c
tests_unit_test_tsdb_head_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_tsdb_head_LDADD = $(TEST_LDADD)

# Memory-mapped chunk files (full head chunks on disk) and the crash-test kill points.
libtinyprom_a_SOURCES += tsdb/chunkfile.c tsdb/chunkfile.h tsdb/killpoint.c tsdb/killpoint.h
check_PROGRAMS += tests/unit/test_chunkfile
TESTS += tests/unit/test_chunkfile
tests_unit_test_chunkfile_SOURCES = tests/unit/test_chunkfile.c
tests_unit_test_chunkfile_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_chunkfile_LDADD = $(TEST_LDADD)
