# tests/integration/local.mk - process-level durability tests: tinyprom is
# killed, restarted, its WAL damaged, and rw-load (a remote-write load
# generator that logs what was acknowledged) checks nothing acked is lost.
check_PROGRAMS += tests/integration/rw-load
tests_integration_rw_load_SOURCES = tests/integration/rw-load.c tests/support/rwclient.c \
	tests/support/rwclient.h
tests_integration_rw_load_LDADD = libtinyprom.a $(DEP_LIBS)

TESTS += tests/integration/test_crash.sh tests/integration/test_wal_corruption.sh \
	tests/integration/test_chunk_corruption.sh tests/integration/test_retention.sh \
	tests/integration/test_disk_full.sh
EXTRA_DIST += tests/integration/test_crash.sh tests/integration/test_wal_corruption.sh \
	tests/integration/test_chunk_corruption.sh tests/integration/test_retention.sh \
	tests/integration/test_disk_full.sh

# rr-client: a remote read client (both response types) whose output the
# Prometheus peer test compares between tinyprom and Prometheus 2.42.
check_PROGRAMS += tests/integration/rr-client
tests_integration_rr_client_SOURCES = tests/integration/rr-client.c tests/support/xor_decode.c \
	tests/support/xor_decode.h tests/support/rwclient.c tests/support/rwclient.h
tests_integration_rr_client_LDADD = libtinyprom.a $(DEP_LIBS)

# /api/v1/status/config compared byte for byte with Prometheus 2.42's.
TESTS += tests/integration/test_status_config.sh
EXTRA_DIST += tests/integration/test_status_config.sh tests/integration/status-config

# Grafana's data-source calls replayed with its methods and headers.
TESTS += tests/integration/test_grafana.sh
EXTRA_DIST += tests/integration/test_grafana.sh
