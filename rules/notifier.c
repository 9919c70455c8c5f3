/* SPDX-License-Identifier: Apache-2.0
 * notifier.c - the Alertmanager client: a bounded queue drained by one
 * sender thread, batches posted to every Alertmanager at once with
 * libcurl's multi interface, JSON built with cJSON.
 * Invariants: queue items are owned copies (labels, annotations, URL);
 * `inflight` counts items taken off the queue and not yet finished, so
 * flush can wait for "queue empty and nothing in flight". */
#include "config.h"
#include "rules/notifier.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/common.h"
#include "lib/duration.h"
#include "lib/intern.h"

typedef struct qitem {
	tp_labels labels;       /* owned values, interned names */
	tp_labels annotations;
	int64_t starts_at_ms, ends_at_ms;
	char *generator_url;
} qitem;

struct rules_notifier {
	rules_notifier_opts opts;
	tp_labels external;           /* owned copy of opts.external_labels */
	char *user_agent;
	pthread_mutex_t mu;
	pthread_cond_t cond;          /* queue not empty / stop / drained */
	qitem **ring;                 /* circular queue of capacity opts.queue_capacity */
	size_t head, count;
	size_t inflight;
	bool stop;
	rules_am_target *targets;
	size_t ntargets;
	rules_notifier_stats stats;
	pthread_t thread;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- owned copies ---- */

static tp_labels labels_own(const tp_labels *l)
{
	tp_labels r = { .v = tp_xcalloc(l && l->n ? l->n : 1, sizeof(tp_label)), .n = l ? l->n : 0 };
	for (uint32_t i = 0; i < r.n; i++) {
		r.v[i].name = tp_intern_cstr(l->v[i].name);
		r.v[i].value = tp_xstrdup(l->v[i].value);
	}
	return r;
}

static void labels_disown(tp_labels *l)
{
	for (uint32_t i = 0; i < l->n; i++)
		free((char *)l->v[i].value);
	free(l->v);
}

static void qitem_free(qitem *q)
{
	if (!q)
		return;
	labels_disown(&q->labels);
	labels_disown(&q->annotations);
	free(q->generator_url);
	free(q);
}

static void target_copy(rules_am_target *d, const rules_am_target *s)
{
	*d = *s;
	d->url = s->url ? tp_xstrdup(s->url) : NULL;
	d->basic_user = s->basic_user ? tp_xstrdup(s->basic_user) : NULL;
	d->basic_password = s->basic_password ? tp_xstrdup(s->basic_password) : NULL;
	d->bearer_token = s->bearer_token ? tp_xstrdup(s->bearer_token) : NULL;
	d->ca_file = s->ca_file ? tp_xstrdup(s->ca_file) : NULL;
}

static void target_free(rules_am_target *t)
{
	free(t->url);
	free(t->basic_user);
	free(t->basic_password);
	free(t->bearer_token);
	free(t->ca_file);
}

static void targets_free(rules_am_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		target_free(&t[i]);
	free(t);
}

/* ---- JSON ---- */

static cJSON *labels_json(const tp_labels *l)
{
	cJSON *o = cJSON_CreateObject();
	for (uint32_t i = 0; i < l->n; i++)
		cJSON_AddStringToObject(o, l->v[i].name, l->v[i].value);
	return o;
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
	char b[48];
	tp_time_format_rfc3339(b, ms);
	cJSON_AddStringToObject(o, key, b);
}

char *rules_notifier_encode(const rules_notify_alert *alerts, size_t count)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < count; i++) {
		const rules_notify_alert *a = &alerts[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "labels", labels_json(a->labels));
		cJSON_AddItemToObject(o, "annotations", labels_json(a->annotations));
		if (a->starts_at_ms)
			add_time(o, "startsAt", a->starts_at_ms);
		if (a->ends_at_ms)
			add_time(o, "endsAt", a->ends_at_ms);
		if (a->generator_url)
			cJSON_AddStringToObject(o, "generatorURL", a->generator_url);
		cJSON_AddItemToArray(arr, o);
	}
	char *s = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return s;
}

/* ---- sending ---- */

static size_t discard(char *p, size_t size, size_t nmemb, void *ud)
{
	(void)p;
	(void)ud;
	return size * nmemb;
}

/* Posts body to every target at once; returns the number that succeeded. */
static size_t post_all(rules_notifier *n, const rules_am_target *t, size_t nt, const char *body, size_t nalerts)
{
	CURLM *multi = curl_multi_init();
	CURL **easy = tp_xcalloc(nt ? nt : 1, sizeof(CURL *));
	struct curl_slist **hdrs = tp_xcalloc(nt ? nt : 1, sizeof(struct curl_slist *));
	for (size_t i = 0; i < nt; i++) {
		CURL *e = curl_easy_init();
		easy[i] = e;
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
		if (t[i].bearer_token) {
			char *auth = tp_xmalloc(strlen(t[i].bearer_token) + 32);
			sprintf(auth, "Authorization: Bearer %s", t[i].bearer_token);
			h = curl_slist_append(h, auth);
			free(auth);
		}
		hdrs[i] = h;
		curl_easy_setopt(e, CURLOPT_URL, t[i].url);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(e, CURLOPT_USERAGENT, n->user_agent);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(t[i].timeout_ms > 0 ? t[i].timeout_ms : 10000));
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
		if (t[i].basic_user) {
			curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(e, CURLOPT_USERNAME, t[i].basic_user);
			curl_easy_setopt(e, CURLOPT_PASSWORD, t[i].basic_password ? t[i].basic_password : "");
		}
		if (t[i].ca_file)
			curl_easy_setopt(e, CURLOPT_CAINFO, t[i].ca_file);
		if (t[i].insecure_skip_verify) {
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		curl_multi_add_handle(multi, e);
	}
	int running = 1;
	while (running) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	size_t ok = 0;
	for (size_t i = 0; i < nt; i++) {
		long code = 0;
		curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &code);
		bool good = code / 100 == 2;
		pthread_mutex_lock(&n->mu);
		if (good)
			n->stats.sent += nalerts;
		else
			n->stats.errors += nalerts;
		pthread_mutex_unlock(&n->mu);
		if (good)
			ok++;
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
		curl_slist_free_all(hdrs[i]);
	}
	curl_multi_cleanup(multi);
	free(easy);
	free(hdrs);
	return ok;
}

static void send_batch(rules_notifier *n, qitem **items, size_t k)
{
	rules_notify_alert *na = tp_xcalloc(k ? k : 1, sizeof(*na));
	tp_arena a;
	tp_arena_init(&a);
	pthread_mutex_lock(&n->mu);  /* a reload may replace them */
	tp_labels ext = tp_labels_copy(&a, &n->external, true);
	pthread_mutex_unlock(&n->mu);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		/* external labels when absent, then relabeling */
		tp_labels_builder b;
		tp_lb_init(&b, &a, &items[i]->labels);
		for (uint32_t j = 0; j < ext.n; j++)
			if (!tp_labels_get(&items[i]->labels, ext.v[j].name))
				tp_lb_set(&b, ext.v[j].name, ext.v[j].value);
		tp_labels *l = tp_arena_alloc(&a, sizeof(*l));
		*l = tp_lb_labels(&b);
		if (n->opts.relabel) {
			tp_labels *out = tp_arena_alloc(&a, sizeof(*out));
			if (n->opts.relabel(n->opts.relabel_ud, l, &a, out) != 0)
				continue;
			l = out;
		}
		if (l->n == 0)
			continue;
		na[m++] = (rules_notify_alert){ .labels = l, .annotations = &items[i]->annotations,
						.starts_at_ms = items[i]->starts_at_ms, .ends_at_ms = items[i]->ends_at_ms,
						.generator_url = items[i]->generator_url };
	}
	if (m) {
		pthread_mutex_lock(&n->mu);
		size_t nt = n->ntargets;
		rules_am_target *t = tp_xcalloc(nt ? nt : 1, sizeof(*t));
		for (size_t i = 0; i < nt; i++)
			target_copy(&t[i], &n->targets[i]);
		pthread_mutex_unlock(&n->mu);
		char *body = rules_notifier_encode(na, m);
		size_t ok = nt ? post_all(n, t, nt, body, m) : 0;
		if (ok == 0) {
			pthread_mutex_lock(&n->mu);
			n->stats.dropped += m;
			pthread_mutex_unlock(&n->mu);
		}
		free(body);
		targets_free(t, nt);
	}
	tp_arena_free(&a);
	free(na);
}

static void *sender(void *arg)
{
	rules_notifier *n = arg;
	size_t maxb = n->opts.max_batch;
	qitem **batch = tp_xcalloc(maxb, sizeof(qitem *));
	pthread_mutex_lock(&n->mu);
	for (;;) {
		while (n->count == 0 && !n->stop)
			pthread_cond_wait(&n->cond, &n->mu);
		if (n->count == 0 && n->stop)
			break;
		size_t k = 0;
		while (n->count && k < maxb) {
			batch[k++] = n->ring[n->head];
			n->ring[n->head] = NULL;
			n->head = (n->head + 1) % n->opts.queue_capacity;
			n->count--;
		}
		n->inflight += k;
		pthread_mutex_unlock(&n->mu);
		send_batch(n, batch, k);
		for (size_t i = 0; i < k; i++)
			qitem_free(batch[i]);
		pthread_mutex_lock(&n->mu);
		n->inflight -= k;
		pthread_cond_broadcast(&n->cond);
	}
	pthread_mutex_unlock(&n->mu);
	free(batch);
	return NULL;
}

/* ---- API ---- */

rules_notifier *rules_notifier_new(const rules_notifier_opts *opts)
{
	pthread_once(&curl_once, curl_init_once);
	rules_notifier *n = tp_xcalloc(1, sizeof(*n));
	n->opts = *opts;
	if (!n->opts.queue_capacity)
		n->opts.queue_capacity = 10000;
	if (!n->opts.max_batch)
		n->opts.max_batch = 256;
	n->external = labels_own(opts->external_labels);
	n->opts.external_labels = &n->external;
	n->user_agent = tp_xstrdup(opts->user_agent ? opts->user_agent : "tinyprom/" PACKAGE_VERSION);
	n->ring = tp_xcalloc(n->opts.queue_capacity, sizeof(qitem *));
	n->stats.queue_capacity = n->opts.queue_capacity;
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cond, NULL);
	pthread_create(&n->thread, NULL, sender, n);
	return n;
}

void rules_notifier_free(rules_notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->thread, NULL);
	for (size_t i = 0; i < n->opts.queue_capacity; i++)
		qitem_free(n->ring[i]);
	free(n->ring);
	targets_free(n->targets, n->ntargets);
	labels_disown(&n->external);
	free(n->user_agent);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

void rules_notifier_set_external_labels(rules_notifier *n, const tp_labels *l)
{
	tp_labels nl = labels_own(l);
	pthread_mutex_lock(&n->mu);
	tp_labels old = n->external;
	n->external = nl;
	pthread_mutex_unlock(&n->mu);
	labels_disown(&old);
}

void rules_notifier_set_targets(rules_notifier *n, const rules_am_target *t, size_t count)
{
	rules_am_target *nt = tp_xcalloc(count ? count : 1, sizeof(*nt));
	for (size_t i = 0; i < count; i++)
		target_copy(&nt[i], &t[i]);
	pthread_mutex_lock(&n->mu);
	rules_am_target *old = n->targets;
	size_t nold = n->ntargets;
	n->targets = nt;
	n->ntargets = count;
	n->stats.alertmanagers = count;
	pthread_mutex_unlock(&n->mu);
	targets_free(old, nold);
}

void rules_notifier_send(void *notifier, const rules_notify_alert *alerts, size_t count)
{
	rules_notifier *n = notifier;
	pthread_mutex_lock(&n->mu);
	for (size_t i = 0; i < count; i++) {
		qitem *q = tp_xcalloc(1, sizeof(*q));
		q->labels = labels_own(alerts[i].labels);
		q->annotations = labels_own(alerts[i].annotations);
		q->starts_at_ms = alerts[i].starts_at_ms;
		q->ends_at_ms = alerts[i].ends_at_ms;
		q->generator_url = alerts[i].generator_url ? tp_xstrdup(alerts[i].generator_url) : NULL;
		size_t cap = n->opts.queue_capacity;
		if (n->count == cap) { /* full: drop the oldest */
			qitem_free(n->ring[n->head]);
			n->ring[n->head] = NULL;
			n->head = (n->head + 1) % cap;
			n->count--;
			n->stats.dropped++;
		}
		n->ring[(n->head + n->count) % cap] = q;
		n->count++;
	}
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
}

void rules_notifier_stats_get(rules_notifier *n, rules_notifier_stats *out)
{
	pthread_mutex_lock(&n->mu);
	*out = n->stats;
	out->queue_length = n->count;
	pthread_mutex_unlock(&n->mu);
}

int rules_notifier_flush(rules_notifier *n, int64_t timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&n->mu);
	int rc = 0;
	while ((n->count || n->inflight) && rc == 0)
		rc = pthread_cond_timedwait(&n->cond, &n->mu, &dl);
	int drained = n->count == 0 && n->inflight == 0;
	pthread_mutex_unlock(&n->mu);
	return drained ? 0 : -1;
}

size_t rules_notifier_urls(rules_notifier *n, tp_arena *a, const char ***out)
{
	pthread_mutex_lock(&n->mu);
	size_t k = n->ntargets;
	const char **v = tp_arena_alloc(a, sizeof(char *) * (k ? k : 1));
	for (size_t i = 0; i < k; i++)
		v[i] = tp_arena_strdup(a, n->targets[i].url);
	pthread_mutex_unlock(&n->mu);
	*out = v;
	return k;
}
