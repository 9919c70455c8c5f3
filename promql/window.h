/* SPDX-License-Identifier: Apache-2.0
 * window.h - range functions evaluated with state that slides across the
 * steps of a query (window.c), so each sample of a series enters and
 * leaves the window once: O(samples + steps) per series instead of
 * O(steps x window).
 *
 * Invariant: the value for a window depends only on the samples in it,
 * never on the steps before, so a range query returns bit for bit what an
 * instant query returns at each of its steps (and a subquery what the
 * same window gives anywhere else). */
#ifndef PROMQL_WINDOW_H
#define PROMQL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "promql/functions.h"
#include "tsdb/tsdb.h"

/* Exact sum of doubles: 32-bit digits (in int64 cells that absorb carries)
 * of a fixed-point number whose lowest bit is 2^-1074, so every finite
 * double adds and subtracts without rounding. Infinities and NaNs are
 * counted apart. */
#define PROMQL_XSUM_DIGITS 70
typedef struct promql_xsum {
	int64_t d[PROMQL_XSUM_DIGITS];
	int lo, hi;              /* digits that may be non-zero: [lo, hi]; lo > hi when none */
	uint32_t ops;            /* additions since the digits were last normalised */
	int64_t pinf, ninf, nan; /* +Inf, -Inf and NaN samples */
} promql_xsum;

void promql_xsum_reset(promql_xsum *x);
/* Adds v (sign +1) or takes it away again (sign -1). */
void promql_xsum_add(promql_xsum *x, double v, int sign);
/* The finite part of the sum rounded once to the nearest double (ties to
 * even; +0 for an exact zero, +-Inf past the double range). */
double promql_xsum_round(const promql_xsum *x);

typedef enum promql_slide_rc {
	PROMQL_SLIDE_NONE = 0,   /* no output at this step */
	PROMQL_SLIDE_VALUE,      /* *out holds the value */
	PROMQL_SLIDE_FALLBACK,   /* compute this window the one-shot way */
} promql_slide_rc;

/* A deque of sample indices whose keys are monotonic from head to tail:
 * the head is the extreme of the window. */
typedef struct promql_idx_deque {
	size_t *v;
	size_t head, tail;
} promql_idx_deque;

/* Sliding state for one range function over the samples of one series. */
typedef struct promql_slide {
	promql_func_id id;
	const tsdb_sample *pts;
	size_t n;
	size_t lo, hi;           /* the window the state holds: pts[lo, hi) */
	bool held;               /* sum/avg: whether sum holds that window */
	bool single;             /* one window per series expected (instant query) */
	size_t calls;            /* windows evaluated for this series */
	size_t prev_hi;          /* end of the previous window */
	promql_xsum sum;         /* sum/avg_over_time: the exact sum */
	bool bounds;             /* sum/avg: the series-wide bounds below are known */
	int lsb_min, top_max;    /* sum/avg: over all finite non-zero samples of the series */
	bool any_finite;         /* ... when there is one */
	promql_idx_deque ext;    /* min/max: the value */
	uint32_t *prefix;        /* changes/resets: prefix[i] = flagged pairs (j-1, j), j <= i */
	tp_arena *arena;
	size_t cap;              /* capacity of the arrays above */
} promql_slide;

/* Whether fn has a sliding form. */
bool promql_slide_supports(promql_func_id id);
/* Starts the state for a series (pts stays owned by the caller and must
 * not change until the next init). Memory comes from arena and is reused
 * by later inits of the same state; zero the state before the first one.
 * single: only one window will be asked for (it is then summed directly,
 * without building sliding state; the results are the same). */
void promql_slide_init(promql_slide *s, tp_arena *arena, promql_func_id id, const tsdb_sample *pts, size_t n,
		       bool single);
/* The function over the window pts[lo, hi), hi > lo. Between calls lo and
 * hi may only grow. */
promql_slide_rc promql_slide_eval(promql_slide *s, size_t lo, size_t hi, double *out);

#endif
