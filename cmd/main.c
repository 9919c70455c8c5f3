/* SPDX-License-Identifier: Apache-2.0
 * main.c - entry point: dispatches subcommands, otherwise runs the server. */
#include "config.h"
#include "cmd/commands.h"

#include <stdio.h>
#include <string.h>

static int usage_check(void)
{
	fprintf(stderr, "usage: tinyprom check config|rules|metrics [ARGS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "promqltest") == 0)
		return cmd_promqltest(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "check") == 0) {
		if (argc < 3)
			return usage_check();
		if (strcmp(argv[2], "config") == 0)
			return cmd_check_config(argc - 2, argv + 2);
		if (strcmp(argv[2], "metrics") == 0)
			return cmd_check_metrics(argc - 2, argv + 2);
		if (strcmp(argv[2], "rules") == 0)
			return cmd_check_rules(argc - 2, argv + 2);
		return usage_check();
	}
	if (argc >= 2 && strcmp(argv[1], "test") == 0) {
		if (argc >= 3 && strcmp(argv[2], "rules") == 0)
			return cmd_test_rules(argc - 2, argv + 2);
		fprintf(stderr, "usage: tinyprom test rules FILE...\n");
		return 2;
	}
	return cmd_server(argc, argv);
}
