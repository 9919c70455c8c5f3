/* SPDX-License-Identifier: Apache-2.0
 * sender.c - remote write queues: per-shard rings fed by the commit
 * observer, per-shard threads that resolve refs to relabelled label sets,
 * batch, encode and POST with retries. See sender.h for the contract. */
#include "config.h"
#include "remote/sender.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/common.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "remote/codec.h"
#include "remote/remote.pb-c.h"
#include "scrape/relabel.h"

#define RING_INITIAL 1024u
#define CACHE_RESET_NS (2 * 3600 * INT64_C(1000000000))  /* forget resolved label sets every 2 h */
#define ERR_BODY_MAX 512

/* ---- types ---- */

typedef struct rw_entry {
	uint32_t ref;    /* 0: empty slot */
	bool dropped;    /* relabelled away */
	tp_labels lbl;   /* in the shard's arena */
} rw_entry;

typedef struct rw_queue rw_queue;

typedef struct rw_shard {
	rw_queue *q;
	pthread_mutex_t mu;
	pthread_cond_t cond;       /* samples arrived / stop */
	tsdb_ref_sample *ring;     /* circular, grows up to max */
	size_t cap, head, count, max;
	int64_t first_ns;          /* when the oldest queued sample arrived */
	bool stop;
	int64_t stop_deadline_ns;  /* flush until then, then drop */
	pthread_t thread;
	/* owned by the shard's thread */
	rw_entry *tab;
	size_t tab_cap, tab_n;
	tp_arena arena;
	int64_t cache_since_ns;
	CURL *curl;
	bool failing;              /* the last attempt failed (log state changes only) */
} rw_shard;

struct rw_queue {
	remote_storage *rs;
	char *key;                 /* identity for reloads (relabels compared separately) */
	char *name, *url;
	relabel_config *relabels;
	size_t nrelabels;
	tp_arena ext_arena;
	tp_labels ext;
	config_queue qc;
	int64_t timeout_ms;
	struct curl_slist *hdrs;
	char *basic_user, *basic_pass, *basic_pass_file;
	char *auth_type, *auth_cred, *auth_cred_file;
	char *ca_file, *cert_file, *key_file;
	bool insecure;
	size_t nshards;
	rw_shard *shards;
	atomic_uint_fast64_t sent, failed, retried, dropped, pending, bytes;
	tp_metric *m_sent, *m_failed, *m_retried, *m_dropped, *m_pending, *m_bytes, *m_highest_sent, *m_shards,
		*m_dur;
	_Atomic int64_t highest_sent_ms;
};

struct remote_storage {
	tsdb_head *head;
	tp_metrics_registry *reg;
	int64_t flush_deadline_ms;
	pthread_rwlock_t lk;       /* the observer reads queues; apply swaps them */
	rw_queue **queues;
	size_t nqueues;
	tp_metric_family *f_sent, *f_failed, *f_retried, *f_dropped, *f_pending, *f_bytes, *f_highest_sent,
		*f_shards, *f_dur;
	tp_metric *m_highest;
	_Atomic int64_t highest_ms;
	atomic_size_t active;      /* nqueues, read without the lock by the observer */
	remote_storage_stats gone; /* totals of stopped queues */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? tp_xstrdup(s) : NULL;
}

static void atomic_max_i64(_Atomic int64_t *p, int64_t v)
{
	int64_t cur = atomic_load_explicit(p, memory_order_relaxed);
	while (cur < v && !atomic_compare_exchange_weak_explicit(p, &cur, v, memory_order_relaxed,
								  memory_order_relaxed))
		;
}

/* ---- encoding ---- */

char *remote_write_encode(const remote_send_sample *s, size_t n, size_t *outn)
{
	tp_arena a;
	tp_arena_init(&a);
	size_t nts = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || s[i].labels != s[i - 1].labels)
			nts++;
	Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
	req.n_timeseries = nts;
	req.timeseries = tp_arena_alloc(&a, (nts ? nts : 1) * sizeof(*req.timeseries));
	Prometheus__Sample *smp = tp_arena_alloc(&a, (n ? n : 1) * sizeof(*smp));
	Prometheus__Sample **sp = tp_arena_alloc(&a, (n ? n : 1) * sizeof(*sp));
	size_t ti = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && s[j].labels == s[i].labels)
			j++;
		Prometheus__TimeSeries *ts = tp_arena_alloc(&a, sizeof(*ts));
		*ts = (Prometheus__TimeSeries)PROMETHEUS__TIME_SERIES__INIT;
		const tp_labels *l = s[i].labels;
		ts->n_labels = l->n;
		ts->labels = tp_arena_alloc(&a, (l->n ? l->n : 1) * sizeof(*ts->labels));
		Prometheus__Label *pl = tp_arena_alloc(&a, (l->n ? l->n : 1) * sizeof(*pl));
		for (uint32_t k = 0; k < l->n; k++) {
			pl[k] = (Prometheus__Label)PROMETHEUS__LABEL__INIT;
			pl[k].name = (char *)l->v[k].name;
			pl[k].value = (char *)l->v[k].value;
			ts->labels[k] = &pl[k];
		}
		ts->n_samples = j - i;
		ts->samples = &sp[i];
		for (size_t k = i; k < j; k++) {
			smp[k] = (Prometheus__Sample)PROMETHEUS__SAMPLE__INIT;
			smp[k].value = s[k].v;
			smp[k].timestamp = s[k].t;
			sp[k] = &smp[k];
		}
		req.timeseries[ti++] = ts;
		i = j;
	}
	size_t len = protobuf_c_message_get_packed_size(&req.base);
	uint8_t *buf = tp_xmalloc(len ? len : 1);
	protobuf_c_message_pack(&req.base, buf);
	char *out = remote_snappy_encode(buf, len, outn);
	free(buf);
	tp_arena_free(&a);
	return out;
}

/* ---- the per-shard label cache ---- */

static size_t slot_of(uint32_t ref, size_t cap)
{
	return (size_t)(tp_hash_mix(0x9e3779b97f4a7c15u, ref) & (cap - 1));
}

static void cache_reset(rw_shard *sh)
{
	free(sh->tab);
	sh->tab = NULL;
	sh->tab_cap = sh->tab_n = 0;
	tp_arena_reset(&sh->arena);
	sh->cache_since_ns = tp_mono_ns();
}

static rw_entry *cache_insert(rw_shard *sh, uint32_t ref)
{
	if ((sh->tab_n + 1) * 4 > sh->tab_cap * 3) {
		size_t ncap = sh->tab_cap ? sh->tab_cap * 2 : 256;
		rw_entry *nt = tp_xcalloc(ncap, sizeof(*nt));
		for (size_t i = 0; i < sh->tab_cap; i++) {
			if (!sh->tab[i].ref)
				continue;
			size_t k = slot_of(sh->tab[i].ref, ncap);
			while (nt[k].ref)
				k = (k + 1) & (ncap - 1);
			nt[k] = sh->tab[i];
		}
		free(sh->tab);
		sh->tab = nt;
		sh->tab_cap = ncap;
	}
	size_t k = slot_of(ref, sh->tab_cap);
	while (sh->tab[k].ref && sh->tab[k].ref != ref)
		k = (k + 1) & (sh->tab_cap - 1);
	if (!sh->tab[k].ref)
		sh->tab_n++;
	sh->tab[k].ref = ref;
	return &sh->tab[k];
}

static rw_entry *cache_get(rw_shard *sh, uint32_t ref)
{
	if (!sh->tab_cap)
		return NULL;
	size_t k = slot_of(ref, sh->tab_cap);
	while (sh->tab[k].ref) {
		if (sh->tab[k].ref == ref)
			return &sh->tab[k];
		k = (k + 1) & (sh->tab_cap - 1);
	}
	return NULL;
}

/* The label set to send for ref: external labels added where the series
 * lacks them, then write_relabel_configs (Prometheus's order). NULL when
 * relabelling dropped it or the series is gone (truncated). */
static const tp_labels *resolve(rw_shard *sh, uint32_t ref)
{
	rw_entry *e = cache_get(sh, ref);
	if (e)
		return e->dropped ? NULL : &e->lbl;
	const tp_labels *src = tsdb_head_series_labels(sh->q->rs->head, ref);
	if (!src)
		return NULL; /* not cached: counted per sample by the caller */
	rw_queue *q = sh->q;
	tp_arena tmp;
	tp_arena_init(&tmp);
	tp_labels_builder b;
	tp_lb_init(&b, &tmp, src);
	for (uint32_t i = 0; i < q->ext.n; i++)
		if (!tp_labels_get(src, q->ext.v[i].name))
			tp_lb_set(&b, q->ext.v[i].name, q->ext.v[i].value);
	tp_labels withext = tp_lb_labels(&b);
	tp_labels out = withext;
	bool keep = true;
	if (q->nrelabels)
		keep = relabel_process(q->relabels, q->nrelabels, &tmp, &withext, &out);
	e = cache_insert(sh, ref);
	e->dropped = !keep || out.n == 0;
	if (!e->dropped)
		e->lbl = tp_labels_copy(&sh->arena, &out, true);
	tp_arena_free(&tmp);
	return e->dropped ? NULL : &e->lbl;
}

/* ---- HTTP ---- */

typedef struct resp {
	char body[ERR_BODY_MAX];
	size_t len;
	long retry_after_s;
} resp;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	resp *r = ud;
	size_t n = sz * nm;
	size_t room = sizeof(r->body) - 1 - r->len;
	size_t c = n < room ? n : room;
	memcpy(r->body + r->len, p, c);
	r->len += c;
	r->body[r->len] = 0;
	return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	resp *r = ud;
	size_t n = sz * nm;
	static const char k[] = "retry-after:";
	if (n > sizeof(k) - 1 && strncasecmp(p, k, sizeof(k) - 1) == 0) {
		char tmp[32] = { 0 };
		size_t c = n - (sizeof(k) - 1);
		memcpy(tmp, p + sizeof(k) - 1, c < sizeof(tmp) - 1 ? c : sizeof(tmp) - 1);
		char *end;
		long v = strtol(tmp, &end, 10);
		if (end != tmp && v > 0)
			r->retry_after_s = v;
	}
	return n;
}

/* One POST. Returns the HTTP status, or 0 for a transport error (message
 * in r->body). */
static long post(rw_shard *sh, const char *body, size_t len, resp *r)
{
	rw_queue *q = sh->q;
	if (!sh->curl)
		sh->curl = curl_easy_init();
	CURL *e = sh->curl;
	curl_easy_reset(e);
	char cerr[CURL_ERROR_SIZE] = "";
	memset(r, 0, sizeof(*r));
	curl_easy_setopt(e, CURLOPT_URL, q->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tinyprom/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
	char *secret = NULL;
	struct curl_slist *auth = NULL;
	if (q->basic_user) {
		secret = q->basic_pass_file ? config_read_secret_file(q->basic_pass_file) : NULL;
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, q->basic_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, secret ? secret : q->basic_pass ? q->basic_pass : "");
	} else if (q->auth_cred || q->auth_cred_file) {
		secret = q->auth_cred_file ? config_read_secret_file(q->auth_cred_file) : NULL;
		tp_strbuf h = { 0 };
		tp_sb_printf(&h, "Authorization: %s %s", q->auth_type ? q->auth_type : "Bearer",
			     secret ? secret : q->auth_cred ? q->auth_cred : "");
		for (struct curl_slist *s = q->hdrs; s; s = s->next)
			auth = curl_slist_append(auth, s->data);
		auth = curl_slist_append(auth, tp_sb_cstr(&h));
		tp_sb_free(&h);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, auth);
	}
	if (q->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, q->ca_file);
	if (q->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, q->cert_file);
	if (q->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, q->key_file);
	if (q->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode rc = curl_easy_perform(e);
	long status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(r->body, sizeof(r->body), "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
	curl_slist_free_all(auth);
	free(secret);
	return status;
}

/* ---- the shard thread ---- */

static void abs_deadline(struct timespec *ts, int64_t wait_ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	int64_t ns = (int64_t)ts->tv_nsec + wait_ns;
	ts->tv_sec += (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
}

/* Sleeps up to ms, waking early when the shard is told to stop and the
 * flush deadline has passed. Returns false when it gave up. */
static bool backoff_sleep(rw_shard *sh, int64_t ms)
{
	pthread_mutex_lock(&sh->mu);
	int64_t until = tp_mono_ns() + ms * 1000000;
	bool ok = true;
	for (;;) {
		int64_t now = tp_mono_ns();
		if (sh->stop && now >= sh->stop_deadline_ns) {
			ok = false;
			break;
		}
		int64_t end = until;
		if (sh->stop && sh->stop_deadline_ns < end)
			end = sh->stop_deadline_ns;
		if (now >= end)
			break;
		struct timespec ts;
		abs_deadline(&ts, end - now);
		pthread_cond_timedwait(&sh->cond, &sh->mu, &ts);
	}
	pthread_mutex_unlock(&sh->mu);
	return ok;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void count(atomic_uint_fast64_t *c, tp_metric *m, uint64_t n)
{
	atomic_fetch_add(c, n);
	if (m)
		tp_metrics_counter_add_u64(m, n);
}

static void pending_sub(rw_queue *q, uint64_t n)
{
	atomic_fetch_sub(&q->pending, n);
	if (q->m_pending)
		tp_metrics_gauge_add(q->m_pending, -(double)n);
}

/* Resolves, groups by series (keeping each series' time order), encodes
 * and sends one batch, retrying recoverable failures. */
static void send_batch(rw_shard *sh, const tsdb_ref_sample *b, size_t n, uint64_t *keys,
		       remote_send_sample *out)
{
	rw_queue *q = sh->q;
	if (tp_mono_ns() - sh->cache_since_ns > CACHE_RESET_NS)
		cache_reset(sh);
	for (size_t i = 0; i < n; i++)
		keys[i] = ((uint64_t)b[i].ref << 32) | (uint64_t)i;
	qsort(keys, n, sizeof(*keys), cmp_u64);
	size_t m = 0;
	int64_t maxt = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		const tsdb_ref_sample *s = &b[keys[i] & 0xffffffffu];
		const tp_labels *l = resolve(sh, s->ref);
		if (!l)
			continue;
		out[m++] = (remote_send_sample){ .labels = l, .t = s->t, .v = s->v };
		if (s->t > maxt)
			maxt = s->t;
	}
	if (m < n)
		count(&q->dropped, q->m_dropped, n - m);
	if (m == 0) {
		pending_sub(q, n);
		return;
	}
	size_t len;
	char *body = remote_write_encode(out, m, &len);
	int64_t backoff = q->qc.min_backoff_ms > 0 ? q->qc.min_backoff_ms : 30;
	for (;;) {
		resp r;
		int64_t t0 = tp_mono_ns();
		long status = post(sh, body, len, &r);
		if (q->m_dur)
			tp_metrics_histogram_observe(q->m_dur, (double)(tp_mono_ns() - t0) / 1e9);
		if (status >= 200 && status < 300) {
			count(&q->sent, q->m_sent, m);
			count(&q->bytes, q->m_bytes, len);
			atomic_max_i64(&q->highest_sent_ms, maxt);
			if (q->m_highest_sent)
				tp_metrics_gauge_set(q->m_highest_sent,
						     (double)atomic_load(&q->highest_sent_ms) / 1000.0);
			if (sh->failing)
				tp_log_info("Remote write recovered", "remote_name", q->name, "url", q->url);
			sh->failing = false;
			break;
		}
		bool recoverable = status == 0 || status >= 500 || (status == 429 && q->qc.retry_on_http_429);
		char st[24], cnt[24];
		snprintf(st, sizeof st, "%ld", status);
		if (!recoverable) {
			snprintf(cnt, sizeof cnt, "%zu", m);
			tp_log_error("non-recoverable error", "remote_name", q->name, "url", q->url, "status", st,
				     "count", cnt, "err", r.body);
			count(&q->failed, q->m_failed, m);
			break;
		}
		if (!sh->failing)
			tp_log_warn("Failed to send batch, retrying", "remote_name", q->name, "url", q->url,
				    "status", st, "err", r.body);
		sh->failing = true;
		int64_t wait = backoff;
		if (r.retry_after_s > 0 && r.retry_after_s * 1000 > wait)
			wait = r.retry_after_s * 1000;
		if (!backoff_sleep(sh, wait)) {
			count(&q->failed, q->m_failed, m);
			break;
		}
		count(&q->retried, q->m_retried, m);
		backoff *= 2;
		if (q->qc.max_backoff_ms > 0 && backoff > q->qc.max_backoff_ms)
			backoff = q->qc.max_backoff_ms;
	}
	free(body);
	pending_sub(q, n);
}

static void *shard_main(void *arg)
{
	rw_shard *sh = arg;
	rw_queue *q = sh->q;
	size_t maxb = (size_t)q->qc.max_samples_per_send;
	int64_t deadline_ns = q->qc.batch_send_deadline_ms * 1000000;
	tsdb_ref_sample *batch = tp_xmalloc(maxb * sizeof(*batch));
	uint64_t *keys = tp_xmalloc(maxb * sizeof(*keys));
	remote_send_sample *out = tp_xmalloc(maxb * sizeof(*out));
	pthread_mutex_lock(&sh->mu);
	for (;;) {
		while (!sh->stop && sh->count < maxb) {
			if (sh->count == 0) {
				pthread_cond_wait(&sh->cond, &sh->mu);
				continue;
			}
			int64_t left = sh->first_ns + deadline_ns - tp_mono_ns();
			if (left <= 0)
				break;
			struct timespec ts;
			abs_deadline(&ts, left);
			pthread_cond_timedwait(&sh->cond, &sh->mu, &ts);
		}
		if (sh->count == 0 && sh->stop)
			break;
		if (sh->stop && tp_mono_ns() >= sh->stop_deadline_ns) {
			count(&q->failed, q->m_failed, sh->count);
			pending_sub(q, sh->count);
			sh->count = 0;
			break;
		}
		size_t n = sh->count < maxb ? sh->count : maxb;
		for (size_t i = 0; i < n; i++)
			batch[i] = sh->ring[(sh->head + i) % sh->cap];
		sh->head = (sh->head + n) % sh->cap;
		sh->count -= n;
		sh->first_ns = tp_mono_ns();
		pthread_mutex_unlock(&sh->mu);
		send_batch(sh, batch, n, keys, out);
		pthread_mutex_lock(&sh->mu);
	}
	pthread_mutex_unlock(&sh->mu);
	free(batch);
	free(keys);
	free(out);
	return NULL;
}

/* Appends to the ring (caller holds sh->mu). False when the buffer is full. */
static bool ring_push(rw_shard *sh, const tsdb_ref_sample *s)
{
	if (sh->count == sh->cap) {
		if (sh->cap >= sh->max)
			return false;
		size_t ncap = sh->cap ? sh->cap * 2 : RING_INITIAL;
		if (ncap > sh->max)
			ncap = sh->max;
		tsdb_ref_sample *nr = tp_xmalloc(ncap * sizeof(*nr));
		for (size_t i = 0; i < sh->count; i++)
			nr[i] = sh->ring[(sh->head + i) % sh->cap];
		free(sh->ring);
		sh->ring = nr;
		sh->cap = ncap;
		sh->head = 0;
	}
	sh->ring[(sh->head + sh->count) % sh->cap] = *s;
	sh->count++;
	return true;
}

/* ---- queues ---- */

static void key_str(tp_strbuf *sb, const char *k, const char *v)
{
	tp_sb_printf(sb, "%s=%zu:%s\n", k, v ? strlen(v) : (size_t)0, v ? v : "");
}

/* Everything of an entry except its relabel configs, plus the external labels. */
static char *entry_key(const config_remote_write *c, const tp_labels *ext)
{
	tp_strbuf sb = { 0 };
	key_str(&sb, "url", c->url);
	key_str(&sb, "name", c->name);
	tp_sb_printf(&sb, "timeout=%lld\n", (long long)c->remote_timeout_ms);
	for (size_t i = 0; i < c->headers.n; i++) {
		key_str(&sb, "hk", c->headers.v[i].name);
		key_str(&sb, "hv", c->headers.v[i].value);
	}
	const config_queue *qc = &c->queue_config;
	tp_sb_printf(&sb, "queue=%lld,%lld,%lld,%lld,%lld,%lld,%lld,%d\n", (long long)qc->capacity,
		     (long long)qc->max_shards, (long long)qc->min_shards, (long long)qc->max_samples_per_send,
		     (long long)qc->batch_send_deadline_ms, (long long)qc->min_backoff_ms,
		     (long long)qc->max_backoff_ms, qc->retry_on_http_429);
	const config_http_client *h = &c->http;
	key_str(&sb, "bu", h->basic_auth.username);
	key_str(&sb, "bp", h->basic_auth.password);
	key_str(&sb, "bpf", h->basic_auth.password_file);
	key_str(&sb, "at", h->authorization.type);
	key_str(&sb, "ac", h->authorization.credentials);
	key_str(&sb, "acf", h->authorization.credentials_file);
	key_str(&sb, "ca", h->tls.ca_file);
	key_str(&sb, "cert", h->tls.cert_file);
	key_str(&sb, "key", h->tls.key_file);
	tp_sb_printf(&sb, "insecure=%d\n", h->tls.insecure_skip_verify);
	if (ext)
		for (uint32_t i = 0; i < ext->n; i++) {
			key_str(&sb, "ek", ext->v[i].name);
			key_str(&sb, "ev", ext->v[i].value);
		}
	return tp_sb_steal(&sb);
}

static bool relabels_equal(const rw_queue *q, const config_remote_write *c)
{
	if (q->nrelabels != c->write_relabel_configs.n)
		return false;
	for (size_t i = 0; i < q->nrelabels; i++)
		if (!relabel_config_equal(&q->relabels[i], &c->write_relabel_configs.v[i]))
			return false;
	return true;
}

static void queue_free(rw_queue *q)
{
	for (size_t i = 0; i < q->nrelabels; i++)
		relabel_config_clear(&q->relabels[i]);
	free(q->relabels);
	curl_slist_free_all(q->hdrs);
	free(q->key);
	free(q->name);
	free(q->url);
	free(q->basic_user);
	free(q->basic_pass);
	free(q->basic_pass_file);
	free(q->auth_type);
	free(q->auth_cred);
	free(q->auth_cred_file);
	free(q->ca_file);
	free(q->cert_file);
	free(q->key_file);
	tp_arena_free(&q->ext_arena);
	free(q->shards);
	free(q);
}

static void queue_metrics(remote_storage *rs, rw_queue *q)
{
	if (!rs->reg)
		return;
	const char *v[2] = { q->name, q->url };
	q->m_sent = tp_metrics_child(rs->f_sent, v);
	q->m_failed = tp_metrics_child(rs->f_failed, v);
	q->m_retried = tp_metrics_child(rs->f_retried, v);
	q->m_dropped = tp_metrics_child(rs->f_dropped, v);
	q->m_pending = tp_metrics_child(rs->f_pending, v);
	q->m_bytes = tp_metrics_child(rs->f_bytes, v);
	q->m_highest_sent = tp_metrics_child(rs->f_highest_sent, v);
	q->m_shards = tp_metrics_child(rs->f_shards, v);
	q->m_dur = tp_metrics_child(rs->f_dur, v);
	tp_metrics_gauge_set(q->m_shards, (double)q->nshards);
	tp_metrics_gauge_set(q->m_pending, 0);
}

static rw_queue *queue_new(remote_storage *rs, const config_remote_write *c, const tp_labels *ext, char *key,
			   char *err, size_t errlen)
{
	rw_queue *q = tp_xcalloc(1, sizeof(*q));
	q->rs = rs;
	q->key = key;
	q->url = tp_xstrdup(c->url ? c->url : "");
	if (c->name && *c->name) {
		q->name = tp_xstrdup(c->name);
	} else {
		char h[16];
		snprintf(h, sizeof h, "%06llx",
			 (unsigned long long)(tp_hash(q->url, strlen(q->url), 0) & 0xffffffu));
		q->name = tp_xstrdup(h);
	}
	q->nrelabels = c->write_relabel_configs.n;
	q->relabels = tp_xcalloc(q->nrelabels ? q->nrelabels : 1, sizeof(*q->relabels));
	for (size_t i = 0; i < q->nrelabels; i++) {
		if (relabel_config_copy(&q->relabels[i], &c->write_relabel_configs.v[i]) != 0) {
			snprintf(err, errlen, "remote_write %s: write_relabel_configs[%zu] does not compile", q->url,
				 i);
			q->nrelabels = i;
			queue_free(q);
			return NULL;
		}
	}
	tp_arena_init(&q->ext_arena);
	if (ext)
		q->ext = tp_labels_copy(&q->ext_arena, ext, true);
	q->qc = c->queue_config;
	if (q->qc.max_samples_per_send <= 0)
		q->qc.max_samples_per_send = 500;
	if (q->qc.batch_send_deadline_ms <= 0)
		q->qc.batch_send_deadline_ms = 5000;
	if (q->qc.capacity <= 0)
		q->qc.capacity = 2500;
	if (q->qc.max_shards <= 0)
		q->qc.max_shards = 200;
	q->timeout_ms = c->remote_timeout_ms > 0 ? c->remote_timeout_ms : 30000;
	q->hdrs = curl_slist_append(q->hdrs, "Content-Encoding: snappy");
	q->hdrs = curl_slist_append(q->hdrs, "Content-Type: application/x-protobuf");
	q->hdrs = curl_slist_append(q->hdrs, "X-Prometheus-Remote-Write-Version: 0.1.0");
	q->hdrs = curl_slist_append(q->hdrs, "Expect:");
	for (size_t i = 0; i < c->headers.n; i++) {
		tp_strbuf h = { 0 };
		tp_sb_printf(&h, "%s: %s", c->headers.v[i].name, c->headers.v[i].value ? c->headers.v[i].value : "");
		q->hdrs = curl_slist_append(q->hdrs, tp_sb_cstr(&h));
		tp_sb_free(&h);
	}
	const config_http_client *h = &c->http;
	if (h->basic_auth.set) {
		q->basic_user = tp_xstrdup(h->basic_auth.username ? h->basic_auth.username : "");
		q->basic_pass = dup_or_null(h->basic_auth.password);
		q->basic_pass_file = dup_or_null(h->basic_auth.password_file);
	}
	if (h->authorization.set || h->authorization.credentials || h->authorization.credentials_file) {
		q->auth_type = dup_or_null(h->authorization.type);
		q->auth_cred = dup_or_null(h->authorization.credentials);
		q->auth_cred_file = dup_or_null(h->authorization.credentials_file);
	}
	q->ca_file = dup_or_null(h->tls.ca_file);
	q->cert_file = dup_or_null(h->tls.cert_file);
	q->key_file = dup_or_null(h->tls.key_file);
	q->insecure = h->tls.insecure_skip_verify;
	q->nshards = q->qc.min_shards > 1 ? (size_t)q->qc.min_shards : 1;
	if (q->nshards > (size_t)q->qc.max_shards)
		q->nshards = (size_t)q->qc.max_shards;
	q->shards = tp_xcalloc(q->nshards, sizeof(*q->shards));
	uint64_t total = (uint64_t)q->qc.capacity * (uint64_t)q->qc.max_shards;
	size_t per = (size_t)(total / q->nshards);
	if (per < (size_t)q->qc.max_samples_per_send)
		per = (size_t)q->qc.max_samples_per_send;
	queue_metrics(rs, q);
	for (size_t i = 0; i < q->nshards; i++) {
		rw_shard *sh = &q->shards[i];
		sh->q = q;
		sh->max = per;
		pthread_mutex_init(&sh->mu, NULL);
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&sh->cond, &ca);
		pthread_condattr_destroy(&ca);
		tp_arena_init(&sh->arena);
		sh->cache_since_ns = tp_mono_ns();
		pthread_create(&sh->thread, NULL, shard_main, sh);
	}
	tp_log_info("Starting remote write queue", "remote_name", q->name, "url", q->url);
	return q;
}

/* Flushes within the storage's deadline, joins the threads, frees q. */
static void queue_stop(remote_storage *rs, rw_queue *q)
{
	int64_t deadline = tp_mono_ns() + rs->flush_deadline_ms * 1000000;
	for (size_t i = 0; i < q->nshards; i++) {
		rw_shard *sh = &q->shards[i];
		pthread_mutex_lock(&sh->mu);
		sh->stop = true;
		sh->stop_deadline_ns = deadline;
		pthread_cond_broadcast(&sh->cond);
		pthread_mutex_unlock(&sh->mu);
	}
	for (size_t i = 0; i < q->nshards; i++) {
		rw_shard *sh = &q->shards[i];
		pthread_join(sh->thread, NULL);
		if (sh->curl)
			curl_easy_cleanup(sh->curl);
		free(sh->ring);
		free(sh->tab);
		tp_arena_free(&sh->arena);
		pthread_cond_destroy(&sh->cond);
		pthread_mutex_destroy(&sh->mu);
	}
	pthread_rwlock_wrlock(&rs->lk);
	rs->gone.samples_sent += atomic_load(&q->sent);
	rs->gone.samples_failed += atomic_load(&q->failed);
	rs->gone.samples_retried += atomic_load(&q->retried);
	rs->gone.samples_dropped += atomic_load(&q->dropped);
	pthread_rwlock_unlock(&rs->lk);
	tp_log_info("Remote write queue stopped", "remote_name", q->name, "url", q->url);
	queue_free(q);
}

/* ---- API ---- */

static const double dur_buckets[] = { .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 25, 60, 120, 300 };

remote_storage *remote_storage_new(tsdb_head *h, tp_metrics_registry *reg, int64_t flush_deadline_ms)
{
	pthread_once(&curl_once, curl_init_once);
	remote_storage *rs = tp_xcalloc(1, sizeof(*rs));
	rs->head = h;
	rs->reg = reg;
	rs->flush_deadline_ms = flush_deadline_ms > 0 ? flush_deadline_ms : 10000;
	pthread_rwlock_init(&rs->lk, NULL);
	if (reg) {
		static const char *const ln[2] = { "remote_name", "url" };
		rs->f_sent = tp_metrics_family_new(reg, TP_METRIC_COUNTER, "prometheus_remote_storage_samples_total",
						   "Total number of samples sent to remote storage.", ln, 2, NULL, 0);
		rs->f_failed = tp_metrics_family_new(
			reg, TP_METRIC_COUNTER, "prometheus_remote_storage_samples_failed_total",
			"Total number of samples which failed on send to remote storage, non-recoverable errors.", ln,
			2, NULL, 0);
		rs->f_retried = tp_metrics_family_new(
			reg, TP_METRIC_COUNTER, "prometheus_remote_storage_samples_retried_total",
			"Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.",
			ln, 2, NULL, 0);
		rs->f_dropped = tp_metrics_family_new(
			reg, TP_METRIC_COUNTER, "prometheus_remote_storage_samples_dropped_total",
			"Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling or unintentionally because of an unknown reference ID.",
			ln, 2, NULL, 0);
		rs->f_pending = tp_metrics_family_new(
			reg, TP_METRIC_GAUGE, "prometheus_remote_storage_samples_pending",
			"The number of samples pending in the queues shards to be sent to the remote storage.", ln, 2,
			NULL, 0);
		rs->f_bytes = tp_metrics_family_new(
			reg, TP_METRIC_COUNTER, "prometheus_remote_storage_bytes_total",
			"The total number of bytes of data (not metadata) sent by the queue after compression.", ln, 2,
			NULL, 0);
		rs->f_highest_sent = tp_metrics_family_new(
			reg, TP_METRIC_GAUGE, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
			"Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.",
			ln, 2, NULL, 0);
		rs->f_shards = tp_metrics_family_new(reg, TP_METRIC_GAUGE, "prometheus_remote_storage_shards",
						     "The number of shards used for parallel sending to the remote storage.",
						     ln, 2, NULL, 0);
		rs->f_dur = tp_metrics_family_new(reg, TP_METRIC_HISTOGRAM,
						  "prometheus_remote_storage_sent_batch_duration_seconds",
						  "Duration of send calls to the remote storage.", ln, 2, dur_buckets,
						  sizeof(dur_buckets) / sizeof(dur_buckets[0]));
		rs->m_highest = tp_metrics_gauge_new(
			reg, "prometheus_remote_storage_highest_timestamp_in_seconds",
			"Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.");
	}
	return rs;
}

void remote_storage_free(remote_storage *rs)
{
	if (!rs)
		return;
	pthread_rwlock_wrlock(&rs->lk);
	rw_queue **qs = rs->queues;
	size_t n = rs->nqueues;
	rs->queues = NULL;
	rs->nqueues = 0;
	atomic_store(&rs->active, 0);
	pthread_rwlock_unlock(&rs->lk);
	for (size_t i = 0; i < n; i++)
		queue_stop(rs, qs[i]);
	free(qs);
	pthread_rwlock_destroy(&rs->lk);
	free(rs);
}

int remote_storage_apply(remote_storage *rs, const config *cfg, const tp_labels *external, char *err,
			 size_t errlen)
{
	size_t n = cfg->remote_write.n;
	rw_queue **nq = tp_xcalloc(n ? n : 1, sizeof(*nq));
	pthread_rwlock_rdlock(&rs->lk);
	bool *kept = tp_xcalloc(rs->nqueues ? rs->nqueues : 1, sizeof(*kept));
	for (size_t i = 0; i < n; i++) {
		const config_remote_write *c = cfg->remote_write.v[i];
		char *key = entry_key(c, external);
		for (size_t j = 0; j < rs->nqueues && !nq[i]; j++) {
			if (!kept[j] && strcmp(rs->queues[j]->key, key) == 0 && relabels_equal(rs->queues[j], c)) {
				kept[j] = true;
				nq[i] = rs->queues[j];
			}
		}
		if (nq[i]) {
			free(key);
			continue;
		}
		nq[i] = queue_new(rs, c, external, key, err, errlen);
		if (!nq[i]) {
			pthread_rwlock_unlock(&rs->lk);
			for (size_t k = 0; k < i; k++) {
				bool old = false;
				for (size_t j = 0; j < rs->nqueues; j++)
					old |= rs->queues[j] == nq[k];
				if (!old)
					queue_stop(rs, nq[k]);
			}
			free(nq);
			free(kept);
			return -1;
		}
	}
	pthread_rwlock_unlock(&rs->lk);

	pthread_rwlock_wrlock(&rs->lk);
	rw_queue **old = rs->queues;
	size_t nold = rs->nqueues;
	rs->queues = nq;
	rs->nqueues = n;
	atomic_store(&rs->active, n);
	pthread_rwlock_unlock(&rs->lk);
	for (size_t j = 0; j < nold; j++)
		if (!kept[j])
			queue_stop(rs, old[j]);
	free(old);
	free(kept);
	return 0;
}

void remote_storage_observe(void *ud, const tsdb_ref_sample *s, size_t n)
{
	remote_storage *rs = ud;
	/* every commit comes here: without remote_write it costs one load */
	if (!n || atomic_load_explicit(&rs->active, memory_order_relaxed) == 0)
		return;
	int64_t maxt = INT64_MIN;
	for (size_t i = 0; i < n; i++)
		if (s[i].t > maxt)
			maxt = s[i].t;
	atomic_max_i64(&rs->highest_ms, maxt);
	if (rs->m_highest)
		tp_metrics_gauge_set(rs->m_highest, (double)atomic_load(&rs->highest_ms) / 1000.0);
	pthread_rwlock_rdlock(&rs->lk);
	for (size_t qi = 0; qi < rs->nqueues; qi++) {
		rw_queue *q = rs->queues[qi];
		size_t maxb = (size_t)q->qc.max_samples_per_send;
		uint64_t added = 0, full = 0;
		for (size_t si = 0; si < q->nshards; si++) {
			rw_shard *sh = &q->shards[si];
			pthread_mutex_lock(&sh->mu);
			size_t before = sh->count;
			for (size_t i = 0; i < n; i++) {
				if (q->nshards > 1 && s[i].ref % q->nshards != si)
					continue;
				if (ring_push(sh, &s[i]))
					added++;
				else
					full++;
			}
			if (before == 0 && sh->count > 0)
				sh->first_ns = tp_mono_ns();
			if ((before == 0 && sh->count > 0) || (before < maxb && sh->count >= maxb))
				pthread_cond_signal(&sh->cond);
			pthread_mutex_unlock(&sh->mu);
		}
		atomic_fetch_add(&q->pending, added);
		if (q->m_pending)
			tp_metrics_gauge_add(q->m_pending, (double)added);
		if (full) {
			uint64_t before = atomic_fetch_add(&q->dropped, full);
			if (q->m_dropped)
				tp_metrics_counter_add_u64(q->m_dropped, full);
			if (before == 0 || (before / 100000) != ((before + full) / 100000))
				tp_log_warn("Remote write buffer full, dropping samples", "remote_name", q->name,
					    "url", q->url);
		}
	}
	pthread_rwlock_unlock(&rs->lk);
}

void remote_storage_get_stats(remote_storage *rs, remote_storage_stats *out)
{
	pthread_rwlock_rdlock(&rs->lk);
	*out = rs->gone;
	out->queues = rs->nqueues;
	out->samples_pending = 0;
	for (size_t i = 0; i < rs->nqueues; i++) {
		rw_queue *q = rs->queues[i];
		out->samples_sent += atomic_load(&q->sent);
		out->samples_failed += atomic_load(&q->failed);
		out->samples_retried += atomic_load(&q->retried);
		out->samples_dropped += atomic_load(&q->dropped);
		out->samples_pending += atomic_load(&q->pending);
	}
	pthread_rwlock_unlock(&rs->lk);
}
