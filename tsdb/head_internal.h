/* SPDX-License-Identifier: Apache-2.0
 * head_internal.h - the head's data structures, shared by head.c (series,
 * appender, truncation), postings.c and querier.c. Not part of the API.
 * Invariants:
 *  - full chunks are immutable once written; a series' full chunks are an
 *    array of tsdb_chunk_meta (oldest first) that appenders only extend:
 *    entries are appended in place while there is room, otherwise into a
 *    new array, and the old one is retired (freed when no querier is alive,
 *    see retire_chunks), so a reader that copied (chunks, nchunks) under
 *    the series' stripe lock reads its entries without locks;
 *  - a full chunk's bytes live in a chunk file (read through its mapping,
 *    h->cf) or on the heap (no chunk files, or the write failed);
 *  - the head chunk (hc) is read and written only under the stripe
 *    lock of the series (stripe = ref % NSTRIPES);
 *  - chunk arrays are changed in place, and chunk memory, chunk files and
 *    series are freed, only by truncation, which first waits until no
 *    querier is alive (new ones wait for it to finish) and then holds
 *    trunc_lock for writing; appenders hold it for reading while adding or
 *    committing. */
#ifndef TSDB_HEAD_INTERNAL_H
#define TSDB_HEAD_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "lib/common.h"
#include "tsdb/chunk.h"
#include "tsdb/chunkfile.h"
#include "tsdb/tsdb.h"

#define NSTRIPES 1024
#define NSHARDS 64
#define SEG_BASE_LOG2 10
#define NSEGS 23                        /* covers every uint32 ref */

/* The open head chunk of a series: appender and bytes in one allocation
 * (grown with realloc, the appender rebased). */
typedef struct hchunk {
	tsdb_chunk_app app;   /* appender over buf; app.bs.cap_bytes bytes */
	int64_t mint;         /* first timestamp of the chunk */
	uint8_t buf[];
} hchunk;

typedef struct mseries {
	tp_labels lset;       /* interned strings; v points at lv */
	uint64_t hash;        /* tp_labels_hash(lset) */
	tsdb_chunk_meta *chunks;  /* full chunks, oldest first */
	uint32_t nchunks, capchunks;
	hchunk *hc;           /* head chunk (NULL: none yet) */
	uint32_t ref;
	uint32_t pending;     /* appenders holding samples for it (atomic): truncation keeps it */
	tp_label lv[];        /* the labels (lset.n of them) */
} mseries;

/* Whether s has a head chunk with samples (stripe lock held). */
static inline bool head_has(const mseries *s)
{
	return s->hc && s->hc->app.n > 0;
}

/* A chunk array replaced by a bigger one, kept until no querier is alive. */
typedef struct retired {
	struct retired *next;
	void *p;
} retired;

/* Postings list for one name=value (or for all series). */
typedef struct plist {
	const char *name, *value;  /* interned */
	uint32_t *refs;            /* sorted ascending */
	uint32_t n, cap;
} plist;

typedef struct pname {
	const char *name;
	plist **vals;
	uint32_t n, cap;
} pname;

typedef struct pindex {
	plist **tab;          /* open addressing by (name, value) pointer pair */
	size_t cap, count;
	pname **names;        /* open addressing by name pointer */
	size_t ncap, ncount;
	plist all;            /* every series */
	size_t bytes;         /* memory held */
} pindex;

void tsdb_pindex_init(pindex *p) TP_INTERNAL;
void tsdb_pindex_free(pindex *p) TP_INTERNAL;
void tsdb_pindex_add(pindex *p, uint32_t ref, const tp_labels *l) TP_INTERNAL;
const plist *tsdb_pindex_get(const pindex *p, const char *name, const char *value) TP_INTERNAL;
const pname *tsdb_pindex_name(const pindex *p, const char *name) TP_INTERNAL;

typedef struct shard {
	pthread_mutex_t mu;
	uint64_t *slots;      /* ref | 32 hash bits << 32 (head.c slot_make); 0 = empty */
	uint32_t cap, count;
} shard;

struct tsdb_head {
	tsdb_options opts;
	pthread_rwlock_t trunc_lock;  /* appenders: read, within one call; truncate: write */
	pthread_mutex_t gate_mu;      /* queriers: a count, so any thread may free one */
	pthread_cond_t gate_cv;
	uint32_t queriers;            /* live queriers */
	bool truncating;              /* a truncation is running: new queriers wait */
	mseries **seg[NSEGS];  /* ref -> series; segments never move */
	pthread_mutex_t seg_mu;
	uint32_t next_ref;     /* atomic */
	shard shards[NSHARDS];
	pthread_rwlock_t post_lock;
	pindex post;
	pthread_mutex_t stripes[NSTRIPES];
	int64_t min_valid_t;   /* samples older are out of bounds (atomic) */
	tsdb_head_hooks hooks;
	tsdb_chunkfiles *cf;   /* full chunks go here when set (tsdb_head_set_chunkfiles) */
	bool defer_postings;   /* bulk load: series join the postings in tsdb_head_build_postings */
	pthread_mutex_t retired_mu;
	retired *retired;      /* old chunk arrays, freed when the last querier exits */
	/* statistics, updated atomically */
	uint64_t num_series, num_samples, num_chunks, chunk_bytes, mem_bytes;
	uint64_t full_bytes;   /* payload of full chunks (part of chunk_bytes) */
	int64_t mint, maxt;
	uint64_t samples_appended, ooo, dup, oob, created, removed;
	uint64_t disk_chunks;        /* full chunks in chunk files */
	uint64_t chunk_write_failures;  /* full chunks kept on the heap because the write failed */
};

mseries *tsdb_head_get(tsdb_head *h, uint32_t ref) TP_INTERNAL;
void tsdb_head_querier_enter(tsdb_head *h) TP_INTERNAL;
void tsdb_head_querier_exit(tsdb_head *h) TP_INTERNAL;
/* The bytes of a full chunk (in a chunk file's mapping or on the heap). */
static inline const uint8_t *chunk_data(const tsdb_head *h, const tsdb_chunk_meta *c)
{
	return c->on_disk ? tsdb_chunkfiles_data(h->cf, c->at.disk.file, c->at.disk.off) : c->at.mem;
}

/* ---- for the durable head (tsdb/wal_head.c) ---- */

/* Full chunks are written to cf from now on (set before the head is used;
 * the head does not own cf). */
void tsdb_head_set_chunkfiles(tsdb_head *h, tsdb_chunkfiles *cf) TP_INTERNAL;
/* Bulk load (WAL replay, one thread creating series, no querier): new
 * series stay out of the postings until tsdb_head_build_postings adds
 * every series at once, which may run on another thread while the loading
 * thread attaches chunks. */
void tsdb_head_defer_postings(tsdb_head *h) TP_INTERNAL;
void tsdb_head_build_postings(tsdb_head *h) TP_INTERNAL;
/* While deferred: adds the series refs[0..n) (created, each exactly once
 * over all calls) to the postings; tsdb_head_build_postings is then not
 * called, tsdb_head_end_deferred_postings ends the mode. */
void tsdb_head_add_postings(tsdb_head *h, const uint32_t *refs, size_t n) TP_INTERNAL;
void tsdb_head_end_deferred_postings(tsdb_head *h) TP_INTERNAL;
/* WAL replay: adds samples (in log order) straight to their series, with
 * the head's ordering rules (an older or duplicate sample is rejected and
 * counted in *rejected, one for an unknown ref in *unknown) but without an
 * appender. Returns the number added. */
size_t tsdb_head_replay_samples(tsdb_head *h, const tsdb_ref_sample *s, size_t n, uint64_t *rejected,
				uint64_t *unknown) TP_INTERNAL;
/* New series get refs above max_ref from now on. */
void tsdb_head_reserve_refs(tsdb_head *h, uint32_t max_ref) TP_INTERNAL;
/* Gives the series ref the full chunks a (n of them, oldest first, found
 * in the chunk files; ownership of a passes to the head). Chunks that do
 * not come strictly after what the series holds are dropped and counted
 * in *dropped. Returns the maxt of the series' last full chunk, or
 * INT64_MIN when it has none. */
int64_t tsdb_head_attach_chunks(tsdb_head *h, uint32_t ref, tsdb_chunk_meta *a, uint32_t n,
				uint64_t *dropped) TP_INTERNAL;
/* Cuts every non-empty head chunk into a full chunk (orderly shutdown:
 * the samples then need no WAL replay). No appender may be active.
 * Returns the number of chunks cut. */
size_t tsdb_head_cut_all(tsdb_head *h) TP_INTERNAL;
/* For refs 1..n-1: out[ref] = maxt of the newest full chunk of the series
 * such that it and every older one lie before upto in the chunk files
 * (durable; a chunk kept in memory after a failed write ends the run),
 * INT64_MIN when none (or no series). out[0] is unused. */
void tsdb_head_durable_maxt(tsdb_head *h, tsdb_chunk_pos upto, int64_t *out, uint32_t n) TP_INTERNAL;
/* One past the largest ref handed out so far. */
uint32_t tsdb_head_ref_end(tsdb_head *h) TP_INTERNAL;
/* Size retention: drops, from every series, the full chunks in chunk files
 * numbered <= upto (and anything older), removes series left empty, then
 * removes those files. Waits for queriers like tsdb_head_truncate.
 * Returns the number of series removed. */
size_t tsdb_head_drop_chunk_files(tsdb_head *h, uint32_t upto) TP_INTERNAL;
void tsdb_head_chunk_counts(tsdb_head *h, uint64_t *disk_chunks, uint64_t *write_failures) TP_INTERNAL;

static inline pthread_mutex_t *stripe_of(tsdb_head *h, uint32_t ref)
{
	return &h->stripes[ref & (NSTRIPES - 1)];
}
static inline void stat_add(uint64_t *c, int64_t d)
{
	__atomic_fetch_add(c, (uint64_t)d, __ATOMIC_RELAXED);
}

#endif
