/* SPDX-License-Identifier: Apache-2.0
 * manager.c - scrape targets, the libcurl multi loop and ingestion.
 *
 * Threads: one scrape thread owns the curl multi handle and every target's
 * transfer and cache; sync() and status readers take the manager mutex
 * (`mu`) and a target's `smu` for its status fields. Targets removed by
 * sync() move to a dead list and are finished (stale markers, freed) by
 * the scrape thread once no transfer of theirs is in flight.
 *
 * Cache invariant: an entry's last_iter is the iteration (successful
 * scrape) that last exposed its series; entries exposed in iteration i-1
 * but not i get a stale marker in i, and are forgotten afterwards. */
#include "config.h"
#include "scrape/manager.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/hash.h"
#include "lib/intern.h"
#include "lib/log.h"
#include "scrape/expfmt.h"

#define ACCEPT_HEADER                                                                                        \
	"Accept: application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;" \
	"q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

/* ---- the series cache ---- */

typedef struct centry {
	uint64_t hash;
	char *key;            /* raw series bytes, owned; NULL = empty slot */
	uint32_t klen;
	uint32_t ref;         /* 0 with dropped */
	uint32_t last_iter;
	bool dropped;         /* metric relabeling dropped it */
	bool explicit_ts;     /* exposed with its own timestamp: no staleness */
} centry;

typedef struct scache {
	centry *slots;
	size_t cap, count;    /* cap is a power of two */
} scache;

static centry *cache_find(scache *c, const char *k, size_t n, uint64_t h)
{
	if (!c->cap)
		return NULL;
	for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		centry *e = &c->slots[i];
		if (!e->key)
			return NULL;
		if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0)
			return e;
	}
}

static void cache_rebuild(scache *c, size_t ncap, uint32_t min_iter)
{
	centry *old = c->slots;
	size_t ocap = c->cap;
	c->slots = tp_xcalloc(ncap, sizeof(centry));
	c->cap = ncap;
	c->count = 0;
	for (size_t i = 0; i < ocap; i++) {
		centry *e = &old[i];
		if (!e->key)
			continue;
		if (e->last_iter < min_iter) {
			free(e->key);
			continue;
		}
		size_t j = e->hash & (ncap - 1);
		while (c->slots[j].key)
			j = (j + 1) & (ncap - 1);
		c->slots[j] = *e;
		c->count++;
	}
	free(old);
}

static centry *cache_put(scache *c, const char *k, size_t n, uint64_t h)
{
	if ((c->count + 1) * 2 > c->cap)
		cache_rebuild(c, c->cap ? c->cap * 2 : 64, 0);
	size_t i = h & (c->cap - 1);
	while (c->slots[i].key)
		i = (i + 1) & (c->cap - 1);
	centry *e = &c->slots[i];
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->key = tp_xstrndup(k, n);
	e->klen = (uint32_t)n;
	c->count++;
	return e;
}

static void cache_free(scache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		free(c->slots[i].key);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

/* ---- targets ---- */

struct scrape_target {
	scrape_manager *m;
	scrape_target_spec spec;   /* strings and labels owned (in spec_arena) */
	tp_arena spec_arena;
	int64_t offset_ms;
	int64_t next_ms;
	scache cache;
	uint32_t iter;
	scrape_metadata *md;
	tp_arena arena;            /* per-scrape scratch */
	scrape_parser parser;
	bool parser_init;
	/* transfer */
	CURL *easy;
	struct curl_slist *hdrs;
	tp_strbuf body;
	bool too_big;
	bool in_flight;
	int64_t start_ms;
	int64_t start_ns;
	char curl_err[CURL_ERROR_SIZE];
	/* status, guarded by smu */
	pthread_mutex_t smu;
	const char *health;
	char last_error[512];
	int64_t last_scrape_ms;
	double last_duration_s;
};

struct scrape_manager {
	tsdb_head *head;
	pthread_mutex_t mu;
	scrape_target **targets;
	size_t ntargets, captargets;
	scrape_target **dead;
	size_t ndead, capdead;
	CURLM *multi;
	pthread_t th;
	bool running, stop;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const char *astr(tp_arena *a, const char *s)
{
	return s ? tp_arena_strdup(a, s) : NULL;
}

static void spec_copy(scrape_target *t, const scrape_target_spec *s)
{
	tp_arena *a = &t->spec_arena;
	t->spec = *s;
	t->spec.pool = astr(a, s->pool ? s->pool : "");
	t->spec.url = astr(a, s->url);
	t->spec.labels = tp_labels_copy(a, &s->labels, true);
	t->spec.discovered = tp_labels_copy(a, &s->discovered, true);
	t->spec.basic_user = astr(a, s->basic_user);
	t->spec.basic_password = astr(a, s->basic_password);
	t->spec.bearer_token = astr(a, s->bearer_token);
	t->spec.ca_file = astr(a, s->ca_file);
	t->spec.cert_file = astr(a, s->cert_file);
	t->spec.key_file = astr(a, s->key_file);
	t->spec.server_name = astr(a, s->server_name);
	/* metric relabeling: a deep copy, so the configuration may go away */
	relabel_config *rc = tp_xcalloc(s->n_metric_relabel ? s->n_metric_relabel : 1, sizeof(relabel_config));
	for (size_t i = 0; i < s->n_metric_relabel; i++)
		relabel_config_copy(&rc[i], &s->metric_relabel[i]);
	t->spec.metric_relabel = rc;
	if (t->spec.interval_ms <= 0)
		t->spec.interval_ms = 60000;
	if (t->spec.timeout_ms <= 0 || t->spec.timeout_ms > t->spec.interval_ms)
		t->spec.timeout_ms = TP_MIN(10000, t->spec.interval_ms);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool spec_equal(const scrape_target_spec *a, const scrape_target_spec *b)
{
	if (!str_eq(a->pool, b->pool) || !str_eq(a->url, b->url) || !tp_labels_equal(&a->labels, &b->labels) ||
	    a->interval_ms != b->interval_ms || a->timeout_ms != b->timeout_ms || a->honor_labels != b->honor_labels ||
	    a->honor_timestamps != b->honor_timestamps || a->track_timestamps_staleness != b->track_timestamps_staleness ||
	    a->sample_limit != b->sample_limit || a->label_limit != b->label_limit ||
	    a->label_name_length_limit != b->label_name_length_limit ||
	    a->label_value_length_limit != b->label_value_length_limit || a->body_size_limit != b->body_size_limit ||
	    !str_eq(a->basic_user, b->basic_user) || !str_eq(a->basic_password, b->basic_password) ||
	    !str_eq(a->bearer_token, b->bearer_token) || !str_eq(a->ca_file, b->ca_file) ||
	    !str_eq(a->cert_file, b->cert_file) || !str_eq(a->key_file, b->key_file) ||
	    !str_eq(a->server_name, b->server_name) || a->insecure_skip_verify != b->insecure_skip_verify ||
	    a->n_metric_relabel != b->n_metric_relabel)
		return false;
	for (size_t i = 0; i < a->n_metric_relabel; i++)
		if (!relabel_config_equal(&a->metric_relabel[i], &b->metric_relabel[i]))
			return false;
	return true;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	scrape_target *t = ud;
	size_t n = size * nmemb;
	if (t->spec.body_size_limit && t->body.len + n > t->spec.body_size_limit) {
		t->too_big = true;
		return 0; /* aborts the transfer */
	}
	tp_sb_append(&t->body, p, n);
	return n;
}

static void setup_easy(scrape_target *t)
{
	CURL *e = curl_easy_init();
	t->easy = e;
	char b[96];
	t->hdrs = curl_slist_append(NULL, ACCEPT_HEADER);
	snprintf(b, sizeof(b), "X-Prometheus-Scrape-Timeout-Seconds: %g", (double)t->spec.timeout_ms / 1000.0);
	t->hdrs = curl_slist_append(t->hdrs, b);
	if (t->spec.bearer_token) {
		tp_strbuf h = { 0 };
		tp_sb_printf(&h, "Authorization: Bearer %s", t->spec.bearer_token);
		t->hdrs = curl_slist_append(t->hdrs, tp_sb_cstr(&h));
		tp_sb_free(&h);
	}
	curl_easy_setopt(e, CURLOPT_URL, t->spec.url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tinyprom/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->spec.timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->curl_err);
	if (t->spec.basic_user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, t->spec.basic_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, t->spec.basic_password ? t->spec.basic_password : "");
	}
	if (t->spec.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, t->spec.ca_file);
	if (t->spec.cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, t->spec.cert_file);
	if (t->spec.key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, t->spec.key_file);
	if (t->spec.insecure_skip_verify) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

scrape_target *scrape_target_new(scrape_manager *m, const scrape_target_spec *spec)
{
	scrape_target *t = tp_xcalloc(1, sizeof(*t));
	t->m = m;
	tp_arena_init(&t->spec_arena);
	tp_arena_init(&t->arena);
	spec_copy(t, spec);
	uint64_t h = tp_hash(t->spec.url, strlen(t->spec.url), 7);
	h = tp_hash_mix(h, tp_labels_hash(&t->spec.labels));
	t->offset_ms = (int64_t)(h % (uint64_t)t->spec.interval_ms);
	t->md = scrape_metadata_new();
	t->health = "unknown";
	pthread_mutex_init(&t->smu, NULL);
	setup_easy(t);
	return t;
}

void scrape_target_free(scrape_target *t)
{
	if (!t)
		return;
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->hdrs);
	for (size_t i = 0; i < t->spec.n_metric_relabel; i++)
		relabel_config_clear((relabel_config *)&t->spec.metric_relabel[i]);
	free((relabel_config *)t->spec.metric_relabel);
	cache_free(&t->cache);
	scrape_metadata_free(t->md);
	if (t->parser_init)
		scrape_parser_free(&t->parser);
	tp_sb_free(&t->body);
	tp_arena_free(&t->arena);
	tp_arena_free(&t->spec_arena);
	pthread_mutex_destroy(&t->smu);
	free(t);
}

/* ---- ingestion ---- */

/* Target labels over scraped ones (honor_labels: false renames clashing
 * scraped labels to exported_<name>; true keeps the scraped values). */
static tp_labels merge_target_labels(scrape_target *t, const tp_labels *scraped)
{
	tp_labels_builder b;
	tp_lb_init(&b, &t->arena, scraped);
	const tp_labels *tl = &t->spec.labels;
	for (uint32_t i = 0; i < tl->n; i++) {
		const char *name = tl->v[i].name;
		const char *have = tp_labels_get(scraped, name);
		if (t->spec.honor_labels) {
			if (!have)
				tp_lb_set(&b, name, tl->v[i].value);
			continue;
		}
		if (have) {
			/* exported_<name>, prefixed again while that exists too */
			tp_strbuf en = { 0 };
			tp_sb_printf(&en, "exported_%s", name);
			while (tp_labels_get(scraped, tp_sb_cstr(&en))) {
				char *cur = tp_xstrdup(tp_sb_cstr(&en));
				tp_sb_reset(&en);
				tp_sb_printf(&en, "exported_%s", cur);
				free(cur);
			}
			tp_lb_set(&b, tp_arena_strdup(&t->arena, tp_sb_cstr(&en)), have);
			tp_sb_free(&en);
		}
		tp_lb_set(&b, name, tl->v[i].value);
	}
	return tp_lb_labels(&b);
}

static int check_label_limits(scrape_target *t, const tp_labels *l, char *err, size_t errlen)
{
	const char *name = tp_labels_get(l, TP_METRIC_NAME);
	if (t->spec.label_limit && l->n > t->spec.label_limit) {
		snprintf(err, errlen, "label_limit exceeded (metric: %.200s, number of labels: %u, limit: %llu)",
			 name ? name : "", l->n, (unsigned long long)t->spec.label_limit);
		return -1;
	}
	for (uint32_t i = 0; i < l->n; i++) {
		if (t->spec.label_name_length_limit && strlen(l->v[i].name) > t->spec.label_name_length_limit) {
			snprintf(err, errlen,
				 "label_name_length_limit exceeded (metric: %.200s, label name: %.200s, length: %zu, limit: %llu)",
				 name ? name : "", l->v[i].name, strlen(l->v[i].name),
				 (unsigned long long)t->spec.label_name_length_limit);
			return -1;
		}
		if (t->spec.label_value_length_limit && strlen(l->v[i].value) > t->spec.label_value_length_limit) {
			snprintf(err, errlen,
				 "label_value_length_limit exceeded (metric: %.200s, label name: %.200s, value: %.200s, length: %zu, limit: %llu)",
				 name ? name : "", l->v[i].name, l->v[i].value, strlen(l->v[i].value),
				 (unsigned long long)t->spec.label_value_length_limit);
			return -1;
		}
	}
	return 0;
}

/* Writes one synthetic series (name + target labels) = v at ts. */
static void add_synthetic(scrape_target *t, tsdb_appender *app, const char *name, int64_t ts, double v)
{
	tp_labels_builder b;
	tp_lb_init(&b, &t->arena, &t->spec.labels);
	tp_lb_set(&b, TP_METRIC_NAME, name);
	tp_labels l = tp_lb_labels(&b);
	tsdb_appender_add(app, &l, ts, v, NULL);
}

/* Commits and frees app; a batch the WAL could not take is dropped by the
 * head and logged, as Prometheus logs "Scrape commit failed". */
static void commit(scrape_target *t, tsdb_appender *app)
{
	tsdb_appender_commit(app);
	const char *err = tsdb_appender_error(app);
	if (err)
		tp_log_error("Scrape commit failed", "scrape_pool", t->spec.pool, "target", t->spec.url, "err", err);
	tsdb_appender_free(app);
}

static void report(scrape_target *t, tsdb_appender *app, int64_t ts, bool up, double dur, double scraped, double post,
		   double added)
{
	add_synthetic(t, app, "up", ts, up ? 1 : 0);
	add_synthetic(t, app, "scrape_duration_seconds", ts, dur);
	add_synthetic(t, app, "scrape_samples_scraped", ts, scraped);
	add_synthetic(t, app, "scrape_samples_post_metric_relabeling", ts, post);
	add_synthetic(t, app, "scrape_series_added", ts, added);
}

static void set_status(scrape_target *t, const char *health, const char *err, int64_t start_ms, double dur)
{
	pthread_mutex_lock(&t->smu);
	t->health = health;
	snprintf(t->last_error, sizeof(t->last_error), "%s", err ? err : "");
	t->last_scrape_ms = start_ms;
	t->last_duration_s = dur;
	pthread_mutex_unlock(&t->smu);
}

/* Stale markers at ts for every non-dropped cached series last exposed in
 * iteration `iter`. */
static void write_stale(scrape_target *t, tsdb_appender *app, uint32_t iter, int64_t ts)
{
	for (size_t i = 0; i < t->cache.cap; i++) {
		centry *e = &t->cache.slots[i];
		if (!e->key || e->dropped || e->last_iter != iter)
			continue;
		if (e->explicit_ts && !t->spec.track_timestamps_staleness)
			continue;
		tsdb_appender_add_ref(app, e->ref, ts, tsdb_stale_nan());
	}
}

int scrape_target_ingest(scrape_target *t, const char *body, size_t len, const char *content_type, int64_t start_ms,
			 double duration_s, char *err, size_t errlen)
{
	tsdb_head *head = t->m->head;
	scrape_format fmt = scrape_format_from_content_type(content_type, NULL);
	if (!t->parser_init) {
		scrape_parser_init(&t->parser, fmt, body, len);
		t->parser_init = true;
	} else {
		scrape_parser_reset(&t->parser, fmt, body, len);
	}
	scrape_parser *p = &t->parser;
	tsdb_appender *app = tsdb_appender_new(head);
	uint32_t iter = t->iter + 1;
	uint64_t scraped = 0, post = 0, added = 0;
	size_t touched = 0; /* distinct cache entries this scrape exposed */
	int rc = 0;
	err[0] = '\0';
	tp_arena_reset(&t->arena);
	for (;;) {
		scrape_entry en = scrape_parser_next(p);
		if (en == SCRAPE_ENTRY_EOF)
			break;
		if (en == SCRAPE_ENTRY_INVALID) {
			snprintf(err, errlen, "%s", p->err_msg);
			rc = -1;
			break;
		}
		if (en != SCRAPE_ENTRY_SERIES) {
			pthread_mutex_lock(&t->smu);
			scrape_metadata_observe(t->md, p, en);
			pthread_mutex_unlock(&t->smu);
			continue;
		}
		const char *raw;
		size_t rawn;
		double v;
		bool has_ts;
		int64_t ts;
		scrape_parser_series(p, &raw, &rawn, &v, &has_ts, &ts);
		scraped++;
		int64_t at = has_ts && t->spec.honor_timestamps ? ts : start_ms;
		uint64_t h = tp_hash(raw, rawn, 0);
		centry *e = cache_find(&t->cache, raw, rawn, h);
		int r = TSDB_ENOTFOUND;
		if (e && e->last_iter != iter)
			touched++;
		if (e && e->dropped) {
			e->last_iter = iter;
			continue;
		}
		if (e)
			r = tsdb_appender_add_ref(app, e->ref, at, v);
		if (r == TSDB_ENOTFOUND) {
			/* the slow path: labels, target labels, relabeling */
			tp_labels scraped_l = scrape_parser_labels_arena(p, &t->arena);
			tp_labels l = merge_target_labels(t, &scraped_l);
			bool keep = true;
			if (t->spec.n_metric_relabel) {
				tp_labels out;
				keep = relabel_process(t->spec.metric_relabel, t->spec.n_metric_relabel, &t->arena, &l, &out);
				l = out;
			}
			if (!e) {
				e = cache_put(&t->cache, raw, rawn, h);
				added++;
				touched++;
			}
			e->last_iter = iter;
			if (!keep || !tp_labels_get(&l, TP_METRIC_NAME)) {
				e->dropped = true;
				continue;
			}
			if (check_label_limits(t, &l, err, errlen) != 0) {
				rc = -1;
				break;
			}
			uint32_t ref = 0;
			r = tsdb_appender_add(app, &l, at, v, &ref);
			e->ref = ref;
		}
		e->last_iter = iter;
		e->explicit_ts = has_ts && t->spec.honor_timestamps;
		post++;
		if (t->spec.sample_limit && post > t->spec.sample_limit) {
			snprintf(err, errlen, "sample limit exceeded");
			rc = -1;
			break;
		}
		/* out-of-order, duplicate and too-old samples are counted by the head and skipped */
		(void)r;
	}
	if (rc != 0) {
		tsdb_appender_rollback(app);
		tsdb_appender_free(app);
		return -1;
	}
	if (t->iter)
		write_stale(t, app, t->iter, start_ms);
	report(t, app, start_ms, true, duration_s, (double)scraped, (double)post, (double)added);
	commit(t, app);
	t->iter = iter;
	/* forget entries this scrape did not expose (their markers are written) */
	if (touched < t->cache.count)
		cache_rebuild(&t->cache, t->cache.cap, iter);
	set_status(t, "up", NULL, start_ms, duration_s);
	return 0;
}

void scrape_target_fail(scrape_target *t, int64_t start_ms, double duration_s, const char *err)
{
	tsdb_appender *app = tsdb_appender_new(t->m->head);
	tp_arena_reset(&t->arena);
	if (t->iter)
		write_stale(t, app, t->iter, start_ms);
	report(t, app, start_ms, false, duration_s, 0, 0, 0);
	commit(t, app);
	/* every series must be looked up again after a failure */
	cache_free(&t->cache);
	t->iter++;
	set_status(t, "down", err, start_ms, duration_s);
}

/* A removed target: stale markers for its series and its synthetic ones. */
static void target_end(scrape_target *t, int64_t ts)
{
	tsdb_appender *app = tsdb_appender_new(t->m->head);
	tp_arena_reset(&t->arena);
	if (t->iter)
		write_stale(t, app, t->iter, ts);
	static const char *synth[] = { "up", "scrape_duration_seconds", "scrape_samples_scraped",
				       "scrape_samples_post_metric_relabeling", "scrape_series_added" };
	if (t->last_scrape_ms)
		for (size_t i = 0; i < TP_ARRAY_LEN(synth); i++)
			add_synthetic(t, app, synth[i], ts, tsdb_stale_nan());
	commit(t, app);
}

/* ---- the loop ---- */

static const char *reason(long code)
{
	switch (code) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

static int64_t next_slot(const scrape_target *t, int64_t now)
{
	int64_t iv = t->spec.interval_ms;
	int64_t base = now - (((now - t->offset_ms) % iv) + iv) % iv;
	return base <= now ? base + iv : base;
}

static void finish_transfer(scrape_manager *m, scrape_target *t, CURLcode res)
{
	double dur = (double)(tp_mono_ns() - t->start_ns) / 1e9;
	long code = 0;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	char err[640];
	if (t->too_big) {
		snprintf(err, sizeof(err), "body size limit exceeded");
	} else if (res == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, sizeof(err), "Get \"%s\": context deadline exceeded", t->spec.url);
	} else if (res != CURLE_OK) {
		snprintf(err, sizeof(err), "Get \"%s\": %s", t->spec.url,
			 t->curl_err[0] ? t->curl_err : curl_easy_strerror(res));
	} else if (code / 100 != 2) {
		snprintf(err, sizeof(err), "server returned HTTP status %ld %s", code, reason(code));
	} else {
		char *ct = NULL;
		curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
		if (scrape_target_ingest(t, t->body.buf ? t->body.buf : "", t->body.len, ct, t->start_ms, dur, err,
					 sizeof(err)) == 0)
			err[0] = '\0';
	}
	if (err[0])
		scrape_target_fail(t, t->start_ms, dur, err);
	curl_multi_remove_handle(m->multi, t->easy);
	t->in_flight = false;
	t->too_big = false;
	tp_sb_reset(&t->body);
	/* shrink a buffer an unusually large body left behind */
	if (t->body.cap > (8u << 20))
		tp_sb_free(&t->body);
}

static void *scrape_thread(void *arg)
{
	scrape_manager *m = arg;
	for (;;) {
		pthread_mutex_lock(&m->mu);
		if (m->stop) {
			pthread_mutex_unlock(&m->mu);
			break;
		}
		int64_t now = tp_now_ms();
		int64_t wait = 1000;
		/* finish removed targets that are idle */
		size_t o = 0;
		for (size_t i = 0; i < m->ndead; i++) {
			scrape_target *t = m->dead[i];
			if (t->in_flight) {
				m->dead[o++] = t;
				continue;
			}
			target_end(t, now);
			scrape_target_free(t);
		}
		m->ndead = o;
		for (size_t i = 0; i < m->ntargets; i++) {
			scrape_target *t = m->targets[i];
			if (t->in_flight)
				continue;
			if (!t->next_ms)
				t->next_ms = next_slot(t, now);
			if (t->next_ms <= now) {
				t->start_ms = now;
				t->start_ns = tp_mono_ns();
				t->curl_err[0] = '\0';
				t->in_flight = true;
				curl_multi_add_handle(m->multi, t->easy);
				t->next_ms = next_slot(t, now); /* skips missed slots */
			} else if (t->next_ms - now < wait) {
				wait = t->next_ms - now;
			}
		}
		pthread_mutex_unlock(&m->mu);
		int running = 0;
		curl_multi_perform(m->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			scrape_target *t = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			CURLcode res = msg->data.result;
			finish_transfer(m, t, res);
		}
		curl_multi_poll(m->multi, NULL, 0, (int)(wait > 0 ? wait : 1), NULL);
	}
	return NULL;
}

/* ---- API ---- */

scrape_manager *scrape_manager_new(tsdb_head *head)
{
	pthread_once(&curl_once, curl_init_once);
	scrape_manager *m = tp_xcalloc(1, sizeof(*m));
	m->head = head;
	m->multi = curl_multi_init();
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void scrape_manager_start(scrape_manager *m)
{
	pthread_mutex_lock(&m->mu);
	if (!m->running) {
		m->running = true;
		pthread_create(&m->th, NULL, scrape_thread, m);
	}
	pthread_mutex_unlock(&m->mu);
}

void scrape_manager_free(scrape_manager *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	bool running = m->running;
	pthread_mutex_unlock(&m->mu);
	curl_multi_wakeup(m->multi);
	if (running)
		pthread_join(m->th, NULL);
	int64_t now = tp_now_ms();
	for (size_t i = 0; i < m->ntargets; i++) {
		if (m->targets[i]->in_flight)
			curl_multi_remove_handle(m->multi, m->targets[i]->easy);
		target_end(m->targets[i], now);
		scrape_target_free(m->targets[i]);
	}
	for (size_t i = 0; i < m->ndead; i++) {
		if (m->dead[i]->in_flight)
			curl_multi_remove_handle(m->multi, m->dead[i]->easy);
		target_end(m->dead[i], now);
		scrape_target_free(m->dead[i]);
	}
	free(m->targets);
	free(m->dead);
	curl_multi_cleanup(m->multi);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void scrape_manager_sync(scrape_manager *m, const scrape_target_spec *specs, size_t n)
{
	scrape_target **nt = tp_xcalloc(n ? n : 1, sizeof(*nt));
	pthread_mutex_lock(&m->mu);
	bool *kept = tp_xcalloc(m->ntargets ? m->ntargets : 1, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < m->ntargets && !nt[i]; j++) {
			if (!kept[j] && spec_equal(&m->targets[j]->spec, &specs[i])) {
				kept[j] = true;
				nt[i] = m->targets[j];
			}
		}
		if (!nt[i])
			nt[i] = scrape_target_new(m, &specs[i]);
	}
	for (size_t j = 0; j < m->ntargets; j++) {
		if (kept[j])
			continue;
		TP_GROW(m->dead, m->capdead, m->ndead + 1);
		m->dead[m->ndead++] = m->targets[j];
	}
	free(kept);
	free(m->targets);
	m->targets = nt;
	m->ntargets = n;
	m->captargets = n;
	pthread_mutex_unlock(&m->mu);
	curl_multi_wakeup(m->multi);
}

size_t scrape_manager_status(scrape_manager *m, tp_arena *a, scrape_target_status **out)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->ntargets;
	scrape_target_status *s = tp_arena_zalloc(a, sizeof(*s) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		scrape_target *t = m->targets[i];
		s[i].pool = tp_arena_strdup(a, t->spec.pool);
		s[i].url = tp_arena_strdup(a, t->spec.url);
		s[i].labels = tp_labels_copy(a, &t->spec.labels, true);
		s[i].discovered = tp_labels_copy(a, &t->spec.discovered, true);
		s[i].interval_ms = t->spec.interval_ms;
		s[i].timeout_ms = t->spec.timeout_ms;
		pthread_mutex_lock(&t->smu);
		s[i].health = t->health;
		s[i].last_error = tp_arena_strdup(a, t->last_error);
		s[i].last_scrape_ms = t->last_scrape_ms;
		s[i].last_duration_s = t->last_duration_s;
		pthread_mutex_unlock(&t->smu);
	}
	pthread_mutex_unlock(&m->mu);
	*out = s;
	return n;
}

void scrape_manager_each_metadata(scrape_manager *m, void (*fn)(void *ud, const scrape_metadata *md), void *ud)
{
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->ntargets; i++) {
		pthread_mutex_lock(&m->targets[i]->smu);
		fn(ud, m->targets[i]->md);
		pthread_mutex_unlock(&m->targets[i]->smu);
	}
	pthread_mutex_unlock(&m->mu);
}
