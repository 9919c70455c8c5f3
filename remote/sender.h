/* SPDX-License-Identifier: Apache-2.0
 * sender.h - the remote write 1.0 sender: one queue per `remote_write`
 * entry of the configuration, fed by every committed batch of samples and
 * sending them, relabelled and with the external labels, as snappy
 * protobuf WriteRequests to the configured URL (what Prometheus's
 * queue manager does).
 *
 * Data flow: remote_storage_observe (the WAL-backed head's commit observer,
 * see tsdb/wal_head.h) copies (ref, t, v) into the ring of the shard that
 * owns the ref (ref % shards), without looking at labels; each shard's
 * thread resolves refs to labels once (cached per ref, relabelled, external
 * labels added), cuts batches of max_samples_per_send or at
 * batch_send_deadline, and POSTs them, retrying recoverable failures.
 *
 * Invariants and the choices that differ from Prometheus:
 *  - Samples of one series go through one shard in commit order, so a
 *    receiver sees every series in time order. The shard count is fixed
 *    at max(min_shards, 1) (Prometheus scales shards with throughput).
 *  - Recoverable failures (network errors, HTTP 5xx, and 429 when
 *    retry_on_http_429) are retried with exponential backoff from
 *    min_backoff to max_backoff, honouring Retry-After, for as long as it
 *    takes; other HTTP errors (4xx) drop the batch and count it failed.
 *  - The queue is in memory: up to capacity x max_shards samples in all.
 *    Prometheus re-reads its WAL instead; here, when a long outage fills
 *    the buffer, new samples are dropped and counted in
 *    prometheus_remote_storage_samples_dropped_total with a warning.
 *  - Only samples committed after the queue started are sent (as
 *    Prometheus, which starts at the end of the WAL).
 *  - Stopping (shutdown or a reload that changes a queue) flushes what is
 *    queued within a deadline and drops the rest.
 *  - remote_name is the entry's `name`, or 6 hex digits of a hash of its
 *    URL (Prometheus hashes the whole entry with SHA-256). */
#ifndef REMOTE_SENDER_H
#define REMOTE_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "lib/labels.h"
#include "lib/metrics.h"
#include "tsdb/tsdb.h"

typedef struct remote_storage remote_storage;

/* reg may be NULL (no self-metrics). flush_deadline_ms bounds the flush
 * when a queue stops; <= 0 means 10 s. */
remote_storage *remote_storage_new(tsdb_head *h, tp_metrics_registry *reg, int64_t flush_deadline_ms);
/* Stops every queue (flushing within the deadline) and frees rs. NULL is
 * a no-op. Unset the commit observer first. */
void remote_storage_free(remote_storage *rs);

/* Makes the running queues match cfg's remote_write entries: entries that
 * did not change keep their queue (and what it holds); new ones start;
 * removed or changed ones are flushed and stopped. external may be NULL.
 * Returns 0, or -1 with err (an entry whose relabel configs do not
 * compile; nothing changed then). */
int remote_storage_apply(remote_storage *rs, const config *cfg, const tp_labels *external, char *err,
			 size_t errlen);

/* The commit observer: enqueues n committed samples on every queue. Never
 * blocks on the network; safe from any thread. ud is the remote_storage. */
void remote_storage_observe(void *ud, const tsdb_ref_sample *s, size_t n);

/* Totals over all queues (tests, status). */
typedef struct remote_storage_stats {
	size_t queues;
	uint64_t samples_sent;     /* acknowledged by the receiver with 2xx */
	uint64_t samples_failed;   /* dropped after a non-recoverable error */
	uint64_t samples_retried;  /* re-sent after a recoverable error */
	uint64_t samples_dropped;  /* dropped by relabelling, an unknown ref or a full buffer */
	uint64_t samples_pending;  /* queued, not yet acknowledged */
} remote_storage_stats;
void remote_storage_get_stats(remote_storage *rs, remote_storage_stats *out);

/* Encodes samples (of the given labels, grouped into one TimeSeries per
 * consecutive run of equal label pointers) as a snappy-compressed
 * WriteRequest; a malloc'd buffer of *outn bytes. Exposed for tests. */
typedef struct remote_send_sample {
	const tp_labels *labels;
	int64_t t;
	double v;
} remote_send_sample;
char *remote_write_encode(const remote_send_sample *s, size_t n, size_t *outn);

#endif
