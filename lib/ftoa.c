/* SPDX-License-Identifier: Apache-2.0
 * ftoa.c - shortest round-trip digits of a double (see ftoa.h), after
 * Raffaello Giulietti's Schubfach ("The Schubfach way to render doubles",
 * the method of Java 19's Double.toString):
 *
 * v = c * 2^q has the rounding interval [v - 2^(q-1), v + 2^(q-1)]
 * (a quarter ulp below when c is the smallest significand), ends included
 * when c is even. With k = floor(log10 2^q) the interval scaled by 10^-k
 * is between 1 and 10 wide, so it holds one or more integers; scaling by
 * a 126-bit over-approximation g of 10^-k and rounding to odd keeps every
 * comparison with the candidates exact. The candidates are the multiples
 * of ten around v * 10^-k (one digit fewer), then s = floor(v * 10^-k)
 * and s + 1; the first that alone lies inside wins, else the closer one
 * (ties to even).
 *
 * Invariants: g(k) comes from exact big-integer arithmetic done once
 * (pthread_once), 2^125 <= g < 2^126; subnormals (rare, and where Java's
 * variant prefers two digits over one) take the slow exact path: the
 * shortest %.*e that strtod reads back. */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ftoa.h"

__extension__ typedef unsigned __int128 u128;

#define K_MIN (-324)
#define K_MAX 292
#define MASK63 ((1ULL << 63) - 1)

static uint64_t g1_tab[K_MAX - K_MIN + 1], g0_tab[K_MAX - K_MIN + 1];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* floor(q log10 2), floor(log10(3/4 2^q)), floor(e log2 10) for the
 * exponents of doubles, in fixed point */
static int flog10pow2(int q)
{
	return (int)(((int64_t)q * 661971961083LL) >> 41);
}

static int flog10_three_quarters_pow2(int q)
{
	return (int)(((int64_t)q * 661971961083LL - 274743187321LL) >> 41);
}

static int flog2pow10(int e)
{
	return (int)(((int64_t)e * 913124641741LL) >> 38);
}

/* ---- the table: g(k) = floor(10^-k 2^(125 - floor(log2 10^-k))) + 1 ---- */

#define BIG_WORDS 40  /* 1280 bits: 10^324 * 2^0 and 2^(125 + 1077) fit */

typedef struct big {
	uint32_t w[BIG_WORDS];  /* little endian */
} big;

static int big_bitlen(const big *b)
{
	for (int i = BIG_WORDS - 1; i >= 0; i--)
		if (b->w[i])
			return i * 32 + 32 - __builtin_clz(b->w[i]);
	return 0;
}

static void big_mul10(big *b)
{
	uint64_t carry = 0;
	for (int i = 0; i < BIG_WORDS; i++) {
		uint64_t x = (uint64_t)b->w[i] * 10 + carry;
		b->w[i] = (uint32_t)x;
		carry = x >> 32;
	}
}

static void big_div10(big *b)
{
	uint64_t rem = 0;
	for (int i = BIG_WORDS - 1; i >= 0; i--) {
		uint64_t x = (rem << 32) | b->w[i];
		b->w[i] = (uint32_t)(x / 10);
		rem = x % 10;
	}
}

/* bits [lo, lo + 128) of b, i.e. floor(b / 2^lo) mod 2^128 */
static u128 big_bits(const big *b, int lo)
{
	u128 r = 0;
	for (int i = 127; i >= 0; i--) {
		int bit = lo + i;
		r <<= 1;
		if (bit >= 0 && bit < BIG_WORDS * 32)
			r |= (b->w[bit / 32] >> (bit % 32)) & 1;
	}
	return r;
}

static void set_g(int k, u128 g)
{
	if (g < ((u128)1 << 125) || g >= ((u128)1 << 126))
		abort();  /* the fixed-point logarithms above are wrong */
	g1_tab[k - K_MIN] = (uint64_t)(g >> 63);
	g0_tab[k - K_MIN] = (uint64_t)g & MASK63;
}

static void init_tables(void)
{
	/* k <= 0: 10^-k is the integer N; g = floor(N 2^(125 - e)) + 1 */
	big n = { { 1 } };
	for (int k = 0; k >= K_MIN; k--) {
		int e = big_bitlen(&n) - 1;
		if (e != flog2pow10(-k))
			abort();
		/* N 2^(125 - e): for e <= 125 the low bits are zero */
		u128 g = e <= 125 ? big_bits(&n, 0) << (125 - e) : big_bits(&n, e - 125);
		set_g(k, g + 1);
		big_mul10(&n);
	}
	/* k > 0: g = floor(2^(125 - e) / 10^k) + 1 with e = floor(log2 10^-k) */
	for (int k = 1; k <= K_MAX; k++) {
		int e = flog2pow10(-k);
		big x = { { 0 } };
		int bit = 125 - e;
		x.w[bit / 32] = 1u << (bit % 32);
		for (int i = 0; i < k; i++)
			big_div10(&x);
		set_g(k, big_bits(&x, 0) + 1);
	}
}

/* ---- Schubfach ---- */

/* round to odd of g * cp / 2^127 (g = g1 2^63 + g0) */
static uint64_t rop(uint64_t g1, uint64_t g0, uint64_t cp)
{
	u128 x = (u128)g0 * cp, y = (u128)g1 * cp;
	uint64_t x1 = (uint64_t)(x >> 64), y0 = (uint64_t)y, y1 = (uint64_t)(y >> 64);
	uint64_t z = (y0 >> 1) + x1;
	uint64_t vbp = y1 + (z >> 63);
	return vbp | (((z & MASK63) + MASK63) >> 63);
}

/* v = c 2^q, c in [2^52, 2^53): the decimal *d 10^*k */
static void to_decimal(int q, uint64_t c, uint64_t *d, int *k10)
{
	uint64_t out = c & 1, cb = c << 2, cbr = cb + 2, cbl;
	int k;
	if (c != (1ULL << 52)) {
		cbl = cb - 2;
		k = flog10pow2(q);
	} else {
		cbl = cb - 1;
		k = flog10_three_quarters_pow2(q);
	}
	int h = q + flog2pow10(-k) + 2;
	uint64_t g1 = g1_tab[k - K_MIN], g0 = g0_tab[k - K_MIN];
	uint64_t vb = rop(g1, g0, cb << h), vbl = rop(g1, g0, cbl << h), vbr = rop(g1, g0, cbr << h);
	uint64_t s = vb >> 2;
	if (s >= 100) {
		uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
		bool upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
		if (upin != wpin) {
			*d = upin ? sp10 : tp10;
			*k10 = k;
			return;
		}
	}
	uint64_t t = s + 1;
	bool uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
	if (uin != win) {
		*d = uin ? s : t;
	} else {
		int64_t cmp = (int64_t)(vb - ((s + t) << 1));
		*d = cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : t;
	}
	*k10 = k;
}

static const char digit_pairs[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* The digits of d > 0 without its trailing zeros, written from the last
 * one back, two per division and in 32 bits once d fits (this runs once
 * per value of every API response). */
static int digits_of(uint64_t d, int k10, char *digits, int *exp10)
{
	while (d % 10 == 0) {
		d /= 10;
		k10++;
	}
	int n = 1;
	for (uint64_t p10 = 10; n < 20 && d >= p10; p10 *= 10)
		n++;
	char *p = digits + n;
	while (d > UINT32_MAX) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (d % 100), 2);
		d /= 100;
	}
	uint32_t w = (uint32_t)d;
	while (w >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (w % 100), 2);
		w /= 100;
	}
	if (w >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * w, 2);
	} else {
		*--p = (char)('0' + w);
	}
	*exp10 = k10 + n - 1;
	return n;
}

/* The exact reference: the shortest %.*e that reads back. */
static int slow_shortest(double v, char *digits, int *exp10)
{
	char tmp[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	int n = 0;
	const char *p = tmp;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	*exp10 = atoi(p + 1);
	while (n > 1 && digits[n - 1] == '0')
		n--;
	return n;
}

int tp_ftoa_shortest(double v, char *digits, int *exp10)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	int be = (int)((bits >> 52) & 0x7ff);
	uint64_t f = bits & ((1ULL << 52) - 1);
	if (be == 0)
		return slow_shortest(v, digits, exp10);  /* subnormal */
	uint64_t c = f | (1ULL << 52);
	int q = be - 1075;
	/* integers below 2^53: their own digits are the shortest */
	if (q <= 0 && q > -53 && (c & ((1ULL << -q) - 1)) == 0)
		return digits_of(c >> -q, 0, digits, exp10);
	pthread_once(&g_once, init_tables);
	uint64_t d;
	int k10;
	to_decimal(q, c, &d, &k10);
	return digits_of(d, k10, digits, exp10);
}
