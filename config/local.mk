# config/local.mk - prometheus.yml and flags -> C structs.
libtinyprom_a_SOURCES += config/config.c config/config.h

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_config_LDADD = $(TEST_LDADD)
# Fixtures (with .err/.check sidecars recorded from promtool 2.42) and the
# manual comparison script against a real promtool.
EXTRA_DIST += tests/data/config
EXTRA_DIST += config/README.md
