/* SPDX-License-Identifier: Apache-2.0
 * codec.c - remote write/read codec: snappy, protobuf-c over an arena,
 * applying writes to the head and answering reads with samples. */
#include "config.h"
#include "remote/codec.h"

#include <pthread.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/crc32c.h"
#include "lib/hash.h"
#include "lib/strbuf.h"
#include "remote/xor.h"

/* ---- snappy ---- */

static const unsigned char snappy_framed_magic[] = { 0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y' };

int remote_snappy_decode(const void *in, size_t n, size_t max_bytes, tp_arena *a, const char **out,
			 size_t *outn, char *err, size_t errlen)
{
	if (n >= sizeof(snappy_framed_magic) && memcmp(in, snappy_framed_magic, sizeof(snappy_framed_magic)) == 0) {
		snprintf(err, errlen, "snappy: framed format is not supported, send the block format");
		return -1;
	}
	size_t len;
	if (snappy_uncompressed_length(in, n, &len) != SNAPPY_OK) {
		snprintf(err, errlen, "snappy: corrupt input");
		return -1;
	}
	if (len > max_bytes) {
		snprintf(err, errlen, "snappy: decoded length %zu exceeds the limit of %zu bytes", len, max_bytes);
		return -1;
	}
	char *buf = tp_arena_alloc(a, len ? len : 1);
	size_t got = len;
	if (snappy_uncompress(in, n, buf, &got) != SNAPPY_OK || got != len) {
		snprintf(err, errlen, "snappy: corrupt input");
		return -1;
	}
	*out = buf;
	*outn = len;
	return 0;
}

char *remote_snappy_encode(const void *in, size_t n, size_t *outn)
{
	size_t cap = snappy_max_compressed_length(n);
	char *buf = tp_xmalloc(cap);
	*outn = cap;
	if (snappy_compress(in, n, buf, outn) != SNAPPY_OK) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- protobuf over an arena ---- */

static void *pb_alloc(void *data, size_t size)
{
	return tp_arena_alloc(data, size);
}

static void pb_free(void *data, void *p)
{
	(void)data;
	(void)p; /* the arena frees everything at once */
}

static void *decode(const ProtobufCMessageDescriptor *d, const void *body, size_t n, tp_arena *a, char *err,
		    size_t errlen)
{
	const char *raw;
	size_t rawn;
	if (remote_snappy_decode(body, n, REMOTE_MAX_DECODED_BYTES, a, &raw, &rawn, err, errlen) != 0)
		return NULL;
	ProtobufCAllocator al = { .alloc = pb_alloc, .free = pb_free, .allocator_data = a };
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &al, rawn, (const uint8_t *)raw);
	if (!m)
		snprintf(err, errlen, "proto: cannot decode %s", d->short_name);
	return m;
}

Prometheus__WriteRequest *remote_write_decode(const void *body, size_t n, tp_arena *a, char *err, size_t errlen)
{
	return decode(&prometheus__write_request__descriptor, body, n, a, err, errlen);
}

Prometheus__ReadRequest *remote_read_decode(const void *body, size_t n, tp_arena *a, char *err, size_t errlen)
{
	return decode(&prometheus__read_request__descriptor, body, n, a, err, errlen);
}

/* ---- write ---- */

static int cmp_label(const void *x, const void *y)
{
	return strcmp(((const tp_label *)x)->name, ((const tp_label *)y)->name);
}

int remote_labels_from_proto(tp_arena *a, Prometheus__Label *const *pl, size_t n, tp_labels *out, char *err,
			     size_t errlen)
{
	tp_label *v = tp_arena_alloc(a, sizeof(tp_label) * (n ? n : 1));
	uint32_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = pl[i]->name ? pl[i]->name : "";
		const char *value = pl[i]->value ? pl[i]->value : "";
		if (!name[0]) {
			snprintf(err, errlen, "invalid label: empty label name");
			return -1;
		}
		if (value[0])
			v[m++] = (tp_label){ name, value };
	}
	/* senders send labels sorted (the spec requires it): check that in one
	 * pass, and sort only when they are not */
	uint32_t k = 1;
	while (k < m && strcmp(v[k - 1].name, v[k].name) < 0)
		k++;
	if (k >= m)
		goto done;
	qsort(v, m, sizeof(tp_label), cmp_label);
	for (uint32_t i = 1; i < m; i++) {
		if (strcmp(v[i - 1].name, v[i].name) == 0) {
			snprintf(err, errlen, "invalid labels: duplicate label name %s", v[i].name);
			return -1;
		}
	}
done:
	*out = (tp_labels){ .v = v, .n = m };
	return 0;
}

/* A rejected sample ends the request: res->error names the reason, the
 * series and the timestamp, as Prometheus's handler words it. */
static void reject_sample(remote_write_result *res, int r, const tp_labels *l, int64_t t)
{
	tp_strbuf sb = { 0 };
	tp_labels_format(&sb, l, true);
	snprintf(res->error, sizeof(res->error), "%s: series=%s timestamp=%lld", tsdb_rc_str(r), tp_sb_cstr(&sb),
		 (long long)t);
	tp_sb_free(&sb);
}

/* Ends a request's batch and frees app: commits it when rc is 0, rolls it
 * back otherwise. Returns rc, or -2 with res->error when the commit could
 * not be logged (nothing landed; the HTTP layer answers 500 and the
 * sender retries). */
static int end_batch(tsdb_appender *app, remote_write_result *res, int rc)
{
	if (rc == 0) {
		res->samples = tsdb_appender_commit(app);
		const char *err = tsdb_appender_error(app);
		if (err) {
			snprintf(res->error, sizeof(res->error), "%s", err);
			rc = -2;
		}
	} else {
		tsdb_appender_rollback(app);
	}
	if (rc != 0)
		res->series = 0;
	tsdb_appender_free(app);
	return rc;
}

int remote_write_apply(tsdb_head *h, const Prometheus__WriteRequest *req, remote_write_result *res)
{
	memset(res, 0, sizeof(*res));
	res->metadata = req->n_metadata;
	tp_arena a;
	tp_arena_init(&a);
	tsdb_appender *app = tsdb_appender_new(h);
	int rc = 0;
	for (size_t i = 0; i < req->n_timeseries && rc == 0; i++) {
		const Prometheus__TimeSeries *ts = req->timeseries[i];
		res->exemplars += ts->n_exemplars;
		if (ts->n_samples == 0) {
			res->series_no_samples++;
			continue;
		}
		tp_labels l;
		char lerr[160];
		tp_arena_reset(&a);
		if (remote_labels_from_proto(&a, ts->labels, ts->n_labels, &l, lerr, sizeof(lerr)) != 0 ||
		    !tp_labels_get(&l, TP_METRIC_NAME)) {
			/* Lenient as Prometheus v1: skip the series, keep the request. */
			res->series_skipped++;
			continue;
		}
		uint32_t ref = 0;
		for (size_t j = 0; j < ts->n_samples; j++) {
			const Prometheus__Sample *s = ts->samples[j];
			int r = ref ? tsdb_appender_add_ref(app, ref, s->timestamp, s->value)
				    : tsdb_appender_add(app, &l, s->timestamp, s->value, &ref);
			if (r == TSDB_ENOTFOUND) /* removed by retention meanwhile */
				r = tsdb_appender_add(app, &l, s->timestamp, s->value, &ref);
			if (r != TSDB_OK) {
				reject_sample(res, r, &l, s->timestamp);
				rc = -1;
				break;
			}
		}
		res->series++;
	}
	rc = end_batch(app, res, rc);
	tp_arena_free(&a);
	return rc;
}

/* ---- write: the series cache ---- */

#define CACHE_SHARDS 64
#define CACHE_DEFAULT_ENTRIES (1u << 20)

typedef struct cache_entry {
	uint64_t hash;
	uint8_t *key;  /* malloc'd; NULL: empty slot */
	uint32_t key_len;
	uint32_t ref;  /* 0: the series is gone, look it up again */
} cache_entry;

typedef struct cache_shard {
	pthread_mutex_t mu;
	cache_entry *slots;
	uint32_t cap, count;
	char pad[40];  /* shards on separate cache lines */
} cache_shard;

struct remote_series_cache {
	uint32_t max_per_shard;
	cache_shard sh[CACHE_SHARDS];
};

remote_series_cache *remote_series_cache_new(size_t max_entries)
{
	remote_series_cache *c = tp_xcalloc(1, sizeof(*c));
	size_t per = (max_entries ? max_entries : CACHE_DEFAULT_ENTRIES) / CACHE_SHARDS;
	c->max_per_shard = per < 16 ? 16 : per > (1u << 26) ? (1u << 26) : (uint32_t)per;
	for (int i = 0; i < CACHE_SHARDS; i++)
		pthread_mutex_init(&c->sh[i].mu, NULL);
	return c;
}

static void shard_clear(cache_shard *sh)
{
	for (uint32_t i = 0; i < sh->cap; i++)
		free(sh->slots[i].key);
	free(sh->slots);
	sh->slots = NULL;
	sh->cap = sh->count = 0;
}

void remote_series_cache_free(remote_series_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < CACHE_SHARDS; i++) {
		shard_clear(&c->sh[i]);
		pthread_mutex_destroy(&c->sh[i].mu);
	}
	free(c);
}

size_t remote_series_cache_len(remote_series_cache *c)
{
	size_t n = 0;
	for (int i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->sh[i].mu);
		n += c->sh[i].count;
		pthread_mutex_unlock(&c->sh[i].mu);
	}
	return n;
}

/* The slot holding key, or the empty slot where it would go (lock held,
 * sh->cap > 0). */
static cache_entry *shard_slot(cache_shard *sh, uint64_t hash, const uint8_t *key, size_t len)
{
	uint32_t mask = sh->cap - 1;
	for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
		cache_entry *e = &sh->slots[i];
		if (!e->key || (e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0))
			return e;
	}
}

/* Looks up every series of req with a key: hash[i] and ref[i] (0: not
 * cached) for series i. Series are visited shard by shard, so each shard's
 * lock is taken once a request rather than once a series. */
static void cache_get_all(remote_series_cache *c, const remote_wire_request *req, uint64_t *hash, uint32_t *ref)
{
	size_t n = req->n_series, count[CACHE_SHARDS + 1] = { 0 };
	uint32_t *order = tp_xmalloc(sizeof(*order) * (n ? n : 1));
	uint8_t *shard = tp_xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		const remote_wire_series *ws = &req->series[i];
		ref[i] = 0;
		hash[i] = 0;
		shard[i] = CACHE_SHARDS;  /* none */
		if (!ws->key || !ws->n_samples)
			continue;
		hash[i] = tp_hash(ws->key, ws->key_len, 0);
		shard[i] = (uint8_t)((hash[i] >> 58) % CACHE_SHARDS);
		count[shard[i]]++;
	}
	size_t start[CACHE_SHARDS + 1], at = 0;
	for (int k = 0; k <= CACHE_SHARDS; k++) {
		start[k] = at;
		at += count[k];
	}
	for (size_t i = 0; i < n; i++)
		order[start[shard[i]]++] = (uint32_t)i;
	size_t i = 0;
	for (int k = 0; k < CACHE_SHARDS; k++) {
		if (!count[k])
			continue;
		cache_shard *sh = &c->sh[k];
		pthread_mutex_lock(&sh->mu);
		for (size_t e = i + count[k]; i < e; i++) {
			uint32_t j = order[i];
			const remote_wire_series *ws = &req->series[j];
			if (sh->cap)
				ref[j] = shard_slot(sh, hash[j], ws->key, ws->key_len)->ref;
		}
		pthread_mutex_unlock(&sh->mu);
	}
	free(order);
	free(shard);
}

/* Maps key to ref (0: forget the ref, keep the slot). */
static void cache_put(remote_series_cache *c, uint64_t hash, const uint8_t *key, size_t len, uint32_t ref)
{
	if (len > UINT32_MAX)
		return;
	cache_shard *sh = &c->sh[(hash >> 58) % CACHE_SHARDS];
	pthread_mutex_lock(&sh->mu);
	if (sh->count >= c->max_per_shard && !shard_slot(sh, hash, key, len)->key)
		shard_clear(sh);  /* a new key in a full shard: start over, bounded */
	if ((sh->count + 1) * 4 > sh->cap * 3) {
		uint32_t ncap = sh->cap ? sh->cap * 2 : 64;
		cache_entry *old = sh->slots;
		uint32_t ocap = sh->cap;
		sh->slots = tp_xcalloc(ncap, sizeof(cache_entry));
		sh->cap = ncap;
		for (uint32_t i = 0; i < ocap; i++) {
			if (!old[i].key)
				continue;
			uint32_t j = (uint32_t)old[i].hash & (ncap - 1);
			while (sh->slots[j].key)
				j = (j + 1) & (ncap - 1);
			sh->slots[j] = old[i];
		}
		free(old);
	}
	cache_entry *e = shard_slot(sh, hash, key, len);
	if (!e->key) {
		e->key = tp_xmalloc(len ? len : 1);
		memcpy(e->key, key, len);
		e->key_len = (uint32_t)len;
		e->hash = hash;
		sh->count++;
	}
	e->ref = ref;
	pthread_mutex_unlock(&sh->mu);
}

/* ---- write: a request decoded by remote/wire.c ---- */

/* The series' labels as remote_labels_from_proto gives them for the same
 * request decoded by protobuf-c. */
static int wire_labels(tp_arena *a, const remote_wire_request *req, const remote_wire_series *ws, tp_labels *out,
		       char *err, size_t errlen)
{
	size_t n = ws->n_labels;
	Prometheus__Label *pv = tp_arena_alloc(a, sizeof(*pv) * (n ? n : 1));
	Prometheus__Label **pp = tp_arena_alloc(a, sizeof(*pp) * (n ? n : 1));
	remote_wire_label *wv = tp_arena_alloc(a, sizeof(*wv) * (n ? n : 1));
	remote_wire_series_labels(req, ws, wv);
	for (size_t i = 0; i < n; i++) {
		const remote_wire_label *wl = &wv[i];
		prometheus__label__init(&pv[i]);
		pv[i].name = tp_arena_strndup(a, wl->name, remote_wire_strlen(wl->name, wl->name_len));
		pv[i].value = tp_arena_strndup(a, wl->value, remote_wire_strlen(wl->value, wl->value_len));
		pp[i] = &pv[i];
	}
	return remote_labels_from_proto(a, pp, n, out, err, errlen);
}

int remote_write_apply_wire(tsdb_head *h, remote_series_cache *c, const remote_wire_request *req,
			    remote_write_result *res)
{
	memset(res, 0, sizeof(*res));
	res->metadata = req->n_metadata;
	tp_arena a;
	tp_arena_init(&a);
	tsdb_appender *app = tsdb_appender_new(h);
	uint64_t *hashes = NULL;
	uint32_t *refs = NULL;
	if (c) {
		hashes = tp_xmalloc(sizeof(*hashes) * (req->n_series ? req->n_series : 1));
		refs = tp_xmalloc(sizeof(*refs) * (req->n_series ? req->n_series : 1));
		cache_get_all(c, req, hashes, refs);
	}
	int rc = 0;
	for (size_t i = 0; i < req->n_series && rc == 0; i++) {
		const remote_wire_series *ws = &req->series[i];
		res->exemplars += ws->n_exemplars;
		if (ws->n_samples == 0) {
			res->series_no_samples++;
			continue;
		}
		uint64_t hash = c ? hashes[i] : 0;
		uint32_t ref = c ? refs[i] : 0;
		const remote_wire_sample *s = &req->samples[ws->sample0];
		int r = TSDB_ENOTFOUND;
		if (ref)
			r = tsdb_appender_add_ref(app, ref, s->t, s->v);
		tp_labels l = { 0 };
		char lerr[160];
		if (r == TSDB_ENOTFOUND) {
			/* not cached, or removed by retention meanwhile */
			tp_arena_reset(&a);
			if (wire_labels(&a, req, ws, &l, lerr, sizeof(lerr)) != 0 || !tp_labels_get(&l, TP_METRIC_NAME)) {
				/* Lenient as Prometheus v1: skip the series, keep the request. */
				res->series_skipped++;
				continue;
			}
			ref = 0;
			r = tsdb_appender_add(app, &l, s->t, s->v, &ref);
			if (c && ws->key && ref)
				cache_put(c, hash, ws->key, ws->key_len, ref);
		}
		for (size_t j = 1; j < ws->n_samples && r == TSDB_OK; j++) {
			s = &req->samples[ws->sample0 + j];
			r = tsdb_appender_add_ref(app, ref, s->t, s->v);
			if (r == TSDB_ENOTFOUND) { /* removed by retention meanwhile */
				if (!l.v && wire_labels(&a, req, ws, &l, lerr, sizeof(lerr)) != 0)
					break;  /* cannot happen: the labels were valid when cached */
				r = tsdb_appender_add(app, &l, s->t, s->v, &ref);
				if (c && ws->key && ref)
					cache_put(c, hash, ws->key, ws->key_len, ref);
			}
		}
		if (r != TSDB_OK) {
			if (!l.v) {
				tp_arena_reset(&a);
				wire_labels(&a, req, ws, &l, lerr, sizeof(lerr));
			}
			reject_sample(res, r, &l, s->t);
			rc = -1;
			break;
		}
		res->series++;
	}
	rc = end_batch(app, res, rc);
	free(hashes);
	free(refs);
	tp_arena_free(&a);
	return rc;
}

/* ---- read: selection shared by both response types ---- */

static int matchers_from_proto(const Prometheus__Query *q, const tp_labels *ext, tsdb_matcher *ms, size_t *nms,
			       char *err, size_t errlen)
{
	static const tsdb_match_type types[] = { TSDB_MATCH_EQ, TSDB_MATCH_NEQ, TSDB_MATCH_RE, TSDB_MATCH_NRE };
	size_t k = 0;
	for (size_t i = 0; i < q->n_matchers; i++) {
		const Prometheus__LabelMatcher *pm = q->matchers[i];
		const char *name = pm->name ? pm->name : "", *value = pm->value ? pm->value : "";
		bool bad_type = (unsigned)pm->type >= TP_ARRAY_LEN(types);
		if (!bad_type && pm->type == PROMETHEUS__LABEL_MATCHER__TYPE__EQ && ext) {
			/* Prometheus drops a matcher on an external label with
			 * its own value: the stored series do not carry it. */
			const char *ev = tp_labels_get(ext, name);
			if (ev && strcmp(ev, value) == 0)
				continue;
		}
		if (bad_type)
			snprintf(err, errlen, "invalid matcher type %d", (int)pm->type);
		if (bad_type || tsdb_matcher_init(&ms[k], types[bad_type ? 0 : pm->type], name, value, err, errlen) != 0) {
			while (k--)
				tsdb_matcher_free(&ms[k]);
			return -1;
		}
		k++;
	}
	*nms = k;
	return 0;
}

/* One query's series: matchers, querier and series set. */
typedef struct read_query {
	tsdb_matcher *ms;
	size_t nms;
	tsdb_querier *q;
	tsdb_series_set *ss;  /* NULL when every matcher was an external label's */
} read_query;

static int read_query_open(tsdb_head *h, const Prometheus__Query *q, const tp_labels *ext, tp_arena *a,
			   read_query *rq, char *err, size_t errlen)
{
	memset(rq, 0, sizeof(*rq));
	if (q->n_matchers == 0) {
		snprintf(err, errlen, "no matchers specified");
		return -1;
	}
	rq->ms = tp_arena_zalloc(a, sizeof(tsdb_matcher) * q->n_matchers);
	if (matchers_from_proto(q, ext, rq->ms, &rq->nms, err, errlen) != 0)
		return -1;
	rq->q = tsdb_querier_new(h, q->start_timestamp_ms, q->end_timestamp_ms);
	if (rq->nms)
		rq->ss = tsdb_querier_select(rq->q, rq->ms, rq->nms);
	return 0;
}

static bool read_query_next(read_query *rq)
{
	return rq->ss && tsdb_series_set_next(rq->ss);
}

static void read_query_close(read_query *rq)
{
	tsdb_series_set_free(rq->ss);
	tsdb_querier_free(rq->q);
	for (size_t i = 0; i < rq->nms; i++)
		tsdb_matcher_free(&rq->ms[i]);
}

/* The series' labels with the external labels it lacks, sorted, as
 * protobuf labels in the arena (strings borrowed). */
static Prometheus__Label **proto_labels(tp_arena *a, const tp_labels *l, const tp_labels *ext, size_t *n)
{
	size_t cap = l->n + (ext ? ext->n : 0);
	Prometheus__Label *lv = tp_arena_alloc(a, sizeof(*lv) * (cap ? cap : 1));
	Prometheus__Label **out = tp_arena_alloc(a, sizeof(void *) * (cap ? cap : 1));
	uint32_t i = 0, j = 0;
	size_t k = 0;
	uint32_t en = ext ? ext->n : 0;
	while (i < l->n || j < en) {
		const tp_label *pick;
		int c = i == l->n ? 1 : j == en ? -1 : strcmp(l->v[i].name, ext->v[j].name);
		if (c <= 0) {
			pick = &l->v[i++];
			if (c == 0)
				j++;  /* the series' own value wins */
		} else {
			pick = &ext->v[j++];
		}
		prometheus__label__init(&lv[k]);
		lv[k].name = (char *)pick->name;
		lv[k].value = (char *)pick->value;
		out[k] = &lv[k];
		k++;
	}
	*n = k;
	return out;
}

/* ---- read: SAMPLES ---- */

char *remote_read_samples(tsdb_head *h, const Prometheus__ReadRequest *req, const remote_read_opts *o, size_t *outn,
			  char *err, size_t errlen)
{
	const tp_labels *ext = o && o->external_labels && o->external_labels->n ? o->external_labels : NULL;
	tp_arena a;
	tp_arena_init(&a);
	Prometheus__ReadResponse resp = PROMETHEUS__READ_RESPONSE__INIT;
	resp.n_results = req->n_queries;
	resp.results = tp_arena_zalloc(&a, sizeof(void *) * (req->n_queries ? req->n_queries : 1));
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	char *out = NULL;
	for (size_t qi = 0; qi < req->n_queries; qi++) {
		const Prometheus__Query *q = req->queries[qi];
		Prometheus__QueryResult *qr = tp_arena_alloc(&a, sizeof(*qr));
		prometheus__query_result__init(qr);
		resp.results[qi] = qr;
		read_query rq;
		if (read_query_open(h, q, ext, &a, &rq, err, errlen) != 0)
			goto done;
		size_t nser = rq.ss ? tsdb_series_set_count(rq.ss) : 0, k = 0;
		qr->timeseries = tp_arena_alloc(&a, sizeof(void *) * (nser ? nser : 1));
		while (read_query_next(&rq) && k < nser) {
			size_t ns = tsdb_series_set_samples(rq.ss, q->start_timestamp_ms, q->end_timestamp_ms, &buf, &cap);
			if (ns == 0)
				continue;
			Prometheus__TimeSeries *ts = tp_arena_alloc(&a, sizeof(*ts));
			prometheus__time_series__init(ts);
			ts->labels = proto_labels(&a, tsdb_series_set_labels(rq.ss), ext, &ts->n_labels);
			ts->n_samples = ns;
			ts->samples = tp_arena_alloc(&a, sizeof(void *) * ns);
			Prometheus__Sample *sv = tp_arena_alloc(&a, sizeof(*sv) * ns);
			for (size_t i = 0; i < ns; i++) {
				prometheus__sample__init(&sv[i]);
				sv[i].timestamp = buf[i].t;
				sv[i].value = buf[i].v;
				ts->samples[i] = &sv[i];
			}
			qr->timeseries[k++] = ts;
		}
		qr->n_timeseries = k;
		read_query_close(&rq);
	}
	size_t rawn = prometheus__read_response__get_packed_size(&resp);
	uint8_t *raw = tp_xmalloc(rawn ? rawn : 1);
	prometheus__read_response__pack(&resp, raw);
	out = remote_snappy_encode(raw, rawn, outn);
	free(raw);
	if (!out)
		snprintf(err, errlen, "snappy: cannot compress the response");
done:
	free(buf);
	tp_arena_free(&a);
	return out;
}

/* ---- read: STREAMED_XOR_CHUNKS ---- */

/* A frame under construction: one series and its chunks so far. */
typedef struct frame {
	Prometheus__ChunkedSeries cs;
	Prometheus__Chunk *chunks;     /* cs.chunks points into this */
	Prometheus__Chunk **chunkp;
	size_t cap;
	uint8_t **data;                /* each chunk's bytes (malloc'd), freed at flush */
	uint8_t *obuf;                 /* the encoded frame */
	size_t ocap;
} frame;

static size_t uvarint_len(uint64_t u)
{
	size_t n = 1;
	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

static int frame_flush(frame *f, int64_t query_index, remote_frame_fn *emit, void *ud)
{
	Prometheus__ChunkedReadResponse r = PROMETHEUS__CHUNKED_READ_RESPONSE__INIT;
	Prometheus__ChunkedSeries *csp = &f->cs;
	r.chunked_series = &csp;
	r.n_chunked_series = 1;
	r.query_index = query_index;
	size_t n = prometheus__chunked_read_response__get_packed_size(&r);
	if (n + 14 > f->ocap) {
		f->ocap = n + 14;
		f->obuf = tp_xrealloc(f->obuf, f->ocap);
	}
	/* uvarint(len) + big-endian CRC-32C of the payload + the payload */
	size_t hn = 0;
	uint64_t u = n;
	for (; u >= 0x80; u >>= 7)
		f->obuf[hn++] = (uint8_t)((u & 0x7f) | 0x80);
	f->obuf[hn++] = (uint8_t)u;
	uint8_t *payload = f->obuf + hn + 4;
	prometheus__chunked_read_response__pack(&r, payload);
	uint32_t crc = tp_crc32c(payload, n);
	f->obuf[hn] = (uint8_t)(crc >> 24);
	f->obuf[hn + 1] = (uint8_t)(crc >> 16);
	f->obuf[hn + 2] = (uint8_t)(crc >> 8);
	f->obuf[hn + 3] = (uint8_t)crc;
	for (size_t i = 0; i < f->cs.n_chunks; i++)
		free(f->data[i]);
	f->cs.n_chunks = 0;
	return emit(ud, f->obuf, hn + 4 + n);
}

static void frame_add_chunk(frame *f, const remote_xor_chunk *c, int64_t mint, int64_t maxt)
{
	if (f->cs.n_chunks == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->chunks = tp_xrealloc(f->chunks, f->cap * sizeof(*f->chunks));
		f->chunkp = tp_xrealloc(f->chunkp, f->cap * sizeof(*f->chunkp));
		f->data = tp_xrealloc(f->data, f->cap * sizeof(*f->data));
	}
	size_t i = f->cs.n_chunks++;
	Prometheus__Chunk *pc = &f->chunks[i];
	prometheus__chunk__init(pc);
	pc->min_time_ms = mint;
	pc->max_time_ms = maxt;
	pc->type = PROMETHEUS__CHUNK__ENCODING__XOR;
	f->data[i] = tp_xmalloc(c->len);
	memcpy(f->data[i], c->buf, c->len);
	pc->data.data = f->data[i];
	pc->data.len = c->len;
	for (size_t k = 0; k <= i; k++)  /* chunks may have moved */
		f->chunkp[k] = &f->chunks[k];
	f->cs.chunks = f->chunkp;
}

int remote_read_chunked(tsdb_head *h, const Prometheus__ReadRequest *req, const remote_read_opts *o,
			remote_frame_fn *emit, void *ud, char *err, size_t errlen)
{
	const tp_labels *ext = o && o->external_labels && o->external_labels->n ? o->external_labels : NULL;
	size_t max_frame = o && o->max_frame_bytes ? o->max_frame_bytes : REMOTE_DEFAULT_FRAME_BYTES;
	tp_arena a, la;  /* the queries' matchers; the current series' labels */
	tp_arena_init(&a);
	tp_arena_init(&la);
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	frame f;
	memset(&f, 0, sizeof(f));
	remote_xor_chunk xc;
	remote_xor_init(&xc);
	int rc = 0;
	for (size_t qi = 0; qi < req->n_queries && rc == 0; qi++) {
		const Prometheus__Query *q = req->queries[qi];
		read_query rq;
		if (read_query_open(h, q, ext, &a, &rq, err, errlen) != 0) {
			rc = -1;
			break;
		}
		while (rc == 0 && read_query_next(&rq)) {
			size_t ns = tsdb_series_set_samples(rq.ss, q->start_timestamp_ms, q->end_timestamp_ms, &buf, &cap);
			if (ns == 0)
				continue;
			tp_arena_reset(&la);
			prometheus__chunked_series__init(&f.cs);
			f.cs.labels = proto_labels(&la, tsdb_series_set_labels(rq.ss), ext, &f.cs.n_labels);
			size_t label_bytes = 0;
			for (size_t i = 0; i < f.cs.n_labels; i++) {
				size_t ln = prometheus__label__get_packed_size(f.cs.labels[i]);
				label_bytes += 1 + uvarint_len(ln) + ln;
			}
			/* Series are never interleaved; a series with more chunks
			 * than fit a frame continues in the next one, as
			 * Prometheus's StreamChunkedReadResponses does (a frame
			 * may pass the limit by at most one chunk). */
			size_t used = label_bytes;
			for (size_t i = 0; i < ns && rc == 0;) {
				size_t end = i + REMOTE_XOR_MAX_SAMPLES < ns ? i + REMOTE_XOR_MAX_SAMPLES : ns;
				remote_xor_reset(&xc);
				for (size_t k = i; k < end; k++)
					remote_xor_append(&xc, buf[k].t, buf[k].v);
				frame_add_chunk(&f, &xc, buf[i].t, buf[end - 1].t);
				used += xc.len + 24;  /* data plus the chunk's tags, times and lengths, about */
				i = end;
				if (used >= max_frame || i == ns) {
					rc = frame_flush(&f, (int64_t)qi, emit, ud);
					used = label_bytes;
				}
			}
			if (rc != 0)
				snprintf(err, errlen, "write error: client went away");
		}
		read_query_close(&rq);
	}
	for (size_t i = 0; i < f.cs.n_chunks; i++)
		free(f.data[i]);
	free(f.chunks);
	free(f.chunkp);
	free(f.data);
	free(f.obuf);
	remote_xor_free(&xc);
	free(buf);
	tp_arena_free(&la);
	tp_arena_free(&a);
	return rc;
}
