# scrape/relabel.mk - relabel_configs / metric_relabel_configs.
libtinyprom_a_SOURCES += scrape/relabel.c scrape/relabel.h

check_PROGRAMS += tests/unit/test_relabel
TESTS += tests/unit/test_relabel
tests_unit_test_relabel_SOURCES = tests/unit/test_relabel.c
tests_unit_test_relabel_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_relabel_LDADD = $(TEST_LDADD)
