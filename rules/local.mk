# rules/local.mk - rule files, groups, alert state, templates, notifier.
libtinyprom_a_SOURCES += rules/rulefile.c rules/rulefile.h \
	rules/template.c rules/template.h \
	rules/group.c rules/group.h \
	rules/notifier.c rules/notifier.h \
	rules/manager.c rules/manager.h

check_PROGRAMS += tests/unit/test_template
TESTS += tests/unit/test_template
tests_unit_test_template_SOURCES = tests/unit/test_template.c
tests_unit_test_template_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_template_LDADD = $(TEST_LDADD)

check_PROGRAMS += tests/unit/test_notifier
TESTS += tests/unit/test_notifier
tests_unit_test_notifier_SOURCES = tests/unit/test_notifier.c
tests_unit_test_notifier_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_notifier_LDADD = $(TEST_LDADD)

check_PROGRAMS += tests/unit/test_rules
TESTS += tests/unit/test_rules
tests_unit_test_rules_SOURCES = tests/unit/test_rules.c
tests_unit_test_rules_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_rules_LDADD = $(TEST_LDADD)

# bench/rules-bench: 1,000 rules over 10,000 series (see bench/RESULTS.md)
noinst_PROGRAMS += bench/rules-bench
bench_rules_bench_SOURCES = bench/rules-bench.c
bench_rules_bench_LDADD = libtinyprom.a $(DEP_LIBS)
