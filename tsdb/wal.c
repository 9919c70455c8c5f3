/* SPDX-License-Identifier: Apache-2.0
 * wal.c - the WAL writer: pending batch, commit (one write per commit),
 * segment cutting, the fsync policy and its background thread, and
 * checkpoints. Reading and replay live in wal_read.c / wal_replay.c.
 *
 * Invariants:
 * - w->mu guards everything below it in struct tsdb_wal; the file is only
 *   written with w->mu held, so records land in log order.
 * - seg_bytes is the size of the current segment and always ends on a
 *   record boundary: a failed or short write is truncated back.
 * - Pending series records are framed before pending samples, so a series
 *   precedes its samples in the file.
 * - A checkpoint never covers the segment being written (it cuts first). */
#include "config.h"
#include "tsdb/wal.h"
#include "tsdb/wal_int.h"

#include "lib/duration.h"
#include "tsdb/killpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FAILED_RING 16

struct tsdb_wal {
	char *dir;
	tsdb_wal_opts o;
	pthread_mutex_t ckpt_mu;    /* serialises checkpoints */
	pthread_mutex_t mu;
	int fd;                     /* current segment, O_APPEND */
	uint32_t seg;               /* its number */
	uint64_t seg_bytes;         /* its size */
	tp_strbuf ser_framed;       /* pending series records, framed */
	tp_strbuf ser_payload;      /* pending series entries not yet framed */
	uint64_t ser_pending;       /* series entries pending */
	size_t ser_framed_recs;     /* records in ser_framed */
	tsdb_wal_sample *smp;       /* pending samples */
	size_t smp_n, smp_cap;
	tp_strbuf out, tmp;         /* commit scratch */
	uint64_t cur_gen;           /* generation of the pending batch, 0 when empty */
	uint64_t failed[FAILED_RING]; /* generations whose write failed, a ring */
	unsigned failed_at;
	tsdb_wal_stats st;
	char last_err[256];
	/* background fsync */
	pthread_t th;
	pthread_cond_t cv;
	bool th_started, stop, dirty;
};

/* Generations are unique across WALs, so a thread-local pair identifies
 * the batch the thread last logged into. */
static _Atomic uint64_t gen_counter;
static _Thread_local struct {
	const tsdb_wal *w;
	uint64_t gen;
} tls_logged;

/* ---- options ---- */

void tsdb_wal_opts_default(tsdb_wal_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->segment_bytes = TSDB_WAL_SEGMENT_BYTES_DEFAULT;
	o->fsync_mode = TSDB_WAL_FSYNC_PERIOD;
	o->fsync_period_ms = TSDB_WAL_FSYNC_PERIOD_MS_DEFAULT;
	o->compress = true;
}

int tsdb_wal_fsync_parse(const char *s, tsdb_wal_opts *o)
{
	int64_t ms;
	if (!strcmp(s, "always")) {
		o->fsync_mode = TSDB_WAL_FSYNC_ALWAYS;
		return 0;
	}
	if (!strcmp(s, "never")) {
		o->fsync_mode = TSDB_WAL_FSYNC_NEVER;
		return 0;
	}
	if (tp_duration_parse(s, strlen(s), &ms) != 0)
		return -1;
	if (ms == 0) {
		o->fsync_mode = TSDB_WAL_FSYNC_ALWAYS;
		return 0;
	}
	o->fsync_mode = TSDB_WAL_FSYNC_PERIOD;
	o->fsync_period_ms = ms;
	return 0;
}

/* ---- file helpers ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* fdatasync, timed for the observer. */
static int timed_fsync(const tsdb_wal_opts *o, int fd)
{
	int64_t t0 = o->fsync_observe ? tp_mono_ns() : 0;
	int rc = fdatasync(fd);
	if (rc == 0 && o->fsync_observe)
		o->fsync_observe(o->fsync_observe_ud, (double)(tp_mono_ns() - t0) / 1e9);
	return rc;
}

static uint64_t file_bytes(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static void set_err(tsdb_wal *w, const char *what, int e)
{
	snprintf(w->last_err, sizeof(w->last_err), "%s segment %08u: %s", what, w->seg, strerror(e));
}

/* Creates segment n and makes it current. Caller holds mu (or is open). */
static int seg_create(tsdb_wal *w, uint32_t n)
{
	char path[4096];
	wal_seg_path(path, sizeof(path), w->dir, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (w->o.fsync_mode != TSDB_WAL_FSYNC_NEVER && wal_fsync_dir(w->dir) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	w->fd = fd;
	w->seg = n;
	w->seg_bytes = 0;
	w->st.segments_created++;
	w->st.segment_current = n;
	return 0;
}

/* Finishes the current segment (synced unless fsync is "never") and
 * starts the next. Caller holds mu. */
static int seg_cut(tsdb_wal *w)
{
	if (w->o.fsync_mode != TSDB_WAL_FSYNC_NEVER) {
		if (timed_fsync(&w->o, w->fd) != 0)
			return -1;
		w->st.fsyncs++;
	}
	int old = w->fd;
	if (seg_create(w, w->seg + 1) != 0)
		return -1;
	close(old);
	w->dirty = false;
	return 0;
}

/* ---- background fsync ---- */

/* Sleeps until the segment becomes dirty (no wake-ups while idle), waits
 * out the period from there, then syncs: data reaches the device at most
 * one period plus one fsync after its commit returned. */
static void *fsync_thread(void *arg)
{
	tsdb_wal *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		if (!w->dirty) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + (w->o.fsync_period_ms % 1000) * 1000000;
		ts.tv_sec += w->o.fsync_period_ms / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0)
			; /* woken early (a commit, or close): keep the deadline */
		if (w->stop || !w->dirty)
			continue; /* close syncs itself; a cut synced the segment */
		/* fsync outside the lock on a dup: writers keep going, and a
		 * concurrent cut (which syncs the old segment itself) cannot
		 * close the file under us */
		int fd = dup(w->fd);
		w->dirty = false;
		pthread_mutex_unlock(&w->mu);
		int rc = fd >= 0 ? timed_fsync(&w->o, fd) : -1;
		int e = errno;
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&w->mu);
		if (rc == 0) {
			w->st.fsyncs++;
		} else {
			w->st.write_failures++;
			set_err(w, "fsync", e);
			w->dirty = true;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- open / close ---- */

/* Bytes of checkpoint n's segment files. */
static uint64_t ckpt_bytes(const char *dir, uint32_t n)
{
	char cdir[4096], path[4096];
	uint32_t *segs = NULL;
	wal_ckpt_path(cdir, sizeof(cdir), dir, n, false);
	long k = wal_list_segments(cdir, &segs);
	uint64_t sum = 0;
	for (long i = 0; i < k; i++) {
		wal_seg_path(path, sizeof(path), cdir, segs[i]);
		sum += file_bytes(path);
	}
	free(segs);
	return sum;
}

tsdb_wal *tsdb_wal_open(const char *dir, const tsdb_wal_opts *o, char *err, size_t errlen)
{
	tsdb_wal *w = tp_xcalloc(1, sizeof(*w));
	uint32_t *segs = NULL;
	w->fd = -1;
	if (o)
		w->o = *o;
	else
		tsdb_wal_opts_default(&w->o);
	if (!w->o.segment_bytes)
		w->o.segment_bytes = TSDB_WAL_SEGMENT_BYTES_DEFAULT;
	if (w->o.fsync_period_ms <= 0)
		w->o.fsync_period_ms = TSDB_WAL_FSYNC_PERIOD_MS_DEFAULT;
	w->dir = tp_xstrdup(dir);
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->ckpt_mu, NULL);
	pthread_cond_init(&w->cv, NULL);

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "create WAL directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	long ns = wal_list_segments(dir, &segs);
	if (ns < 0) {
		snprintf(err, errlen, "read WAL directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	long ck = wal_last_checkpoint(dir);
	char path[4096];
	/* segments at or below the checkpoint are covered by it (left by a
	 * crash between its rename and their deletion) */
	long i0 = 0;
	for (; i0 < ns && (long)segs[i0] <= ck; i0++) {
		wal_seg_path(path, sizeof(path), dir, segs[i0]);
		unlink(path);
	}
	for (long i = i0; i + 1 < ns; i++) {
		wal_seg_path(path, sizeof(path), dir, segs[i]);
		w->st.segments_bytes += file_bytes(path);
	}
	if (ck >= 0)
		w->st.checkpoint_bytes = ckpt_bytes(dir, (uint32_t)ck);
	if (ns > i0) {
		uint32_t last = segs[ns - 1];
		uint64_t dropped;
		bool torn;
		char why[160];
		wal_seg_path(path, sizeof(path), dir, last);
		if (wal_repair_tail(path, &dropped, &torn, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "repair WAL segment %s: %s", path, strerror(errno));
			goto fail;
		}
		if (dropped) {
			w->st.truncated_bytes += dropped;
			if (!torn)
				w->st.corruptions++;
		}
		w->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		struct stat stt;
		if (w->fd < 0 || fstat(w->fd, &stt) != 0) {
			snprintf(err, errlen, "open WAL segment %s: %s", path, strerror(errno));
			goto fail;
		}
		w->seg = last;
		w->seg_bytes = (uint64_t)stt.st_size;
		w->st.segments_bytes += w->seg_bytes;
		w->st.segment_current = last;
	} else {
		if (seg_create(w, ck >= 0 ? (uint32_t)ck + 1 : 0) != 0) {
			snprintf(err, errlen, "create WAL segment in %s: %s", dir, strerror(errno));
			goto fail;
		}
	}
	free(segs);
	segs = NULL;
	if (w->o.fsync_mode == TSDB_WAL_FSYNC_PERIOD) {
		if (pthread_create(&w->th, NULL, fsync_thread, w) != 0) {
			snprintf(err, errlen, "start WAL fsync thread: %s", strerror(errno));
			goto fail;
		}
		w->th_started = true;
	}
	return w;
fail:
	free(segs);
	if (w->fd >= 0)
		close(w->fd);
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->ckpt_mu);
	pthread_cond_destroy(&w->cv);
	free(w->dir);
	free(w);
	return NULL;
}

static int commit_locked(tsdb_wal *w);

int tsdb_wal_close(tsdb_wal *w)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	int rc = commit_locked(w);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->th_started)
		pthread_join(w->th, NULL);
	if (w->o.fsync_mode != TSDB_WAL_FSYNC_NEVER && w->fd >= 0) {
		if (timed_fsync(&w->o, w->fd) != 0)
			rc = -1;
	}
	if (w->fd >= 0 && close(w->fd) != 0)
		rc = -1;
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->ckpt_mu);
	pthread_cond_destroy(&w->cv);
	tp_sb_free(&w->ser_framed);
	tp_sb_free(&w->ser_payload);
	tp_sb_free(&w->out);
	tp_sb_free(&w->tmp);
	free(w->smp);
	free(w->dir);
	free(w);
	return rc;
}

/* ---- logging and commit ---- */

static void note_gen(tsdb_wal *w)
{
	if (!w->cur_gen)
		w->cur_gen = atomic_fetch_add(&gen_counter, 1) + 1;
	tls_logged.w = w;
	tls_logged.gen = w->cur_gen;
}

void tsdb_wal_log_series(tsdb_wal *w, uint32_t ref, const tp_labels *l)
{
	pthread_mutex_lock(&w->mu);
	wal_enc_series(&w->ser_payload, ref, l);
	w->ser_pending++;
	if (w->ser_payload.len >= WAL_REC_SPLIT_BYTES) {
		wal_frame(&w->ser_framed, WAL_REC_SERIES, w->ser_payload.buf, w->ser_payload.len, w->o.compress);
		w->ser_framed_recs++;
		tp_sb_reset(&w->ser_payload);
	}
	note_gen(w);
	pthread_mutex_unlock(&w->mu);
}

void tsdb_wal_log_samples(tsdb_wal *w, const tsdb_wal_sample *s, size_t n)
{
	if (!n)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->smp_n + n > w->smp_cap)
		TP_GROW(w->smp, w->smp_cap, w->smp_n + n);
	memcpy(w->smp + w->smp_n, s, n * sizeof(*s));
	w->smp_n += n;
	note_gen(w);
	pthread_mutex_unlock(&w->mu);
}

static void drop_pending(tsdb_wal *w)
{
	tp_sb_reset(&w->ser_framed);
	tp_sb_reset(&w->ser_payload);
	w->ser_pending = 0;
	w->ser_framed_recs = 0;
	w->smp_n = 0;
	w->cur_gen = 0;
}

static int commit_locked(tsdb_wal *w)
{
	if (!w->cur_gen)
		return 0;
	tp_sb_reset(&w->out);
	size_t recs = 0;
	if (w->ser_framed.len) {
		tp_sb_append(&w->out, w->ser_framed.buf, w->ser_framed.len);
		recs += w->ser_framed_recs;
	}
	if (w->ser_payload.len) {
		wal_frame(&w->out, WAL_REC_SERIES, w->ser_payload.buf, w->ser_payload.len, w->o.compress);
		recs++;
	}
	recs += wal_enc_samples(&w->out, &w->tmp, w->smp, w->smp_n, w->o.compress);
	int rc = 0;
	const char *what = "write";
	int e = 0;
	if (w->seg_bytes > 0 && w->seg_bytes + w->out.len > w->o.segment_bytes) {
		if (seg_cut(w) != 0) {
			what = "cut";
			e = errno;
			rc = -1;
		}
	}
	if (rc == 0 && write_all(w->fd, w->out.buf, w->out.len) != 0) {
		e = errno;
		rc = -1;
		/* keep the segment ending on a record boundary */
		if (ftruncate(w->fd, (off_t)w->seg_bytes) != 0)
			what = "write (and truncate back)";
	}
	if (rc == 0) {
		w->seg_bytes += w->out.len;
		w->st.segments_bytes += w->out.len;
		w->st.bytes_written += w->out.len;
		w->st.records_written += recs;
		w->st.samples_written += w->smp_n;
		w->st.series_written += w->ser_pending;
		w->st.commits++;
		if (w->o.fsync_mode == TSDB_WAL_FSYNC_ALWAYS) {
			if (timed_fsync(&w->o, w->fd) != 0) {
				what = "fsync";
				e = errno;
				rc = -1;
			} else {
				w->st.fsyncs++;
			}
		} else if (w->o.fsync_mode == TSDB_WAL_FSYNC_PERIOD && !w->dirty) {
			w->dirty = true;
			pthread_cond_signal(&w->cv); /* start the period */
		}
	}
	if (rc != 0) {
		w->st.write_failures++;
		set_err(w, what, e);
		w->failed[w->failed_at++ % FAILED_RING] = w->cur_gen;
		/* The samples' commits fail and their appenders drop them, but
		 * the series exist in the head from now on: their records go
		 * out with the next commit, or samples logged later would
		 * refer to refs the log never named. */
		w->smp_n = 0;
		w->cur_gen = 0;
	} else {
		drop_pending(w);
	}
	/* a huge batch (a big remote-write request) must not pin its memory */
	if (w->smp_cap > 65536) {
		free(w->smp);
		w->smp = NULL;
		w->smp_cap = 0;
	}
	if (w->out.cap > (4u << 20)) {
		tp_sb_free(&w->out);
		tp_sb_free(&w->tmp);
	}
	return rc;
}

int tsdb_wal_commit(tsdb_wal *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t mine = tls_logged.w == w ? tls_logged.gen : 0;
	int rc;
	uint64_t batch = w->cur_gen;
	if (batch) {
		rc = commit_locked(w);
		/* if the batch held our records (or we logged nothing), its
		 * result is ours; otherwise our records went out in an earlier
		 * batch, whose result is looked up below */
		if (mine == 0 || mine == batch)
			goto out;
	}
	rc = 0;
	for (unsigned i = 0; mine && i < FAILED_RING; i++)
		if (w->failed[i] == mine)
			rc = -1;
out:
	if (tls_logged.w == w)
		tls_logged.gen = 0;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void tsdb_wal_last_error(tsdb_wal *w, char *buf, size_t len)
{
	pthread_mutex_lock(&w->mu);
	snprintf(buf, len, "%s", w->last_err);
	pthread_mutex_unlock(&w->mu);
}

void tsdb_wal_get_stats(tsdb_wal *w, tsdb_wal_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	pthread_mutex_unlock(&w->mu);
}

const char *tsdb_wal_dir(const tsdb_wal *w)
{
	return w->dir;
}

/* ---- checkpoint ---- */

typedef struct ckpt_ctx {
	tsdb_wal_keep_fn *keep;
	tsdb_wal_keep_from_fn *keep_from;
	void *ud;
	int64_t mint_ms;
	bool compress;
	int fd;
	tp_strbuf out, ser, tmp;
	tsdb_wal_sample *kept;
	size_t kept_cap;
	uint32_t last_ref;      /* one-entry cache of keep() and keep_from() */
	bool last_keep, have_last;
	int64_t last_from;
	uint64_t series_kept, samples_kept;
} ckpt_ctx;

static void ck_lookup(ckpt_ctx *c, uint32_t ref)
{
	if (!c->have_last || c->last_ref != ref) {
		c->last_ref = ref;
		c->last_keep = c->keep(c->ud, ref);
		c->last_from = c->last_keep && c->keep_from ? c->keep_from(c->ud, ref) : INT64_MIN;
		c->have_last = true;
	}
}

static bool ck_keep(ckpt_ctx *c, uint32_t ref)
{
	ck_lookup(c, ref);
	return c->last_keep;
}

static bool ck_keep_sample(ckpt_ctx *c, const tsdb_wal_sample *s)
{
	if (s->t_ms < c->mint_ms)
		return false;
	ck_lookup(c, s->ref);
	return c->last_keep && s->t_ms >= c->last_from;
}

static int ck_flush(ckpt_ctx *c, bool all)
{
	if (c->out.len >= (1u << 20) || (all && c->out.len)) {
		if (write_all(c->fd, c->out.buf, c->out.len) != 0)
			return -1;
		tp_sb_reset(&c->out);
	}
	return 0;
}

static void ck_frame_series(ckpt_ctx *c)
{
	if (c->ser.len) {
		wal_frame(&c->out, WAL_REC_SERIES, c->ser.buf, c->ser.len, c->compress);
		tp_sb_reset(&c->ser);
	}
}

static int ck_series_cb(void *ud, uint32_t ref, const tp_labels *l)
{
	ckpt_ctx *c = ud;
	if (!ck_keep(c, ref))
		return 0;
	wal_enc_series(&c->ser, ref, l);
	c->series_kept++;
	if (c->ser.len >= WAL_REC_SPLIT_BYTES)
		ck_frame_series(c);
	return 0;
}

/* Copies the kept records of one segment file into the checkpoint. */
static int ck_segment(ckpt_ctx *c, wal_dec *d, const char *path, char *err, size_t errlen)
{
	wal_reader r;
	if (wal_reader_open(&r, path) != 0) {
		snprintf(err, errlen, "checkpoint: open %s: %s", path, strerror(errno));
		return -1;
	}
	int rc, type, stop;
	const uint8_t *p;
	size_t n, m;
	while ((rc = wal_reader_next(&r, &type, &p, &n)) == WAL_RD_OK) {
		if (type == WAL_REC_SERIES) {
			if (wal_dec_series(d, p, n, ck_series_cb, c, &stop) != 0)
				goto bad;
		} else {
			if (wal_dec_samples(d, p, n, &m) != 0)
				goto bad;
			size_t k = 0;
			if (c->kept_cap < m)
				TP_GROW(c->kept, c->kept_cap, m);
			for (size_t i = 0; i < m; i++)
				if (ck_keep_sample(c, &d->sv[i]))
					c->kept[k++] = d->sv[i];
			if (k) {
				ck_frame_series(c); /* series before the samples that follow them */
				wal_enc_samples(&c->out, &c->tmp, c->kept, k, c->compress);
				c->samples_kept += k;
			}
		}
		if (ck_flush(c, false) != 0) {
			snprintf(err, errlen, "checkpoint: write: %s", strerror(errno));
			wal_reader_close(&r);
			return -1;
		}
	}
	if (rc != WAL_RD_EOF) {
		if (rc == WAL_RD_IO)
			snprintf(err, errlen, "checkpoint: read %s: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "checkpoint: %s: %s at offset %llu", path, r.why,
				 (unsigned long long)r.rec_off);
		wal_reader_close(&r);
		return -1;
	}
	wal_reader_close(&r);
	return 0;
bad:
	snprintf(err, errlen, "checkpoint: %s: malformed record at offset %llu", path,
		 (unsigned long long)r.rec_off);
	wal_reader_close(&r);
	return -1;
}

int tsdb_wal_checkpoint(tsdb_wal *w, tsdb_wal_keep_fn *keep_series, void *ud, int64_t mint_ms,
			char *err, size_t errlen)
{
	return tsdb_wal_checkpoint_from(w, keep_series, NULL, ud, mint_ms, err, errlen);
}

int tsdb_wal_checkpoint_from(tsdb_wal *w, tsdb_wal_keep_fn *keep_series, tsdb_wal_keep_from_fn *keep_from,
			     void *ud, int64_t mint_ms, char *err, size_t errlen)
{
	err[0] = '\0';
	pthread_mutex_lock(&w->ckpt_mu);
	pthread_mutex_lock(&w->mu);
	long last;
	if (w->seg_bytes > 0) {
		last = w->seg;
		if (seg_cut(w) != 0) {
			set_err(w, "cut", errno);
			snprintf(err, errlen, "checkpoint: %s", w->last_err);
			pthread_mutex_unlock(&w->mu);
			pthread_mutex_unlock(&w->ckpt_mu);
			return -1;
		}
	} else {
		last = (long)w->seg - 1;
	}
	pthread_mutex_unlock(&w->mu);

	int rc = -1;
	uint32_t *segs = NULL;
	wal_dec d = { 0 };
	ckpt_ctx c = { .keep = keep_series, .keep_from = keep_from, .ud = ud, .mint_ms = mint_ms,
		       .compress = w->o.compress, .fd = -1 };
	char path[4096], tmpdir[4096], final[4096];
	long prev = wal_last_checkpoint(w->dir);
	long ns = wal_list_segments(w->dir, &segs);
	if (ns < 0) {
		snprintf(err, errlen, "checkpoint: read %s: %s", w->dir, strerror(errno));
		goto out;
	}
	long first = -1;  /* index of the first segment to fold in */
	for (long i = 0; i < ns; i++)
		if ((long)segs[i] > prev && (long)segs[i] <= last) {
			first = i;
			break;
		}
	if (last < 0 || last <= prev || first < 0) {
		rc = 0; /* nothing new to fold */
		goto out;
	}
	for (long i = first; i < ns && (long)segs[i] <= last; i++)
		if (i > first && segs[i] != segs[i - 1] + 1) {
			snprintf(err, errlen, "checkpoint: segment %08u missing", segs[i - 1] + 1);
			goto out;
		}

	wal_ckpt_path(tmpdir, sizeof(tmpdir), w->dir, (uint32_t)last, true);
	wal_ckpt_path(final, sizeof(final), w->dir, (uint32_t)last, false);
	wal_rmdir_flat(tmpdir);
	if (mkdir(tmpdir, 0777) != 0) {
		snprintf(err, errlen, "checkpoint: mkdir %s: %s", tmpdir, strerror(errno));
		goto out;
	}
	wal_seg_path(path, sizeof(path), tmpdir, 0);
	c.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c.fd < 0) {
		snprintf(err, errlen, "checkpoint: create %s: %s", path, strerror(errno));
		goto out_rm;
	}
	if (prev >= 0) {
		char pdir[4096];
		uint32_t *psegs = NULL;
		wal_ckpt_path(pdir, sizeof(pdir), w->dir, (uint32_t)prev, false);
		long pn = wal_list_segments(pdir, &psegs);
		if (pn < 0) {
			snprintf(err, errlen, "checkpoint: read %s: %s", pdir, strerror(errno));
			goto out_rm;
		}
		for (long i = 0; i < pn; i++) {
			wal_seg_path(path, sizeof(path), pdir, psegs[i]);
			if (ck_segment(&c, &d, path, err, errlen) != 0) {
				free(psegs);
				goto out_rm;
			}
		}
		free(psegs);
	}
	for (long i = first; i < ns && (long)segs[i] <= last; i++) {
		wal_seg_path(path, sizeof(path), w->dir, segs[i]);
		if (ck_segment(&c, &d, path, err, errlen) != 0)
			goto out_rm;
	}
	ck_frame_series(&c);
	if (ck_flush(&c, true) != 0 || fdatasync(c.fd) != 0 || close(c.fd) != 0) {
		snprintf(err, errlen, "checkpoint: write %s: %s", tmpdir, strerror(errno));
		c.fd = -1;
		goto out_rm;
	}
	c.fd = -1;
	tsdb_kill_point("checkpoint-tmp");
	if (wal_fsync_dir(tmpdir) != 0 || rename(tmpdir, final) != 0 || wal_fsync_dir(w->dir) != 0) {
		snprintf(err, errlen, "checkpoint: commit %s: %s", final, strerror(errno));
		goto out_rm;
	}
	tsdb_kill_point("checkpoint-renamed");
	/* the checkpoint is durable: drop what it covers */
	uint64_t dropped = 0;
	for (long i = 0; i < ns && (long)segs[i] <= last; i++) {
		wal_seg_path(path, sizeof(path), w->dir, segs[i]);
		dropped += file_bytes(path);
		unlink(path);
	}
	if (prev >= 0) {
		wal_ckpt_path(path, sizeof(path), w->dir, (uint32_t)prev, false);
		wal_rmdir_flat(path);
	}
	uint64_t cbytes = ckpt_bytes(w->dir, (uint32_t)last);
	pthread_mutex_lock(&w->mu);
	w->st.checkpoints++;
	w->st.segments_bytes -= TP_MIN(dropped, w->st.segments_bytes);
	w->st.checkpoint_bytes = cbytes;
	pthread_mutex_unlock(&w->mu);
	rc = 0;
	goto out;
out_rm:
	if (c.fd >= 0)
		close(c.fd);
	c.fd = -1;
	wal_rmdir_flat(tmpdir);
out:
	if (rc != 0) {
		pthread_mutex_lock(&w->mu);
		w->st.checkpoint_failures++;
		pthread_mutex_unlock(&w->mu);
	}
	free(segs);
	wal_dec_free(&d);
	tp_sb_free(&c.out);
	tp_sb_free(&c.ser);
	tp_sb_free(&c.tmp);
	free(c.kept);
	pthread_mutex_unlock(&w->ckpt_mu);
	return rc;
}
