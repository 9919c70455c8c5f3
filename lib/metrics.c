/* SPDX-License-Identifier: Apache-2.0
 * metrics.c - self-metrics registry and text exposition 0.0.4 rendering.
 * Invariants (see metrics.h): children live until the registry is freed;
 * updates are atomics only; a histogram stores per-bucket (non-cumulative)
 * counts and its _count is the sum of those, so a rendered histogram is
 * always internally consistent (+Inf bucket == _count) even while other
 * threads observe concurrently. */
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
	pthread_mutex_t mu;           /* guards children */
	tp_metric *children;
	size_t nchildren;
	tp_metric_family *next;       /* registry list */
};

struct tp_metrics_registry {
	pthread_mutex_t mu;           /* guards families */
	tp_metric_family *families;
};

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
		free(m);
		m = n;
	}
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->labels);
	free(f->buckets);
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
		       size_t nlabels, const double *buckets, size_t nbuckets)
{
	if (f->type != type || f->nlabels != nlabels || f->nbuckets != nbuckets)
		return false;
	for (size_t i = 0; i < nlabels; i++)
		if (strcmp(f->labels[i], labels[i]) != 0)
			return false;
	for (size_t i = 0; i < nbuckets; i++)
		if (f->buckets[i] != buckets[i])
			return false;
	return true;
}

tp_metric_family *tp_metrics_family_new(tp_metrics_registry *r, tp_metric_type type, const char *name,
					const char *help, const char *const *label_names, size_t nlabels,
					const double *buckets, size_t nbuckets)
{
	if (!name || !tp_metric_name_valid(name, strlen(name)))
		return NULL;
	for (size_t i = 0; i < nlabels; i++) {
		const char *l = label_names[i];
		if (!tp_label_name_valid(l, strlen(l)) || strncmp(l, "__", 2) == 0)
			return NULL;
		if (type == TP_METRIC_HISTOGRAM && strcmp(l, "le") == 0)
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
			bool ok = same_shape(f, type, label_names, nlabels, buckets, nbuckets);
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
	pthread_mutex_init(&f->mu, NULL);
	f->next = r->families;
	r->families = f;
	pthread_mutex_unlock(&r->mu);
	return f;
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
	if (type == TP_METRIC_HISTOGRAM)
		return NULL;
	tp_metric *m = tp_metrics_single(tp_metrics_family_new(r, type, name, help, NULL, 0, NULL, 0));
	if (m)
		tp_metrics_child_set_fn(m, fn, ud);
	return m;
}

void tp_metrics_child_set_fn(tp_metric *m, tp_metrics_value_fn *fn, void *ud)
{
	if (!m || m->fam->type == TP_METRIC_HISTOGRAM)
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
	default: return "untyped";
	}
}

/* name{l1="v1",...[,le="x"]} value\n  (labels with empty values are kept
 * out, as client_golang drops them) */
static void put_sample(tp_strbuf *sb, const tp_metric_family *f, const tp_metric *m, const char *suffix,
		       const char *le, double v)
{
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
		tp_sb_append(sb, "le=\"", 4);
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
