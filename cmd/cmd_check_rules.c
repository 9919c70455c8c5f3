/* SPDX-License-Identifier: Apache-2.0
 * cmd_check_rules.c - tinyprom check rules FILE...: validates rule files
 * and prints the result as promtool 2.42 does (SUCCESS/FAILED blocks,
 * errors prefixed with the file name on stderr; exit 1 on any failure). */
#include "config.h"
#include "cmd/commands.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rules/rulefile.h"

int cmd_check_rules_file(const char *path, const char *indent)
{
	printf("Checking %s\n", path);
	fflush(stdout);
	rules_file rf;
	tp_strbuf errs = { 0 };
	promql_parse_opts popts = { 0 };
	int rc = rules_file_load(path, &popts, &rf, &errs);
	if (rc != 0) {
		fprintf(stderr, "  FAILED:\n");
		/* every error line carries the file name */
		const char *s = tp_sb_cstr(&errs);
		while (*s) {
			const char *nl = strchr(s, '\n');
			size_t n = nl ? (size_t)(nl - s) : strlen(s);
			/* continuation lines of one error ("  line 5: ...") stay unprefixed */
			if (n >= 2 && s[0] == ' ' && s[1] == ' ')
				fprintf(stderr, "%s%.*s\n", indent, (int)n, s);
			else
				fprintf(stderr, "%s%s: %.*s\n", indent, path, (int)n, s);
			s += n + (nl ? 1 : 0);
		}
		tp_sb_free(&errs);
		printf("\n");
		return -1;
	}
	size_t n = rules_file_count_rules(&rf);
	printf("  SUCCESS: %zu rules found\n\n", n);
	rules_file_free(&rf);
	tp_sb_free(&errs);
	return (int)n;
}

int cmd_check_rules(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "tinyprom: error: required argument 'rule-files' not provided\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (access(argv[i], F_OK) != 0) {
			fprintf(stderr, "tinyprom: error: path '%s' does not exist, try --help\n", argv[i]);
			return 1;
		}
	}
	int failed = 0;
	for (int i = 1; i < argc; i++)
		if (cmd_check_rules_file(argv[i], "") < 0)
			failed = 1;
	return failed;
}
