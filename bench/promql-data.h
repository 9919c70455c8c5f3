/* SPDX-License-Identifier: Apache-2.0
 * promql-data.h - the synthetic series of the PromQL benchmarks, shared by
 * promql-bench (loaded straight into a head) and promql-load (sent to
 * tinyprom and Prometheus by remote write), so both see the same data:
 *   http_requests_total{code,instance,job}     counters, +0..19 a step
 *   cpu_usage{cpu,instance,job}                gauges, a random walk in [0, ...)
 *   request_duration_seconds_bucket{instance,job="api",le}
 *                                              classic histogram buckets
 * 1,000 instances (3 codes, 3 cpus each) and 334 histogram instances of 12
 * buckets at scale 100: 10,008 series. A fixed seed makes every run
 * produce the same values. */
#ifndef BENCH_PROMQL_DATA_H
#define BENCH_PROMQL_DATA_H

#include <stddef.h>

#include "lib/labels.h"

typedef struct promql_bench_data promql_bench_data;

/* scale_percent scales the number of instances (100: 10,008 series). */
promql_bench_data *promql_bench_data_new(int scale_percent);
void promql_bench_data_free(promql_bench_data *d);
size_t promql_bench_data_nseries(const promql_bench_data *d);
const tp_labels *promql_bench_data_labels(const promql_bench_data *d, size_t i);
/* Advances every series by one interval; values[i] is series i's new
 * value (values holds nseries doubles). */
void promql_bench_data_step(promql_bench_data *d, double *values);

#endif
