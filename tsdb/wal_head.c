/* SPDX-License-Identifier: Apache-2.0
 * wal_head.c - glue between the head (tsdb.h hooks), the WAL and the
 * chunk files: chunk references and WAL replay into a fresh head at open,
 * log-before-visible at commit, checkpoints that drop what synced chunk
 * files hold, retention by time and size, cut-everything at close.
 * Invariants: hooks are installed only after replay, so replay never logs;
 * the samples_committed hook commits the WAL before returning, so
 * tsdb_appender_commit returns only after the batch is written (and synced
 * with fsync "always"); the alias map is read-only after open; a WAL
 * sample is dropped by a checkpoint only when a chunk synced before the
 * checkpoint started holds it (tsdb_head_durable_maxt), so every
 * acknowledged sample is in the WAL or in a durable chunk at all times. */
#include "config.h"
#include "tsdb/wal_head.h"
#include "tsdb/head_internal.h"

#include "lib/bulkmem.h"
#include "lib/common.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	tsdb_chunkfiles *cf;
	tsdb_wal_head_stats st;
	_Atomic uint64_t commit_failures;
	_Atomic(tsdb_wal_head_observer_fn *) observer;  /* see tsdb_wal_head_set_observer */
	void *_Atomic observer_ud;
	_Atomic uint64_t size_retentions, time_retentions, checkpoint_errors;
	alias *aliases;        /* sorted by from; fixed after open */
	size_t naliases, cap_aliases;
	/* replay state */
	tsdb_ref_sample *batch; /* a samples record, mapped and filtered */
	size_t nbatch;
	int64_t *skip;         /* by head ref: WAL samples at or before it are in chunk files */
	size_t nskip;
	bool attached;         /* the chunk files are open and attached to the series so far */
	/* the helper thread: scans the chunk files, then adds the series the
	 * replay creates to the postings, following it */
	pthread_t helper;
	bool helper_running;
	pthread_mutex_t scan_mu;
	pthread_cond_t scan_cv;
	bool scan_done;        /* d->cf (or scan_err) is set */
	const char *scan_dir;
	const tsdb_chunkfiles_opts *scan_opts;
	char scan_err[320];
	uint32_t **created;    /* refs the replay created, in order: blocks of CREATED_BLOCK */
	_Atomic size_t ncreated;
	atomic_bool replay_done;
	bool bulk;             /* a big load: both threads allocate from huge pages (lib/bulkmem.h) */
	bool helper_thread;    /* helper_run runs on its own thread (set before it starts) */
};

#define CREATED_BLOCK_LOG2 20
#define CREATED_BLOCK ((size_t)1 << CREATED_BLOCK_LOG2)
#define CREATED_BLOCKS 4096     /* 2^32 refs */

/* What a checkpoint keeps of a series' samples: t > durable[ref]. */
typedef struct keep_ctx {
	tsdb_wal_head *d;
	int64_t *durable;      /* by head ref (tsdb_head_durable_maxt) */
	uint32_t n;
} keep_ctx;

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

/* Gives the series to the chunks logged under ref in the chunk files, and
 * remembers up to where WAL samples of it are redundant. */
static void attach_ref(tsdb_wal_head *d, uint32_t ref, uint32_t to)
{
	uint32_t n;
	tsdb_chunk_meta *a = tsdb_chunkfiles_take(d->cf, ref, &n);
	if (!a)
		return;
	uint64_t dropped = 0;
	int64_t last = tsdb_head_attach_chunks(d->h, to, a, n, &dropped);
	d->st.chunks_dropped += dropped;
	d->st.chunks_restored += n - dropped;
	if (to >= d->nskip) {
		size_t old = d->nskip;
		TP_GROW(d->skip, d->nskip, (size_t)to + 1);
		for (size_t i = old; i < d->nskip; i++)
			d->skip[i] = INT64_MIN;
	}
	d->skip[to] = last;
}

static double secs(void)
{
	return (double)tp_mono_ns() / 1e9;
}

static double thread_cpu_secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void free_created(tsdb_wal_head *d)
{
	for (size_t b = 0; d->created && b < CREATED_BLOCKS && d->created[b]; b++)
		free(d->created[b]);
	free(d->created);
	d->created = NULL;
}

/* Logs a series the replay created, for the helper's postings. */
static void note_created(tsdb_wal_head *d, uint32_t ref)
{
	size_t n = atomic_load_explicit(&d->ncreated, memory_order_relaxed);
	size_t b = n >> CREATED_BLOCK_LOG2;
	if (b >= CREATED_BLOCKS)
		return; /* cannot happen: refs are 32-bit */
	if (!d->created[b])
		d->created[b] = tp_xmalloc(CREATED_BLOCK * sizeof(uint32_t));
	d->created[b][n & (CREATED_BLOCK - 1)] = ref;
	atomic_store_explicit(&d->ncreated, n + 1, memory_order_release);
}

/* The helper thread: scans the chunk files (attach_all waits for that),
 * then adds every series the replay creates to the postings, until the
 * replay is done and all are in. */
static void *helper_run(void *p)
{
	tsdb_wal_head *d = p;
	if (d->helper_thread)
		pthread_setname_np(pthread_self(), "tsdb-open");
	int prev_arena = d->bulk ? tp_bulkmem_enter() : -1;
	double c0 = thread_cpu_secs(), t0 = secs();
	tsdb_chunkfiles *cf = tsdb_chunkfiles_open(d->scan_dir, d->scan_opts, d->scan_err, sizeof(d->scan_err));
	pthread_mutex_lock(&d->scan_mu);
	d->cf = cf;
	d->scan_done = true;
	d->st.open_scan_s = secs() - t0;
	pthread_cond_broadcast(&d->scan_cv);
	pthread_mutex_unlock(&d->scan_mu);
	t0 = secs();
	size_t i = 0;
	for (;;) {
		bool fin = atomic_load_explicit(&d->replay_done, memory_order_acquire);
		size_t n = atomic_load_explicit(&d->ncreated, memory_order_acquire);
		if (i == n) {
			if (fin)
				break;
			usleep(200);
			continue;
		}
		while (i < n) {
			size_t off = i & (CREATED_BLOCK - 1), k = TP_MIN(n - i, CREATED_BLOCK - off);
			tsdb_head_add_postings(d->h, d->created[i >> CREATED_BLOCK_LOG2] + off, k);
			i += k;
		}
	}
	d->st.open_postings_s = secs() - t0;
	d->st.open_helper_cpu_s = thread_cpu_secs() - c0;
	tp_bulkmem_leave(prev_arena);
	return NULL;
}

/* Waits for the chunk file scan, then attaches the chunks of every series
 * replayed so far (aliases after the series they continue). Returns 0, or
 * -1 when the chunk files could not be opened (scan_err). */
static int attach_all(tsdb_wal_head *d)
{
	if (d->attached)
		return 0;
	pthread_mutex_lock(&d->scan_mu);
	while (!d->scan_done)
		pthread_cond_wait(&d->scan_cv, &d->scan_mu);
	pthread_mutex_unlock(&d->scan_mu);
	if (!d->cf)
		return -1;
	tsdb_head_set_chunkfiles(d->h, d->cf);
	/* refs in the chunk files are never handed out to new series */
	tsdb_head_reserve_refs(d->h, tsdb_chunkfiles_max_ref(d->cf));
	uint32_t end = tsdb_head_ref_end(d->h);
	if (d->nskip < end) {
		/* sized once (attach_ref grows it for later series) */
		size_t old = d->nskip;
		d->skip = tp_xrealloc(d->skip, (size_t)end * sizeof(*d->skip));
		for (size_t i = old; i < end; i++)
			d->skip[i] = INT64_MIN;
		d->nskip = end;
	}
	for (uint32_t r = 1; r < end; r++)
		if (tsdb_head_series_labels(d->h, r))
			attach_ref(d, r, r);
	for (size_t i = 0; i < d->naliases; i++)
		attach_ref(d, d->aliases[i].from, d->aliases[i].to);
	d->attached = true;
	return 0;
}

static int rp_series(void *ud, uint32_t ref, const tp_labels *l)
{
	tsdb_wal_head *d = ud;
	bool existed = tsdb_head_series_labels(d->h, ref) != NULL;
	uint32_t got = tsdb_head_replay_series(d->h, ref, l);
	if (got == 0)
		return 0; /* invalid or conflicting: its samples count as unknown */
	if (got == ref && !existed)
		note_created(d, ref);
	/* the full chunks logged under ref continue the series got (later,
	 * all at once, while the chunk files are still being scanned) */
	if (d->attached)
		attach_ref(d, ref, got);
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
	/* samples need the chunks: which are redundant, and where cuts go */
	if (attach_all(d) != 0)
		return -2;
	if (d->nbatch < n) {
		free(d->batch);
		d->nbatch = n;
		d->batch = tp_xmalloc(n * sizeof(*d->batch));
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t ref = map_ref(d, s[i].ref);
		if (ref < d->nskip && s[i].t_ms <= d->skip[ref]) {
			d->st.samples_skipped++;
			continue;
		}
		d->batch[k++] = (tsdb_ref_sample){ ref, s[i].t_ms, s[i].v };
	}
	d->st.samples_restored +=
		tsdb_head_replay_samples(d->h, d->batch, k, &d->st.samples_rejected, &d->st.unknown_refs);
	return 0;
}

/* ---- hooks ---- */

static void hk_series(void *ctx, uint32_t ref, const tp_labels *l)
{
	tsdb_wal_head *d = ctx;
	tsdb_wal_log_series(d->w, ref, l);
}

static int hk_samples(void *ctx, const tsdb_ref_sample *s, size_t n, char *err, size_t errlen)
{
	tsdb_wal_head *d = ctx;
	tsdb_wal_log_samples(d->w, (const tsdb_wal_sample *)(const void *)s, n);
	/* not logged: the head drops the batch and the appender's caller
	 * reports the failure (remote write answers 500, so the sender
	 * retries); counted, and the WAL keeps its last error */
	if (tsdb_wal_commit(d->w) != 0) {
		atomic_fetch_add(&d->commit_failures, 1);
		char why[256];
		tsdb_wal_last_error(d->w, why, sizeof(why));
		snprintf(err, errlen, "write to WAL: %s", why);
		return -1;
	}
	tsdb_wal_head_observer_fn *fn = atomic_load_explicit(&d->observer, memory_order_acquire);
	if (fn)
		fn(atomic_load_explicit(&d->observer_ud, memory_order_acquire), s, n);
	return 0;
}

static bool keep_series(void *ud, uint32_t ref)
{
	keep_ctx *k = ud;
	return tsdb_head_series_labels(k->d->h, map_ref(k->d, ref)) != NULL;
}

static int64_t keep_from(void *ud, uint32_t ref)
{
	keep_ctx *k = ud;
	uint32_t r = map_ref(k->d, ref);
	if (r >= k->n || k->durable[r] == INT64_MIN)
		return INT64_MIN;
	return k->durable[r] + 1;
}

/* The truncation point survives restarts: chunk files keep chunks older
 * than it until the whole file is old, and open must not bring them back.
 * Written to a temporary file, fsynced and renamed. */
#define MIN_TIME_FILE "min_time"

static int write_min_time(tsdb_wal_head *d, int64_t mint_ms, char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", tsdb_chunkfiles_dir(d->cf), MIN_TIME_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%lld\n", (long long)mint_ms) < 0 || fflush(f) != 0 || fdatasync(fileno(f)) != 0 ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "write %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int64_t read_min_time(const char *cdir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", cdir, MIN_TIME_FILE);
	FILE *f = fopen(path, "r");
	long long v;
	int64_t mint = INT64_MIN;
	if (f && fscanf(f, "%lld", &v) == 1)
		mint = (int64_t)v;
	if (f)
		fclose(f);
	return mint;
}

/* Syncs the chunk files, then checkpoints the WAL: series still in the
 * head, their samples >= mint_ms that no synced chunk holds. */
static int checkpoint(tsdb_wal_head *d, int64_t mint_ms, char *err, size_t errlen)
{
	keep_ctx k = { .d = d };
	tsdb_chunk_pos upto;
	int sync_rc = tsdb_chunkfiles_sync(d->cf, &upto);
	if (sync_rc == 0) {
		k.n = tsdb_head_ref_end(d->h);
		k.durable = tp_xmalloc(k.n * sizeof(*k.durable));
		tsdb_head_durable_maxt(d->h, upto, k.durable, k.n);
	}
	/* without a sync nothing counts as durable: the checkpoint then
	 * only applies mint_ms */
	int rc = tsdb_wal_checkpoint_from(d->w, keep_series, keep_from, &k, mint_ms, err, errlen);
	free(k.durable);
	if (rc == 0 && sync_rc != 0) {
		tsdb_chunkfiles_last_error(d->cf, err, errlen);
		rc = -1;
	}
	if (rc != 0)
		atomic_fetch_add(&d->checkpoint_errors, 1);
	return rc;
}

/* ---- API ---- */

tsdb_wal_head *tsdb_wal_head_open(const char *dir, const tsdb_options *opts, const tsdb_wal_opts *wopts,
				  tsdb_wal_head_stats *stats, char *err, size_t errlen)
{
	return tsdb_wal_head_open_ex(dir, opts, wopts, NULL, stats, err, errlen);
}

/* Bytes of the regular files in dir and, one level down, its
 * subdirectories (a WAL directory holds checkpoint directories). */
static uint64_t dir_bytes(const char *dir, int depth)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return 0;
	uint64_t sum = 0;
	struct dirent *e;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		struct stat sb;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &sb) != 0)
			continue;
		if (S_ISREG(sb.st_mode))
			sum += (uint64_t)sb.st_size;
		else if (S_ISDIR(sb.st_mode) && depth > 0)
			sum += dir_bytes(p, depth - 1);
	}
	closedir(dp);
	return sum;
}

/* Storage this big takes huge pages for what the open creates; below it
 * a huge page would mostly add to a small server's resident memory. */
#define BULK_OPEN_BYTES ((uint64_t)32 << 20)

tsdb_wal_head *tsdb_wal_head_open_ex(const char *dir, const tsdb_options *opts, const tsdb_wal_opts *wopts,
				     const tsdb_chunkfiles_opts *copts, tsdb_wal_head_stats *stats, char *err,
				     size_t errlen)
{
	char wdir[4096], cdir[4096];
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "create storage directory %s: %s", dir, strerror(errno));
		return NULL;
	}
	snprintf(wdir, sizeof(wdir), "%s/wal", dir);
	snprintf(cdir, sizeof(cdir), "%s/%s", dir, TSDB_CHUNKFILE_DIR);
	tsdb_wal_head *d = tp_xcalloc(1, sizeof(*d));
	/* A helper thread scans the chunk files while the WAL's series records
	 * are replayed, then adds the new series to the postings behind the
	 * replay; the chunks are attached once the scan is done: a restart
	 * after an orderly stop is mostly these. */
	d->scan_dir = cdir;
	d->scan_opts = copts;
	pthread_mutex_init(&d->scan_mu, NULL);
	pthread_cond_init(&d->scan_cv, NULL);
	d->created = tp_xcalloc(CREATED_BLOCKS, sizeof(*d->created));
	d->bulk = dir_bytes(wdir, 1) + dir_bytes(cdir, 0) >= BULK_OPEN_BYTES;
	int prev_arena = d->bulk ? tp_bulkmem_enter() : -1;
	d->h = tsdb_head_new(opts);
	tsdb_head_defer_postings(d->h);
	d->helper_thread = true;
	d->helper_running = pthread_create(&d->helper, NULL, helper_run, d) == 0;
	if (!d->helper_running) {
		d->helper_thread = false;
		/* no thread: scan now, build the postings after the replay */
		atomic_store(&d->replay_done, true);
		helper_run(d);
		atomic_store(&d->replay_done, false);
	}
	tsdb_wal_replay_cb cb = { .series = rp_series, .samples = rp_samples, .ud = d };
	double c0 = thread_cpu_secs(), t0 = secs();
	int rc = tsdb_wal_replay(wdir, &cb, &d->st.replay, err, errlen);
	d->st.open_replay_s = secs() - t0;
	atomic_store_explicit(&d->replay_done, true, memory_order_release);
	if (rc == -2)
		snprintf(err, errlen, "%s", d->scan_err);
	if (rc != 0)
		goto fail;
	t0 = secs();
	rc = attach_all(d);
	d->st.open_attach_s = secs() - t0;
	d->st.open_main_cpu_s = thread_cpu_secs() - c0;
	tp_bulkmem_leave(prev_arena);
	prev_arena = -1;
	if (d->helper_running) {
		pthread_join(d->helper, NULL);
		d->helper_running = false;
		tsdb_head_end_deferred_postings(d->h);
	} else {
		tsdb_head_build_postings(d->h);
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s", d->scan_err);
		goto fail;
	}
	free_created(d);
	free(d->batch);
	d->batch = NULL;
	free(d->skip);
	d->skip = NULL;
	d->nskip = 0;
	d->st.chunks_dropped += tsdb_chunkfiles_take_done(d->cf);
	/* what an earlier truncation dropped stays dropped */
	int64_t mint = read_min_time(cdir);
	if (mint != INT64_MIN)
		tsdb_head_truncate(d->h, mint);
	tsdb_chunkfiles_get_stats(d->cf, &d->st.chunks);
	{
		tsdb_stats hs;
		tsdb_head_stats(d->h, &hs);
		d->st.chunk_samples_restored = hs.samples_appended <= hs.num_samples
						       ? hs.num_samples - hs.samples_appended
						       : 0;
	}
	d->w = tsdb_wal_open(wdir, wopts, err, errlen);
	if (!d->w)
		goto fail;
	tsdb_head_hooks hk = { .series_created = hk_series, .samples_committed = hk_samples, .ctx = d };
	tsdb_head_set_hooks(d->h, &hk);
	if (stats)
		tsdb_wal_head_get_stats(d, stats);
	return d;
fail:
	tp_bulkmem_leave(prev_arena);
	atomic_store(&d->replay_done, true);
	if (d->helper_running)
		pthread_join(d->helper, NULL);
	free_created(d);
	pthread_mutex_destroy(&d->scan_mu);
	pthread_cond_destroy(&d->scan_cv);
	free(d->batch);
	tsdb_head_free(d->h);
	tsdb_chunkfiles_close(d->cf);
	free(d->skip);
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

tsdb_chunkfiles *tsdb_wal_head_chunkfiles(tsdb_wal_head *d)
{
	return d->cf;
}

void tsdb_wal_head_get_stats(tsdb_wal_head *d, tsdb_wal_head_stats *out)
{
	tsdb_chunkfiles_stats open_chunks = d->st.chunks;
	*out = d->st;
	out->wal_commit_failures = atomic_load(&d->commit_failures);
	out->size_retentions = atomic_load(&d->size_retentions);
	out->time_retentions = atomic_load(&d->time_retentions);
	out->checkpoint_errors = atomic_load(&d->checkpoint_errors);
	tsdb_head_chunk_counts(d->h, &out->disk_chunks, &out->chunk_write_failures);
	/* current figures, with what open found */
	tsdb_chunkfiles_get_stats(d->cf, &out->chunks);
	out->chunks.chunks_loaded = open_chunks.chunks_loaded;
}

long tsdb_wal_head_truncate(tsdb_wal_head *d, int64_t mint_ms, char *err, size_t errlen)
{
	tsdb_chunkfiles_stats before, after;
	tsdb_chunkfiles_get_stats(d->cf, &before);
	size_t removed = tsdb_head_truncate(d->h, mint_ms);
	tsdb_chunkfiles_get_stats(d->cf, &after);
	if (after.files_removed > before.files_removed)
		atomic_fetch_add(&d->time_retentions, 1);
	if (mint_ms != INT64_MIN && write_min_time(d, mint_ms, err, errlen) != 0)
		return -1;
	if (checkpoint(d, mint_ms, err, errlen) != 0)
		return -1;
	return (long)removed;
}

bool tsdb_wal_head_checkpoint_due(tsdb_wal_head *d, uint64_t min_bytes)
{
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(d->w, &ws);
	return ws.segments_bytes >= min_bytes && ws.segments_bytes >= 4 * ws.checkpoint_bytes;
}

uint64_t tsdb_wal_head_disk_bytes(tsdb_wal_head *d)
{
	tsdb_wal_stats ws;
	tsdb_chunkfiles_stats cs;
	tsdb_wal_get_stats(d->w, &ws);
	tsdb_chunkfiles_get_stats(d->cf, &cs);
	return ws.segments_bytes + ws.checkpoint_bytes + cs.bytes;
}

long tsdb_wal_head_enforce_size(tsdb_wal_head *d, uint64_t max_bytes, char *err, size_t errlen)
{
	uint64_t total = tsdb_wal_head_disk_bytes(d);
	if (max_bytes == 0 || total <= max_bytes)
		return 0;
	uint64_t freed;
	uint32_t upto = tsdb_chunkfiles_pick_oldest(d->cf, total - max_bytes, &freed);
	if (!upto)
		return 0;
	tsdb_chunkfiles_stats before, after;
	tsdb_chunkfiles_get_stats(d->cf, &before);
	tsdb_head_drop_chunk_files(d->h, upto);
	tsdb_chunkfiles_get_stats(d->cf, &after);
	atomic_fetch_add(&d->size_retentions, 1);
	/* the WAL must not bring the dropped samples back at the next open */
	if (checkpoint(d, INT64_MIN, err, errlen) != 0)
		return -1;
	return (long)(after.files_removed - before.files_removed);
}

int tsdb_wal_head_close(tsdb_wal_head *d)
{
	if (!d)
		return 0;
	/* the open head chunks go to the chunk files, and the WAL keeps
	 * only what no synced chunk holds: an orderly restart then replays
	 * series records, not samples */
	tsdb_head_cut_all(d->h);
	char err[256];
	checkpoint(d, INT64_MIN, err, sizeof(err));
	tsdb_head_set_hooks(d->h, NULL);
	int rc = tsdb_wal_close(d->w);
	tsdb_head_free(d->h);
	if (tsdb_chunkfiles_close(d->cf) != 0)
		rc = -1;
	pthread_mutex_destroy(&d->scan_mu);
	pthread_cond_destroy(&d->scan_cv);
	free(d->aliases);
	free(d);
	return rc;
}
