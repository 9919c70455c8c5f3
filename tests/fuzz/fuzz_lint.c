/* SPDX-License-Identifier: Apache-2.0
 * fuzz_lint.c - libFuzzer target for `check metrics` (scrape_lint_run):
 * the linter must terminate with exit code 0, 1 or 3 on any input and
 * never read outside it (the input is copied to an exact-size block). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scrape/expfmt_lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	FILE *null = fopen("/dev/null", "w");
	if (!null) {
		free(buf);
		return 0;
	}
	int rc = scrape_lint_run(buf, size, size & 1, null, null);
	if (rc != 0 && rc != 1 && rc != 3)
		abort();
	fclose(null);
	free(buf);
	return 0;
}
