/* SPDX-License-Identifier: Apache-2.0
 * dataset.c - benchmark datasets: the real scrape data and a synthetic
 * load, held as per-series sample arrays, and their time-ordered stream. */
#include "config.h"
#include "bench/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/common.h"

void bench_dataset_init(bench_dataset *d)
{
	memset(d, 0, sizeof(*d));
	tp_arena_init(&d->arena);
}

/* Parses `name{a="b",...}` into l (arena strings); returns end or NULL. */
static const char *parse_series(bench_dataset *d, const char *p, tp_labels *l)
{
	tp_label tmp[64];
	uint32_t n = 0;
	const char *s = p;
	while (*p && *p != '{' && *p != ' ')
		p++;
	tmp[n].name = TP_METRIC_NAME;
	tmp[n++].value = tp_arena_strndup(&d->arena, s, (size_t)(p - s));
	if (*p == '{') {
		p++;
		while (*p && *p != '}') {
			s = p;
			while (*p && *p != '=')
				p++;
			const char *name = tp_arena_strndup(&d->arena, s, (size_t)(p - s));
			if (p[0] != '=' || p[1] != '"')
				return NULL;
			p += 2;
			char buf[4096];
			size_t k = 0;
			while (*p && *p != '"' && k < sizeof(buf) - 1) {
				if (*p == '\\' && p[1]) {
					p++;
					buf[k++] = *p == 'n' ? '\n' : *p;
				} else {
					buf[k++] = *p;
				}
				p++;
			}
			if (*p != '"')
				return NULL;
			p++;
			if (n < 64 && k > 0) {
				tmp[n].name = name;
				tmp[n++].value = tp_arena_strndup(&d->arena, buf, k);
			}
			if (*p == ',')
				p++;
		}
		if (*p != '}')
			return NULL;
		p++;
	}
	l->n = n;
	l->v = tp_arena_alloc(&d->arena, n * sizeof(tp_label));
	memcpy(l->v, tmp, n * sizeof(tp_label));
	tp_labels_normalize(l);
	return p;
}

static void add_sample(bench_dataset *d, int64_t t, double v)
{
	if (d->nsamples == d->capsamples) {
		d->capsamples = d->capsamples ? d->capsamples * 2 : 1 << 20;
		d->st = tp_xrealloc(d->st, d->capsamples * sizeof(*d->st));
		d->sv = tp_xrealloc(d->sv, d->capsamples * sizeof(*d->sv));
	}
	d->st[d->nsamples] = t;
	d->sv[d->nsamples++] = v;
	d->series[d->nseries - 1].n++;
}

int bench_dataset_load(bench_dataset *d, const char *file, int every)
{
	gzFile f = gzopen(file, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", file);
		return -1;
	}
	static char line[65536], prev[65536];
	prev[0] = '\0';
	size_t idx = 0;
	while (gzgets(f, line, sizeof(line))) {
		char *sp = strrchr(line, '}');
		char *key_end = sp ? sp + 1 : strchr(line, ' ');
		if (!key_end)
			continue;
		size_t klen = (size_t)(key_end - line);
		if (strncmp(prev, line, klen) != 0 || prev[klen] != '\0') {
			memcpy(prev, line, klen);
			prev[klen] = '\0';
			TP_GROW(d->series, d->capseries, d->nseries + 1);
			bench_series *b = &d->series[d->nseries++];
			if (!parse_series(d, line, &b->l)) {
				fprintf(stderr, "bad line: %s", line);
				return -1;
			}
			b->first = d->nsamples;
			b->n = 0;
			idx = 0;
		}
		char *end;
		double v = strtod(key_end, &end);
		int64_t t = strtoll(end, NULL, 10);
		if (idx++ % (size_t)every == 0)
			add_sample(d, t, v);
	}
	gzclose(f);
	return 0;
}

void bench_dataset_synthetic(bench_dataset *d, size_t n, int per)
{
	for (size_t i = 0; i < n; i++) {
		TP_GROW(d->series, d->capseries, d->nseries + 1);
		bench_series *b = &d->series[d->nseries++];
		char name[64], inst[64], id[32];
		snprintf(name, sizeof(name), "synthetic_metric_%zu_total", i % 200);
		snprintf(inst, sizeof(inst), "host-%zu.example.org:9100", i / 200);
		snprintf(id, sizeof(id), "%zu", i % 10);
		tp_label tmp[4] = {
			{ TP_METRIC_NAME, tp_arena_strdup(&d->arena, name) },
			{ "cpu", tp_arena_strdup(&d->arena, id) },
			{ "instance", tp_arena_strdup(&d->arena, inst) },
			{ "job", "node" },
		};
		b->l.n = 4;
		b->l.v = tp_arena_alloc(&d->arena, sizeof(tmp));
		memcpy(b->l.v, tmp, sizeof(tmp));
		b->first = d->nsamples;
		b->n = 0;
		for (int k = 0; k < per; k++)
			add_sample(d, 1700000000000LL + 15000LL * k + (int64_t)(i % 7), (double)(i * 3 + (size_t)k));
	}
}

static int cmp_ev(const void *a, const void *b)
{
	const bench_event *x = a, *y = b;
	if (x->t != y->t)
		return (x->t > y->t) - (x->t < y->t);
	return (x->s > y->s) - (x->s < y->s);
}

bench_event *bench_dataset_events(const bench_dataset *d, size_t *n)
{
	bench_event *e = tp_xmalloc((d->nsamples ? d->nsamples : 1) * sizeof(*e));
	size_t k = 0;
	for (size_t s = 0; s < d->nseries; s++)
		for (size_t i = 0; i < d->series[s].n; i++)
			e[k++] = (bench_event){ d->st[d->series[s].first + i], (uint32_t)s, d->sv[d->series[s].first + i] };
	qsort(e, k, sizeof(*e), cmp_ev);
	*n = k;
	return e;
}

void bench_dataset_free(bench_dataset *d)
{
	free(d->st);
	free(d->sv);
	free(d->series);
	tp_arena_free(&d->arena);
	memset(d, 0, sizeof(*d));
}
