/* SPDX-License-Identifier: Apache-2.0
 * histogram.c - histogram_quantile and histogram_fraction over classic
 * histograms (series with an `le` label), as promql/quantile.go does it:
 * buckets sorted by upper bound, equal bounds coalesced, counts forced
 * monotonic (with an info annotation), linear interpolation in a bucket.
 *
 * Invariant: series are grouped once by their labels without `le`
 * (including __name__); the output drops __name__ and `le`. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/hash.h"
#include "lib/strbuf.h"
#include "promql/value.h"

typedef struct bucket {
	double upper, count;
} bucket;

static int bucket_cmp(const void *a, const void *b)
{
	double x = ((const bucket *)a)->upper, y = ((const bucket *)b)->upper;
	return x < y ? -1 : x > y;
}

static size_t coalesce(bucket *b, size_t n)
{
	if (n == 0)
		return 0;
	size_t o = 0;
	for (size_t i = 1; i < n; i++) {
		if (b[i].upper == b[o].upper)
			b[o].count += b[i].count;
		else
			b[++o] = b[i];
	}
	return o + 1;
}

static bool almost_equal(double a, double b, double eps)
{
	const double min_normal = 2.2250738585072014e-308;
	if (a == b)
		return true;
	double abs_sum = fabs(a) + fabs(b);
	double diff = fabs(a - b);
	if (a == 0 || b == 0 || abs_sum < min_normal)
		return diff < eps * min_normal;
	return diff / fmin(abs_sum, 1.7976931348623157e308) < eps;
}

static bool ensure_monotonic(bucket *b, size_t n)
{
	bool forced = false;
	double prev = b[0].count;
	for (size_t i = 1; i < n; i++) {
		double cur = b[i].count;
		if (cur == prev)
			continue;
		if (almost_equal(prev, cur, 1e-12)) {
			b[i].count = prev;
			continue;
		}
		if (cur < prev) {
			b[i].count = prev;
			forced = true;
			continue;
		}
		prev = cur;
	}
	return forced;
}

static double bucket_quantile(double q, bucket *b, size_t n, bool *forced)
{
	*forced = false;
	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(b, n, sizeof(bucket), bucket_cmp);
	if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
		return NAN;
	n = coalesce(b, n);
	*forced = ensure_monotonic(b, n);
	if (n < 2)
		return NAN;
	double obs = b[n - 1].count;
	if (obs == 0)
		return NAN;
	double rank = q * obs;
	size_t lo = 0, hi = n - 1; /* sort.Search over [0, n-1) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b[mid].count >= rank)
			hi = mid;
		else
			lo = mid + 1;
	}
	size_t i = lo;
	if (i == n - 1)
		return b[n - 2].upper;
	if (i == 0 && b[0].upper <= 0)
		return b[0].upper;
	double start = 0, end = b[i].upper, count = b[i].count;
	if (i > 0) {
		start = b[i - 1].upper;
		count -= b[i - 1].count;
		rank -= b[i - 1].count;
	}
	return start + (end - start) * (rank / count);
}

/* Linear interpolation inside a bucket; an infinitely wide bucket puts
 * all its observations at its finite end. */
static double interp(double rank, double count, double lb, double ub, double v)
{
	if (isinf(lb))
		return count;
	if (isinf(ub))
		return rank;
	return rank + (count - rank) * (v - lb) / (ub - lb);
}

static double bucket_fraction(double lower, double upper, bucket *b, size_t n)
{
	qsort(b, n, sizeof(bucket), bucket_cmp);
	if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
		return NAN;
	n = coalesce(b, n);
	double count = b[n - 1].count;
	if (count == 0 || isnan(lower) || isnan(upper))
		return NAN;
	if (lower >= upper)
		return 0;
	double rank = 0, lower_rank = 0, upper_rank = 0;
	bool lower_set = false, upper_set = false;
	for (size_t i = 0; i < n; i++) {
		double lb = i > 0 ? b[i - 1].upper : (b[i].upper > 0 ? 0 : -INFINITY);
		double ub = b[i].upper;
		if (!lower_set && lb >= lower) {
			lower_rank = rank;
			lower_set = true;
		}
		if (!upper_set && lb >= upper) {
			upper_rank = rank;
			upper_set = true;
		}
		if (lower_set && upper_set)
			break;
		if (!lower_set && lb < lower && ub > lower) {
			lower_rank = interp(rank, b[i].count, lb, ub, lower);
			lower_set = true;
		}
		if (!upper_set && lb < upper && ub > upper) {
			upper_rank = interp(rank, b[i].count, lb, ub, upper);
			upper_set = true;
		}
		if (lower_set && upper_set)
			break;
		rank = b[i].count;
	}
	if (!lower_set || lower_rank > count)
		lower_rank = count;
	if (!upper_set || upper_rank > count)
		upper_rank = count;
	return (upper_rank - lower_rank) / count;
}

/* Go's strconv.ParseFloat for an `le` value (no leading/trailing space). */
static bool parse_le(const char *s, double *out)
{
	if (!s || !s[0] || s[0] == ' ' || s[0] == '\t' || s[0] == '\n')
		return false;
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0) {
		*out = s[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (strcasecmp(p, "nan") == 0) {
		*out = NAN;
		return true;
	}
	char *end;
	*out = strtod(s, &end);
	return *end == '\0';
}

typedef struct hgroups {
	size_t n;
	int32_t *of;       /* group of each input series, -1: bad le */
	double *le;        /* upper bound of each input series */
	tp_labels *labels; /* output labels of each group */
	size_t *start, *order;
} hgroups;

static const char *const le_names[] = { "le" };

static hgroups group_buckets(ev *e, const ev_value *in, const promql_node *arg)
{
	hgroups g = { 0 };
	size_t ns = in->nseries;
	g.of = tp_arena_alloc(e->arena, sizeof(int32_t) * (ns + 1));
	g.le = tp_arena_alloc(e->arena, sizeof(double) * (ns + 1));
	g.labels = tp_arena_alloc(e->arena, sizeof(tp_labels) * (ns + 1));
	size_t cap = 16;
	while (cap < ns * 2)
		cap *= 2;
	uint64_t *keys = tp_xmalloc(sizeof(uint64_t) * cap);
	int32_t *vals = tp_xmalloc(sizeof(int32_t) * cap);
	for (size_t i = 0; i < cap; i++)
		vals[i] = -1;
	for (size_t k = 0; k < ns; k++) {
		const tp_labels *l = &in->series[k].labels;
		const char *le = tp_labels_get(l, "le");
		if (!parse_le(le, &g.le[k])) {
			const char *name = tp_labels_get(l, TP_METRIC_NAME);
			promql_ev_warn(e, arg, "bucket label \"le\" is missing or has a malformed value of \"%s\" for metric name \"%s\"",
				       le ? le : "", name ? name : "");
			g.of[k] = -1;
			continue;
		}
		uint64_t h = tp_labels_hash_for(l, le_names, 1, false);
		size_t s = (size_t)(h ^ (h >> 29)) & (cap - 1);
		while (vals[s] != -1 && keys[s] != h)
			s = (s + 1) & (cap - 1);
		if (vals[s] == -1) {
			keys[s] = h;
			vals[s] = (int32_t)g.n;
			tp_labels_builder b;
			tp_lb_init(&b, e->arena, l);
			tp_lb_filter(&b, le_names, 1, false);
			tp_labels gl = tp_lb_labels(&b);
			g.labels[g.n++] = e->delayed_names ? gl : promql_labels_drop_name(e, &gl);
		}
		g.of[k] = vals[s];
	}
	free(keys);
	free(vals);
	g.start = tp_arena_zalloc(e->arena, sizeof(size_t) * (g.n + 2));
	g.order = tp_arena_alloc(e->arena, sizeof(size_t) * (ns + 1));
	for (size_t k = 0; k < ns; k++)
		if (g.of[k] >= 0)
			g.start[g.of[k] + 1]++;
	for (size_t i = 0; i < g.n; i++)
		g.start[i + 1] += g.start[i];
	size_t *fill = tp_xcalloc(g.n + 1, sizeof(size_t));
	for (size_t k = 0; k < ns; k++)
		if (g.of[k] >= 0)
			g.order[g.start[g.of[k]] + fill[g.of[k]]++] = k;
	free(fill);
	return g;
}

static ev_value hist_eval(ev *e, const promql_node *n, bool fraction)
{
	const promql_node *varg = n->u.call.args[fraction ? 2 : 1];
	double *p0 = promql_ev_eval(e, n->u.call.args[0]).scalar;
	double *p1 = fraction ? promql_ev_eval(e, n->u.call.args[1]).scalar : NULL;
	ev_value in = promql_ev_eval(e, varg);
	hgroups g = group_buckets(e, &in, varg);
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	int32_t *out = tp_arena_alloc(e->arena, sizeof(int32_t) * (g.n + 1));
	for (size_t i = 0; i < g.n; i++)
		out[i] = -1;
	bucket *b = tp_xmalloc(sizeof(bucket) * (in.nseries + 1));
	for (size_t i = 0; i < e->nsteps; i++) {
		if (!fraction) {
			double q = p0[i];
			if (isnan(q) || q < 0 || q > 1) {
				char fb[32];
				tp_format_float(fb, q);
				promql_ev_warn(e, n->u.call.args[0], "quantile value should be between 0 and 1, got %s", fb);
			}
		}
		for (size_t gi = 0; gi < g.n; gi++) {
			size_t m = 0;
			for (size_t j = g.start[gi]; j < g.start[gi + 1]; j++) {
				const ev_series *s = &in.series[g.order[j]];
				if (s->ok[i])
					b[m++] = (bucket){ g.le[g.order[j]], s->v[i] };
			}
			if (!m)
				continue;
			double v;
			if (fraction) {
				v = bucket_fraction(p0[i], p1[i], b, m);
			} else {
				bool forced;
				v = bucket_quantile(p0[i], b, m, &forced);
				if (forced) {
					/* Prometheus names the metric only with delayed name removal */
					const char *mn = e->delayed_names ? tp_labels_get(&g.labels[gi], TP_METRIC_NAME) : NULL;
					promql_ev_info(e, varg,
						       "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"%s\"",
						       mn ? mn : "");
				}
			}
			if (out[gi] < 0) {
				out[gi] = (int32_t)r.nseries;
				promql_ev_series_new(e, &r.series, &r.nseries, &cap, &g.labels[gi]);
				r.series[out[gi]].drop_name = e->delayed_names;
			}
			r.series[out[gi]].ok[i] = 1;
			r.series[out[gi]].v[i] = v;
		}
	}
	free(b);
	promql_ev_merge_same(e, &r);
	return r;
}

/* labels.FormatOpenMetricsFloat: strconv 'g' form, with ".0" added to
 * integers (0.0, 1.0, 0.25, 1e-05, NaN). */
static void format_om_float(char *buf, double v)
{
	size_t n = tp_format_float(buf, v);
	if (isnan(v) || isinf(v) || strpbrk(buf, "e.") != NULL)
		return;
	memcpy(buf + n, ".0", 3);
}

/* histogram_quantiles(v, "label", q1, q2, ...): histogram_quantile for
 * every q, the output series told apart by label="<q>". Series are
 * quantile-major in Prometheus; here one output series per (bucket group,
 * q argument, label value), merged by labels at the end, so two q's that
 * format alike collide as "vector cannot contain metrics with the same
 * labelset". Annotations as histogram_quantile's: invalid q at its own
 * argument, bad `le` and forced monotonicity at the vector argument. */
ev_value promql_ev_histogram_quantiles(ev *e, const promql_node *n)
{
	const promql_node *varg = n->u.call.args[0];
	ev_value in = promql_ev_eval(e, varg);
	const char *label = tp_arena_strdup(e->arena, promql_ev_eval(e, n->u.call.args[1]).str);
	size_t nq = n->u.call.nargs - 2;
	double **qs = tp_arena_alloc(e->arena, sizeof(double *) * nq);
	for (size_t j = 0; j < nq; j++)
		qs[j] = promql_ev_eval(e, n->u.call.args[2 + j]).scalar;
	hgroups g = group_buckets(e, &in, varg);
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0, nout = g.n * nq;
	int32_t *out = tp_arena_alloc(e->arena, sizeof(int32_t) * (nout + 1));
	const char **out_q = tp_arena_zalloc(e->arena, sizeof(char *) * (nout + 1));
	for (size_t i = 0; i < nout; i++)
		out[i] = -1;
	bucket *b = tp_xmalloc(sizeof(bucket) * (in.nseries + 1));
	char fb[40];
	for (size_t i = 0; i < e->nsteps; i++) {
		for (size_t j = 0; j < nq; j++) {
			double q = qs[j][i];
			if (isnan(q) || q < 0 || q > 1) {
				tp_format_float(fb, q);
				promql_ev_warn(e, n->u.call.args[2 + j], "quantile value should be between 0 and 1, got %s", fb);
			}
		}
		for (size_t gi = 0; gi < g.n; gi++) {
			for (size_t j = 0; j < nq; j++) {
				size_t m = 0;
				for (size_t k = g.start[gi]; k < g.start[gi + 1]; k++) {
					const ev_series *s = &in.series[g.order[k]];
					if (s->ok[i])
						b[m++] = (bucket){ g.le[g.order[k]], s->v[i] };
				}
				if (!m)
					break;
				bool forced;
				double v = bucket_quantile(qs[j][i], b, m, &forced);
				if (forced) {
					const char *mn = e->delayed_names ? tp_labels_get(&g.labels[gi], TP_METRIC_NAME) : NULL;
					promql_ev_info(e, varg,
						       "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"%s\"",
						       mn ? mn : "");
				}
				size_t o = gi * nq + j;
				format_om_float(fb, qs[j][i]);
				if (out[o] < 0 || strcmp(out_q[o], fb) != 0) {
					/* a new label value (the q argument changed) */
					tp_labels_builder lb;
					tp_lb_init(&lb, e->arena, &g.labels[gi]);
					out_q[o] = tp_arena_strdup(e->arena, fb);
					tp_lb_set(&lb, label, out_q[o]);
					tp_labels l = tp_lb_labels(&lb);
					out[o] = (int32_t)r.nseries;
					promql_ev_series_new(e, &r.series, &r.nseries, &cap, &l);
					r.series[out[o]].drop_name = e->delayed_names;
				}
				r.series[out[o]].ok[i] = 1;
				r.series[out[o]].v[i] = v;
			}
		}
	}
	free(b);
	promql_ev_merge_same(e, &r);
	return r;
}

ev_value promql_ev_histogram_quantile(ev *e, const promql_node *n)
{
	return hist_eval(e, n, false);
}

ev_value promql_ev_histogram_fraction(ev *e, const promql_node *n)
{
	return hist_eval(e, n, true);
}
