/* SPDX-License-Identifier: Apache-2.0
 * bstream.h - MSB-first bit stream over caller-supplied bytes.
 * Invariants: the writer never writes past cap_bytes and keeps every bit
 * after nbits in the last touched byte zero; the reader never writes to
 * its bytes (safe over read-only or mmap'd memory) and never reads past
 * its end. The reader refills a 64-bit left-aligned accumulator. */
#ifndef TSDB_BSTREAM_H
#define TSDB_BSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tsdb_bstream {
	uint8_t *buf;       /* caller-owned */
	size_t cap_bytes;   /* size of buf */
	size_t nbits;       /* bits written so far */
} tsdb_bstream;

typedef struct tsdb_bstream_reader {
	const uint8_t *p;   /* next byte to load into acc */
	const uint8_t *end; /* one past the last byte */
	uint64_t acc;       /* left-aligned pending bits */
	unsigned nacc;      /* valid bits in acc (0..64) */
} tsdb_bstream_reader;

void tsdb_bstream_init(tsdb_bstream *bs, uint8_t *buf, size_t cap_bytes, size_t nbits);
/* Writes the low n bits of v (n <= 64), most significant first. Returns
 * false, writing nothing, when they do not fit. */
bool tsdb_bstream_write_bits(tsdb_bstream *bs, uint64_t v, unsigned n);
static inline size_t tsdb_bstream_bytes(const tsdb_bstream *bs) { return (bs->nbits + 7) / 8; }

static inline void tsdb_bstream_reader_init(tsdb_bstream_reader *r, const uint8_t *b, size_t n)
{
	r->p = b;
	r->end = b + n;
	r->acc = 0;
	r->nacc = 0;
}

static inline void tsdb_bstream_refill(tsdb_bstream_reader *r)
{
	if (r->end - r->p >= 8) {
		uint64_t w;
		__builtin_memcpy(&w, r->p, 8);
		w = __builtin_bswap64(w);
		unsigned take = (64 - r->nacc) >> 3;  /* whole bytes that fit */
		if (take == 0)
			return;
		r->acc |= (take == 8 ? w : (w >> (64 - 8 * take)) << (64 - 8 * take)) >> r->nacc;
		r->p += take;
		r->nacc += 8 * take;
		return;
	}
	while (r->nacc <= 56 && r->p < r->end) {
		r->acc |= (uint64_t)*r->p++ << (56 - r->nacc);
		r->nacc += 8;
	}
}

/* Reads n bits (1 <= n <= 56) into *out; false at the end of the stream. */
static inline bool tsdb_bstream_read_bits(tsdb_bstream_reader *r, unsigned n, uint64_t *out)
{
	if (r->nacc < n) {
		tsdb_bstream_refill(r);
		if (r->nacc < n)
			return false;
	}
	*out = r->acc >> (64 - n);
	r->acc = n == 64 ? 0 : r->acc << n;
	r->nacc -= n;
	return true;
}

/* Reads n bits for any 1 <= n <= 64. */
static inline bool tsdb_bstream_read_bits64(tsdb_bstream_reader *r, unsigned n, uint64_t *out)
{
	if (n <= 56)
		return tsdb_bstream_read_bits(r, n, out);
	uint64_t hi, lo;
	if (!tsdb_bstream_read_bits(r, n - 32, &hi) || !tsdb_bstream_read_bits(r, 32, &lo))
		return false;
	*out = hi << 32 | lo;
	return true;
}

static inline bool tsdb_bstream_read_bit(tsdb_bstream_reader *r, unsigned *bit)
{
	uint64_t b;
	if (!tsdb_bstream_read_bits(r, 1, &b))
		return false;
	*bit = (unsigned)b;
	return true;
}

/* Number of consecutive 1 bits before a 0, at most max (the 0 is consumed
 * only when fewer than max ones were read). Returns -1 at end of stream. */
static inline int tsdb_bstream_read_unary(tsdb_bstream_reader *r, unsigned max)
{
	if (r->nacc < max + 1)
		tsdb_bstream_refill(r);
	if (r->nacc >= max + 1) {
		unsigned ones = (unsigned)__builtin_clzll(~r->acc | (1ULL << (63 - max)));
		if (ones > max)
			ones = max;
		unsigned used = ones < max ? ones + 1 : max;
		r->acc <<= used;
		r->nacc -= used;
		return (int)ones;
	}
	unsigned ones = 0;
	while (ones < max) {
		unsigned b;
		if (!tsdb_bstream_read_bit(r, &b))
			return -1;
		if (!b)
			break;
		ones++;
	}
	return (int)ones;
}

#endif
