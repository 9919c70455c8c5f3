/* SPDX-License-Identifier: Apache-2.0
 * chunk.h - Gorilla-style chunk codec: intervals coded against a base
 * interval with classes tuned to millisecond scrape jitter, values either
 * XOR'd floats (Gorilla) or, for chunks of decimal values (iv / 10^k),
 * delta-of-delta integers with a raw-float escape; runs of samples with
 * the base interval and an unchanged value code cost a few bits in all.
 * Layout: tsdb/README.md.
 * Invariants: a chunk is self-describing (the appender state can be
 * rebuilt from its bytes); iterators only read the bytes, never write
 * them; every value, NaN payloads included, reads back bit-exact. */
#ifndef TSDB_CHUNK_H
#define TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/bstream.h"
#include "tsdb/tsdb.h"

#define TSDB_CHUNK_HEADER_BYTES 2
#define TSDB_CHUNK_MAX_SAMPLES 0x7fff
/* Worst-case bits one sample can take (first sample: varint ts + raw v). */
#define TSDB_CHUNK_MAX_SAMPLE_BITS 160

typedef struct tsdb_chunk_app {
	tsdb_bstream bs;    /* over the caller's buffer */
	uint32_t n;         /* samples in the chunk */
	bool int_mode;      /* decimal value encoding, fixed by the first sample */
	uint8_t scale;      /* int mode: values are iv / 10^scale */
	uint16_t nesc;      /* int mode: raw-float escapes in the chunk */
	uint32_t run;       /* samples in the joint-zero run at the tail (0: none) */
	uint32_t run_start; /* bit position where that run's code starts */
	int8_t force_scale; /* internal: scale to use for the first sample, or -1 */
	bool no_rescale;    /* internal: set while re-encoding */
	uint8_t leading, trailing;  /* XOR window; leading 0xff = none yet */
	int64_t t, tdelta;  /* last timestamp and delta */
	int64_t tbase;      /* base interval: the last delta seen twice in a row */
	uint64_t vbits;     /* last value (raw bits) */
	int64_t iv, idv;    /* int mode: last integer value and its delta */
} tsdb_chunk_app;

/* Starts an empty chunk in buf (cap_bytes >= TSDB_CHUNK_HEADER_BYTES). */
void tsdb_chunk_app_init(tsdb_chunk_app *a, uint8_t *buf, size_t cap_bytes);
/* Rebuilds the appender of an existing chunk of len bytes held in a buffer
 * of cap_bytes. Returns TSDB_OK or TSDB_ECORRUPT. */
int tsdb_chunk_app_resume(tsdb_chunk_app *a, uint8_t *buf, size_t len, size_t cap_bytes);
/* Points the appender at a moved/grown copy of its buffer. */
void tsdb_chunk_app_rebase(tsdb_chunk_app *a, uint8_t *buf, size_t cap_bytes);
/* Appends (t, v); t must be greater than the last t (not checked here).
 * Returns false, leaving chunk and state unchanged, when the buffer is
 * full or the chunk holds TSDB_CHUNK_MAX_SAMPLES. In decimal mode a value
 * that needs more decimal digits than the chunk's scale re-encodes the
 * chunk with the larger scale (same samples, new bytes). */
bool tsdb_chunk_app_append(tsdb_chunk_app *a, int64_t t_ms, double v);
static inline size_t tsdb_chunk_app_bytes(const tsdb_chunk_app *a) { return tsdb_bstream_bytes(&a->bs); }

#define TSDB_CHUNK_FORCE_XOR (-2)  /* force_scale: XOR float mode */
/* Re-encodes the chunk src of len bytes in XOR float mode into dst.
 * Returns the new length, or 0 when it does not fit in cap bytes (or src
 * is corrupt). Used when a chunk is cut, to keep the smaller encoding. */
size_t tsdb_chunk_reencode_xor(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

/* Samples in the chunk, from its header. */
uint32_t tsdb_chunk_count(const uint8_t *b, size_t len);

typedef struct tsdb_chunk_iter {
	tsdb_bstream_reader r;
	const uint8_t *start;
	uint32_t n, i;      /* samples in chunk; samples read so far */
	bool int_mode;
	uint8_t scale;
	uint8_t leading, trailing;
	uint16_t nesc;      /* escapes read so far */
	uint32_t zrun;      /* joint-zero samples read in the current run */
	uint32_t run_left;  /* samples of the current run still to emit */
	uint32_t run_start; /* bit position of the current run's code */
	int err;            /* sticky TSDB_ECORRUPT */
	bool done;          /* next returned false */
	int64_t t, tdelta, tbase;
	uint64_t vbits;
	int64_t iv, idv;
} tsdb_chunk_iter;

/* Iterates len bytes at b; only the first max_samples samples are read
 * (UINT32_MAX: all in the header). */
void tsdb_chunk_iter_init(tsdb_chunk_iter *it, const uint8_t *b, size_t len, uint32_t max_samples);
bool tsdb_chunk_iter_next(tsdb_chunk_iter *it);
/* To the first sample with t >= t_ms; no-op if already there. */
bool tsdb_chunk_iter_seek(tsdb_chunk_iter *it, int64_t t_ms);
static inline void tsdb_chunk_iter_at(const tsdb_chunk_iter *it, int64_t *t_ms, double *v)
{
	*t_ms = it->t;
	__builtin_memcpy(v, &it->vbits, 8);
}
static inline int tsdb_chunk_iter_err(const tsdb_chunk_iter *it) { return it->err; }
/* Bits consumed so far. */
static inline size_t tsdb_chunk_iter_bitpos(const tsdb_chunk_iter *it)
{
	return (size_t)(it->r.p - it->start) * 8 - it->r.nacc;
}

/* Bulk decode: appends the samples of the chunk (at most max_samples)
 * with mint_ms <= t <= maxt_ms to out, which has room for all of them.
 * Returns the number written, or -1 (TSDB_ECORRUPT) on a corrupt chunk. */
long tsdb_chunk_decode(const uint8_t *b, size_t len, uint32_t max_samples, int64_t mint_ms,
		       int64_t maxt_ms, tsdb_sample *out);

#endif
