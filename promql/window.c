/* SPDX-License-Identifier: Apache-2.0
 * window.c - sliding forms of range functions (see window.h): as the steps
 * of a query advance, samples enter at the right of the window and leave
 * at the left, each once per series.
 *
 * A running floating-point sum cannot slide: taking a value away again
 * does not undo the rounding its addition did, so the result would depend
 * on the steps before and drift from a fresh computation. Sums are
 * therefore exact (promql_xsum: a fixed-point number wide enough for every
 * double, in 32-bit digits) and rounded once per step, which gives the
 * correctly rounded sum whatever the history. That is also what
 * Prometheus's Kahan sum gives as long as its compensation term does not
 * round (kahan_is_exact below); other windows (samples of very different
 * magnitudes, or near overflow) fall back to the one-shot code, so results
 * stay Prometheus's bit for bit there too.
 * min/max keep a deque of indices with monotonic values (O(1) amortised);
 * changes/resets use prefix counts. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "lib/common.h"
#include "promql/value.h"
#include "promql/window.h"

/* ---- exact sums ---- */

__extension__ typedef unsigned __int128 u128;

#define DIGIT_BITS 32
#define DIGIT_ONE ((int64_t)1 << DIGIT_BITS)
#define NORM_EVERY (1u << 30)   /* each add moves a digit by < 2^32: int64 holds 2^30 of them */

/* floor(v / 2^32) without relying on >> of negative numbers */
static int64_t floor_div_digit(int64_t v)
{
	return v >= 0 ? v >> DIGIT_BITS : -((-v - 1) >> DIGIT_BITS) - 1;
}

/* Carries so that every digit in [lo, hi) lies in [-2^31, 2^31); the
 * value is unchanged. Returns the new top (carries may add digits). Then
 * the sign of the number is the sign of its top non-zero digit. */
static int normalise_balanced(int64_t *d, int lo, int hi)
{
	for (int i = lo; i <= hi && i + 1 < PROMQL_XSUM_DIGITS; i++) {
		int64_t c = floor_div_digit(d[i] + DIGIT_ONE / 2);
		if (!c)
			continue;
		d[i] -= c * DIGIT_ONE;
		d[i + 1] += c;
		if (i + 1 > hi)
			hi = i + 1;
	}
	return hi;
}

void promql_xsum_reset(promql_xsum *x)
{
	if (x->lo <= x->hi)
		memset(x->d + x->lo, 0, sizeof(int64_t) * (size_t)(x->hi - x->lo + 1));
	x->lo = PROMQL_XSUM_DIGITS;
	x->hi = -1;
	x->ops = 0;
	x->pinf = x->ninf = x->nan = 0;
}

void promql_xsum_add(promql_xsum *x, double v, int sign)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	unsigned be = (unsigned)(bits >> 52) & 0x7ff;
	uint64_t m = bits & 0xfffffffffffffULL;
	if (be == 0x7ff) {
		if (m)
			x->nan += sign;
		else if (bits >> 63)
			x->ninf += sign;
		else
			x->pinf += sign;
		return;
	}
	if (be == 0) {
		if (!m)
			return;  /* +-0 */
		be = 1;          /* subnormal: m * 2^-1074 */
	} else {
		m |= 1ULL << 52;
	}
	/* v = +-m * 2^(off - 1074): the 53 bits of m start at bit off */
	unsigned off = be - 1, i = off / DIGIT_BITS, sh = off % DIGIT_BITS;
	int64_t p0 = (int64_t)((m << sh) & 0xffffffffULL);
	uint64_t rest = m >> (DIGIT_BITS - sh);
	int64_t p1 = (int64_t)(rest & 0xffffffffULL), p2 = (int64_t)(rest >> DIGIT_BITS);
	if ((bits >> 63) != (sign < 0)) {
		x->d[i] -= p0;
		x->d[i + 1] -= p1;
		x->d[i + 2] -= p2;
	} else {
		x->d[i] += p0;
		x->d[i + 1] += p1;
		x->d[i + 2] += p2;
	}
	if ((int)i < x->lo)
		x->lo = (int)i;
	if ((int)i + 2 > x->hi)
		x->hi = (int)i + 2;
	if (++x->ops >= NORM_EVERY) {
		x->hi = normalise_balanced(x->d, x->lo, x->hi);
		x->ops = 0;
	}
}

static int bitlen128(u128 w)
{
	uint64_t h = (uint64_t)(w >> 64), l = (uint64_t)w;
	if (h)
		return 128 - __builtin_clzll(h);
	return l ? 64 - __builtin_clzll(l) : 0;
}

double promql_xsum_round(const promql_xsum *x)
{
	int64_t t[PROMQL_XSUM_DIGITS];
	int lo = x->lo, hi = x->hi;
	if (lo > hi)
		return 0.0;
	memcpy(t + lo, x->d + lo, sizeof(int64_t) * (size_t)(hi - lo + 1));
	/* balanced carries reach at most two digits further */
	for (int i = hi + 1; i < PROMQL_XSUM_DIGITS && i <= hi + 2; i++)
		t[i] = 0;
	hi = normalise_balanced(t, lo, hi);
	while (hi >= lo && t[hi] == 0)
		hi--;
	if (hi < lo)
		return 0.0;
	bool neg = t[hi] < 0;
	if (neg)
		for (int i = lo; i <= hi; i++)
			t[i] = -t[i];
	/* plain digits: [0, 2^32) below the top, which stays positive */
	for (int i = lo; i < hi; i++) {
		int64_t c = floor_div_digit(t[i]);
		t[i] -= c * DIGIT_ONE;
		t[i + 1] += c;
	}
	while (t[hi] == 0)
		hi--;
	/* the top three digits, and whether anything below them is set */
	u128 w = (u128)(uint64_t)t[hi] << 64;
	if (hi - 1 >= lo)
		w |= (u128)(uint64_t)t[hi - 1] << 32;
	if (hi - 2 >= lo)
		w |= (u128)(uint64_t)t[hi - 2];
	bool sticky = false;
	for (int i = lo; i < hi - 2 && !sticky; i++)
		sticky = t[i] != 0;
	/* t[hi] > 0 sits at bit 64 of w, so w has 65..96 bits: round to 53 */
	int e = DIGIT_BITS * (hi - 2) - 1074;  /* weight of w's lowest bit */
	int sh = bitlen128(w) - 53;
	uint64_t mant = (uint64_t)(w >> sh);
	u128 rem = w & (((u128)1 << sh) - 1), half = (u128)1 << (sh - 1);
	if (rem > half || (rem == half && (sticky || (mant & 1))))
		mant++;
	if (mant == (1ULL << 53)) {
		mant >>= 1;
		sh++;
	}
	e += sh;
	/* mant is in [2^52, 2^53): the value is 1.f * 2^(e + 52) */
	int be = e + 52 + 1023;
	double r;
	if (be >= 2047) {
		r = INFINITY;  /* past the double range: what rounding to nearest gives */
	} else if (be > 0) {
		uint64_t bits = ((uint64_t)be << 52) | (mant & 0xfffffffffffffULL);
		memcpy(&r, &bits, sizeof(r));
	} else {
		/* subnormal: below 2^-1022 the sum has at most 52 bits above
		 * 2^-1074, so nothing was rounded off and ldexp is exact */
		r = ldexp((double)mant, e);
	}
	return neg ? -r : r;
}

/* ---- sliding functions ---- */

/* Whether the exact sum of a window is what Prometheus's one-shot Kahan
 * (Neumaier) sum gives. Every sample and partial sum is a multiple of
 * 2^lsb (the lowest set bit of any sample), so the rounding error of each
 * addition is too; the partial sums stay below 2^(top + 1 + lg) (top: the
 * largest sample exponent, lg = ceil(log2 n)), so each error is at most
 * 2^(top + lg - 52). The compensation term, a sum of n such errors, then
 * holds them without rounding while it stays below 2^(lsb + 53), which
 * top + 2 lg <= lsb + 104 ensures. Kahan's sum + compensation is then the
 * exact sum rounded once: this file's result. Otherwise (samples of very
 * different magnitudes, where Kahan itself goes wrong) and near overflow
 * the one-shot code runs instead. */
#define MAX_EXACT_TOP 999
#define MAX_EXACT_WINDOW ((size_t)1 << 20)

static int sample_top(double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	int be = (int)((bits >> 52) & 0x7ff);
	return (be ? be : 1) - 1023;
}

static int sample_lsb(double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	int be = (int)((bits >> 52) & 0x7ff);
	uint64_t m = bits & 0xfffffffffffffULL;
	if (be)
		m |= 1ULL << 52;
	else
		be = 1;
	return be - 1075 + __builtin_ctzll(m);
}

static int ceil_log2(size_t n)
{
	return n <= 1 ? 0 : 64 - __builtin_clzll((unsigned long long)(n - 1));
}

bool promql_slide_supports(promql_func_id id)
{
	switch (id) {
	case PROMQL_FN_SUM_OVER_TIME:
	case PROMQL_FN_AVG_OVER_TIME:
	case PROMQL_FN_MIN_OVER_TIME:
	case PROMQL_FN_MAX_OVER_TIME:
	case PROMQL_FN_TS_OF_MIN_OVER_TIME:
	case PROMQL_FN_TS_OF_MAX_OVER_TIME:
	case PROMQL_FN_CHANGES:
	case PROMQL_FN_RESETS:
		return true;
	default:
		return false;
	}
}

static bool is_sum(promql_func_id id)
{
	return id == PROMQL_FN_SUM_OVER_TIME || id == PROMQL_FN_AVG_OVER_TIME;
}

void promql_slide_init(promql_slide *s, tp_arena *arena, promql_func_id id, const tsdb_sample *pts, size_t n,
		       bool single)
{
	if (!s->arena) {
		s->arena = arena;
		s->sum.lo = PROMQL_XSUM_DIGITS;
		s->sum.hi = -1;
	}
	promql_xsum_reset(&s->sum);
	s->id = id;
	s->pts = pts;
	s->n = n;
	s->lo = s->hi = 0;
	s->held = false;
	s->single = single;
	s->calls = 0;
	s->prev_hi = 0;
	s->bounds = false;
	s->ext.head = s->ext.tail = 0;
	if (n > s->cap) {
		s->cap = n * 2;
		s->ext.v = tp_arena_alloc(s->arena, sizeof(size_t) * s->cap);
		s->prefix = tp_arena_alloc(s->arena, sizeof(uint32_t) * s->cap);
	}
	if (id == PROMQL_FN_CHANGES || id == PROMQL_FN_RESETS) {
		/* the one-shot loops of funcs_eval.c, as counts */
		if (n)
			s->prefix[0] = 0;
		for (size_t i = 1; i < n; i++) {
			double a = pts[i - 1].v, b = pts[i].v;
			bool flag = id == PROMQL_FN_CHANGES ? (b != a && !(isnan(b) && isnan(a))) : b < a;
			s->prefix[i] = s->prefix[i - 1] + flag;
		}
	}
}

/* Whether a min/max deque entry with value back is dropped when v comes:
 * what stays is what the one-shot loop would pick (the first of equal
 * minima for min, the last for ts_of_min; likewise for max). */
static bool ext_drop(promql_func_id id, double back, double v)
{
	switch (id) {
	case PROMQL_FN_MIN_OVER_TIME: return back > v;
	case PROMQL_FN_TS_OF_MIN_OVER_TIME: return back >= v;
	case PROMQL_FN_MAX_OVER_TIME: return back < v;
	default: return back <= v;
	}
}

static void slide_in(promql_slide *s, size_t i)
{
	const tsdb_sample *p = s->pts;
	double v = p[i].v;
	if (is_sum(s->id)) {
		promql_xsum_add(&s->sum, v, 1);
		return;
	}
	if (isnan(v))
		return;  /* never picked while the window holds another value */
	while (s->ext.tail > s->ext.head && ext_drop(s->id, p[s->ext.v[s->ext.tail - 1]].v, v))
		s->ext.tail--;
	s->ext.v[s->ext.tail++] = i;
}

static void deque_leave(promql_idx_deque *d, size_t i)
{
	if (d->tail > d->head && d->v[d->head] == i)
		d->head++;
}

static void slide_out(promql_slide *s, size_t i)
{
	if (is_sum(s->id)) {
		promql_xsum_add(&s->sum, s->pts[i].v, -1);
		return;
	}
	deque_leave(&s->ext, i);
}

/* Prometheus's results for windows holding infinities or NaNs: a NaN, or
 * both infinities, give NaN; otherwise the infinity wins. */
static bool special_sum(const promql_xsum *x, double *out)
{
	if (x->nan || (x->pinf && x->ninf))
		*out = NAN;
	else if (x->pinf)
		*out = INFINITY;
	else if (x->ninf)
		*out = -INFINITY;
	else
		return false;
	return true;
}

static bool bounds_ok(int lsb, int top, size_t n)
{
	return top <= MAX_EXACT_TOP && top + 2 * ceil_log2(n) <= lsb + 104;
}

/* Lowest set bit and highest exponent over the finite non-zero samples
 * of pts[lo, hi); false when there is none. */
static bool sample_bounds(const tsdb_sample *pts, size_t lo, size_t hi, int *lsb, int *top)
{
	bool any = false;
	*lsb = INT32_MAX;
	*top = INT32_MIN;
	for (size_t i = lo; i < hi; i++) {
		double v = pts[i].v;
		if (!isfinite(v) || v == 0)
			continue;
		int l = sample_lsb(v), t = sample_top(v);
		*lsb = l < *lsb ? l : *lsb;
		*top = t > *top ? t : *top;
		any = true;
	}
	return any;
}

/* Depends on the samples of pts[lo, hi) alone (the series-wide bounds
 * only prove it sooner), so instant and range queries decide alike. */
static bool kahan_is_exact(promql_slide *s, size_t lo, size_t hi)
{
	size_t n = hi - lo;
	if (n >= MAX_EXACT_WINDOW)
		return false;
	if (!s->bounds) {
		s->any_finite = sample_bounds(s->pts, 0, s->n, &s->lsb_min, &s->top_max);
		s->bounds = true;
	}
	if (!s->any_finite || bounds_ok(s->lsb_min, s->top_max, n))
		return true;
	int lsb, top;
	return !sample_bounds(s->pts, lo, hi, &lsb, &top) || bounds_ok(lsb, top, n);
}

/* A window that shares no sample with the one before: Kahan's sum in one
 * pass, which kahan_is_exact makes the same as rounding the exact sum. */
static promql_slide_rc sum_direct(promql_slide *s, size_t lo, size_t hi, double *out)
{
	double sum = 0, c = 0;
	int lsb = INT32_MAX, top = INT32_MIN;
	bool any = false;
	for (size_t i = lo; i < hi; i++) {
		double v = s->pts[i].v;
		kahan_inc(v, &sum, &c);
		if (!isfinite(v) || v == 0)
			continue;
		int l = sample_lsb(v), t = sample_top(v);
		lsb = l < lsb ? l : lsb;
		top = t > top ? t : top;
		any = true;
	}
	size_t n = hi - lo;
	if (n >= MAX_EXACT_WINDOW || (any && !bounds_ok(lsb, top, n)))
		return PROMQL_SLIDE_FALLBACK;
	*out = isinf(sum) ? sum : sum + c;
	if (s->id == PROMQL_FN_AVG_OVER_TIME)
		*out /= (double)n;
	if (isnan(*out))
		*out = NAN;  /* one NaN, as special_sum's (Inf-Inf has its sign bit set) */
	return PROMQL_SLIDE_VALUE;
}

promql_slide_rc promql_slide_eval(promql_slide *s, size_t lo, size_t hi, double *out)
{
	if (s->id == PROMQL_FN_CHANGES || s->id == PROMQL_FN_RESETS) {
		*out = (double)(s->prefix[hi - 1] - s->prefix[lo]);
		return PROMQL_SLIDE_VALUE;
	}
	bool overlaps = s->calls > 0 && lo < s->prev_hi;
	bool first = s->calls == 0;
	s->calls++;
	s->prev_hi = hi;
	if (is_sum(s->id) && !overlaps && (s->single || !first)) {
		s->held = false;
		return sum_direct(s, lo, hi, out);
	}
	if (lo >= s->hi || (is_sum(s->id) && !s->held)) {
		/* nothing held is still in the window: start afresh */
		promql_xsum_reset(&s->sum);
		s->ext.head = s->ext.tail = 0;
		s->lo = s->hi = lo;
		s->held = true;
	}
	for (size_t i = s->hi; i < hi; i++)
		slide_in(s, i);
	for (size_t i = s->lo; i < lo; i++)
		slide_out(s, i);
	s->lo = lo;
	s->hi = hi;
	size_t n = hi - lo;
	if (is_sum(s->id)) {
		if (!kahan_is_exact(s, lo, hi))
			return PROMQL_SLIDE_FALLBACK;
		if (!special_sum(&s->sum, out)) {
			*out = promql_xsum_round(&s->sum);
			/* Prometheus divides Kahan's sum and compensation apart; the
			 * same when no partial sum rounds, else within an ulp */
			if (s->id == PROMQL_FN_AVG_OVER_TIME)
				*out /= (double)n;
		}
		return PROMQL_SLIDE_VALUE;
	}
	/* min/max; all NaN: the one-shot loop ends on the last sample */
	const tsdb_sample *p = s->ext.tail > s->ext.head ? &s->pts[s->ext.v[s->ext.head]] : &s->pts[hi - 1];
	if (s->id == PROMQL_FN_TS_OF_MIN_OVER_TIME || s->id == PROMQL_FN_TS_OF_MAX_OVER_TIME)
		*out = (double)p->t / 1000;
	else
		*out = p->v;
	return PROMQL_SLIDE_VALUE;
}
