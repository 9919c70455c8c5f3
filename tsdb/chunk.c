/* SPDX-License-Identifier: Apache-2.0
 * chunk.c - the chunk codec (layout in tsdb/README.md).
 * Invariants: bytes 0..1 hold the big-endian sample count (bit 15: integer
 * value mode), rewritten on every append; after a failed append the
 * stream and state are exactly as before; values are handled as raw bits
 * only, so NaN payloads and -0.0 survive. */
#include "config.h"
#include "tsdb/chunk.h"

#include <string.h>

/* ---- value classes ----
 * A class is a unary prefix (k ones, then a zero unless k is the last
 * class) followed by a signed field of the class's width. ORDER CLASSES:
 * the tables are part of the format. */
static const uint8_t ts_bits[] = { 0, 5, 9, 13, 20, 64 };
#define TS_NCLASS 6
#define INT_ESC 0xff
static const uint8_t int_bits[] = { 0, 5, 9, 14, 22, 34, 56, INT_ESC };
#define INT_NCLASS 8
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

/* Whether v is an integer that int mode can carry exactly (not -0.0). */
static inline bool as_int(double v, int64_t *out)
{
	if (!(v >= -INT_LIMIT && v <= INT_LIMIT))
		return false;
	int64_t i = (int64_t)v;
	double back = (double)i;
	if (f2u(back) != f2u(v))
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
	set_header(buf, 0, false);
}

void tsdb_chunk_app_rebase(tsdb_chunk_app *a, uint8_t *buf, size_t cap_bytes)
{
	a->bs.buf = buf;
	a->bs.cap_bytes = cap_bytes;
}

bool tsdb_chunk_app_append(tsdb_chunk_app *a, int64_t t, double v)
{
	if (a->n >= TSDB_CHUNK_MAX_SAMPLES)
		return false;
	tsdb_chunk_app save = *a;
	uint8_t last = a->bs.nbits & 7 ? a->bs.buf[a->bs.nbits >> 3] : 0;
	uint64_t vb = f2u(v);
	int64_t iv = 0;
	bool ok;
	if (a->n == 0) {
		a->int_mode = as_int(v, &iv);
		ok = put_varint(&a->bs, zz(t)) &&
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
		ok = put_class(&a->bs, ts_bits, TS_NCLASS, (int64_t)((uint64_t)d - (uint64_t)a->tdelta));
		if (ok && a->int_mode) {
			if (as_int(v, &iv)) {
				int64_t dv = iv - a->iv;
				if (fits(dv - a->idv, 56)) {
					ok = put_class(&a->bs, int_bits, INT_NCLASS, dv - a->idv);
					if (ok) {
						a->idv = dv;
						a->iv = iv;
					}
					goto done_value;
				}
			}
			{
				/* escape: all-ones prefix, then the raw bits; integer state unchanged */
				ok = tsdb_bstream_write_bits(&a->bs, (1u << (INT_NCLASS - 1)) - 1, INT_NCLASS - 1) &&
				     tsdb_bstream_write_bits(&a->bs, vb >> 32, 32) &&
				     tsdb_bstream_write_bits(&a->bs, vb & 0xffffffffu, 32);
			}
		} else if (ok) {
			ok = put_xor(a, vb);
		}
	done_value:
		if (ok) {
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
	return true;
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

bool tsdb_chunk_iter_next(tsdb_chunk_iter *it)
{
	if (it->err || it->i >= it->n) {
		it->done = true;
		return false;
	}
	tsdb_bstream_reader *r = &it->r;
	if (it->i == 0) {
		uint64_t u;
		if (!get_varint(r, &u))
			goto corrupt;
		it->t = unzz(u);
		if (it->int_mode) {
			if (!get_varint(r, &u))
				goto corrupt;
			it->iv = unzz(u);
			double d = (double)it->iv;
			memcpy(&it->vbits, &d, 8);
		} else if (!get_raw64(r, &it->vbits)) {
			goto corrupt;
		}
		it->i = 1;
		return true;
	}
	int64_t dod;
	bool esc = false;
	if (!get_class(r, ts_bits, TS_NCLASS, &dod, &esc))
		goto corrupt;
	it->tdelta = (int64_t)((uint64_t)it->tdelta + (uint64_t)dod);
	it->t = (int64_t)((uint64_t)it->t + (uint64_t)it->tdelta);
	if (it->int_mode) {
		int64_t ddv;
		if (!get_class(r, int_bits, INT_NCLASS, &ddv, &esc))
			goto corrupt;
		if (esc) {
			if (!get_raw64(r, &it->vbits))
				goto corrupt;
		} else {
			it->idv += ddv;
			it->iv += it->idv;
			double d = (double)it->iv;
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
	a->leading = it.leading;
	a->trailing = it.trailing;
	a->t = it.t;
	a->tdelta = it.tdelta;
	a->vbits = it.vbits;
	a->iv = it.iv;
	a->idv = it.idv;
	return TSDB_OK;
}

long tsdb_chunk_decode(const uint8_t *b, size_t len, uint32_t max_samples, int64_t mint_ms,
		       int64_t maxt_ms, tsdb_sample *out)
{
	tsdb_chunk_iter it;
	tsdb_chunk_iter_init(&it, b, len, max_samples);
	long n = 0;
	while (tsdb_chunk_iter_next(&it)) {
		if (it.t < mint_ms)
			continue;
		if (it.t > maxt_ms)
			break;
		out[n].t = it.t;
		memcpy(&out[n].v, &it.vbits, 8);
		n++;
	}
	return it.err ? -1 : n;
}
