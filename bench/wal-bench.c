/* SPDX-License-Identifier: Apache-2.0
 * wal-bench.c - the restart benchmark: appends the real dataset (or a
 * synthetic load, generated on the fly) through the durable head
 * (tsdb_wal_head_open: WAL + chunk files), one appender commit per
 * timestamp as scrapes do, checkpointing when the server would (64 MiB
 * and 4x the last checkpoint), closes it (an orderly shutdown: head chunks
 * are cut into the chunk files and the WAL is checkpointed), reopens it
 * REOPENS times and times each open; then reads every sample back from the
 * reopened head and checks it bit-exact. With --crash it also copies the
 * storage directory before the close (what kill -9 leaves: the WAL holds
 * everything since the last checkpoint) and times the open of the copy.
 * Prints one JSON object: bytes on disk per sample (WAL, checkpoint and
 * chunk files: everything tinyprom stores, the series index included),
 * bytes written to the device per sample ingested (/proc/self/io
 * write_bytes over append and close: what an SD card sees, page-granular),
 * the append rate, the restart time (wall and CPU) and rate, and for the
 * crash copy the WAL replay time and rate plus a bare tsdb_wal_replay with
 * counting callbacks (read, CRC, snappy, decoding without the head).
 * Usage: wal-bench [--file F] [--every N] [--synthetic N --per K]
 *                  [--fsync always|never|<duration>] [--dir D] [--keep]
 *                  [--reopens R] [--crash]
 * Invariants: times are wall-clock (open to return), CPU times from
 * getrusage; the data directory is a fresh one under D (default /tmp),
 * removed at the end unless --keep (then its path is in the JSON, for a
 * restart of tinyprom on it). The real dataset loader is bench/dataset.c;
 * the synthetic load (series i, step k: t = 1700000000000 + 15000 k + i % 7,
 * v = 3 i + k) is the one bench_dataset_synthetic builds, streamed. */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/dataset.h"
#include "lib/common.h"
#include "lib/labels.h"
#include "tsdb/tsdb.h"
#include "tsdb/wal_head.h"

static bench_dataset ds;
static size_t synth, per;
static bench_event *evs;  /* the real data in time order (built before timing) */
static size_t nevs;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* write_bytes of /proc/self/io: bytes this process caused to be written
 * to storage (page cache pages dirtied); 0 when unavailable. */
static uint64_t io_write_bytes(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	uint64_t v = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "write_bytes: %" SCNu64, &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* Bytes of regular files under path, recursively. */
static uint64_t du_bytes(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return 0;
	if (!S_ISDIR(sb.st_mode))
		return S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	uint64_t sum = 0;
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		sum += du_bytes(p);
	}
	if (d)
		closedir(d);
	return sum;
}

static void rm_rf(const char *path)
{
	char cmd[8300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

/* Replay callbacks that only count: times the WAL's read + decode alone. */
static int count_series(void *ud, uint32_t ref, const tp_labels *l)
{
	(void)ref;
	(void)l;
	((uint64_t *)ud)[0]++;
	return 0;
}

static int count_samples(void *ud, const tsdb_wal_sample *s, size_t n)
{
	(void)s;
	((uint64_t *)ud)[1] += n;
	return 0;
}

/* ---- the load ---- */

static int64_t synth_t(size_t i, size_t k) { return 1700000000000LL + 15000LL * (int64_t)k + (int64_t)(i % 7); }
static double synth_v(size_t i, size_t k) { return (double)(i * 3 + k); }

/* Checkpoints when the server would (tsdb_wal_head_checkpoint_due with
 * its 64 MiB floor), checked every 256 commits. */
static tsdb_wal_head *store;
static size_t commits, checkpoints;

static void maybe_checkpoint(void)
{
	char err[256];
	if (++commits % 256 == 0 && tsdb_wal_head_checkpoint_due(store, 64u << 20)) {
		if (tsdb_wal_head_truncate(store, INT64_MIN, err, sizeof err) < 0)
			fprintf(stderr, "checkpoint: %s\n", err);
		checkpoints++;
	}
}

/* Appends everything; returns samples committed. */
static size_t append_all(tsdb_head *h, size_t *rejected)
{
	uint32_t *refs = tp_xcalloc(ds.nseries ? ds.nseries : 1, sizeof(uint32_t));
	tsdb_appender *a = tsdb_appender_new(h);
	size_t committed = 0;
	if (synth) {
		/* one commit per 1000 series and step: a scrape of one target */
		for (size_t k = 0; k < per; k++) {
			for (size_t i = 0; i < synth; i++) {
				int rc = refs[i] ? tsdb_appender_add_ref(a, refs[i], synth_t(i, k), synth_v(i, k))
						 : tsdb_appender_add(a, &ds.series[i].l, synth_t(i, k), synth_v(i, k),
								     &refs[i]);
				*rejected += rc != TSDB_OK;
				if (i % 1000 == 999) {
					committed += tsdb_appender_commit(a);
					maybe_checkpoint();
				}
			}
			committed += tsdb_appender_commit(a);
			maybe_checkpoint();
		}
	} else {
		size_t ne = nevs;
		for (size_t i = 0; i < ne;) {
			int64_t t = evs[i].t;
			for (; i < ne && evs[i].t == t; i++) {
				const bench_event *e = &evs[i];
				int rc = refs[e->s] ? tsdb_appender_add_ref(a, refs[e->s], e->t, e->v)
						    : tsdb_appender_add(a, &ds.series[e->s].l, e->t, e->v, &refs[e->s]);
				*rejected += rc != TSDB_OK;
			}
			committed += tsdb_appender_commit(a);
			maybe_checkpoint();
		}
	}
	tsdb_appender_free(a);
	free(refs);
	return committed;
}

/* Checks the head against the source (every series of the real data,
 * every 1000th synthetic one); returns the number of mismatches. */
static size_t verify(tsdb_head *h)
{
	tsdb_querier *q = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	tsdb_sample *buf = NULL;
	size_t cap = 0, bad = 0;
	for (size_t s = 0; s < ds.nseries; s += synth ? 1000 : 1) {
		tsdb_matcher ms[8];
		const tp_labels *l = &ds.series[s].l;
		uint32_t nm = l->n < 8 ? l->n : 8;
		for (uint32_t k = 0; k < nm; k++)
			tsdb_matcher_init(&ms[k], TSDB_MATCH_EQ, l->v[k].name, l->v[k].value, NULL, 0);
		tsdb_series_set *ss = tsdb_querier_select(q, ms, nm);
		size_t got = 0, want = synth ? per : ds.series[s].n;
		while (tsdb_series_set_next(ss)) {
			if (!tp_labels_equal(tsdb_series_set_labels(ss), l))
				continue;
			got = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
			for (size_t k = 0; k < got && k < want; k++) {
				int64_t t = synth ? synth_t(s, k) : ds.st[ds.series[s].first + k];
				double v = synth ? synth_v(s, k) : ds.sv[ds.series[s].first + k];
				bad += buf[k].t != t || memcmp(&buf[k].v, &v, 8) != 0;
			}
		}
		bad += got != want;
		tsdb_series_set_free(ss);
		for (uint32_t k = 0; k < nm; k++)
			tsdb_matcher_free(&ms[k]);
	}
	tsdb_querier_free(q);
	free(buf);
	return bad;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *file = "/work/shared/datasets/real-1s.prom.gz", *fsync_s = "1s", *base = "/tmp";
	int every = 1, keep = 0, reopens = 3, crash = 0;
	per = 4;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--every") && i + 1 < argc)
			every = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--synthetic") && i + 1 < argc)
			synth = (size_t)strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--per") && i + 1 < argc)
			per = (size_t)strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--fsync") && i + 1 < argc)
			fsync_s = argv[++i];
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			base = argv[++i];
		else if (!strcmp(argv[i], "--reopens") && i + 1 < argc)
			reopens = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--keep"))
			keep = 1;
		else if (!strcmp(argv[i], "--crash"))
			crash = 1;
		else {
			fprintf(stderr,
				"usage: %s [--file F] [--every N] [--synthetic N --per K] [--fsync always|never|DUR] [--dir D] [--keep] [--reopens R] [--crash]\n",
				argv[0]);
			return 2;
		}
	}
	if (every < 1)
		every = 1;
	if (reopens < 1)
		reopens = 1;
	tsdb_wal_opts wo;
	tsdb_wal_opts_default(&wo);
	if (tsdb_wal_fsync_parse(fsync_s, &wo) != 0) {
		fprintf(stderr, "bad --fsync %s\n", fsync_s);
		return 2;
	}
	bench_dataset_init(&ds);
	if (synth)
		bench_dataset_synthetic(&ds, synth, 0); /* labels only; samples are streamed */
	else if (bench_dataset_load(&ds, file, every) != 0)
		return 1;
	if (!synth)
		evs = bench_dataset_events(&ds, &nevs);

	char dir[4096], copy[4200], err[512];
	snprintf(dir, sizeof dir, "%s/wal-bench.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	snprintf(copy, sizeof copy, "%s.crash", dir);
	tsdb_wal_head_stats hs;
	tsdb_wal_head *d = tsdb_wal_head_open(dir, NULL, &wo, &hs, err, sizeof err);
	if (!d) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	store = d;
	uint64_t io0 = io_write_bytes();
	size_t rejected = 0;
	double t0 = now_s();
	size_t committed = append_all(tsdb_wal_head_head(d), &rejected);
	double t_append = now_s() - t0;
	uint64_t io_cp = 0;
	if (crash) {
		char cmd[9000];
		snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", dir, copy);
		uint64_t before = io_write_bytes();
		if (system(cmd) != 0) {
			fprintf(stderr, "copy failed\n");
			return 1;
		}
		io_cp = io_write_bytes() - before; /* cp's writes count as ours once it is reaped */
	}
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(tsdb_wal_head_wal(d), &ws);
	t0 = now_s();
	if (tsdb_wal_head_close(d) != 0) {
		fprintf(stderr, "close failed\n");
		return 1;
	}
	double t_close = now_s() - t0;
	uint64_t io_bytes = io_write_bytes() - io0 - io_cp;
	char sub[4300];
	snprintf(sub, sizeof sub, "%s/wal", dir);
	uint64_t wal_bytes = du_bytes(sub);
	snprintf(sub, sizeof sub, "%s/chunks_head", dir);
	uint64_t chunk_bytes = du_bytes(sub);
	uint64_t disk_bytes = du_bytes(dir);

	/* orderly restarts */
	double *rt = tp_xcalloc((size_t)reopens, sizeof(double)), *rc = tp_xcalloc((size_t)reopens, sizeof(double));
	for (int r = 0; r < reopens; r++) {
		double c0 = cpu_s();
		t0 = now_s();
		d = tsdb_wal_head_open(dir, NULL, &wo, &hs, err, sizeof err);
		rt[r] = now_s() - t0;
		rc[r] = cpu_s() - c0;
		if (!d) {
			fprintf(stderr, "reopen: %s\n", err);
			return 1;
		}
		if (r < reopens - 1)
			tsdb_wal_head_close(d);
	}
	size_t bad = verify(tsdb_wal_head_head(d));
	tsdb_wal_head_close(d);
	uint64_t restored = hs.samples_restored + hs.chunk_samples_restored;
	uint64_t series_restored = hs.series_restored, chunks_restored = hs.chunks_restored;
	tsdb_wal_head_stats rs = hs;
	qsort(rt, (size_t)reopens, sizeof(double), cmp_double);
	qsort(rc, (size_t)reopens, sizeof(double), cmp_double);
	double t_restart = rt[reopens / 2], c_restart = rc[reopens / 2];

	/* the kill -9 image: WAL replay */
	double t_crash = 0, c_crash = 0, t_decode = 0;
	uint64_t crash_wal = 0, crash_restored = 0, crash_skipped = 0, crash_wal_bytes = 0;
	size_t crash_bad = 0;
	if (crash) {
		snprintf(sub, sizeof sub, "%s/wal", copy);
		crash_wal_bytes = du_bytes(sub);
		uint64_t counts[2] = { 0, 0 };
		tsdb_wal_replay_cb cb = { count_series, count_samples, counts };
		tsdb_wal_replay_stats rst;
		t0 = now_s();
		if (tsdb_wal_replay(sub, &cb, &rst, err, sizeof err) != 0) {
			fprintf(stderr, "replay: %s\n", err);
			return 1;
		}
		t_decode = now_s() - t0;
		double c0 = cpu_s();
		t0 = now_s();
		d = tsdb_wal_head_open(copy, NULL, &wo, &hs, err, sizeof err);
		t_crash = now_s() - t0;
		c_crash = cpu_s() - c0;
		if (!d) {
			fprintf(stderr, "crash reopen: %s\n", err);
			return 1;
		}
		crash_wal = hs.replay.samples;
		crash_skipped = hs.samples_skipped;
		crash_restored = hs.samples_restored + hs.chunk_samples_restored;
		crash_bad = verify(tsdb_wal_head_head(d));
		tsdb_wal_head_close(d);
		rm_rf(copy);
	}

	printf("{\"samples\": %zu, \"series\": %zu, \"rejected\": %zu, \"fsync\": \"%s\", "
	       "\"disk_bytes\": %" PRIu64 ", \"wal_bytes\": %" PRIu64 ", \"chunk_bytes\": %" PRIu64 ", "
	       "\"disk_bytes_per_sample\": %.3f, \"io_write_bytes\": %" PRIu64 ", \"io_bytes_per_sample\": %.3f, "
	       "\"wal_bytes_written\": %" PRIu64 ", \"append_samples_per_sec\": %.0f, \"close_s\": %.3f, "
	       "\"restart_s\": %.3f, \"restart_cpu_s\": %.3f, \"restart_samples_per_sec\": %.0f, "
	       "\"series_restored\": %" PRIu64 ", \"samples_restored\": %" PRIu64 ", \"chunks_restored\": %" PRIu64 ", "
	       "\"crash_wal_bytes\": %" PRIu64 ", \"crash_decode_only_s\": %.3f, \"crash_replay_s\": %.3f, "
	       "\"crash_replay_cpu_s\": %.3f, \"crash_wal_samples\": %" PRIu64 ", \"crash_wal_samples_skipped\": %" PRIu64 ", "
	       "\"crash_wal_samples_per_sec\": %.0f, \"crash_samples_restored\": %" PRIu64 ", "
	       "\"checkpoints\": %zu, \"open_scan_s\": %.3f, \"open_replay_s\": %.3f, \"open_attach_s\": %.3f, \"open_postings_s\": %.3f, "
	       "\"mismatches\": %zu, \"dir\": \"%s\"}\n",
	       committed, ds.nseries, rejected, fsync_s, disk_bytes, wal_bytes, chunk_bytes,
	       (double)disk_bytes / (double)committed, io_bytes, (double)io_bytes / (double)committed,
	       ws.bytes_written, (double)committed / t_append, t_close, t_restart, c_restart,
	       (double)restored / t_restart, series_restored, restored, chunks_restored, crash_wal_bytes,
	       t_decode, t_crash, c_crash, crash_wal, crash_skipped, t_crash > 0 ? (double)crash_wal / t_crash : 0,
	       crash_restored, checkpoints, rs.open_scan_s, rs.open_replay_s, rs.open_attach_s, rs.open_postings_s, bad + crash_bad,
	       keep ? dir : "");
	if (!keep)
		rm_rf(dir);
	free(rt);
	free(rc);
	free(evs);
	bench_dataset_free(&ds);
	return bad || crash_bad || restored != committed || (crash && crash_restored != committed) ? 1 : 0;
}
