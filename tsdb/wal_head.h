/* SPDX-License-Identifier: Apache-2.0
 * wal_head.h - a head made durable by the WAL: open replays
 * <dir>/wal into a fresh head (series under their original refs, samples
 * in log order), then installs the head's hooks so every new series and
 * every appender commit is logged (and committed to the WAL) before the
 * samples become visible and before tsdb_appender_commit returns.
 *
 * Invariants: the head's refs equal the WAL's refs, except where replay
 * met the same label set under two refs (a series removed by truncation
 * and created again before a checkpoint); such aliases are mapped to the
 * first ref for the life of the handle, and the checkpoint keeps both.
 * Use the head through tsdb.h as usual; truncate through
 * tsdb_wal_head_truncate so the WAL is checkpointed with it. */
#ifndef TSDB_WAL_HEAD_H
#define TSDB_WAL_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/tsdb.h"
#include "tsdb/wal.h"

typedef struct tsdb_wal_head tsdb_wal_head;

typedef struct tsdb_wal_head_stats {
	tsdb_wal_replay_stats replay;   /* what the WAL held and what was repaired */
	uint64_t series_restored;
	uint64_t samples_restored;
	uint64_t samples_rejected;      /* out of order / duplicate / bounds at replay */
	uint64_t unknown_refs;          /* samples whose series record was lost */
	uint64_t ref_aliases;           /* label sets met under a second ref */
	uint64_t wal_commit_failures;   /* commits whose WAL write/fsync failed (since open) */
} tsdb_wal_head_stats;

/* Opens the storage directory dir (created if missing; the WAL lives in
 * dir/wal): replays the WAL into a new head built with opts (may be NULL),
 * then opens the WAL for writing with wopts (may be NULL: defaults).
 * Damage in the WAL is repaired and reported in stats, never a refusal.
 * Returns NULL with err on I/O errors. */
tsdb_wal_head *tsdb_wal_head_open(const char *dir, const tsdb_options *opts, const tsdb_wal_opts *wopts,
				  tsdb_wal_head_stats *stats, char *err, size_t errlen);
/* Also hands every committed batch, after it is logged, to fn (remote
 * write queues). fn runs on the committing thread inside the head's commit
 * and must not block or call into the head. NULL unsets it; a commit
 * already inside fn may still finish after that, so free ud only once
 * nothing appends any more. */
typedef void tsdb_wal_head_observer_fn(void *ud, const tsdb_ref_sample *s, size_t n);
void tsdb_wal_head_set_observer(tsdb_wal_head *d, tsdb_wal_head_observer_fn *fn, void *ud);
tsdb_head *tsdb_wal_head_head(tsdb_wal_head *d);
tsdb_wal *tsdb_wal_head_wal(tsdb_wal_head *d);
void tsdb_wal_head_get_stats(tsdb_wal_head *d, tsdb_wal_head_stats *out);
/* tsdb_head_truncate(mint_ms), then a WAL checkpoint keeping the series
 * still in the head and samples >= mint_ms. Returns the number of series
 * removed, or -1 with err when the checkpoint failed (the head is
 * truncated either way; the WAL is merely longer). */
long tsdb_wal_head_truncate(tsdb_wal_head *d, int64_t mint_ms, char *err, size_t errlen);
/* Closes the WAL (everything committed is written and synced), frees the
 * head. All appenders must be freed first. Returns 0, or -1 when the
 * final WAL sync failed. NULL is a no-op. */
int tsdb_wal_head_close(tsdb_wal_head *d);

#endif
