/* SPDX-License-Identifier: Apache-2.0
 * intern.c - sharded open-addressing string table. Strings live in large
 * slabs per shard; the table stores (hash, pointer) pairs and doubles at
 * 50% load. */
#include "config.h"
#include "lib/intern.h"
#include "lib/common.h"
#include "lib/hash.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NSHARDS 16
#define SLAB_BYTES 65536

typedef struct {
	uint64_t hash;
	const char *str;  /* NULL = empty slot */
	uint32_t len;
} islot;

typedef struct {
	pthread_mutex_t mu;
	islot *slots;
	size_t cap;    /* power of two */
	size_t count;
	char *slab;    /* current slab */
	size_t slab_left;
	size_t bytes;
} ishard;

static ishard shards[NSHARDS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_shards(void)
{
	for (int i = 0; i < NSHARDS; i++) {
		pthread_mutex_init(&shards[i].mu, NULL);
		shards[i].cap = 256;
		shards[i].slots = tp_xcalloc(shards[i].cap, sizeof(islot));
		shards[i].bytes = shards[i].cap * sizeof(islot);
	}
}

static const char *store(ishard *sh, const char *s, size_t n)
{
	if (n + 1 > SLAB_BYTES / 4) {
		sh->bytes += n + 1;
		return tp_xstrndup(s, n);
	}
	if (sh->slab_left < n + 1) {
		sh->slab = tp_xmalloc(SLAB_BYTES);
		sh->slab_left = SLAB_BYTES;
		sh->bytes += SLAB_BYTES;
	}
	char *p = sh->slab;
	memcpy(p, s, n);
	p[n] = '\0';
	sh->slab += n + 1;
	sh->slab_left -= n + 1;
	return p;
}

static void rehash(ishard *sh)
{
	size_t ncap = sh->cap * 2;
	islot *ns = tp_xcalloc(ncap, sizeof(islot));
	for (size_t i = 0; i < sh->cap; i++) {
		islot *o = &sh->slots[i];
		if (!o->str)
			continue;
		size_t j = (o->hash >> 4) & (ncap - 1);
		while (ns[j].str)
			j = (j + 1) & (ncap - 1);
		ns[j] = *o;
	}
	free(sh->slots);
	sh->bytes += (ncap - sh->cap) * sizeof(islot);
	sh->slots = ns;
	sh->cap = ncap;
}

/* A per-thread cache in front of the table: interned strings live as long
 * as the process, so a thread may keep pointers to them without a lock.
 * Bulk loads (a WAL replay creating a million series) intern the same few
 * thousand names and values over and over; a hit here costs the hash and
 * a compare instead of a lock and a probe into a table that no longer
 * fits in cache. Allocated on a thread's first use and freed when it
 * exits. */
#define TCACHE_SIZE 1024
typedef struct {
	const char *str;
	uint32_t len;
} tcentry;
static pthread_key_t tcache_key;
static __thread tcentry *tcache;

static void tcache_free(void *p)
{
	free(p);
	tcache = NULL;
}

static void init_shards_and_key(void)
{
	init_shards();
	pthread_key_create(&tcache_key, tcache_free);
}

static tcentry *thread_cache(void)
{
	if (TP_UNLIKELY(!tcache)) {
		tcache = calloc(TCACHE_SIZE, sizeof(*tcache));
		if (tcache)
			pthread_setspecific(tcache_key, tcache);
	}
	return tcache;
}

static const char *intern_slow(const char *s, size_t n, uint64_t h);

const char *tp_intern(const char *s, size_t n)
{
	pthread_once(&once, init_shards_and_key);
	uint64_t h = tp_hash(s, n, 0);
	tcentry *tc = n <= UINT32_MAX ? thread_cache() : NULL;
	if (TP_UNLIKELY(!tc))
		return intern_slow(s, n, h);
	tcentry *e = &tc[(h >> 20) & (TCACHE_SIZE - 1)];
	if (e->str && e->len == n && memcmp(e->str, s, n) == 0)
		return e->str;
	const char *r = intern_slow(s, n, h);
	*e = (tcentry){ r, (uint32_t)n };
	return r;
}

static const char *intern_slow(const char *s, size_t n, uint64_t h)
{
	ishard *sh = &shards[h & (NSHARDS - 1)];
	pthread_mutex_lock(&sh->mu);
	size_t j = (h >> 4) & (sh->cap - 1);
	for (;;) {
		islot *sl = &sh->slots[j];
		if (!sl->str)
			break;
		if (sl->hash == h && sl->len == n && memcmp(sl->str, s, n) == 0) {
			const char *r = sl->str;
			pthread_mutex_unlock(&sh->mu);
			return r;
		}
		j = (j + 1) & (sh->cap - 1);
	}
	const char *r = store(sh, s, n);
	sh->slots[j] = (islot){ .hash = h, .str = r, .len = (uint32_t)n };
	if (++sh->count * 2 > sh->cap)
		rehash(sh);
	pthread_mutex_unlock(&sh->mu);
	return r;
}

const char *tp_intern_cstr(const char *s)
{
	return tp_intern(s, strlen(s));
}

size_t tp_intern_bytes(void)
{
	pthread_once(&once, init_shards_and_key);
	size_t b = 0;
	for (int i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&shards[i].mu);
		b += shards[i].bytes;
		pthread_mutex_unlock(&shards[i].mu);
	}
	return b;
}

size_t tp_intern_count(void)
{
	pthread_once(&once, init_shards_and_key);
	size_t c = 0;
	for (int i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&shards[i].mu);
		c += shards[i].count;
		pthread_mutex_unlock(&shards[i].mu);
	}
	return c;
}
