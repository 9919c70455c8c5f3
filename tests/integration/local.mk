# tests/integration/local.mk - process-level durability tests: tinyprom is
# killed, restarted, its WAL damaged, and rw-load (a remote-write load
# generator that logs what was acknowledged) checks nothing acked is lost.
check_PROGRAMS += tests/integration/rw-load
tests_integration_rw_load_SOURCES = tests/integration/rw-load.c
tests_integration_rw_load_LDADD = libtinyprom.a $(DEP_LIBS)

TESTS += tests/integration/test_crash.sh tests/integration/test_wal_corruption.sh \
	tests/integration/test_chunk_corruption.sh tests/integration/test_retention.sh
EXTRA_DIST += tests/integration/test_crash.sh tests/integration/test_wal_corruption.sh \
	tests/integration/test_chunk_corruption.sh tests/integration/test_retention.sh
