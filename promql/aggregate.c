/* SPDX-License-Identifier: Apache-2.0
 * aggregate.c - PromQL aggregation operators over step matrices.
 *
 * Groups are computed once per input series (labels do not change across
 * steps). Accumulating operators run series-major over per-(group, step)
 * accumulators, which adds the values of one group and step in input order
 * exactly as Prometheus does step by step. topk/bottomk/limitk emulate Go's
 * container/heap and sort.Sort so instant results come out in Prometheus's
 * order. Invariant: output labels live in the query arena. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/hash.h"
#include "lib/strbuf.h"
#include "promql/value.h"

/* ---- quantile (promql/quantile.go: quantile) ---- */

static int cmp_nan_first(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	if (isnan(x))
		return isnan(y) ? 0 : -1;
	if (isnan(y))
		return 1;
	return x < y ? -1 : x > y;
}

double promql_quantile(double q, double *v, size_t n)
{
	if (n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(v, n, sizeof(double), cmp_nan_first);
	double fn = (double)n;
	double rank = q * (fn - 1);
	double lower = fmax(0, floor(rank));
	double upper = fmin(fn - 1, lower + 1);
	double weight = rank - floor(rank);
	return v[(size_t)lower] * (1 - weight) + v[(size_t)upper] * weight;
}

/* ---- grouping ---- */

static bool in_list(const char *name, char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static tp_labels group_labels(ev *e, const promql_node *n, const tp_labels *l)
{
	tp_labels r = { .v = tp_arena_alloc(e->arena, sizeof(tp_label) * (l->n ? l->n : 1)), .n = 0 };
	for (uint32_t i = 0; i < l->n; i++) {
		const char *name = l->v[i].name;
		bool listed = in_list(name, n->u.agg.grouping, n->u.agg.ngrouping);
		bool keep = n->u.agg.without ? !listed && strcmp(name, TP_METRIC_NAME) != 0 : listed;
		if (keep)
			r.v[r.n++] = l->v[i];
	}
	return r;
}

typedef struct groups {
	size_t ngroups;
	int32_t *of;        /* group of each input series */
	tp_labels *labels;  /* labels of each group */
} groups;

/* Groups label sets by content; returns the group index of each set. */
static int32_t group_find(ev *e, uint64_t *keys, int32_t *vals, size_t cap, tp_labels *glabels, size_t *ng,
			  const tp_labels *l)
{
	uint64_t h = tp_labels_hash(l);
	size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
	while (vals[i] != -1) {
		if (keys[i] == h && tp_labels_equal(&glabels[vals[i]], l))
			return vals[i];
		i = (i + 1) & (cap - 1);
	}
	(void)e;
	keys[i] = h;
	vals[i] = (int32_t)*ng;
	glabels[*ng] = *l;
	return (int32_t)(*ng)++;
}

static groups make_groups(ev *e, const promql_node *n, const ev_value *in)
{
	groups g = { 0 };
	size_t ns = in->nseries;
	g.of = tp_arena_alloc(e->arena, sizeof(int32_t) * (ns ? ns : 1));
	g.labels = tp_arena_alloc(e->arena, sizeof(tp_labels) * (ns ? ns : 1));
	size_t cap = 16;
	while (cap < ns * 2)
		cap *= 2;
	uint64_t *keys = tp_arena_alloc(e->arena, sizeof(uint64_t) * cap);
	int32_t *vals = tp_arena_alloc(e->arena, sizeof(int32_t) * cap);
	for (size_t i = 0; i < cap; i++)
		vals[i] = -1;
	for (size_t k = 0; k < ns; k++) {
		tp_labels gl = group_labels(e, n, &in->series[k].labels);
		g.of[k] = group_find(e, keys, vals, cap, g.labels, &g.ngroups, &gl);
	}
	return g;
}

/* ---- accumulating aggregations ---- */

typedef struct acc {
	double v, c, mean, count, aux, caux;
	bool seen, incremental;
} acc;

static ev_value accumulate(ev *e, const promql_node *n, const ev_value *in)
{
	promql_aggop op = n->u.agg.op;
	groups g = make_groups(e, n, in);
	size_t nsteps = e->nsteps;
	acc *a = tp_arena_zalloc(e->arena, sizeof(acc) * (g.ngroups ? g.ngroups : 1) * nsteps);
	for (size_t k = 0; k < in->nseries; k++) {
		const ev_series *s = &in->series[k];
		acc *row = &a[(size_t)g.of[k] * nsteps];
		if ((k & 1023) == 1023)
			promql_ev_check(e);
		for (size_t i = 0; i < nsteps; i++) {
			if (!s->ok[i])
				continue;
			double f = s->v[i];
			acc *x = &row[i];
			if (!x->seen) {
				x->seen = true;
				x->v = f;
				x->count = 1;
				x->mean = f;
				x->c = 0;
				if (op == PROMQL_AGG_STDDEV || op == PROMQL_AGG_STDVAR) {
					x->count = 0;
					x->mean = 0;
					x->aux = 0;
					x->caux = 0;
					goto var;
				}
				if (op == PROMQL_AGG_SUM) {
					x->v = 0;
					kahan_inc(f, &x->v, &x->c);
				}
				continue;
			}
			switch (op) {
			case PROMQL_AGG_SUM:
				kahan_inc(f, &x->v, &x->c);
				break;
			case PROMQL_AGG_AVG: {
				x->count++;
				if (!x->incremental) {
					double nv = x->v, nc = x->c;
					kahan_inc(f, &nv, &nc);
					if (!isinf(nv)) {
						x->v = nv;
						x->c = nc;
						break;
					}
					x->incremental = true;
					x->mean = x->v / (x->count - 1);
					x->c /= x->count - 1;
				}
				double q = (x->count - 1) / x->count;
				double m = q * x->mean, mc = q * x->c;
				kahan_inc(f / x->count, &m, &mc);
				x->mean = m;
				x->c = mc;
				break;
			}
			case PROMQL_AGG_COUNT:
				x->count++;
				break;
			case PROMQL_AGG_MIN:
				if (x->v > f || isnan(x->v))
					x->v = f;
				break;
			case PROMQL_AGG_MAX:
				if (x->v < f || isnan(x->v))
					x->v = f;
				break;
			case PROMQL_AGG_GROUP:
				break;
			case PROMQL_AGG_STDDEV:
			case PROMQL_AGG_STDVAR:
			var: {
				x->count++;
				double delta = f - (x->mean + x->c);
				kahan_inc(delta / x->count, &x->mean, &x->c);
				kahan_inc(delta * (f - (x->mean + x->c)), &x->aux, &x->caux);
				break;
			}
			default:
				break;
			}
		}
	}
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	for (size_t gi = 0; gi < g.ngroups; gi++) {
		acc *row = &a[gi * nsteps];
		ev_series *o = promql_ev_series_new(e, &r.series, &r.nseries, &cap, &g.labels[gi]);
		for (size_t k = 0; k < in->nseries; k++)
			if (g.of[k] == (int32_t)gi && in->series[k].drop_name)
				o->drop_name = tp_labels_get(&o->labels, TP_METRIC_NAME) != NULL;
		for (size_t i = 0; i < nsteps; i++) {
			acc *x = &row[i];
			if (!x->seen)
				continue;
			o->ok[i] = 1;
			switch (op) {
			case PROMQL_AGG_SUM: o->v[i] = isinf(x->v) ? x->v : x->v + x->c; break;
			case PROMQL_AGG_AVG:
				o->v[i] = x->incremental ? x->mean + x->c : x->v / x->count + x->c / x->count;
				break;
			case PROMQL_AGG_COUNT: o->v[i] = x->count; break;
			case PROMQL_AGG_GROUP: o->v[i] = 1; break;
			case PROMQL_AGG_STDVAR: o->v[i] = (x->aux + x->caux) / x->count; break;
			case PROMQL_AGG_STDDEV: o->v[i] = sqrt((x->aux + x->caux) / x->count); break;
			default: o->v[i] = x->v; break;
			}
		}
	}
	return r;
}

/* ---- quantile ---- */

static ev_value agg_quantile(ev *e, const promql_node *n, const ev_value *in, const double *qv)
{
	groups g = make_groups(e, n, in);
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	int32_t *out = tp_arena_alloc(e->arena, sizeof(int32_t) * (g.ngroups ? g.ngroups : 1));
	for (size_t gi = 0; gi < g.ngroups; gi++)
		out[gi] = -1;
	double *vals = tp_xmalloc(sizeof(double) * (in->nseries ? in->nseries : 1));
	size_t *start = tp_xcalloc(g.ngroups + 1, sizeof(size_t));
	/* bucket series by group once */
	for (size_t k = 0; k < in->nseries; k++)
		start[g.of[k] + 1]++;
	for (size_t gi = 0; gi < g.ngroups; gi++)
		start[gi + 1] += start[gi];
	size_t *order = tp_xmalloc(sizeof(size_t) * (in->nseries ? in->nseries : 1));
	size_t *fill = tp_xcalloc(g.ngroups ? g.ngroups : 1, sizeof(size_t));
	for (size_t k = 0; k < in->nseries; k++)
		order[start[g.of[k]] + fill[g.of[k]]++] = k;
	for (size_t i = 0; i < e->nsteps; i++) {
		double q = qv[i];
		if (isnan(q) || q < 0 || q > 1) {
			char b[32];
			tp_format_float(b, q);
			promql_ev_warn(e, n->u.agg.param, "quantile value should be between 0 and 1, got %s", b);
		}
		for (size_t gi = 0; gi < g.ngroups; gi++) {
			size_t m = 0;
			for (size_t j = start[gi]; j < start[gi + 1]; j++) {
				const ev_series *s = &in->series[order[j]];
				if (s->ok[i])
					vals[m++] = s->v[i];
			}
			if (!m)
				continue;
			if (out[gi] < 0) {
				out[gi] = (int32_t)r.nseries;
				promql_ev_series_new(e, &r.series, &r.nseries, &cap, &g.labels[gi]);
			}
			r.series[out[gi]].ok[i] = 1;
			r.series[out[gi]].v[i] = promql_quantile(q, vals, m);
		}
	}
	free(vals);
	free(start);
	free(order);
	free(fill);
	return r;
}

/* ---- topk / bottomk / limitk / limit_ratio ---- */

typedef struct hitem {
	double v;
	int32_t idx;  /* input series */
} hitem;

/* vectorByValueHeap.Less (min-heap) or vectorByReverseValueHeap.Less */
static bool hless(const hitem *h, size_t i, size_t j, bool reverse)
{
	double vi = h[i].v, vj = h[j].v;
	if (isnan(vi))
		return true;
	return reverse ? vi > vj : vi < vj;
}

static void hswap(hitem *h, size_t i, size_t j)
{
	hitem t = h[i];
	h[i] = h[j];
	h[j] = t;
}

static void hup(hitem *h, long j, bool rev)
{
	for (;;) {
		long i = (j - 1) / 2;
		if (i == j || !hless(h, (size_t)j, (size_t)i, rev))
			break;
		hswap(h, (size_t)i, (size_t)j);
		j = i;
	}
}

static bool hdown(hitem *h, long i0, long n, bool rev)
{
	long i = i0;
	for (;;) {
		long j1 = 2 * i + 1;
		if (j1 >= n || j1 < 0)
			break;
		long j = j1;
		long j2 = j1 + 1;
		if (j2 < n && hless(h, (size_t)j2, (size_t)j1, rev))
			j = j2;
		if (!hless(h, (size_t)j, (size_t)i, rev))
			break;
		hswap(h, (size_t)i, (size_t)j);
		i = j;
	}
	return i > i0;
}

/* sort.Sort(sort.Reverse(heap)): insertion sort for small n (as Go does),
 * stable merge otherwise. */
static bool rev_less(const hitem *a, const hitem *b, bool rev)
{
	hitem t[2] = { *b, *a };
	return hless(t, 0, 1, rev);
}

static void hsort_reverse(hitem *h, size_t n, bool rev, hitem *tmp)
{
	if (n < 2)
		return;
	if (n <= 12) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && rev_less(&h[j], &h[j - 1], rev); j--)
				hswap(h, j, j - 1);
		return;
	}
	size_t m = n / 2;
	hsort_reverse(h, m, rev, tmp);
	hsort_reverse(h + m, n - m, rev, tmp);
	size_t i = 0, j = m, k = 0;
	while (i < m && j < n)
		tmp[k++] = rev_less(&h[j], &h[i], rev) ? h[j++] : h[i++];
	while (i < m)
		tmp[k++] = h[i++];
	while (j < n)
		tmp[k++] = h[j++];
	memcpy(h, tmp, sizeof(hitem) * n);
}

static int64_t k_param(ev *e, double f)
{
	if (isnan(f))
		promql_ev_fail(e, PROMQL_ERR_EXECUTION, "Parameter value is NaN");
	if (f >= 9223372036854775808.0 || f < -9223372036854775808.0) {
		char b[32];
		tp_format_float(b, f);
		promql_ev_fail(e, PROMQL_ERR_EXECUTION, "Scalar value %s overflows int64", b);
	}
	return (int64_t)f;
}

/* xxHash64 (seed 0), as github.com/cespare/xxhash computes it. */
#define XP1 0x9E3779B185EBCA87ULL
#define XP2 0xC2B2AE3D27D4EB4FULL
#define XP3 0x165667B19E3779F9ULL
#define XP4 0x85EBCA77C2B2AE63ULL
#define XP5 0x27D4EB2F165667C5ULL

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t xround(uint64_t acc, uint64_t in)
{
	acc += in * XP2;
	acc = rotl64(acc, 31);
	return acc * XP1;
}

static uint64_t xmerge(uint64_t acc, uint64_t v)
{
	acc ^= xround(0, v);
	return acc * XP1 + XP4;
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v; /* little-endian hosts */
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

uint64_t promql_xxh64(const void *data, size_t n)
{
	const unsigned char *p = data;
	const unsigned char *end = p + n;
	uint64_t h;
	if (n >= 32) {
		uint64_t v1 = XP1 + XP2, v2 = XP2, v3 = 0, v4 = (uint64_t)0 - XP1;
		while (end - p >= 32) {
			v1 = xround(v1, rd64(p));
			v2 = xround(v2, rd64(p + 8));
			v3 = xround(v3, rd64(p + 16));
			v4 = xround(v4, rd64(p + 24));
			p += 32;
		}
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		h = xmerge(h, v1);
		h = xmerge(h, v2);
		h = xmerge(h, v3);
		h = xmerge(h, v4);
	} else {
		h = XP5;
	}
	h += (uint64_t)n;
	while (end - p >= 8) {
		h ^= xround(0, rd64(p));
		h = rotl64(h, 27) * XP1 + XP4;
		p += 8;
	}
	if (end - p >= 4) {
		h ^= (uint64_t)rd32(p) * XP1;
		h = rotl64(h, 23) * XP2 + XP3;
		p += 4;
	}
	while (p < end) {
		h ^= (uint64_t)*p * XP5;
		h = rotl64(h, 11) * XP1;
		p++;
	}
	h ^= h >> 33;
	h *= XP2;
	h ^= h >> 29;
	h *= XP3;
	h ^= h >> 32;
	return h;
}

/* Prometheus's labels.Hash: xxHash64 of name 0xff value 0xff ... */
static uint64_t ratio_hash(const tp_labels *l)
{
	size_t n = 0;
	for (uint32_t i = 0; i < l->n; i++)
		n += strlen(l->v[i].name) + strlen(l->v[i].value) + 2;
	unsigned char stackbuf[1024];
	unsigned char *b = n <= sizeof(stackbuf) ? stackbuf : tp_xmalloc(n);
	size_t o = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		size_t ln = strlen(l->v[i].name), lv = strlen(l->v[i].value);
		memcpy(b + o, l->v[i].name, ln);
		o += ln;
		b[o++] = 0xff;
		memcpy(b + o, l->v[i].value, lv);
		o += lv;
		b[o++] = 0xff;
	}
	uint64_t h = promql_xxh64(b, o);
	if (b != stackbuf)
		free(b);
	return h;
}

static ev_value agg_k(ev *e, const promql_node *n, const ev_value *in, const double *param)
{
	promql_aggop op = n->u.agg.op;
	groups g = make_groups(e, n, in);
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0, ns = in->nseries;
	int32_t *outidx = tp_arena_alloc(e->arena, sizeof(int32_t) * (ns ? ns : 1));
	for (size_t k = 0; k < ns; k++)
		outidx[k] = -1;
	tp_arena *A = e->arena;
	hitem *heap = tp_arena_alloc(A, sizeof(hitem) * (ns ? ns : 1) * 2);
	hitem *tmp = heap + (ns ? ns : 1);
	size_t *hstart = tp_arena_zalloc(A, (g.ngroups + 1) * sizeof(size_t));
	size_t *hlen = tp_arena_zalloc(A, (g.ngroups + 1) * sizeof(size_t));
	int32_t *gorder = tp_arena_alloc(A, sizeof(int32_t) * (g.ngroups ? g.ngroups : 1));
	uint8_t *gseen = tp_arena_alloc(A, g.ngroups ? g.ngroups : 1);
	/* group sizes to lay the heaps out contiguously */
	size_t *gsize = tp_arena_zalloc(A, (g.ngroups + 1) * sizeof(size_t));
	for (size_t k = 0; k < ns; k++)
		gsize[g.of[k]]++;
	for (size_t gi = 1; gi < g.ngroups; gi++)
		hstart[gi] = hstart[gi - 1] + gsize[gi - 1];
	bool warned = false;
	for (size_t i = 0; i < e->nsteps; i++) {
		int64_t k = 0;
		double ratio = 0;
		size_t present = 0;
		for (size_t s = 0; s < ns; s++)
			present += in->series[s].ok[i];
		if (op == PROMQL_AGG_LIMIT_RATIO) {
			ratio = param[i];
			if (isnan(ratio))
				promql_ev_fail(e, PROMQL_ERR_EXECUTION, "Ratio value is NaN");
			if (ratio < -1 || ratio > 1) {
				if (!warned) {
					char b[32];
					tp_format_float(b, ratio);
					promql_ev_warn(e, n->u.agg.param, "ratio value should be between -1 and 1, got %s", b);
					warned = true;
				}
				ratio = ratio < -1 ? -1 : 1;
			}
		} else {
			k = k_param(e, param[i]);
			if (k > (int64_t)present)
				k = (int64_t)present;
			if (k < 1)
				continue;
		}
		memset(hlen, 0, sizeof(size_t) * (g.ngroups + 1));
		memset(gseen, 0, g.ngroups ? g.ngroups : 1);
		size_t norder = 0;
		bool rev = op == PROMQL_AGG_BOTTOMK;
		for (size_t s = 0; s < ns; s++) {
			if (!in->series[s].ok[i])
				continue;
			int32_t gi = g.of[s];
			if (!gseen[gi]) {
				gseen[gi] = 1;
				gorder[norder++] = gi;
			}
			hitem it = { in->series[s].v[i], (int32_t)s };
			hitem *h = heap + hstart[gi];
			size_t *hl = &hlen[gi];
			switch (op) {
			case PROMQL_AGG_TOPK:
			case PROMQL_AGG_BOTTOMK:
				if ((int64_t)*hl < k) {
					h[(*hl)++] = it;
					hup(h, (long)*hl - 1, rev);
				} else if (rev ? (h[0].v > it.v || (isnan(h[0].v) && !isnan(it.v)))
					       : (h[0].v < it.v || (isnan(h[0].v) && !isnan(it.v)))) {
					h[0] = it;
					if (k > 1 && !hdown(h, 0, (long)*hl, rev))
						hup(h, 0, rev);
				}
				break;
			case PROMQL_AGG_LIMITK:
				if ((int64_t)*hl < k) {
					h[(*hl)++] = it;
					hup(h, (long)*hl - 1, false);
				}
				break;
			default: { /* LIMIT_RATIO */
				double off = (double)ratio_hash(&in->series[s].labels) / 18446744073709551615.0;
				if ((ratio >= 0 && off < ratio) || (ratio < 0 && off >= 1.0 + ratio))
					h[(*hl)++] = it;
				break;
			}
			}
		}
		for (size_t oi = 0; oi < norder; oi++) {
			int32_t gi = gorder[oi];
			hitem *h = heap + hstart[gi];
			if (op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK)
				hsort_reverse(h, hlen[gi], rev, tmp);
			for (size_t j = 0; j < hlen[gi]; j++) {
				int32_t si = h[j].idx;
				if (outidx[si] < 0) {
					outidx[si] = (int32_t)r.nseries;
					promql_ev_series_new(e, &r.series, &r.nseries, &cap, &in->series[si].labels);
					r.series[outidx[si]].drop_name = in->series[si].drop_name;
				}
				ev_series *o = &r.series[outidx[si]];
				o->ok[i] = 1;
				o->v[i] = h[j].v;
			}
		}
	}
	return r;
}

/* ---- count_values ---- */

static ev_value agg_count_values(ev *e, const promql_node *n, const ev_value *in)
{
	const char *lname = promql_unwrap_paren(n->u.agg.param)->u.string.value;
	if (!lname[0])
		promql_ev_fail(e, PROMQL_ERR_EXECUTION, "invalid label name \"%s\"", lname);
	lname = tp_arena_strdup(e->arena, lname);
	/* grouping list incl. the value label for `by` */
	promql_node nn = *n;
	if (!n->u.agg.without) {
		char **gl = tp_arena_alloc(e->arena, sizeof(char *) * (n->u.agg.ngrouping + 1));
		if (n->u.agg.ngrouping)
			memcpy(gl, n->u.agg.grouping, sizeof(char *) * n->u.agg.ngrouping);
		gl[n->u.agg.ngrouping] = (char *)lname;
		nn.u.agg.grouping = gl;
		nn.u.agg.ngrouping = n->u.agg.ngrouping + 1;
	}
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	size_t mcap = 64;
	uint64_t *keys = tp_xmalloc(sizeof(uint64_t) * mcap);
	int32_t *vals = tp_xmalloc(sizeof(int32_t) * mcap);
	for (size_t i = 0; i < mcap; i++)
		vals[i] = -1;
	char fb[400];
	for (size_t i = 0; i < e->nsteps; i++) {
		for (size_t k = 0; k < in->nseries; k++) {
			const ev_series *s = &in->series[k];
			if (!s->ok[i])
				continue;
			tp_format_float_f(fb, s->v[i]);
			tp_labels_builder b;
			tp_lb_init(&b, e->arena, &s->labels);
			tp_lb_set(&b, lname, tp_arena_strdup(e->arena, fb));
			tp_labels ml = tp_lb_labels(&b);
			tp_labels gl = group_labels(e, &nn, &ml);
			uint64_t h = tp_labels_hash(&gl);
			size_t slot = (size_t)(h ^ (h >> 29)) & (mcap - 1);
			while (vals[slot] != -1 && !(keys[slot] == h && tp_labels_equal(&r.series[vals[slot]].labels, &gl)))
				slot = (slot + 1) & (mcap - 1);
			if (vals[slot] == -1) {
				keys[slot] = h;
				vals[slot] = (int32_t)r.nseries;
				ev_series *o = promql_ev_series_new(e, &r.series, &r.nseries, &cap, &gl);
				memset(o->v, 0, sizeof(double) * e->nsteps);
				if (r.nseries * 2 > mcap) {
					size_t ncap = mcap * 2;
					uint64_t *nk = tp_xmalloc(sizeof(uint64_t) * ncap);
					int32_t *nv = tp_xmalloc(sizeof(int32_t) * ncap);
					for (size_t j = 0; j < ncap; j++)
						nv[j] = -1;
					for (size_t j = 0; j < mcap; j++) {
						if (vals[j] == -1)
							continue;
						size_t sl = (size_t)(keys[j] ^ (keys[j] >> 29)) & (ncap - 1);
						while (nv[sl] != -1)
							sl = (sl + 1) & (ncap - 1);
						nk[sl] = keys[j];
						nv[sl] = vals[j];
					}
					free(keys);
					free(vals);
					keys = nk;
					vals = nv;
					mcap = ncap;
				}
				slot = SIZE_MAX;
				/* re-find below */
				size_t sl = (size_t)(h ^ (h >> 29)) & (mcap - 1);
				while (!(vals[sl] != -1 && keys[sl] == h &&
					 tp_labels_equal(&r.series[vals[sl]].labels, &gl)))
					sl = (sl + 1) & (mcap - 1);
				slot = sl;
			}
			ev_series *o = &r.series[vals[slot]];
			o->ok[i] = 1;
			o->v[i] += 1;
		}
	}
	free(keys);
	free(vals);
	return r;
}

ev_value promql_ev_aggregate(ev *e, const promql_node *n)
{
	promql_aggop op = n->u.agg.op;
	double *param = NULL;
	if (n->u.agg.param && op != PROMQL_AGG_COUNT_VALUES) {
		ev_value p = promql_ev_eval(e, n->u.agg.param);
		param = p.scalar;
	}
	ev_value in = promql_ev_eval(e, n->u.agg.expr);
	switch (op) {
	case PROMQL_AGG_TOPK:
	case PROMQL_AGG_BOTTOMK:
	case PROMQL_AGG_LIMITK:
	case PROMQL_AGG_LIMIT_RATIO:
		return agg_k(e, n, &in, param);
	case PROMQL_AGG_QUANTILE:
		return agg_quantile(e, n, &in, param);
	case PROMQL_AGG_COUNT_VALUES:
		return agg_count_values(e, n, &in);
	default:
		return accumulate(e, n, &in);
	}
}
