/* SPDX-License-Identifier: Apache-2.0
 * head_internal.h - the head's data structures, shared by head.c (series,
 * appender, truncation), postings.c and querier.c. Not part of the API.
 * Invariants:
 *  - full chunks (cnode) are immutable once linked; a series' list from
 *    first to last is read without locks by anyone who copied the
 *    (first, last) pair under the series' stripe lock;
 *  - the head chunk (hbuf, app) is read and written only under the stripe
 *    lock of the series (stripe = ref % NSTRIPES);
 *  - nodes and series are freed only by truncate, which first waits until
 *    no querier is alive (new ones wait for it to finish) and then holds
 *    trunc_lock for writing; appenders hold it for reading while adding or
 *    committing. */
#ifndef TSDB_HEAD_INTERNAL_H
#define TSDB_HEAD_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "lib/common.h"
#include "tsdb/chunk.h"
#include "tsdb/tsdb.h"

#define NSTRIPES 1024
#define NSHARDS 64
#define SEG_BASE_LOG2 10
#define NSEGS 23                        /* covers every uint32 ref */

typedef struct cnode {
	struct cnode *next;   /* set once, when the following chunk is cut */
	int64_t mint, maxt;   /* first and last timestamp */
	uint32_t len;         /* bytes in data */
	uint32_t nsamples;
	uint8_t data[];       /* the encoded chunk */
} cnode;

typedef struct mseries {
	tp_labels lset;       /* interned strings; v owned */
	uint64_t hash;        /* tp_labels_hash(lset) */
	cnode *first, *last;  /* full chunks, oldest first */
	uint8_t *hbuf;        /* head chunk buffer (NULL: no head chunk) */
	tsdb_chunk_app app;   /* appender over hbuf */
	int64_t hmint;        /* first timestamp of the head chunk */
	uint32_t ref;
	uint32_t nchunks;     /* full chunks */
} mseries;

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
	uint32_t *slots;      /* refs; 0 = empty */
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
	/* statistics, updated atomically */
	uint64_t num_series, num_samples, num_chunks, chunk_bytes, mem_bytes;
	uint64_t full_bytes;   /* payload of full chunks (part of chunk_bytes) */
	int64_t mint, maxt;
	uint64_t samples_appended, ooo, dup, oob, created, removed;
};

mseries *tsdb_head_get(tsdb_head *h, uint32_t ref) TP_INTERNAL;
void tsdb_head_querier_enter(tsdb_head *h) TP_INTERNAL;
void tsdb_head_querier_exit(tsdb_head *h) TP_INTERNAL;
static inline pthread_mutex_t *stripe_of(tsdb_head *h, uint32_t ref)
{
	return &h->stripes[ref & (NSTRIPES - 1)];
}
static inline void stat_add(uint64_t *c, int64_t d)
{
	__atomic_fetch_add(c, (uint64_t)d, __ATOMIC_RELAXED);
}

#endif
