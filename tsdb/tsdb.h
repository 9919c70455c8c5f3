/* SPDX-License-Identifier: Apache-2.0
 * tsdb.h - the storage API everything above tsdb/ uses.
 *
 * Data model: a series is a normalised label set (lib/labels.h, __name__
 * included) with samples (int64 ms, double). Inside the process a series is
 * identified by a dense uint32_t ref handed out in creation order (0 is never
 * a valid ref). Label strings stored by the head are interned.
 *
 * Writes go through an appender: samples added to it become visible to
 * queriers only at commit, all of them; rollback discards them. Out-of-order
 * and duplicate checks happen at add time, so a commit cannot fail.
 * Reads go through a querier over [mint, maxt] (inclusive, ms).
 * All functions are thread-safe unless stated: any number of appenders (one
 * per thread) and queriers may be used at once.
 *
 * The stale marker is the NaN with bits 0x7ff0000000000002 (TSDB_STALE_NAN);
 * every NaN bit pattern is stored and read back bit-exact. */
#ifndef TSDB_TSDB_H
#define TSDB_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/labels.h"

#define TSDB_STALE_NAN_BITS 0x7ff0000000000002ULL
bool tsdb_is_stale_nan(double v);
double tsdb_stale_nan(void);

typedef enum tsdb_rc {
	TSDB_OK = 0,
	TSDB_ENOMEM = -1,
	TSDB_EOUTOFORDER = -2,   /* "out of order sample" */
	TSDB_EDUPLICATE = -3,    /* "duplicate sample for timestamp" */
	TSDB_EOUTOFBOUNDS = -4,  /* "out of bounds" (older than what the head keeps) */
	TSDB_EINVAL = -5,        /* bad labels: empty set, invalid or duplicate names */
	TSDB_ECORRUPT = -6,
	TSDB_ENOTFOUND = -7,     /* unknown series ref */
} tsdb_rc;

/* Prometheus's wording for rc (e.g. "out of order sample"). */
const char *tsdb_rc_str(int rc);

typedef struct tsdb_head tsdb_head;
typedef struct tsdb_appender tsdb_appender;
typedef struct tsdb_querier tsdb_querier;
typedef struct tsdb_series_set tsdb_series_set;

typedef struct tsdb_options {
	int64_t retention_ms;     /* 0: keep forever; else tsdb_head_truncate drops older chunks */
	uint32_t chunk_samples;   /* samples per chunk before it is cut; 0: default (120) */
} tsdb_options;

typedef struct tsdb_stats {
	uint64_t num_series;
	uint64_t num_samples;           /* samples currently held */
	uint64_t num_chunks;
	uint64_t chunk_bytes;           /* encoded chunk payload bytes */
	uint64_t head_bytes;            /* all other memory of the head (index, series, chunk metadata) */
	int64_t min_time_ms, max_time_ms;  /* INT64_MAX/INT64_MIN when empty */
	uint64_t samples_appended;      /* committed, ever */
	uint64_t out_of_order_samples;  /* rejected with TSDB_EOUTOFORDER */
	uint64_t duplicate_samples;     /* rejected with TSDB_EDUPLICATE */
	uint64_t out_of_bounds_samples; /* rejected with TSDB_EOUTOFBOUNDS */
	uint64_t series_created, series_removed;
} tsdb_stats;

/* ---- head ---- */

tsdb_head *tsdb_head_new(const tsdb_options *opts);  /* opts may be NULL */
void tsdb_head_free(tsdb_head *h);                   /* NULL is a no-op */
void tsdb_head_stats(tsdb_head *h, tsdb_stats *out);
/* Drops every chunk whose samples are all older than mint_ms; series left
 * without samples leave the index (their refs are never reused). Returns
 * the number of series removed. */
size_t tsdb_head_truncate(tsdb_head *h, int64_t mint_ms);
/* Hooks for a write-ahead log (optional; set before the head is used).
 * series_created runs once per new series, before its ref is handed out,
 * and must not call into the head. samples_committed runs at commit with
 * the accepted samples, before they become visible (a sample that another
 * appender's commit made out of order meanwhile is in the batch, and is
 * then dropped and counted). It returns 0 when the batch is logged, or -1
 * with a message in err (errlen bytes): the commit then fails as a whole
 * (nothing becomes visible; tsdb_appender_error says why), as Prometheus's
 * does when it cannot write to its WAL. */
typedef struct tsdb_ref_sample {
	uint32_t ref;
	int64_t t;
	double v;
} tsdb_ref_sample;
typedef struct tsdb_head_hooks {
	void (*series_created)(void *ctx, uint32_t ref, const tp_labels *l);
	int (*samples_committed)(void *ctx, const tsdb_ref_sample *s, size_t n, char *err, size_t errlen);
	void *ctx;
} tsdb_head_hooks;
void tsdb_head_set_hooks(tsdb_head *h, const tsdb_head_hooks *hooks);
/* For WAL replay (tsdb/wal_head.c): creates the series l under exactly
 * ref, a ref handed out by an earlier run, and moves the ref counter past
 * ref in every case, so new series never reuse an old ref. Returns ref; or
 * the existing ref when l already exists under another one (the caller
 * maps ref to it); 0 when ref is 0 or taken by a different label set, or
 * l is invalid. Hooks are not called. */
uint32_t tsdb_head_replay_series(tsdb_head *h, uint32_t ref, const tp_labels *l);
/* Labels of a series by ref, or NULL; valid as long as the series exists
 * (callers holding refs across truncation must re-check). */
const tp_labels *tsdb_head_series_labels(tsdb_head *h, uint32_t ref);

/* ---- appender ---- */

tsdb_appender *tsdb_appender_new(tsdb_head *h);
/* Adds a sample for the series with labels l (normalised: sorted, no empty
 * values; strings need not be interned). Creates the series if needed.
 * On success stores its ref in *ref (may be NULL) for later add_ref calls.
 * Returns TSDB_OK, or a per-sample rejection (TSDB_EOUTOFORDER,
 * TSDB_EDUPLICATE, TSDB_EOUTOFBOUNDS, TSDB_EINVAL); a rejected sample is
 * counted and dropped, the appender stays usable. The same timestamp with
 * bit-identical value is accepted as a no-op. */
int tsdb_appender_add(tsdb_appender *a, const tp_labels *l, int64_t t_ms, double v, uint32_t *ref);
/* Same as add for a ref obtained earlier; TSDB_ENOTFOUND when the series
 * has been removed (look it up again by labels). */
int tsdb_appender_add_ref(tsdb_appender *a, uint32_t ref, int64_t t_ms, double v);
/* Makes every accepted sample visible. Returns the number committed. The
 * appender is empty and reusable afterwards. When the batch could not be
 * logged (the WAL hook failed: disk full, I/O error) nothing is committed,
 * 0 is returned and tsdb_appender_error says why. */
size_t tsdb_appender_commit(tsdb_appender *a);
/* Why the last commit failed ("write to WAL: ..."), or NULL when it did
 * not (or nothing was committed yet). */
const char *tsdb_appender_error(const tsdb_appender *a);
void tsdb_appender_rollback(tsdb_appender *a);
void tsdb_appender_free(tsdb_appender *a);  /* rolls back what is pending */

/* ---- matchers ---- */

typedef enum tsdb_match_type {
	TSDB_MATCH_EQ,   /* =  */
	TSDB_MATCH_NEQ,  /* != */
	TSDB_MATCH_RE,   /* =~ fully anchored PCRE2 */
	TSDB_MATCH_NRE,  /* !~ */
} tsdb_match_type;

typedef struct tsdb_matcher {
	tsdb_match_type type;
	char *name;   /* owned */
	char *value;  /* owned; the regex source for RE/NRE */
	void *re;     /* compiled pcre2_code for RE/NRE, else NULL */
	void *md;     /* pcre2 match data (per matcher; not shared across threads) */
} tsdb_matcher;

/* Initialises m (copies name and value). For regexes compiles
 * "^(?:value)$" with PCRE2 (JIT where available), DOTALL as Go's RE2 does
 * in Prometheus. Returns 0, or -1 with a message in err (Prometheus-like,
 * e.g. "invalid regular expression ..."). */
int tsdb_matcher_init(tsdb_matcher *m, tsdb_match_type type, const char *name, const char *value,
		      char *err, size_t errlen);
void tsdb_matcher_free(tsdb_matcher *m);
/* Whether value matches; an absent label is the empty string. */
bool tsdb_matcher_matches(const tsdb_matcher *m, const char *value);
/* Whether the matcher matches the empty string (such a matcher also
 * selects series without the label). */
bool tsdb_matcher_matches_empty(const tsdb_matcher *m);

/* ---- querier ---- */

typedef struct tsdb_sample {
	int64_t t;
	double v;
} tsdb_sample;

/* A querier reads within [mint_ms, maxt_ms]. Each select sees the samples
 * committed before it ran (a per-set snapshot: later commits do not change
 * a series set). While a querier lives, tsdb_head_truncate waits. */
tsdb_querier *tsdb_querier_new(tsdb_head *h, int64_t mint_ms, int64_t maxt_ms);
void tsdb_querier_free(tsdb_querier *q);

/* Series matching every matcher (n >= 1; at least one matcher should not
 * match the empty string, otherwise all series are scanned), sorted by
 * labels (tp_labels_cmp). Series with no sample in the querier's range are
 * skipped. */
tsdb_series_set *tsdb_querier_select(tsdb_querier *q, const tsdb_matcher *ms, size_t n);
bool tsdb_series_set_next(tsdb_series_set *ss);        /* advance; false at the end */
const tp_labels *tsdb_series_set_labels(tsdb_series_set *ss);  /* valid while q lives */
uint32_t tsdb_series_set_ref(tsdb_series_set *ss);
/* Decodes the current series' samples in [mint_ms, maxt_ms] (clipped to the
 * querier's range) into *buf (grown with realloc as needed, *cap updated).
 * Returns the number of samples. */
size_t tsdb_series_set_samples(tsdb_series_set *ss, int64_t mint_ms, int64_t maxt_ms,
			       tsdb_sample **buf, size_t *cap);
size_t tsdb_series_set_count(tsdb_series_set *ss);  /* total series in the set */
void tsdb_series_set_free(tsdb_series_set *ss);

/* Sample iterator over the current series of a set, restricted to the
 * querier's range; for callers that want to seek rather than decode all.
 * Storage is the caller's; no allocation per iterator. An iterator stays
 * valid after the set advances, until the set is freed. */
typedef struct tsdb_iter {
	_Alignas(16) unsigned char priv[256];  /* implementation state; do not touch */
} tsdb_iter;
void tsdb_series_set_iter(tsdb_series_set *ss, tsdb_iter *it);
bool tsdb_iter_next(tsdb_iter *it);                 /* false at the end */
bool tsdb_iter_seek(tsdb_iter *it, int64_t t_ms);   /* to the first sample >= t; false if none */
void tsdb_iter_at(const tsdb_iter *it, int64_t *t_ms, double *v);

/* Sorted distinct label names (n == 0: of all series), and sorted distinct
 * values of one label among series matching ms. *out is a malloc'd array
 * of interned strings that the caller frees (the strings are not freed). */
size_t tsdb_querier_label_names(tsdb_querier *q, const tsdb_matcher *ms, size_t n, const char ***out);
size_t tsdb_querier_label_values(tsdb_querier *q, const char *name, const tsdb_matcher *ms, size_t n,
				 const char ***out);

#endif
