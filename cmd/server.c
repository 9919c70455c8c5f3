/* SPDX-License-Identifier: Apache-2.0
 * server.c - the server (flags and lifecycle come with the foundation). */
#include "config.h"
#include "cmd/commands.h"

#include <stdio.h>

int cmd_server(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "tinyprom: the server is not implemented yet\n");
	return 1;
}
