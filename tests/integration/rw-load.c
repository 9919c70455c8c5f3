/* SPDX-License-Identifier: Apache-2.0
 * rw-load.c - a remote-write 1.0 load generator that keeps a log of what
 * the receiver acknowledged, and a verifier that reads that log back
 * through remote read. Used by the crash, WAL-corruption and retention
 * tests to prove "nothing acknowledged is lost".
 *
 *   rw-load write  --url URL --acked FILE [--series N] [--start-ms T]
 *                  [--step-ms S] [--requests R] [--interval-ms I] [--name M]
 *   rw-load verify --url URL --acked FILE [--name M]
 *
 * write: request k carries one sample for each of N series
 * {__name__=M, series="0".."N-1"} at t = T + k*S (T defaults to now), the
 * value a function of (k, series). Sends R requests (0: until SIGTERM or
 * SIGINT) and exits 1 when the server rejected any with a 4xx. A request
 * that fails (connection refused while the server is down, 5xx, 4xx) is
 * not retried: the next one uses the next timestamp, so timestamps only
 * grow.
 * verify: one remote read (SAMPLES) over the acked time range; prints
 * `acked= found= missing= max_found_t= min_missing_t=` and the first
 * missing samples; exits 1 when any acked sample is missing or differs.
 *
 * Invariants: a sample is appended to FILE (one line "series t_ms value",
 * value in %a so it round-trips bit-exact) only after its request got a
 * 2xx, and FILE is fsynced before the next request is sent, so FILE never
 * claims more than the server acknowledged. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/labels.h"
#include "remote/remote.pb-c.h"
#include "remote/sender.h"
#include "tests/support/rwclient.h"

/* ---- options ---- */

typedef struct opts {
	const char *mode, *url, *acked, *name;
	long series, requests, interval_ms;
	int64_t start_ms, step_ms;
} opts;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fputs("usage: rw-load write|verify --url URL --acked FILE [--series N] [--start-ms T] [--step-ms S]\n"
	      "               [--requests R] [--interval-ms I] [--name M]\n",
	      stderr);
	exit(2);
}

static void parse_opts(int argc, char **argv, opts *o)
{
	*o = (opts){ .name = "rwload", .series = 10, .step_ms = 1, .start_ms = INT64_MIN };
	if (argc < 2)
		usage();
	o->mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i];
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (!strcmp(k, "--url"))
			o->url = v;
		else if (!strcmp(k, "--acked"))
			o->acked = v;
		else if (!strcmp(k, "--name"))
			o->name = v;
		else if (!strcmp(k, "--series"))
			o->series = strtol(v, NULL, 10);
		else if (!strcmp(k, "--requests"))
			o->requests = strtol(v, NULL, 10);
		else if (!strcmp(k, "--interval-ms"))
			o->interval_ms = strtol(v, NULL, 10);
		else if (!strcmp(k, "--start-ms"))
			o->start_ms = strtoll(v, NULL, 10);
		else if (!strcmp(k, "--step-ms"))
			o->step_ms = strtoll(v, NULL, 10);
		else
			usage();
	}
	if (!o->url || !o->acked || o->series <= 0 || o->step_ms <= 0)
		usage();
}

/* ---- HTTP ---- */

/* POSTs a snappy body; returns the HTTP status, or 0 on a transport
 * error (the response body, if any, is left in resp). */
static long post(CURL *c, const char *url, const char *version, const char *body, size_t n, rwc_body *resp)
{
	struct curl_slist *h = rwc_headers(version, NULL);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	long code;
	if (rwc_post(c, url, h, body, n, resp, &code) != CURLE_OK)
		code = 0;
	curl_slist_free_all(h);
	return code;
}

/* ---- write ---- */

static double value_of(long k, long s)
{
	/* not a small integer, so a wrong bit shows; distinct per sample */
	return (double)k * 1.000001 + (double)s / 7.0;
}

static int run_write(const opts *o)
{
	FILE *f = fopen(o->acked, "a");
	if (!f) {
		fprintf(stderr, "rw-load: %s: %s\n", o->acked, strerror(errno));
		return 2;
	}
	char url[512];
	snprintf(url, sizeof url, "%s/api/v1/write", o->url);
	int64_t t0 = o->start_ms == INT64_MIN ? now_ms() : o->start_ms;
	long n = o->series;
	char (*svals)[24] = calloc((size_t)n, sizeof *svals);
	tp_label *lab = calloc((size_t)n * 2, sizeof *lab);
	tp_labels *ls = calloc((size_t)n, sizeof *ls);
	remote_send_sample *smp = calloc((size_t)n, sizeof *smp);
	CURL *c = curl_easy_init();
	if (!svals || !lab || !ls || !smp || !c) {
		fputs("rw-load: out of memory\n", stderr);
		return 2;
	}
	for (long s = 0; s < n; s++) {
		snprintf(svals[s], sizeof svals[s], "%ld", s);
		lab[2 * s] = (tp_label){ "__name__", o->name };
		lab[2 * s + 1] = (tp_label){ "series", svals[s] };
		ls[s] = (tp_labels){ &lab[2 * s], 2 };
		smp[s].labels = &ls[s];
	}
	rwc_body resp = { 0 };
	long acked = 0, failed = 0, rejected = 0;
	for (long k = 0; !stop_requested && (o->requests == 0 || k < o->requests); k++) {
		int64_t t = t0 + k * o->step_ms;
		for (long s = 0; s < n; s++) {
			smp[s].t = t;
			smp[s].v = value_of(k, s);
		}
		size_t zn;
		char *z = remote_write_encode(smp, (size_t)n, &zn);
		long code = post(c, url, RWC_WRITE_VERSION, z, zn, &resp);
		free(z);
		if (code >= 200 && code < 300) {
			for (long s = 0; s < n; s++)
				fprintf(f, "%ld %" PRId64 " %a\n", s, t, smp[s].v);
			if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
				fprintf(stderr, "rw-load: writing %s: %s\n", o->acked, strerror(errno));
				return 2;
			}
			acked++;
		} else {
			if (code >= 400 && code < 500) {
				rejected++;
				fprintf(stderr, "rw-load: t=%" PRId64 " rejected with %ld: %s\n", t, code,
					resp.p ? resp.p : "");
			}
			failed++;
			usleep(20000); /* the server is probably down: don't spin */
		}
		if (o->interval_ms > 0)
			usleep((useconds_t)o->interval_ms * 1000);
	}
	fprintf(stderr, "rw-load: acked=%ld failed=%ld rejected=%ld samples_acked=%ld\n", acked, failed,
		rejected, acked * n);
	fclose(f);
	curl_easy_cleanup(c);
	free(resp.p);
	free(svals);
	free(lab);
	free(ls);
	free(smp);
	return rejected ? 1 : 0;
}

/* ---- verify ---- */

typedef struct asample {
	long s;
	int64_t t;
	double v;
} asample;

typedef struct got {
	int64_t *t;
	double *v;
	size_t n;
} got;

static int cmp_asample(const void *a, const void *b)
{
	const asample *x = a, *y = b;
	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

static int run_verify(const opts *o)
{
	FILE *f = fopen(o->acked, "r");
	if (!f) {
		fprintf(stderr, "rw-load: %s: %s\n", o->acked, strerror(errno));
		return 2;
	}
	asample *a = NULL;
	size_t na = 0, capa = 0;
	long maxs = -1;
	int64_t mint = INT64_MAX, maxt = INT64_MIN;
	char line[256];
	while (fgets(line, sizeof line, f)) {
		asample x;
		char *e;
		x.s = strtol(line, &e, 10);
		x.t = strtoll(e, &e, 10);
		x.v = strtod(e, NULL);
		if (na == capa) {
			capa = capa ? capa * 2 : 4096;
			a = realloc(a, capa * sizeof *a);
		}
		a[na++] = x;
		if (x.s > maxs)
			maxs = x.s;
		if (x.t < mint)
			mint = x.t;
		if (x.t > maxt)
			maxt = x.t;
	}
	fclose(f);
	if (na == 0) {
		printf("acked=0 found=0 missing=0 max_found_t=0 min_missing_t=0\n");
		return 0;
	}

	Prometheus__LabelMatcher m = PROMETHEUS__LABEL_MATCHER__INIT, *mp = &m;
	m.type = PROMETHEUS__LABEL_MATCHER__TYPE__EQ;
	m.name = "__name__";
	m.value = (char *)o->name;
	Prometheus__Query q = PROMETHEUS__QUERY__INIT, *qp = &q;
	q.start_timestamp_ms = mint;
	q.end_timestamp_ms = maxt;
	q.n_matchers = 1;
	q.matchers = &mp;
	Prometheus__ReadRequest rr = PROMETHEUS__READ_REQUEST__INIT;
	rr.n_queries = 1;
	rr.queries = &qp;
	size_t zn;
	char *z = rwc_pack_snappy(&rr.base, &zn);
	char url[512];
	snprintf(url, sizeof url, "%s/api/v1/read", o->url);
	CURL *c = curl_easy_init();
	rwc_body resp = { 0 };
	long code = post(c, url, RWC_READ_VERSION, z, zn, &resp);
	free(z);
	curl_easy_cleanup(c);
	if (code != 200) {
		fprintf(stderr, "rw-load: remote read answered %ld: %s\n", code, resp.p ? resp.p : "");
		return 2;
	}
	char err[256];
	Prometheus__ReadResponse *rs = rwc_read_response_decode(&resp, err, sizeof err);
	if (!rs && err[0]) {
		fprintf(stderr, "rw-load: remote read response: %s\n", err);
		return 2;
	}
	if (!rs || rs->n_results != 1) {
		fprintf(stderr, "rw-load: remote read response does not decode\n");
		return 2;
	}
	got *g = calloc((size_t)maxs + 1, sizeof *g);
	Prometheus__QueryResult *qr = rs->results[0];
	for (size_t i = 0; i < qr->n_timeseries; i++) {
		Prometheus__TimeSeries *t = qr->timeseries[i];
		long s = -1;
		for (size_t j = 0; j < t->n_labels; j++)
			if (!strcmp(t->labels[j]->name, "series"))
				s = strtol(t->labels[j]->value, NULL, 10);
		if (s < 0 || s > maxs)
			continue;
		g[s].n = t->n_samples;
		g[s].t = malloc((t->n_samples + 1) * sizeof(int64_t));
		g[s].v = malloc((t->n_samples + 1) * sizeof(double));
		for (size_t j = 0; j < t->n_samples; j++) {
			g[s].t[j] = t->samples[j]->timestamp;
			g[s].v[j] = t->samples[j]->value;
		}
	}
	qsort(a, na, sizeof *a, cmp_asample);
	size_t found = 0, missing = 0;
	int64_t max_found = INT64_MIN, min_missing = INT64_MAX;
	for (size_t i = 0; i < na; i++) {
		got *h = &g[a[i].s];
		size_t lo = 0, hi = h->n; /* samples come back sorted by time */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (h->t[mid] < a[i].t)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < h->n && h->t[lo] == a[i].t && memcmp(&h->v[lo], &a[i].v, sizeof(double)) == 0) {
			found++;
			if (a[i].t > max_found)
				max_found = a[i].t;
			continue;
		}
		if (missing < 20) {
			if (lo < h->n && h->t[lo] == a[i].t)
				printf("# wrong value: series=%ld t=%" PRId64 " want %a got %a\n", a[i].s, a[i].t,
				       a[i].v, h->v[lo]);
			else
				printf("# missing: series=%ld t=%" PRId64 " v=%a\n", a[i].s, a[i].t, a[i].v);
		}
		missing++;
		if (a[i].t < min_missing)
			min_missing = a[i].t;
	}
	printf("acked=%zu found=%zu missing=%zu max_found_t=%" PRId64 " min_missing_t=%" PRId64 "\n", na,
	       found, missing, max_found == INT64_MIN ? 0 : max_found,
	       min_missing == INT64_MAX ? 0 : min_missing);
	for (long s = 0; s <= maxs; s++) {
		free(g[s].t);
		free(g[s].v);
	}
	free(g);
	prometheus__read_response__free_unpacked(rs, NULL);
	free(resp.p);
	free(a);
	return missing ? 1 : 0;
}

int main(int argc, char **argv)
{
	opts o;
	parse_opts(argc, argv, &o);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc;
	if (!strcmp(o.mode, "write"))
		rc = run_write(&o);
	else if (!strcmp(o.mode, "verify"))
		rc = run_verify(&o);
	else
		usage();
	curl_global_cleanup();
	return rc;
}
