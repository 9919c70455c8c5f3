# remote/sender.mk - the remote write sender (queues fed by the head's
# commit observer, libcurl POSTs) and its unit test.
libtinyprom_a_SOURCES += remote/sender.c remote/sender.h

check_PROGRAMS += tests/unit/test_remote_sender
TESTS += tests/unit/test_remote_sender
tests_unit_test_remote_sender_SOURCES = tests/unit/test_remote_sender.c
tests_unit_test_remote_sender_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_remote_sender_LDADD = $(TEST_LDADD)

# against a real Prometheus 2.42 as the receiver
TESTS += tests/integration/test_remote_write_sender.sh
EXTRA_DIST += tests/integration/test_remote_write_sender.sh
