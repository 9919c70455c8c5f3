/* SPDX-License-Identifier: Apache-2.0
 * xor.c - Prometheus XOR chunk encoder for remote read (layout in xor.h).
 * Invariant: buf[len-1] has its free_bits low bits still zero, so writing
 * ORs bits in; the two header bytes always hold the current count. */
#include "config.h"
#include "remote/xor.h"

#include <stdlib.h>
#include <string.h>

#include "lib/common.h"

/* ---- bits ---- */

static void reserve(remote_xor_chunk *c, size_t extra)
{
	if (c->len + extra <= c->cap)
		return;
	size_t nc = c->cap ? c->cap : 128;
	while (nc < c->len + extra)
		nc *= 2;
	c->buf = tp_xrealloc(c->buf, nc);
	c->cap = nc;
}

static void write_bit(remote_xor_chunk *c, unsigned bit)
{
	if (c->free_bits == 0) {
		reserve(c, 1);
		c->buf[c->len++] = 0;
		c->free_bits = 8;
	}
	c->free_bits--;
	if (bit)
		c->buf[c->len - 1] |= (uint8_t)(1u << c->free_bits);
}

/* The low nbits (1..64) of u, most significant first. */
static void write_bits(remote_xor_chunk *c, uint64_t u, unsigned nbits)
{
	reserve(c, nbits / 8 + 2);
	while (nbits > 0) {
		if (c->free_bits == 0) {
			c->buf[c->len++] = 0;
			c->free_bits = 8;
		}
		unsigned take = nbits < c->free_bits ? nbits : c->free_bits;
		uint64_t chunk = (u >> (nbits - take)) & ((1ull << take) - 1);  /* take <= 8 */
		c->free_bits = (uint8_t)(c->free_bits - take);
		c->buf[c->len - 1] |= (uint8_t)(chunk << c->free_bits);
		nbits -= take;
	}
}

/* Byte-aligned varints are written through the bit writer, as
 * Prometheus's bstream does (the stream is not byte-aligned after the
 * first value). */
static void write_uvarint(remote_xor_chunk *c, uint64_t u)
{
	while (u >= 0x80) {
		write_bits(c, (u & 0x7f) | 0x80, 8);
		u >>= 7;
	}
	write_bits(c, u, 8);
}

static void write_varint(remote_xor_chunk *c, int64_t v)
{
	/* zigzag, as Go's binary.PutVarint */
	write_uvarint(c, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static unsigned clz64(uint64_t u) { return (unsigned)__builtin_clzll(u); }
static unsigned ctz64(uint64_t u) { return (unsigned)__builtin_ctzll(u); }

/* ---- chunk ---- */

void remote_xor_init(remote_xor_chunk *c)
{
	memset(c, 0, sizeof(*c));
	remote_xor_reset(c);
}

void remote_xor_reset(remote_xor_chunk *c)
{
	reserve(c, 2);
	c->buf[0] = c->buf[1] = 0;
	c->len = 2;
	c->free_bits = 0;
	c->n = 0;
	c->t = c->t_delta = 0;
	c->v_bits = 0;
	c->leading = 0xff;
	c->trailing = 0;
}

void remote_xor_free(remote_xor_chunk *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

static void write_value(remote_xor_chunk *c, uint64_t bits)
{
	uint64_t delta = bits ^ c->v_bits;
	if (delta == 0) {
		write_bit(c, 0);
		return;
	}
	write_bit(c, 1);
	unsigned lead = clz64(delta), trail = ctz64(delta);
	if (lead >= 32)
		lead = 31;  /* 5 bits */
	if (c->leading != 0xff && lead >= c->leading && trail >= c->trailing) {
		/* the significant bits fit the previous window */
		write_bit(c, 0);
		write_bits(c, delta >> c->trailing, 64 - c->leading - c->trailing);
		return;
	}
	c->leading = (uint8_t)lead;
	c->trailing = (uint8_t)trail;
	write_bit(c, 1);
	write_bits(c, lead, 5);
	unsigned sig = 64 - lead - trail;  /* 1..64; 64 is written as 0 */
	write_bits(c, sig & 63, 6);
	write_bits(c, delta >> trail, sig);
}

/* Whether x fits the n-bit delta-of-delta class: -(2^(n-1)-1) .. 2^(n-1). */
static int fits(int64_t x, unsigned n)
{
	return x >= -((1ll << (n - 1)) - 1) && x <= (1ll << (n - 1));
}

void remote_xor_append(remote_xor_chunk *c, int64_t t, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	int64_t t_delta = 0;
	if (c->n == 0) {
		write_varint(c, t);
		write_bits(c, bits, 64);
	} else if (c->n == 1) {
		t_delta = (int64_t)((uint64_t)t - (uint64_t)c->t);
		write_uvarint(c, (uint64_t)t_delta);
		write_value(c, bits);
	} else {
		t_delta = (int64_t)((uint64_t)t - (uint64_t)c->t);
		int64_t dod = (int64_t)((uint64_t)t_delta - (uint64_t)c->t_delta);
		if (dod == 0) {
			write_bit(c, 0);
		} else if (fits(dod, 14)) {
			write_bits(c, 0x2, 2);
			write_bits(c, (uint64_t)dod, 14);
		} else if (fits(dod, 17)) {
			write_bits(c, 0x6, 3);
			write_bits(c, (uint64_t)dod, 17);
		} else if (fits(dod, 20)) {
			write_bits(c, 0xe, 4);
			write_bits(c, (uint64_t)dod, 20);
		} else {
			write_bits(c, 0xf, 4);
			write_bits(c, (uint64_t)dod, 64);
		}
		write_value(c, bits);
	}
	c->t = t;
	c->t_delta = t_delta;
	c->v_bits = bits;
	c->n++;
	c->buf[0] = (uint8_t)(c->n >> 8);
	c->buf[1] = (uint8_t)c->n;
}
