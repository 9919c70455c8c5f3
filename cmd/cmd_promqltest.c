/* SPDX-License-Identifier: Apache-2.0
 * cmd_promqltest.c - tinyprom promqltest (not built yet). */
#include "config.h"
#include "cmd/commands.h"

#include <stdio.h>

int cmd_promqltest(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "tinyprom: 'promqltest' is not implemented yet\n");
	return 1;
}
