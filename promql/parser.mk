# promql/parser.mk - lexer, lemon grammar, AST, printer, function table.
# The grammar promql/parser.y is turned into promql/parser.c and parser.h
# in the build directory by lemon; the generated files are never edited
# (warnings lemon's template would raise are silenced by pragmas in the
# grammar's %include block).
libtinyprom_a_SOURCES += \
	promql/lexer.c promql/lexer.h \
	promql/parse.c promql/parse.h \
	promql/ast.c promql/ast.h \
	promql/printer.c \
	promql/functions.c promql/functions.h \
	promql/parser.c
EXTRA_DIST += promql/parser.y
BUILT_SOURCES += promql/parser.c promql/parser.h
CLEANFILES += promql/parser.c promql/parser.h promql/parser.out

promql/parser.c: $(srcdir)/promql/parser.y
	$(AM_V_GEN)$(MKDIR_P) promql && \
	rm -f promql/parser.c promql/parser.h promql/parser.out && \
	$(LEMON) -T$(LEMON_TEMPLATE) -dpromql $(srcdir)/promql/parser.y
promql/parser.h: promql/parser.c
	@test -f $@ || { rm -f promql/parser.c; $(MAKE) $(AM_MAKEFLAGS) promql/parser.c; }

check_PROGRAMS += tests/unit/test_promql_parse
TESTS += tests/unit/test_promql_parse
tests_unit_test_promql_parse_SOURCES = tests/unit/test_promql_parse.c \
	tests/unit/matcher_stub_for_parser.c
tests_unit_test_promql_parse_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_promql_parse_LDADD = $(TEST_LDADD)
