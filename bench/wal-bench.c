/* SPDX-License-Identifier: Apache-2.0
 * wal-bench.c - the restart benchmark: appends the real dataset (or a
 * synthetic one) through a WAL-backed head (tsdb_wal_head_open), one
 * appender commit per timestamp as scrapes do, closes it, reopens it and
 * times the replay; then reads every sample back from the replayed head
 * and checks it bit-exact. Prints one JSON object: WAL bytes on disk per
 * sample (the WAL is tinyprom's only on-disk storage, so this is all of
 * it, series records included), append rate, replay time and rate, and
 * the time of a bare tsdb_wal_replay with counting callbacks (read, CRC,
 * snappy and decoding without the head) to show where a replay goes.
 * Usage: wal-bench [--file F] [--every N] [--synthetic N] [--per K]
 *                  [--fsync always|never|<duration>] [--dir D] [--keep]
 * Invariants: the replay is timed in wall-clock time (open to return);
 * the data directory is a fresh one under D (default /tmp), removed at
 * the end unless --keep (then its path is in the JSON, for a restart of
 * tinyprom on it). The dataset loader is bench/dataset.c, shared with tsdb-bench. */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "bench/dataset.h"
#include "lib/arena.h"
#include "lib/common.h"
#include "lib/labels.h"
#include "tsdb/tsdb.h"
#include "tsdb/wal_head.h"

static bench_dataset ds;

/* Wall-clock time: a replay is what a restart waits for. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char p[4096];
			snprintf(p, sizeof p, "%s/%s", path, e->d_name);
			rm_rf(p);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
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

int main(int argc, char **argv)
{
	const char *file = "/work/shared/datasets/real-1s.prom.gz", *fsync_s = "1s", *base = "/tmp";
	int every = 1, per = 4, keep = 0;
	size_t synth = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--every") && i + 1 < argc)
			every = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--synthetic") && i + 1 < argc)
			synth = (size_t)strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--per") && i + 1 < argc)
			per = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--fsync") && i + 1 < argc)
			fsync_s = argv[++i];
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			base = argv[++i];
		else if (!strcmp(argv[i], "--keep"))
			keep = 1;
		else {
			fprintf(stderr,
				"usage: %s [--file F] [--every N] [--synthetic N] [--per K] [--fsync always|never|DUR] [--dir D] [--keep]\n",
				argv[0]);
			return 2;
		}
	}
	if (every < 1)
		every = 1;
	tsdb_wal_opts wo;
	tsdb_wal_opts_default(&wo);
	if (tsdb_wal_fsync_parse(fsync_s, &wo) != 0) {
		fprintf(stderr, "bad --fsync %s\n", fsync_s);
		return 2;
	}
	bench_dataset_init(&ds);
	if (synth)
		bench_dataset_synthetic(&ds, synth, per);
	else if (bench_dataset_load(&ds, file, every) != 0)
		return 1;

	/* merge by timestamp */
	size_t ne;
	bench_event *evs = bench_dataset_events(&ds, &ne);
	uint32_t *refs = tp_xcalloc(ds.nseries, sizeof(uint32_t));

	char dir[4096], err[512];
	snprintf(dir, sizeof dir, "%s/wal-bench.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	tsdb_wal_head_stats hs;
	tsdb_wal_head *d = tsdb_wal_head_open(dir, NULL, &wo, &hs, err, sizeof err);
	if (!d) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	tsdb_appender *a = tsdb_appender_new(tsdb_wal_head_head(d));
	size_t committed = 0, rejected = 0;
	double t0 = now_s();
	for (size_t i = 0; i < ne;) {
		int64_t t = evs[i].t;
		for (; i < ne && evs[i].t == t; i++) {
			const bench_event *e = &evs[i];
			int rc = refs[e->s] ? tsdb_appender_add_ref(a, refs[e->s], e->t, e->v)
					    : tsdb_appender_add(a, &ds.series[e->s].l, e->t, e->v, &refs[e->s]);
			rejected += rc != TSDB_OK;
		}
		committed += tsdb_appender_commit(a);
	}
	tsdb_appender_free(a);
	double t_append = now_s() - t0;
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(tsdb_wal_head_wal(d), &ws);
	if (tsdb_wal_head_close(d) != 0) {
		fprintf(stderr, "close failed\n");
		return 1;
	}
	char wdir[4200];
	snprintf(wdir, sizeof wdir, "%s/wal", dir);
	uint64_t wal_bytes = du_bytes(wdir);

	uint64_t counts[2] = { 0, 0 };
	tsdb_wal_replay_cb cb = { count_series, count_samples, counts };
	tsdb_wal_replay_stats rst;
	t0 = now_s();
	if (tsdb_wal_replay(wdir, &cb, &rst, err, sizeof err) != 0) {
		fprintf(stderr, "replay: %s\n", err);
		return 1;
	}
	double t_decode = now_s() - t0;

	t0 = now_s();
	d = tsdb_wal_head_open(dir, NULL, &wo, &hs, err, sizeof err);
	double t_replay = now_s() - t0;
	if (!d) {
		fprintf(stderr, "reopen: %s\n", err);
		return 1;
	}
	tsdb_head *h = tsdb_wal_head_head(d);

	/* verify the replayed head bit-exact against the source */
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
		size_t got = 0;
		while (tsdb_series_set_next(ss)) {
			if (!tp_labels_equal(tsdb_series_set_labels(ss), l))
				continue;
			got = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
			for (size_t k = 0; k < got && k < ds.series[s].n; k++)
				bad += buf[k].t != ds.st[ds.series[s].first + k] ||
				       memcmp(&buf[k].v, &ds.sv[ds.series[s].first + k], 8) != 0;
		}
		bad += got != ds.series[s].n;
		tsdb_series_set_free(ss);
		for (uint32_t k = 0; k < nm; k++)
			tsdb_matcher_free(&ms[k]);
	}
	tsdb_querier_free(q);

	printf("{\"samples\": %zu, \"series\": %zu, \"rejected\": %zu, \"fsync\": \"%s\", \"wal_segments\": %u, "
	       "\"wal_bytes\": %" PRIu64 ", \"wal_bytes_per_sample\": %.3f, \"append_samples_per_sec\": %.0f, "
	       "\"decode_only_s\": %.3f, \"replay_s\": %.3f, \"replay_samples_per_sec\": %.0f, \"replay_MB_per_sec\": %.1f, "
	       "\"series_restored\": %" PRIu64 ", \"samples_restored\": %" PRIu64 ", \"mismatches\": %zu, \"dir\": \"%s\"}\n",
	       committed, ds.nseries, rejected, fsync_s, ws.segment_current + 1, wal_bytes,
	       (double)wal_bytes / (double)committed, (double)committed / t_append, t_decode, t_replay,
	       (double)hs.samples_restored / t_replay, (double)wal_bytes / t_replay / 1e6, hs.series_restored,
	       hs.samples_restored, bad, keep ? dir : "");
	tsdb_wal_head_close(d);
	if (!keep)
		rm_rf(dir);
	free(buf);
	free(evs);
	free(refs);
	bench_dataset_free(&ds);
	return bad || hs.samples_restored != committed ? 1 : 0;
}
