/* SPDX-License-Identifier: Apache-2.0
 * expfmt_lint.h - `tinyprom check metrics`: lints a text exposition the
 * way `promtool check metrics` 2.42 does (client_golang promlint rules,
 * expfmt's stricter parse errors with line numbers) plus histogram and
 * summary completeness checks promtool lacks.
 * Invariants: output goes only to the given streams; the exit status is
 * 0 clean, 3 lint problems, 1 parse error, as promtool. Problems print
 * as "NAME TEXT" sorted by name then text; --extended prints the
 * cardinality table to out only when there is no problem. */
#ifndef SCRAPE_EXPFMT_LINT_H
#define SCRAPE_EXPFMT_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SCRAPE_LINT_OK 0
#define SCRAPE_LINT_ERROR 1
#define SCRAPE_LINT_PROBLEMS 3

int scrape_lint_run(const char *buf, size_t len, bool extended, FILE *out, FILE *err);

#endif
