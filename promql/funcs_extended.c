/* SPDX-License-Identifier: Apache-2.0
 * funcs_extended.c - the `anchored` and `smoothed` selector modifiers
 * (--enable-feature=promql-extended-range-selectors), after Prometheus's
 * extendedRate, pickFirstSampleIndex, smoothSeries and extendFloats.
 *
 * An anchored range (t-r, t] also sees the last sample at or before t-r
 * (within the lookback delta) and uses it as the left boundary value; the
 * right boundary is the last sample in the range. A smoothed range also
 * sees the samples up to one lookback delta after t and interpolates
 * linearly at t-r and at t (a counter reset between the two samples
 * restarts the counter at 0 for rate and increase). Neither extrapolates.
 * Only rate, increase, delta, changes and resets (anchored) and rate,
 * increase and delta (smoothed) accept such a range; other functions fail
 * with Prometheus's text. A smoothed instant selector interpolates at the
 * evaluation time between the samples around it (lookback on both sides).
 *
 * Invariants: a window is (ref - range - lookback, ref (+ lookback when
 * smoothed)], ref non-decreasing over the steps, so the window indices only
 * slide forward; samples are float samples without stale markers
 * (promql_ev_load_window). */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/common.h"
#include "promql/functions.h"
#include "promql/value.h"

/* ---- boundary values ---- */

/* Go's sort.Search over f[0..n): the first index whose time is after t
 * (strict) or at or after t (!strict); n when there is none. */
static size_t search_time(const tsdb_sample *f, size_t n, int64_t t, bool strict)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strict ? f[mid].t > t : f[mid].t >= t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The samples standing for the edges of the range (start, end] in the
 * extended window f[0..n), n >= 1: *first is the last sample at or before
 * start (else the first sample), *last the last sample or, smoothed, the
 * first one at or after end. False when no sample lies in the range. */
static bool boundaries(const tsdb_sample *f, size_t n, int64_t start, int64_t end, bool smoothed, size_t *first,
		       size_t *last)
{
	size_t l = n - 1;
	size_t k = search_time(f, l, start, true);
	size_t fi = k > 0 ? k - 1 : 0;
	if (smoothed)
		l = search_time(f, l, end, false);
	if (f[l].t <= start)
		return false;
	if (smoothed && f[fi].t > end)
		return false;
	*first = fi;
	*last = l;
	return true;
}

/* Linear interpolation at t between p1 and p2 (p1.t < t < p2.t); for a
 * counter that dropped, the line starts at 0 (the reset) instead of p1. */
static double interpolate(const tsdb_sample *p1, const tsdb_sample *p2, int64_t t, bool counter)
{
	double y1 = p1->v, y2 = p2->v;
	if (counter && y2 < y1)
		y1 = 0;
	return y1 + (y2 - y1) * (double)(t - p1->t) / (double)(p2->t - p1->t);
}

/* Value at the left edge start: interpolated when smoothed and the first
 * sample lies before it. f[first + 1] exists then (boundaries()). */
static double left_value(const tsdb_sample *f, size_t first, int64_t start, bool smoothed, bool counter)
{
	if (smoothed && f[first].t < start)
		return interpolate(&f[first], &f[first + 1], start, counter);
	return f[first].v;
}

static double right_value(const tsdb_sample *f, size_t last, int64_t end, bool smoothed, bool counter)
{
	if (smoothed && last > 0 && f[last].t > end)
		return interpolate(&f[last - 1], &f[last], end, counter);
	return f[last].v;
}

/* ---- the range functions ---- */

/* rate/increase/delta over (start, end]: right - left, plus for counters
 * the values before every drop among the samples strictly inside the
 * range (the edges already account for a reset next to them). */
static bool extended_rate(const tsdb_sample *f, size_t n, int64_t start, int64_t end, bool smoothed, bool counter,
			  double *out)
{
	size_t first, last;
	if (!boundaries(f, n, start, end, smoothed, &first, &last))
		return false;
	double left = left_value(f, first, start, smoothed, counter);
	double right = right_value(f, last, end, smoothed, counter);
	double result = right - left;
	if (counter) {
		ptrdiff_t a = (ptrdiff_t)first, b = (ptrdiff_t)last;
		if (f[a].t <= start)
			a++;
		if (f[b].t >= end)
			b--;
		double correction = 0, prev = left;
		for (ptrdiff_t i = a; i <= b; i++) {
			if (f[i].v < prev)
				correction += prev;
			prev = f[i].v;
		}
		if (right < prev)
			correction += prev;
		result += correction;
	}
	*out = result;
	return true;
}

/* changes/resets over an anchored range: from the last sample at or
 * before start (else the first one) to the end. */
static bool anchored_count(promql_func_id id, const tsdb_sample *f, size_t n, int64_t start, double *out)
{
	if (f[n - 1].t <= start)
		return false;
	size_t k = search_time(f, n - 1, start, true);
	double c = 0;
	for (size_t i = (k > 0 ? k - 1 : 0) + 1; i < n; i++) {
		double cur = f[i].v, prev = f[i - 1].v;
		if (id == PROMQL_FN_RESETS ? cur < prev : cur != prev && !(isnan(cur) && isnan(prev)))
			c++;
	}
	*out = c;
	return true;
}

/* Prometheus's AnchoredSafeFunctions / SmoothedSafeFunctions; the error
 * lists them sorted. */
static void check_function(ev *e, const promql_node *call, bool smoothed)
{
	promql_func_id id = call->u.call.fn->id;
	bool ok = id == PROMQL_FN_RATE || id == PROMQL_FN_INCREASE || id == PROMQL_FN_DELTA;
	if (smoothed && !ok)
		promql_ev_fail(e, PROMQL_ERR_EXECUTION,
			       "smoothed modifier can only be used with: delta, increase, rate - not with %s",
			       call->u.call.fn->name);
	if (!ok && id != PROMQL_FN_CHANGES && id != PROMQL_FN_RESETS)
		promql_ev_fail(e, PROMQL_ERR_EXECUTION,
			       "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with %s",
			       call->u.call.fn->name);
}

/* The same name test as funcs_eval.c's rate/increase info annotation. */
static bool counter_name(const char *name)
{
	static const char *const suf[] = { "_total", "_sum", "_count", "_bucket" };
	size_t ln = strlen(name);
	for (size_t i = 0; i < TP_ARRAY_LEN(suf); i++) {
		size_t ls = strlen(suf[i]);
		if (ln >= ls && strcmp(name + ln - ls, suf[i]) == 0)
			return true;
	}
	return false;
}

/* a + b clamped to the int64 range (windows around extreme @ times). */
static int64_t add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN + 1 - b)
		return INT64_MIN + 1;
	return a + b;
}

bool promql_ev_is_extended(const promql_node *arg)
{
	return arg && arg->kind == PROMQL_NODE_MATRIX_SELECTOR &&
	       (arg->u.ms.vs->u.vs.anchored || arg->u.ms.vs->u.vs.smoothed);
}

void promql_ev_extended_range(ev *e, const promql_node *call, const promql_node *ms, ev_value *r, size_t *cap)
{
	const promql_node *vs = ms->u.ms.vs;
	const bool smoothed = vs->u.vs.smoothed;
	const promql_func_id id = call->u.call.fn->id;
	check_function(e, call, smoothed);
	const int64_t range = ms->u.ms.range_ms;
	const int64_t before = add_sat(range, e->lookback_ms), after = smoothed ? e->lookback_ms : 0;
	int64_t *ref = promql_ev_ref_times(e, vs);
	tsdb_series_set *ss = promql_ev_select(e, vs);
	size_t iter = 0;
	while (tsdb_series_set_next(ss)) {
		if ((++iter & 255) == 0)
			promql_ev_check(e);
		size_t cnt = promql_ev_load_window(e, ss, add_sat(ref[0], -before),
						   add_sat(ref[e->nsteps - 1], after));
		if (!cnt)
			continue;
		const tsdb_sample *pts = e->buf;
		tp_labels lbls = tp_labels_copy(e->arena, tsdb_series_set_labels(ss), false);
		ev_series *o = NULL;
		size_t lo = 0, hi = 0, present = 0;
		for (size_t i = 0; i < e->nsteps; i++) {
			if ((i & 4095) == 4095)
				promql_ev_check(e);
			int64_t start = add_sat(ref[i], -range), wend = add_sat(ref[i], after);
			int64_t wstart = add_sat(ref[i], -before);
			while (hi < cnt && pts[hi].t <= wend)
				hi++;
			while (lo < hi && pts[lo].t <= wstart)
				lo++;
			if (hi == lo)
				continue;
			if (e->cur_samples + (int64_t)(hi - lo) > e->max_samples)
				promql_ev_count_samples(e, (int64_t)(hi - lo));
			double v;
			bool ok;
			switch (id) {
			case PROMQL_FN_RATE:
			case PROMQL_FN_INCREASE:
				ok = extended_rate(pts + lo, hi - lo, start, ref[i], smoothed, true, &v);
				break;
			case PROMQL_FN_DELTA:
				ok = extended_rate(pts + lo, hi - lo, start, ref[i], smoothed, false, &v);
				break;
			default: /* changes, resets (check_function) */
				ok = anchored_count(id, pts + lo, hi - lo, start, &v);
				break;
			}
			if (!ok)
				continue;
			if (id == PROMQL_FN_RATE)
				v /= (double)range / 1000;
			if (!o) {
				o = promql_ev_series_new(e, &r->series, &r->nseries, cap, &lbls);
				promql_series_drop_name(e, o);
			}
			o->v[i] = v;
			o->ok[i] = 1;
			present++;
		}
		if (!present)
			continue;
		promql_ev_count_samples(e, (int64_t)present);
		const char *name = tp_labels_get(&lbls, TP_METRIC_NAME);
		if ((id == PROMQL_FN_RATE || id == PROMQL_FN_INCREASE) && name && name[0] && !counter_name(name))
			promql_ev_info(e, call->u.call.args[0],
				       "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"%s\"",
				       name);
	}
	promql_ev_select_done(e);
}

/* ---- selectors as values ---- */

ev_value promql_ev_smoothed_selector(ev *e, const promql_node *vs)
{
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	const int64_t lb = e->lookback_ms;
	int64_t *ref = promql_ev_ref_times(e, vs);
	double *tv = tp_arena_alloc(e->arena, sizeof(double) * e->nsteps);
	uint8_t *tok = tp_arena_alloc(e->arena, e->nsteps);
	tsdb_series_set *ss = promql_ev_select(e, vs);
	size_t iter = 0;
	while (tsdb_series_set_next(ss)) {
		if ((++iter & 255) == 0)
			promql_ev_check(e);
		size_t cnt = promql_ev_load_window(e, ss, add_sat(ref[0], -lb), add_sat(ref[e->nsteps - 1], lb));
		if (!cnt)
			continue;
		const tsdb_sample *b = e->buf;
		size_t lo = 0, at = 0, present = 0;
		for (size_t i = 0; i < e->nsteps; i++) {
			int64_t t = ref[i];
			/* window (t - lb, t + lb]; at: first sample at or after t */
			while (lo < cnt && b[lo].t <= add_sat(t, -lb))
				lo++;
			if (at < lo)
				at = lo;
			while (at < cnt && b[at].t < t)
				at++;
			tok[i] = 0;
			if (at < cnt && b[at].t == t)
				tv[i] = b[at].v;
			else if (at > lo && at < cnt && b[at].t <= add_sat(t, lb))
				tv[i] = interpolate(&b[at - 1], &b[at], t, false);
			else if (at > lo)
				tv[i] = b[at - 1].v;  /* nothing after t yet: carry the last value */
			else
				continue;
			tok[i] = 1;
			present++;
		}
		if (!present)
			continue;
		promql_ev_count_samples(e, (int64_t)present);
		tp_labels l = tp_labels_copy(e->arena, tsdb_series_set_labels(ss), false);
		ev_series *o = promql_ev_series_new(e, &r.series, &r.nseries, &cap, &l);
		memcpy(o->v, tv, sizeof(double) * e->nsteps);
		memcpy(o->ok, tok, e->nsteps);
	}
	promql_ev_select_done(e);
	return r;
}

ev_value promql_ev_extended_matrix(ev *e, const promql_node *ms)
{
	ev_value r = { .type = PROMQL_TYPE_MATRIX };
	const promql_node *vs = ms->u.ms.vs;
	const bool smoothed = vs->u.vs.smoothed;
	int64_t *ref = promql_ev_ref_times(e, vs);
	const int64_t maxt = ref[0], mint = add_sat(maxt, -ms->u.ms.range_ms);
	size_t cap = 0;
	tsdb_series_set *ss = promql_ev_select(e, vs);
	while (tsdb_series_set_next(ss)) {
		size_t n = promql_ev_load_window(e, ss, add_sat(mint, -e->lookback_ms),
						 add_sat(maxt, smoothed ? e->lookback_ms : 0));
		const tsdb_sample *f = e->buf;
		size_t first, last;
		if (!n || !boundaries(f, n, mint, maxt, smoothed, &first, &last))
			continue;
		double left = left_value(f, first, mint, smoothed, false);
		double right = right_value(f, last, maxt, smoothed, false);
		/* the edges at mint and maxt, the samples strictly between */
		ptrdiff_t a = (ptrdiff_t)first, z = (ptrdiff_t)last;
		if (f[a].t <= mint)
			a++;
		if (f[z].t >= maxt)
			z--;
		size_t inner = z >= a ? (size_t)(z - a + 1) : 0;
		promql_ev_count_samples(e, (int64_t)inner + 2);
		if (r.nseries == cap) {
			size_t nc = cap ? cap * 2 : 16;
			r.mseries = tp_arena_realloc(e->arena, r.mseries, cap * sizeof(ev_mseries), nc * sizeof(ev_mseries));
			cap = nc;
		}
		ev_mseries *m = &r.mseries[r.nseries++];
		m->labels = tp_labels_copy(e->arena, tsdb_series_set_labels(ss), false);
		m->pts = tp_arena_alloc(e->arena, sizeof(tsdb_sample) * (inner + 2));
		m->pts[0] = (tsdb_sample){ mint, left };
		if (inner)
			memcpy(m->pts + 1, f + a, sizeof(tsdb_sample) * inner);
		m->pts[inner + 1] = (tsdb_sample){ maxt, right };
		m->n = inner + 2;
	}
	promql_ev_select_done(e);
	return r;
}
