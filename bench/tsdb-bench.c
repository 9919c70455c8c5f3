/* SPDX-License-Identifier: Apache-2.0
 * tsdb-bench.c - appends the real dataset (or a synthetic one) through the
 * head's appender in time order, one commit per timestamp as a scrape
 * does, reads every sample back, checks it bit-exact and prints one JSON
 * object with bytes per sample, append and decode rates and head memory
 * per series.
 * Usage: tsdb-bench [--file F] [--every N] [--chunk-samples N] [--synthetic N]
 * Invariant: only the append loop and the decode loop are timed. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bench/dataset.h"
#include "lib/arena.h"
#include "lib/common.h"
#include "lib/intern.h"
#include "lib/labels.h"
#include "tsdb/tsdb.h"

static bench_dataset ds;

/* CPU time of this thread: the rates stay meaningful on a loaded machine
 * (the benchmark is single-threaded). */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char l[256];
	long kb = -1;
	while (f && fgets(l, sizeof(l), f))
		if (strncmp(l, "VmRSS:", 6) == 0)
			kb = strtol(l + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	const char *file = "/work/shared/datasets/real-1s.prom.gz";
	int every = 1;
	size_t synth = 0;
	uint32_t chunk_samples = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--every") && i + 1 < argc)
			every = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--synthetic") && i + 1 < argc)
			synth = (size_t)strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--chunk-samples") && i + 1 < argc)
			chunk_samples = (uint32_t)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--file F] [--every N] [--chunk-samples N] [--synthetic N]\n", argv[0]);
			return 2;
		}
	}
	if (every < 1)
		every = 1;
	bench_dataset_init(&ds);
	if (synth)
		bench_dataset_synthetic(&ds, synth, 4);
	else if (bench_dataset_load(&ds, file, every) != 0)
		return 1;

	/* merge by timestamp */
	size_t ne;
	bench_event *evs = bench_dataset_events(&ds, &ne);
	uint32_t *refs = tp_xcalloc(ds.nseries, sizeof(uint32_t));

	long rss0 = rss_kb();
	size_t intern0 = tp_intern_bytes();
	tsdb_options o = { .chunk_samples = chunk_samples };
	tsdb_head *h = tsdb_head_new(&o);
	tsdb_appender *a = tsdb_appender_new(h);
	size_t committed = 0, rejected = 0;
	double t0 = now_s();
	for (size_t i = 0; i < ne;) {
		int64_t t = evs[i].t;
		for (; i < ne && evs[i].t == t; i++) {
			const bench_event *e = &evs[i];
			int rc = refs[e->s] ? tsdb_appender_add_ref(a, refs[e->s], e->t, e->v)
					    : tsdb_appender_add(a, &ds.series[e->s].l, e->t, e->v, &refs[e->s]);
			rejected += rc != TSDB_OK;
		}
		committed += tsdb_appender_commit(a);
	}
	double t_append = now_s() - t0;
	tsdb_appender_free(a);
	long rss1 = rss_kb();

	/* read every sample back */
	tsdb_matcher m;
	char err[256];
	tsdb_matcher_init(&m, TSDB_MATCH_RE, TP_METRIC_NAME, ".+", err, sizeof(err));
	tsdb_querier *q = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	tsdb_sample *buf = NULL;
	size_t cap = 0, decoded = 0;
	double best = 1e9;
	for (int round = 0; round < 3; round++) {
		tsdb_series_set *ss = tsdb_querier_select(q, &m, 1);
		size_t nd = 0;
		t0 = now_s();
		while (tsdb_series_set_next(ss))
			nd += tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
		double dt = now_s() - t0;
		if (dt < best)
			best = dt;
		decoded = nd;
		tsdb_series_set_free(ss);
	}
	/* verify bit-exact against the source */
	size_t bad = 0;
	for (size_t s = 0; s < ds.nseries; s++) {
		tsdb_matcher ms[8];
		const tp_labels *l = &ds.series[s].l;
		uint32_t nm = l->n < 8 ? l->n : 8;
		for (uint32_t k = 0; k < nm; k++)
			tsdb_matcher_init(&ms[k], TSDB_MATCH_EQ, l->v[k].name, l->v[k].value, NULL, 0);
		if (s % (synth ? 1000 : 1) == 0) {
			tsdb_series_set *ss = tsdb_querier_select(q, ms, nm);
			size_t got = 0;
			while (tsdb_series_set_next(ss)) {
				if (!tp_labels_equal(tsdb_series_set_labels(ss), l))
					continue;
				got = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
				for (size_t k = 0; k < got && k < ds.series[s].n; k++)
					bad += buf[k].t != ds.st[ds.series[s].first + k] ||
					       memcmp(&buf[k].v, &ds.sv[ds.series[s].first + k], 8) != 0;
			}
			bad += got != ds.series[s].n;
			tsdb_series_set_free(ss);
		}
		for (uint32_t k = 0; k < nm; k++)
			tsdb_matcher_free(&ms[k]);
	}
	tsdb_querier_free(q);
	tsdb_matcher_free(&m);

	tsdb_stats stats;
	tsdb_head_stats(h, &stats);
	size_t intern1 = tp_intern_bytes();
	printf("{\"samples\": %zu, \"series\": %" PRIu64 ", \"chunks\": %" PRIu64 ", \"chunk_samples\": %u, "
	       "\"every\": %d, \"rejected\": %zu, \"mismatches\": %zu, "
	       "\"bytes_per_sample\": %.4f, \"append_samples_per_sec\": %.0f, \"decode_samples_per_sec\": %.0f, "
	       "\"head_bytes_per_series\": %.1f, \"head_bytes_per_series_with_symbols\": %.1f, "
	       "\"rss_bytes_per_series\": %.1f}\n",
	       committed, stats.num_series, stats.num_chunks, chunk_samples ? chunk_samples : 120, every, rejected,
	       bad, (double)stats.chunk_bytes / (double)committed, (double)committed / t_append,
	       (double)decoded / best, (double)stats.head_bytes / (double)stats.num_series,
	       (double)(stats.head_bytes + intern1 - intern0) / (double)stats.num_series,
	       (double)(rss1 - rss0) * 1024.0 / (double)stats.num_series);
	tsdb_head_free(h);
	free(buf);
	free(evs);
	free(refs);
	bench_dataset_free(&ds);
	return bad ? 1 : 0;
}
