/* SPDX-License-Identifier: Apache-2.0
 * dataset.h - the benchmark datasets shared by tsdb-bench and wal-bench:
 * the real scrape data (gzip'd text lines `name{l="v",...} VALUE TS_MS`,
 * grouped by series, each series in time order; optionally one sample in
 * `every`), or a synthetic load of n series with `per` samples each, and
 * the samples merged into time order as scrapes append them. */
#ifndef BENCH_DATASET_H
#define BENCH_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/labels.h"

typedef struct bench_series {
	tp_labels l;              /* strings in the dataset's arena */
	size_t first, n;          /* into st/sv */
} bench_series;

typedef struct bench_dataset {
	tp_arena arena;
	bench_series *series;
	size_t nseries, capseries;
	int64_t *st;              /* sample timestamps, grouped by series */
	double *sv;               /* sample values, likewise */
	size_t nsamples, capsamples;
} bench_dataset;

/* One sample of the time-ordered stream: series index s. */
typedef struct bench_event {
	int64_t t;
	uint32_t s;
	double v;
} bench_event;

void bench_dataset_init(bench_dataset *d);
/* Loads the real dataset keeping one sample in every. 0, or -1 (message on stderr). */
int bench_dataset_load(bench_dataset *d, const char *file, int every);
void bench_dataset_synthetic(bench_dataset *d, size_t n, int per);
/* Every sample in (time, series) order; malloc'd, *n set. */
bench_event *bench_dataset_events(const bench_dataset *d, size_t *n);
void bench_dataset_free(bench_dataset *d);

#endif
