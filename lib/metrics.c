/* SPDX-License-Identifier: Apache-2.0
 * metrics.c - self-metrics registry and text exposition 0.0.4 rendering.
 * Invariants (see metrics.h): children live until the registry is freed;
 * updates are atomics only; a histogram stores per-bucket (non-cumulative)
 * counts and its _count is the sum of those, so a rendered histogram is
 * always internally consistent (+Inf bucket == _count) even while other
 * threads observe concurrently. A summary child's window (metrics.h) is
 * guarded by its own mutex; its _sum and _count are read under it too, so
 * a rendered summary is consistent as well. */
#include "config.h"
#include "lib/metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/common.h"
#include "lib/labels.h"

/* ---- types ---- */

struct tp_metric {
	tp_metric_family *fam;        /* owning family */
	char **values;                /* label values, fam->nlabels of them */
	_Atomic uint64_t ival;        /* counter: integer increments */
	_Atomic uint64_t bits;        /* double bits: counter float part, gauge value, histogram sum */
	_Atomic uint64_t *buckets;    /* histogram: nbuckets + 1 counts, last is +Inf */
	struct summary *sum;          /* summary: window and totals, else NULL */
	tp_metrics_value_fn *fn;      /* render-time value, or NULL */
	void *ud;                     /* fn's argument */
	tp_metric *next;              /* family's child list */
};

struct tp_metric_family {
	tp_metric_type type;
	char *name;
	char *help;
	char **labels;                /* label names */
	size_t nlabels;
	double *buckets;              /* histogram upper bounds, increasing, without +Inf */
	size_t nbuckets;
	double *quantiles;            /* summary quantiles, increasing, in (0, 1) */
	size_t nq;
	pthread_mutex_t mu;           /* guards children */
	tp_metric *children;
	size_t nchildren;
	tp_metric_family *next;       /* registry list */
};

struct tp_metrics_registry {
	pthread_mutex_t mu;           /* guards families */
	tp_metric_family *families;
};

/* The summary window: SUMMARY_AGE_BUCKETS buckets of SUMMARY_BUCKET_NS each
 * (client_golang's DefMaxAge 10m / DefAgeBuckets 5). */
#define SUMMARY_AGE_BUCKETS 5
#define SUMMARY_BUCKET_NS (120 * 1000000000LL)

typedef struct age_bucket {
	int64_t epoch;       /* now / SUMMARY_BUCKET_NS when it was (re)started */
	double *v;           /* up to TP_SUMMARY_SAMPLES kept observations */
	uint32_t n;          /* kept */
	uint64_t seen;       /* observed in this bucket; each kept one stands for seen/n */
} age_bucket;

struct summary {
	pthread_mutex_t mu;
	age_bucket b[SUMMARY_AGE_BUCKETS];
	uint64_t rng;        /* xorshift state for the reservoir */
	uint64_t count;      /* all time */
	double sum;          /* all time */
};

static int64_t (*g_clock)(void) = tp_mono_ns;

const double tp_metrics_default_buckets[11] = { .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10 };

/* ---- helpers ---- */

static uint64_t dbits(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	return u;
}

static double bitsd(uint64_t u)
{
	double v;
	memcpy(&v, &u, sizeof v);
	return v;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(bitsd(old) + v), memory_order_relaxed,
						      memory_order_relaxed))
		;
}

static void free_family(tp_metric_family *f)
{
	tp_metric *m = f->children;
	while (m) {
		tp_metric *n = m->next;
		for (size_t i = 0; i < f->nlabels; i++)
			free(m->values[i]);
		free(m->values);
		free(m->buckets);
		if (m->sum) {
			for (int i = 0; i < SUMMARY_AGE_BUCKETS; i++)
				free(m->sum->b[i].v);
			pthread_mutex_destroy(&m->sum->mu);
			free(m->sum);
		}
		free(m);
		m = n;
	}
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->labels);
	free(f->buckets);
	free(f->quantiles);
	free(f->name);
	free(f->help);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* ---- registry ---- */

tp_metrics_registry *tp_metrics_registry_new(void)
{
	tp_metrics_registry *r = tp_xcalloc(1, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void tp_metrics_registry_free(tp_metrics_registry *r)
{
	if (!r)
		return;
	tp_metric_family *f = r->families;
	while (f) {
		tp_metric_family *n = f->next;
		free_family(f);
		f = n;
	}
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static pthread_once_t g_default_once = PTHREAD_ONCE_INIT;
static tp_metrics_registry *g_default;
static void default_init(void) { g_default = tp_metrics_registry_new(); }

tp_metrics_registry *tp_metrics_default(void)
{
	pthread_once(&g_default_once, default_init);
	return g_default;
}

static bool same_shape(const tp_metric_family *f, tp_metric_type type, const char *const *labels,
		       size_t nlabels, const double *buckets, size_t nbuckets, const double *q, size_t nq)
{
	if (f->type != type || f->nlabels != nlabels || f->nbuckets != nbuckets || f->nq != nq)
		return false;
	for (size_t i = 0; i < nq; i++)
		if (f->quantiles[i] != q[i])
			return false;
	for (size_t i = 0; i < nlabels; i++)
		if (strcmp(f->labels[i], labels[i]) != 0)
			return false;
	for (size_t i = 0; i < nbuckets; i++)
		if (f->buckets[i] != buckets[i])
			return false;
	return true;
}

static tp_metric_family *family_new(tp_metrics_registry *r, tp_metric_type type, const char *name, const char *help,
				     const char *const *label_names, size_t nlabels, const double *buckets,
				     size_t nbuckets, const double *quantiles, size_t nq)
{
	if (!name || !tp_metric_name_valid(name, strlen(name)))
		return NULL;
	for (size_t i = 0; i < nlabels; i++) {
		const char *l = label_names[i];
		if (!tp_label_name_valid(l, strlen(l)) || strncmp(l, "__", 2) == 0)
			return NULL;
		if (type == TP_METRIC_HISTOGRAM && strcmp(l, "le") == 0)
			return NULL;
		if (type == TP_METRIC_SUMMARY && strcmp(l, "quantile") == 0)
			return NULL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(label_names[j], l) == 0)
				return NULL;
	}
	if (type != TP_METRIC_HISTOGRAM && nbuckets)
		return NULL;
	for (size_t i = 0; i < nbuckets; i++)
		if (isnan(buckets[i]) || isinf(buckets[i]) || (i && buckets[i] <= buckets[i - 1]))
			return NULL;

	pthread_mutex_lock(&r->mu);
	for (tp_metric_family *f = r->families; f; f = f->next) {
		if (strcmp(f->name, name) == 0) {
			bool ok = same_shape(f, type, label_names, nlabels, buckets, nbuckets, quantiles, nq);
			pthread_mutex_unlock(&r->mu);
			return ok ? f : NULL;
		}
	}
	tp_metric_family *f = tp_xcalloc(1, sizeof *f);
	f->type = type;
	f->name = tp_xstrdup(name);
	f->help = tp_xstrdup(help ? help : "");
	f->nlabels = nlabels;
	if (nlabels) {
		f->labels = tp_xcalloc(nlabels, sizeof *f->labels);
		for (size_t i = 0; i < nlabels; i++)
			f->labels[i] = tp_xstrdup(label_names[i]);
	}
	f->nbuckets = nbuckets;
	if (nbuckets) {
		f->buckets = tp_xmalloc(nbuckets * sizeof *f->buckets);
		memcpy(f->buckets, buckets, nbuckets * sizeof *f->buckets);
	}
	f->nq = nq;
	if (nq) {
		f->quantiles = tp_xmalloc(nq * sizeof *f->quantiles);
		memcpy(f->quantiles, quantiles, nq * sizeof *f->quantiles);
	}
	pthread_mutex_init(&f->mu, NULL);
	f->next = r->families;
	r->families = f;
	pthread_mutex_unlock(&r->mu);
	return f;
}

tp_metric_family *tp_metrics_family_new(tp_metrics_registry *r, tp_metric_type type, const char *name,
					const char *help, const char *const *label_names, size_t nlabels,
					const double *buckets, size_t nbuckets)
{
	if (type == TP_METRIC_SUMMARY)
		return NULL;  /* needs its quantiles: tp_metrics_summary_family_new */
	return family_new(r, type, name, help, label_names, nlabels, buckets, nbuckets, NULL, 0);
}

tp_metric_family *tp_metrics_summary_family_new(tp_metrics_registry *r, const char *name, const char *help,
						const char *const *label_names, size_t nlabels,
						const double *quantiles, size_t nq)
{
	for (size_t i = 0; i < nq; i++)
		if (!(quantiles[i] > 0 && quantiles[i] < 1) || (i && quantiles[i] <= quantiles[i - 1]))
			return NULL;
	return family_new(r, TP_METRIC_SUMMARY, name, help, label_names, nlabels, NULL, 0, quantiles, nq);
}

tp_metric *tp_metrics_child(tp_metric_family *f, const char *const *values)
{
	if (!f)
		return NULL;
	pthread_mutex_lock(&f->mu);
	for (tp_metric *m = f->children; m; m = m->next) {
		size_t i = 0;
		while (i < f->nlabels && strcmp(m->values[i], values[i]) == 0)
			i++;
		if (i == f->nlabels) {
			pthread_mutex_unlock(&f->mu);
			return m;
		}
	}
	tp_metric *m = tp_xcalloc(1, sizeof *m);
	m->fam = f;
	if (f->nlabels) {
		m->values = tp_xcalloc(f->nlabels, sizeof *m->values);
		for (size_t i = 0; i < f->nlabels; i++)
			m->values[i] = tp_xstrdup(values[i] ? values[i] : "");
	}
	if (f->type == TP_METRIC_HISTOGRAM)
		m->buckets = tp_xcalloc(f->nbuckets + 1, sizeof *m->buckets);
	if (f->type == TP_METRIC_SUMMARY) {
		m->sum = tp_xcalloc(1, sizeof *m->sum);
		pthread_mutex_init(&m->sum->mu, NULL);
		m->sum->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)m;
		for (int i = 0; i < SUMMARY_AGE_BUCKETS; i++)
			m->sum->b[i].epoch = INT64_MIN;
	}
	m->next = f->children;
	f->children = m;
	f->nchildren++;
	pthread_mutex_unlock(&f->mu);
	return m;
}

tp_metric *tp_metrics_single(tp_metric_family *f)
{
	if (!f || f->nlabels != 0)
		return NULL;
	return tp_metrics_child(f, NULL);
}

tp_metric *tp_metrics_counter_new(tp_metrics_registry *r, const char *name, const char *help)
{
	return tp_metrics_single(tp_metrics_family_new(r, TP_METRIC_COUNTER, name, help, NULL, 0, NULL, 0));
}

tp_metric *tp_metrics_gauge_new(tp_metrics_registry *r, const char *name, const char *help)
{
	return tp_metrics_single(tp_metrics_family_new(r, TP_METRIC_GAUGE, name, help, NULL, 0, NULL, 0));
}

tp_metric *tp_metrics_histogram_new(tp_metrics_registry *r, const char *name, const char *help,
				    const double *buckets, size_t nbuckets)
{
	return tp_metrics_single(
		tp_metrics_family_new(r, TP_METRIC_HISTOGRAM, name, help, NULL, 0, buckets, nbuckets));
}

tp_metric *tp_metrics_func_new(tp_metrics_registry *r, tp_metric_type type, const char *name,
			       const char *help, tp_metrics_value_fn *fn, void *ud)
{
	if (type == TP_METRIC_HISTOGRAM || type == TP_METRIC_SUMMARY)
		return NULL;
	tp_metric *m = tp_metrics_single(tp_metrics_family_new(r, type, name, help, NULL, 0, NULL, 0));
	if (m)
		tp_metrics_child_set_fn(m, fn, ud);
	return m;
}

void tp_metrics_child_set_fn(tp_metric *m, tp_metrics_value_fn *fn, void *ud)
{
	if (!m || m->fam->type == TP_METRIC_HISTOGRAM || m->fam->type == TP_METRIC_SUMMARY)
		return;
	pthread_mutex_lock(&m->fam->mu);
	m->ud = ud;
	m->fn = fn;
	pthread_mutex_unlock(&m->fam->mu);
}

/* ---- updates (lock-free) ---- */

void tp_metrics_counter_inc(tp_metric *m)
{
	atomic_fetch_add_explicit(&m->ival, 1, memory_order_relaxed);
}

void tp_metrics_counter_add_u64(tp_metric *m, uint64_t n)
{
	atomic_fetch_add_explicit(&m->ival, n, memory_order_relaxed);
}

void tp_metrics_counter_add(tp_metric *m, double v)
{
	if (!(v > 0))  /* also drops NaN */
		return;
	if (v == floor(v) && v < 9007199254740992.0)
		atomic_fetch_add_explicit(&m->ival, (uint64_t)v, memory_order_relaxed);
	else
		atomic_add_double(&m->bits, v);
}

void tp_metrics_gauge_set(tp_metric *m, double v)
{
	atomic_store_explicit(&m->bits, dbits(v), memory_order_relaxed);
}

void tp_metrics_gauge_add(tp_metric *m, double v)
{
	atomic_add_double(&m->bits, v);
}

void tp_metrics_histogram_observe(tp_metric *m, double v)
{
	const tp_metric_family *f = m->fam;
	/* binary search: first bound >= v; NaN lands in +Inf, as in client_golang */
	size_t lo = 0, hi = f->nbuckets;
	if (!isnan(v)) {
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (f->buckets[mid] >= v)
				hi = mid;
			else
				lo = mid + 1;
		}
	} else {
		lo = f->nbuckets;
	}
	atomic_add_double(&m->bits, v);
	atomic_fetch_add_explicit(&m->buckets[lo], 1, memory_order_relaxed);
}

/* ---- summaries (under the child's mutex) ---- */

void tp_metrics_set_clock(int64_t (*now_ns)(void))
{
	g_clock = now_ns ? now_ns : tp_mono_ns;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

void tp_metrics_summary_observe(tp_metric *m, double v)
{
	struct summary *sm = m->sum;
	if (!sm)
		return;
	int64_t epoch = g_clock() / SUMMARY_BUCKET_NS;
	pthread_mutex_lock(&sm->mu);
	sm->count++;
	sm->sum += v;
	age_bucket *b = &sm->b[(uint64_t)epoch % SUMMARY_AGE_BUCKETS];
	if (b->epoch != epoch) {  /* a bucket from 10 minutes ago (or never used): restart it */
		b->epoch = epoch;
		b->n = 0;
		b->seen = 0;
	}
	b->seen++;
	if (b->n < TP_SUMMARY_SAMPLES) {
		if (!b->v)
			b->v = tp_xmalloc(TP_SUMMARY_SAMPLES * sizeof *b->v);
		b->v[b->n++] = v;
	} else {
		/* algorithm R: keep v with probability n/seen, replacing a random one */
		uint64_t k = xorshift(&sm->rng) % b->seen;
		if (k < TP_SUMMARY_SAMPLES)
			b->v[k] = v;
	}
	pthread_mutex_unlock(&sm->mu);
}

typedef struct wsample {
	double v;
	double w;  /* how many observations it stands for */
} wsample;

static int cmp_wsample(const void *a, const void *b)
{
	double x = ((const wsample *)a)->v, y = ((const wsample *)b)->v;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* The live window's samples, sorted (NaN observations left out, as they
 * have no rank); returns the count and the total weight in *total. */
static size_t window_samples(struct summary *sm, wsample *out, double *total)
{
	int64_t now = g_clock() / SUMMARY_BUCKET_NS;
	size_t n = 0;
	*total = 0;
	for (int i = 0; i < SUMMARY_AGE_BUCKETS; i++) {
		age_bucket *b = &sm->b[i];
		if (b->n == 0 || b->epoch <= now - SUMMARY_AGE_BUCKETS || b->epoch > now)
			continue;
		double w = (double)b->seen / b->n;
		for (uint32_t k = 0; k < b->n; k++) {
			if (isnan(b->v[k]))
				continue;
			out[n++] = (wsample){ b->v[k], w };
			*total += w;
		}
	}
	qsort(out, n, sizeof *out, cmp_wsample);
	return n;
}

/* The smallest sample whose cumulative weight reaches q of the total. */
static double weighted_quantile(const wsample *s, size_t n, double total, double q)
{
	if (n == 0)
		return NAN;
	double rank = q * total, acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc += s[i].w;
		if (acc >= rank)
			return s[i].v;
	}
	return s[n - 1].v;
}

double tp_metrics_summary_quantile(tp_metric *m, double q)
{
	struct summary *sm = m->sum;
	if (!sm)
		return NAN;
	bool known = false;
	for (size_t i = 0; i < m->fam->nq; i++)
		known |= m->fam->quantiles[i] == q;
	if (!known)
		return NAN;
	wsample *buf = tp_xmalloc(SUMMARY_AGE_BUCKETS * TP_SUMMARY_SAMPLES * sizeof *buf);
	pthread_mutex_lock(&sm->mu);
	double total;
	size_t n = window_samples(sm, buf, &total);
	pthread_mutex_unlock(&sm->mu);
	double v = weighted_quantile(buf, n, total, q);
	free(buf);
	return v;
}

uint64_t tp_metrics_summary_count(tp_metric *m)
{
	if (!m->sum)
		return 0;
	pthread_mutex_lock(&m->sum->mu);
	uint64_t n = m->sum->count;
	pthread_mutex_unlock(&m->sum->mu);
	return n;
}

double tp_metrics_value(const tp_metric *m)
{
	if (m->fn)
		return m->fn(m->ud);
	double f = bitsd(atomic_load_explicit(&m->bits, memory_order_relaxed));
	if (m->fam->type == TP_METRIC_GAUGE || m->fam->type == TP_METRIC_UNTYPED)
		return f;
	return (double)atomic_load_explicit(&m->ival, memory_order_relaxed) + f;
}

uint64_t tp_metrics_histogram_count(const tp_metric *m)
{
	uint64_t n = 0;
	if (!m->buckets)
		return 0;
	for (size_t i = 0; i <= m->fam->nbuckets; i++)
		n += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
	return n;
}

/* ---- rendering ---- */

void tp_metrics_escape_help(tp_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			tp_sb_append(sb, "\\\\", 2);
		else if (*s == '\n')
			tp_sb_append(sb, "\\n", 2);
		else
			tp_sb_putc(sb, *s);
	}
}

static const char *type_name(tp_metric_type t)
{
	switch (t) {
	case TP_METRIC_COUNTER: return "counter";
	case TP_METRIC_GAUGE: return "gauge";
	case TP_METRIC_HISTOGRAM: return "histogram";
	case TP_METRIC_SUMMARY: return "summary";
	default: return "untyped";
	}
}

/* name{l1="v1",...[,le="x"]} value\n  (labels with empty values are kept
 * out, as client_golang drops them); the extra label is le for histogram
 * buckets and quantile for summaries. */
static void put_sample(tp_strbuf *sb, const tp_metric_family *f, const tp_metric *m, const char *suffix,
		       const char *le, double v)
{
	const char *extra = f->type == TP_METRIC_SUMMARY ? "quantile=\"" : "le=\"";
	tp_sb_puts(sb, f->name);
	tp_sb_puts(sb, suffix);
	bool open = false;
	for (size_t i = 0; i < f->nlabels; i++) {
		if (!m->values[i][0])
			continue;
		tp_sb_putc(sb, open ? ',' : '{');
		open = true;
		tp_sb_puts(sb, f->labels[i]);
		tp_sb_append(sb, "=\"", 2);
		tp_sb_escape_label(sb, m->values[i]);
		tp_sb_putc(sb, '"');
	}
	if (le) {
		tp_sb_putc(sb, open ? ',' : '{');
		open = true;
		tp_sb_puts(sb, extra);
		tp_sb_puts(sb, le);
		tp_sb_putc(sb, '"');
	}
	if (open)
		tp_sb_putc(sb, '}');
	char buf[64];
	tp_sb_putc(sb, ' ');
	tp_sb_append(sb, buf, tp_format_float(buf, v));
	tp_sb_putc(sb, '\n');
}

static size_t g_sort_nlabels;  /* qsort has no context argument; guarded by g_sort_lock */
static pthread_mutex_t g_sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int cmp_child(const void *a, const void *b)
{
	const tp_metric *x = *(tp_metric *const *)a, *y = *(tp_metric *const *)b;
	for (size_t i = 0; i < g_sort_nlabels; i++) {
		int c = strcmp(x->values[i], y->values[i]);
		if (c)
			return c;
	}
	return 0;
}

static int cmp_family(const void *a, const void *b)
{
	const tp_metric_family *x = *(tp_metric_family *const *)a, *y = *(tp_metric_family *const *)b;
	return strcmp(x->name, y->name);
}

static void render_summary(tp_strbuf *sb, const tp_metric_family *f, tp_metric *m)
{
	struct summary *sm = m->sum;
	wsample *buf = tp_xmalloc(SUMMARY_AGE_BUCKETS * TP_SUMMARY_SAMPLES * sizeof *buf);
	pthread_mutex_lock(&sm->mu);
	double total;
	size_t n = window_samples(sm, buf, &total);
	uint64_t count = sm->count;
	double sum = sm->sum;
	pthread_mutex_unlock(&sm->mu);
	char q[64];
	for (size_t i = 0; i < f->nq; i++) {
		tp_format_float(q, f->quantiles[i]);
		put_sample(sb, f, m, "", q, weighted_quantile(buf, n, total, f->quantiles[i]));
	}
	put_sample(sb, f, m, "_sum", NULL, sum);
	put_sample(sb, f, m, "_count", NULL, (double)count);
	free(buf);
}

static void render_family(tp_metric_family *f, tp_strbuf *sb)
{
	pthread_mutex_lock(&f->mu);
	if (f->nchildren == 0) {
		pthread_mutex_unlock(&f->mu);
		return;  /* client_golang skips families without metrics */
	}
	tp_metric **kids = tp_xmalloc(f->nchildren * sizeof *kids);
	size_t n = 0;
	for (tp_metric *m = f->children; m; m = m->next)
		kids[n++] = m;
	pthread_mutex_lock(&g_sort_lock);
	g_sort_nlabels = f->nlabels;
	qsort(kids, n, sizeof *kids, cmp_child);
	pthread_mutex_unlock(&g_sort_lock);

	tp_sb_puts(sb, "# HELP ");
	tp_sb_puts(sb, f->name);
	tp_sb_putc(sb, ' ');
	tp_metrics_escape_help(sb, f->help);
	tp_sb_puts(sb, "\n# TYPE ");
	tp_sb_puts(sb, f->name);
	tp_sb_putc(sb, ' ');
	tp_sb_puts(sb, type_name(f->type));
	tp_sb_putc(sb, '\n');
	for (size_t k = 0; k < n; k++) {
		tp_metric *m = kids[k];
		if (f->type == TP_METRIC_SUMMARY) {
			render_summary(sb, f, m);
			continue;
		}
		if (f->type != TP_METRIC_HISTOGRAM) {
			put_sample(sb, f, m, "", NULL, tp_metrics_value(m));
			continue;
		}
		uint64_t cum = 0;
		char le[64];
		for (size_t i = 0; i < f->nbuckets; i++) {
			cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
			tp_format_float(le, f->buckets[i]);
			put_sample(sb, f, m, "_bucket", le, (double)cum);
		}
		cum += atomic_load_explicit(&m->buckets[f->nbuckets], memory_order_relaxed);
		put_sample(sb, f, m, "_bucket", "+Inf", (double)cum);
		put_sample(sb, f, m, "_sum", NULL, bitsd(atomic_load_explicit(&m->bits, memory_order_relaxed)));
		put_sample(sb, f, m, "_count", NULL, (double)cum);
	}
	pthread_mutex_unlock(&f->mu);
	free(kids);
}

void tp_metrics_render(tp_metrics_registry *r, tp_strbuf *sb)
{
	pthread_mutex_lock(&r->mu);
	size_t n = 0;
	for (tp_metric_family *f = r->families; f; f = f->next)
		n++;
	tp_metric_family **fams = n ? tp_xmalloc(n * sizeof *fams) : NULL;
	n = 0;
	for (tp_metric_family *f = r->families; f; f = f->next)
		fams[n++] = f;
	pthread_mutex_unlock(&r->mu);  /* families are never removed, so the array stays valid */
	if (n)
		qsort(fams, n, sizeof *fams, cmp_family);
	for (size_t i = 0; i < n; i++)
		render_family(fams[i], sb);
	free(fams);
}

/* ---- process metrics ---- */

/* Reads /proc/self/stat field number idx (1-based, as in proc(5)); fields
 * are counted after the parenthesised command name, which may hold spaces. */
static int proc_stat_field(int idx, unsigned long long *out)
{
	FILE *fp = fopen("/proc/self/stat", "r");
	if (!fp)
		return -1;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;  /* now at field 3 (after a space) */
	int field = 2;
	while (*p && field < idx) {
		while (*p == ' ')
			p++;
		field++;
		if (field == idx) {
			*out = strtoull(p, NULL, 10);
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -1;
}

static double proc_statm(void *ud)
{
	int which = (int)(intptr_t)ud;  /* 0: size (virtual), 1: resident */
	FILE *fp = fopen("/proc/self/statm", "r");
	if (!fp)
		return NAN;
	unsigned long long size = 0, rss = 0;
	int n = fscanf(fp, "%llu %llu", &size, &rss);
	fclose(fp);
	if (n != 2)
		return NAN;
	double page = (double)sysconf(_SC_PAGESIZE);
	return (which ? (double)rss : (double)size) * page;
}

static double proc_cpu_seconds(void *ud)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return NAN;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static double proc_open_fds(void *ud)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return NAN;
	double n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;  /* the directory's own descriptor */
}

static double proc_max_fds(void *ud)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return NAN;
	return rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur;
}

static double proc_threads(void *ud)
{
	unsigned long long n;
	return proc_stat_field(20, &n) == 0 ? (double)n : NAN;
}

int tp_process_threads(void)
{
	unsigned long long n;
	return proc_stat_field(20, &n) == 0 ? (int)n : -1;
}

/* Boot time (btime in /proc/stat) + starttime ticks (field 22). */
static double proc_start_time(void)
{
	unsigned long long ticks;
	if (proc_stat_field(22, &ticks) != 0)
		return NAN;
	FILE *fp = fopen("/proc/stat", "r");
	if (!fp)
		return NAN;
	char line[256];
	double btime = NAN;
	while (fgets(line, sizeof line, fp)) {
		if (strncmp(line, "btime ", 6) == 0) {
			btime = strtod(line + 6, NULL);
			break;
		}
	}
	fclose(fp);
	return btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

void tp_metrics_register_process(tp_metrics_registry *r)
{
	tp_metrics_func_new(r, TP_METRIC_GAUGE, "process_resident_memory_bytes",
			    "Resident memory size in bytes.", proc_statm, (void *)(intptr_t)1);
	tp_metrics_func_new(r, TP_METRIC_GAUGE, "process_virtual_memory_bytes",
			    "Virtual memory size in bytes.", proc_statm, (void *)(intptr_t)0);
	tp_metrics_func_new(r, TP_METRIC_COUNTER, "process_cpu_seconds_total",
			    "Total user and system CPU time spent in seconds.", proc_cpu_seconds, NULL);
	tp_metrics_func_new(r, TP_METRIC_GAUGE, "process_open_fds", "Number of open file descriptors.",
			    proc_open_fds, NULL);
	tp_metrics_func_new(r, TP_METRIC_GAUGE, "process_max_fds",
			    "Maximum number of open file descriptors.", proc_max_fds, NULL);
	tp_metric *st = tp_metrics_gauge_new(r, "process_start_time_seconds",
					     "Start time of the process since unix epoch in seconds.");
	if (st)
		tp_metrics_gauge_set(st, proc_start_time());
	tp_metrics_func_new(r, TP_METRIC_GAUGE, "go_goroutines",
			    "Number of goroutines that currently exist (tinyprom: OS threads).", proc_threads,
			    NULL);
	tp_metrics_func_new(r, TP_METRIC_GAUGE, "go_threads", "Number of OS threads created.",
			    proc_threads, NULL);
}
