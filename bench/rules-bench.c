/* SPDX-License-Identifier: Apache-2.0
 * rules-bench.c - the cost of evaluating rules: 1,000 rules (half
 * recording, half alerting with `for`) in 10 groups over 10,000 counter
 * series holding an hour of 15 s samples. Evaluates every group at
 * successive 15 s steps and prints one JSON object with the median, min
 * and max wall time of a full evaluation of all rules.
 * Usage: bench/rules-bench [--series N] [--rules N] [--runs N] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/common.h"
#include "rules/manager.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int nseries = 10000, nrules = 1000, runs = 9;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--series") == 0)
			nseries = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--rules") == 0)
			nrules = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--runs") == 0)
			runs = atoi(argv[i + 1]);
	}
	const int jobs = 100, step_ms = 15000, points = 240; /* 1 h at 15 s */
	const int64_t t0 = 1700000000000LL;
	tsdb_head *h = tsdb_head_new(NULL);
	/* http_requests_total{job="jK", instance="iN", code="200|500"} */
	tsdb_appender *app = tsdb_appender_new(h);
	uint32_t *refs = tp_xcalloc((size_t)nseries, sizeof(uint32_t));
	for (int p = 0; p < points; p++) {
		for (int s = 0; s < nseries; s++) {
			double v = (double)p * (1 + s % 7) + (s % 3);
			int64_t t = t0 + (int64_t)p * step_ms;
			if (refs[s]) {
				tsdb_appender_add_ref(app, refs[s], t, v);
				continue;
			}
			char job[16], inst[16];
			snprintf(job, sizeof job, "j%d", s % jobs);
			snprintf(inst, sizeof inst, "i%d", s / jobs);
			tp_label lv[] = { { "__name__", "http_requests_total" }, { "code", s % 10 ? "200" : "500" },
					  { "instance", inst }, { "job", job } };
			tp_labels l = { lv, 4 };
			tsdb_appender_add(app, &l, t, v, &refs[s]);
		}
		tsdb_appender_commit(app);
	}
	tsdb_appender_free(app);
	free(refs);

	/* the rule file: 10 groups, half recording, half alerting */
	char path[] = "/tmp/tp-rules-bench-XXXXXX.yml";
	int fd = mkstemps(path, 4);
	FILE *f = fdopen(fd, "w");
	int per_group = nrules / 10;
	fprintf(f, "groups:\n");
	for (int g = 0; g < 10; g++) {
		fprintf(f, "  - name: g%d\n    rules:\n", g);
		for (int r = 0; r < per_group; r++) {
			int k = (g * per_group + r) % jobs;
			if (r % 2 == 0)
				fprintf(f, "      - record: job_instance:http_requests:rate5m_%d\n"
					   "        expr: sum by (instance) (rate(http_requests_total{job=\"j%d\"}[5m]))\n",
					g * per_group + r, k);
			else
				fprintf(f, "      - alert: HighErrors%d\n"
					   "        expr: sum by (job) (rate(http_requests_total{job=\"j%d\",code=\"500\"}[5m])) /"
					   " sum by (job) (rate(http_requests_total{job=\"j%d\"}[5m])) > 0.05\n"
					   "        for: 5m\n        labels: {severity: page}\n"
					   "        annotations: {summary: \"{{ $labels.job }} at {{ $value | humanizePercentage }}\"}\n",
					g * per_group + r, k, k);
		}
	}
	fclose(f);
	promql_engine_opts eo = { 0 };
	promql_engine *e = promql_engine_new(h, &eo);
	rules_manager_opts mo = { .engine = e, .head = h,
				  .group = { .default_interval_ms = step_ms, .resend_delay_ms = 60000 } };
	rules_manager *m = rules_manager_new(&mo);
	tp_strbuf err = { 0 };
	const char *files[] = { path };
	if (rules_manager_update(m, files, 1, &err) != 0) {
		fprintf(stderr, "%s\n", tp_sb_cstr(&err));
		return 1;
	}
	double *secs = tp_xcalloc((size_t)runs, sizeof(double));
	int64_t ts = t0 + (int64_t)(points - runs - 1) * step_ms;
	for (int i = 0; i < runs; i++, ts += step_ms) {
		int64_t a = tp_mono_ns();
		rules_manager_eval_all(m, ts);
		secs[i] = (double)(tp_mono_ns() - a) / 1e9;
	}
	qsort(secs, (size_t)runs, sizeof(double), cmp_double);
	tp_strbuf errs = { 0 };
	rules_manager_rule_errors(m, ts, &errs);
	printf("{\"series\":%d,\"samples\":%d,\"rules\":%d,\"groups\":10,\"runs\":%d,"
	       "\"eval_all_seconds_median\":%.6f,\"eval_all_seconds_min\":%.6f,\"eval_all_seconds_max\":%.6f,"
	       "\"per_rule_microseconds_median\":%.1f,\"rule_errors\":%s}\n",
	       nseries, nseries * points, nrules, runs, secs[runs / 2], secs[0], secs[runs - 1],
	       secs[runs / 2] * 1e6 / nrules, errs.len ? "true" : "false");
	tp_sb_free(&errs);
	tp_sb_free(&err);
	free(secs);
	rules_manager_free(m);
	promql_engine_free(e);
	tsdb_head_free(h);
	unlink(path);
	return 0;
}
