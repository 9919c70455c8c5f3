/* SPDX-License-Identifier: Apache-2.0
 * engine.c - PromQL query entry points, the evaluation driver, selectors,
 * subqueries and result building.
 *
 * A query is evaluated over a step grid (an instant query is a range query
 * with one step). Selectors decode each series once into a reused buffer
 * and walk all steps with a sliding index; everything else works on step
 * matrices (value.h). Invariants: all memory of a query lives in its
 * result's arena except the decode buffer and the querier, which are freed
 * on every exit path (including the longjmp error path); range results are
 * sorted by labels, instant vectors keep evaluation order. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/hash.h"
#include "lib/strbuf.h"
#include "promql/engine.h"
#include "promql/functions.h"
#include "promql/value.h"

struct promql_engine {
	tsdb_head *head;
	promql_engine_opts opts;
};

#define DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define DEFAULT_SUBQUERY_STEP_MS (60 * 1000)
#define DEFAULT_MAX_SAMPLES 50000000

/* ---- engine object ---- */

promql_engine *promql_engine_new(tsdb_head *head, const promql_engine_opts *opts)
{
	promql_engine *e = tp_xcalloc(1, sizeof(*e));
	e->head = head;
	if (opts)
		e->opts = *opts;
	if (e->opts.lookback_ms <= 0)
		e->opts.lookback_ms = DEFAULT_LOOKBACK_MS;
	if (e->opts.max_samples <= 0)
		e->opts.max_samples = DEFAULT_MAX_SAMPLES;
	if (e->opts.subquery_step_ms <= 0)
		e->opts.subquery_step_ms = DEFAULT_SUBQUERY_STEP_MS;
	return e;
}

void promql_engine_free(promql_engine *e)
{
	free(e);
}

void promql_engine_set_head(promql_engine *e, tsdb_head *head)
{
	e->head = head;
}

const char *promql_err_type_str(promql_err err)
{
	switch (err) {
	case PROMQL_OK: return "";
	case PROMQL_ERR_BAD_DATA: return "bad_data";
	case PROMQL_ERR_EXECUTION: return "execution";
	case PROMQL_ERR_TIMEOUT: return "timeout";
	case PROMQL_ERR_CANCELED: return "canceled";
	case PROMQL_ERR_INTERNAL: return "internal";
	}
	return "internal";
}

/* ---- errors, limits, annotations ---- */

void promql_ev_fail(ev *e, promql_err type, const char *fmt, ...)
{
	va_list ap;
	tp_strbuf sb = { 0 };
	va_start(ap, fmt);
	tp_sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	e->err = type;
	e->errmsg = tp_arena_strdup(e->arena, tp_sb_cstr(&sb));
	tp_sb_free(&sb);
	longjmp(e->jb, 1);
}

void promql_ev_check(ev *e)
{
	if (e->deadline_ns && tp_mono_ns() > e->deadline_ns)
		promql_ev_fail(e, PROMQL_ERR_TIMEOUT, "query timed out in expression evaluation");
}

void promql_ev_count_samples(ev *e, int64_t n)
{
	e->cur_samples += n;
	if (e->cur_samples > e->max_samples)
		promql_ev_fail(e, PROMQL_ERR_EXECUTION,
			       "query processing would load too many samples into memory in query execution");
}

static void anno_add(ev *e, bool warn, const promql_node *pos, const char *prefix, const char *fmt, va_list ap)
{
	tp_strbuf sb = { 0 };
	tp_sb_puts(&sb, prefix);
	tp_sb_vprintf(&sb, fmt, ap);
	if (pos && e->query) {
		uint32_t line = 1, col = 1;
		for (uint32_t i = 0; i < pos->pos_start && e->query[i]; i++) {
			if (e->query[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		tp_sb_printf(&sb, " (%u:%u)", line, col);
	}
	const char *s = tp_sb_cstr(&sb);
	char ***arr = warn ? &e->annos.warn : &e->annos.info;
	size_t *n = warn ? &e->annos.nwarn : &e->annos.ninfo;
	size_t *cap = warn ? &e->annos.capwarn : &e->annos.capinfo;
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*arr)[i], s) == 0) {
			tp_sb_free(&sb);
			return;
		}
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		*arr = tp_arena_realloc(e->arena, *arr, *cap * sizeof(char *), nc * sizeof(char *));
		*cap = nc;
	}
	(*arr)[(*n)++] = tp_arena_strdup(e->arena, s);
	tp_sb_free(&sb);
}

void promql_ev_warn(ev *e, const promql_node *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	anno_add(e, true, pos, "PromQL warning: ", fmt, ap);
	va_end(ap);
}

void promql_ev_info(ev *e, const promql_node *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	anno_add(e, false, pos, "PromQL info: ", fmt, ap);
	va_end(ap);
}

/* ---- small helpers ---- */

int64_t promql_ev_step_t(const ev *e, size_t i)
{
	return e->start + (int64_t)i * e->interval;
}

const promql_node *promql_unwrap_paren(const promql_node *n)
{
	while (n && n->kind == PROMQL_NODE_PAREN)
		n = n->u.paren.expr;
	return n;
}

ev_series *promql_ev_series_new(ev *e, ev_series **arr, size_t *n, size_t *cap, const tp_labels *l)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		*arr = tp_arena_realloc(e->arena, *arr, *cap * sizeof(ev_series), nc * sizeof(ev_series));
		*cap = nc;
	}
	ev_series *s = &(*arr)[(*n)++];
	s->labels = l ? *l : (tp_labels){ 0 };
	s->drop_name = false;
	s->v = tp_arena_alloc(e->arena, sizeof(double) * e->nsteps);
	s->ok = tp_arena_zalloc(e->arena, e->nsteps);
	return s;
}

static bool is_meta(const char *n)
{
	return strcmp(n, TP_METRIC_NAME) == 0 || strcmp(n, "__type__") == 0 || strcmp(n, "__unit__") == 0;
}

tp_labels promql_labels_drop_name(ev *e, const tp_labels *l)
{
	bool any = false;
	for (uint32_t i = 0; i < l->n && !any; i++)
		any = is_meta(l->v[i].name);
	if (!any)
		return *l;
	tp_labels r = { .v = tp_arena_alloc(e->arena, sizeof(tp_label) * (l->n ? l->n : 1)), .n = 0 };
	for (uint32_t i = 0; i < l->n; i++)
		if (!is_meta(l->v[i].name))
			r.v[r.n++] = l->v[i];
	return r;
}

void promql_series_drop_name(ev *e, ev_series *s)
{
	if (e->delayed_names)
		s->drop_name = true;
	else
		s->labels = promql_labels_drop_name(e, &s->labels);
}

void promql_ev_cleanup_names(ev *e, ev_value *v)
{
	if (!e->delayed_names)
		return;
	if (v->type == PROMQL_TYPE_VECTOR) {
		bool any = false;
		for (size_t k = 0; k < v->nseries; k++) {
			if (v->series[k].drop_name) {
				v->series[k].labels = promql_labels_drop_name(e, &v->series[k].labels);
				v->series[k].drop_name = false;
				any = true;
			}
		}
		if (any)
			promql_ev_merge_same(e, v);
	}
}

/* Open-addressing map from a 64-bit hash to the index of the first series
 * with that hash; chains of equal-hash entries are resolved by the caller
 * through label comparison. */
typedef struct hmap {
	uint64_t *keys;
	int32_t *vals;
	size_t cap;
} hmap;

static void hmap_init(ev *e, hmap *m, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	m->cap = cap;
	m->keys = tp_arena_alloc(e->arena, cap * sizeof(uint64_t));
	m->vals = tp_arena_alloc(e->arena, cap * sizeof(int32_t));
	for (size_t i = 0; i < cap; i++)
		m->vals[i] = -1;
}

/* Returns the slot for key (vals[slot] == -1 when new). */
static size_t hmap_slot(const hmap *m, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 29)) & (m->cap - 1);
	while (m->vals[i] != -1 && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void promql_ev_merge_same(ev *e, ev_value *v)
{
	if (v->type != PROMQL_TYPE_VECTOR)
		return;
	hmap m;
	hmap_init(e, &m, v->nseries);
	size_t o = 0;
	for (size_t i = 0; i < v->nseries; i++) {
		ev_series *s = &v->series[i];
		bool any = false;
		for (size_t k = 0; k < e->nsteps && !any; k++)
			any = s->ok[k];
		if (!any)
			continue;
		uint64_t h = tp_labels_hash(&s->labels);
		size_t slot = hmap_slot(&m, h);
		if (m.vals[slot] == -1) {
			m.keys[slot] = h;
			m.vals[slot] = (int32_t)o;
			v->series[o++] = *s;
			continue;
		}
		ev_series *d = &v->series[m.vals[slot]];
		for (size_t k = 0; k < e->nsteps; k++) {
			if (!s->ok[k])
				continue;
			if (d->ok[k])
				promql_ev_fail(e, PROMQL_ERR_EXECUTION, "vector cannot contain metrics with the same labelset");
			d->ok[k] = 1;
			d->v[k] = s->v[k];
		}
		d->drop_name |= s->drop_name;
	}
	v->nseries = o;
}

static int64_t at_time(const ev *e, promql_at_kind at, int64_t at_ms)
{
	switch (at) {
	case PROMQL_AT_TIMESTAMP: return at_ms;
	case PROMQL_AT_START: return e->q_start;
	case PROMQL_AT_END: return e->q_end;
	default: return 0;
	}
}

/* Reference times of every step for a selector or subquery with the given
 * @ and offset: (@ or step time) - offset. Non-decreasing. */
static int64_t *ref_times(ev *e, promql_at_kind at, int64_t at_ms, int64_t offset_ms)
{
	int64_t *r = tp_arena_alloc(e->arena, sizeof(int64_t) * e->nsteps);
	for (size_t i = 0; i < e->nsteps; i++)
		r[i] = (at != PROMQL_AT_NONE ? at_time(e, at, at_ms) : promql_ev_step_t(e, i)) - offset_ms;
	return r;
}

int64_t *promql_ev_ref_times(ev *e, const promql_node *n)
{
	if (n->kind == PROMQL_NODE_MATRIX_SELECTOR)
		n = n->u.ms.vs;
	if (n->kind == PROMQL_NODE_VECTOR_SELECTOR)
		return ref_times(e, n->u.vs.at, n->u.vs.at_ms, n->u.vs.offset_ms);
	return ref_times(e, n->u.sq.at, n->u.sq.at_ms, n->u.sq.offset_ms);
}

tsdb_series_set *promql_ev_select(ev *e, const promql_node *vs)
{
	tsdb_series_set *ss = tsdb_querier_select(e->querier, vs->u.vs.matchers, vs->u.vs.nmatchers);
	e->open_set = ss;
	return ss;
}

void promql_ev_select_done(ev *e)
{
	if (e->open_set)
		tsdb_series_set_free(e->open_set);
	e->open_set = NULL;
}

/* ---- selectors ---- */

/* Instant vector selector; with want_ts the value is the sample's
 * timestamp in seconds (timestamp()). */
ev_value promql_ev_vector_selector(ev *e, const promql_node *n, bool want_ts)
{
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	int64_t *ref = promql_ev_ref_times(e, n);
	int64_t mint = ref[0] - e->lookback_ms + 1, maxt = ref[e->nsteps - 1];
	double *tv = tp_arena_alloc(e->arena, sizeof(double) * e->nsteps);
	uint8_t *tok = tp_arena_alloc(e->arena, e->nsteps);
	tsdb_series_set *ss = promql_ev_select(e, n);
	size_t iter = 0;
	while (tsdb_series_set_next(ss)) {
		if ((++iter & 255) == 0)
			promql_ev_check(e);
		size_t cnt = tsdb_series_set_samples(ss, mint, maxt, &e->buf, &e->buf_cap);
		if (cnt == 0)
			continue;
		e->samples_scanned += cnt;
		const tsdb_sample *b = e->buf;
		size_t j = 0, present = 0;
		for (size_t i = 0; i < e->nsteps; i++) {
			while (j < cnt && b[j].t <= ref[i])
				j++;
			tok[i] = 0;
			if (j == 0)
				continue;
			const tsdb_sample *s = &b[j - 1];
			if (s->t <= ref[i] - e->lookback_ms || tsdb_is_stale_nan(s->v))
				continue;
			tok[i] = 1;
			tv[i] = want_ts ? (double)s->t / 1000.0 : s->v;
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

/* Decodes the current series of the open set in (lo, hi] without stale
 * markers into e->buf; returns the count. */
size_t promql_ev_load_window(ev *e, tsdb_series_set *ss, int64_t lo, int64_t hi)
{
	size_t cnt = tsdb_series_set_samples(ss, lo + 1, hi, &e->buf, &e->buf_cap);
	e->samples_scanned += cnt;
	size_t o = 0;
	for (size_t i = 0; i < cnt; i++)
		if (!tsdb_is_stale_nan(e->buf[i].v))
			e->buf[o++] = e->buf[i];
	return o;
}

/* A matrix selector as a value (instant query of `foo[5m]`): the points of
 * the window at the first step. */
static ev_value eval_matrix_selector(ev *e, const promql_node *n)
{
	ev_value r = { .type = PROMQL_TYPE_MATRIX };
	const promql_node *vs = n->u.ms.vs;
	int64_t *ref = promql_ev_ref_times(e, vs);
	size_t cap = 0;
	tsdb_series_set *ss = promql_ev_select(e, vs);
	while (tsdb_series_set_next(ss)) {
		size_t cnt = promql_ev_load_window(e, ss, ref[0] - n->u.ms.range_ms, ref[0]);
		if (!cnt)
			continue;
		promql_ev_count_samples(e, (int64_t)cnt);
		if (r.nseries == cap) {
			size_t nc = cap ? cap * 2 : 16;
			r.mseries = tp_arena_realloc(e->arena, r.mseries, cap * sizeof(ev_mseries), nc * sizeof(ev_mseries));
			cap = nc;
		}
		ev_mseries *m = &r.mseries[r.nseries++];
		m->labels = tp_labels_copy(e->arena, tsdb_series_set_labels(ss), false);
		m->pts = tp_arena_alloc(e->arena, sizeof(tsdb_sample) * cnt);
		memcpy(m->pts, e->buf, sizeof(tsdb_sample) * cnt);
		m->n = cnt;
	}
	promql_ev_select_done(e);
	return r;
}

/* ---- subqueries ---- */

/* Evaluates a subquery for all steps of the current grid: the inner
 * expression runs once over the union of the windows on a grid aligned to
 * absolute multiples of its step. Returns a MATRIX of the inner points in
 * (min ref - range, max ref]. */
ev_value promql_ev_subquery(ev *e, const promql_node *n)
{
	int64_t *ref = promql_ev_ref_times(e, n);
	int64_t lo = ref[0] - n->u.sq.range_ms, hi = ref[e->nsteps - 1];
	int64_t step = n->u.sq.step_ms > 0 ? n->u.sq.step_ms : e->subquery_step_ms;
	int64_t start = step * (lo / step);
	if (start <= lo)
		start += step;
	ev_value r = { .type = PROMQL_TYPE_MATRIX };
	if (start > hi)
		return r;
	/* every inner step of a series is a sample: refuse grids that alone
	 * exceed the limit before allocating them */
	if ((hi - start) / step + 1 > e->max_samples)
		promql_ev_count_samples(e, (hi - start) / step + 1);
	int64_t s_start = e->start, s_end = e->end, s_int = e->interval;
	size_t s_n = e->nsteps;
	e->start = start;
	e->interval = step;
	e->nsteps = (size_t)((hi - start) / step) + 1;
	e->end = start + (int64_t)(e->nsteps - 1) * step;
	ev_value in = promql_ev_eval(e, n->u.sq.expr);
	promql_ev_cleanup_names(e, &in);
	if (in.type == PROMQL_TYPE_SCALAR) {
		r.mseries = tp_arena_zalloc(e->arena, sizeof(ev_mseries));
		r.nseries = 1;
		r.mseries[0].pts = tp_arena_alloc(e->arena, sizeof(tsdb_sample) * e->nsteps);
		for (size_t i = 0; i < e->nsteps; i++)
			r.mseries[0].pts[i] = (tsdb_sample){ promql_ev_step_t(e, i), in.scalar[i] };
		r.mseries[0].n = e->nsteps;
	} else {
		r.mseries = tp_arena_zalloc(e->arena, sizeof(ev_mseries) * (in.nseries ? in.nseries : 1));
		for (size_t k = 0; k < in.nseries; k++) {
			ev_series *s = &in.series[k];
			size_t cnt = 0;
			for (size_t i = 0; i < e->nsteps; i++)
				cnt += s->ok[i];
			if (!cnt)
				continue;
			ev_mseries *m = &r.mseries[r.nseries++];
			m->labels = s->labels;
			m->pts = tp_arena_alloc(e->arena, sizeof(tsdb_sample) * cnt);
			for (size_t i = 0; i < e->nsteps; i++)
				if (s->ok[i])
					m->pts[m->n++] = (tsdb_sample){ promql_ev_step_t(e, i), s->v[i] };
		}
	}
	e->start = s_start;
	e->end = s_end;
	e->interval = s_int;
	e->nsteps = s_n;
	return r;
}

/* ---- duration expressions ---- */

/* evaluateDurationExpr: the value of a duration expression in seconds,
 * for this query's step (0 for an instant query) and range. */
static double dur_value(ev *e, const promql_duration *d)
{
	if (d->op == PROMQL_DUR_NUMBER)
		return d->value;
	double l = d->lhs ? dur_value(e, d->lhs) : 0;
	double r = d->rhs ? dur_value(e, d->rhs) : 0;
	switch (d->op) {
	case PROMQL_DUR_STEP: return (double)e->q_step / 1000;
	case PROMQL_DUR_RANGE: return (double)(e->q_end - e->q_start) / 1000;
	case PROMQL_DUR_MIN_OF: return go_min(l, r);
	case PROMQL_DUR_MAX_OF: return go_max(l, r);
	case PROMQL_DUR_ADD: return d->lhs ? l + r : r;
	case PROMQL_DUR_SUB: return d->lhs ? l - r : -r;
	case PROMQL_DUR_MUL: return l * r;
	case PROMQL_DUR_DIV:
		if (r == 0)
			promql_ev_fail(e, PROMQL_ERR_BAD_DATA, "%u:%u: division by zero", d->pos_start, d->pos_end);
		return l / r;
	case PROMQL_DUR_MOD:
		if (r == 0)
			promql_ev_fail(e, PROMQL_ERR_BAD_DATA, "%u:%u: modulo by zero", d->pos_start, d->pos_end);
		return fmod(l, r);
	case PROMQL_DUR_POW: return pow(l, r);
	case PROMQL_DUR_NUMBER: break;
	}
	return 0;
}

/* calculateDuration: whole milliseconds (truncated, as
 * time.Duration(v*1000) * time.Millisecond). Ranges and steps must be
 * positive; beyond what a time.Duration holds (and NaN) is refused
 * rather than wrapped as Go would. */
static int64_t dur_ms(ev *e, const promql_duration *d, bool allow_negative)
{
	double v = dur_value(e, d);
	if (v <= 0 && !allow_negative)
		promql_ev_fail(e, PROMQL_ERR_BAD_DATA, "%u:%u: duration must be greater than 0", d->pos_start,
			       d->pos_end);
	if (!(fabs(v) <= 9223372036854775807.0 / 1e9))
		promql_ev_fail(e, PROMQL_ERR_BAD_DATA, "%u:%u: duration is out of range", d->pos_start, d->pos_end);
	return (int64_t)(v * 1000.0);
}

static promql_node *node_copy(ev *e, const promql_node *n)
{
	promql_node *c = tp_arena_alloc(e->arena, sizeof(*c));
	*c = *n;
	return c;
}

/* Prometheus's durationVisitor, without touching the parsed tree (rules
 * evaluate one tree repeatedly): returns n itself when nothing below it
 * has a duration expression, else a copy, in the query arena, with the
 * computed range_ms/step_ms/offset_ms. Visits a node before its
 * children, a subquery's offset before its step and range, as
 * Prometheus does, so the same error comes first. */
static const promql_node *resolve_durations(ev *e, const promql_node *n)
{
	promql_node *c;
	switch (n->kind) {
	case PROMQL_NODE_NUMBER:
	case PROMQL_NODE_STRING:
		return n;
	case PROMQL_NODE_VECTOR_SELECTOR:
		if (!n->u.vs.offset_expr)
			return n;
		c = node_copy(e, n);
		c->u.vs.offset_ms = dur_ms(e, n->u.vs.offset_expr, true);
		c->u.vs.offset_expr = NULL;
		return c;
	case PROMQL_NODE_MATRIX_SELECTOR: {
		int64_t range = n->u.ms.range_expr ? dur_ms(e, n->u.ms.range_expr, false) : n->u.ms.range_ms;
		const promql_node *vs = resolve_durations(e, n->u.ms.vs);
		if (vs == n->u.ms.vs && !n->u.ms.range_expr)
			return n;
		c = node_copy(e, n);
		c->u.ms.vs = (promql_node *)vs;
		c->u.ms.range_ms = range;
		c->u.ms.range_expr = NULL;
		return c;
	}
	case PROMQL_NODE_SUBQUERY: {
		int64_t off = n->u.sq.offset_expr ? dur_ms(e, n->u.sq.offset_expr, true) : n->u.sq.offset_ms;
		int64_t step = n->u.sq.step_expr ? dur_ms(e, n->u.sq.step_expr, false) : n->u.sq.step_ms;
		int64_t range = n->u.sq.range_expr ? dur_ms(e, n->u.sq.range_expr, false) : n->u.sq.range_ms;
		const promql_node *x = resolve_durations(e, n->u.sq.expr);
		if (x == n->u.sq.expr && !n->u.sq.offset_expr && !n->u.sq.step_expr && !n->u.sq.range_expr)
			return n;
		c = node_copy(e, n);
		c->u.sq.expr = (promql_node *)x;
		c->u.sq.offset_ms = off;
		c->u.sq.step_ms = step;
		c->u.sq.range_ms = range;
		c->u.sq.offset_expr = c->u.sq.step_expr = c->u.sq.range_expr = NULL;
		return c;
	}
	case PROMQL_NODE_PAREN: {
		const promql_node *x = resolve_durations(e, n->u.paren.expr);
		if (x == n->u.paren.expr)
			return n;
		c = node_copy(e, n);
		c->u.paren.expr = (promql_node *)x;
		return c;
	}
	case PROMQL_NODE_UNARY: {
		const promql_node *x = resolve_durations(e, n->u.unary.expr);
		if (x == n->u.unary.expr)
			return n;
		c = node_copy(e, n);
		c->u.unary.expr = (promql_node *)x;
		return c;
	}
	case PROMQL_NODE_BINARY: {
		const promql_node *l = resolve_durations(e, n->u.binary.lhs);
		const promql_node *r = resolve_durations(e, n->u.binary.rhs);
		if (l == n->u.binary.lhs && r == n->u.binary.rhs)
			return n;
		c = node_copy(e, n);
		c->u.binary.lhs = (promql_node *)l;
		c->u.binary.rhs = (promql_node *)r;
		return c;
	}
	case PROMQL_NODE_CALL: {
		promql_node **args = NULL;
		for (size_t i = 0; i < n->u.call.nargs; i++) {
			const promql_node *a = resolve_durations(e, n->u.call.args[i]);
			if (a == n->u.call.args[i] && !args)
				continue;
			if (!args) {
				args = tp_arena_alloc(e->arena, sizeof(promql_node *) * n->u.call.nargs);
				memcpy(args, n->u.call.args, sizeof(promql_node *) * n->u.call.nargs);
			}
			args[i] = (promql_node *)a;
		}
		if (!args)
			return n;
		c = node_copy(e, n);
		c->u.call.args = args;
		return c;
	}
	case PROMQL_NODE_AGGREGATE: {
		const promql_node *x = resolve_durations(e, n->u.agg.expr);
		const promql_node *prm = n->u.agg.param ? resolve_durations(e, n->u.agg.param) : NULL;
		if (x == n->u.agg.expr && prm == n->u.agg.param)
			return n;
		c = node_copy(e, n);
		c->u.agg.expr = (promql_node *)x;
		c->u.agg.param = (promql_node *)prm;
		return c;
	}
	}
	return n;
}

/* ---- the evaluator ---- */

static ev_value scalar_fill(ev *e, double v)
{
	ev_value r = { .type = PROMQL_TYPE_SCALAR };
	r.scalar = tp_arena_alloc(e->arena, sizeof(double) * e->nsteps);
	for (size_t i = 0; i < e->nsteps; i++)
		r.scalar[i] = v;
	return r;
}

static ev_value eval_node(ev *e, const promql_node *n);

static int64_t value_points(const ev *e, const ev_value *v)
{
	int64_t c = 0;
	if (v->type == PROMQL_TYPE_VECTOR) {
		for (size_t k = 0; k < v->nseries; k++)
			for (size_t i = 0; i < e->nsteps; i++)
				c += v->series[k].ok[i];
	} else if (v->type == PROMQL_TYPE_MATRIX) {
		for (size_t k = 0; k < v->nseries; k++)
			c += (int64_t)v->mseries[k].n;
	}
	return c;
}

/* Sample accounting follows Prometheus's peak model loosely: while a node
 * is evaluated its children's points count; afterwards only its own
 * output does. */
ev_value promql_ev_eval(ev *e, const promql_node *n)
{
	int64_t before = e->cur_samples;
	ev_value v = eval_node(e, n);
	e->cur_samples = before;
	promql_ev_count_samples(e, value_points(e, &v));
	return v;
}

static ev_value eval_node(ev *e, const promql_node *n)
{
	promql_ev_check(e);
	switch (n->kind) {
	case PROMQL_NODE_NUMBER:
		return scalar_fill(e, n->u.number.value);
	case PROMQL_NODE_STRING:
		return (ev_value){ .type = PROMQL_TYPE_STRING, .str = n->u.string.value };
	case PROMQL_NODE_VECTOR_SELECTOR:
		if (n->u.vs.smoothed)
			return promql_ev_smoothed_selector(e, n);
		return promql_ev_vector_selector(e, n, false);
	case PROMQL_NODE_MATRIX_SELECTOR:
		if (promql_ev_is_extended(n))
			return promql_ev_extended_matrix(e, n);
		return eval_matrix_selector(e, n);
	case PROMQL_NODE_SUBQUERY:
		return promql_ev_subquery(e, n);
	case PROMQL_NODE_PAREN:
		return promql_ev_eval(e, n->u.paren.expr);
	case PROMQL_NODE_UNARY: {
		ev_value v = promql_ev_eval(e, n->u.unary.expr);
		if (!n->u.unary.neg)
			return v;
		if (v.type == PROMQL_TYPE_SCALAR) {
			for (size_t i = 0; i < e->nsteps; i++)
				v.scalar[i] = -v.scalar[i];
			return v;
		}
		for (size_t k = 0; k < v.nseries; k++) {
			promql_series_drop_name(e, &v.series[k]);
			for (size_t i = 0; i < e->nsteps; i++)
				v.series[k].v[i] = -v.series[k].v[i];
		}
		promql_ev_merge_same(e, &v);
		return v;
	}
	case PROMQL_NODE_BINARY:
		return promql_ev_binary(e, n);
	case PROMQL_NODE_CALL:
		return promql_ev_call(e, n);
	case PROMQL_NODE_AGGREGATE:
		return promql_ev_aggregate(e, n);
	}
	promql_ev_fail(e, PROMQL_ERR_INTERNAL, "unhandled expression");
}

/* ---- results ---- */

static int series_cmp(const void *a, const void *b)
{
	return tp_labels_cmp(&((const promql_series *)a)->labels, &((const promql_series *)b)->labels);
}

static void build_result(ev *e, ev_value *v, promql_result *out)
{
	tp_arena *a = e->arena;
	if (!e->range_query) {
		out->t = e->start;
		switch (v->type) {
		case PROMQL_TYPE_SCALAR:
			out->type = PROMQL_TYPE_SCALAR;
			out->scalar = v->scalar[0];
			return;
		case PROMQL_TYPE_STRING:
			out->type = PROMQL_TYPE_STRING;
			out->string = tp_arena_strdup(a, v->str);
			return;
		case PROMQL_TYPE_VECTOR:
			out->type = PROMQL_TYPE_VECTOR;
			out->series = tp_arena_zalloc(a, sizeof(promql_series) * (v->nseries ? v->nseries : 1));
			for (size_t k = 0; k < v->nseries; k++) {
				if (!v->series[k].ok[0])
					continue;
				promql_series *s = &out->series[out->nseries++];
				s->labels = v->series[k].labels;
				s->points = tp_arena_alloc(a, sizeof(promql_point));
				s->points[0] = (promql_point){ e->start, v->series[k].v[0] };
				s->npoints = 1;
			}
			return;
		case PROMQL_TYPE_MATRIX:
			out->type = PROMQL_TYPE_MATRIX;
			out->series = tp_arena_zalloc(a, sizeof(promql_series) * (v->nseries ? v->nseries : 1));
			for (size_t k = 0; k < v->nseries; k++) {
				ev_mseries *m = &v->mseries[k];
				promql_series *s = &out->series[out->nseries++];
				s->labels = m->labels;
				s->points = tp_arena_alloc(a, sizeof(promql_point) * (m->n ? m->n : 1));
				for (size_t i = 0; i < m->n; i++)
					s->points[i] = (promql_point){ m->pts[i].t, m->pts[i].v };
				s->npoints = m->n;
			}
			qsort(out->series, out->nseries, sizeof(promql_series), series_cmp);
			return;
		default:
			return;
		}
	}
	out->type = PROMQL_TYPE_MATRIX;
	if (v->type == PROMQL_TYPE_SCALAR) {
		out->series = tp_arena_zalloc(a, sizeof(promql_series));
		out->nseries = 1;
		out->series[0].points = tp_arena_alloc(a, sizeof(promql_point) * e->nsteps);
		for (size_t i = 0; i < e->nsteps; i++)
			out->series[0].points[i] = (promql_point){ promql_ev_step_t(e, i), v->scalar[i] };
		out->series[0].npoints = e->nsteps;
		return;
	}
	if (v->type != PROMQL_TYPE_VECTOR)
		return;
	out->series = tp_arena_zalloc(a, sizeof(promql_series) * (v->nseries ? v->nseries : 1));
	for (size_t k = 0; k < v->nseries; k++) {
		ev_series *es = &v->series[k];
		size_t cnt = 0;
		for (size_t i = 0; i < e->nsteps; i++)
			cnt += es->ok[i];
		if (!cnt)
			continue;
		promql_series *s = &out->series[out->nseries++];
		s->labels = es->labels;
		s->points = tp_arena_alloc(a, sizeof(promql_point) * cnt);
		for (size_t i = 0; i < e->nsteps; i++)
			if (es->ok[i])
				s->points[s->npoints++] = (promql_point){ promql_ev_step_t(e, i), es->v[i] };
	}
	qsort(out->series, out->nseries, sizeof(promql_series), series_cmp);
}

static promql_err run(promql_engine *eng, const promql_expr *expr, const char *text, int64_t start_ms,
		      int64_t end_ms, int64_t step_ms, bool range, promql_query_opts *qo, promql_result *out)
{
	int64_t t0 = tp_mono_ns(), t1 = 0, t2 = 0;
	ev *e = tp_xcalloc(1, sizeof(ev));
	e->engine = eng;
	e->arena = &out->arena;
	e->query = text ? text : expr->text;
	e->start = start_ms;
	e->end = end_ms;
	e->interval = step_ms > 0 ? step_ms : 1;
	e->nsteps = (size_t)((end_ms - start_ms) / e->interval) + 1;
	e->q_start = start_ms;
	e->q_end = end_ms;
	e->q_step = range ? step_ms : 0;
	e->range_query = range;
	e->delayed_names = eng->opts.delayed_name_removal;
	e->lookback_ms = eng->opts.lookback_ms;
	e->subquery_step_ms = eng->opts.subquery_step_ms;
	e->max_samples = eng->opts.max_samples;
	if (eng->opts.timeout_ms > 0)
		e->deadline_ns = tp_mono_ns() + eng->opts.timeout_ms * 1000000;
	if (qo && qo->lookback_ms > 0)
		e->lookback_ms = qo->lookback_ms;
	if (qo && qo->deadline_ns > 0 && (!e->deadline_ns || qo->deadline_ns < e->deadline_ns))
		e->deadline_ns = qo->deadline_ns;
	e->head = eng->head;
	e->querier = tsdb_querier_new(eng->head, INT64_MIN + 1, INT64_MAX);
	t1 = tp_mono_ns();
	if (setjmp(e->jb) == 0) {
		promql_ev_check(e);  /* a deadline already passed */
		ev_value v = promql_ev_eval(e, resolve_durations(e, expr->root));
		promql_ev_cleanup_names(e, &v);
		t2 = tp_mono_ns();
		build_result(e, &v, out);
	} else {
		out->err = e->err;
		out->err_msg = e->errmsg;
		out->type = PROMQL_TYPE_NONE;
		out->nseries = 0;
		out->series = NULL;
	}
	promql_ev_select_done(e);
	tsdb_querier_free(e->querier);
	free(e->buf);
	out->warnings = e->annos.warn;
	out->nwarnings = e->annos.nwarn;
	out->infos = e->annos.info;
	out->ninfos = e->annos.ninfo;
	out->samples_scanned = e->samples_scanned;
	free(e);
	if (qo) {
		int64_t t3 = tp_mono_ns();
		if (!t2)
			t2 = t3;  /* failed in evaluation: no sort */
		qo->prepare_ns = t1 - t0;
		qo->eval_ns = t2 - t1;
		qo->sort_ns = t3 - t2;
	}
	return out->err;
}

static void result_init(promql_result *out)
{
	memset(out, 0, sizeof(*out));
	tp_arena_init(&out->arena);
}

static bool check_range(promql_result *out, int64_t start_ms, int64_t end_ms, int64_t step_ms)
{
	if (step_ms <= 0) {
		out->err = PROMQL_ERR_BAD_DATA;
		out->err_msg = tp_arena_strdup(&out->arena,
					       "zero or negative query resolution step widths are not accepted. Try a positive integer");
		return false;
	}
	if (end_ms < start_ms) {
		out->err = PROMQL_ERR_BAD_DATA;
		out->err_msg = tp_arena_strdup(&out->arena, "end timestamp must not be before start time");
		return false;
	}
	if ((end_ms - start_ms) / step_ms > 11000) {
		out->err = PROMQL_ERR_BAD_DATA;
		out->err_msg = tp_arena_strdup(&out->arena,
					       "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
		return false;
	}
	return true;
}

static promql_expr *parse(promql_engine *e, const char *query, promql_result *out)
{
	promql_parse_error perr;
	memset(&perr, 0, sizeof(perr));
	promql_parse_opts po = { .experimental_functions = e->opts.experimental_functions,
				 .duration_expressions = e->opts.duration_expressions };
	po.extended_range_selectors = e->opts.extended_range_selectors;
	po.binop_fill_modifiers = e->opts.binop_fill_modifiers;
	promql_expr *x = promql_parse(query, &po, &perr);
	if (!x) {
		out->err = PROMQL_ERR_BAD_DATA;
		out->err_msg = tp_arena_strdup(&out->arena, perr.msg);
	}
	return x;
}

promql_err promql_eval_instant(promql_engine *e, const promql_expr *expr, int64_t t_ms, promql_result *out)
{
	result_init(out);
	return run(e, expr, NULL, t_ms, t_ms, 1, false, NULL, out);
}

promql_err promql_eval_instant_opts(promql_engine *e, const promql_expr *expr, int64_t t_ms, promql_query_opts *qo,
				   promql_result *out)
{
	result_init(out);
	return run(e, expr, NULL, t_ms, t_ms, 1, false, qo, out);
}

promql_err promql_eval_range(promql_engine *e, const promql_expr *expr, int64_t start_ms, int64_t end_ms,
			     int64_t step_ms, promql_result *out)
{
	return promql_eval_range_opts(e, expr, start_ms, end_ms, step_ms, NULL, out);
}

promql_err promql_eval_range_opts(promql_engine *e, const promql_expr *expr, int64_t start_ms, int64_t end_ms,
				  int64_t step_ms, promql_query_opts *qo, promql_result *out)
{
	result_init(out);
	if (!check_range(out, start_ms, end_ms, step_ms))
		return out->err;
	promql_type t = promql_node_type(expr->root);
	if (t != PROMQL_TYPE_SCALAR && t != PROMQL_TYPE_VECTOR) {
		out->err = PROMQL_ERR_BAD_DATA;
		out->err_msg = tp_arena_strdup(&out->arena, "");
		tp_strbuf sb = { 0 };
		tp_sb_printf(&sb, "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
			     promql_type_name(t));
		out->err_msg = tp_arena_strdup(&out->arena, tp_sb_cstr(&sb));
		tp_sb_free(&sb);
		return out->err;
	}
	return run(e, expr, NULL, start_ms, end_ms, step_ms, true, qo, out);
}

promql_err promql_query_instant(promql_engine *e, const char *query, int64_t t_ms, promql_result *out)
{
	result_init(out);
	promql_expr *x = parse(e, query, out);
	if (!x)
		return out->err;
	run(e, x, query, t_ms, t_ms, 1, false, NULL, out);
	promql_expr_free(x);
	return out->err;
}

promql_err promql_query_range(promql_engine *e, const char *query, int64_t start_ms, int64_t end_ms,
			      int64_t step_ms, promql_result *out)
{
	result_init(out);
	if (!check_range(out, start_ms, end_ms, step_ms))
		return out->err;
	promql_expr *x = parse(e, query, out);
	if (!x)
		return out->err;
	promql_type t = promql_node_type(x->root);
	if (t != PROMQL_TYPE_SCALAR && t != PROMQL_TYPE_VECTOR) {
		tp_strbuf sb = { 0 };
		tp_sb_printf(&sb, "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
			     promql_type_name(t));
		out->err = PROMQL_ERR_BAD_DATA;
		out->err_msg = tp_arena_strdup(&out->arena, tp_sb_cstr(&sb));
		tp_sb_free(&sb);
		promql_expr_free(x);
		return out->err;
	}
	run(e, x, query, start_ms, end_ms, step_ms, true, NULL, out);
	promql_expr_free(x);
	return out->err;
}

void promql_result_free(promql_result *r)
{
	if (!r)
		return;
	tp_arena_free(&r->arena);
	memset(r, 0, sizeof(*r));
}
