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
 * tinyprom on it). The dataset loader mirrors bench/tsdb-bench.c's. */
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

#include "lib/arena.h"
#include "lib/common.h"
#include "lib/labels.h"
#include "tsdb/tsdb.h"
#include "tsdb/wal_head.h"

typedef struct bseries {
	tp_labels l;
	size_t first, n;  /* into the sample arrays */
} bseries;

typedef struct ev {
	int64_t t;
	uint32_t s;       /* series index */
	double v;
} ev;

static tp_arena arena;
static bseries *series;
static size_t nseries, capseries;
static int64_t *st;
static double *sv;
static size_t nsamples, capsamples;

/* Wall-clock time: a replay is what a restart waits for. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses `name{a="b",...}` into l (arena strings); returns end or NULL. */
static const char *parse_series(const char *p, tp_labels *l)
{
	tp_label tmp[64];
	uint32_t n = 0;
	const char *s = p;
	while (*p && *p != '{' && *p != ' ')
		p++;
	tmp[n].name = TP_METRIC_NAME;
	tmp[n++].value = tp_arena_strndup(&arena, s, (size_t)(p - s));
	if (*p == '{') {
		p++;
		while (*p && *p != '}') {
			s = p;
			while (*p && *p != '=')
				p++;
			const char *name = tp_arena_strndup(&arena, s, (size_t)(p - s));
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
				tmp[n++].value = tp_arena_strndup(&arena, buf, k);
			}
			if (*p == ',')
				p++;
		}
		if (*p != '}')
			return NULL;
		p++;
	}
	l->n = n;
	l->v = tp_arena_alloc(&arena, n * sizeof(tp_label));
	memcpy(l->v, tmp, n * sizeof(tp_label));
	tp_labels_normalize(l);
	return p;
}

static void add_sample(int64_t t, double v)
{
	if (nsamples == capsamples) {
		capsamples = capsamples ? capsamples * 2 : 1 << 20;
		st = tp_xrealloc(st, capsamples * sizeof(*st));
		sv = tp_xrealloc(sv, capsamples * sizeof(*sv));
	}
	st[nsamples] = t;
	sv[nsamples++] = v;
	series[nseries - 1].n++;
}

static int load(const char *file, int every)
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
			TP_GROW(series, capseries, nseries + 1);
			bseries *b = &series[nseries++];
			if (!parse_series(line, &b->l)) {
				fprintf(stderr, "bad line: %s", line);
				return -1;
			}
			b->first = nsamples;
			b->n = 0;
			idx = 0;
		}
		char *end;
		double v = strtod(key_end, &end);
		int64_t t = strtoll(end, NULL, 10);
		if (idx++ % (size_t)every == 0)
			add_sample(t, v);
	}
	gzclose(f);
	return 0;
}

static void synthetic(size_t n, int per)
{
	for (size_t i = 0; i < n; i++) {
		TP_GROW(series, capseries, nseries + 1);
		bseries *b = &series[nseries++];
		char name[64], inst[64], id[32];
		snprintf(name, sizeof(name), "synthetic_metric_%zu_total", i % 200);
		snprintf(inst, sizeof(inst), "host-%zu.example.org:9100", i / 200);
		snprintf(id, sizeof(id), "%zu", i % 10);
		tp_label tmp[4] = {
			{ TP_METRIC_NAME, tp_arena_strdup(&arena, name) },
			{ "cpu", tp_arena_strdup(&arena, id) },
			{ "instance", tp_arena_strdup(&arena, inst) },
			{ "job", "node" },
		};
		b->l.n = 4;
		b->l.v = tp_arena_alloc(&arena, sizeof(tmp));
		memcpy(b->l.v, tmp, sizeof(tmp));
		b->first = nsamples;
		b->n = 0;
		for (int k = 0; k < per; k++)
			add_sample(1700000000000LL + 15000LL * k + (int64_t)(i % 7), (double)(i * 3 + (size_t)k));
	}
}

static int cmp_ev(const void *a, const void *b)
{
	const ev *x = a, *y = b;
	if (x->t != y->t)
		return (x->t > y->t) - (x->t < y->t);
	return (x->s > y->s) - (x->s < y->s);
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
	tp_arena_init(&arena);
	if (synth)
		synthetic(synth, per);
	else if (load(file, every) != 0)
		return 1;

	/* merge by timestamp */
	ev *evs = tp_xmalloc(nsamples * sizeof(*evs));
	size_t ne = 0;
	for (size_t s = 0; s < nseries; s++)
		for (size_t k = 0; k < series[s].n; k++)
			evs[ne++] = (ev){ st[series[s].first + k], (uint32_t)s, sv[series[s].first + k] };
	qsort(evs, ne, sizeof(*evs), cmp_ev);
	uint32_t *refs = tp_xcalloc(nseries, sizeof(uint32_t));

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
			const ev *e = &evs[i];
			int rc = refs[e->s] ? tsdb_appender_add_ref(a, refs[e->s], e->t, e->v)
					    : tsdb_appender_add(a, &series[e->s].l, e->t, e->v, &refs[e->s]);
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
	for (size_t s = 0; s < nseries; s += synth ? 1000 : 1) {
		tsdb_matcher ms[8];
		const tp_labels *l = &series[s].l;
		uint32_t nm = l->n < 8 ? l->n : 8;
		for (uint32_t k = 0; k < nm; k++)
			tsdb_matcher_init(&ms[k], TSDB_MATCH_EQ, l->v[k].name, l->v[k].value, NULL, 0);
		tsdb_series_set *ss = tsdb_querier_select(q, ms, nm);
		size_t got = 0;
		while (tsdb_series_set_next(ss)) {
			if (!tp_labels_equal(tsdb_series_set_labels(ss), l))
				continue;
			got = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
			for (size_t k = 0; k < got && k < series[s].n; k++)
				bad += buf[k].t != st[series[s].first + k] ||
				       memcmp(&buf[k].v, &sv[series[s].first + k], 8) != 0;
		}
		bad += got != series[s].n;
		tsdb_series_set_free(ss);
		for (uint32_t k = 0; k < nm; k++)
			tsdb_matcher_free(&ms[k]);
	}
	tsdb_querier_free(q);

	printf("{\"samples\": %zu, \"series\": %zu, \"rejected\": %zu, \"fsync\": \"%s\", \"wal_segments\": %u, "
	       "\"wal_bytes\": %" PRIu64 ", \"wal_bytes_per_sample\": %.3f, \"append_samples_per_sec\": %.0f, "
	       "\"decode_only_s\": %.3f, \"replay_s\": %.3f, \"replay_samples_per_sec\": %.0f, \"replay_MB_per_sec\": %.1f, "
	       "\"series_restored\": %" PRIu64 ", \"samples_restored\": %" PRIu64 ", \"mismatches\": %zu, \"dir\": \"%s\"}\n",
	       committed, nseries, rejected, fsync_s, ws.segment_current + 1, wal_bytes,
	       (double)wal_bytes / (double)committed, (double)committed / t_append, t_decode, t_replay,
	       (double)hs.samples_restored / t_replay, (double)wal_bytes / t_replay / 1e6, hs.series_restored,
	       hs.samples_restored, bad, keep ? dir : "");
	tsdb_wal_head_close(d);
	if (!keep)
		rm_rf(dir);
	free(buf);
	free(evs);
	free(refs);
	free(st);
	free(sv);
	free(series);
	tp_arena_free(&arena);
	return bad || hs.samples_restored != committed ? 1 : 0;
}
