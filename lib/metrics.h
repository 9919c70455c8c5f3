/* SPDX-License-Identifier: Apache-2.0
 * metrics.h - the server's self-metrics registry and its rendering in the
 * Prometheus text exposition format 0.0.4.
 *
 * A registry holds families (one name, help, type and fixed label names);
 * a family holds children, one per distinct tuple of label values.
 * Usage on a hot path: look the child up once, keep the pointer, then
 *   tp_metrics_counter_inc(c);           -- a relaxed atomic add, no lock
 * Invariants:
 *  - children are never freed before their registry, so cached pointers
 *    stay valid for the registry's lifetime;
 *  - counter/gauge/histogram updates are lock-free (C11 atomics; floating
 *    point adds use a compare-and-swap loop on the value's bits); a
 *    summary observation takes its child's mutex (see below);
 *  - registration and child lookup take the family's mutex (cold path);
 *  - rendering sorts families by name and children by label values, as
 *    client_golang's Gather does, and prints numbers with Go's 'g' shortest
 *    form (tp_format_float), so output is byte-comparable with Go clients.
 *  - a registered name is unique in its registry; registering it again
 *    with the same type and label names returns the existing family. */
#ifndef LIB_METRICS_H
#define LIB_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"

typedef enum tp_metric_type {
	TP_METRIC_COUNTER,
	TP_METRIC_GAUGE,
	TP_METRIC_HISTOGRAM,
	TP_METRIC_UNTYPED,
	TP_METRIC_SUMMARY,   /* registered with tp_metrics_summary_family_new */
} tp_metric_type;

typedef struct tp_metrics_registry tp_metrics_registry;
typedef struct tp_metric_family tp_metric_family;
typedef struct tp_metric tp_metric;  /* one child (a labelled series or histogram) */

/* Computes a value at render time (e.g. process_open_fds). */
typedef double tp_metrics_value_fn(void *ud);

tp_metrics_registry *tp_metrics_registry_new(void);
void tp_metrics_registry_free(tp_metrics_registry *r);  /* NULL is a no-op */
/* The process-wide registry the server exposes on /metrics. */
tp_metrics_registry *tp_metrics_default(void);

/* Registers a family. label_names has nlabels entries (may be 0). For
 * histograms, buckets holds nbuckets strictly increasing upper bounds
 * (+Inf is implicit). Returns NULL when the name or a label name is invalid,
 * buckets are not increasing, or the name exists with another shape. All
 * strings are copied. */
tp_metric_family *tp_metrics_family_new(tp_metrics_registry *r, tp_metric_type type, const char *name,
					const char *help, const char *const *label_names, size_t nlabels,
					const double *buckets, size_t nbuckets);

/* The child for the given label values (nlabels of them, in label-name
 * order), created at zero on first use. Returns NULL when the count is
 * wrong. The pointer is valid until the registry is freed. */
tp_metric *tp_metrics_child(tp_metric_family *f, const char *const *values);
/* Convenience for label-less families: the single child. */
tp_metric *tp_metrics_single(tp_metric_family *f);

/* Shorthands: register a label-less family and return its child. */
tp_metric *tp_metrics_counter_new(tp_metrics_registry *r, const char *name, const char *help);
tp_metric *tp_metrics_gauge_new(tp_metrics_registry *r, const char *name, const char *help);
tp_metric *tp_metrics_histogram_new(tp_metrics_registry *r, const char *name, const char *help,
				    const double *buckets, size_t nbuckets);
/* A gauge/counter whose value is fn(ud) at render time (label-less, or one
 * child per call with values). fn is called without registry locks held
 * other than the family's. */
tp_metric *tp_metrics_func_new(tp_metrics_registry *r, tp_metric_type type, const char *name,
			       const char *help, tp_metrics_value_fn *fn, void *ud);
void tp_metrics_child_set_fn(tp_metric *m, tp_metrics_value_fn *fn, void *ud);

/* Counter: inc/add (negative adds are ignored, as a counter only grows). */
void tp_metrics_counter_inc(tp_metric *m);
void tp_metrics_counter_add(tp_metric *m, double v);
void tp_metrics_counter_add_u64(tp_metric *m, uint64_t n);
/* Gauge */
void tp_metrics_gauge_set(tp_metric *m, double v);
void tp_metrics_gauge_add(tp_metric *m, double v);
/* Histogram */
void tp_metrics_histogram_observe(tp_metric *m, double v);
/* Current value of a counter or gauge (for tests and status pages). */
double tp_metrics_value(const tp_metric *m);
uint64_t tp_metrics_histogram_count(const tp_metric *m);

/* Summary: quantiles over a sliding window of the last 10 minutes, as
 * client_golang's default MaxAge, plus _sum and _count over all time.
 * Instead of client_golang's CKMS streams, the window is 5 age buckets of
 * 2 minutes (client_golang's AgeBuckets), each keeping up to
 * TP_SUMMARY_SAMPLES observations exactly and, past that, a uniform
 * reservoir sample of them (Vitter's algorithm R) weighted by how many it
 * stands for. So quantiles are exact while a bucket sees at most
 * TP_SUMMARY_SAMPLES observations (2 minutes of a server's queries, as a
 * rule), and an unbiased estimate beyond; memory is bounded at
 * 5 * TP_SUMMARY_SAMPLES doubles per child. The window covers between 8
 * and 10 minutes. An empty window reports NaN, as client_golang does.
 * quantiles: nq values in (0, 1), strictly increasing; copied. Returns
 * NULL on invalid input, as tp_metrics_family_new. */
#define TP_SUMMARY_SAMPLES 256
tp_metric_family *tp_metrics_summary_family_new(tp_metrics_registry *r, const char *name, const char *help,
						const char *const *label_names, size_t nlabels,
						const double *quantiles, size_t nq);
void tp_metrics_summary_observe(tp_metric *m, double v);
/* For tests: the clock summaries age their windows by (nanoseconds,
 * monotonic); NULL restores tp_mono_ns. Not thread-safe. */
void tp_metrics_set_clock(int64_t (*now_ns)(void));
/* Current estimate of quantile q (one of the family's), NaN when the
 * window is empty or q is not one of them. */
double tp_metrics_summary_quantile(tp_metric *m, double q);
uint64_t tp_metrics_summary_count(tp_metric *m);

/* Prometheus client defaults: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10. */
extern const double tp_metrics_default_buckets[11];

/* Appends every family in text format 0.0.4. */
void tp_metrics_render(tp_metrics_registry *r, tp_strbuf *sb);

/* Registers process_* (resident and virtual memory, cpu seconds, start
 * time, open and max fds) and go_goroutines/go_threads (the OS thread
 * count: the closest equivalent dashboards look for), read from /proc at
 * render time. */
void tp_metrics_register_process(tp_metrics_registry *r);

/* Number of OS threads of this process (from /proc), or -1. */
int tp_process_threads(void);

/* Exposition escaping: HELP text escapes \\ and \n; label values also ". */
void tp_metrics_escape_help(tp_strbuf *sb, const char *s);

#endif
