/* SPDX-License-Identifier: Apache-2.0
 * commands.h - tinyprom's subcommands. Each returns the process exit status
 * (0 success, 1 failure/problems found, 2 usage error, as promtool). */
#ifndef CMD_COMMANDS_H
#define CMD_COMMANDS_H

int cmd_server(int argc, char **argv);         /* the server: flags, start, run, stop */
int cmd_promqltest(int argc, char **argv);     /* tinyprom promqltest FILE... */
int cmd_check_config(int argc, char **argv);   /* tinyprom check config FILE... */
int cmd_check_metrics(int argc, char **argv);  /* tinyprom check metrics < exposition */
int cmd_check_rules(int argc, char **argv);    /* tinyprom check rules FILE... */
int cmd_test_rules(int argc, char **argv);     /* tinyprom test rules FILE... */
/* Checks one rule file as promtool prints it (errors indented by indent:
 * "" for check rules, five spaces inside check config). Returns the number
 * of rules, or -1 when the file has errors. */
int cmd_check_rules_file(const char *path, const char *indent);

#endif
