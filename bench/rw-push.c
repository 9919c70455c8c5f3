/* SPDX-License-Identifier: Apache-2.0
 * rw-push.c - pushes a benchmark dataset into any remote-write 1.0
 * receiver (tinyprom or Prometheus), in time order as scrapes would
 * append it, and reports the ingest rate. Used by bench/compare-ingest.sh
 * to load the same data into both servers.
 *
 *   rw-push URL [--data FILE.gz | --synthetic N:PER] [--every K]
 *           [--batch SAMPLES] [--conns C] [--shift-to-now]
 *
 * --data: the real dataset (../shared/datasets/real-1s.prom.gz), one sample
 * in K kept; --synthetic: N series with PER samples each at 15 s.
 * --batch: samples per request (default 2000). --conns: parallel
 * connections; series are split across them by index, so every series
 * stays in time order. --shift-to-now: moves timestamps so the newest is
 * one minute ago (Prometheus's head rejects data far behind its newest).
 * Prints one line: samples, requests, failed requests, seconds, samples/s.
 * Exits 1 when a request was rejected. */
#include "config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/dataset.h"
#include "lib/common.h"
#include "remote/sender.h"
#include "tests/support/rwclient.h"

typedef struct worker {
	const char *url;
	const bench_dataset *d;
	const bench_event *ev;
	size_t nev;
	unsigned idx, conns;
	size_t batch;
	int64_t shift;
	size_t samples, requests, failed;
	char err[256];
} worker;

static void *run(void *arg)
{
	worker *w = arg;
	CURL *e = curl_easy_init();
	struct curl_slist *h = rwc_headers(RWC_WRITE_VERSION, "Expect:", NULL);
	rwc_body resp = { 0 };
	remote_send_sample *buf = tp_xmalloc(w->batch * sizeof(*buf));
	size_t n = 0;
	for (size_t i = 0; i <= w->nev; i++) {
		if (i < w->nev) {
			const bench_event *ev = &w->ev[i];
			if (ev->s % w->conns != w->idx)
				continue;
			buf[n++] = (remote_send_sample){ .labels = &w->d->series[ev->s].l, .t = ev->t + w->shift,
							 .v = ev->v };
			if (n < w->batch)
				continue;
		}
		if (!n)
			break;
		size_t len;
		char *body = remote_write_encode(buf, n, &len);
		long status;
		CURLcode rc = rwc_post(e, w->url, h, body, len, &resp, &status);
		w->requests++;
		if (rc == CURLE_OK && status / 100 == 2) {
			w->samples += n;
		} else {
			if (!w->failed++)  /* the first rejection's answer */
				snprintf(w->err, sizeof w->err, "%.200s", resp.p ? resp.p : "");
		}
		free(body);
		n = 0;
	}
	free(buf);
	free(resp.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rw-push URL [--data FILE.gz | --synthetic N:PER] [--every K] "
				"[--batch SAMPLES] [--conns C] [--shift-to-now]\n");
		return 2;
	}
	const char *url = argv[1], *data = NULL;
	size_t syn_n = 0, batch = 2000;
	int syn_per = 0, every = 1;
	unsigned conns = 1;
	bool shift_now = false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--synthetic") && i + 1 < argc)
			sscanf(argv[++i], "%zu:%d", &syn_n, &syn_per);
		else if (!strcmp(argv[i], "--every") && i + 1 < argc)
			every = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--conns") && i + 1 < argc)
			conns = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--shift-to-now"))
			shift_now = true;
		else {
			fprintf(stderr, "rw-push: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!batch || !conns || every < 1)
		return 2;
	bench_dataset d;
	bench_dataset_init(&d);
	if (data) {
		if (bench_dataset_load(&d, data, every) != 0)
			return 1;
	} else {
		bench_dataset_synthetic(&d, syn_n ? syn_n : 10000, syn_per ? syn_per : 240);
	}
	size_t nev;
	bench_event *ev = bench_dataset_events(&d, &nev);
	int64_t shift = 0;
	if (shift_now && nev)
		shift = tp_now_ms() - 60000 - ev[nev - 1].t;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	worker *w = tp_xcalloc(conns, sizeof(*w));
	pthread_t *th = tp_xcalloc(conns, sizeof(*th));
	int64_t t0 = tp_mono_ns();
	for (unsigned i = 0; i < conns; i++) {
		w[i] = (worker){ .url = url, .d = &d, .ev = ev, .nev = nev, .idx = i, .conns = conns,
				 .batch = batch, .shift = shift };
		pthread_create(&th[i], NULL, run, &w[i]);
	}
	size_t samples = 0, requests = 0, failed = 0;
	for (unsigned i = 0; i < conns; i++) {
		pthread_join(th[i], NULL);
		samples += w[i].samples;
		requests += w[i].requests;
		failed += w[i].failed;
		if (w[i].failed)
			fprintf(stderr, "rw-push: connection %u: %zu failed requests, first: %s\n", i, w[i].failed,
				w[i].err);
	}
	double secs = (double)(tp_mono_ns() - t0) / 1e9;
	printf("samples=%zu requests=%zu failed=%zu seconds=%.3f samples_per_s=%.0f\n", samples, requests, failed,
	       secs, (double)samples / secs);
	free(w);
	free(th);
	free(ev);
	bench_dataset_free(&d);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
