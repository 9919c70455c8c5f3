/* SPDX-License-Identifier: Apache-2.0
 * wal_head.c - glue between the head (tsdb.h hooks) and the WAL: replay
 * into a fresh head at open, log-before-visible at commit, checkpoint at
 * truncation.
 * Invariants: hooks are installed only after replay, so replay never logs;
 * the samples_committed hook commits the WAL before returning, so
 * tsdb_appender_commit returns only after the batch is written (and synced
 * with fsync "always"); the alias map is read-only after open. */
#include "config.h"
#include "tsdb/wal_head.h"

#include "lib/common.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The head hands its pending samples to the hook as tsdb_ref_sample; the
 * WAL takes tsdb_wal_sample. They are the same layout, checked here, so
 * the hook passes the array through without copying. */
_Static_assert(sizeof(tsdb_ref_sample) == sizeof(tsdb_wal_sample), "sample layout");
_Static_assert(offsetof(tsdb_ref_sample, ref) == offsetof(tsdb_wal_sample, ref), "sample layout");
_Static_assert(offsetof(tsdb_ref_sample, t) == offsetof(tsdb_wal_sample, t_ms), "sample layout");
_Static_assert(offsetof(tsdb_ref_sample, v) == offsetof(tsdb_wal_sample, v), "sample layout");

typedef struct alias {
	uint32_t from, to;
} alias;

struct tsdb_wal_head {
	tsdb_head *h;
	tsdb_wal *w;
	tsdb_wal_head_stats st;
	_Atomic uint64_t commit_failures;
	_Atomic(tsdb_wal_head_observer_fn *) observer;  /* see tsdb_wal_head_set_observer */
	void *_Atomic observer_ud;
	alias *aliases;        /* sorted by from; fixed after open */
	size_t naliases, cap_aliases;
	/* replay state */
	tsdb_appender *app;
};

static uint32_t map_ref(const tsdb_wal_head *d, uint32_t ref)
{
	size_t lo = 0, hi = d->naliases;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d->aliases[mid].from < ref)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->naliases && d->aliases[lo].from == ref ? d->aliases[lo].to : ref;
}

/* ---- replay ---- */

static int rp_series(void *ud, uint32_t ref, const tp_labels *l)
{
	tsdb_wal_head *d = ud;
	uint32_t got = tsdb_head_replay_series(d->h, ref, l);
	if (got == 0)
		return 0; /* invalid or conflicting: its samples count as unknown */
	if (got != ref) {
		/* refs are never reused (replay_series moves the counter past
		 * every old ref), so a ref has one label set: insert, sorted */
		TP_GROW(d->aliases, d->cap_aliases, d->naliases + 1);
		size_t i = d->naliases;
		while (i > 0 && d->aliases[i - 1].from > ref) {
			d->aliases[i] = d->aliases[i - 1];
			i--;
		}
		d->aliases[i] = (alias){ ref, got };
		d->naliases++;
		d->st.ref_aliases++;
		return 0;
	}
	d->st.series_restored++;
	return 0;
}

static int rp_samples(void *ud, const tsdb_wal_sample *s, size_t n)
{
	tsdb_wal_head *d = ud;
	for (size_t i = 0; i < n; i++) {
		int rc = tsdb_appender_add_ref(d->app, map_ref(d, s[i].ref), s[i].t_ms, s[i].v);
		if (rc == TSDB_ENOTFOUND)
			d->st.unknown_refs++;
		else if (rc != TSDB_OK)
			d->st.samples_rejected++;
	}
	d->st.samples_restored += tsdb_appender_commit(d->app);
	return 0;
}

/* ---- hooks ---- */

static void hk_series(void *ctx, uint32_t ref, const tp_labels *l)
{
	tsdb_wal_head *d = ctx;
	tsdb_wal_log_series(d->w, ref, l);
}

static void hk_samples(void *ctx, const tsdb_ref_sample *s, size_t n)
{
	tsdb_wal_head *d = ctx;
	tsdb_wal_log_samples(d->w, (const tsdb_wal_sample *)(const void *)s, n);
	/* tsdb.h's commit cannot fail: a WAL failure is counted (and visible
	 * in the WAL's stats and last error), the samples stay in memory */
	if (tsdb_wal_commit(d->w) != 0)
		atomic_fetch_add(&d->commit_failures, 1);
	tsdb_wal_head_observer_fn *fn = atomic_load_explicit(&d->observer, memory_order_acquire);
	if (fn)
		fn(atomic_load_explicit(&d->observer_ud, memory_order_acquire), s, n);
}

static bool keep_series(void *ud, uint32_t ref)
{
	tsdb_wal_head *d = ud;
	return tsdb_head_series_labels(d->h, map_ref(d, ref)) != NULL;
}

/* ---- API ---- */

tsdb_wal_head *tsdb_wal_head_open(const char *dir, const tsdb_options *opts, const tsdb_wal_opts *wopts,
				  tsdb_wal_head_stats *stats, char *err, size_t errlen)
{
	char wdir[4096];
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "create storage directory %s: %s", dir, strerror(errno));
		return NULL;
	}
	snprintf(wdir, sizeof(wdir), "%s/wal", dir);
	tsdb_wal_head *d = tp_xcalloc(1, sizeof(*d));
	d->h = tsdb_head_new(opts);
	d->app = tsdb_appender_new(d->h);
	tsdb_wal_replay_cb cb = { .series = rp_series, .samples = rp_samples, .ud = d };
	if (tsdb_wal_replay(wdir, &cb, &d->st.replay, err, errlen) != 0)
		goto fail;
	tsdb_appender_free(d->app);
	d->app = NULL;
	d->w = tsdb_wal_open(wdir, wopts, err, errlen);
	if (!d->w)
		goto fail;
	tsdb_head_hooks hk = { .series_created = hk_series, .samples_committed = hk_samples, .ctx = d };
	tsdb_head_set_hooks(d->h, &hk);
	if (stats)
		*stats = d->st;
	return d;
fail:
	tsdb_appender_free(d->app);
	tsdb_head_free(d->h);
	free(d->aliases);
	free(d);
	return NULL;
}

void tsdb_wal_head_set_observer(tsdb_wal_head *d, tsdb_wal_head_observer_fn *fn, void *ud)
{
	/* ud first: a commit that sees the new fn must see its ud */
	atomic_store_explicit(&d->observer_ud, ud, memory_order_release);
	atomic_store_explicit(&d->observer, fn, memory_order_release);
}

tsdb_head *tsdb_wal_head_head(tsdb_wal_head *d)
{
	return d->h;
}

tsdb_wal *tsdb_wal_head_wal(tsdb_wal_head *d)
{
	return d->w;
}

void tsdb_wal_head_get_stats(tsdb_wal_head *d, tsdb_wal_head_stats *out)
{
	*out = d->st;
	out->wal_commit_failures = atomic_load(&d->commit_failures);
}

long tsdb_wal_head_truncate(tsdb_wal_head *d, int64_t mint_ms, char *err, size_t errlen)
{
	size_t removed = tsdb_head_truncate(d->h, mint_ms);
	if (tsdb_wal_checkpoint(d->w, keep_series, d, mint_ms, err, errlen) != 0)
		return -1;
	return (long)removed;
}

int tsdb_wal_head_close(tsdb_wal_head *d)
{
	if (!d)
		return 0;
	tsdb_head_set_hooks(d->h, NULL);
	int rc = tsdb_wal_close(d->w);
	tsdb_head_free(d->h);
	free(d->aliases);
	free(d);
	return rc;
}
