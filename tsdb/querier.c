/* SPDX-License-Identifier: Apache-2.0
 * querier.c - select by matchers over the postings index, snapshots of
 * series, bulk decoding and seekable iterators, label names and values.
 * Invariants: while a querier lives, truncation waits (and nothing else
 * frees chunks, chunk arrays or series), so no chunk or series it can see
 * is freed; a series set snapshots, per series, the range of its full-chunk
 * array that overlaps the query and a copy of the head chunk, taken under
 * the series' stripe lock, so later commits do not change what it returns
 * and decoding needs no lock. Full chunks are read through chunk_data (a
 * chunk file's mapping or the heap). */
#include "config.h"
#include "tsdb/head_internal.h"
#include "tsdb/matcher.h"

#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"

struct tsdb_querier {
	tsdb_head *h;
	int64_t mint, maxt;
};

typedef struct sentry {
	const mseries *s;
	const tsdb_chunk_meta *ch;  /* full chunks overlapping the range */
	uint32_t nch;
	const uint8_t *hcopy;       /* head chunk copy (NULL: none in range) */
	uint32_t hlen, hn;
	int64_t hmint, hmaxt;
} sentry;

struct tsdb_series_set {
	tsdb_querier *q;
	tp_arena arena;
	sentry *e;
	size_t n;
	size_t cur;  /* 1-based position; 0 before the first next */
};

tsdb_querier *tsdb_querier_new(tsdb_head *h, int64_t mint_ms, int64_t maxt_ms)
{
	tsdb_querier *q = tp_xcalloc(1, sizeof(*q));
	q->h = h;
	q->mint = mint_ms;
	q->maxt = maxt_ms;
	tsdb_head_querier_enter(h);
	return q;
}

void tsdb_querier_free(tsdb_querier *q)
{
	if (!q)
		return;
	tsdb_head_querier_exit(q->h);
	free(q);
}

/* ---- postings algebra ---- */

typedef struct refs {
	uint32_t *v;
	size_t n, cap;
} refs;

static void refs_push_list(refs *r, const plist *l)
{
	if (!l || !l->n)
		return;
	TP_GROW(r->v, r->cap, r->n + l->n);
	memcpy(r->v + r->n, l->refs, l->n * sizeof(uint32_t));
	r->n += l->n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Two-pass LSD radix sort (16 bits a pass) for big unions. */
static void radix_sort(uint32_t *v, size_t n)
{
	uint32_t *tmp = tp_xmalloc(n * sizeof(uint32_t));
	size_t *cnt = tp_xcalloc(1 << 16, sizeof(size_t));
	for (unsigned shift = 0; shift < 32; shift += 16) {
		memset(cnt, 0, (1 << 16) * sizeof(size_t));
		for (size_t i = 0; i < n; i++)
			cnt[(v[i] >> shift) & 0xffff]++;
		size_t sum = 0;
		for (size_t b = 0; b < (1 << 16); b++) {
			size_t c = cnt[b];
			cnt[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[cnt[(v[i] >> shift) & 0xffff]++] = v[i];
		memcpy(v, tmp, n * sizeof(uint32_t));
	}
	free(cnt);
	free(tmp);
}

/* Lists of different values of one name are disjoint: sorting is enough. */
static void refs_sort(refs *r, size_t nlists)
{
	if (nlists <= 1)
		return;
	if (r->n >= 4096)
		radix_sort(r->v, r->n);
	else
		qsort(r->v, r->n, sizeof(uint32_t), cmp_u32);
}

static void intersect(refs *a, const refs *b)
{
	size_t i = 0, j = 0, k = 0;
	while (i < a->n && j < b->n) {
		if (a->v[i] < b->v[j])
			i++;
		else if (a->v[i] > b->v[j])
			j++;
		else {
			a->v[k++] = a->v[i];
			i++;
			j++;
		}
	}
	a->n = k;
}

static void subtract(refs *a, const refs *b)
{
	size_t i = 0, j = 0, k = 0;
	while (i < a->n) {
		while (j < b->n && b->v[j] < a->v[i])
			j++;
		if (j < b->n && b->v[j] == a->v[i]) {
			i++;
			continue;
		}
		a->v[k++] = a->v[i++];
	}
	a->n = k;
}

/* Series having label m->name with a value for which m matches (want) or
 * does not match (!want). */
static void values_where(const pindex *p, const tsdb_matcher *m, bool want, refs *out)
{
	out->n = 0;
	const pname *pn = tsdb_pindex_name(p, m->name);
	if (!pn)
		return;
	const char **lits;
	size_t nl;
	int kind = tsdb_matcher_classify(m, &lits, &nl);
	size_t nlists = 0;
	bool positive_literal = (m->type == TSDB_MATCH_EQ || m->type == TSDB_MATCH_RE) == want;
	if ((kind == TSDB_FAST_NONEMPTY && want) || (kind == TSDB_FAST_ANY && !want)) {
		free(lits);
		if (kind == TSDB_FAST_ANY)
			return;
		for (uint32_t i = 0; i < pn->n; i++)
			refs_push_list(out, pn->vals[i]);
		refs_sort(out, pn->n);
		return;
	}
	if (kind == TSDB_FAST_LITERAL && positive_literal) {
		refs_push_list(out, tsdb_pindex_get(p, m->name, m->value));
		return;
	}
	if (kind == TSDB_FAST_LITERALS && positive_literal) {
		for (size_t i = 0; i < nl; i++) {
			/* a repeated literal must not add its list twice */
			bool dup = false;
			for (size_t j = 0; j < i; j++)
				dup |= strcmp(lits[i], lits[j]) == 0;
			if (!dup && *lits[i]) {
				refs_push_list(out, tsdb_pindex_get(p, m->name, lits[i]));
				nlists++;
			}
		}
		free(lits);
		refs_sort(out, nlists);
		return;
	}
	free(lits);
	for (uint32_t i = 0; i < pn->n; i++) {
		const plist *l = pn->vals[i];
		if (l->n && tsdb_matcher_matches(m, l->value) == want) {
			refs_push_list(out, l);
			nlists++;
		}
	}
	refs_sort(out, nlists);
}

/* Sorted refs of series matching all of ms (post_lock held). */
static void postings_for(const pindex *p, const tsdb_matcher *ms, size_t n, refs *cur)
{
	bool have = false;
	refs tmp = { 0 };
	cur->n = 0;
	for (size_t i = 0; i < n; i++) {
		const tsdb_matcher *m = &ms[i];
		if (tsdb_matcher_matches_empty(m))
			continue;
		values_where(p, m, true, &tmp);
		if (!have) {
			refs s = *cur;
			*cur = tmp;
			tmp = s;
			have = true;
		} else {
			intersect(cur, &tmp);
		}
		if (cur->n == 0)
			goto out;
	}
	if (!have) {
		cur->n = 0;
		refs_push_list(cur, &p->all);
	}
	for (size_t i = 0; i < n && cur->n; i++) {
		const tsdb_matcher *m = &ms[i];
		if (!tsdb_matcher_matches_empty(m))
			continue;
		const char **lits;
		size_t nl;
		int kind = tsdb_matcher_classify(m, &lits, &nl);
		free(lits);
		if (kind == TSDB_FAST_ANY && m->type == TSDB_MATCH_RE)
			continue;
		/* drop series whose value of the name does not match */
		values_where(p, m, false, &tmp);
		subtract(cur, &tmp);
	}
out:
	free(tmp.v);
}

/* ---- select ---- */

static bool chunk_overlaps(const tsdb_chunk_meta *c, int64_t mint, int64_t maxt)
{
	return c->mint <= maxt && c->maxt >= mint;
}

/* Whether a chunk that overlaps [mint, maxt] has a sample inside. */
static bool chunk_has(const uint8_t *b, uint32_t len, uint32_t n, int64_t cmint, int64_t cmaxt, int64_t mint,
		      int64_t maxt)
{
	if (cmint >= mint || cmaxt <= maxt)
		return true;
	tsdb_chunk_iter it;
	tsdb_chunk_iter_init(&it, b, len, n);
	return tsdb_chunk_iter_seek(&it, mint) && it.t <= maxt;
}

static bool snapshot(tsdb_series_set *ss, tsdb_head *h, const mseries *s, sentry *e)
{
	int64_t mint = ss->q->mint, maxt = ss->q->maxt;
	memset(e, 0, sizeof(*e));
	e->s = s;
	pthread_mutex_t *mu = stripe_of(h, s->ref);
	pthread_mutex_lock(mu);
	const tsdb_chunk_meta *ch = s->chunks;
	uint32_t n = s->nchunks;
	const hchunk *hc = s->hc;
	if (head_has(s) && hc->mint <= maxt && hc->app.t >= mint) {
		size_t len = tsdb_chunk_app_bytes(&hc->app);
		uint8_t *cp = tp_arena_alloc(&ss->arena, len);
		memcpy(cp, hc->buf, len);
		e->hcopy = cp;
		e->hlen = (uint32_t)len;
		e->hn = hc->app.n;
		e->hmint = hc->mint;
		e->hmaxt = hc->app.t;
	}
	pthread_mutex_unlock(mu);
	/* narrow the full chunks (sorted, disjoint in time) to those
	 * overlapping the range */
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ch[mid].maxt < mint)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t end = lo;
	while (end < n && ch[end].mint <= maxt)
		end++;
	e->ch = ch + lo;
	e->nch = end - lo;
	/* is there a sample in range? */
	for (uint32_t i = 0; i < e->nch; i++) {
		const tsdb_chunk_meta *c = &e->ch[i];
		if (c->mint >= mint || c->maxt <= maxt ||
		    chunk_has(chunk_data(h, c), c->len, c->nsamples, c->mint, c->maxt, mint, maxt))
			return true;
	}
	if (e->hcopy && chunk_has(e->hcopy, e->hlen, e->hn, e->hmint, e->hmaxt, mint, maxt))
		return true;
	return false;
}

static int cmp_entry(const void *a, const void *b)
{
	const sentry *x = a, *y = b;
	return tp_labels_cmp(&x->s->lset, &y->s->lset);
}

tsdb_series_set *tsdb_querier_select(tsdb_querier *q, const tsdb_matcher *ms, size_t n)
{
	tsdb_head *h = q->h;
	tsdb_series_set *ss = tp_xcalloc(1, sizeof(*ss));
	ss->q = q;
	tp_arena_init(&ss->arena);
	refs r = { 0 };
	pthread_rwlock_rdlock(&h->post_lock);
	postings_for(&h->post, ms, n, &r);
	pthread_rwlock_unlock(&h->post_lock);
	if (r.n && q->mint <= q->maxt) {
		ss->e = tp_xmalloc(r.n * sizeof(sentry));
		for (size_t i = 0; i < r.n; i++) {
			const mseries *s = tsdb_head_get(h, r.v[i]);
			if (s && snapshot(ss, h, s, &ss->e[ss->n]))
				ss->n++;
		}
		qsort(ss->e, ss->n, sizeof(sentry), cmp_entry);
	}
	free(r.v);
	return ss;
}

bool tsdb_series_set_next(tsdb_series_set *ss)
{
	if (ss->cur >= ss->n) {
		ss->cur = ss->n + 1;
		return false;
	}
	ss->cur++;
	return true;
}

static const sentry *cur_entry(const tsdb_series_set *ss)
{
	return ss->cur >= 1 && ss->cur <= ss->n ? &ss->e[ss->cur - 1] : NULL;
}

const tp_labels *tsdb_series_set_labels(tsdb_series_set *ss)
{
	const sentry *e = cur_entry(ss);
	return e ? &e->s->lset : NULL;
}

uint32_t tsdb_series_set_ref(tsdb_series_set *ss)
{
	const sentry *e = cur_entry(ss);
	return e ? e->s->ref : 0;
}

size_t tsdb_series_set_count(tsdb_series_set *ss)
{
	return ss->n;
}

void tsdb_series_set_free(tsdb_series_set *ss)
{
	if (!ss)
		return;
	tp_arena_free(&ss->arena);
	free(ss->e);
	free(ss);
}

size_t tsdb_series_set_samples(tsdb_series_set *ss, int64_t mint_ms, int64_t maxt_ms, tsdb_sample **buf,
			       size_t *cap)
{
	const sentry *e = cur_entry(ss);
	if (!e)
		return 0;
	int64_t mint = TP_MAX(mint_ms, ss->q->mint), maxt = TP_MIN(maxt_ms, ss->q->maxt);
	if (mint > maxt)
		return 0;
	size_t need = 0;
	for (uint32_t i = 0; i < e->nch; i++)
		if (chunk_overlaps(&e->ch[i], mint, maxt))
			need += e->ch[i].nsamples;
	bool head = e->hcopy && e->hmint <= maxt && e->hmaxt >= mint;
	if (head)
		need += e->hn;
	if (need > *cap) {
		*buf = tp_xrealloc(*buf, need * sizeof(tsdb_sample));
		*cap = need;
	}
	size_t n = 0;
	const tsdb_head *h = ss->q->h;
	for (uint32_t i = 0; i < e->nch; i++) {
		const tsdb_chunk_meta *c = &e->ch[i];
		if (c->mint > maxt)
			break;
		if (!chunk_overlaps(c, mint, maxt))
			continue;
		long k = tsdb_chunk_decode(chunk_data(h, c), c->len, c->nsamples, mint, maxt, *buf + n);
		if (k > 0)
			n += (size_t)k;
	}
	if (head) {
		long k = tsdb_chunk_decode(e->hcopy, e->hlen, e->hn, mint, maxt, *buf + n);
		if (k > 0)
			n += (size_t)k;
	}
	return n;
}

/* ---- iterator ---- */

typedef struct istate {
	const tsdb_head *h;
	const sentry *e;
	uint32_t ci_idx;      /* current full chunk (phase 1) */
	int64_t mint, maxt;
	int phase;            /* 0: not started, 1: full chunks, 2: head, 3: done */
	tsdb_chunk_iter ci;
} istate;

_Static_assert(sizeof(istate) <= sizeof(((tsdb_iter *)0)->priv), "tsdb_iter too small");

void tsdb_series_set_iter(tsdb_series_set *ss, tsdb_iter *it)
{
	istate *st = (istate *)it->priv;
	memset(st, 0, sizeof(*st));
	st->h = ss->q->h;
	st->e = cur_entry(ss);
	st->mint = ss->q->mint;
	st->maxt = ss->q->maxt;
	if (!st->e)
		st->phase = 3;
}

/* Opens the next chunk whose range may hold t >= tmin; false when done. */
static bool open_next(istate *st, int64_t tmin)
{
	for (;;) {
		if (st->phase == 0) {
			st->phase = 1;
			st->ci_idx = 0;
		} else if (st->phase == 1) {
			st->ci_idx++;
		} else if (st->phase == 2) {
			st->phase = 3;
		}
		if (st->phase == 1 && st->ci_idx >= st->e->nch)
			st->phase = 2;
		if (st->phase == 1) {
			const tsdb_chunk_meta *c = &st->e->ch[st->ci_idx];
			if (c->maxt < tmin)
				continue;
			tsdb_chunk_iter_init(&st->ci, chunk_data(st->h, c), c->len, c->nsamples);
			return true;
		}
		if (st->phase == 2) {
			if (!st->e->hcopy || st->e->hmaxt < tmin)
				continue;
			tsdb_chunk_iter_init(&st->ci, st->e->hcopy, st->e->hlen, st->e->hn);
			return true;
		}
		return false;
	}
}

static bool advance(istate *st, int64_t tmin)
{
	if (st->phase == 3)
		return false;
	for (;;) {
		/* skip what lies wholly before tmin without decoding it */
		bool before = (st->phase == 1 && st->e->ch[st->ci_idx].maxt < tmin) ||
			      (st->phase == 2 && st->e->hmaxt < tmin);
		if (st->phase != 0 && !before && tsdb_chunk_iter_seek(&st->ci, tmin)) {
			if (st->ci.t > st->maxt) {
				st->phase = 3;
				return false;
			}
			return true;
		}
		if (!open_next(st, tmin))
			return false;
	}
}

bool tsdb_iter_next(tsdb_iter *it)
{
	istate *st = (istate *)it->priv;
	if (st->phase == 3)
		return false;
	if (st->phase != 0 && st->ci.i > 0 && tsdb_chunk_iter_next(&st->ci)) {
		if (st->ci.t > st->maxt) {
			st->phase = 3;
			return false;
		}
		if (st->ci.t >= st->mint)
			return true;
	}
	return advance(st, st->mint);
}

bool tsdb_iter_seek(tsdb_iter *it, int64_t t_ms)
{
	istate *st = (istate *)it->priv;
	return advance(st, TP_MAX(t_ms, st->mint));
}

void tsdb_iter_at(const tsdb_iter *it, int64_t *t_ms, double *v)
{
	const istate *st = (const istate *)it->priv;
	tsdb_chunk_iter_at(&st->ci, t_ms, v);
}

/* ---- label names and values ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t sort_uniq(const char **v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_str);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i], v[k - 1]) != 0)
			v[k++] = v[i];
	return k;
}

size_t tsdb_querier_label_names(tsdb_querier *q, const tsdb_matcher *ms, size_t n, const char ***out)
{
	const char **v = NULL;
	size_t nv = 0, cap = 0;
	if (n == 0) {
		pthread_rwlock_rdlock(&q->h->post_lock);
		const pindex *p = &q->h->post;
		for (size_t i = 0; i < p->ncap; i++) {
			const pname *pn = p->names[i];
			if (!pn)
				continue;
			bool any = false;
			for (uint32_t j = 0; j < pn->n && !any; j++)
				any = pn->vals[j]->n > 0;
			if (any) {
				TP_GROW(v, cap, nv + 1);
				v[nv++] = pn->name;
			}
		}
		pthread_rwlock_unlock(&q->h->post_lock);
	} else {
		tsdb_series_set *ss = tsdb_querier_select(q, ms, n);
		while (tsdb_series_set_next(ss)) {
			const tp_labels *l = tsdb_series_set_labels(ss);
			TP_GROW(v, cap, nv + l->n);
			for (uint32_t i = 0; i < l->n; i++)
				v[nv++] = l->v[i].name;
		}
		tsdb_series_set_free(ss);
	}
	nv = sort_uniq(v, nv);
	*out = v;
	return nv;
}

size_t tsdb_querier_label_values(tsdb_querier *q, const char *name, const tsdb_matcher *ms, size_t n,
				 const char ***out)
{
	const char **v = NULL;
	size_t nv = 0, cap = 0;
	if (n == 0) {
		pthread_rwlock_rdlock(&q->h->post_lock);
		const pname *pn = tsdb_pindex_name(&q->h->post, name);
		for (uint32_t j = 0; pn && j < pn->n; j++) {
			if (pn->vals[j]->n > 0) {
				TP_GROW(v, cap, nv + 1);
				v[nv++] = pn->vals[j]->value;
			}
		}
		pthread_rwlock_unlock(&q->h->post_lock);
	} else {
		tsdb_series_set *ss = tsdb_querier_select(q, ms, n);
		while (tsdb_series_set_next(ss)) {
			const char *val = tp_labels_get(tsdb_series_set_labels(ss), name);
			if (val) {
				TP_GROW(v, cap, nv + 1);
				v[nv++] = val;
			}
		}
		tsdb_series_set_free(ss);
	}
	nv = sort_uniq(v, nv);
	*out = v;
	return nv;
}
