/* SPDX-License-Identifier: Apache-2.0
 * api-bench.c - drives a running server's HTTP API from a second process
 * (issue 5's benchmark): remote-write ingest and query_range throughput
 * and latency. bench/api-bench.sh starts tinyprom and runs both.
 *
 *   api-bench write --url URL [--series 10000] [--writers 4] [--hours 1]
 *                   [--step-ms 15000]
 *       Writes --series series {__name__="bench_metric", job="job-<i%10>",
 *       instance="inst-<i>"} (a counter), --hours of history ending now at
 *       --step-ms, from --writers threads that each own a slice of the
 *       series and send one request per timestamp (as a remote-write shard
 *       does: 10000/4 = 2500 samples a request). Prints samples/s, the
 *       request latency p50/p99 and the request count.
 *   api-bench query --url URL --query Q [--range-s 3600] [--step-s 15]
 *                   [--clients 4] [--seconds 10]
 *       --clients threads POST query_range (form-encoded, as Grafana) of Q
 *       over the last --range-s seconds, back to back, for --seconds.
 *       Prints requests/s, p50/p99 latency, and the bytes of one answer.
 *
 * Every request must succeed (2xx, and status success for queries); the
 * exit status is 1 otherwise. Latencies are wall-clock per request,
 * measured by the client. */
#include "config.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/labels.h"
#include "remote/sender.h"
#include "tests/support/rwclient.h"

/* ---- options ---- */

typedef struct opts {
	const char *mode, *url, *query;
	long series, writers, clients;
	double hours, seconds;
	int64_t step_ms, range_s, qstep_s;
} opts;

static _Noreturn void usage(void)
{
	fputs("usage: api-bench write --url URL [--series N] [--writers W] [--hours H] [--step-ms S]\n"
	      "       api-bench query --url URL --query Q [--range-s R] [--step-s S] [--clients C] [--seconds T]\n",
	      stderr);
	exit(2);
}

static void parse_opts(int argc, char **argv, opts *o)
{
	*o = (opts){ .series = 10000, .writers = 4, .clients = 4, .hours = 1, .seconds = 10, .step_ms = 15000,
		     .range_s = 3600, .qstep_s = 15 };
	if (argc < 2)
		usage();
	o->mode = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--url"))
			o->url = v;
		else if (!strcmp(k, "--query"))
			o->query = v;
		else if (!strcmp(k, "--series"))
			o->series = strtol(v, NULL, 10);
		else if (!strcmp(k, "--writers"))
			o->writers = strtol(v, NULL, 10);
		else if (!strcmp(k, "--clients"))
			o->clients = strtol(v, NULL, 10);
		else if (!strcmp(k, "--hours"))
			o->hours = strtod(v, NULL);
		else if (!strcmp(k, "--seconds"))
			o->seconds = strtod(v, NULL);
		else if (!strcmp(k, "--step-ms"))
			o->step_ms = strtoll(v, NULL, 10);
		else if (!strcmp(k, "--range-s"))
			o->range_s = strtoll(v, NULL, 10);
		else if (!strcmp(k, "--step-s"))
			o->qstep_s = strtoll(v, NULL, 10);
		else
			usage();
	}
	if (!o->url || o->series <= 0 || o->writers <= 0 || o->clients <= 0 || o->step_ms <= 0)
		usage();
	if (!strcmp(o->mode, "query") && !o->query)
		usage();
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- latency records ---- */

typedef struct lat {
	double *v;
	size_t n, cap;
} lat;

static void lat_add(lat *l, double s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the merged, sorted latencies. */
static double pct(const lat *l, double p)
{
	if (!l->n)
		return 0;
	size_t k = (size_t)(p * (double)l->n + 0.999999);
	if (k < 1)
		k = 1;
	return l->v[(k > l->n ? l->n : k) - 1];
}

static void lat_merge(lat *dst, const lat *src)
{
	for (size_t i = 0; i < src->n; i++)
		lat_add(dst, src->v[i]);
}

/* ---- write ---- */

typedef struct writer {
	const opts *o;
	long first, count;  /* its series */
	int64_t t0, steps;
	lat lat;
	long failed;
	char err[256];
} writer;

static void *run_writer(void *arg)
{
	writer *w = arg;
	const opts *o = w->o;
	long n = w->count;
	char url[512];
	snprintf(url, sizeof url, "%s/api/v1/write", o->url);
	char (*inst)[24] = calloc((size_t)n, sizeof *inst);
	char (*job)[16] = calloc((size_t)n, sizeof *job);
	tp_label *lab = calloc((size_t)n * 3, sizeof *lab);
	tp_labels *ls = calloc((size_t)n, sizeof *ls);
	remote_send_sample *smp = calloc((size_t)n, sizeof *smp);
	if (!inst || !job || !lab || !ls || !smp)
		abort();
	for (long s = 0; s < n; s++) {
		long id = w->first + s;
		snprintf(inst[s], sizeof inst[s], "inst-%ld", id);
		snprintf(job[s], sizeof job[s], "job-%ld", id % 10);
		lab[3 * s] = (tp_label){ "__name__", "bench_metric" };
		lab[3 * s + 1] = (tp_label){ "instance", inst[s] };
		lab[3 * s + 2] = (tp_label){ "job", job[s] };
		ls[s] = (tp_labels){ &lab[3 * s], 3 };
		smp[s].labels = &ls[s];
	}
	CURL *c = curl_easy_init();
	struct curl_slist *h = rwc_headers(RWC_WRITE_VERSION, "User-Agent: api-bench", NULL);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rwc_body resp = { 0 };
	for (int64_t k = 0; k < w->steps && !w->failed; k++) {
		for (long s = 0; s < n; s++) {
			smp[s].t = w->t0 + k * o->step_ms;
			smp[s].v = (double)(k * 10 + (w->first + s) % 7);  /* a counter */
		}
		size_t zn;
		char *z = remote_write_encode(smp, (size_t)n, &zn);
		long code;
		double t = now_s();
		CURLcode rc = rwc_post(c, url, h, z, zn, &resp, &code);
		lat_add(&w->lat, now_s() - t);
		free(z);
		if (rc != CURLE_OK || code / 100 != 2) {
			w->failed++;
			snprintf(w->err, sizeof w->err, "HTTP %ld %s: %.100s", code, curl_easy_strerror(rc),
				 resp.p ? resp.p : "");
		}
	}
	free(resp.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(inst);
	free(job);
	free(lab);
	free(ls);
	free(smp);
	return NULL;
}

static int run_write(const opts *o)
{
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	int64_t now_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	int64_t steps = (int64_t)(o->hours * 3600000.0 / (double)o->step_ms);
	if (steps < 1)
		steps = 1;
	int64_t t0 = now_ms - (steps - 1) * o->step_ms;
	writer *w = calloc((size_t)o->writers, sizeof *w);
	pthread_t *th = calloc((size_t)o->writers, sizeof *th);
	long per = o->series / o->writers;
	double t = now_s();
	for (long i = 0; i < o->writers; i++) {
		w[i] = (writer){ .o = o, .first = i * per, .count = i == o->writers - 1 ? o->series - i * per : per,
				 .t0 = t0, .steps = steps };
		pthread_create(&th[i], NULL, run_writer, &w[i]);
	}
	lat all = { 0 };
	long failed = 0;
	for (long i = 0; i < o->writers; i++) {
		pthread_join(th[i], NULL);
		lat_merge(&all, &w[i].lat);
		if (w[i].failed) {
			failed += w[i].failed;
			fprintf(stderr, "api-bench: writer %ld: %s\n", i, w[i].err);
		}
		free(w[i].lat.v);
	}
	double el = now_s() - t;
	qsort(all.v, all.n, sizeof(double), cmp_double);
	double samples = (double)o->series * (double)steps;
	printf("write series=%ld writers=%ld requests=%zu samples=%.0f seconds=%.3f samples_per_s=%.0f "
	       "p50_ms=%.2f p99_ms=%.2f failed=%ld\n",
	       o->series, o->writers, all.n, samples, el, samples / el, pct(&all, 0.50) * 1000, pct(&all, 0.99) * 1000,
	       failed);
	free(all.v);
	free(w);
	free(th);
	return failed ? 1 : 0;
}

/* ---- query ---- */

typedef struct client {
	const opts *o;
	double until;
	char *form;
	lat lat;
	long failed;
	size_t bytes;
	char err[256];
} client;

static void *run_client(void *arg)
{
	client *cl = arg;
	char url[512];
	snprintf(url, sizeof url, "%s/api/v1/query_range", cl->o->url);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "User-Agent: Grafana/10.4.1 (api-bench)");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, cl->form);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rwc_collect);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rwc_body resp = { 0 };
	while (now_s() < cl->until && !cl->failed) {
		resp.n = 0;
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
		double t = now_s();
		CURLcode rc = curl_easy_perform(c);
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		lat_add(&cl->lat, now_s() - t);
		cl->bytes = resp.n;
		if (rc != CURLE_OK || code != 200 || !resp.p || !strstr(resp.p, "\"status\":\"success\"")) {
			cl->failed++;
			snprintf(cl->err, sizeof cl->err, "HTTP %ld %s: %.150s", code, curl_easy_strerror(rc),
				 resp.p ? resp.p : "");
		}
	}
	free(resp.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int run_query(const opts *o)
{
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	int64_t end = (int64_t)wall.tv_sec / o->qstep_s * o->qstep_s;  /* aligned, as Grafana does */
	int64_t start = end - o->range_s;
	char *q = curl_easy_escape(NULL, o->query, 0);
	char form[4096];
	snprintf(form, sizeof form, "query=%s&start=%" PRId64 "&end=%" PRId64 "&step=%" PRId64, q, start, end,
		 o->qstep_s);
	curl_free(q);
	client *cl = calloc((size_t)o->clients, sizeof *cl);
	pthread_t *th = calloc((size_t)o->clients, sizeof *th);
	double t = now_s();
	for (long i = 0; i < o->clients; i++) {
		cl[i] = (client){ .o = o, .until = t + o->seconds, .form = form };
		pthread_create(&th[i], NULL, run_client, &cl[i]);
	}
	lat all = { 0 };
	long failed = 0;
	size_t bytes = 0;
	for (long i = 0; i < o->clients; i++) {
		pthread_join(th[i], NULL);
		lat_merge(&all, &cl[i].lat);
		bytes = cl[i].bytes;
		if (cl[i].failed) {
			failed += cl[i].failed;
			fprintf(stderr, "api-bench: client %ld: %s\n", i, cl[i].err);
		}
		free(cl[i].lat.v);
	}
	double el = now_s() - t;
	qsort(all.v, all.n, sizeof(double), cmp_double);
	printf("query clients=%ld requests=%zu seconds=%.3f requests_per_s=%.1f p50_ms=%.2f p99_ms=%.2f "
	       "response_bytes=%zu failed=%ld\n",
	       o->clients, all.n, el, (double)all.n / el, pct(&all, 0.50) * 1000, pct(&all, 0.99) * 1000, bytes,
	       failed);
	free(all.v);
	free(cl);
	free(th);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	opts o;
	parse_opts(argc, argv, &o);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = 2;
	if (!strcmp(o.mode, "write"))
		rc = run_write(&o);
	else if (!strcmp(o.mode, "query"))
		rc = run_query(&o);
	else
		usage();
	curl_global_cleanup();
	return rc;
}
