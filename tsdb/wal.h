/* SPDX-License-Identifier: Apache-2.0
 * wal.h - the head's write-ahead log: segmented, checksummed, optionally
 * snappy-compressed records of series and samples, with checkpoints and a
 * replay that repairs torn tails. The on-disk format is in tsdb/WAL.md.
 *
 * Invariants:
 * - Records are only ever appended; a record never spans two segments and a
 *   commit's records go out in one write(), so a crash leaves at most one
 *   partial batch at the end of the last segment.
 * - Within the log, a series record precedes every sample record for its
 *   ref that was logged after it (series are logged into the same ordered
 *   pending batch as samples).
 * - When tsdb_wal_commit returns 0, the caller's records are in the kernel
 *   (kill -9 safe) and, with fsync "always", on stable storage; with a
 *   period P they reach stable storage within P plus one fsync.
 * - Replay and open never refuse to start over damage: they keep the
 *   longest consistent prefix (as Prometheus's wal.Repair), report what
 *   was dropped, and truncate/delete the rest.
 * All functions on one tsdb_wal are thread-safe (one mutex per WAL). */
#ifndef TSDB_WAL_H
#define TSDB_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/labels.h"

#define TSDB_WAL_SEGMENT_BYTES_DEFAULT (128u * 1024 * 1024)

typedef struct tsdb_wal tsdb_wal;

/* A sample as logged: the value is carried as its 64-bit pattern, so any
 * NaN payload (the stale marker 0x7ff0000000000002 included) survives. */
typedef struct tsdb_wal_sample {
	uint32_t ref;   /* series ref, as in tsdb.h (never 0 for the head, but the WAL allows it) */
	int64_t t_ms;
	double v;
} tsdb_wal_sample;

typedef enum tsdb_wal_fsync_mode {
	TSDB_WAL_FSYNC_PERIOD = 0,  /* background fsync fsync_period_ms after the first unsynced commit (default) */
	TSDB_WAL_FSYNC_ALWAYS,      /* fdatasync before each commit returns */
	TSDB_WAL_FSYNC_NEVER,       /* leave it to the kernel (segments are still synced when cut) */
} tsdb_wal_fsync_mode;

#define TSDB_WAL_FSYNC_PERIOD_MS_DEFAULT 1000

typedef struct tsdb_wal_opts {
	uint64_t segment_bytes;        /* cut a new segment before exceeding this; 0: 128 MiB */
	tsdb_wal_fsync_mode fsync_mode;
	int64_t fsync_period_ms;       /* for PERIOD; <= 0: default (1000) */
	bool compress;                 /* snappy each record when that makes it smaller */
	/* optional: told the duration of every fsync of a segment (for
	 * prometheus_tsdb_wal_fsync_duration_seconds); may run on the
	 * background fsync thread, with no WAL lock held */
	void (*fsync_observe)(void *ud, double seconds);
	void *fsync_observe_ud;
} tsdb_wal_opts;

/* Defaults: 128 MiB segments, fsync every 1s, compression on. */
void tsdb_wal_opts_default(tsdb_wal_opts *o);
/* Parses a --storage.tsdb.wal-fsync value: "always", "never", or a
 * Prometheus duration ("1s", "500ms", "0" = always). Returns 0 or -1. */
int tsdb_wal_fsync_parse(const char *s, tsdb_wal_opts *o);

/* Counters for prometheus_tsdb_wal_* self-metrics. */
typedef struct tsdb_wal_stats {
	uint64_t records_written;
	uint64_t bytes_written;        /* bytes written to segments, framing included */
	uint64_t samples_written;
	uint64_t series_written;
	uint64_t commits;              /* commits that wrote something */
	uint64_t fsyncs;
	uint64_t write_failures;       /* failed write/fsync; the batch was dropped and reported */
	uint64_t segments_created;
	uint64_t checkpoints;
	uint64_t corruptions;          /* damaged records found by open (tail repair) */
	uint64_t truncated_bytes;      /* bytes dropped by open's tail repair */
	uint32_t segment_current;      /* number of the segment being written */
	uint64_t segments_bytes;       /* bytes in segment files now (not the checkpoint) */
	uint64_t checkpoint_bytes;     /* bytes of the newest checkpoint */
	uint64_t checkpoint_failures;
} tsdb_wal_stats;

/* Opens (creating if missing, with parents' existence required) the WAL
 * directory dir, i.e. <storage.tsdb.path>/wal. Writing continues in the
 * last segment after verifying it and truncating a torn tail (counted in
 * stats), or in a new segment numbered after the newest checkpoint.
 * o may be NULL (defaults). Returns NULL with a message in err. Replay
 * (tsdb_wal_replay) should run before open; open does not read records
 * for the caller. */
tsdb_wal *tsdb_wal_open(const char *dir, const tsdb_wal_opts *o, char *err, size_t errlen);
/* Commits what is pending, fsyncs (unless fsync "never"), stops the
 * background thread and frees w. Returns 0, or -1 when the final commit or
 * fsync failed. NULL is a no-op returning 0. */
int tsdb_wal_close(tsdb_wal *w);

/* Adds a series record (ref and its normalised labels, copied) to the
 * pending batch. Log a series when the head creates it, before any sample
 * for its ref is logged. */
void tsdb_wal_log_series(tsdb_wal *w, uint32_t ref, const tp_labels *l);
/* Adds samples to the pending batch. */
void tsdb_wal_log_samples(tsdb_wal *w, const tsdb_wal_sample *s, size_t n);
/* Writes the pending batch (one write()) and applies the fsync policy.
 * Group commit: the batch is shared, so a commit also writes what other
 * threads logged; a thread whose records were written by another thread's
 * commit gets that commit's result. Returns 0, or -1 when the write or
 * the fsync failed (message from tsdb_wal_last_error): the segment is
 * truncated back to the last record boundary and the batch is dropped. */
int tsdb_wal_commit(tsdb_wal *w);
/* The last write/fsync error as text ("" when none). Copies into buf. */
void tsdb_wal_last_error(tsdb_wal *w, char *buf, size_t len);

void tsdb_wal_get_stats(tsdb_wal *w, tsdb_wal_stats *out);
/* The directory given to open. */
const char *tsdb_wal_dir(const tsdb_wal *w);

/* Checkpoint: cuts a new segment, then rewrites the previous checkpoint and
 * every segment before the new one into checkpoint.NNNNNNNN (NNNNNNNN = the
 * last segment covered), keeping series for which keep_series(ud, ref) is
 * true and samples with t_ms >= mint_ms of kept series. The checkpoint is
 * written to checkpoint.NNNNNNNN.tmp, fsynced and renamed; then the covered
 * segments and older checkpoints are deleted. keep_series is called
 * without the WAL lock held; logging and commits continue meanwhile.
 * Returns 0 (also when there was nothing to checkpoint), or -1 with err. */
typedef bool tsdb_wal_keep_fn(void *ud, uint32_t ref);
int tsdb_wal_checkpoint(tsdb_wal *w, tsdb_wal_keep_fn *keep_series, void *ud, int64_t mint_ms,
			char *err, size_t errlen);
/* As tsdb_wal_checkpoint, and a sample of a kept series is kept only when
 * also t_ms >= keep_from(ud, ref) (keep_from may be NULL): the head drops
 * samples that full chunks in chunk files hold durably. */
typedef int64_t tsdb_wal_keep_from_fn(void *ud, uint32_t ref);
int tsdb_wal_checkpoint_from(tsdb_wal *w, tsdb_wal_keep_fn *keep_series, tsdb_wal_keep_from_fn *keep_from,
			     void *ud, int64_t mint_ms, char *err, size_t errlen);

/* ---- replay ---- */

/* Callbacks return 0 to continue, non-zero to stop the replay (replay then
 * returns that value). Labels and samples point into replay buffers valid
 * only during the call: copy or intern what you keep. */
typedef struct tsdb_wal_replay_cb {
	int (*series)(void *ud, uint32_t ref, const tp_labels *l);
	int (*samples)(void *ud, const tsdb_wal_sample *s, size_t n);
	void *ud;
} tsdb_wal_replay_cb;

typedef struct tsdb_wal_replay_stats {
	uint64_t records;
	uint64_t series;
	uint64_t samples;
	uint64_t bytes;               /* bytes of good records read (framing included) */
	uint64_t segments;            /* segment files read, checkpoint's included */
	uint64_t truncated_bytes;     /* bytes dropped: torn tail, corrupt remainder, deleted segments */
	uint64_t corruptions;         /* 0 or 1: damage other than a torn tail of the last segment */
	bool torn_tail;               /* the last segment ended in a partial record (a crash mid-write) */
	int32_t checkpoint;           /* number of the checkpoint read, -1 when none */
	char corruption[320];         /* what was dropped, with file and offset; "" when nothing */
} tsdb_wal_replay_stats;

/* Replays dir: the newest checkpoint.N (its segments in order), then the
 * segments after N in order. Damage is repaired as Prometheus's wal.Repair
 * does: the damaged segment is truncated at the last good record and every
 * later segment is deleted (a missing segment in the sequence counts as
 * damage at the start of the gap); a torn tail of the last segment is only
 * a warning (stats->torn_tail). Damage inside the checkpoint truncates the
 * checkpoint and keeps the segments. Leftover *.tmp checkpoints and
 * segments already covered by the checkpoint are deleted. A missing dir is
 * an empty WAL. Returns 0, a callback's non-zero value, or -1 with err on
 * an I/O error (unreadable directory, failed truncate). */
int tsdb_wal_replay(const char *dir, const tsdb_wal_replay_cb *cb, tsdb_wal_replay_stats *stats,
		    char *err, size_t errlen);

#endif
