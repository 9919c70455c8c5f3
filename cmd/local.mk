# cmd/local.mk - subcommands (in the library so tests can call them).
libtinyprom_a_SOURCES += \
	cmd/commands.h \
	cmd/server.c cmd/app.c cmd/app.h \
	cmd/cmd_promqltest.c \
	cmd/cmd_check_config.c \
	cmd/cmd_check_metrics.c \
	cmd/cmd_check_rules.c \
	cmd/cmd_test_rules.c
