/* SPDX-License-Identifier: Apache-2.0
 * cmd_check_metrics.c - `tinyprom check metrics [--extended]`: lints the
 * text exposition on stdin like `promtool check metrics` (2.42).
 * Exit status: 0 clean, 3 lint problems, 1 parse or read error, 2 usage.
 * The whole of stdin is read into memory first (the parser is zero-copy). */
#include "config.h"
#include "cmd/commands.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "scrape/expfmt_lint.h"

static int usage(void)
{
	fprintf(stderr, "usage: tinyprom check metrics [--extended] < exposition\n\n"
			"Pass Prometheus metrics over stdin to lint them for consistency and correctness.\n\n"
			"  --extended  Print extended information related to the cardinality of the metrics.\n");
	return 2;
}

int cmd_check_metrics(int argc, char **argv)
{
	bool extended = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--extended") == 0)
			extended = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage(), 0;
		else
			return usage();
	}
	size_t cap = 1 << 16, n = 0, r;
	char *buf = tp_xmalloc(cap);
	while ((r = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap)
			buf = tp_xrealloc(buf, cap *= 2);
	}
	if (ferror(stdin)) {
		fprintf(stderr, "error while linting: cannot read stdin\n");
		free(buf);
		return 1;
	}
	int rc = scrape_lint_run(buf, n, extended, stdout, stderr);
	free(buf);
	return rc;
}
