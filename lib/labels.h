/* SPDX-License-Identifier: Apache-2.0
 * labels.h - label sets.
 * A tp_labels is an array of (name, value) pairs sorted by name with no
 * duplicate names and no empty values. The strings are NUL-terminated and
 * either interned (tp_intern: stored series) or owned by whoever owns the
 * array (an arena for query results). Comparison always uses the bytes, so
 * interned and non-interned sets mix freely. */
#ifndef LIB_LABELS_H
#define LIB_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/strbuf.h"

#define TP_METRIC_NAME "__name__"

typedef struct tp_label {
	const char *name;
	const char *value;
} tp_label;

typedef struct tp_labels {
	tp_label *v;  /* sorted by name */
	uint32_t n;
} tp_labels;

/* Prometheus's labels.Compare order: label by label, name then value,
 * a prefix sorts first. */
int tp_labels_cmp(const tp_labels *a, const tp_labels *b);
bool tp_labels_equal(const tp_labels *a, const tp_labels *b);
/* Content hash: equal sets hash equal wherever their strings live. */
uint64_t tp_labels_hash(const tp_labels *l);
/* Hash of only the named labels (include) or of all but them (!include);
 * names need not be sorted. Used for `by`/`on` grouping. */
uint64_t tp_labels_hash_for(const tp_labels *l, const char *const *names, size_t n, bool include);
/* The value of name, or NULL when the set has no such label. */
const char *tp_labels_get(const tp_labels *l, const char *name);
/* Sorts v by name in place and drops pairs with empty values; when a name
 * repeats the last one wins. */
void tp_labels_normalize(tp_labels *l);
/* Deep copy into an arena (strings copied too unless interned is true, in
 * which case only the array is copied). */
tp_labels tp_labels_copy(tp_arena *a, const tp_labels *l, bool strings_too);
/* Appends `{a="b", c="d"}` as Prometheus's Labels.String does; with
 * name_first, `name{a="b"}` (metric name outside the braces). */
void tp_labels_format(tp_strbuf *sb, const tp_labels *l, bool name_first);
/* Checks a label name / metric name against Prometheus's legacy charset
 * ([a-zA-Z_][a-zA-Z0-9_]*, and ':' allowed in metric names). */
bool tp_label_name_valid(const char *s, size_t n);
/* Whether the NUL-terminated s is valid UTF-8 (label values must be). */
bool tp_utf8_valid(const char *s);
bool tp_metric_name_valid(const char *s, size_t n);

/* A builder accumulates set/delete operations over a base set and produces
 * a normalised set in an arena. */
typedef struct tp_labels_builder {
	tp_label *v;
	uint32_t n, cap;
	tp_arena *arena;
} tp_labels_builder;

void tp_lb_init(tp_labels_builder *b, tp_arena *a, const tp_labels *base);
void tp_lb_set(tp_labels_builder *b, const char *name, const char *value); /* "" deletes */
void tp_lb_del(tp_labels_builder *b, const char *name);
/* Keep only (keep=true) or drop (keep=false) the given names. */
void tp_lb_filter(tp_labels_builder *b, const char *const *names, size_t n, bool keep);
tp_labels tp_lb_labels(tp_labels_builder *b);  /* sorted; valid until the arena resets */

#endif
