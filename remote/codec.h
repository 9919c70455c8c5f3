/* SPDX-License-Identifier: Apache-2.0
 * codec.h - remote write 1.0 and remote read: snappy block framing,
 * protobuf decoding into a per-request arena (protobuf-c with an arena
 * allocator, so a request of N samples makes O(log N) mallocs), applying a
 * write request to the head, and answering a read request. The receiver
 * itself decodes writes with remote/wire.h and applies them through a
 * series cache (remote_write_apply_wire); remote_write_decode and
 * remote_write_apply are the reference it is tested against.
 *
 * Invariant: a write request lands whole or not at all: every sample goes
 * through one appender, and the first rejected sample rolls all of them
 * back (as Prometheus 2.42's receiver does). */
#ifndef REMOTE_CODEC_H
#define REMOTE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "remote/remote.pb-c.h"
#include "remote/wire.h"
#include "tsdb/tsdb.h"

/* Largest uncompressed body accepted (Prometheus's decodeReadLimit is
 * 32 MiB for reads; senders stay far below it for writes). */
#define REMOTE_MAX_DECODED_BYTES (32u << 20)

/* Uncompresses a snappy *block* into the arena. Rejects the framed format
 * and declared lengths over max_bytes. Returns 0, or -1 with err set. */
int remote_snappy_decode(const void *in, size_t n, size_t max_bytes, tp_arena *a, const char **out,
			 size_t *outn, char *err, size_t errlen);
/* Compresses into a malloc'd buffer (the caller frees it). */
char *remote_snappy_encode(const void *in, size_t n, size_t *outn);

/* Decode a snappy-compressed WriteRequest / ReadRequest body; the message
 * lives in the arena. NULL with err set on failure. */
Prometheus__WriteRequest *remote_write_decode(const void *body, size_t n, tp_arena *a, char *err,
					      size_t errlen);
Prometheus__ReadRequest *remote_read_decode(const void *body, size_t n, tp_arena *a, char *err,
					    size_t errlen);

typedef struct remote_write_result {
	size_t series;            /* series carrying float samples that were applied */
	size_t samples;           /* samples committed */
	size_t exemplars;         /* received (not stored yet) */
	size_t metadata;          /* metadata entries received */
	size_t series_skipped;    /* no __name__, duplicate or empty label names */
	size_t series_no_samples; /* series with no float samples (e.g. native histograms) */
	char error[512];          /* why the request was rejected, "" when it landed */
} remote_write_result;

/* Applies req to the head. Returns 0 when it landed, -1 when a sample was
 * rejected (out of order, duplicate, out of bounds): nothing was committed
 * and res->error says why (the HTTP layer answers 400 with it); -2 when
 * the batch could not be logged (disk full, I/O error): nothing was
 * committed either, res->error says why, and the HTTP layer answers 500
 * so the sender retries. */
int remote_write_apply(tsdb_head *h, const Prometheus__WriteRequest *req, remote_write_result *res);

/* The receiver's series cache: a series' label fields as sent (remote_wire_series.key)
 * -> its head ref, so a series seen before skips building, validating and
 * looking up its labels, as the scrape cache does for exposition lines.
 * Bounded to max_entries (a full shard is emptied and refilled); a ref the
 * head no longer has is looked up again by labels. Thread-safe; one cache
 * belongs to one head. */
typedef struct remote_series_cache remote_series_cache;
remote_series_cache *remote_series_cache_new(size_t max_entries);  /* 0: default (1M) */
void remote_series_cache_free(remote_series_cache *c);             /* NULL is a no-op */
size_t remote_series_cache_len(remote_series_cache *c);

/* remote_write_apply for a request decoded by remote_wire_decode, with the
 * same results; c may be NULL (no cache). */
int remote_write_apply_wire(tsdb_head *h, remote_series_cache *c, const remote_wire_request *req,
			    remote_write_result *res);

/* Converts a protobuf label list into a normalised label set in the arena:
 * sorted, empty values dropped. Returns -1 (with err) for a duplicate or
 * empty name; 0 otherwise. */
int remote_labels_from_proto(tp_arena *a, Prometheus__Label *const *pl, size_t n, tp_labels *out, char *err,
			     size_t errlen);

/* Options of both remote read answers. */
typedef struct remote_read_opts {
	/* Prometheus's read handler: every series gets the external labels it
	 * lacks, and an EQ matcher on an external label with exactly its value
	 * is dropped (the stored series do not carry it). NULL: none. */
	const tp_labels *external_labels;
	/* STREAMED_XOR_CHUNKS: a frame is cut once it holds this many bytes
	 * (it may pass by at most one chunk); 0: REMOTE_DEFAULT_FRAME_BYTES. */
	size_t max_frame_bytes;
} remote_read_opts;

/* Prometheus's --storage.remote.read-max-bytes-in-frame default. */
#define REMOTE_DEFAULT_FRAME_BYTES (1u << 20)

/* Answers a ReadRequest with SAMPLES: one QueryResult per query, in order,
 * series sorted by labels. Returns a malloc'd snappy-compressed body
 * (*outn bytes), or NULL with err set (a bad matcher). o may be NULL. */
char *remote_read_samples(tsdb_head *h, const Prometheus__ReadRequest *req, const remote_read_opts *o, size_t *outn,
			  char *err, size_t errlen);

/* Receives one frame of a streamed answer; returns 0, or -1 to stop. The
 * bytes are only valid during the call. */
typedef int remote_frame_fn(void *ud, const void *frame, size_t n);

/* Answers a ReadRequest with STREAMED_XOR_CHUNKS: for each query in order,
 * its series sorted by labels, each as frames of
 *   uvarint(len) | CRC-32C (Castagnoli) of the payload, big-endian | payload
 * where the payload is a ChunkedReadResponse{chunked_series: [one series
 * with its next chunks], query_index}. Chunks are Prometheus XOR chunks
 * (remote/xor.h) of at most REMOTE_XOR_MAX_SAMPLES samples, holding only
 * samples within the query's range. Returns 0; or -1 with err set: a bad
 * matcher (before any frame was emitted for that query) or emit failed. */
int remote_read_chunked(tsdb_head *h, const Prometheus__ReadRequest *req, const remote_read_opts *o,
			remote_frame_fn *emit, void *ud, char *err, size_t errlen);

#endif
