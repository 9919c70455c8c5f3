/* SPDX-License-Identifier: Apache-2.0
 * binop.c - PromQL binary operators: scalar/scalar, vector/scalar and
 * vector/vector with on/ignoring/group_left/group_right matching and the
 * set operators and/or/unless.
 *
 * Signatures and output labels are computed once per series (or per
 * matched series pair); matching runs step by step with hash tables that
 * are reused across steps. Errors carry Prometheus's texts. Output series
 * with equal labels are merged afterwards (promql_ev_merge_same). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/hash.h"
#include "lib/strbuf.h"
#include "promql/value.h"

static bool is_arith(promql_binop op)
{
	return op <= PROMQL_OP_ATAN2;
}

/* vectorElemBinop for floats: the value and whether the sample is kept. */
static double elem(promql_binop op, double l, double r, bool *keep)
{
	*keep = true;
	switch (op) {
	case PROMQL_OP_ADD: return l + r;
	case PROMQL_OP_SUB: return l - r;
	case PROMQL_OP_MUL: return l * r;
	case PROMQL_OP_DIV: return l / r;
	case PROMQL_OP_POW: return pow(l, r);
	case PROMQL_OP_MOD: return fmod(l, r);
	case PROMQL_OP_ATAN2: return atan2(l, r);
	case PROMQL_OP_EQL: *keep = l == r; return l;
	case PROMQL_OP_NEQ: *keep = l != r; return l;
	case PROMQL_OP_GTR: *keep = l > r; return l;
	case PROMQL_OP_LSS: *keep = l < r; return l;
	case PROMQL_OP_GTE: *keep = l >= r; return l;
	case PROMQL_OP_LTE: *keep = l <= r; return l;
	default: *keep = false; return 0;
	}
}

static double scalar_op(promql_binop op, double l, double r)
{
	bool keep;
	double v = elem(op, l, r, &keep);
	if (promql_binop_is_comparison(op))
		return keep ? 1 : 0;
	return v;
}

/* ---- a small u64 hash set / map reused across steps ---- */

typedef struct u64map {
	uint64_t *keys;
	int32_t *vals;
	size_t cap;
	uint32_t *used;   /* slots used in this round, for a cheap clear */
	size_t nused;
} u64map;

/* Maps live in the query arena: an error path leaks nothing. */
static void map_init(tp_arena *map_arena, u64map *m, size_t n)
{
	m->cap = 16;
	while (m->cap < n * 2 + 2)
		m->cap *= 2;
	m->keys = tp_arena_alloc(map_arena, sizeof(uint64_t) * m->cap);
	m->vals = tp_arena_alloc(map_arena, sizeof(int32_t) * m->cap);
	m->used = tp_arena_alloc(map_arena, sizeof(uint32_t) * m->cap);
	m->nused = 0;
	for (size_t i = 0; i < m->cap; i++)
		m->vals[i] = -1;
}

static void map_clear(u64map *m)
{
	for (size_t i = 0; i < m->nused; i++)
		m->vals[m->used[i]] = -1;
	m->nused = 0;
}

static void map_free(u64map *m)
{
	(void)m;
}

static size_t map_slot(const u64map *m, uint64_t k)
{
	size_t i = (size_t)(k ^ (k >> 31)) & (m->cap - 1);
	while (m->vals[i] != -1 && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int32_t map_get(const u64map *m, uint64_t k)
{
	return m->vals[map_slot(m, k)];
}

static void map_put(u64map *m, uint64_t k, int32_t v)
{
	size_t s = map_slot(m, k);
	if (m->vals[s] == -1)
		m->used[m->nused++] = (uint32_t)s;
	m->keys[s] = k;
	m->vals[s] = v;
}

/* ---- signatures ---- */

typedef struct sigspec {
	const char **names;
	size_t n;
	bool on;
} sigspec;

static sigspec make_sigspec(ev *e, const promql_matching *m)
{
	sigspec s = { 0 };
	s.on = m && m->on;
	size_t nl = m ? m->nlabels : 0;
	s.names = tp_arena_alloc(e->arena, sizeof(char *) * (nl + 1));
	for (size_t i = 0; i < nl; i++)
		s.names[i] = m->labels[i];
	s.n = nl;
	if (!s.on)
		s.names[s.n++] = TP_METRIC_NAME;
	return s;
}

static uint64_t sig_of(const sigspec *s, const tp_labels *l)
{
	return tp_labels_hash_for(l, s->names, s->n, s->on);
}

static tp_labels match_labels(ev *e, const sigspec *s, const tp_labels *l)
{
	tp_labels_builder b;
	tp_lb_init(&b, e->arena, l);
	tp_lb_filter(&b, s->names, s->n, s->on);
	return tp_lb_labels(&b);
}

static const char *lstr(ev *e, const tp_labels *l)
{
	tp_strbuf sb = { 0 };
	tp_labels_format(&sb, l, false);
	const char *r = tp_arena_strdup(e->arena, tp_sb_cstr(&sb));
	tp_sb_free(&sb);
	return r;
}

/* ---- vector op scalar ---- */

static ev_value vector_scalar(ev *e, const promql_node *n, ev_value v, const double *sc, bool swap)
{
	promql_binop op = n->u.binary.op;
	bool rb = n->u.binary.return_bool;
	bool cmp = promql_binop_is_comparison(op);
	for (size_t k = 0; k < v.nseries; k++) {
		ev_series *s = &v.series[k];
		if (is_arith(op) || rb)
			promql_series_drop_name(e, s);
		for (size_t i = 0; i < e->nsteps; i++) {
			if (!s->ok[i])
				continue;
			double l = s->v[i], r = sc[i];
			if (swap) {
				double t = l;
				l = r;
				r = t;
			}
			bool keep;
			double x = elem(op, l, r, &keep);
			if (cmp && swap)
				x = r;
			if (rb) {
				x = keep ? 1 : 0;
				keep = true;
			}
			if (!keep) {
				s->ok[i] = 0;
				continue;
			}
			s->v[i] = x;
		}
	}
	promql_ev_merge_same(e, &v);
	return v;
}

/* ---- set operators ---- */

static ev_value set_op(ev *e, const promql_node *n, ev_value l, ev_value r)
{
	promql_binop op = n->u.binary.op;
	sigspec sp = make_sigspec(e, n->u.binary.matching);
	uint64_t *sl = tp_arena_alloc(e->arena, sizeof(uint64_t) * (l.nseries + 1));
	uint64_t *sr = tp_arena_alloc(e->arena, sizeof(uint64_t) * (r.nseries + 1));
	for (size_t k = 0; k < l.nseries; k++)
		sl[k] = sig_of(&sp, &l.series[k].labels);
	for (size_t k = 0; k < r.nseries; k++)
		sr[k] = sig_of(&sp, &r.series[k].labels);
	u64map m;
	map_init(e->arena, &m, l.nseries + r.nseries);
	ev_value out = { .type = PROMQL_TYPE_VECTOR };
	if (op == PROMQL_OP_OR) {
		/* rhs series present where their signature is absent from lhs */
		for (size_t i = 0; i < e->nsteps; i++) {
			map_clear(&m);
			for (size_t k = 0; k < l.nseries; k++)
				if (l.series[k].ok[i])
					map_put(&m, sl[k], 1);
			for (size_t k = 0; k < r.nseries; k++)
				if (r.series[k].ok[i] && map_get(&m, sr[k]) != -1)
					r.series[k].ok[i] = 0;
		}
		out.series = tp_arena_alloc(e->arena, sizeof(ev_series) * (l.nseries + r.nseries + 1));
		if (l.nseries)
			memcpy(out.series, l.series, sizeof(ev_series) * l.nseries);
		if (r.nseries)
			memcpy(out.series + l.nseries, r.series, sizeof(ev_series) * r.nseries);
		out.nseries = l.nseries + r.nseries;
	} else {
		for (size_t i = 0; i < e->nsteps; i++) {
			map_clear(&m);
			for (size_t k = 0; k < r.nseries; k++)
				if (r.series[k].ok[i])
					map_put(&m, sr[k], 1);
			for (size_t k = 0; k < l.nseries; k++) {
				if (!l.series[k].ok[i])
					continue;
				bool found = map_get(&m, sl[k]) != -1;
				if (found != (op == PROMQL_OP_AND))
					l.series[k].ok[i] = 0;
			}
		}
		out = l;
	}
	map_free(&m);
	promql_ev_merge_same(e, &out);
	return out;
}

/* ---- vector op vector ---- */

static tp_labels result_metric(ev *e, const promql_node *n, const tp_labels *ll, const tp_labels *rl)
{
	const promql_matching *m = n->u.binary.matching;
	tp_labels_builder b;
	tp_lb_init(&b, e->arena, ll);
	static const char *const meta[] = { TP_METRIC_NAME, "__type__", "__unit__" };
	bool drop = is_arith(n->u.binary.op) || n->u.binary.return_bool;
	if (drop && !e->delayed_names)
		tp_lb_filter(&b, meta, 3, false);
	if (m->card == PROMQL_CARD_ONE_TO_ONE) {
		if (m->on)
			tp_lb_filter(&b, (const char *const *)m->labels, m->nlabels, true);
		else
			tp_lb_filter(&b, (const char *const *)m->labels, m->nlabels, false);
	}
	for (size_t i = 0; i < m->ninclude; i++) {
		/* names from the series, not the AST: results outlive the AST */
		const tp_label *hit = NULL;
		for (uint32_t x = 0; x < rl->n && !hit; x++)
			if (strcmp(rl->v[x].name, m->include[i]) == 0)
				hit = &rl->v[x];
		if (hit && hit->value[0])
			tp_lb_set(&b, hit->name, hit->value);
		else
			tp_lb_del(&b, m->include[i]);
	}
	return tp_lb_labels(&b);
}

static ev_value vector_vector(ev *e, const promql_node *n, ev_value lv, ev_value rv)
{
	const promql_matching *m = n->u.binary.matching;
	promql_binop op = n->u.binary.op;
	bool rb = n->u.binary.return_bool;
	bool swapped = m->card == PROMQL_CARD_ONE_TO_MANY;
	ev_value L = swapped ? rv : lv, R = swapped ? lv : rv;
	sigspec sp = make_sigspec(e, m);
	uint64_t *sl = tp_arena_alloc(e->arena, sizeof(uint64_t) * (L.nseries + 1));
	uint64_t *sr = tp_arena_alloc(e->arena, sizeof(uint64_t) * (R.nseries + 1));
	for (size_t k = 0; k < L.nseries; k++)
		sl[k] = sig_of(&sp, &L.series[k].labels);
	for (size_t k = 0; k < R.nseries; k++)
		sr[k] = sig_of(&sp, &R.series[k].labels);
	ev_value out = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	if (L.nseries == 0 || R.nseries == 0)
		return out;
	u64map rsig, matched, pairs, ohash;
	map_init(e->arena, &rsig, R.nseries);
	map_init(e->arena, &matched, L.nseries);
	map_init(e->arena, &pairs, L.nseries + 16);
	/* output label hash of each output series, for many-to-one checks */
	size_t ohcap = 0;
	uint64_t *oh = NULL;
	(void)ohash;
	for (size_t i = 0; i < e->nsteps; i++) {
		if ((i & 63) == 63)
			promql_ev_check(e);
		map_clear(&rsig);
		map_clear(&matched);
		for (size_t k = 0; k < R.nseries; k++) {
			if (!R.series[k].ok[i])
				continue;
			int32_t d = map_get(&rsig, sr[k]);
			if (d != -1) {
				const tp_labels *rl = &R.series[k].labels;
				tp_labels ml = match_labels(e, &sp, rl);
				promql_ev_fail(e, PROMQL_ERR_EXECUTION,
					       "found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s];many-to-many matching not allowed: matching labels must be unique on one side",
					       lstr(e, &ml),
					       swapped ? "left" : "right", lstr(e, &R.series[d].labels), lstr(e, rl));
			}
			map_put(&rsig, sr[k], (int32_t)k);
		}
		for (size_t k = 0; k < L.nseries; k++) {
			if (!L.series[k].ok[i])
				continue;
			int32_t ri = map_get(&rsig, sl[k]);
			if (ri == -1)
				continue;
			double fl = L.series[k].v[i], fr = R.series[ri].v[i];
			if (swapped) {
				double t = fl;
				fl = fr;
				fr = t;
			}
			bool keep;
			double x = elem(op, fl, fr, &keep);
			/* one-to-one duplicates are errors even when the
			 * comparison filters the sample out */
			if (m->card == PROMQL_CARD_ONE_TO_ONE) {
				if (map_get(&matched, sl[k]) != -1) {
					map_free(&rsig);
					map_free(&matched);
					map_free(&pairs);
					promql_ev_fail(e, PROMQL_ERR_EXECUTION,
						       "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
				}
				map_put(&matched, sl[k], 1);
			}
			if (rb) {
				x = keep ? 1 : 0;
			} else if (!keep) {
				continue;
			}
			uint64_t pid = m->card == PROMQL_CARD_ONE_TO_ONE && m->ninclude == 0
					       ? (uint64_t)k
					       : (uint64_t)k * (R.nseries + 1) + (uint64_t)ri;
			if (pairs.nused * 2 + 2 > pairs.cap) {
				/* grow: rebuild with double capacity */
				u64map np;
				map_init(e->arena, &np, pairs.cap);
				for (size_t u = 0; u < pairs.nused; u++)
					map_put(&np, pairs.keys[pairs.used[u]], pairs.vals[pairs.used[u]]);
				map_free(&pairs);
				pairs = np;
			}
			int32_t oi = map_get(&pairs, pid);
			if (oi == -1) {
				tp_labels ol = result_metric(e, n, &L.series[k].labels, &R.series[ri].labels);
				oi = (int32_t)out.nseries;
				promql_ev_series_new(e, &out.series, &out.nseries, &cap, &ol);
				out.series[oi].drop_name = e->delayed_names && (is_arith(op) || rb);
				map_put(&pairs, pid, oi);
				if ((size_t)oi >= ohcap) {
					size_t nc = ohcap ? ohcap * 2 : 64;
					oh = tp_arena_realloc(e->arena, oh, ohcap * sizeof(uint64_t), nc * sizeof(uint64_t));
					ohcap = nc;
				}
				oh[oi] = tp_labels_hash(&ol);
			}
			if (m->card != PROMQL_CARD_ONE_TO_ONE) {
				uint64_t key = tp_hash_mix(sl[k], oh[oi]);
				if (map_get(&matched, key) != -1) {
					map_free(&rsig);
					map_free(&matched);
					map_free(&pairs);
					promql_ev_fail(e, PROMQL_ERR_EXECUTION,
						       "multiple matches for labels: grouping labels must ensure unique matches");
				}
				if (matched.nused * 2 + 2 > matched.cap) {
					u64map nm;
					map_init(e->arena, &nm, matched.cap);
					for (size_t u = 0; u < matched.nused; u++)
						map_put(&nm, matched.keys[matched.used[u]], 1);
					map_free(&matched);
					matched = nm;
				}
				map_put(&matched, key, 1);
			}
			out.series[oi].ok[i] = 1;
			out.series[oi].v[i] = x;
		}
	}
	map_free(&rsig);
	map_free(&matched);
	map_free(&pairs);
	promql_ev_merge_same(e, &out);
	return out;
}

ev_value promql_ev_binary(ev *e, const promql_node *n)
{
	promql_binop op = n->u.binary.op;
	ev_value l = promql_ev_eval(e, n->u.binary.lhs);
	ev_value r = promql_ev_eval(e, n->u.binary.rhs);
	if (l.type == PROMQL_TYPE_SCALAR && r.type == PROMQL_TYPE_SCALAR) {
		for (size_t i = 0; i < e->nsteps; i++)
			l.scalar[i] = scalar_op(op, l.scalar[i], r.scalar[i]);
		return l;
	}
	if (l.type == PROMQL_TYPE_VECTOR && r.type == PROMQL_TYPE_SCALAR)
		return vector_scalar(e, n, l, r.scalar, false);
	if (l.type == PROMQL_TYPE_SCALAR && r.type == PROMQL_TYPE_VECTOR)
		return vector_scalar(e, n, r, l.scalar, true);
	if (promql_binop_is_set(op))
		return set_op(e, n, l, r);
	return vector_vector(e, n, l, r);
}
