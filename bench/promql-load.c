/* SPDX-License-Identifier: Apache-2.0
 * promql-load.c - sends the PromQL benchmark data (promql-data.h) by remote
 * write 1.0 to one or more receivers, so tinyprom and Prometheus hold the
 * same samples (bench/promql-compare.sh).
 *
 * Usage: promql-load [--scale P] [--interval-s S] [--batch STEPS]
 *                    --end-ms T --duration-s D URL...
 * Samples lie at end - D, end - D + S, ..., end (end is rounded down to a
 * multiple of S). Every request carries STEPS consecutive timestamps of
 * every series, in time order, so a receiver never sees a sample older
 * than one it already has (Prometheus 2.42 rejects out-of-order samples).
 * Prints one line of key=value figures; exits non-zero when a receiver
 * refuses a request. */
#include "config.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/promql-data.h"
#include "lib/common.h"
#include "remote/sender.h"
#include "tests/support/rwclient.h"

/* POSTs one snappy-compressed WriteRequest; 0 when accepted. */
static int post(CURL *c, const char *url, const char *body, size_t n)
{
	struct curl_slist *h = rwc_headers(RWC_WRITE_VERSION, NULL);
	rwc_body r = { 0 };
	long status;
	CURLcode rc = rwc_post(c, url, h, body, n, &r, &status);
	curl_slist_free_all(h);
	int ret = 0;
	if (rc != CURLE_OK || status / 100 != 2) {
		fprintf(stderr, "promql-load: %s: %s (HTTP %ld) %.511s\n", url, curl_easy_strerror(rc), status,
			r.p ? r.p : "");
		ret = -1;
	}
	free(r.p);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: promql-load [--scale P] [--interval-s S] [--batch STEPS] --end-ms T --duration-s D URL...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int scale = 100, interval_s = 15, batch = 8;
	int64_t end_ms = -1, duration_s = -1;
	const char *urls[8];
	int nurls = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--scale") == 0 && i + 1 < argc)
			scale = atoi(argv[++i]);
		else if (strcmp(a, "--interval-s") == 0 && i + 1 < argc)
			interval_s = atoi(argv[++i]);
		else if (strcmp(a, "--batch") == 0 && i + 1 < argc)
			batch = atoi(argv[++i]);
		else if (strcmp(a, "--end-ms") == 0 && i + 1 < argc)
			end_ms = strtoll(argv[++i], NULL, 10);
		else if (strcmp(a, "--duration-s") == 0 && i + 1 < argc)
			duration_s = strtoll(argv[++i], NULL, 10);
		else if (a[0] != '-' && nurls < 8)
			urls[nurls++] = a;
		else
			usage();
	}
	if (end_ms < 0 || duration_s <= 0 || nurls == 0 || scale <= 0 || interval_s <= 0 || batch <= 0)
		usage();
	int64_t step_ms = (int64_t)interval_s * 1000;
	end_ms -= end_ms % step_ms;
	int64_t start_ms = end_ms - duration_s * 1000;

	promql_bench_data *data = promql_bench_data_new(scale);
	size_t ns = promql_bench_data_nseries(data);
	double *values = tp_xmalloc(sizeof(double) * (ns + 1));

	/* the request: every series with its `batch` samples, series after series */
	remote_send_sample *smp = tp_xcalloc(ns * (size_t)batch, sizeof(*smp));
	int64_t *ts = tp_xcalloc((size_t)batch, sizeof(*ts));
	double *vs = tp_xcalloc(ns * (size_t)batch, sizeof(*vs));

	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	int64_t samples = 0, requests = 0, bytes = 0;
	int64_t *post_ns = tp_xcalloc((size_t)nurls, sizeof(int64_t));
	int rc = 0;
	for (int64_t t = start_ms; t <= end_ms && rc == 0;) {
		int k = 0;
		for (; k < batch && t <= end_ms; k++, t += step_ms) {
			promql_bench_data_step(data, values);
			ts[k] = t;
			for (size_t i = 0; i < ns; i++)
				vs[i * (size_t)batch + (size_t)k] = values[i];
		}
		size_t nsmp = 0;
		for (size_t i = 0; i < ns; i++)
			for (int j = 0; j < k; j++)
				smp[nsmp++] = (remote_send_sample){ .labels = promql_bench_data_labels(data, i),
								    .t = ts[j],
								    .v = vs[i * (size_t)batch + (size_t)j] };
		size_t zlen = 0;
		char *z = remote_write_encode(smp, nsmp, &zlen);
		for (int u = 0; u < nurls && rc == 0; u++) {
			int64_t t0 = tp_mono_ns();
			rc = post(c, urls[u], z, zlen);
			post_ns[u] += tp_mono_ns() - t0;
		}
		free(z);
		samples += (int64_t)ns * k;
		requests++;
		bytes += (int64_t)zlen;
	}
	printf("series=%zu samples=%lld requests=%lld compressed_bytes=%lld start_ms=%lld end_ms=%lld step_ms=%lld",
	       ns, (long long)samples, (long long)requests, (long long)bytes, (long long)start_ms, (long long)end_ms,
	       (long long)step_ms);
	for (int u = 0; u < nurls; u++)
		printf(" post_seconds_%d=%.2f", u, (double)post_ns[u] / 1e9);
	printf("\n");
	curl_easy_cleanup(c);
	curl_global_cleanup();
	free(post_ns);
	free(smp);
	free(ts);
	free(vs);
	free(values);
	promql_bench_data_free(data);
	return rc ? 1 : 0;
}
