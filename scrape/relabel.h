/* SPDX-License-Identifier: Apache-2.0
 * relabel.h - Prometheus relabeling (relabel_configs, metric_relabel_configs,
 * alert_relabel_configs, write_relabel_configs).
 *
 * Semantics follow prometheus/model/relabel: every action of current
 * Prometheus (replace, keep, drop, keepequal, dropequal, hashmod, labelmap,
 * labeldrop, labelkeep, lowercase, uppercase). Regexes are fully anchored
 * ("^(?:" regex ")$") and run on PCRE2; replacements expand $1, ${1},
 * $name, ${name} and $$ exactly as Go's regexp.Expand.
 *
 * Invariants:
 *  - A relabel_config that passed relabel_config_finish() has a compiled
 *    regex and satisfies all of Prometheus's load-time validation rules, so
 *    relabel_process() never fails other than by dropping.
 *  - relabel_process() never modifies its input set; the result lives in
 *    the caller's arena (strings that were not changed are shared with the
 *    input).
 *  - Results never contain empty values (setting "" deletes). A label name
 *    produced by labelmap is NOT validated (Prometheus does not either);
 *    replace skips the write when the expanded target is not a valid name.
 *    Callers that ingest the result check names with tp_label_name_valid. */
#ifndef SCRAPE_RELABEL_H
#define SCRAPE_RELABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/labels.h"

/* ORDER RELABEL_ACTION: relabel.c's action name table follows this order. */
typedef enum relabel_action {
	RELABEL_REPLACE = 0,
	RELABEL_KEEP,
	RELABEL_DROP,
	RELABEL_KEEPEQUAL,
	RELABEL_DROPEQUAL,
	RELABEL_HASHMOD,
	RELABEL_LABELMAP,
	RELABEL_LABELDROP,
	RELABEL_LABELKEEP,
	RELABEL_LOWERCASE,
	RELABEL_UPPERCASE,
	RELABEL_ACTION_INVALID,  /* unknown, or unset (YAML null): rejected by relabel_config_finish */
} relabel_action;

struct relabel_regex;  /* compiled, anchored PCRE2 pattern */

typedef struct relabel_config {
	char **source_labels;      /* owned */
	size_t n_source_labels;
	bool source_labels_set;    /* the key was present (even as []) */
	char *separator;           /* owned; default ";" */
	char *regex;               /* owned; the pattern as written, default "(.*)" */
	bool regex_set;            /* the key was present */
	uint64_t modulus;          /* hashmod only; 0 = unset */
	char *target_label;        /* owned; default "" */
	char *replacement;         /* owned; default "$1" */
	relabel_action action;     /* default replace */
	char *action_text;         /* owned; as written, for error messages (NULL = default) */
	struct relabel_regex *re;  /* set by relabel_config_finish */
} relabel_config;

/* Fills c with Prometheus's defaults (action replace, separator ";",
 * regex "(.*)", replacement "$1"). Every owned field is heap-allocated. */
void relabel_config_init(relabel_config *c);
/* Frees everything c owns; c may then be re-initialised. NULL-safe. */
void relabel_config_clear(relabel_config *c);
/* Deep copy (regex recompiled). Returns 0, or -1 if src was not finished. */
int relabel_config_copy(relabel_config *dst, const relabel_config *src);
/* Setters replacing an owned string (value copied). */
void relabel_config_set_str(char **field, const char *value);
/* Parses an action name case-insensitively; RELABEL_ACTION_INVALID if unknown. */
relabel_action relabel_action_parse(const char *s);
const char *relabel_action_name(relabel_action a);

/* Compiles the regex and validates c like Prometheus's Config.Validate
 * (plus regex compilation errors), in Prometheus's order and wording, e.g.
 * `relabel configuration for hashmod requires non-zero modulus`.
 * Returns 0, or -1 with the message in err (NUL-terminated, truncated to
 * errlen). Must succeed before relabel_process sees c. */
int relabel_config_finish(relabel_config *c, char *err, size_t errlen);
/* Content equality of two finished configs (for config reload). */
bool relabel_config_equal(const relabel_config *a, const relabel_config *b);

/* Applies cfgs in order to in. Returns true and the new set in *out
 * (sorted, in arena a) or false when some rule dropped the set. */
bool relabel_process(const relabel_config *cfgs, size_t n, tp_arena *a,
		     const tp_labels *in, tp_labels *out);

/* Go's regexp.Expand of tmpl for the regex of c matched against subject
 * (what replace and labelmap use), appended to sb. ovector holds 2*ngroups
 * offsets, PCRE2_UNSET for groups that did not participate. */
struct tp_strbuf;
void relabel_expand(const relabel_config *c, struct tp_strbuf *sb, const char *tmpl,
		    const char *subject, const size_t *ovector, uint32_t ngroups);

/* MD5 (RFC 1321) of data, into out[16]. Used by hashmod. */
void relabel_md5(const void *data, size_t len, uint8_t out[16]);
/* The hashmod value Prometheus computes: big-endian uint64 of md5 bytes
 * 8..15, modulo modulus (modulus > 0). */
uint64_t relabel_hashmod(const char *val, size_t len, uint64_t modulus);

#endif
