/* SPDX-License-Identifier: Apache-2.0
 * chunk.c - the chunk codec (layout in tsdb/README.md).
 * Invariants: bytes 0..1 hold the big-endian sample count (bit 15: decimal
 * value mode), rewritten on every append; after a failed append the bytes
 * and state are exactly as before; the only bits ever rewritten are the
 * run code at the tail; values are handled as raw bits only, so NaN
 * payloads and -0.0 survive. */
#include "config.h"
#include "tsdb/chunk.h"

#include <stdlib.h>
#include <string.h>

#include "lib/common.h"

/* ---- value classes ----
 * A class is a unary prefix (k ones, then a zero unless k is the last
 * class) followed by a signed field of the class's width. ORDER CLASSES:
 * the tables are part of the format. */
static const uint8_t ts_bits[] = { 0, 4, 7, 11, 20, 64 };
#define TS_NCLASS 6
#define INT_ESC 0xff
static const uint8_t int_bits[] = { 0, 4, 7, 10, 14, 20, 30, 42, 56, INT_ESC };
#define INT_NCLASS 10
#define INT_LIMIT 9007199254740992.0  /* 2^53 */

static inline uint64_t f2u(double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	return u;
}

static inline bool fits(int64_t x, unsigned b)
{
	if (b == 0)
		return x == 0;
	if (b >= 64)
		return true;
	int64_t lim = (int64_t)1 << (b - 1);
	return x >= -lim && x < lim;
}

static inline int64_t sext(uint64_t x, unsigned b)
{
	if (b >= 64)
		return (int64_t)x;
	return (int64_t)(x << (64 - b)) >> (64 - b);
}

#define MAX_SCALE 12
static const double p10[MAX_SCALE + 1] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12 };

/* The value of integer iv at decimal scale k; IEEE division is correctly
 * rounded, so this is the same double on every platform. */
static inline double from_dec(int64_t iv, unsigned k)
{
	return k ? (double)iv / p10[k] : (double)iv;
}

/* Whether v == iv / 10^k bit for bit for some |iv| <= 2^53 (never for
 * -0.0, NaN or infinities). */
static inline bool as_dec(double v, unsigned k, int64_t *out)
{
	double x = v * p10[k];
	if (!(x >= -INT_LIMIT && x <= INT_LIMIT))
		return false;
	int64_t i = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
	if (f2u(from_dec(i, k)) != f2u(v))
		return false;
	*out = i;
	return true;
}

static bool put_class(tsdb_bstream *bs, const uint8_t *bits, unsigned ncls, int64_t x)
{
	for (unsigned k = 0; k < ncls; k++) {
		if (bits[k] == INT_ESC || !fits(x, bits[k]))
			continue;
		/* prefix: k ones then a zero, except the last class has no zero */
		unsigned plen = k + (k < ncls - 1);
		uint64_t prefix = ((1ULL << k) - 1) << (plen - k);
		if (!tsdb_bstream_write_bits(bs, prefix, plen))
			return false;
		if (bits[k] == 64)
			return tsdb_bstream_write_bits(bs, (uint64_t)x >> 32, 32) &&
			       tsdb_bstream_write_bits(bs, (uint64_t)x & 0xffffffffu, 32);
		return tsdb_bstream_write_bits(bs, (uint64_t)x, bits[k]);
	}
	return false;
}

static bool put_varint(tsdb_bstream *bs, uint64_t u)
{
	while (u >= 0x80) {
		if (!tsdb_bstream_write_bits(bs, (u & 0x7f) | 0x80, 8))
			return false;
		u >>= 7;
	}
	return tsdb_bstream_write_bits(bs, u, 8);
}

static inline uint64_t zz(int64_t x) { return ((uint64_t)x << 1) ^ (uint64_t)(x >> 63); }
static inline int64_t unzz(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

static bool put_xor(tsdb_chunk_app *a, uint64_t vb)
{
	tsdb_bstream *bs = &a->bs;
	uint64_t x = vb ^ a->vbits;
	if (x == 0)
		return tsdb_bstream_write_bits(bs, 0, 1);
	unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
	if (lead >= 32)
		lead = 31;
	if (a->leading != 0xff && lead >= a->leading && trail >= a->trailing) {
		unsigned sig = 64 - a->leading - a->trailing;
		return tsdb_bstream_write_bits(bs, 2, 2) &&
		       tsdb_bstream_write_bits(bs, x >> a->trailing, sig);
	}
	unsigned sig = 64 - lead - trail;
	if (!tsdb_bstream_write_bits(bs, 3, 2) || !tsdb_bstream_write_bits(bs, lead, 5) ||
	    !tsdb_bstream_write_bits(bs, sig & 63, 6) || !tsdb_bstream_write_bits(bs, x >> trail, sig))
		return false;
	a->leading = (uint8_t)lead;
	a->trailing = (uint8_t)trail;
	return true;
}

static void set_header(uint8_t *b, uint32_t n, bool int_mode)
{
	uint32_t h = n | (int_mode ? 0x8000u : 0);
	b[0] = (uint8_t)(h >> 8);
	b[1] = (uint8_t)h;
}

/* ---- appender ---- */

void tsdb_chunk_app_init(tsdb_chunk_app *a, uint8_t *buf, size_t cap_bytes)
{
	memset(a, 0, sizeof(*a));
	tsdb_bstream_init(&a->bs, buf, cap_bytes, TSDB_CHUNK_HEADER_BYTES * 8);
	a->leading = 0xff;
	a->force_scale = -1;
	set_header(buf, 0, false);
}

void tsdb_chunk_app_rebase(tsdb_chunk_app *a, uint8_t *buf, size_t cap_bytes)
{
	a->bs.buf = buf;
	a->bs.cap_bytes = cap_bytes;
}

static bool rescale(tsdb_chunk_app *a, unsigned k, int64_t t, double v);

#define RUN_UNARY 8  /* runs of up to 7 are that many '0' bits */

/* Cuts the stream back to pos bits, clearing the rest of that byte. */
static void trunc_bits(tsdb_bstream *bs, size_t pos)
{
	bs->nbits = pos;
	if (pos & 7)
		bs->buf[pos >> 3] &= (uint8_t)(0xff00u >> (pos & 7));
}

/* Writes the code of a joint-zero run of len samples at bit pos (the end
 * of the stream): len < 8: len '0' bits; else 8 '0' bits and the Elias
 * gamma code of len - 7. len 0 writes nothing. */
static bool put_run(tsdb_bstream *bs, size_t pos, uint32_t len)
{
	trunc_bits(bs, pos);
	if (len < RUN_UNARY)
		return tsdb_bstream_write_bits(bs, 0, len);
	uint32_t g = len - (RUN_UNARY - 1);
	unsigned k = 31 - (unsigned)__builtin_clz(g);
	return tsdb_bstream_write_bits(bs, 0, RUN_UNARY) && tsdb_bstream_write_bits(bs, 0, k) &&
	       tsdb_bstream_write_bits(bs, g, k + 1);
}
static void switch_xor(tsdb_chunk_app *a);

bool tsdb_chunk_app_append(tsdb_chunk_app *a, int64_t t, double v)
{
	if (a->n >= TSDB_CHUNK_MAX_SAMPLES)
		return false;
	tsdb_chunk_app save = *a;
	uint8_t last = a->bs.nbits & 7 ? a->bs.buf[a->bs.nbits >> 3] : 0;
	uint64_t vb = f2u(v);
	int64_t iv = 0;
	bool ok, just_escaped = false;
	if (a->n == 0) {
		int k = -1;
		if (a->force_scale == TSDB_CHUNK_FORCE_XOR)
			k = MAX_SCALE + 1;  /* skips the search */
		else if (a->force_scale >= 0 && as_dec(v, (unsigned)a->force_scale, &iv))
			k = a->force_scale;
		for (unsigned s = 0; k < 0 && s <= MAX_SCALE; s++)
			if (as_dec(v, s, &iv))
				k = (int)s;
		if (k > MAX_SCALE)
			k = -1;
		a->int_mode = k >= 0;
		a->scale = k >= 0 ? (uint8_t)k : 0;
		ok = (!a->int_mode || tsdb_bstream_write_bits(&a->bs, a->scale, 4)) && put_varint(&a->bs, zz(t)) &&
		     (a->int_mode ? put_varint(&a->bs, zz(iv))
				  : tsdb_bstream_write_bits(&a->bs, vb >> 32, 32) &&
					    tsdb_bstream_write_bits(&a->bs, vb & 0xffffffffu, 32));
		if (ok) {
			a->t = t;
			a->tdelta = 0;
			a->iv = iv;
			a->idv = 0;
		}
	} else {
		/* wrapping arithmetic: any int64 timestamps round-trip */
		int64_t d = (int64_t)((uint64_t)t - (uint64_t)a->t);
		/* e: the interval against the base interval (the last one seen
		 * twice in a row), so a single late scrape costs two codes (+j, -j)
		 * where a delta-of-delta costs three (+j, -2j, +j) */
		int64_t e = (int64_t)((uint64_t)d - (uint64_t)a->tbase);
		bool have_iv = false;
		if (a->int_mode) {
			have_iv = as_dec(v, a->scale, &iv);
			for (unsigned k = a->scale + 1u; !have_iv && !a->no_rescale && k <= MAX_SCALE; k++)
				if (as_dec(v, k, &iv))
					return rescale(a, k, t, v);  /* nothing written yet */
		}
		bool vzero = a->int_mode ? have_iv && iv - a->iv == a->idv : vb == a->vbits;
		if (e == 0 && vzero) {
			/* the common case: same interval, value code zero; extends
			 * the run at the tail (its code is rewritten in place) */
			if (a->run == 0)
				a->run_start = (uint32_t)a->bs.nbits;
			ok = put_run(&a->bs, a->run_start, a->run + 1);
			if (!ok) {
				put_run(&a->bs, a->run_start, a->run);  /* fitted before */
				*a = save;
				return false;
			}
			a->run++;
			if (a->int_mode)
				a->iv = iv;
		} else {
			a->run = 0;
			ok = tsdb_bstream_write_bits(&a->bs, 1, 1) && put_class(&a->bs, ts_bits, TS_NCLASS, e);
			if (ok && a->int_mode) {
				int64_t dv = iv - a->iv;
				if (have_iv && fits(dv - a->idv, 56)) {
					ok = put_class(&a->bs, int_bits, INT_NCLASS, dv - a->idv);
					if (ok) {
						a->idv = dv;
						a->iv = iv;
					}
				} else {
					/* escape: all-ones prefix, then the raw bits; integer state unchanged */
					ok = tsdb_bstream_write_bits(&a->bs, (1u << (INT_NCLASS - 1)) - 1, INT_NCLASS - 1) &&
					     tsdb_bstream_write_bits(&a->bs, vb >> 32, 32) &&
					     tsdb_bstream_write_bits(&a->bs, vb & 0xffffffffu, 32);
					if (ok) {
						a->nesc++;
						just_escaped = true;
					}
				}
			} else if (ok) {
				ok = put_xor(a, vb);
			}
		}
		if (ok) {
			if (a->n == 1 || d == a->tdelta)
				a->tbase = d;
			a->tdelta = d;
			a->t = t;
		}
	}
	if (!ok) {
		*a = save;
		if (a->bs.nbits & 7)
			a->bs.buf[a->bs.nbits >> 3] = last;
		return false;
	}
	a->vbits = vb;
	a->n++;
	set_header(a->bs.buf, a->n, a->int_mode);
	/* the values may not be decimal after all: switch the chunk to XOR when
	 * that is smaller (checked at 16, 32, ... samples and at 4, 8, ...
	 * escapes: a function of the bytes, so resume makes the same choice) */
	bool esc_check = just_escaped && a->nesc >= 4 && (a->nesc & (a->nesc - 1)) == 0;
	bool n_check = a->n >= 16 && (a->n & (a->n - 1)) == 0;
	if (a->int_mode && !a->no_rescale && a->force_scale == -1 && (esc_check || n_check))
		switch_xor(a);
	return true;
}

/* Re-encodes the chunk at decimal scale k and appends (t, v). On failure
 * (buffer full, or no memory for the copies) the chunk is left as it was. */
static bool rescale(tsdb_chunk_app *a, unsigned k, int64_t t, double v)
{
	size_t len = tsdb_chunk_app_bytes(a);
	uint32_t n = a->n;
	tsdb_sample *tmp = malloc((n + 1) * sizeof(*tmp));
	uint8_t *orig = malloc(len);
	bool ok = tmp && orig && tsdb_chunk_decode(a->bs.buf, len, UINT32_MAX, INT64_MIN, INT64_MAX, tmp) == (long)n;
	if (ok) {
		memcpy(orig, a->bs.buf, len);
		tsdb_chunk_app saved = *a;
		tsdb_chunk_app_init(a, a->bs.buf, a->bs.cap_bytes);
		a->force_scale = (int8_t)k;
		a->no_rescale = true;
		for (uint32_t i = 0; ok && i < n; i++)
			ok = tsdb_chunk_app_append(a, tmp[i].t, tmp[i].v);
		ok = ok && tsdb_chunk_app_append(a, t, v);
		a->force_scale = -1;
		a->no_rescale = false;
		if (!ok) {
			memcpy(a->bs.buf, orig, len);
			*a = saved;
		}
	}
	free(tmp);
	free(orig);
	return ok;
}

size_t tsdb_chunk_reencode_xor(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
	uint32_t n = tsdb_chunk_count(src, len);
	tsdb_sample *tmp = malloc((n + 1) * sizeof(*tmp));
	if (!tmp || cap < TSDB_CHUNK_HEADER_BYTES ||
	    tsdb_chunk_decode(src, len, UINT32_MAX, INT64_MIN, INT64_MAX, tmp) != (long)n) {
		free(tmp);
		return 0;
	}
	tsdb_chunk_app a;
	tsdb_chunk_app_init(&a, dst, cap);
	a.force_scale = TSDB_CHUNK_FORCE_XOR;
	bool ok = true;
	for (uint32_t i = 0; ok && i < n; i++)
		ok = tsdb_chunk_app_append(&a, tmp[i].t, tmp[i].v);
	free(tmp);
	return ok ? tsdb_chunk_app_bytes(&a) : 0;
}

static void switch_xor(tsdb_chunk_app *a)
{
	size_t len = tsdb_chunk_app_bytes(a);
	uint8_t *tmp = malloc(len);
	if (!tmp)
		return;
	size_t alt = tsdb_chunk_reencode_xor(a->bs.buf, len, tmp, len - 1);
	if (alt) {
		memcpy(a->bs.buf, tmp, alt);
		tsdb_chunk_app b;
		if (tsdb_chunk_app_resume(&b, a->bs.buf, alt, a->bs.cap_bytes) == TSDB_OK)
			*a = b;
	}
	free(tmp);
}

uint32_t tsdb_chunk_count(const uint8_t *b, size_t len)
{
	if (len < TSDB_CHUNK_HEADER_BYTES)
		return 0;
	return ((uint32_t)b[0] << 8 | b[1]) & 0x7fff;
}

/* ---- iterator ---- */

void tsdb_chunk_iter_init(tsdb_chunk_iter *it, const uint8_t *b, size_t len, uint32_t max_samples)
{
	memset(it, 0, sizeof(*it));
	it->start = b;
	if (len < TSDB_CHUNK_HEADER_BYTES) {
		it->err = len ? TSDB_ECORRUPT : 0;
		return;
	}
	it->n = tsdb_chunk_count(b, len);
	if (it->n > max_samples)
		it->n = max_samples;
	it->int_mode = b[0] & 0x80;
	it->leading = 0xff;
	tsdb_bstream_reader_init(&it->r, b + TSDB_CHUNK_HEADER_BYTES, len - TSDB_CHUNK_HEADER_BYTES);
	it->start = b + TSDB_CHUNK_HEADER_BYTES;
}

static inline bool get_varint(tsdb_bstream_reader *r, uint64_t *out)
{
	uint64_t u = 0, byte;
	for (unsigned s = 0; s < 70; s += 7) {
		if (!tsdb_bstream_read_bits(r, 8, &byte))
			return false;
		u |= (byte & 0x7f) << s;
		if (!(byte & 0x80)) {
			*out = u;
			return true;
		}
	}
	return false;
}

static inline bool get_class(tsdb_bstream_reader *r, const uint8_t *bits, unsigned ncls, int64_t *x, bool *esc)
{
	int k = tsdb_bstream_read_unary(r, ncls - 1);
	if (k < 0)
		return false;
	unsigned b = bits[k];
	if (b == 0) {
		*x = 0;
		return true;
	}
	if (b == INT_ESC) {
		*esc = true;
		return true;
	}
	uint64_t u;
	if (!tsdb_bstream_read_bits64(r, b, &u))
		return false;
	*x = sext(u, b);
	return true;
}

static inline bool get_xor(tsdb_chunk_iter *it)
{
	uint64_t u;
	if (!tsdb_bstream_read_bits(&it->r, 1, &u))
		return false;
	if (!u)
		return true;
	if (!tsdb_bstream_read_bits(&it->r, 1, &u))
		return false;
	if (u) {
		uint64_t lead, sig;
		if (!tsdb_bstream_read_bits(&it->r, 5, &lead) || !tsdb_bstream_read_bits(&it->r, 6, &sig))
			return false;
		if (sig == 0)
			sig = 64;
		if (lead + sig > 64)
			return false;
		it->leading = (uint8_t)lead;
		it->trailing = (uint8_t)(64 - lead - sig);
	} else if (it->leading == 0xff) {
		return false;
	}
	unsigned sig = 64u - it->leading - it->trailing;
	if (!tsdb_bstream_read_bits64(&it->r, sig, &u))
		return false;
	it->vbits ^= u << it->trailing;
	return true;
}

static inline bool get_raw64(tsdb_bstream_reader *r, uint64_t *out)
{
	uint64_t hi, lo;
	if (!tsdb_bstream_read_bits(r, 32, &hi) || !tsdb_bstream_read_bits(r, 32, &lo))
		return false;
	*out = hi << 32 | lo;
	return true;
}

static inline __attribute__((always_inline)) bool step(tsdb_chunk_iter *it)
{
	if (TP_UNLIKELY(it->err || it->i >= it->n)) {
		it->done = true;
		return false;
	}
	tsdb_bstream_reader *r = &it->r;
	if (TP_UNLIKELY(it->i == 0)) {
		uint64_t u;
		if (it->int_mode) {
			if (!tsdb_bstream_read_bits(r, 4, &u) || u > MAX_SCALE)
				goto corrupt;
			it->scale = (uint8_t)u;
		}
		if (!get_varint(r, &u))
			goto corrupt;
		it->t = unzz(u);
		if (it->int_mode) {
			if (!get_varint(r, &u))
				goto corrupt;
			it->iv = unzz(u);
			double d = from_dec(it->iv, it->scale);
			memcpy(&it->vbits, &d, 8);
		} else if (!get_raw64(r, &it->vbits)) {
			goto corrupt;
		}
		it->i = 1;
		return true;
	}
	if (it->run_left) {
		it->run_left--;
		goto joint_zero;
	}
	uint64_t joint;
	size_t pos = tsdb_chunk_iter_bitpos(it);
	if (!tsdb_bstream_read_bits(r, 1, &joint))
		goto corrupt;
	if (!joint) {
		if (it->zrun++ == 0)
			it->run_start = (uint32_t)(pos + TSDB_CHUNK_HEADER_BYTES * 8);
		if (it->zrun == RUN_UNARY) {
			/* gamma code of the run length - 7 */
			int k = tsdb_bstream_read_zeros(r, 31);
			uint64_t g;
			if (k < 0 || !tsdb_bstream_read_bits(r, (unsigned)k + 1, &g) || g == 0 ||
			    g - 1 > it->n - it->i - 1)
				goto corrupt;
			it->run_left = (uint32_t)(g - 1);
			it->zrun += it->run_left;  /* the run's total length */
		}
	joint_zero:
		it->tdelta = it->tbase;
		it->t = (int64_t)((uint64_t)it->t + (uint64_t)it->tbase);
		if (it->int_mode) {
			it->iv += it->idv;
			double d = from_dec(it->iv, it->scale);
			memcpy(&it->vbits, &d, 8);
		}
		it->i++;
		return true;
	}
	it->zrun = 0;
	int64_t e;
	bool esc = false;
	if (!get_class(r, ts_bits, TS_NCLASS, &e, &esc))
		goto corrupt;
	int64_t d = (int64_t)((uint64_t)it->tbase + (uint64_t)e);
	if (it->i == 1 || d == it->tdelta)
		it->tbase = d;
	it->tdelta = d;
	it->t = (int64_t)((uint64_t)it->t + (uint64_t)d);
	if (it->int_mode) {
		int64_t ddv;
		if (!get_class(r, int_bits, INT_NCLASS, &ddv, &esc))
			goto corrupt;
		if (esc) {
			if (!get_raw64(r, &it->vbits))
				goto corrupt;
			it->nesc++;
		} else {
			it->idv += ddv;
			it->iv += it->idv;
			double d = from_dec(it->iv, it->scale);
			memcpy(&it->vbits, &d, 8);
		}
	} else if (!get_xor(it)) {
		goto corrupt;
	}
	it->i++;
	return true;
corrupt:
	it->err = TSDB_ECORRUPT;
	it->done = true;
	return false;
}

bool tsdb_chunk_iter_next(tsdb_chunk_iter *it)
{
	return step(it);
}

bool tsdb_chunk_iter_seek(tsdb_chunk_iter *it, int64_t t_ms)
{
	if (it->err || it->done)
		return false;
	if (it->i > 0 && it->t >= t_ms)
		return true;
	while (tsdb_chunk_iter_next(it))
		if (it->t >= t_ms)
			return true;
	return false;
}

int tsdb_chunk_app_resume(tsdb_chunk_app *a, uint8_t *buf, size_t len, size_t cap_bytes)
{
	tsdb_chunk_iter it;
	tsdb_chunk_iter_init(&it, buf, len, UINT32_MAX);
	while (tsdb_chunk_iter_next(&it))
		;
	if (it.err || it.i != it.n || len < TSDB_CHUNK_HEADER_BYTES)
		return TSDB_ECORRUPT;
	memset(a, 0, sizeof(*a));
	tsdb_bstream_init(&a->bs, buf, cap_bytes, TSDB_CHUNK_HEADER_BYTES * 8 + tsdb_chunk_iter_bitpos(&it));
	/* clear anything after the last bit so later writes can OR into it */
	if (a->bs.nbits & 7)
		buf[a->bs.nbits >> 3] &= (uint8_t)(0xff00u >> (a->bs.nbits & 7));
	a->n = it.n;
	a->int_mode = it.int_mode;
	a->scale = it.scale;
	a->nesc = it.nesc;
	a->run = it.zrun;
	a->run_start = it.run_start;
	a->force_scale = -1;
	a->leading = it.leading;
	a->trailing = it.trailing;
	a->t = it.t;
	a->tdelta = it.tdelta;
	a->tbase = it.tbase;
	a->vbits = it.vbits;
	a->iv = it.iv;
	a->idv = it.idv;
	return TSDB_OK;
}

/* ---- bulk decoder ----
 * The same format as step(), with the reader state in locals so that it
 * stays in registers; a run of samples with the base interval and value
 * code zero is emitted in a tight loop without reading bits. step() only
 * decodes the first sample; near the end of the bytes REFILL loads byte by
 * byte, and every consumption is bounds-checked (TAKE/SKIP). */

#define REFILL()                                                                              \
	do {                                                                                  \
		if (nacc <= 56) {                                                             \
			if (TP_LIKELY(end - p >= 8)) {                                        \
				uint64_t w_;                                                  \
				memcpy(&w_, p, 8);                                            \
				w_ = __builtin_bswap64(w_);                                   \
				unsigned take_ = (64 - nacc) >> 3;                            \
				acc |= (w_ >> (64 - 8 * take_) << (64 - 8 * take_)) >> nacc; \
				p += take_;                                                   \
				nacc += 8 * take_;                                            \
			} else {                                                              \
				while (nacc <= 56 && p < end) {                               \
					acc |= (uint64_t)*p++ << (56 - nacc);                 \
					nacc += 8;                                            \
				}                                                             \
			}                                                                     \
		}                                                                             \
	} while (0)
/* consumes nbits (1..56) into out; a short stream is corrupt */
#define TAKE(nbits, out)                                              \
	do {                                                          \
		if (TP_UNLIKELY(nacc < (nbits)))                      \
			goto corrupt;                                 \
		(out) = acc >> (64 - (nbits));                        \
		acc <<= (nbits);                                      \
		nacc -= (nbits);                                      \
	} while (0)
#define SKIP(nbits)                                                   \
	do {                                                          \
		if (TP_UNLIKELY(nacc < (nbits)))                      \
			goto corrupt;                                 \
		acc <<= (nbits);                                      \
		nacc -= (nbits);                                      \
	} while (0)

long tsdb_chunk_decode(const uint8_t *b, size_t len, uint32_t max_samples, int64_t mint_ms,
		       int64_t maxt_ms, tsdb_sample *out)
{
	tsdb_chunk_iter it;
	tsdb_chunk_iter_init(&it, b, len, max_samples);
	long n = 0;
	if (!step(&it))
		return it.err ? -1 : 0;
	if (it.t >= mint_ms && it.t <= maxt_ms) {
		out[n].t = it.t;
		memcpy(&out[n].v, &it.vbits, 8);
		n++;
	}
	const uint8_t *p = it.r.p, *end = it.r.end;
	uint64_t acc = it.r.acc;
	unsigned nacc = it.r.nacc;
	int64_t t = it.t, tdelta = it.tdelta, tbase = it.tbase, iv = it.iv, idv = it.idv;
	uint64_t vbits = it.vbits;
	unsigned leading = it.leading, trailing = it.trailing;
	uint32_t i = it.i, cnt = it.n, zrun = 0;
	unsigned scale = it.scale;
	while (i < cnt) {
		REFILL();
		uint64_t u;
		if (!(acc >> 63)) {
			/* same interval, value code zero: one sample, or a whole run */
			SKIP(1);
			uint64_t len = 1;
			if (++zrun == RUN_UNARY) {
				REFILL();
				unsigned k = acc ? (unsigned)__builtin_clzll(acc) : 64;
				if (k > 31)
					goto corrupt;
				SKIP(k);
				REFILL();
				TAKE(k + 1, u);
				if (u == 0 || u - 1 > cnt - i - 1)
					goto corrupt;
				len += u - 1;
				zrun += (uint32_t)(u - 1);
			}
			tdelta = tbase;
			for (; len; len--) {
				t = (int64_t)((uint64_t)t + (uint64_t)tbase);
				if (it.int_mode) {
					iv += idv;
					double d = from_dec(iv, scale);
					memcpy(&vbits, &d, 8);
				}
				i++;
				if (t > maxt_ms)
					return n;
				if (t >= mint_ms) {
					out[n].t = t;
					memcpy(&out[n].v, &vbits, 8);
					n++;
				}
			}
			continue;
		}
		SKIP(1);
		zrun = 0;
		int64_t e = 0;
		if (!(acc >> 63)) {
			SKIP(1);
		} else {
			unsigned k = (unsigned)__builtin_clzll(~acc | (1ULL << (63 - (TS_NCLASS - 1))));
			unsigned used = k < TS_NCLASS - 1 ? k + 1 : k;
			SKIP(used);
			unsigned bw = ts_bits[k];
			if (bw == 64) {
				REFILL();
				TAKE(32, u);
				uint64_t hi = u;
				REFILL();
				TAKE(32, u);
				e = (int64_t)(hi << 32 | u);
			} else {
				REFILL();
				TAKE(bw, u);
				e = sext(u, bw);
			}
		}
		{
			int64_t d = (int64_t)((uint64_t)tbase + (uint64_t)e);
			if (i == 1 || d == tdelta)
				tbase = d;
			tdelta = d;
			t = (int64_t)((uint64_t)t + (uint64_t)d);
		}
		REFILL();
		if (it.int_mode) {
			if (!(acc >> 63)) {
				SKIP(1);
			} else {
				unsigned k = (unsigned)__builtin_clzll(~acc | (1ULL << (63 - (INT_NCLASS - 1))));
				unsigned used = k < INT_NCLASS - 1 ? k + 1 : k;
				SKIP(used);
				unsigned bw = int_bits[k];
				if (bw == INT_ESC) {
					REFILL();
					TAKE(32, u);
					uint64_t hi = u;
					REFILL();
					TAKE(32, u);
					vbits = hi << 32 | u;
					goto emit;
				}
				REFILL();
				TAKE(bw, u);
				idv += sext(u, bw);
			}
			iv += idv;
			double d = from_dec(iv, scale);
			memcpy(&vbits, &d, 8);
		} else if (acc >> 63) {
			if (acc >> 62 & 1) {
				uint64_t lead = acc << 2 >> 59, sig = acc << 7 >> 58;
				SKIP(13);
				if (sig == 0)
					sig = 64;
				if (lead + sig > 64)
					goto corrupt;
				leading = (unsigned)lead;
				trailing = (unsigned)(64 - lead - sig);
			} else {
				if (leading == 0xff)
					goto corrupt;
				SKIP(2);
			}
			unsigned sig = 64 - leading - trailing;
			REFILL();
			if (sig > 32) {
				TAKE(sig - 32, u);
				uint64_t hi = u;
				REFILL();
				TAKE(32, u);
				u |= hi << 32;
			} else {
				TAKE(sig, u);
			}
			vbits ^= u << trailing;
		} else {
			SKIP(1);
		}
	emit:
		i++;
		if (t > maxt_ms)
			return n;
		if (t >= mint_ms) {
			out[n].t = t;
			memcpy(&out[n].v, &vbits, 8);
			n++;
		}
	}
	return n;
corrupt:
	return -1;
}
