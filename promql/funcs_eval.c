/* SPDX-License-Identifier: Apache-2.0
 * funcs_eval.c - PromQL function calls: range-vector functions evaluated
 * series-at-a-time with sliding windows, element-wise instant functions,
 * label_replace/label_join, absent*, sort*, date and time functions.
 *
 * Invariants: a range function sees each series' samples once, decoded
 * into the evaluator's buffer; the window of step i is (ref_i - range,
 * ref_i] with ref non-decreasing, so two indices slide forward only.
 * Numerics follow Prometheus's functions.go (Kahan sums, extrapolatedRate,
 * linearRegression) so results match bit for bit where possible. */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/hash.h"
#include "lib/strbuf.h"
#include "promql/functions.h"
#include "promql/value.h"
#include "promql/window.h"

/* ---- scratch memory for per-window computations (not per sample) ---- */

/* Grows geometrically in the query arena, so an error (longjmp) leaks
 * nothing and the total stays below twice the largest window. */
typedef struct scratch {
	double *v;
	size_t cap;
	tp_arena *arena;
} scratch;

static double *scratch_get(scratch *s, size_t n)
{
	if (n > s->cap) {
		s->cap = n * 2;
		s->v = tp_arena_alloc(s->arena, sizeof(double) * s->cap);
	}
	return s->v;
}

/* ---- range functions ---- */

typedef struct win_ctx {
	ev *e;
	const promql_node *call;
	promql_func_id id;
	int64_t range_ms;
	double *param[2];     /* per-step scalar arguments */
	scratch tmp;
	promql_slide *slide;  /* sliding form of the function (window.c), or NULL */
} win_ctx;

static double extrapolated_rate(const tsdb_sample *s, size_t n, int64_t range_start, int64_t range_end,
				 int64_t range_ms, bool is_counter, bool is_rate, bool *ok)
{
	if (n < 2) {
		*ok = false;
		return 0;
	}
	double result = s[n - 1].v - s[0].v;
	if (is_counter) {
		for (size_t i = 1; i < n; i++)
			if (s[i].v < s[i - 1].v)
				result += s[i - 1].v;
	}
	double duration_to_start = (double)(s[0].t - range_start) / 1000;
	double duration_to_end = (double)(range_end - s[n - 1].t) / 1000;
	double sampled = (double)(s[n - 1].t - s[0].t) / 1000;
	double avg = sampled / (double)(n - 1);
	double threshold = avg * 1.1;
	if (duration_to_start >= threshold)
		duration_to_start = avg / 2;
	if (is_counter) {
		double to_zero = duration_to_start;
		if (result > 0 && s[0].v >= 0)
			to_zero = sampled * (s[0].v / result);
		if (to_zero < duration_to_start)
			duration_to_start = to_zero;
	}
	if (duration_to_end >= threshold)
		duration_to_end = avg / 2;
	double factor = 1.0;
	if (sampled != 0)
		factor = (sampled + duration_to_start + duration_to_end) / sampled;
	if (is_rate)
		factor /= (double)range_ms / 1000;
	*ok = true;
	return result * factor;
}

static double instant_value(const tsdb_sample *s, size_t n, bool is_rate, bool *ok)
{
	*ok = false;
	if (n < 2)
		return 0;
	const tsdb_sample *last = &s[n - 1], *prev = &s[n - 2];
	double r = last->v;
	if (!is_rate || !(last->v < prev->v))
		r = last->v - prev->v;
	int64_t interval = last->t - prev->t;
	if (interval == 0)
		return 0;
	if (is_rate)
		r /= (double)interval / 1000;
	*ok = true;
	return r;
}

static void linear_regression(const tsdb_sample *s, size_t n, int64_t intercept_t, double *slope, double *intercept)
{
	double cnt = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0, c_x2 = 0;
	double init_y = s[0].v;
	bool const_y = true;
	for (size_t i = 0; i < n; i++) {
		if (const_y && i > 0 && s[i].v != init_y)
			const_y = false;
		cnt += 1.0;
		double x = (double)(s[i].t - intercept_t) / 1e3;
		kahan_inc(x, &sum_x, &c_x);
		kahan_inc(s[i].v, &sum_y, &c_y);
		kahan_inc(x * s[i].v, &sum_xy, &c_xy);
		kahan_inc(x * x, &sum_x2, &c_x2);
	}
	if (const_y) {
		if (isinf(init_y)) {
			*slope = NAN;
			*intercept = NAN;
			return;
		}
		*slope = 0;
		*intercept = init_y;
		return;
	}
	sum_x += c_x;
	sum_y += c_y;
	sum_xy += c_xy;
	sum_x2 += c_x2;
	double cov_xy = sum_xy - sum_x * sum_y / cnt;
	double var_x = sum_x2 - sum_x * sum_x / cnt;
	*slope = cov_xy / var_x;
	*intercept = sum_y / cnt - *slope * sum_x / cnt;
}

static double avg_over(const tsdb_sample *s, size_t n)
{
	double sum = s[0].v, count = 1, mean = 0, c = 0;
	bool incremental = false;
	for (size_t i = 1; i < n; i++) {
		count = (double)(i + 1);
		if (!incremental) {
			double ns = sum, nc = c;
			kahan_inc(s[i].v, &ns, &nc);
			if (!isinf(ns)) {
				sum = ns;
				c = nc;
				continue;
			}
			incremental = true;
			mean = sum / (count - 1);
			c /= (count - 1);
		}
		double q = (count - 1) / count;
		double m = q * mean, mc = q * c;
		kahan_inc(s[i].v / count, &m, &mc);
		mean = m;
		c = mc;
	}
	if (incremental)
		return mean + c;
	return sum / count + c / count;
}

static double variance_over(const tsdb_sample *s, size_t n)
{
	double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
	for (size_t i = 0; i < n; i++) {
		count++;
		double delta = s[i].v - (mean + c_mean);
		kahan_inc(delta / count, &mean, &c_mean);
		kahan_inc(delta * (s[i].v - (mean + c_mean)), &aux, &c_aux);
	}
	return (aux + c_aux) / count;
}

static double des(ev *e, const tsdb_sample *s, size_t n, double sf, double tf, bool *ok)
{
	char buf[64];
	if (sf <= 0 || sf >= 1) {
		snprintf(buf, sizeof(buf), "%f", sf);
		promql_ev_fail(e, PROMQL_ERR_EXECUTION, "invalid smoothing factor. Expected: 0 < sf < 1, got: %s", buf);
	}
	if (tf <= 0 || tf >= 1) {
		snprintf(buf, sizeof(buf), "%f", tf);
		promql_ev_fail(e, PROMQL_ERR_EXECUTION, "invalid trend factor. Expected: 0 < tf < 1, got: %s", buf);
	}
	*ok = false;
	if (n < 2)
		return 0;
	double s0 = 0, s1 = s[0].v, b = s[1].v - s[0].v;
	for (size_t i = 1; i < n; i++) {
		double x = sf * s[i].v;
		if (i - 1 != 0)
			b = tf * (s1 - s0) + (1 - tf) * b;
		double y = (1 - sf) * (s1 + b);
		s0 = s1;
		s1 = x + y;
	}
	*ok = true;
	return s1;
}

/* Computes the function over one non-empty window; false: no output. */
static bool win_apply(win_ctx *c, size_t step, int64_t ref, const tsdb_sample *s, size_t n, double *out)
{
	bool ok = true;
	switch (c->id) {
	case PROMQL_FN_RATE:
		*out = extrapolated_rate(s, n, ref - c->range_ms, ref, c->range_ms, true, true, &ok);
		return ok;
	case PROMQL_FN_INCREASE:
		*out = extrapolated_rate(s, n, ref - c->range_ms, ref, c->range_ms, true, false, &ok);
		return ok;
	case PROMQL_FN_DELTA:
		*out = extrapolated_rate(s, n, ref - c->range_ms, ref, c->range_ms, false, false, &ok);
		return ok;
	case PROMQL_FN_IRATE:
		*out = instant_value(s, n, true, &ok);
		return ok;
	case PROMQL_FN_IDELTA:
		*out = instant_value(s, n, false, &ok);
		return ok;
	case PROMQL_FN_AVG_OVER_TIME:
		*out = avg_over(s, n);
		return true;
	case PROMQL_FN_SUM_OVER_TIME: {
		double sum = 0, cc = 0;
		for (size_t i = 0; i < n; i++)
			kahan_inc(s[i].v, &sum, &cc);
		*out = isinf(sum) ? sum : sum + cc;
		return true;
	}
	case PROMQL_FN_COUNT_OVER_TIME:
		*out = (double)n;
		return true;
	case PROMQL_FN_PRESENT_OVER_TIME:
	case PROMQL_FN_ABSENT_OVER_TIME:
		*out = 1;
		return true;
	case PROMQL_FN_MIN_OVER_TIME:
	case PROMQL_FN_MAX_OVER_TIME:
	case PROMQL_FN_TS_OF_MIN_OVER_TIME:
	case PROMQL_FN_TS_OF_MAX_OVER_TIME: {
		double m = s[0].v;
		int64_t mt = s[0].t;
		for (size_t i = 0; i < n; i++) {
			double cur = s[i].v;
			bool take;
			switch (c->id) {
			case PROMQL_FN_MIN_OVER_TIME: take = cur < m || isnan(m); break;
			case PROMQL_FN_MAX_OVER_TIME: take = cur > m || isnan(m); break;
			case PROMQL_FN_TS_OF_MIN_OVER_TIME: take = cur <= m || isnan(m); break;
			default: take = cur >= m || isnan(m); break;
			}
			if (take) {
				m = cur;
				mt = s[i].t;
			}
		}
		if (c->id == PROMQL_FN_TS_OF_MIN_OVER_TIME || c->id == PROMQL_FN_TS_OF_MAX_OVER_TIME)
			*out = (double)mt / 1000;
		else
			*out = m;
		return true;
	}
	case PROMQL_FN_LAST_OVER_TIME:
		*out = s[n - 1].v;
		return true;
	case PROMQL_FN_FIRST_OVER_TIME:
		*out = s[0].v;
		return true;
	case PROMQL_FN_TS_OF_LAST_OVER_TIME:
		*out = (double)s[n - 1].t / 1000;
		return true;
	case PROMQL_FN_TS_OF_FIRST_OVER_TIME:
		*out = (double)s[0].t / 1000;
		return true;
	case PROMQL_FN_STDDEV_OVER_TIME:
		*out = sqrt(variance_over(s, n));
		return true;
	case PROMQL_FN_STDVAR_OVER_TIME:
		*out = variance_over(s, n);
		return true;
	case PROMQL_FN_QUANTILE_OVER_TIME: {
		double q = c->param[0][step];
		if (isnan(q) || q < 0 || q > 1) {
			char b[32];
			tp_format_float(b, q);
			promql_ev_warn(c->e, c->call->u.call.args[0], "quantile value should be between 0 and 1, got %s", b);
		}
		double *v = scratch_get(&c->tmp, n);
		for (size_t i = 0; i < n; i++)
			v[i] = s[i].v;
		*out = promql_quantile(q, v, n);
		return true;
	}
	case PROMQL_FN_MAD_OVER_TIME: {
		double *v = scratch_get(&c->tmp, n);
		for (size_t i = 0; i < n; i++) {
			if (isnan(s[i].v)) {
				*out = NAN;
				return true;
			}
			v[i] = s[i].v;
		}
		double med = promql_quantile(0.5, v, n);
		for (size_t i = 0; i < n; i++)
			v[i] = fabs(v[i] - med);
		*out = promql_quantile(0.5, v, n);
		return true;
	}
	case PROMQL_FN_CHANGES: {
		double ch = 0;
		for (size_t i = 1; i < n; i++)
			if (s[i].v != s[i - 1].v && !(isnan(s[i].v) && isnan(s[i - 1].v)))
				ch++;
		*out = ch;
		return true;
	}
	case PROMQL_FN_RESETS: {
		double r = 0;
		for (size_t i = 1; i < n; i++)
			if (s[i].v < s[i - 1].v)
				r++;
		*out = r;
		return true;
	}
	case PROMQL_FN_DERIV: {
		if (n < 2)
			return false;
		double slope, icpt;
		linear_regression(s, n, s[0].t, &slope, &icpt);
		*out = slope;
		return true;
	}
	case PROMQL_FN_PREDICT_LINEAR: {
		if (n < 2)
			return false;
		double slope, icpt;
		int64_t ts = c->e->start + (int64_t)step * c->e->interval;
		linear_regression(s, n, ts, &slope, &icpt);
		*out = slope * c->param[0][step] + icpt;
		return true;
	}
	case PROMQL_FN_DOUBLE_EXPONENTIAL_SMOOTHING:
		*out = des(c->e, s, n, c->param[0][step], c->param[1][step], &ok);
		return ok;
	default:
		promql_ev_fail(c->e, PROMQL_ERR_INTERNAL, "function %s not supported over a range vector",
			       c->call->u.call.fn->name);
	}
}

static bool has_counter_suffix(const char *name)
{
	static const char *suf[] = { "_total", "_sum", "_count", "_bucket" };
	size_t ln = strlen(name);
	for (size_t i = 0; i < TP_ARRAY_LEN(suf); i++) {
		size_t ls = strlen(suf[i]);
		if (ln >= ls && strcmp(name + ln - ls, suf[i]) == 0)
			return true;
	}
	return false;
}

/* Runs the windows of one series; appends an output series when any step
 * has a value. */
static void range_series(win_ctx *c, const int64_t *ref, const tp_labels *lbls, const tsdb_sample *pts, size_t cnt,
			 ev_value *r, size_t *cap, uint8_t *any_step)
{
	ev *e = c->e;
	double *tv = scratch_get(&c->tmp, 0);
	(void)tv;
	ev_series *o = NULL;
	size_t lo = 0, hi = 0, present = 0;
	if (c->slide)
		promql_slide_init(c->slide, e->arena, c->id, pts, cnt, e->nsteps == 1);
	for (size_t i = 0; i < e->nsteps; i++) {
		if ((i & 4095) == 4095)
			promql_ev_check(e);
		while (hi < cnt && pts[hi].t <= ref[i])
			hi++;
		while (lo < hi && pts[lo].t <= ref[i] - c->range_ms)
			lo++;
		if (hi == lo)
			continue;
		if (e->cur_samples + (int64_t)(hi - lo) > e->max_samples)
			promql_ev_count_samples(e, (int64_t)(hi - lo));
		if (any_step)
			any_step[i] = 1;
		if (c->id == PROMQL_FN_ABSENT_OVER_TIME)
			continue;
		double v;
		promql_slide_rc src = c->slide ? promql_slide_eval(c->slide, lo, hi, &v) : PROMQL_SLIDE_FALLBACK;
		if (src == PROMQL_SLIDE_NONE ||
		    (src == PROMQL_SLIDE_FALLBACK && !win_apply(c, i, ref[i], pts + lo, hi - lo, &v)))
			continue;
		if (!o) {
			o = promql_ev_series_new(e, &r->series, &r->nseries, cap, lbls);
			if (c->id != PROMQL_FN_LAST_OVER_TIME && c->id != PROMQL_FN_FIRST_OVER_TIME)
				promql_series_drop_name(e, o);
		}
		o->v[i] = v;
		o->ok[i] = 1;
		present++;
	}
	if (present) {
		promql_ev_count_samples(e, (int64_t)present);
		if (c->id == PROMQL_FN_RATE || c->id == PROMQL_FN_INCREASE) {
			const char *name = tp_labels_get(lbls, TP_METRIC_NAME);
			if (name && name[0] && !has_counter_suffix(name))
				promql_ev_info(e, c->call->u.call.args[0],
					       "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"%s\"",
					       name);
		}
	}
}

static tp_labels absent_labels(ev *e, const promql_node *arg)
{
	arg = promql_unwrap_paren(arg);
	tp_labels_builder b;
	tp_lb_init(&b, e->arena, NULL);
	if (arg->kind == PROMQL_NODE_MATRIX_SELECTOR)
		arg = arg->u.ms.vs;
	if (arg->kind != PROMQL_NODE_VECTOR_SELECTOR)
		return tp_lb_labels(&b);
	const char **has = tp_arena_zalloc(e->arena, sizeof(char *) * (arg->u.vs.nmatchers + 1));
	size_t nhas = 0;
	for (size_t i = 0; i < arg->u.vs.nmatchers; i++) {
		const tsdb_matcher *m = &arg->u.vs.matchers[i];
		if (strcmp(m->name, TP_METRIC_NAME) == 0)
			continue;
		bool seen = false;
		for (size_t k = 0; k < nhas; k++)
			seen |= strcmp(has[k], m->name) == 0;
		if (m->type == TSDB_MATCH_EQ && !seen) {
			tp_lb_set(&b, tp_arena_strdup(e->arena, m->name), tp_arena_strdup(e->arena, m->value));
			has[nhas++] = m->name;
		} else {
			tp_lb_del(&b, m->name);
		}
	}
	return tp_lb_labels(&b);
}

static void check_same_labelsets(ev *e, const ev_value *r)
{
	if (r->nseries < 2)
		return;
	uint64_t *h = tp_xmalloc(sizeof(uint64_t) * r->nseries);
	for (size_t i = 0; i < r->nseries; i++)
		h[i] = tp_labels_hash(&r->series[i].labels);
	/* quadratic only among equal hashes after sorting */
	size_t *idx = tp_xmalloc(sizeof(size_t) * r->nseries);
	for (size_t i = 0; i < r->nseries; i++)
		idx[i] = i;
	for (size_t i = 1; i < r->nseries; i++) { /* insertion sort is fine for small n */
		if (r->nseries > 64)
			break;
		for (size_t j = i; j > 0 && h[idx[j]] < h[idx[j - 1]]; j--) {
			size_t t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	}
	bool dup = false;
	if (r->nseries <= 64) {
		for (size_t i = 1; i < r->nseries && !dup; i++)
			dup = h[idx[i]] == h[idx[i - 1]] &&
			      tp_labels_equal(&r->series[idx[i]].labels, &r->series[idx[i - 1]].labels);
	} else {
		/* hash set */
		size_t cap = 16;
		while (cap < r->nseries * 2)
			cap *= 2;
		uint64_t *keys = tp_xcalloc(cap, sizeof(uint64_t));
		uint8_t *used = tp_xcalloc(cap, 1);
		for (size_t i = 0; i < r->nseries && !dup; i++) {
			size_t s = (size_t)(h[i] ^ (h[i] >> 29)) & (cap - 1);
			while (used[s] && keys[s] != h[i])
				s = (s + 1) & (cap - 1);
			if (used[s])
				dup = true;
			used[s] = 1;
			keys[s] = h[i];
		}
		free(keys);
		free(used);
	}
	free(h);
	free(idx);
	if (dup)
		promql_ev_fail(e, PROMQL_ERR_EXECUTION, "vector cannot contain metrics with the same labelset");
}

static ev_value range_call(ev *e, const promql_node *n, size_t marg)
{
	win_ctx c = { .e = e, .call = n, .id = n->u.call.fn->id, .tmp.arena = e->arena };
	promql_slide slide = { 0 };
	if (promql_slide_supports(c.id))
		c.slide = &slide;
	const promql_node *arg = promql_unwrap_paren(n->u.call.args[marg]);
	size_t np = 0;
	for (size_t i = 0; i < n->u.call.nargs && np < 2; i++) {
		if (i == marg)
			continue;
		ev_value p = promql_ev_eval(e, n->u.call.args[i]);
		if (p.type == PROMQL_TYPE_SCALAR)
			c.param[np++] = p.scalar;
	}
	ev_value r = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	uint8_t *any = NULL;
	if (c.id == PROMQL_FN_ABSENT_OVER_TIME)
		any = tp_arena_zalloc(e->arena, e->nsteps);
	int64_t *ref;
	if (promql_ev_is_extended(arg))
		promql_ev_extended_range(e, n, arg, &r, &cap);
	else if (arg->kind == PROMQL_NODE_MATRIX_SELECTOR) {
		c.range_ms = arg->u.ms.range_ms;
		const promql_node *vs = arg->u.ms.vs;
		ref = promql_ev_ref_times(e, vs);
		tsdb_series_set *ss = promql_ev_select(e, vs);
		size_t iter = 0;
		while (tsdb_series_set_next(ss)) {
			if ((++iter & 255) == 0)
				promql_ev_check(e);
			size_t cnt = promql_ev_load_window(e, ss, ref[0] - c.range_ms, ref[e->nsteps - 1]);
			if (!cnt)
				continue;
			tp_labels l = tp_labels_copy(e->arena, tsdb_series_set_labels(ss), false);
			range_series(&c, ref, &l, e->buf, cnt, &r, &cap, any);
		}
		promql_ev_select_done(e);
	} else if (arg->kind == PROMQL_NODE_SUBQUERY) {
		c.range_ms = arg->u.sq.range_ms;
		ref = promql_ev_ref_times(e, arg);
		ev_value m = promql_ev_subquery(e, arg);
		for (size_t k = 0; k < m.nseries; k++)
			range_series(&c, ref, &m.mseries[k].labels, m.mseries[k].pts, m.mseries[k].n, &r, &cap, any);
	} else {
		promql_ev_fail(e, PROMQL_ERR_INTERNAL, "unexpected range argument");
	}
	if (c.id == PROMQL_FN_ABSENT_OVER_TIME) {
		ev_value a = { .type = PROMQL_TYPE_VECTOR };
		size_t acap = 0;
		bool need = false;
		for (size_t i = 0; i < e->nsteps; i++)
			need |= !any[i];
		if (!need)
			return a;
		tp_labels l = absent_labels(e, n->u.call.args[0]);
		ev_series *s = promql_ev_series_new(e, &a.series, &a.nseries, &acap, &l);
		for (size_t i = 0; i < e->nsteps; i++) {
			s->ok[i] = !any[i];
			s->v[i] = 1;
		}
		return a;
	}
	if (!e->delayed_names)
		check_same_labelsets(e, &r);
	return r;
}

/* ---- instant-vector functions ---- */

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static double date_part(promql_func_id id, double fsec)
{
	int64_t sec;
	if (isnan(fsec) || fsec >= 9.2e18 || fsec <= -9.2e18)
		sec = INT64_MIN;
	else
		sec = (int64_t)fsec;
	int64_t days = sec / 86400, rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	switch (id) {
	case PROMQL_FN_MINUTE: return (double)((rem / 60) % 60);
	case PROMQL_FN_HOUR: return (double)(rem / 3600);
	case PROMQL_FN_DAY_OF_MONTH: return d;
	case PROMQL_FN_MONTH: return m;
	case PROMQL_FN_YEAR: return (double)y;
	case PROMQL_FN_DAY_OF_WEEK: {
		int64_t w = (days + 4) % 7;
		if (w < 0)
			w += 7;
		return (double)w;
	}
	case PROMQL_FN_DAY_OF_YEAR: {
		unsigned yd = d;
		for (unsigned i = 1; i < m; i++)
			yd += (unsigned)mdays[i - 1] + (i == 2 && is_leap(y));
		return yd;
	}
	case PROMQL_FN_DAYS_IN_MONTH: return mdays[m - 1] + (m == 2 && is_leap(y));
	default: return NAN;
	}
}

static double simple_fn(promql_func_id id, double v, const double *p, size_t step)
{
	switch (id) {
	case PROMQL_FN_ABS: return fabs(v);
	case PROMQL_FN_CEIL: return ceil(v);
	case PROMQL_FN_FLOOR: return floor(v);
	case PROMQL_FN_EXP: return exp(v);
	case PROMQL_FN_SQRT: return sqrt(v);
	case PROMQL_FN_LN: return log(v);
	case PROMQL_FN_LOG2: return log2(v);
	case PROMQL_FN_LOG10: return log10(v);
	case PROMQL_FN_SIN: return sin(v);
	case PROMQL_FN_COS: return cos(v);
	case PROMQL_FN_TAN: return tan(v);
	case PROMQL_FN_ASIN: return asin(v);
	case PROMQL_FN_ACOS: return acos(v);
	case PROMQL_FN_ATAN: return atan(v);
	case PROMQL_FN_SINH: return sinh(v);
	case PROMQL_FN_COSH: return cosh(v);
	case PROMQL_FN_TANH: return tanh(v);
	case PROMQL_FN_ASINH: return asinh(v);
	case PROMQL_FN_ACOSH: return acosh(v);
	case PROMQL_FN_ATANH: return atanh(v);
	case PROMQL_FN_RAD: return v * M_PI / 180;
	case PROMQL_FN_DEG: return v * 180 / M_PI;
	case PROMQL_FN_SGN: return v < 0 ? -1 : v > 0 ? 1 : v;
	case PROMQL_FN_ROUND: {
		double inv = 1.0 / (p ? p[step] : 1.0);
		return floor(v * inv + 0.5) / inv;
	}
	default: return date_part(id, v);
	}
}

/* Element-wise functions over an instant vector (args beyond the first are
 * scalars); the metric name is dropped. */
static ev_value elementwise(ev *e, const promql_node *n)
{
	promql_func_id id = n->u.call.fn->id;
	ev_value v = promql_ev_eval(e, n->u.call.args[0]);
	double *p[2] = { NULL, NULL };
	for (size_t i = 1; i < n->u.call.nargs && i < 3; i++)
		p[i - 1] = promql_ev_eval(e, n->u.call.args[i]).scalar;
	for (size_t k = 0; k < v.nseries; k++) {
		ev_series *s = &v.series[k];
		promql_series_drop_name(e, s);
		for (size_t i = 0; i < e->nsteps; i++) {
			if (!s->ok[i])
				continue;
			double x = s->v[i];
			switch (id) {
			case PROMQL_FN_CLAMP:
				if (p[1][i] < p[0][i]) {
					s->ok[i] = 0;
					break;
				}
				s->v[i] = go_max(p[0][i], go_min(p[1][i], x));
				break;
			case PROMQL_FN_CLAMP_MAX: s->v[i] = go_max(-INFINITY, go_min(p[0][i], x)); break;
			case PROMQL_FN_CLAMP_MIN: s->v[i] = go_max(p[0][i], go_min(INFINITY, x)); break;
			default: s->v[i] = simple_fn(id, x, p[0], i); break;
			}
		}
	}
	promql_ev_merge_same(e, &v);
	return v;
}

/* ---- sorting ---- */

static int natcmp_chunks(const char *a, const char *b);

typedef struct sort_item {
	ev_series *s;
} sort_item;

static bool go_sort_less(promql_func_id id, const ev_series *a, const ev_series *b, const promql_node *n)
{
	double va = a->v[0], vb = b->v[0];
	switch (id) {
	case PROMQL_FN_SORT:      /* reverse of vectorByReverseValueHeap */
		return isnan(vb) || va < vb;
	case PROMQL_FN_SORT_DESC: /* reverse of vectorByValueHeap */
		return isnan(vb) || va > vb;
	default: {
		bool desc = id == PROMQL_FN_SORT_BY_LABEL_DESC;
		for (size_t i = 1; i < n->u.call.nargs; i++) {
			const char *name = promql_unwrap_paren(n->u.call.args[i])->u.string.value;
			const char *la = tp_labels_get(&a->labels, name), *lb = tp_labels_get(&b->labels, name);
			la = la ? la : "";
			lb = lb ? lb : "";
			if (strcmp(la, lb) == 0)
				continue;
			bool lt = natcmp_chunks(la, lb) != 0;
			return desc ? !lt : lt;
		}
		int c = tp_labels_cmp(&a->labels, &b->labels);
		return desc ? c > 0 : c < 0;
	}
	}
}

/* Go's sort.Sort uses insertion sort for n <= 12; a stable merge sort gives
 * the same order there and a deterministic one beyond. */
static void msort(ev_series *v, ev_series *tmp, size_t n, promql_func_id id, const promql_node *call)
{
	if (n < 2)
		return;
	if (n <= 12) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && go_sort_less(id, &v[j], &v[j - 1], call); j--) {
				ev_series t = v[j];
				v[j] = v[j - 1];
				v[j - 1] = t;
			}
		return;
	}
	size_t h = n / 2;
	msort(v, tmp, h, id, call);
	msort(v + h, tmp, n - h, id, call);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = go_sort_less(id, &v[j], &v[i], call) ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, sizeof(ev_series) * n);
}

/* facette/natsort's Compare: true when a sorts before b. */
static size_t chunk_len(const char *s)
{
	bool dig = s[0] >= '0' && s[0] <= '9';
	size_t i = 0;
	while (s[i] && ((s[i] >= '0' && s[i] <= '9') == dig))
		i++;
	return i;
}

static int natcmp_chunks(const char *a, const char *b)
{
	while (*a) {
		if (!*b)
			return 0;
		size_t la = chunk_len(a), lb = chunk_len(b);
		bool da = a[0] >= '0' && a[0] <= '9', db = b[0] >= '0' && b[0] <= '9';
		bool last_a = a[la] == '\0', last_b = b[lb] == '\0';
		if (da && db && la < 19 && lb < 19) {
			long long x = strtoll(a, NULL, 10), y = strtoll(b, NULL, 10);
			if (x == y) {
				if (last_a)
					return 1;
				if (last_b)
					return 0;
				a += la;
				b += lb;
				continue;
			}
			return x < y;
		}
		if (la == lb && memcmp(a, b, la) == 0) {
			if (last_a)
				return 1;
			if (last_b)
				return 0;
			a += la;
			b += lb;
			continue;
		}
		size_t m = la < lb ? la : lb;
		int c = memcmp(a, b, m);
		if (c == 0)
			return la < lb;
		return c < 0;
	}
	return 0;
}

static ev_value sort_call(ev *e, const promql_node *n)
{
	ev_value v = promql_ev_eval(e, n->u.call.args[0]);
	if (e->range_query) {
		promql_ev_warn(e, n, "sort is ineffective for range queries since results are always ordered by labels");
		return v;
	}
	/* instant: only present series take part */
	size_t o = 0;
	for (size_t k = 0; k < v.nseries; k++)
		if (v.series[k].ok[0])
			v.series[o++] = v.series[k];
	v.nseries = o;
	ev_series *tmp = tp_xmalloc(sizeof(ev_series) * (o ? o : 1));
	msort(v.series, tmp, o, n->u.call.fn->id, n);
	free(tmp);
	return v;
}

/* ---- label_replace / label_join ---- */

static void expand_template(tp_strbuf *sb, const char *tmpl, const char *src, const PCRE2_SIZE *ov, int nmatch,
			    pcre2_code *re)
{
	for (const char *p = tmpl; *p;) {
		if (*p != '$') {
			tp_sb_putc(sb, *p++);
			continue;
		}
		p++;
		if (*p == '$') {
			tp_sb_putc(sb, '$');
			p++;
			continue;
		}
		const char *name;
		size_t nlen;
		bool brace = *p == '{';
		if (brace) {
			const char *q = p + 1;
			while (*q && (*q == '_' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') ||
				      (*q >= 'A' && *q <= 'Z')))
				q++;
			if (*q != '}' || q == p + 1) {
				tp_sb_putc(sb, '$');
				continue;
			}
			name = p + 1;
			nlen = (size_t)(q - name);
			p = q + 1;
		} else {
			const char *q = p;
			while (*q && (*q == '_' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') ||
				      (*q >= 'A' && *q <= 'Z')))
				q++;
			if (q == p) {
				tp_sb_putc(sb, '$');
				continue;
			}
			name = p;
			nlen = (size_t)(q - p);
			p = q;
		}
		int idx = -1;
		bool numeric = true;
		for (size_t i = 0; i < nlen; i++)
			numeric &= name[i] >= '0' && name[i] <= '9';
		if (numeric) {
			if (nlen < 9)
				idx = atoi(name);
		} else {
			char nb[256];
			if (nlen < sizeof(nb)) {
				memcpy(nb, name, nlen);
				nb[nlen] = 0;
				idx = pcre2_substring_number_from_name(re, (PCRE2_SPTR)nb);
				if (idx < 0)
					idx = -1;
			}
		}
		if (idx >= 0 && idx < nmatch && ov[2 * idx] != PCRE2_UNSET)
			tp_sb_append(sb, src + ov[2 * idx], ov[2 * idx + 1] - ov[2 * idx]);
	}
}

/* Prometheus 3.x (UTF-8 names): any non-empty valid UTF-8 string. */
static bool valid_label_name(const char *s)
{
	if (!s || !s[0])
		return false;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
		if (n == 9 || (n == 1 && c < 0xc2))
			return false;
		p++;
		for (size_t i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static ev_value label_call(ev *e, const promql_node *n)
{
	promql_func_id id = n->u.call.fn->id;
	const char *strs[64] = { 0 };
	size_t ns = 0;
	for (size_t i = 1; i < n->u.call.nargs && ns < 64; i++)
		strs[ns++] = promql_unwrap_paren(n->u.call.args[i])->u.string.value;
	const char *dst = strs[0];
	pcre2_code *re = NULL;
	pcre2_match_data *md = NULL;
	if (id == PROMQL_FN_LABEL_REPLACE) {
		tp_strbuf pat = { 0 };
		tp_sb_printf(&pat, "^(?s:%s)$", strs[3]);
		int ec;
		PCRE2_SIZE eo;
		re = pcre2_compile((PCRE2_SPTR)tp_sb_cstr(&pat), PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
		tp_sb_free(&pat);
		if (!re)
			promql_ev_fail(e, PROMQL_ERR_EXECUTION, "invalid regular expression in label_replace(): %s", strs[3]);
		if (!valid_label_name(dst)) {
			pcre2_code_free(re);
			promql_ev_fail(e, PROMQL_ERR_EXECUTION, "invalid destination label name in label_replace(): %s", dst);
		}
		md = pcre2_match_data_create_from_pattern(re, NULL);
	} else {
		for (size_t i = 2; i < ns; i++)
			if (!valid_label_name(strs[i]))
				promql_ev_fail(e, PROMQL_ERR_EXECUTION, "invalid source label name in label_join(): %s", strs[i]);
		if (!valid_label_name(dst))
			promql_ev_fail(e, PROMQL_ERR_EXECUTION, "invalid destination label name in label_join(): %s", dst);
	}
	/* Errors below would leak re; evaluate the argument first with re
	 * compiled is unavoidable, so free it on the error path via a copy. */
	ev_value v;
	jmp_buf saved;
	memcpy(saved, e->jb, sizeof(jmp_buf));
	if (setjmp(e->jb) != 0) {
		memcpy(e->jb, saved, sizeof(jmp_buf));
		if (md)
			pcre2_match_data_free(md);
		if (re)
			pcre2_code_free(re);
		longjmp(e->jb, 1);
	}
	v = promql_ev_eval(e, n->u.call.args[0]);
	const char *dst_i = tp_arena_strdup(e->arena, dst);
	tp_strbuf sb = { 0 };
	for (size_t k = 0; k < v.nseries; k++) {
		ev_series *s = &v.series[k];
		tp_sb_reset(&sb);
		if (id == PROMQL_FN_LABEL_REPLACE) {
			const char *src = tp_labels_get(&s->labels, strs[2]);
			src = src ? src : "";
			int rc = pcre2_match(re, (PCRE2_SPTR)src, strlen(src), 0, 0, md, NULL);
			if (rc < 0)
				continue;
			expand_template(&sb, strs[1], src, pcre2_get_ovector_pointer(md), rc, re);
		} else {
			for (size_t i = 2; i < ns; i++) {
				if (i > 2)
					tp_sb_puts(&sb, strs[1]);
				const char *sv = tp_labels_get(&s->labels, strs[i]);
				if (sv)
					tp_sb_puts(&sb, sv);
			}
		}
		tp_labels_builder b;
		tp_lb_init(&b, e->arena, &s->labels);
		tp_lb_set(&b, dst_i, tp_arena_strdup(e->arena, tp_sb_cstr(&sb)));
		s->labels = tp_lb_labels(&b);
		if (strcmp(dst, TP_METRIC_NAME) == 0)
			s->drop_name = false;
	}
	tp_sb_free(&sb);
	memcpy(e->jb, saved, sizeof(jmp_buf));
	if (md)
		pcre2_match_data_free(md);
	if (re)
		pcre2_code_free(re);
	promql_ev_merge_same(e, &v);
	return v;
}


/* ---- info() ---- */

static const char *const ident_names[] = { "instance", "job" };

typedef struct omap {
	uint64_t *keys;
	int32_t *vals;
	size_t cap;
} omap;

static int32_t omap_find(ev *e, omap *m, ev_value *out, size_t *cap, const tp_labels *l, bool create)
{
	if (!m->cap || (out->nseries + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		uint64_t *nk = tp_arena_alloc(e->arena, sizeof(uint64_t) * nc);
		int32_t *nv = tp_arena_alloc(e->arena, sizeof(int32_t) * nc);
		for (size_t i = 0; i < nc; i++)
			nv[i] = -1;
		for (size_t i = 0; i < m->cap; i++) {
			if (m->vals[i] < 0)
				continue;
			size_t s = (size_t)(m->keys[i] ^ (m->keys[i] >> 29)) & (nc - 1);
			while (nv[s] >= 0)
				s = (s + 1) & (nc - 1);
			nk[s] = m->keys[i];
			nv[s] = m->vals[i];
		}
		m->keys = nk;
		m->vals = nv;
		m->cap = nc;
	}
	uint64_t h = tp_labels_hash(l);
	size_t s = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
	while (m->vals[s] >= 0) {
		if (m->keys[s] == h && tp_labels_equal(&out->series[m->vals[s]].labels, l))
			return m->vals[s];
		s = (s + 1) & (m->cap - 1);
	}
	if (!create)
		return -1;
	m->keys[s] = h;
	m->vals[s] = (int32_t)out->nseries;
	promql_ev_series_new(e, &out->series, &out->nseries, cap, l);
	return m->vals[s];
}

static bool name_in(const char *n, const char *const *names, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (strcmp(n, names[i]) == 0)
			return true;
	return false;
}

/* The time the base expression's samples refer to, as @ and offset along
 * the path to its first selector make it: info series are matched then. */
static void info_ref_time(const promql_node *x, promql_at_kind *at, int64_t *at_ms, int64_t *shift)
{
	while (x) {
		switch (x->kind) {
		case PROMQL_NODE_PAREN: x = x->u.paren.expr; break;
		case PROMQL_NODE_UNARY: x = x->u.unary.expr; break;
		case PROMQL_NODE_BINARY:
			x = promql_node_type(x->u.binary.lhs) == PROMQL_TYPE_VECTOR ? x->u.binary.lhs : x->u.binary.rhs;
			break;
		case PROMQL_NODE_AGGREGATE: x = x->u.agg.expr; break;
		case PROMQL_NODE_CALL: {
			const promql_node *nx = NULL;
			for (size_t i = 0; i < x->u.call.nargs && !nx; i++) {
				promql_type t = promql_node_type(x->u.call.args[i]);
				if (t == PROMQL_TYPE_VECTOR || t == PROMQL_TYPE_MATRIX)
					nx = x->u.call.args[i];
			}
			x = nx;
			break;
		}
		case PROMQL_NODE_SUBQUERY:
			if (x->u.sq.at != PROMQL_AT_NONE) {
				*at = x->u.sq.at;
				*at_ms = x->u.sq.at_ms;
				*shift = 0;
			}
			*shift += x->u.sq.offset_ms;
			x = x->u.sq.expr;
			break;
		case PROMQL_NODE_MATRIX_SELECTOR: x = x->u.ms.vs; break;
		case PROMQL_NODE_VECTOR_SELECTOR:
			if (x->u.vs.at != PROMQL_AT_NONE) {
				*at = x->u.vs.at;
				*at_ms = x->u.vs.at_ms;
				*shift = 0;
			}
			*shift += x->u.vs.offset_ms;
			return;
		default: return;
		}
	}
}

static ev_value info_call(ev *e, const promql_node *n)
{
	ev_value base = promql_ev_eval(e, n->u.call.args[0]);
	const promql_node *sel = n->u.call.nargs > 1 ? promql_unwrap_paren(n->u.call.args[1]) : NULL;
	size_t nm = sel ? sel->u.vs.nmatchers : 0;
	/* matchers selecting the info series: __name__ ones (or the default
	 * target_info) plus the data-label matchers */
	tsdb_matcher *ms = tp_arena_zalloc(e->arena, sizeof(tsdb_matcher) * (nm + 1));
	const tsdb_matcher **namem = tp_arena_alloc(e->arena, sizeof(tsdb_matcher *) * (nm + 1));
	const tsdb_matcher **datam = tp_arena_alloc(e->arena, sizeof(tsdb_matcher *) * (nm + 1));
	const char **data_names = tp_arena_alloc(e->arena, sizeof(char *) * (nm + 1));
	size_t nms = 0, nname = 0, ndata = 0;
	for (size_t i = 0; i < nm; i++) {
		const tsdb_matcher *m = &sel->u.vs.matchers[i];
		ms[nms++] = *m;
		if (strcmp(m->name, TP_METRIC_NAME) == 0) {
			namem[nname++] = m;
		} else {
			datam[ndata++] = m;
			if (!name_in(m->name, data_names, ndata - 1))
				data_names[ndata - 1] = m->name;
			else
				data_names[ndata - 1] = "";
		}
	}
	/* no __name__ matcher: target_info; only negative ones: any *_info */
	bool positive = false;
	for (size_t x = 0; x < nname; x++)
		positive |= namem[x]->type == TSDB_MATCH_EQ || namem[x]->type == TSDB_MATCH_RE;
	tsdb_matcher deflt;
	bool has_default = false;
	if (!positive) {
		char err[128];
		int rc = nname == 0 ? tsdb_matcher_init(&deflt, TSDB_MATCH_EQ, TP_METRIC_NAME, "target_info", err, sizeof(err))
				    : tsdb_matcher_init(&deflt, TSDB_MATCH_RE, TP_METRIC_NAME, ".+_info", err, sizeof(err));
		if (rc != 0)
			promql_ev_fail(e, PROMQL_ERR_INTERNAL, "%s", err);
		has_default = true;
		ms[nms++] = deflt;
		namem[nname++] = &ms[nms - 1];
	}
	promql_node tmp = { .kind = PROMQL_NODE_VECTOR_SELECTOR };
	tmp.u.vs.matchers = ms;
	tmp.u.vs.nmatchers = nms;
	info_ref_time(n->u.call.args[0], &tmp.u.vs.at, &tmp.u.vs.at_ms, &tmp.u.vs.offset_ms);
	ev_value inf = promql_ev_vector_selector(e, &tmp, true);
	/* bucket info series by their identifying labels */
	uint64_t *ih = tp_arena_alloc(e->arena, sizeof(uint64_t) * (inf.nseries + 1));
	for (size_t j = 0; j < inf.nseries; j++)
		ih[j] = tp_labels_hash_for(&inf.series[j].labels, ident_names, 2, true);
	bool need_match = false;
	for (size_t d = 0; d < ndata; d++)
		need_match |= !tsdb_matcher_matches_empty(datam[d]);
	ev_value out = { .type = PROMQL_TYPE_VECTOR };
	size_t cap = 0;
	omap om = { 0 };
	int32_t *pick = tp_xmalloc(sizeof(int32_t) * (inf.nseries + 1));
	for (size_t k = 0; k < base.nseries; k++) {
		ev_series *b = &base.series[k];
		const char *bname = tp_labels_get(&b->labels, TP_METRIC_NAME);
		bool is_info = bname != NULL;
		for (size_t x = 0; x < nname && is_info; x++)
			is_info = tsdb_matcher_matches(namem[x], bname);
		uint64_t bh = tp_labels_hash_for(&b->labels, ident_names, 2, true);
		for (size_t i = 0; i < e->nsteps; i++) {
			if (!b->ok[i])
				continue;
			tp_labels ol = b->labels;
			size_t np = 0;
			if (!is_info) {
				for (size_t j = 0; j < inf.nseries; j++) {
					if (!inf.series[j].ok[i] || ih[j] != bh)
						continue;
					const char *jn = tp_labels_get(&inf.series[j].labels, TP_METRIC_NAME);
					size_t p;
					for (p = 0; p < np; p++) {
						const char *pn = tp_labels_get(&inf.series[pick[p]].labels, TP_METRIC_NAME);
						if (strcmp(pn, jn) == 0)
							break;
					}
					if (p == np)
						pick[np++] = (int32_t)j;
					else if (inf.series[j].v[i] > inf.series[pick[p]].v[i])
						pick[p] = (int32_t)j;
				}
				if (np == 0 && need_match)
					continue;
				if (np) {
					tp_labels_builder lb;
					tp_lb_init(&lb, e->arena, &b->labels);
					for (size_t p = 0; p < np; p++) {
						const tp_labels *il = &inf.series[pick[p]].labels;
						for (uint32_t x = 0; x < il->n; x++) {
							const char *ln = il->v[x].name;
							if (strcmp(ln, TP_METRIC_NAME) == 0 || name_in(ln, ident_names, 2))
								continue;
							if (tp_labels_get(&b->labels, ln))
								continue;
							if (ndata && !name_in(ln, data_names, ndata))
								continue;
							tp_labels cur = tp_lb_labels(&lb);
							const char *prev = tp_labels_get(&cur, ln);
							if (prev && strcmp(prev, il->v[x].value) != 0) {
								free(pick);
								if (has_default)
									tsdb_matcher_free(&deflt);
								promql_ev_fail(e, PROMQL_ERR_EXECUTION,
									       "conflicting label: %s", ln);
							}
							tp_lb_set(&lb, ln, il->v[x].value);
						}
					}
					ol = tp_lb_labels(&lb);
				}
			}
			int32_t oi = omap_find(e, &om, &out, &cap, &ol, true);
			out.series[oi].ok[i] = 1;
			out.series[oi].v[i] = b->v[i];
			out.series[oi].drop_name |= b->drop_name;
		}
	}
	free(pick);
	if (has_default)
		tsdb_matcher_free(&deflt);
	return out;
}

/* ---- dispatch ---- */

static ev_value scalar_new(ev *e)
{
	ev_value r = { .type = PROMQL_TYPE_SCALAR };
	r.scalar = tp_arena_alloc(e->arena, sizeof(double) * e->nsteps);
	return r;
}

ev_value promql_ev_call(ev *e, const promql_node *n)
{
	const promql_function *fn = n->u.call.fn;
	promql_func_id id = fn->id;
	for (size_t i = 0; i < n->u.call.nargs; i++)
		if (promql_node_type(n->u.call.args[i]) == PROMQL_TYPE_MATRIX)
			return range_call(e, n, i);
	switch (id) {
	case PROMQL_FN_TIME: {
		ev_value r = scalar_new(e);
		for (size_t i = 0; i < e->nsteps; i++)
			r.scalar[i] = (double)promql_ev_step_t(e, i) / 1000;
		return r;
	}
	case PROMQL_FN_PI: {
		ev_value r = scalar_new(e);
		for (size_t i = 0; i < e->nsteps; i++)
			r.scalar[i] = M_PI;
		return r;
	}
	case PROMQL_FN_START: case PROMQL_FN_END: case PROMQL_FN_RANGE: case PROMQL_FN_STEP: {
		/* the query's context, the same at every step and in subqueries
		 * (Prometheus folds these into literals before evaluating);
		 * step() is 0 when start == end */
		double v = id == PROMQL_FN_START ? (double)e->q_start / 1000
			 : id == PROMQL_FN_END ? (double)e->q_end / 1000
			 : id == PROMQL_FN_RANGE ? (double)(e->q_end - e->q_start) / 1000
			 : e->q_start == e->q_end ? 0 : (double)e->q_step / 1000;
		ev_value r = scalar_new(e);
		for (size_t i = 0; i < e->nsteps; i++)
			r.scalar[i] = v;
		return r;
	}
	case PROMQL_FN_MIN_OF: case PROMQL_FN_MAX_OF: {
		double *a = promql_ev_eval(e, n->u.call.args[0]).scalar;
		double *b = promql_ev_eval(e, n->u.call.args[1]).scalar;
		ev_value r = scalar_new(e);
		for (size_t i = 0; i < e->nsteps; i++)
			r.scalar[i] = id == PROMQL_FN_MIN_OF ? go_min(a[i], b[i]) : go_max(a[i], b[i]);
		return r;
	}
	case PROMQL_FN_SCALAR: {
		ev_value v = promql_ev_eval(e, n->u.call.args[0]);
		ev_value r = scalar_new(e);
		for (size_t i = 0; i < e->nsteps; i++) {
			size_t cnt = 0;
			double x = NAN;
			for (size_t k = 0; k < v.nseries; k++)
				if (v.series[k].ok[i]) {
					cnt++;
					x = v.series[k].v[i];
				}
			r.scalar[i] = cnt == 1 ? x : NAN;
		}
		return r;
	}
	case PROMQL_FN_VECTOR: {
		ev_value s = promql_ev_eval(e, n->u.call.args[0]);
		ev_value r = { .type = PROMQL_TYPE_VECTOR };
		size_t cap = 0;
		ev_series *o = promql_ev_series_new(e, &r.series, &r.nseries, &cap, NULL);
		for (size_t i = 0; i < e->nsteps; i++) {
			o->v[i] = s.scalar[i];
			o->ok[i] = 1;
		}
		return r;
	}
	case PROMQL_FN_ABSENT: {
		ev_value v = promql_ev_eval(e, n->u.call.args[0]);
		ev_value r = { .type = PROMQL_TYPE_VECTOR };
		size_t cap = 0;
		ev_series *o = NULL;
		for (size_t i = 0; i < e->nsteps; i++) {
			bool any = false;
			for (size_t k = 0; k < v.nseries && !any; k++)
				any = v.series[k].ok[i];
			if (any)
				continue;
			if (!o) {
				tp_labels l = absent_labels(e, n->u.call.args[0]);
				o = promql_ev_series_new(e, &r.series, &r.nseries, &cap, &l);
			}
			o->ok[i] = 1;
			o->v[i] = 1;
		}
		return r;
	}
	case PROMQL_FN_TIMESTAMP: {
		const promql_node *a = promql_unwrap_paren(n->u.call.args[0]);
		ev_value v;
		if (a->kind == PROMQL_NODE_VECTOR_SELECTOR) {
			v = promql_ev_vector_selector(e, a, true);
		} else {
			v = promql_ev_eval(e, a);
			for (size_t k = 0; k < v.nseries; k++)
				for (size_t i = 0; i < e->nsteps; i++)
					v.series[k].v[i] = (double)promql_ev_step_t(e, i) / 1000;
		}
		for (size_t k = 0; k < v.nseries; k++)
			promql_series_drop_name(e, &v.series[k]);
		promql_ev_merge_same(e, &v);
		return v;
	}
	case PROMQL_FN_MINUTE: case PROMQL_FN_HOUR: case PROMQL_FN_DAY_OF_MONTH: case PROMQL_FN_DAY_OF_WEEK:
	case PROMQL_FN_DAY_OF_YEAR: case PROMQL_FN_DAYS_IN_MONTH: case PROMQL_FN_MONTH: case PROMQL_FN_YEAR:
		if (n->u.call.nargs == 0) {
			ev_value r = { .type = PROMQL_TYPE_VECTOR };
			size_t cap = 0;
			ev_series *o = promql_ev_series_new(e, &r.series, &r.nseries, &cap, NULL);
			for (size_t i = 0; i < e->nsteps; i++) {
				o->v[i] = date_part(id, (double)(promql_ev_step_t(e, i) / 1000));
				o->ok[i] = 1;
			}
			return r;
		}
		return elementwise(e, n);
	case PROMQL_FN_SORT: case PROMQL_FN_SORT_DESC: case PROMQL_FN_SORT_BY_LABEL: case PROMQL_FN_SORT_BY_LABEL_DESC:
		return sort_call(e, n);
	case PROMQL_FN_LABEL_REPLACE: case PROMQL_FN_LABEL_JOIN:
		return label_call(e, n);
	case PROMQL_FN_HISTOGRAM_QUANTILE:
		return promql_ev_histogram_quantile(e, n);
	case PROMQL_FN_HISTOGRAM_FRACTION:
		return promql_ev_histogram_fraction(e, n);
	case PROMQL_FN_HISTOGRAM_QUANTILES:
		return promql_ev_histogram_quantiles(e, n);
	case PROMQL_FN_HISTOGRAM_AVG: case PROMQL_FN_HISTOGRAM_COUNT: case PROMQL_FN_HISTOGRAM_SUM:
	case PROMQL_FN_HISTOGRAM_STDDEV: case PROMQL_FN_HISTOGRAM_STDVAR: {
		/* native histograms only: float samples are ignored */
		promql_ev_eval(e, n->u.call.args[0]);
		return (ev_value){ .type = PROMQL_TYPE_VECTOR };
	}
	case PROMQL_FN_INFO:
		return info_call(e, n);
	default:
		if (n->u.call.nargs == 0)
			promql_ev_fail(e, PROMQL_ERR_INTERNAL, "function %s is not supported", fn->name);
		return elementwise(e, n);
	}
}
