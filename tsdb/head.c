/* SPDX-License-Identifier: Apache-2.0
 * head.c - the in-memory head: series registry, head chunks, appender,
 * truncation and statistics.
 * Invariants (see also head_internal.h):
 *  - refs are dense from 1 and never reused; seg[] maps them to series;
 *  - a series' samples are strictly increasing in time; the last committed
 *    sample is (app.t, app.vbits) of the head chunk, or of the last full
 *    chunk when the head chunk is empty (tracked in lt/lv below);
 *  - an appender's samples are invisible until commit; out-of-order and
 *    duplicate checks happen at add time against committed and pending
 *    samples, and again at commit against samples other appenders
 *    committed meanwhile (those are then counted and dropped). */
#include "config.h"
#include "tsdb/head_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/intern.h"

#define HBUF_MIN 32

/* ---- ref table ---- */

static void ref_pos(uint32_t ref, unsigned *seg, size_t *off)
{
	uint64_t x = (uint64_t)ref + (1u << SEG_BASE_LOG2);
	unsigned hb = 63 - (unsigned)__builtin_clzll(x);
	*seg = hb - SEG_BASE_LOG2;
	*off = x - (1ULL << hb);
}

mseries *tsdb_head_get(tsdb_head *h, uint32_t ref)
{
	if (ref == 0)
		return NULL;
	unsigned sg;
	size_t off;
	ref_pos(ref, &sg, &off);
	mseries **s = __atomic_load_n(&h->seg[sg], __ATOMIC_ACQUIRE);
	if (!s)
		return NULL;
	return __atomic_load_n(&s[off], __ATOMIC_ACQUIRE);
}

static void ref_set(tsdb_head *h, uint32_t ref, mseries *ms)
{
	unsigned sg;
	size_t off;
	ref_pos(ref, &sg, &off);
	mseries **s = __atomic_load_n(&h->seg[sg], __ATOMIC_ACQUIRE);
	if (!s) {
		pthread_mutex_lock(&h->seg_mu);
		s = h->seg[sg];
		if (!s) {
			size_t n = (size_t)1 << (sg + SEG_BASE_LOG2);
			s = tp_xcalloc(n, sizeof(*s));
			stat_add(&h->mem_bytes, (int64_t)(n * sizeof(*s)));
			__atomic_store_n(&h->seg[sg], s, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&h->seg_mu);
	}
	__atomic_store_n(&s[off], ms, __ATOMIC_RELEASE);
}

/* ---- retired chunk arrays ---- */

/* Keeps p until no querier can hold it (see head_internal.h). */
static void retire_chunks(tsdb_head *h, void *p)
{
	pthread_mutex_lock(&h->gate_mu);
	if (h->queriers == 0) {
		/* no reader can hold it: new queriers pass the gate after us */
		pthread_mutex_unlock(&h->gate_mu);
		free(p);
		return;
	}
	retired *r = tp_xmalloc(sizeof(*r));
	r->p = p;
	pthread_mutex_lock(&h->retired_mu);
	r->next = h->retired;
	h->retired = r;
	pthread_mutex_unlock(&h->retired_mu);
	pthread_mutex_unlock(&h->gate_mu);
}

/* Frees the retired arrays; only when no querier is alive. */
static void free_retired(tsdb_head *h)
{
	pthread_mutex_lock(&h->retired_mu);
	retired *r = h->retired;
	h->retired = NULL;
	pthread_mutex_unlock(&h->retired_mu);
	while (r) {
		retired *n = r->next;
		free(r->p);
		free(r);
		r = n;
	}
}

/* ---- head ---- */

tsdb_head *tsdb_head_new(const tsdb_options *opts)
{
	tsdb_head *h = tp_xcalloc(1, sizeof(*h));
	if (opts)
		h->opts = *opts;
	if (h->opts.chunk_samples == 0)
		h->opts.chunk_samples = 120;
	if (h->opts.chunk_samples > TSDB_CHUNK_MAX_SAMPLES)
		h->opts.chunk_samples = TSDB_CHUNK_MAX_SAMPLES;
	pthread_rwlock_init(&h->trunc_lock, NULL);
	pthread_mutex_init(&h->gate_mu, NULL);
	pthread_cond_init(&h->gate_cv, NULL);
	pthread_rwlock_init(&h->post_lock, NULL);
	pthread_mutex_init(&h->seg_mu, NULL);
	pthread_mutex_init(&h->retired_mu, NULL);
	for (int i = 0; i < NSTRIPES; i++)
		pthread_mutex_init(&h->stripes[i], NULL);
	for (int i = 0; i < NSHARDS; i++) {
		pthread_mutex_init(&h->shards[i].mu, NULL);
		h->shards[i].cap = 64;
		h->shards[i].slots = tp_xcalloc(64, sizeof(*h->shards[i].slots));
	}
	tsdb_pindex_init(&h->post);
	h->next_ref = 1;
	h->min_valid_t = INT64_MIN;
	h->mint = INT64_MAX;
	h->maxt = INT64_MIN;
	h->mem_bytes = sizeof(*h) + NSHARDS * 64 * sizeof(uint64_t);
	return h;
}

static void series_free(mseries *s)
{
	for (uint32_t i = 0; i < s->nchunks; i++)
		if (!s->chunks[i].on_disk)
			free(s->chunks[i].at.mem);
	free(s->chunks);
	free(s->hc);
	free(s);
}

void tsdb_head_free(tsdb_head *h)
{
	if (!h)
		return;
	for (uint32_t r = 1; r < h->next_ref; r++) {
		mseries *s = tsdb_head_get(h, r);
		if (s)
			series_free(s);
	}
	for (int i = 0; i < NSEGS; i++)
		free(h->seg[i]);
	for (int i = 0; i < NSHARDS; i++) {
		free(h->shards[i].slots);
		pthread_mutex_destroy(&h->shards[i].mu);
	}
	for (int i = 0; i < NSTRIPES; i++)
		pthread_mutex_destroy(&h->stripes[i]);
	tsdb_pindex_free(&h->post);
	free_retired(h);
	pthread_mutex_destroy(&h->retired_mu);
	pthread_rwlock_destroy(&h->trunc_lock);
	pthread_mutex_destroy(&h->gate_mu);
	pthread_cond_destroy(&h->gate_cv);
	pthread_rwlock_destroy(&h->post_lock);
	pthread_mutex_destroy(&h->seg_mu);
	free(h);
}

void tsdb_head_set_hooks(tsdb_head *h, const tsdb_head_hooks *hooks)
{
	if (hooks)
		h->hooks = *hooks;
	else
		memset(&h->hooks, 0, sizeof(h->hooks));
}

const tp_labels *tsdb_head_series_labels(tsdb_head *h, uint32_t ref)
{
	mseries *s = tsdb_head_get(h, ref);
	return s ? &s->lset : NULL;
}

bool tsdb_is_stale_nan(double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	return u == TSDB_STALE_NAN_BITS;
}

double tsdb_stale_nan(void)
{
	uint64_t u = TSDB_STALE_NAN_BITS;
	double v;
	memcpy(&v, &u, 8);
	return v;
}

const char *tsdb_rc_str(int rc)
{
	switch (rc) {
	case TSDB_OK: return "ok";
	case TSDB_ENOMEM: return "out of memory";
	case TSDB_EOUTOFORDER: return "out of order sample";
	case TSDB_EDUPLICATE: return "duplicate sample for timestamp";
	case TSDB_EOUTOFBOUNDS: return "out of bounds";
	case TSDB_EINVAL: return "invalid labels";
	case TSDB_ECORRUPT: return "corrupt chunk";
	case TSDB_ENOTFOUND: return "unknown series ref";
	}
	return "unknown error";
}

/* ---- series lookup ---- */

static bool labels_valid(const tp_labels *l)
{
	if (l->n == 0)
		return false;
	for (uint32_t i = 0; i < l->n; i++) {
		const char *n = l->v[i].name, *v = l->v[i].value;
		if (!n || !v || !*v || !tp_label_name_valid(n, strlen(n)))
			return false;
		if (i > 0 && strcmp(l->v[i - 1].name, n) >= 0)
			return false;
	}
	return true;
}

/* A shard slot holds a ref and 32 bits of its series' hash (the bits the
 * slot index is taken from), so probing and growing compare and place
 * slots without touching the series. 0: empty. */
static inline uint64_t slot_make(uint64_t hash, uint32_t ref)
{
	return (uint64_t)(uint32_t)(hash >> 8) << 32 | ref;
}

static uint32_t shard_find(tsdb_head *h, shard *sh, uint64_t hash, const tp_labels *l)
{
	uint32_t mask = sh->cap - 1, hb = (uint32_t)(hash >> 8);
	for (uint32_t i = hb & mask;; i = (i + 1) & mask) {
		uint64_t sl = sh->slots[i];
		if (!sl)
			return 0;
		if ((uint32_t)(sl >> 32) != hb)
			continue;
		mseries *s = tsdb_head_get(h, (uint32_t)sl);
		if (s && s->hash == hash && tp_labels_equal(&s->lset, l))
			return (uint32_t)sl;
	}
}

static void shard_insert(tsdb_head *h, shard *sh, uint64_t hash, uint32_t ref)
{
	if ((sh->count + 1) * 2 > sh->cap) {
		uint32_t ncap = sh->cap * 2;
		uint64_t *ns = tp_xcalloc(ncap, sizeof(*ns));
		for (uint32_t i = 0; i < sh->cap; i++) {
			uint64_t sl = sh->slots[i];
			if (!sl)
				continue;
			uint32_t j = (uint32_t)(sl >> 32) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = sl;
		}
		free(sh->slots);
		stat_add(&h->mem_bytes, (int64_t)(ncap - sh->cap) * (int64_t)sizeof(*ns));
		sh->slots = ns;
		sh->cap = ncap;
	}
	uint32_t j = (uint32_t)(hash >> 8) & (sh->cap - 1);
	while (sh->slots[j])
		j = (j + 1) & (sh->cap - 1);
	sh->slots[j] = slot_make(hash, ref);
	sh->count++;
}

/* Lookup-or-create; caller holds trunc_lock for reading. want != 0 (WAL
 * replay) creates the series under that ref, without calling the hooks. */
static mseries *get_or_create(tsdb_head *h, const tp_labels *l, uint32_t want)
{
	uint64_t hash = tp_labels_hash(l);
	shard *sh = &h->shards[hash % NSHARDS];
	pthread_mutex_lock(&sh->mu);
	uint32_t ref = shard_find(h, sh, hash, l);
	if (ref) {
		pthread_mutex_unlock(&sh->mu);
		return tsdb_head_get(h, ref);
	}
	mseries *s = tp_xmalloc(sizeof(*s) + l->n * sizeof(tp_label));
	s->lset.n = l->n;
	s->lset.v = s->lv;
	for (uint32_t i = 0; i < l->n; i++) {
		s->lv[i].name = tp_intern_cstr(l->v[i].name);
		s->lv[i].value = tp_intern_cstr(l->v[i].value);
	}
	s->chunks = NULL;
	s->nchunks = s->capchunks = 0;
	s->hc = NULL;
	s->pending = 0;
	s->hash = hash;
	if (want) {
		s->ref = want; /* the caller moved next_ref past it */
	} else {
		s->ref = __atomic_fetch_add(&h->next_ref, 1, __ATOMIC_RELAXED);
		if (h->hooks.series_created)
			h->hooks.series_created(h->hooks.ctx, s->ref, &s->lset);
	}
	ref_set(h, s->ref, s);
	shard_insert(h, sh, hash, s->ref);
	size_t grown = 0;
	if (!h->defer_postings) {
		pthread_rwlock_wrlock(&h->post_lock);
		size_t before = h->post.bytes;
		tsdb_pindex_add(&h->post, s->ref, &s->lset);
		grown = h->post.bytes - before;
		pthread_rwlock_unlock(&h->post_lock);
	}
	pthread_mutex_unlock(&sh->mu);
	stat_add(&h->mem_bytes, (int64_t)(sizeof(*s) + l->n * sizeof(tp_label) + grown));
	stat_add(&h->num_series, 1);
	stat_add(&h->created, 1);
	return s;
}

/* ---- head chunks (stripe lock held) ---- */

/* Appends c to the series' full chunks (stripe lock held). A full array
 * is replaced, never reallocated in place: readers may hold it. */
static void push_chunk(tsdb_head *h, mseries *s, const tsdb_chunk_meta *c)
{
	if (s->nchunks == s->capchunks) {
		uint32_t ncap = s->capchunks ? s->capchunks * 2 : 4;
		tsdb_chunk_meta *na = tp_xmalloc(ncap * sizeof(*na));
		if (s->nchunks)
			memcpy(na, s->chunks, s->nchunks * sizeof(*na));
		tsdb_chunk_meta *old = s->chunks;
		__atomic_store_n(&s->chunks, na, __ATOMIC_RELEASE);
		if (old)
			retire_chunks(h, old);
		stat_add(&h->mem_bytes, (int64_t)(ncap - s->capchunks) * (int64_t)sizeof(*na));
		s->capchunks = ncap;
	}
	s->chunks[s->nchunks++] = *c;
}

/* A series whose chunk write failed keeps that chunk and every later one
 * in memory (so file order stays time order and the chunks on disk are a
 * prefix: the WAL keeps every sample from the first chunk in memory on,
 * see tsdb_head_durable_maxt, and a restart replays them after what the
 * files hold). At each later cut the chunks in memory are written again,
 * oldest first; the ones that made it become on-disk chunks in a new
 * array (readers may hold the old one and the memory: both are retired).
 * Returns true when none is left in memory. Stripe lock held. */
static bool flush_heap_chunks(tsdb_head *h, mseries *s)
{
	uint32_t first = s->nchunks;
	while (first > 0 && !s->chunks[first - 1].on_disk)
		first--;
	if (first == s->nchunks)
		return true;
	tsdb_chunk_meta *na = tp_xmalloc(s->capchunks * sizeof(*na));
	memcpy(na, s->chunks, s->nchunks * sizeof(*na));
	uint32_t i = first;
	for (; i < s->nchunks; i++) {
		tsdb_chunk_meta *c = &na[i], d;
		if (tsdb_chunkfiles_write(h->cf, s->ref, c->mint, c->maxt, c->at.mem, c->len, c->nsamples, &d) != 0)
			break;
		*c = d;
	}
	if (i == first) {
		free(na);
		return false;
	}
	tsdb_chunk_meta *old = s->chunks;
	__atomic_store_n(&s->chunks, na, __ATOMIC_RELEASE);
	for (uint32_t k = first; k < i; k++)
		retire_chunks(h, old[k].at.mem);
	retire_chunks(h, old);
	stat_add(&h->disk_chunks, (int64_t)(i - first));
	return i == s->nchunks;
}

static void cut_chunk(tsdb_head *h, mseries *s)
{
	hchunk *hc = s->hc;
	size_t len = tsdb_chunk_app_bytes(&hc->app);
	const uint8_t *src = hc->buf;
	uint8_t stackbuf[2048], *alt = NULL;
	/* the decimal mode was chosen from the first value; keep XOR if the
	 * whole chunk turns out smaller that way */
	if (hc->app.int_mode) {
		alt = len <= sizeof(stackbuf) ? stackbuf : tp_xmalloc(len);
		size_t k = tsdb_chunk_reencode_xor(hc->buf, len, alt, len - 1);
		if (k) {
			stat_add(&h->chunk_bytes, (int64_t)k - (int64_t)len);
			len = k;
			src = alt;
		}
	}
	tsdb_chunk_meta c;
	if (h->cf && flush_heap_chunks(h, s) &&
	    tsdb_chunkfiles_write(h->cf, s->ref, hc->mint, hc->app.t, src, (uint32_t)len, (uint16_t)hc->app.n,
				  &c) == 0) {
		stat_add(&h->disk_chunks, 1);
	} else {
		if (h->cf)
			stat_add(&h->chunk_write_failures, 1);
		c = (tsdb_chunk_meta){ .mint = hc->mint, .maxt = hc->app.t, .len = (uint32_t)len,
				       .nsamples = (uint16_t)hc->app.n, .on_disk = 0 };
		c.at.mem = tp_xmalloc(len);
		memcpy(c.at.mem, src, len);
	}
	if (alt && alt != stackbuf)
		free(alt);
	push_chunk(h, s, &c);
	stat_add(&h->num_chunks, 1);
	/* the head buffer is reused: its bytes stay accounted as chunk bytes
	 * until the next sample rewrites them */
	tsdb_chunk_app_init(&hc->app, hc->buf, hc->app.bs.cap_bytes);
	stat_add(&h->chunk_bytes, TSDB_CHUNK_HEADER_BYTES);
	stat_add(&h->full_bytes, (int64_t)len);
}

/* Memory held by the head chunk of s. */
static size_t hc_bytes(const mseries *s) { return s->hc ? sizeof(hchunk) + s->hc->app.bs.cap_bytes : 0; }

static void series_append(tsdb_head *h, mseries *s, int64_t t, double v)
{
	if (s->hc && s->hc->app.n >= h->opts.chunk_samples)
		cut_chunk(h, s);
	if (!s->hc) {
		s->hc = tp_xmalloc(sizeof(hchunk) + HBUF_MIN);
		tsdb_chunk_app_init(&s->hc->app, s->hc->buf, HBUF_MIN);
		stat_add(&h->mem_bytes, (int64_t)(sizeof(hchunk) + HBUF_MIN));
		stat_add(&h->chunk_bytes, TSDB_CHUNK_HEADER_BYTES);
	}
	if (s->hc->app.n == 0)
		s->hc->mint = t;
	size_t before = tsdb_chunk_app_bytes(&s->hc->app);
	while (!tsdb_chunk_app_append(&s->hc->app, t, v)) {
		size_t cap = s->hc->app.bs.cap_bytes;
		if (s->hc->app.n >= TSDB_CHUNK_MAX_SAMPLES || cap >= (1u << 20)) {
			cut_chunk(h, s);
			s->hc->mint = t;
			before = tsdb_chunk_app_bytes(&s->hc->app);
			continue;
		}
		size_t ncap = cap * 2;
		s->hc = tp_xrealloc(s->hc, sizeof(hchunk) + ncap);
		tsdb_chunk_app_rebase(&s->hc->app, s->hc->buf, ncap);
		stat_add(&h->mem_bytes, (int64_t)(ncap - cap));
	}
	size_t after = tsdb_chunk_app_bytes(&s->hc->app);
	stat_add(&h->chunk_bytes, (int64_t)(after - before));
	stat_add(&h->num_samples, 1);
}

/* Last committed sample of s (stripe lock held); false when none. The
 * value is looked up only when *t turns out to equal want_t (the caller
 * compares values only then): a full chunk is decoded just for that. */
static bool series_last(const tsdb_head *h, const mseries *s, int64_t want_t, int64_t *t, uint64_t *vbits)
{
	if (head_has(s)) {
		*t = s->hc->app.t;
		*vbits = s->hc->app.vbits;
		return true;
	}
	if (s->nchunks) {
		const tsdb_chunk_meta *c = &s->chunks[s->nchunks - 1];
		*t = c->maxt;
		*vbits = 0;
		if (want_t == c->maxt) {
			tsdb_chunk_iter it;
			tsdb_chunk_iter_init(&it, chunk_data(h, c), c->len, c->nsamples);
			while (tsdb_chunk_iter_next(&it))
				;
			*vbits = it.vbits;
		}
		return true;
	}
	return false;
}

/* ---- appender ---- */

typedef struct pslot {
	uint32_t ref;   /* 0: empty */
	uint32_t idx;   /* last pending sample of ref */
} pslot;

struct tsdb_appender {
	tsdb_head *h;
	tsdb_ref_sample *p;  /* pending, in add order */
	size_t n, cap;
	pslot *map;
	size_t mapcap, mapcount;
	bool failed;         /* the last commit could not be logged */
	char err[320];
};

tsdb_appender *tsdb_appender_new(tsdb_head *h)
{
	tsdb_appender *a = tp_xcalloc(1, sizeof(*a));
	a->h = h;
	return a;
}

/* The slot of ref, or NULL when the appender holds nothing for it. */
static const pslot *map_find(const tsdb_appender *a, uint32_t ref)
{
	if (!a->mapcap)
		return NULL;
	size_t j = (ref * 2654435761u) & (a->mapcap - 1);
	while (a->map[j].ref && a->map[j].ref != ref)
		j = (j + 1) & (a->mapcap - 1);
	return a->map[j].ref ? &a->map[j] : NULL;
}

static void map_clear(tsdb_appender *a)
{
	if (a->mapcount)
		memset(a->map, 0, a->mapcap * sizeof(*a->map));
	a->mapcount = 0;
	a->n = 0;
}

static pslot *map_slot(tsdb_appender *a, uint32_t ref)
{
	if ((a->mapcount + 1) * 2 > a->mapcap) {
		size_t ncap = a->mapcap ? a->mapcap * 2 : 256;
		pslot *nm = tp_xcalloc(ncap, sizeof(*nm));
		for (size_t i = 0; i < a->mapcap; i++) {
			if (!a->map[i].ref)
				continue;
			size_t j = (a->map[i].ref * 2654435761u) & (ncap - 1);
			while (nm[j].ref)
				j = (j + 1) & (ncap - 1);
			nm[j] = a->map[i];
		}
		free(a->map);
		a->map = nm;
		a->mapcap = ncap;
	}
	size_t j = (ref * 2654435761u) & (a->mapcap - 1);
	while (a->map[j].ref && a->map[j].ref != ref)
		j = (j + 1) & (a->mapcap - 1);
	return &a->map[j];
}

static int add_series(tsdb_appender *a, mseries *s, int64_t t, double v)
{
	tsdb_head *h = a->h;
	uint64_t vb;
	memcpy(&vb, &v, 8);
	if (t < __atomic_load_n(&h->min_valid_t, __ATOMIC_RELAXED)) {
		stat_add(&h->oob, 1);
		return TSDB_EOUTOFBOUNDS;
	}
	pslot *ps = map_slot(a, s->ref);
	int64_t lt;
	uint64_t lv;
	bool have;
	if (ps->ref) {
		lt = a->p[ps->idx].t;
		memcpy(&lv, &a->p[ps->idx].v, 8);
		have = true;
	} else {
		pthread_mutex_t *mu = stripe_of(h, s->ref);
		pthread_mutex_lock(mu);
		have = series_last(h, s, t, &lt, &lv);
		pthread_mutex_unlock(mu);
	}
	if (have && t <= lt) {
		if (t == lt && vb == lv)
			return TSDB_OK;
		if (t == lt) {
			stat_add(&h->dup, 1);
			return TSDB_EDUPLICATE;
		}
		stat_add(&h->ooo, 1);
		return TSDB_EOUTOFORDER;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 256;
		a->p = tp_xrealloc(a->p, a->cap * sizeof(*a->p));
	}
	if (!ps->ref) {
		ps->ref = s->ref;
		a->mapcount++;
		/* a truncation must not remove the series before the commit */
		__atomic_add_fetch(&s->pending, 1, __ATOMIC_RELAXED);
	}
	ps->idx = (uint32_t)a->n;
	a->p[a->n].ref = s->ref;
	a->p[a->n].t = t;
	a->p[a->n].v = v;
	a->n++;
	return TSDB_OK;
}

int tsdb_appender_add(tsdb_appender *a, const tp_labels *l, int64_t t_ms, double v, uint32_t *ref)
{
	tsdb_head *h = a->h;
	if (!l || !labels_valid(l))
		return TSDB_EINVAL;
	pthread_rwlock_rdlock(&h->trunc_lock);
	mseries *s = get_or_create(h, l, 0);
	if (ref)
		*ref = s->ref;
	int rc = add_series(a, s, t_ms, v);
	pthread_rwlock_unlock(&h->trunc_lock);
	return rc;
}

uint32_t tsdb_head_replay_series(tsdb_head *h, uint32_t ref, const tp_labels *l)
{
	if (ref == 0 || ref == UINT32_MAX || !l || !labels_valid(l))
		return 0;
	/* an old ref is never handed out again, even when it turns out to be
	 * an alias of an existing series */
	uint32_t cur = __atomic_load_n(&h->next_ref, __ATOMIC_RELAXED);
	while (cur <= ref && !__atomic_compare_exchange_n(&h->next_ref, &cur, ref + 1, true, __ATOMIC_RELAXED,
							  __ATOMIC_RELAXED))
		;
	pthread_rwlock_rdlock(&h->trunc_lock);
	mseries *s = tsdb_head_get(h, ref);
	uint32_t r;
	if (s)
		r = tp_labels_equal(&s->lset, l) ? ref : 0;  /* ref taken */
	else
		r = get_or_create(h, l, ref)->ref;           /* ref, or l's existing ref */
	pthread_rwlock_unlock(&h->trunc_lock);
	return r;
}

int tsdb_appender_add_ref(tsdb_appender *a, uint32_t ref, int64_t t_ms, double v)
{
	tsdb_head *h = a->h;
	pthread_rwlock_rdlock(&h->trunc_lock);
	mseries *s = tsdb_head_get(h, ref);
	int rc = s ? add_series(a, s, t_ms, v) : TSDB_ENOTFOUND;
	pthread_rwlock_unlock(&h->trunc_lock);
	return rc;
}

static void update_minmax(tsdb_head *h, int64_t mint, int64_t maxt)
{
	int64_t cur = __atomic_load_n(&h->mint, __ATOMIC_RELAXED);
	while (mint < cur && !__atomic_compare_exchange_n(&h->mint, &cur, mint, true, __ATOMIC_RELAXED,
							  __ATOMIC_RELAXED))
		;
	cur = __atomic_load_n(&h->maxt, __ATOMIC_RELAXED);
	while (maxt > cur && !__atomic_compare_exchange_n(&h->maxt, &cur, maxt, true, __ATOMIC_RELAXED,
							  __ATOMIC_RELAXED))
		;
}

size_t tsdb_appender_commit(tsdb_appender *a)
{
	tsdb_head *h = a->h;
	if (a->n == 0)
		return 0;
	a->failed = false;
	pthread_rwlock_rdlock(&h->trunc_lock);
	if (h->hooks.samples_committed &&
	    h->hooks.samples_committed(h->hooks.ctx, a->p, a->n, a->err, sizeof(a->err)) != 0) {
		/* not logged: not visible either (the acknowledgement would be
		 * a lie after a crash) */
		pthread_rwlock_unlock(&h->trunc_lock);
		tsdb_appender_rollback(a);
		a->failed = true;
		return 0;
	}
	size_t done = 0;
	int64_t mint = INT64_MAX, maxt = INT64_MIN;
	for (size_t i = 0; i < a->n; i++) {
		const tsdb_ref_sample *p = &a->p[i];
		mseries *s = tsdb_head_get(h, p->ref);
		if (!s)
			continue;  /* cannot happen: pending series are not removed */
		/* the series' last pending sample releases it */
		const pslot *ps = map_find(a, p->ref);
		if (ps && ps->idx == i)
			__atomic_sub_fetch(&s->pending, 1, __ATOMIC_RELAXED);
		pthread_mutex_t *mu = stripe_of(h, p->ref);
		pthread_mutex_lock(mu);
		int64_t lt;
		uint64_t lv, vb;
		memcpy(&vb, &p->v, 8);
		if (series_last(h, s, p->t, &lt, &lv) && p->t <= lt) {
			/* another appender committed to this series meanwhile */
			pthread_mutex_unlock(mu);
			if (p->t < lt)
				stat_add(&h->ooo, 1);
			else if (vb != lv)
				stat_add(&h->dup, 1);
			continue;
		}
		series_append(h, s, p->t, p->v);
		pthread_mutex_unlock(mu);
		done++;
		if (p->t < mint)
			mint = p->t;
		if (p->t > maxt)
			maxt = p->t;
	}
	pthread_rwlock_unlock(&h->trunc_lock);
	if (done)
		update_minmax(h, mint, maxt);
	stat_add(&h->samples_appended, (int64_t)done);
	map_clear(a);
	return done;
}

const char *tsdb_appender_error(const tsdb_appender *a)
{
	return a->failed ? a->err : NULL;
}

void tsdb_appender_rollback(tsdb_appender *a)
{
	for (size_t i = 0; a->mapcount && i < a->mapcap; i++) {
		mseries *s = a->map[i].ref ? tsdb_head_get(a->h, a->map[i].ref) : NULL;
		if (s)
			__atomic_sub_fetch(&s->pending, 1, __ATOMIC_RELAXED);
	}
	map_clear(a);
}

void tsdb_appender_free(tsdb_appender *a)
{
	if (!a)
		return;
	tsdb_appender_rollback(a);
	free(a->p);
	free(a->map);
	free(a);
}

/* ---- truncation ---- */

void tsdb_head_querier_enter(tsdb_head *h)
{
	pthread_mutex_lock(&h->gate_mu);
	while (h->truncating)
		pthread_cond_wait(&h->gate_cv, &h->gate_mu);
	h->queriers++;
	pthread_mutex_unlock(&h->gate_mu);
}

void tsdb_head_querier_exit(tsdb_head *h)
{
	pthread_mutex_lock(&h->gate_mu);
	bool last = --h->queriers == 0;
	if (last) {
		/* nobody can hold a retired chunk array now; new queriers
		 * wait at the gate until it is freed */
		free_retired(h);
		pthread_cond_broadcast(&h->gate_cv);
	}
	pthread_mutex_unlock(&h->gate_mu);
}

/* Drops the first k full chunks of s (truncation: no reader alive). */
static void drop_chunks(tsdb_head *h, mseries *s, uint32_t k)
{
	if (!k)
		return;
	int64_t samples = 0, bytes = 0, disk = 0;
	for (uint32_t i = 0; i < k; i++) {
		tsdb_chunk_meta *c = &s->chunks[i];
		samples += c->nsamples;
		bytes += c->len;
		disk += c->on_disk;
		if (!c->on_disk)
			free(c->at.mem);
	}
	s->nchunks -= k;
	memmove(s->chunks, s->chunks + k, s->nchunks * sizeof(*s->chunks));
	uint32_t ncap = s->nchunks ? s->nchunks : 0;
	if (ncap == 0 || s->capchunks >= 4 * ncap) {
		/* give the memory back: nothing can hold the array now */
		if (ncap)
			s->chunks = tp_xrealloc(s->chunks, ncap * sizeof(*s->chunks));
		else {
			free(s->chunks);
			s->chunks = NULL;
		}
		stat_add(&h->mem_bytes, -(int64_t)(s->capchunks - ncap) * (int64_t)sizeof(*s->chunks));
		s->capchunks = ncap;
	}
	stat_add(&h->num_chunks, -(int64_t)k);
	stat_add(&h->num_samples, -samples);
	stat_add(&h->chunk_bytes, -bytes);
	stat_add(&h->full_bytes, -bytes);
	stat_add(&h->disk_chunks, -disk);
}

/* Truncation, by time (upto == 0: chunks with maxt < mint_ms, head chunks
 * ending before it, then chunk files wholly before it) or by chunk file
 * (everything up to the last chunk in a file numbered <= upto, then those
 * files). Series left empty are removed. */
static size_t truncate_impl(tsdb_head *h, int64_t mint_ms, uint32_t upto)
{
	/* reader preference: wait until no querier is alive, then keep new
	 * ones out until done (a thread must not hold a querier here) */
	pthread_mutex_lock(&h->gate_mu);
	while (h->queriers > 0 || h->truncating)
		pthread_cond_wait(&h->gate_cv, &h->gate_mu);
	h->truncating = true;
	pthread_mutex_unlock(&h->gate_mu);
	pthread_rwlock_wrlock(&h->trunc_lock);
	bool by_time = upto == 0;
	if (by_time && mint_ms > h->min_valid_t)
		__atomic_store_n(&h->min_valid_t, mint_ms, __ATOMIC_RELAXED);
	size_t removed = 0;
	int64_t nmint = INT64_MAX, nmaxt = INT64_MIN;
	uint32_t end = h->next_ref;
	for (uint32_t r = 1; r < end; r++) {
		mseries *s = tsdb_head_get(h, r);
		if (!s)
			continue;
		uint32_t k = 0;
		if (by_time) {
			while (k < s->nchunks && s->chunks[k].maxt < mint_ms)
				k++;
		} else {
			for (uint32_t i = s->nchunks; i-- > 0;)
				if (s->chunks[i].on_disk && s->chunks[i].at.disk.file <= upto) {
					k = i + 1;
					break;
				}
		}
		drop_chunks(h, s, k);
		bool head_empty = !head_has(s);
		if (!s->nchunks && (head_empty || (by_time && s->hc->app.t < mint_ms)) &&
		    __atomic_load_n(&s->pending, __ATOMIC_RELAXED) == 0) {
			if (s->hc) {
				stat_add(&h->num_samples, -(int64_t)s->hc->app.n);
				stat_add(&h->chunk_bytes, -(int64_t)tsdb_chunk_app_bytes(&s->hc->app));
				stat_add(&h->mem_bytes, -(int64_t)hc_bytes(s));
			}
			stat_add(&h->mem_bytes, -(int64_t)(sizeof(*s) + s->lset.n * sizeof(tp_label)));
			ref_set(h, r, NULL);
			series_free(s);
			removed++;
			continue;
		}
		if (!s->nchunks && head_empty)
			continue; /* no samples yet; kept for the appender adding some */
		int64_t smin = s->nchunks ? s->chunks[0].mint : s->hc->mint;
		int64_t smax = !head_empty ? s->hc->app.t : s->chunks[s->nchunks - 1].maxt;
		if (smin < nmint)
			nmint = smin;
		if (smax > nmaxt)
			nmaxt = smax;
	}
	if (removed) {
		/* rebuild the lookup shards and the postings from the survivors */
		for (int i = 0; i < NSHARDS; i++) {
			memset(h->shards[i].slots, 0, h->shards[i].cap * sizeof(*h->shards[i].slots));
			h->shards[i].count = 0;
		}
		size_t before = h->post.bytes;
		tsdb_pindex_free(&h->post);
		tsdb_pindex_init(&h->post);
		for (uint32_t r = 1; r < end; r++) {
			mseries *s = tsdb_head_get(h, r);
			if (!s)
				continue;
			shard_insert(h, &h->shards[s->hash % NSHARDS], s->hash, r);
			tsdb_pindex_add(&h->post, r, &s->lset);
		}
		stat_add(&h->mem_bytes, (int64_t)h->post.bytes - (int64_t)before);
		stat_add(&h->num_series, -(int64_t)removed);
		stat_add(&h->removed, (int64_t)removed);
	}
	/* the files' chunks are no longer referenced (a file goes only when
	 * all its chunks are older than what was dropped above) */
	if (h->cf) {
		if (by_time)
			tsdb_chunkfiles_remove_before(h->cf, mint_ms);
		else
			tsdb_chunkfiles_remove_upto(h->cf, upto);
	}
	free_retired(h);
	h->mint = nmint;
	h->maxt = nmaxt;
	pthread_rwlock_unlock(&h->trunc_lock);
	pthread_mutex_lock(&h->gate_mu);
	h->truncating = false;
	pthread_cond_broadcast(&h->gate_cv);
	pthread_mutex_unlock(&h->gate_mu);
	return removed;
}

size_t tsdb_head_truncate(tsdb_head *h, int64_t mint_ms)
{
	return truncate_impl(h, mint_ms, 0);
}

size_t tsdb_head_drop_chunk_files(tsdb_head *h, uint32_t upto)
{
	return upto ? truncate_impl(h, INT64_MIN, upto) : 0;
}

/* ---- for the durable head ---- */

void tsdb_head_set_chunkfiles(tsdb_head *h, tsdb_chunkfiles *cf)
{
	h->cf = cf;
}

void tsdb_head_defer_postings(tsdb_head *h)
{
	h->defer_postings = true;
}

void tsdb_head_build_postings(tsdb_head *h)
{
	if (!h->defer_postings)
		return;
	pthread_rwlock_wrlock(&h->post_lock);
	size_t before = h->post.bytes;
	uint32_t end = __atomic_load_n(&h->next_ref, __ATOMIC_ACQUIRE);
	for (uint32_t r = 1; r < end; r++) {
		mseries *s = tsdb_head_get(h, r);
		if (s)
			tsdb_pindex_add(&h->post, r, &s->lset);
	}
	stat_add(&h->mem_bytes, (int64_t)h->post.bytes - (int64_t)before);
	h->defer_postings = false;
	pthread_rwlock_unlock(&h->post_lock);
}

size_t tsdb_head_replay_samples(tsdb_head *h, const tsdb_ref_sample *smp, size_t n, uint64_t *rejected,
				uint64_t *unknown)
{
	size_t done = 0;
	int64_t mint = INT64_MAX, maxt = INT64_MIN;
	pthread_rwlock_rdlock(&h->trunc_lock);
	for (size_t i = 0; i < n; i++) {
		const tsdb_ref_sample *p = &smp[i];
		mseries *s = tsdb_head_get(h, p->ref);
		if (!s) {
			(*unknown)++;
			continue;
		}
		pthread_mutex_t *mu = stripe_of(h, p->ref);
		pthread_mutex_lock(mu);
		int64_t lt;
		uint64_t lv, vb;
		memcpy(&vb, &p->v, 8);
		if (series_last(h, s, p->t, &lt, &lv) && p->t <= lt) {
			pthread_mutex_unlock(mu);
			if (p->t < lt) {
				stat_add(&h->ooo, 1);
				(*rejected)++;
			} else if (vb != lv) {
				stat_add(&h->dup, 1);
				(*rejected)++;
			}
			continue;
		}
		series_append(h, s, p->t, p->v);
		pthread_mutex_unlock(mu);
		done++;
		if (p->t < mint)
			mint = p->t;
		if (p->t > maxt)
			maxt = p->t;
	}
	pthread_rwlock_unlock(&h->trunc_lock);
	if (done)
		update_minmax(h, mint, maxt);
	stat_add(&h->samples_appended, (int64_t)done);
	return done;
}

void tsdb_head_add_postings(tsdb_head *h, const uint32_t *refs, size_t n)
{
	pthread_rwlock_wrlock(&h->post_lock);
	size_t before = h->post.bytes;
	for (size_t i = 0; i < n; i++) {
		mseries *s = tsdb_head_get(h, refs[i]);
		if (s)
			tsdb_pindex_add(&h->post, refs[i], &s->lset);
	}
	stat_add(&h->mem_bytes, (int64_t)h->post.bytes - (int64_t)before);
	pthread_rwlock_unlock(&h->post_lock);
}

void tsdb_head_end_deferred_postings(tsdb_head *h)
{
	pthread_rwlock_wrlock(&h->post_lock);
	h->defer_postings = false;
	pthread_rwlock_unlock(&h->post_lock);
}

void tsdb_head_reserve_refs(tsdb_head *h, uint32_t max_ref)
{
	if (max_ref == UINT32_MAX)
		max_ref--;
	uint32_t cur = __atomic_load_n(&h->next_ref, __ATOMIC_RELAXED);
	while (cur <= max_ref && !__atomic_compare_exchange_n(&h->next_ref, &cur, max_ref + 1, true,
							      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

uint32_t tsdb_head_ref_end(tsdb_head *h)
{
	return __atomic_load_n(&h->next_ref, __ATOMIC_RELAXED);
}

int64_t tsdb_head_attach_chunks(tsdb_head *h, uint32_t ref, tsdb_chunk_meta *a, uint32_t n, uint64_t *dropped)
{
	mseries *s = tsdb_head_get(h, ref);
	if (!s) {
		*dropped += n;
		free(a);
		return INT64_MIN;
	}
	pthread_mutex_t *mu = stripe_of(h, ref);
	pthread_mutex_lock(mu);
	int64_t last = s->nchunks ? s->chunks[s->nchunks - 1].maxt : INT64_MIN;
	bool head_empty = !head_has(s);
	/* keep the chunks that continue the series in time order */
	uint32_t k = 0;
	int64_t samples = 0, bytes = 0, cmint = INT64_MAX;
	for (uint32_t i = 0; i < n; i++) {
		if (!head_empty || a[i].mint <= last || a[i].maxt < a[i].mint) {
			if (!a[i].on_disk)
				free(a[i].at.mem);
			continue;
		}
		a[k++] = a[i];
		last = a[i].maxt;
		samples += a[i].nsamples;
		bytes += a[i].len;
		if (a[i].mint < cmint)
			cmint = a[i].mint;
	}
	*dropped += n - k;
	if (k && !s->nchunks) {
		s->chunks = a;
		s->nchunks = k;
		s->capchunks = n;
		a = NULL;
		stat_add(&h->mem_bytes, (int64_t)(n * sizeof(*s->chunks)));
	} else {
		for (uint32_t i = 0; i < k; i++)
			push_chunk(h, s, &a[i]);
	}
	pthread_mutex_unlock(mu);
	free(a);
	if (k) {
		stat_add(&h->num_chunks, k);
		stat_add(&h->disk_chunks, k);
		stat_add(&h->num_samples, samples);
		stat_add(&h->chunk_bytes, bytes);
		stat_add(&h->full_bytes, bytes);
		update_minmax(h, cmint, last);
	}
	return last;
}

size_t tsdb_head_cut_all(tsdb_head *h)
{
	size_t cut = 0;
	pthread_rwlock_rdlock(&h->trunc_lock);
	uint32_t end = __atomic_load_n(&h->next_ref, __ATOMIC_RELAXED);
	for (uint32_t r = 1; r < end; r++) {
		mseries *s = tsdb_head_get(h, r);
		if (!s)
			continue;
		pthread_mutex_t *mu = stripe_of(h, r);
		pthread_mutex_lock(mu);
		if (head_has(s)) {
			cut_chunk(h, s);
			cut++;
		}
		pthread_mutex_unlock(mu);
	}
	pthread_rwlock_unlock(&h->trunc_lock);
	return cut;
}

void tsdb_head_durable_maxt(tsdb_head *h, tsdb_chunk_pos upto, int64_t *out, uint32_t n)
{
	pthread_rwlock_rdlock(&h->trunc_lock);
	/* full chunks on the heap (failed writes): rare, and then the slow,
	 * careful walk. One kept in memory after upto was taken is newer than
	 * every chunk before upto, so it cannot matter. */
	bool heap = __atomic_load_n(&h->num_chunks, __ATOMIC_RELAXED) !=
		    __atomic_load_n(&h->disk_chunks, __ATOMIC_RELAXED);
	for (uint32_t r = 1; r < n; r++) {
		out[r] = INT64_MIN;
		mseries *s = tsdb_head_get(h, r);
		if (!s)
			continue;
		pthread_mutex_t *mu = stripe_of(h, r);
		pthread_mutex_lock(mu);
		if (heap) {
			/* the durable prefix: a chunk kept in memory because its
			 * write failed ends it, even when later chunks made it to
			 * disk (their maxt would let a checkpoint drop its samples
			 * from the WAL) */
			for (uint32_t i = 0; i < s->nchunks; i++) {
				const tsdb_chunk_meta *c = &s->chunks[i];
				tsdb_chunk_pos end = { c->at.disk.file, c->at.disk.off + c->len + 4 };
				if (!c->on_disk || tsdb_chunk_pos_before(upto, end))
					break;
				out[r] = c->maxt;
			}
		} else {
			/* every full chunk is on disk, and file order is time
			 * order: the newest one before upto */
			for (uint32_t i = s->nchunks; i-- > 0;) {
				const tsdb_chunk_meta *c = &s->chunks[i];
				tsdb_chunk_pos end = { c->at.disk.file, c->at.disk.off + c->len + 4 };
				if (!tsdb_chunk_pos_before(upto, end)) {
					out[r] = c->maxt;
					break;
				}
			}
		}
		pthread_mutex_unlock(mu);
	}
	pthread_rwlock_unlock(&h->trunc_lock);
}

void tsdb_head_chunk_counts(tsdb_head *h, uint64_t *disk_chunks, uint64_t *write_failures)
{
	*disk_chunks = __atomic_load_n(&h->disk_chunks, __ATOMIC_RELAXED);
	*write_failures = __atomic_load_n(&h->chunk_write_failures, __ATOMIC_RELAXED);
}

void tsdb_head_stats(tsdb_head *h, tsdb_stats *o)
{
	memset(o, 0, sizeof(*o));
	o->num_series = __atomic_load_n(&h->num_series, __ATOMIC_RELAXED);
	o->num_samples = __atomic_load_n(&h->num_samples, __ATOMIC_RELAXED);
	o->num_chunks = __atomic_load_n(&h->num_chunks, __ATOMIC_RELAXED);
	o->chunk_bytes = __atomic_load_n(&h->chunk_bytes, __ATOMIC_RELAXED);
	uint64_t mem = __atomic_load_n(&h->mem_bytes, __ATOMIC_RELAXED);
	/* mem counts head buffers at capacity; their used part is chunk bytes */
	uint64_t head_used = o->chunk_bytes - __atomic_load_n(&h->full_bytes, __ATOMIC_RELAXED);
	o->head_bytes = mem > head_used ? mem - head_used : 0;
	o->min_time_ms = __atomic_load_n(&h->mint, __ATOMIC_RELAXED);
	o->max_time_ms = __atomic_load_n(&h->maxt, __ATOMIC_RELAXED);
	o->samples_appended = __atomic_load_n(&h->samples_appended, __ATOMIC_RELAXED);
	o->out_of_order_samples = __atomic_load_n(&h->ooo, __ATOMIC_RELAXED);
	o->duplicate_samples = __atomic_load_n(&h->dup, __ATOMIC_RELAXED);
	o->out_of_bounds_samples = __atomic_load_n(&h->oob, __ATOMIC_RELAXED);
	o->series_created = __atomic_load_n(&h->created, __ATOMIC_RELAXED);
	o->series_removed = __atomic_load_n(&h->removed, __ATOMIC_RELAXED);
}
