/* SPDX-License-Identifier: Apache-2.0
 * promql-data.c - the synthetic series of the PromQL benchmarks (see
 * promql-data.h). The random stream is consumed in a fixed order (initial
 * gauge values while building the series, then one or two draws per
 * series and step), so the values depend only on the scale and the step. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/promql-data.h"
#include "lib/arena.h"
#include "lib/common.h"

typedef struct gen {
	tp_labels l;
	tp_label v[5];
	double value;
	int kind;      /* 0 counter, 1 gauge, 2 bucket */
	double le;
} gen;

struct promql_bench_data {
	tp_arena arena;  /* generator strings and arrays */
	gen *g;
	size_t n;
	uint64_t rng;
};

static double rnd(promql_bench_data *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return (double)(d->rng >> 11) / 9007199254740992.0;
}

promql_bench_data *promql_bench_data_new(int scale)
{
	promql_bench_data *d = tp_xcalloc(1, sizeof(*d));
	d->rng = 0x9e3779b97f4a7c15ULL;
	int instances = 1000 * scale / 100, hist_instances = 334 * scale / 100;
	static const char *les[12] = { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
				       "0.5", "1", "2.5", "5", "10", "+Inf" };
	static const char *codes[3] = { "200", "404", "500" };
	size_t ngen = (size_t)instances * 3 * 2 + (size_t)hist_instances * 12;
	tp_arena_init(&d->arena);
	d->g = tp_arena_zalloc(&d->arena, (ngen + 1) * sizeof(gen));
	char **strs = tp_arena_zalloc(&d->arena, ((size_t)instances + 1) * sizeof(char *));
	size_t k = 0;
	for (int i = 0; i < instances; i++) {
		char *inst = strs[i] = tp_arena_alloc(&d->arena, 32);
		snprintf(inst, 32, "host-%d", i);
		char *job = tp_arena_alloc(&d->arena, 16);
		snprintf(job, 16, "job-%d", i % 10);
		for (int c = 0; c < 3; c++) {
			gen *x = &d->g[k++];
			x->v[0] = (tp_label){ "__name__", "http_requests_total" };
			x->v[1] = (tp_label){ "code", codes[c] };
			x->v[2] = (tp_label){ "instance", inst };
			x->v[3] = (tp_label){ "job", job };
			x->l = (tp_labels){ x->v, 4 };
			x->kind = 0;
		}
		for (int c = 0; c < 3; c++) {
			gen *x = &d->g[k++];
			char *cpu = tp_arena_alloc(&d->arena, 8);
			snprintf(cpu, 8, "%d", c);
			x->v[0] = (tp_label){ "__name__", "cpu_usage" };
			x->v[1] = (tp_label){ "cpu", cpu };
			x->v[2] = (tp_label){ "instance", inst };
			x->v[3] = (tp_label){ "job", job };
			x->l = (tp_labels){ x->v, 4 };
			x->kind = 1;
			x->value = rnd(d) * 100;
		}
	}
	for (int i = 0; i < hist_instances; i++) {
		for (int b = 0; b < 12; b++) {
			gen *x = &d->g[k++];
			x->v[0] = (tp_label){ "__name__", "request_duration_seconds_bucket" };
			x->v[1] = (tp_label){ "instance", strs[i] };
			x->v[2] = (tp_label){ "job", "api" };
			x->v[3] = (tp_label){ "le", les[b] };
			x->l = (tp_labels){ x->v, 4 };
			x->kind = 2;
			x->le = b == 11 ? INFINITY : atof(les[b]);
		}
	}
	d->n = k;
	return d;
}

void promql_bench_data_free(promql_bench_data *d)
{
	if (!d)
		return;
	tp_arena_free(&d->arena);
	free(d);
}

size_t promql_bench_data_nseries(const promql_bench_data *d)
{
	return d->n;
}

const tp_labels *promql_bench_data_labels(const promql_bench_data *d, size_t i)
{
	return &d->g[i].l;
}

void promql_bench_data_step(promql_bench_data *d, double *values)
{
	for (size_t i = 0; i < d->n; i++) {
		gen *x = &d->g[i];
		switch (x->kind) {
		case 0: x->value += floor(rnd(d) * 20); break;
		case 1: x->value = fmax(0, x->value + (rnd(d) - 0.5) * 10); break;
		default:
			/* observations arrive per instance; cumulative buckets */
			if (x->le == INFINITY || rnd(d) < x->le / (x->le + 0.3))
				x->value += 10;
			break;
		}
		values[i] = x->value;
	}
}
