/* SPDX-License-Identifier: Apache-2.0
 * xor.h - an encoder for Prometheus's XOR chunk format (the bytes of
 * tsdb/chunkenc's XORChunk), which remote read's STREAMED_XOR_CHUNKS
 * responses carry. tinyprom's own chunks (tsdb/chunk.c) use a different
 * layout, so remote read re-encodes decoded samples with this.
 *
 * Byte layout (COMPAT.md section 3), bits written most significant first:
 *   bytes 0-1  sample count, big-endian (rewritten on every append);
 *   sample 1   signed (zigzag) varint timestamp, then the 64 value bits;
 *   sample 2   uvarint timestamp delta, then the value as XOR;
 *   later      delta-of-delta as '0' | '10'+14 bits | '110'+17 bits |
 *              '1110'+20 bits | '1111'+64 bits, then the value as XOR;
 *   XOR value  '0' (same bits) | '10' + the significant bits within the
 *              previous leading/trailing-zero window | '11' + 5 bits of
 *              leading zeros (clamped to 31) + 6 bits of significant-bit
 *              count (64 written as 0) + the significant bits.
 * Invariants: values are XORed as raw bits, so every NaN (the stale marker
 * 0x7ff0000000000002 included) round-trips bit-exact; the buffer always
 * holds a complete, decodable chunk of c->n samples. */
#ifndef REMOTE_XOR_H
#define REMOTE_XOR_H

#include <stddef.h>
#include <stdint.h>

/* Samples per chunk before remote read cuts a new one, as Prometheus's
 * head does. */
#define REMOTE_XOR_MAX_SAMPLES 120

typedef struct remote_xor_chunk {
	uint8_t *buf;        /* chunk bytes (malloc'd, grown as needed) */
	size_t len;          /* bytes in use, the partly written last byte included */
	size_t cap;          /* bytes allocated */
	uint8_t free_bits;   /* unwritten low bits of buf[len-1] (0..7) */
	uint16_t n;          /* samples appended */
	int64_t t;           /* last timestamp (ms) */
	int64_t t_delta;     /* last timestamp delta (ms) */
	uint64_t v_bits;     /* last value's bits */
	uint8_t leading;     /* current XOR window: leading zeros, 0xff before the first */
	uint8_t trailing;    /* current XOR window: trailing zeros */
} remote_xor_chunk;

/* An empty chunk (two header bytes, count 0). */
void remote_xor_init(remote_xor_chunk *c);
/* Empties c for reuse, keeping its buffer. */
void remote_xor_reset(remote_xor_chunk *c);
void remote_xor_free(remote_xor_chunk *c);
/* Appends one sample. Timestamps must not decrease (callers pass a series'
 * samples in order); c->n must stay below 65535. */
void remote_xor_append(remote_xor_chunk *c, int64_t t_ms, double v);

#endif
