/* SPDX-License-Identifier: Apache-2.0
 * promql-bench.c - PromQL engine benchmark: loads ~10,000 synthetic series
 * (promql-data.h: counters, gauges, classic histograms with 12 buckets)
 * covering 4 h at a 15 s interval into a tsdb head, then runs a fixed
 * suite of range queries (step 60 s over the 4 h) and instant queries,
 * printing per query the
 * median latency of N runs (wall clock, and CPU time of the thread) and
 * the samples scanned per second as JSON.
 *
 * Usage: promql-bench [runs] [instances_scale_percent] [query_substring]
 * Data is deterministic (fixed seed), so runs are comparable. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/promql-data.h"
#include "lib/common.h"
#include "lib/labels.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"

#define HOURS 4
#define INTERVAL_S 15

/* CPU time of this thread: on a shared machine the wall clock mostly
 * measures the neighbours. */
static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	int scale = argc > 2 ? atoi(argv[2]) : 100;
	const char *only = argc > 3 ? argv[3] : NULL;
	if (runs < 1)
		runs = 1;
	promql_bench_data *data = promql_bench_data_new(scale);
	size_t ngen = promql_bench_data_nseries(data);
	double *values = tp_xmalloc(sizeof(double) * (ngen + 1));
	uint32_t *refs = tp_xcalloc(ngen + 1, sizeof(uint32_t));
	tsdb_head *head = tsdb_head_new(NULL);
	int64_t end_ms = (int64_t)HOURS * 3600 * 1000, start_ms = 0;
	int64_t nsamples = 0;
	int64_t t_load = tp_mono_ns();
	tsdb_appender *app = tsdb_appender_new(head);
	for (int64_t t = start_ms; t <= end_ms; t += INTERVAL_S * 1000) {
		promql_bench_data_step(data, values);
		for (size_t i = 0; i < ngen; i++) {
			int rc = refs[i] ? tsdb_appender_add_ref(app, refs[i], t, values[i])
					 : tsdb_appender_add(app, promql_bench_data_labels(data, i), t, values[i], &refs[i]);
			if (rc == TSDB_OK)
				nsamples++;
		}
		tsdb_appender_commit(app);
	}
	tsdb_appender_free(app);
	double load_s = (double)(tp_mono_ns() - t_load) / 1e9;

	static const char *queries[] = {
		"rate(http_requests_total[5m])",
		"sum by (job) (rate(http_requests_total[5m]))",
		"histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
		"topk(5, cpu_usage)",
		"count by (job) (cpu_usage)",
		"cpu_usage{instance=~\"host-1.*\"}",
		"avg_over_time(cpu_usage[1h])",
		"cpu_usage * on(job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))",
	};
	promql_engine *eng = promql_engine_new(head, NULL);
	printf("{\n  \"series\": %zu,\n  \"samples\": %lld,\n  \"load_seconds\": %.3f,\n  \"runs\": %d,\n  \"queries\": [\n",
	       ngen, (long long)nsamples, load_s, runs);
	int64_t *lat = tp_xmalloc(sizeof(int64_t) * (size_t)runs);
	int64_t *cpu = tp_xmalloc(sizeof(int64_t) * (size_t)runs);
	size_t nq = sizeof(queries) / sizeof(queries[0]);
	bool first = true;
	const char *mode_env = getenv("BENCH_MODE"); /* "range" or "instant": only that mode */
	for (int mode = 0; mode < 2; mode++) {
		if (mode_env && strcmp(mode_env, mode == 0 ? "range" : "instant") != 0)
			continue;
		for (size_t q = 0; q < nq; q++) {
			if (only && !strstr(queries[q], only))
				continue;
			uint64_t scanned = 0;
			size_t nseries = 0;
			const char *err = NULL;
			for (int r = 0; r < runs; r++) {
				promql_result res;
				int64_t t0 = tp_mono_ns(), c0 = cpu_ns();
				promql_err rc = mode == 0 ? promql_query_range(eng, queries[q], start_ms, end_ms, 60000, &res)
							  : promql_query_instant(eng, queries[q], end_ms, &res);
				lat[r] = tp_mono_ns() - t0;
				cpu[r] = cpu_ns() - c0;
				scanned = res.samples_scanned;
				nseries = res.nseries;
				if (rc != PROMQL_OK && !err)
					err = "error";
				promql_result_free(&res);
			}
			qsort(lat, (size_t)runs, sizeof(int64_t), cmp_i64);
			qsort(cpu, (size_t)runs, sizeof(int64_t), cmp_i64);
			double med_s = (double)lat[runs / 2] / 1e9;
			printf("%s    {\"mode\": \"%s\", \"query\": \"", first ? "" : ",\n", mode == 0 ? "range" : "instant");
			for (const char *p = queries[q]; *p; p++) {
				if (*p == '"' || *p == '\\')
					putchar('\\');
				putchar(*p);
			}
			printf("\", \"median_ms\": %.3f, \"median_cpu_ms\": %.3f, \"samples_scanned\": %llu, "
			       "\"samples_per_second\": %.0f, \"result_series\": %zu%s}",
			       med_s * 1000, (double)cpu[runs / 2] / 1e6, (unsigned long long)scanned, med_s > 0 ? (double)scanned / med_s : 0.0, nseries,
			       err ? ", \"error\": true" : "");
			first = false;
		}
	}
	printf("\n  ]\n}\n");
	free(lat);
	free(cpu);
	promql_engine_free(eng);
	tsdb_head_free(head);
	free(values);
	free(refs);
	promql_bench_data_free(data);
	return 0;
}
