/* SPDX-License-Identifier: Apache-2.0
 * chunkfile.h - memory-mapped chunk files: every full head chunk is written
 * once, when the head cuts it, to an append-only file under
 * <storage.tsdb.path>/chunks_head/, and is read back through the file's
 * mapping; the head keeps only a small reference per chunk. The byte layout
 * is in tsdb/README.md ("Chunk files"; grep tag ORDER CHUNKFILE_FORMAT).
 *
 * Invariants:
 * - Files are numbered 1, 2, ... in the order they are created; within
 *   a file records are only appended. A series' chunks are written in time
 *   order, so (file, offset) order is time order per series.
 * - Bytes of a written record never change and its mapping stays in place
 *   until the file is removed; removal (retention) happens only where the
 *   caller guarantees that no reader holds a chunk of the file (the head's
 *   truncation gate). Readers therefore need no lock: tsdb_chunkfiles_data
 *   is a table lookup.
 * - Records are written straight into the current file's shared mapping,
 *   inside space reserved with posix_fallocate (so a full disk is a write
 *   error, never a SIGBUS); the kernel writes the pages back sequentially.
 *   tsdb_chunkfiles_sync makes everything written before it durable and
 *   returns that position; only chunks before it may be dropped from the
 *   WAL.
 * - Removal by retention always removes a prefix of the files, so a gap in
 *   the numbering found at open is damage and is reported.
 * - Open never refuses to start over damage: a bad record ends the good
 *   part of its file (the file is truncated there, with a warning naming
 *   file and offset), a missing file is reported by name, and the rest is
 *   served. A zero byte where a record would start is the end of the data
 *   (space reserved but not yet written). */
#ifndef TSDB_CHUNKFILE_H
#define TSDB_CHUNKFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common.h"

#define TSDB_CHUNKFILE_BYTES_DEFAULT (128u * 1024 * 1024)
#define TSDB_CHUNKFILE_BYTES_MIN (16u * 1024)
#define TSDB_CHUNKFILE_DIR "chunks_head"

typedef struct tsdb_chunkfiles tsdb_chunkfiles;

/* A full chunk of a series, as the head keeps it (32 bytes): either in a
 * chunk file (on_disk: the data is at offset at.disk.off of file
 * at.disk.file) or on the heap (at.mem, malloc'd, owned by the head; used
 * when there are no chunk files or a write failed). */
typedef struct tsdb_chunk_meta {
	int64_t mint, maxt;       /* first and last timestamp */
	union {
		struct {
			uint32_t file;    /* chunk file number (>= 1) */
			uint32_t off;     /* offset of the chunk's data in it */
		} disk;
		uint8_t *mem;
	} at;
	uint32_t len;             /* bytes of chunk data */
	uint16_t nsamples;
	uint16_t on_disk;         /* 1: at.disk, 0: at.mem */
} tsdb_chunk_meta;

/* A point in the sequence of written records: file number and offset. */
typedef struct tsdb_chunk_pos {
	uint32_t file, off;
} tsdb_chunk_pos;

static inline bool tsdb_chunk_pos_before(tsdb_chunk_pos a, tsdb_chunk_pos b)
{
	return a.file < b.file || (a.file == b.file && a.off < b.off);
}

typedef struct tsdb_chunkfiles_opts {
	uint64_t file_bytes;      /* cut a new file before exceeding this; 0: 128 MiB */
} tsdb_chunkfiles_opts;

typedef struct tsdb_chunkfiles_stats {
	uint64_t files;            /* files now */
	uint64_t bytes;            /* bytes of records in them, file headers included */
	uint64_t chunks_written;   /* since open */
	uint64_t bytes_written;    /* since open, record framing included */
	uint64_t write_failures;   /* writes that failed (the chunk stayed in memory) */
	uint64_t syncs;
	uint64_t files_removed;    /* by retention, since open */
	/* found by open */
	uint64_t chunks_loaded;
	uint64_t corruptions;      /* damaged records (bad header or CRC), bad files, missing files */
	uint64_t torn_tails;       /* a partial record at the end of the last file (a crash mid-write) */
	uint64_t truncated_bytes;  /* bytes dropped by repairs */
	uint64_t missing_files;
	char problems[640];        /* what open repaired, with file names and offsets; "" when nothing */
} tsdb_chunkfiles_stats;

/* Opens (creating if missing) the chunk file directory dir, scans every
 * file: checks each record's CRC, repairs damage (see the header comment)
 * and indexes the chunks by series ref for tsdb_chunkfiles_take. Writing
 * continues at the end of the last file. o may be NULL. Returns NULL with
 * err on I/O errors (unreadable directory, failed truncate). */
tsdb_chunkfiles *tsdb_chunkfiles_open(const char *dir, const tsdb_chunkfiles_opts *o, char *err, size_t errlen);
/* Syncs what was written, trims the current file to its data, unmaps and
 * frees cf. Returns 0, or -1 when the final sync failed. NULL: 0. */
int tsdb_chunkfiles_close(tsdb_chunkfiles *cf);

/* ---- chunks found by open ---- */

/* Largest series ref seen in the files (0: none). A new series must not get
 * a ref at or below it, or its chunks would mix with old ones at the next
 * open. */
uint32_t tsdb_chunkfiles_max_ref(const tsdb_chunkfiles *cf);
/* The chunks found for ref, oldest first: a malloc'd array the caller
 * takes over (NULL and *n = 0 when none, or when taken already). */
tsdb_chunk_meta *tsdb_chunkfiles_take(tsdb_chunkfiles *cf, uint32_t ref, uint32_t *n);
/* Frees the index of what was found; returns the number of chunks nobody
 * took (chunks of series that no longer exist). */
uint64_t tsdb_chunkfiles_take_done(tsdb_chunkfiles *cf);

/* ---- writing and reading ---- */

/* Appends a chunk of series ref to the current file (cutting a new file
 * when it would grow past file_bytes) and fills *out (on_disk). Thread-safe.
 * Returns 0, or -1 (disk full, I/O error; counted, message in
 * tsdb_chunkfiles_last_error) and *out is untouched. */
int tsdb_chunkfiles_write(tsdb_chunkfiles *cf, uint32_t ref, int64_t mint, int64_t maxt, const uint8_t *data,
			  uint32_t len, uint16_t nsamples, tsdb_chunk_meta *out);
/* The data of an on-disk chunk; lock-free. */
const uint8_t *tsdb_chunkfiles_data(const tsdb_chunkfiles *cf, uint32_t file, uint32_t off);
/* Makes every record written before the call durable (msync, and the
 * directory when files were created). *upto gets the position up to which
 * records are durable. Returns 0, or -1 with the error in last_error. */
int tsdb_chunkfiles_sync(tsdb_chunkfiles *cf, tsdb_chunk_pos *upto);
/* The position after the last record written. */
tsdb_chunk_pos tsdb_chunkfiles_end(tsdb_chunkfiles *cf);

/* ---- retention ---- */

/* Removes the oldest files, in order, while all chunks of the file have
 * maxt < mint_ms; never the file being written. The caller guarantees no
 * reader holds chunks of the removed files and drops its references to
 * them. Returns the number of the newest file removed (0: none). */
uint32_t tsdb_chunkfiles_remove_before(tsdb_chunkfiles *cf, int64_t mint_ms);
/* The number of the newest file that has to go, oldest first, so that at
 * least excess bytes are freed (never the file being written); 0: none.
 * *freed gets the bytes those files hold. */
uint32_t tsdb_chunkfiles_pick_oldest(tsdb_chunkfiles *cf, uint64_t excess, uint64_t *freed);
/* Removes every file numbered <= upto except the one being written (same
 * caller guarantees). Returns the number of files removed. */
size_t tsdb_chunkfiles_remove_upto(tsdb_chunkfiles *cf, uint32_t upto);

void tsdb_chunkfiles_get_stats(tsdb_chunkfiles *cf, tsdb_chunkfiles_stats *out);
void tsdb_chunkfiles_last_error(tsdb_chunkfiles *cf, char *buf, size_t len);
const char *tsdb_chunkfiles_dir(const tsdb_chunkfiles *cf);

#endif
