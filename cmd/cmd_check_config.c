/* SPDX-License-Identifier: Apache-2.0
 * cmd_check_config.c - tinyprom check config (not built yet). */
#include "config.h"
#include "cmd/commands.h"

#include <stdio.h>

int cmd_check_config(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "tinyprom: 'check config' is not implemented yet\n");
	return 1;
}
