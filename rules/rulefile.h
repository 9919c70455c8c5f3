/* SPDX-License-Identifier: Apache-2.0
 * rulefile.h - Prometheus rule files (groups of recording and alerting
 * rules) loaded with libyaml and validated as promtool does, with its
 * error texts ("5:15: group \"g1\", rule 1, \"name\": could not parse
 * expression: ..."). Expressions are parsed once at load time. */
#ifndef RULES_RULEFILE_H
#define RULES_RULEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/labels.h"
#include "lib/strbuf.h"
#include "promql/ast.h"

typedef struct rules_kv {
	char *name;
	char *value;   /* raw template text */
} rules_kv;

typedef struct rules_rule {
	bool alerting;            /* alert: (true) or record: (false) */
	char *name;               /* the alert or record name */
	char *expr_text;
	promql_expr *expr;        /* parsed; NULL only in a file that failed to load */
	int64_t for_ms;
	int64_t keep_firing_for_ms;
	rules_kv *labels;         /* sorted by name */
	size_t nlabels;
	rules_kv *annotations;    /* sorted by name */
	size_t nannotations;
	int line;                 /* 1-based line of the rule in its file */
} rules_rule;

typedef struct rules_group {
	char *name;
	char *file;               /* path of the file it came from */
	int64_t interval_ms;      /* 0: the global evaluation_interval */
	int64_t query_offset_ms;  /* -1: the global rule_query_offset */
	int limit;                /* 0: no limit */
	rules_kv *labels;         /* group labels (added to every rule), sorted */
	size_t nlabels;
	rules_rule *rules;
	size_t nrules;
} rules_group;

typedef struct rules_file {
	char *path;
	rules_group *groups;
	size_t ngroups;
} rules_file;

/* Loads and validates path. Returns 0, or the number of errors found (each
 * one line in errs, without the "path: " prefix). The file struct is only
 * filled on success; free it with rules_file_free. */
int rules_file_load(const char *path, const promql_parse_opts *popts, rules_file *out, tp_strbuf *errs);
void rules_file_free(rules_file *f);
size_t rules_file_count_rules(const rules_file *f);

#endif
