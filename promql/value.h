/* SPDX-License-Identifier: Apache-2.0
 * value.h - the evaluator's internal values and the cross-file helpers of
 * engine.c, funcs_eval.c, aggregate.c, binop.c and histogram.c.
 *
 * Every node is evaluated over a step grid (start, start+interval, ...,
 * end): an instant vector is a step matrix (series x steps, with a presence
 * byte per cell), a scalar one double per step. Range vectors are only
 * materialised for subqueries and for a top-level range-vector result.
 * Invariants: everything lives in the query arena (ev->arena); labels of a
 * value's series are normalised; errors longjmp to the query entry point
 * (promql_ev_fail), so no evaluation function returns an error code. */
#ifndef PROMQL_VALUE_H
#define PROMQL_VALUE_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/common.h"
#include "lib/labels.h"
#include "promql/ast.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"

/* One series of a step matrix. */
typedef struct ev_series {
	tp_labels labels;
	double *v;     /* nsteps values */
	uint8_t *ok;   /* nsteps presence flags */
	bool drop_name; /* delayed name removal: drop __name__ at the end */
} ev_series;

/* One series of a range vector (a subquery's output, or a top-level
 * range-vector result). */
typedef struct ev_mseries {
	tp_labels labels;
	tsdb_sample *pts;
	size_t n;
} ev_mseries;

typedef struct ev_value {
	promql_type type;
	double *scalar;        /* SCALAR: nsteps values */
	ev_series *series;     /* VECTOR */
	size_t nseries;
	ev_mseries *mseries;   /* MATRIX */
	const char *str;       /* STRING */
} ev_value;

/* Annotations collected during a query, deduplicated by text. */
typedef struct ev_annos {
	char **warn;
	size_t nwarn, capwarn;
	char **info;
	size_t ninfo, capinfo;
} ev_annos;

typedef struct ev {
	promql_engine *engine;
	tp_arena *arena;          /* the result's arena */
	const char *query;        /* text, for annotation positions (may be NULL) */
	int64_t start, end, interval;  /* current grid (ms) */
	size_t nsteps;
	int64_t q_start, q_end;   /* the query's own bounds: @ start()/end() */
	int64_t q_step;           /* the query's step: 0 for an instant query (step()) */
	bool range_query;         /* the outermost query is a range query */
	bool delayed_names;       /* promql-delayed-name-removal */
	int64_t lookback_ms;
	int64_t subquery_step_ms;
	int64_t deadline_ns;      /* 0: none */
	int64_t max_samples;
	int64_t cur_samples;
	uint64_t samples_scanned;
	tsdb_head *head;
	tsdb_querier *querier;
	tsdb_series_set *open_set;   /* freed on error */
	tsdb_sample *buf;            /* reused decode buffer (malloc) */
	size_t buf_cap;
	ev_annos annos;
	jmp_buf jb;
	promql_err err;
	char *errmsg;
} ev;

/* ---- engine.c ---- */
_Noreturn void promql_ev_fail(ev *e, promql_err type, const char *fmt, ...) TP_PRINTF(3, 4);
void promql_ev_check(ev *e);  /* timeout check */
void promql_ev_count_samples(ev *e, int64_t n);
/* Adds a "PromQL warning: ..." / "PromQL info: ..." annotation; pos_node may
 * be NULL (no position suffix). */
void promql_ev_warn(ev *e, const promql_node *pos_node, const char *fmt, ...) TP_PRINTF(3, 4);
void promql_ev_info(ev *e, const promql_node *pos_node, const char *fmt, ...) TP_PRINTF(3, 4);
ev_value promql_ev_eval(ev *e, const promql_node *n);
int64_t promql_ev_step_t(const ev *e, size_t i);
ev_series *promql_ev_series_new(ev *e, ev_series **arr, size_t *n, size_t *cap, const tp_labels *l);
/* Series with the same labels are merged into one; two of them present at
 * the same step is the error "vector cannot contain metrics with the same
 * labelset". Series without any point are dropped. */
void promql_ev_merge_same(ev *e, ev_value *v);
/* Drops __name__, __type__ and __unit__ (Prometheus's metadata labels). */
tp_labels promql_labels_drop_name(ev *e, const tp_labels *l);
/* Drops the name of a series now, or flags it for the end of the query
 * with delayed name removal. */
void promql_series_drop_name(ev *e, ev_series *s);
/* Applies pending name drops (delayed name removal) to v. */
void promql_ev_cleanup_names(ev *e, ev_value *v);
const promql_node *promql_unwrap_paren(const promql_node *n);
int64_t *promql_ev_ref_times(ev *e, const promql_node *sel_or_subquery);
tsdb_series_set *promql_ev_select(ev *e, const promql_node *vs);
void promql_ev_select_done(ev *e);
ev_value promql_ev_vector_selector(ev *e, const promql_node *vs, bool want_ts);
/* Current series of the open set in (lo, hi], stale markers removed, into
 * e->buf; returns the count. */
size_t promql_ev_load_window(ev *e, tsdb_series_set *ss, int64_t lo, int64_t hi);
ev_value promql_ev_subquery(ev *e, const promql_node *sq);

/* ---- funcs_eval.c ---- */
ev_value promql_ev_call(ev *e, const promql_node *n);

/* ---- funcs_extended.c: anchored and smoothed selectors ---- */
/* Whether a (paren-free) range argument is an anchored or smoothed
 * matrix selector. */
bool promql_ev_is_extended(const promql_node *arg);
/* The range function call over the anchored/smoothed matrix selector ms:
 * appends an output series to r for every input series with a value;
 * fails for functions that do not accept the modifier. */
void promql_ev_extended_range(ev *e, const promql_node *call, const promql_node *ms, ev_value *r, size_t *cap);
/* `foo smoothed`: values interpolated at every step. */
ev_value promql_ev_smoothed_selector(ev *e, const promql_node *vs);
/* `foo[5m] anchored` / `smoothed` as a range-vector result. */
ev_value promql_ev_extended_matrix(ev *e, const promql_node *ms);

/* ---- aggregate.c ---- */
ev_value promql_ev_aggregate(ev *e, const promql_node *n);
/* xxHash64 with seed 0 (Prometheus's labels.Hash, used by limit_ratio). */
uint64_t promql_xxh64(const void *data, size_t n);
/* quantile over values (sorted in place), as Prometheus's quantile(). */
double promql_quantile(double q, double *vals, size_t n);

/* ---- binop.c ---- */
ev_value promql_ev_binary(ev *e, const promql_node *n);

/* ---- histogram.c ---- */
ev_value promql_ev_histogram_quantile(ev *e, const promql_node *n);
ev_value promql_ev_histogram_fraction(ev *e, const promql_node *n);
ev_value promql_ev_histogram_quantiles(ev *e, const promql_node *n);

/* ---- small math shared by several files ---- */
/* Go's math.Max / math.Min: an infinity of the right sign wins over NaN,
 * NaN over everything else, +0 over -0 (max) and -0 over +0 (min). */
static inline double go_max(double a, double b)
{
	if (__builtin_isinf(a) && a > 0) return a;
	if (__builtin_isinf(b) && b > 0) return b;
	if (__builtin_isnan(a) || __builtin_isnan(b)) return __builtin_nan("");
	if (a == 0 && a == b) return __builtin_signbit(a) ? b : a;
	return a > b ? a : b;
}

static inline double go_min(double a, double b)
{
	if (__builtin_isinf(a) && a < 0) return a;
	if (__builtin_isinf(b) && b < 0) return b;
	if (__builtin_isnan(a) || __builtin_isnan(b)) return __builtin_nan("");
	if (a == 0 && a == b) return __builtin_signbit(a) ? a : b;
	return a < b ? a : b;
}

static inline void kahan_inc(double inc, double *sum, double *c)
{
	double t = *sum + inc;
	if (__builtin_isinf(t))
		*c = 0;
	else if (__builtin_fabs(*sum) >= __builtin_fabs(inc))
		*c += (*sum - t) + inc;
	else
		*c += (inc - t) + *sum;
	*sum = t;
}

#endif
