/* SPDX-License-Identifier: Apache-2.0
 * cmd_check_metrics.c - tinyprom check metrics (not built yet). */
#include "config.h"
#include "cmd/commands.h"

#include <stdio.h>

int cmd_check_metrics(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "tinyprom: 'check metrics' is not implemented yet\n");
	return 1;
}
