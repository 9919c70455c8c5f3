/* SPDX-License-Identifier: Apache-2.0
 * template.h - the subset of Go's text/template that Prometheus rule labels
 * and annotations use, with Prometheus's template functions.
 *
 * Supported: text and {{ }} actions with {{- -}} trimming, comments,
 * pipelines with |, variables ($x := / $x =), field chains (.Labels.job,
 * $labels.job, .Value), parenthesised pipelines, string/raw-string/number/
 * bool/nil literals, if/else if/else, range (maps in key order, query
 * results; with $k, $v :=), with/else, and the functions: printf print
 * println len index eq ne lt le gt ge and or not, humanize humanize1024
 * humanizeDuration humanizePercentage humanizeTimestamp title toUpper
 * toLower match reReplaceAll query first label value sortByLabel strvalue
 * safeHtml externalURL pathPrefix args graphLink tableLink toTime
 * parseDuration stripPort stripDomain urlquery.
 *
 * Expansion prepends Prometheus's prelude ($labels, $externalLabels,
 * $externalURL, $value). Errors never escape: rules_template_expand
 * returns "<error expanding template: ...>" as Prometheus does. */
#ifndef RULES_TEMPLATE_H
#define RULES_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/labels.h"
#include "lib/strbuf.h"

typedef struct rules_tmpl_sample {
	tp_labels labels;
	double value;
} rules_tmpl_sample;

/* Runs an instant query for the `query` function: fills *out (an array the
 * callee allocates with malloc, strings owned by the callee until
 * free_fn) or returns -1 with *err (malloc'd). */
typedef int rules_tmpl_query_fn(void *ud, const char *q, int64_t t_ms, rules_tmpl_sample **out, size_t *n,
				char **err);

typedef struct rules_tmpl_data {
	const tp_labels *labels;           /* .Labels / $labels */
	double value;                      /* .Value / $value */
	const tp_labels *external_labels;  /* .ExternalLabels / $externalLabels */
	const char *external_url;          /* .ExternalURL / $externalURL */
	int64_t t_ms;                      /* evaluation time (for query) */
	rules_tmpl_query_fn *query;        /* NULL: query fails with an error */
	void (*query_free)(void *ud, rules_tmpl_sample *s, size_t n);
	void *query_ud;
} rules_tmpl_data;

/* Expands text (name as Prometheus names it, e.g. "__alert_HighLoad").
 * Returns 0 and the expansion in out, or -1 with Go-style error text in
 * out ("template: __alert_X:1: unclosed action"). */
int rules_template_run(const char *name, const char *text, const rules_tmpl_data *d, tp_strbuf *out);
/* Prometheus's behaviour: the expansion, or "<error expanding template: E>". */
void rules_template_expand(const char *name, const char *text, const rules_tmpl_data *d, tp_strbuf *out);
/* Parses only (promtool's check); 0 or -1 with the error in err. */
int rules_template_check(const char *name, const char *text, tp_strbuf *err);

#endif
