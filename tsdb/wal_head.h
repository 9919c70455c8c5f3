/* SPDX-License-Identifier: Apache-2.0
 * wal_head.h - a head made durable by the WAL and the chunk files: open
 * loads the full chunks of <dir>/chunks_head (references only, no
 * decoding), replays <dir>/wal into a fresh head (series under their
 * original refs, samples in log order, skipping samples the chunk files
 * already hold), then installs the head's hooks so every new series and
 * every appender commit is logged (and committed to the WAL) before the
 * samples become visible and before tsdb_appender_commit returns. Full
 * chunks are written to the chunk files when the head cuts them.
 *
 * Durability: a checkpoint first syncs the chunk files, then drops from
 * the WAL the samples that synced chunks hold, so the WAL keeps series
 * records and the samples of the open head chunks. Close cuts every head
 * chunk into the chunk files and checkpoints, so an orderly restart
 * replays series records only.
 *
 * Invariants: the head's refs equal the WAL's refs, except where replay
 * met the same label set under two refs (a series removed by truncation
 * and created again before a checkpoint); such aliases are mapped to the
 * first ref for the life of the handle, and the checkpoint keeps both.
 * Use the head through tsdb.h as usual; truncate through
 * tsdb_wal_head_truncate so the WAL is checkpointed with it. */
#ifndef TSDB_WAL_HEAD_H
#define TSDB_WAL_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/chunkfile.h"
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
	/* chunk files */
	tsdb_chunkfiles_stats chunks;   /* at open: what was found and repaired; later: current */
	uint64_t chunks_restored;       /* full chunks attached from chunk files at open */
	uint64_t chunk_samples_restored;  /* samples in them */
	uint64_t samples_skipped;       /* WAL samples at open that chunk files already held */
	uint64_t chunks_dropped;        /* chunks of series gone from the WAL, or out of order */
	uint64_t disk_chunks;           /* full chunks in chunk files now */
	uint64_t chunk_write_failures;  /* full chunks kept in memory because the write failed */
	/* retention and checkpoints (since open) */
	uint64_t size_retentions;       /* times chunk files were removed to honour the size limit */
	uint64_t time_retentions;       /* times chunk files were removed by time */
	uint64_t checkpoint_errors;     /* checkpoints that failed (the WAL is merely longer) */
	/* where open's time went (wall seconds; scan and postings run on a
	 * second thread, alongside the WAL replay and the attach) */
	double open_scan_s;             /* checking and indexing the chunk files */
	double open_replay_s;           /* the WAL replay (series creation, samples) */
	double open_attach_s;           /* attaching chunks, waiting for the scan */
	double open_postings_s;         /* building the postings */
	/* CPU seconds of the two threads over the open: on two idle cores the
	 * open's wall time is about the larger of them */
	double open_main_cpu_s;         /* the opening thread (replay, attach) */
	double open_helper_cpu_s;       /* the helper (scan, postings) */
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
/* As tsdb_wal_head_open, with options for the chunk files (copts may be
 * NULL: 128 MiB files). */
tsdb_wal_head *tsdb_wal_head_open_ex(const char *dir, const tsdb_options *opts, const tsdb_wal_opts *wopts,
				     const tsdb_chunkfiles_opts *copts, tsdb_wal_head_stats *stats, char *err,
				     size_t errlen);
tsdb_chunkfiles *tsdb_wal_head_chunkfiles(tsdb_wal_head *d);
tsdb_head *tsdb_wal_head_head(tsdb_wal_head *d);
tsdb_wal *tsdb_wal_head_wal(tsdb_wal_head *d);
void tsdb_wal_head_get_stats(tsdb_wal_head *d, tsdb_wal_head_stats *out);
/* tsdb_head_truncate(mint_ms) (which also removes chunk files wholly
 * older), then a WAL checkpoint keeping the series still in the head and
 * their samples >= mint_ms that synced chunk files do not hold. Returns
 * the number of series removed, or -1 with err when the checkpoint failed
 * (the head is truncated either way; the WAL is merely longer). */
long tsdb_wal_head_truncate(tsdb_wal_head *d, int64_t mint_ms, char *err, size_t errlen);
/* Whether the WAL has grown enough since the last checkpoint for a new one
 * to be worth its writes: segments hold at least min_bytes and four times
 * the last checkpoint (rewriting what is live then costs at most a
 * quarter of what was logged). */
bool tsdb_wal_head_checkpoint_due(tsdb_wal_head *d, uint64_t min_bytes);
/* Bytes on disk: WAL segments, checkpoint and chunk files. */
uint64_t tsdb_wal_head_disk_bytes(tsdb_wal_head *d);
/* Size retention: while the storage (tsdb_wal_head_disk_bytes) exceeds
 * max_bytes, removes the oldest chunk files (never the one being written)
 * with the chunks they hold, then checkpoints. Returns the number of files
 * removed (0 when within the limit or nothing is removable), -1 with err
 * when the checkpoint failed. */
long tsdb_wal_head_enforce_size(tsdb_wal_head *d, uint64_t max_bytes, char *err, size_t errlen);
/* Cuts every head chunk into the chunk files, checkpoints (so the next
 * open replays series records only), closes the WAL (everything committed
 * is written and synced) and the chunk files, frees the head. All
 * appenders must be freed first. Returns 0, or -1 when the final WAL or
 * chunk file sync failed. NULL is a no-op. */
int tsdb_wal_head_close(tsdb_wal_head *d);

#endif
