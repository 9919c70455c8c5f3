# rules/local.mk - rule files, groups, alert state, templates, notifier.
libtinyprom_a_SOURCES += rules/rulefile.c rules/rulefile.h
