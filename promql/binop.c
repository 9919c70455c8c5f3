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

/* State of one vector/vector operation. After a group_right swap, L is
 * the "many" side and R the "one" side; the fill values keep their
 * written sides (as upstream: a missing R takes fill_rhs, an unmatched R
 * is paired with a synthetic L of value fill_lhs). */
typedef struct vv_state {
	ev *e;
	const promql_node *n;
	const promql_matching *m;
	bool swapped;
	ev_value L, R;
	uint64_t *sl, *sr;        /* signatures per series */
	sigspec sp;
	tp_labels *synth_l;       /* per R series: labels of a synthetic L (fill) */
	tp_labels *synth_r;       /* per L series: labels of a synthetic R (fill) */
	uint8_t *synth_l_ok, *synth_r_ok;
	u64map rsig;              /* R signature -> R series, per step */
	u64map matched;           /* per step: 1:1 signatures, or (signature, output) pairs */
	u64map msig;              /* per step: signatures paired (fill_left pass) */
	u64map pairs;             /* pair id -> output series, across steps */
	ev_value out;
	size_t cap;
	uint64_t *oh;             /* output label hash per output series */
	size_t ohcap;
} vv_state;

/* map_put that doubles the table when it gets half full. */
static void map_put_grow(ev *e, u64map *m, uint64_t k, int32_t v)
{
	if (m->nused * 2 + 2 > m->cap) {
		u64map nm;
		map_init(e->arena, &nm, m->cap);
		for (size_t u = 0; u < m->nused; u++)
			map_put(&nm, m->keys[m->used[u]], m->vals[m->used[u]]);
		*m = nm;
	}
	map_put(m, k, v);
}

/* The match group identity of a series: the labels of the synthetic
 * sample a fill value stands in with (Prometheus's matchLabels). */
static const tp_labels *synth_labels(vv_state *st, tp_labels *cache, uint8_t *ok, const tp_labels *l, size_t k)
{
	if (!ok[k]) {
		cache[k] = match_labels(st->e, &st->sp, l);
		ok[k] = 1;
	}
	return &cache[k];
}

/* One matched pair at step i (doBinOp): lk / rk index L / R, or are -1
 * for a synthetic sample carrying the fill value. The duplicate checks
 * run before a comparison filters the sample, as in Prometheus 3.x. */
static void vv_pair(vv_state *st, size_t i, int64_t lk, int64_t rk, uint64_t sig)
{
	ev *e = st->e;
	const promql_matching *m = st->m;
	promql_binop op = st->n->u.binary.op;
	bool rb = st->n->u.binary.return_bool;
	double fl, fr;
	const tp_labels *ll, *rl;
	uint64_t pid;
	size_t nl = st->L.nseries, nr = st->R.nseries;

	if (lk >= 0) {
		fl = st->L.series[lk].v[i];
		ll = &st->L.series[lk].labels;
	} else {
		fl = m->fill_lhs;
		ll = synth_labels(st, st->synth_l, st->synth_l_ok, &st->R.series[rk].labels, (size_t)rk);
	}
	if (rk >= 0) {
		fr = st->R.series[rk].v[i];
		rl = &st->R.series[rk].labels;
	} else {
		fr = m->fill_rhs;
		rl = synth_labels(st, st->synth_r, st->synth_r_ok, &st->L.series[lk].labels, (size_t)lk);
	}
	if (lk < 0)
		pid = (uint64_t)nl * (nr + 1) + (uint64_t)rk;
	else if (m->card == PROMQL_CARD_ONE_TO_ONE && m->ninclude == 0)
		pid = (uint64_t)lk;  /* the output labels depend on L alone */
	else
		pid = (uint64_t)lk * (nr + 1) + (uint64_t)(rk >= 0 ? rk : (int64_t)nr);
	if (st->swapped) {
		double t = fl;
		fl = fr;
		fr = t;
	}
	bool keep;
	double x = elem(op, fl, fr, &keep);

	if (m->card == PROMQL_CARD_ONE_TO_ONE) {
		if (map_get(&st->matched, sig) != -1)
			promql_ev_fail(e, PROMQL_ERR_EXECUTION,
				       "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
		map_put_grow(e, &st->matched, sig, 1);
	}
	int32_t oi = map_get(&st->pairs, pid);
	if (oi == -1) {
		tp_labels ol = result_metric(e, st->n, ll, rl);
		oi = (int32_t)st->out.nseries;
		promql_ev_series_new(e, &st->out.series, &st->out.nseries, &st->cap, &ol);
		st->out.series[oi].drop_name = e->delayed_names && (is_arith(op) || rb);
		map_put_grow(e, &st->pairs, pid, oi);
		if ((size_t)oi >= st->ohcap) {
			size_t nc = st->ohcap ? st->ohcap * 2 : 64;
			st->oh = tp_arena_realloc(e->arena, st->oh, st->ohcap * sizeof(uint64_t), nc * sizeof(uint64_t));
			st->ohcap = nc;
		}
		st->oh[oi] = tp_labels_hash(&ol);
	}
	if (m->card != PROMQL_CARD_ONE_TO_ONE) {
		uint64_t key = tp_hash_mix(sig, st->oh[oi]);
		if (map_get(&st->matched, key) != -1)
			promql_ev_fail(e, PROMQL_ERR_EXECUTION,
				       "multiple matches for labels: grouping labels must ensure unique matches");
		map_put_grow(e, &st->matched, key, 1);
	}
	if (m->has_fill_lhs)
		map_put_grow(e, &st->msig, sig, 1);
	if (rb)
		x = keep ? 1 : 0;
	else if (!keep)
		return;
	st->out.series[oi].ok[i] = 1;
	st->out.series[oi].v[i] = x;
}

static size_t count_present(const ev_value *v, size_t i)
{
	size_t c = 0;
	for (size_t k = 0; k < v->nseries; k++)
		c += v->series[k].ok[i] != 0;
	return c;
}

static ev_value vector_vector(ev *e, const promql_node *n, ev_value lv, ev_value rv)
{
	const promql_matching *m = n->u.binary.matching;
	bool fill = m->has_fill_lhs || m->has_fill_rhs;
	vv_state st = { .e = e, .n = n, .m = m, .out = { .type = PROMQL_TYPE_VECTOR } };
	st.swapped = m->card == PROMQL_CARD_ONE_TO_MANY;
	st.L = st.swapped ? rv : lv;
	st.R = st.swapped ? lv : rv;
	if ((st.L.nseries == 0 && st.R.nseries == 0) || ((st.L.nseries == 0 || st.R.nseries == 0) && !fill))
		return st.out;
	st.sp = make_sigspec(e, m);
	size_t nl = st.L.nseries, nr = st.R.nseries;
	st.sl = tp_arena_alloc(e->arena, sizeof(uint64_t) * (nl + 1));
	st.sr = tp_arena_alloc(e->arena, sizeof(uint64_t) * (nr + 1));
	for (size_t k = 0; k < nl; k++)
		st.sl[k] = sig_of(&st.sp, &st.L.series[k].labels);
	for (size_t k = 0; k < nr; k++)
		st.sr[k] = sig_of(&st.sp, &st.R.series[k].labels);
	if (fill) {
		st.synth_l = tp_arena_alloc(e->arena, sizeof(tp_labels) * (nr + 1));
		st.synth_l_ok = tp_arena_zalloc(e->arena, nr + 1);
		st.synth_r = tp_arena_alloc(e->arena, sizeof(tp_labels) * (nl + 1));
		st.synth_r_ok = tp_arena_zalloc(e->arena, nl + 1);
	}
	map_init(e->arena, &st.rsig, nr);
	map_init(e->arena, &st.matched, nl + nr);
	map_init(e->arena, &st.msig, m->has_fill_lhs ? nl + nr : 0);
	map_init(e->arena, &st.pairs, nl + 16);
	for (size_t i = 0; i < e->nsteps; i++) {
		if ((i & 63) == 63)
			promql_ev_check(e);
		/* Prometheus's short cut, per step: with a side empty and no fill
		 * nothing can match (and duplicates on the other side are no error). */
		size_t pl = count_present(&st.L, i), pr = count_present(&st.R, i);
		if ((pl == 0 && pr == 0) || ((pl == 0 || pr == 0) && !fill))
			continue;
		map_clear(&st.rsig);
		map_clear(&st.matched);
		map_clear(&st.msig);
		for (size_t k = 0; k < nr; k++) {
			if (!st.R.series[k].ok[i])
				continue;
			int32_t d = map_get(&st.rsig, st.sr[k]);
			if (d != -1) {
				const tp_labels *rl = &st.R.series[k].labels;
				tp_labels ml = match_labels(e, &st.sp, rl);
				promql_ev_fail(e, PROMQL_ERR_EXECUTION,
					       "found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s];many-to-many matching not allowed: matching labels must be unique on one side",
					       lstr(e, &ml),
					       st.swapped ? "left" : "right", lstr(e, &st.R.series[d].labels), lstr(e, rl));
			}
			map_put(&st.rsig, st.sr[k], (int32_t)k);
		}
		for (size_t k = 0; k < nl; k++) {
			if (!st.L.series[k].ok[i])
				continue;
			int32_t ri = map_get(&st.rsig, st.sl[k]);
			if (ri == -1 && !m->has_fill_rhs)
				continue;
			vv_pair(&st, i, (int64_t)k, ri, st.sl[k]);
		}
		if (!m->has_fill_lhs)
			continue;
		/* R series no L matched at this step meet a synthetic L */
		for (size_t k = 0; k < nr; k++)
			if (st.R.series[k].ok[i] && map_get(&st.msig, st.sr[k]) == -1)
				vv_pair(&st, i, -1, (int64_t)k, st.sr[k]);
	}
	promql_ev_merge_same(e, &st.out);
	return st.out;
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
