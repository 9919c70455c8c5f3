/* SPDX-License-Identifier: Apache-2.0
 * test_wal_head.c - the head made durable by the WAL (tsdb/wal_head.c):
 * append, close, reopen gives back every committed sample under the same
 * refs; a WAL copied mid-run (no close) or left by kill -9 gives back
 * every acknowledged commit; truncation checkpoints; concurrent appenders. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/labels.h"
#include "lib/strbuf.h"
#include "tsdb/killpoint.h"
#include "tsdb/tsdb.h"
#include "tsdb/wal_head.h"

#define STALE_BITS 0x7ff0000000000002ULL

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmpdir_new(void)
{
	char *t = strdup("/tmp/tp_test_wal_head.XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static void copy_tree(const char *from, const char *to)
{
	char cmd[9000];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
	assert_int_equal(system(cmd), 0);
}

static double from_bits(uint64_t b)
{
	double v;
	memcpy(&v, &b, 8);
	return v;
}

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

static tsdb_wal_head *open_db(const char *dir, tsdb_wal_fsync_mode m, tsdb_wal_head_stats *st)
{
	tsdb_wal_opts wo;
	tsdb_wal_opts_default(&wo);
	wo.fsync_mode = m;
	wo.segment_bytes = 64 * 1024; /* several segments in these tests */
	tsdb_options o = { .chunk_samples = 32 };
	char err[256];
	tsdb_wal_head_stats tmp;
	tsdb_wal_head *d = tsdb_wal_head_open(dir, &o, &wo, st ? st : &tmp, err, sizeof(err));
	if (!d)
		fprintf(stderr, "# open: %s\n", err);
	assert_non_null(d);
	return d;
}

/* Every series with its ref and every sample (bit pattern) in [mint, maxt]. */
static char *dump(tsdb_head *h, int64_t mint, int64_t maxt)
{
	tp_strbuf sb = { 0 };
	tsdb_querier *q = tsdb_querier_new(h, mint, maxt);
	tsdb_matcher m;
	char err[128];
	assert_int_equal(tsdb_matcher_init(&m, TSDB_MATCH_RE, "__name__", ".+", err, sizeof(err)), 0);
	tsdb_series_set *ss = tsdb_querier_select(q, &m, 1);
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	while (tsdb_series_set_next(ss)) {
		tp_labels_format(&sb, tsdb_series_set_labels(ss), false);
		tp_sb_printf(&sb, " ref=%u:", tsdb_series_set_ref(ss));
		size_t n = tsdb_series_set_samples(ss, mint, maxt, &buf, &cap);
		for (size_t i = 0; i < n; i++) {
			uint64_t b;
			memcpy(&b, &buf[i].v, 8);
			tp_sb_printf(&sb, " %lld/%016llx", (long long)buf[i].t, (unsigned long long)b);
		}
		tp_sb_putc(&sb, '\n');
	}
	free(buf);
	tsdb_series_set_free(ss);
	tsdb_matcher_free(&m);
	tsdb_querier_free(q);
	return sb.buf ? tp_sb_steal(&sb) : strdup("");
}

static void lbl(tp_label lv[3], char *buf, size_t len, const char *name, int i)
{
	snprintf(buf, len, "i%d", i);
	lv[0] = (tp_label){ "__name__", name };
	lv[1] = (tp_label){ "instance", buf };
	lv[2] = (tp_label){ "job", "j" };
}

/* Adds one scrape: samples at t for series 0..n-1 of name; every 7th
 * scrape writes stale markers for series 0. */
static void scrape(tsdb_head *h, const char *name, int n, int64_t t, bool commit)
{
	tsdb_appender *a = tsdb_appender_new(h);
	for (int i = 0; i < n; i++) {
		tp_label lv[3];
		char b[16];
		lbl(lv, b, sizeof(b), name, i);
		tp_labels l = { lv, 3 };
		double v = (i == 0 && t % 7 == 0) ? from_bits(STALE_BITS) : (double)t * 0.5 + i;
		assert_int_equal(tsdb_appender_add(a, &l, t, v, NULL), TSDB_OK);
	}
	if (commit)
		assert_int_equal(tsdb_appender_commit(a), (size_t)n);
	else
		tsdb_appender_rollback(a);
	tsdb_appender_free(a);
}

static void test_reopen(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_wal_head_stats st;
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	assert_int_equal(st.replay.records, 0);
	tsdb_head *h = tsdb_wal_head_head(d);
	for (int64_t t = -50; t < 150; t++)
		scrape(h, "up", 40, t * 1000, true);
	scrape(h, "rolled_back", 5, 1, false); /* series exist, samples do not */
	scrape(h, "up", 40, 999999, false);
	char *before = dump(h, INT64_MIN, INT64_MAX);
	tsdb_stats hs;
	tsdb_head_stats(h, &hs);
	uint64_t nseries = hs.num_series;
	assert_int_equal(tsdb_wal_head_close(d), 0);

	d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	h = tsdb_wal_head_head(d);
	assert_int_equal(st.replay.corruptions, 0);
	assert_false(st.replay.torn_tail);
	/* close cut every head chunk into the chunk files: the WAL replays
	 * series records only, the samples come from the chunk files */
	assert_int_equal(st.samples_restored, 0);
	assert_int_equal(st.chunk_samples_restored, 200 * 40);
	assert_int_equal(st.series_restored, nseries);
	assert_int_equal(st.unknown_refs + st.samples_rejected + st.ref_aliases, 0);
	char *after = dump(h, INT64_MIN, INT64_MAX);
	assert_string_equal(before, after);
	assert_non_null(strstr(after, "/7ff0000000000002")); /* stale markers bit-exact */
	assert_null(strstr(after, "999999"));
	free(after);
	/* new series get new refs; appends continue; reopen again */
	uint32_t ref = 0;
	tsdb_appender *a = tsdb_appender_new(h);
	tp_label lv[1] = { { "__name__", "new_after_restart" } };
	assert_int_equal(tsdb_appender_add(a, &(tp_labels){ lv, 1 }, 5, 1.0, &ref), TSDB_OK);
	assert_true(ref > nseries);
	assert_int_equal(tsdb_appender_commit(a), 1);
	tsdb_appender_free(a);
	scrape(h, "up", 40, 150000, true);
	free(before);
	before = dump(h, INT64_MIN, INT64_MAX);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	after = dump(tsdb_wal_head_head(d), INT64_MIN, INT64_MAX);
	assert_string_equal(before, after);
	assert_ptr_not_equal(tsdb_head_series_labels(tsdb_wal_head_head(d), ref), NULL);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	free(before);
	free(after);
	rm_rf(dir);
	free(dir);
}

/* The WAL directory copied while the head runs (no close, no final
 * sync): the copy replays to exactly what was committed at copy time. */
static void test_copy_without_close(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	char copy[4200];
	snprintf(copy, sizeof(copy), "%s.copy", dir);
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_NEVER, NULL);
	tsdb_head *h = tsdb_wal_head_head(d);
	for (int64_t t = 0; t < 300; t++)
		scrape(h, "m", 30, t * 15000, true);
	char *at_copy = dump(h, INT64_MIN, INT64_MAX);
	copy_tree(dir, copy);
	for (int64_t t = 300; t < 400; t++)
		scrape(h, "m", 30, t * 15000, true);
	tsdb_wal_head_stats st;
	tsdb_wal_head *c = open_db(copy, TSDB_WAL_FSYNC_NEVER, &st);
	char *got = dump(tsdb_wal_head_head(c), INT64_MIN, INT64_MAX);
	assert_string_equal(at_copy, got);
	assert_int_equal(st.replay.corruptions, 0);
	assert_int_equal(tsdb_wal_head_close(c), 0);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	free(at_copy);
	free(got);
	rm_rf(copy);
	rm_rf(dir);
	free(dir);
}

/* kill -9 while appending: every commit acknowledged before the kill is
 * there after reopen, in full; nothing beyond one unacknowledged commit. */
static void test_kill9(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_PERIOD, NULL);
		tsdb_head *h = tsdb_wal_head_head(d);
		for (int32_t t = 0;; t++) {
			scrape(h, "k", 20, t, true);
			if (write(pfd[1], &t, sizeof(t)) != sizeof(t))
				_exit(4);
		}
	}
	close(pfd[1]);
	int32_t acked = -1, v;
	while (read(pfd[0], &v, sizeof(v)) == sizeof(v))
		if ((acked = v) >= 2000)
			break;
	kill(pid, SIGKILL);
	while (read(pfd[0], &v, sizeof(v)) == sizeof(v))
		acked = v;
	close(pfd[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));

	tsdb_wal_head_stats st;
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	assert_int_equal(st.replay.corruptions, 0);
	tsdb_stats hs;
	tsdb_head_stats(tsdb_wal_head_head(d), &hs);
	assert_int_equal(hs.num_series, 20);
	assert_true(hs.num_samples >= (uint64_t)(acked + 1) * 20);
	assert_true(hs.num_samples <= (uint64_t)(acked + 2) * 20);
	assert_true(hs.num_samples % 20 == 0);
	assert_true(hs.max_time_ms >= acked);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	rm_rf(dir);
	free(dir);
}

static void test_truncate_checkpoint(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_ALWAYS, NULL);
	tsdb_head *h = tsdb_wal_head_head(d);
	for (int64_t t = 0; t < 1000; t++) {
		scrape(h, "keep", 10, t, true);
		if (t < 300)
			scrape(h, "gone", 5, t, true); /* stops early: removed at truncation */
	}
	char err[256];
	long removed = tsdb_wal_head_truncate(d, 500, err, sizeof(err));
	assert_int_equal(removed, 5);
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(tsdb_wal_head_wal(d), &ws);
	assert_int_equal(ws.checkpoints, 1);
	for (int64_t t = 1000; t < 1100; t++)
		scrape(h, "keep", 10, t, true);
	scrape(h, "gone", 5, 2000, true); /* comes back under new refs */
	char *before = dump(h, 500, INT64_MAX);
	assert_int_equal(tsdb_wal_head_close(d), 0);

	tsdb_wal_head_stats st;
	d = open_db(dir, TSDB_WAL_FSYNC_ALWAYS, &st);
	assert_true(st.replay.checkpoint >= 0);
	assert_int_equal(st.replay.corruptions, 0);
	char *after = dump(tsdb_wal_head_head(d), 500, INT64_MAX);
	assert_string_equal(before, after);
	/* nothing truncated comes back: at most the rest of the chunk
	 * (32 samples) that straddles the truncation point */
	tsdb_stats hs;
	tsdb_head_stats(tsdb_wal_head_head(d), &hs);
	assert_true(hs.min_time_ms > 500 - 32);
	/* a second truncation folds the first checkpoint; still equal */
	assert_true(tsdb_wal_head_truncate(d, 1050, err, sizeof(err)) >= 0);
	free(before);
	before = dump(tsdb_wal_head_head(d), 1050, INT64_MAX);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	d = open_db(dir, TSDB_WAL_FSYNC_ALWAYS, &st);
	free(after);
	after = dump(tsdb_wal_head_head(d), 1050, INT64_MAX);
	assert_string_equal(before, after);
	tsdb_head_stats(tsdb_wal_head_head(d), &hs);
	assert_true(hs.min_time_ms > 1050 - 32);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	free(before);
	free(after);
	rm_rf(dir);
	free(dir);
}

/* One label set under two refs in the WAL (removed by truncation and
 * created again before a checkpoint): replay maps the second ref onto the
 * first, never hands either out again, and checkpoints keep both. */
static void test_ref_alias(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	char wdir[4200], err[256];
	snprintf(wdir, sizeof(wdir), "%s/wal", dir);
	tsdb_wal *w = tsdb_wal_open(wdir, NULL, err, sizeof(err));
	assert_non_null(w);
	tp_label la[1] = { { "__name__", "a" } }, lb[1] = { { "__name__", "b" } };
	tsdb_wal_log_series(w, 1, &(tp_labels){ la, 1 });
	tsdb_wal_sample s1 = { 1, 1, 1.0 }, s2 = { 2, 2, 2.0 }, s9 = { 9, 3, 3.0 };
	tsdb_wal_log_samples(w, &s1, 1);
	tsdb_wal_log_series(w, 2, &(tp_labels){ la, 1 });
	tsdb_wal_log_samples(w, &s2, 1);
	tsdb_wal_log_samples(w, &s9, 1); /* no series record: unknown */
	assert_int_equal(tsdb_wal_commit(w), 0);
	assert_int_equal(tsdb_wal_close(w), 0);

	tsdb_wal_head_stats st;
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	assert_int_equal(st.ref_aliases, 1);
	assert_int_equal(st.unknown_refs, 1);
	assert_int_equal(st.samples_restored, 2);
	tsdb_head *h = tsdb_wal_head_head(d);
	tsdb_appender *a = tsdb_appender_new(h);
	uint32_t ref = 0;
	assert_int_equal(tsdb_appender_add(a, &(tp_labels){ lb, 1 }, 10, 10.0, &ref), TSDB_OK);
	assert_int_equal(ref, 3); /* not 2: that ref is taken by the alias */
	assert_int_equal(tsdb_appender_add_ref(a, 1, 11, 11.0), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(a), 2);
	tsdb_appender_free(a);
	char *before = dump(h, INT64_MIN, INT64_MAX);
	assert_string_equal(before, "{__name__=\"a\"} ref=1: 1/3ff0000000000000 2/4000000000000000 11/4026000000000000\n"
				    "{__name__=\"b\"} ref=3: 10/4024000000000000\n");
	assert_int_equal(tsdb_wal_head_close(d), 0);
	d = open_db(dir, TSDB_WAL_FSYNC_NEVER, NULL);
	char *after = dump(tsdb_wal_head_head(d), INT64_MIN, INT64_MAX);
	assert_string_equal(before, after);
	free(after);
	assert_true(tsdb_wal_head_truncate(d, 0, err, sizeof(err)) >= 0);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	assert_true(st.replay.checkpoint >= 0);
	after = dump(tsdb_wal_head_head(d), INT64_MIN, INT64_MAX);
	assert_string_equal(before, after);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	free(before);
	free(after);
	rm_rf(dir);
	free(dir);
}

typedef struct th_arg {
	tsdb_head *h;
	int id;
} th_arg;

static void *th_run(void *p)
{
	th_arg *a = p;
	char name[16];
	snprintf(name, sizeof(name), "thr%d", a->id);
	for (int64_t t = 0; t < 300; t++)
		scrape(a->h, name, 8, t, true);
	return NULL;
}

static void test_concurrent_appenders(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_PERIOD, NULL);
	tsdb_head *h = tsdb_wal_head_head(d);
	pthread_t th[6];
	th_arg a[6];
	for (int i = 0; i < 6; i++) {
		a[i] = (th_arg){ h, i };
		assert_int_equal(pthread_create(&th[i], NULL, th_run, &a[i]), 0);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
	char *before = dump(h, INT64_MIN, INT64_MAX);
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(tsdb_wal_head_wal(d), &ws);
	printf("# 6 appenders: %llu samples, %llu bytes, %.2f bytes/sample, %llu commits\n",
	       (unsigned long long)ws.samples_written, (unsigned long long)ws.bytes_written,
	       (double)ws.bytes_written / (double)ws.samples_written, (unsigned long long)ws.commits);
	assert_int_equal(ws.samples_written, 6 * 8 * 300);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	tsdb_wal_head_stats st;
	d = open_db(dir, TSDB_WAL_FSYNC_PERIOD, &st);
	char *after = dump(tsdb_wal_head_head(d), INT64_MIN, INT64_MAX);
	assert_string_equal(before, after);
	assert_int_equal(st.samples_restored + st.chunk_samples_restored, 6 * 8 * 300);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	free(before);
	free(after);
	rm_rf(dir);
	free(dir);
}


/* Samples of scrape() for series 0..n-1 of name: exactly t = 0..acked,
 * plus possibly acked + 1 (a commit the kill interrupted, which may or
 * may not have reached the WAL), each with its exact value bits. */
static void check_scrapes(tsdb_head *h, const char *name, int n, int64_t acked)
{
	tsdb_querier *q = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	int64_t extra = -1;
	for (int i = 0; i < n; i++) {
		tp_label lv[3];
		char b[16];
		lbl(lv, b, sizeof(b), name, i);
		tsdb_matcher ms[3];
		for (int k = 0; k < 3; k++)
			assert_int_equal(tsdb_matcher_init(&ms[k], TSDB_MATCH_EQ, lv[k].name, lv[k].value, NULL, 0), 0);
		tsdb_series_set *ss = tsdb_querier_select(q, ms, 3);
		assert_true(tsdb_series_set_next(ss));
		size_t got = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
		assert_true(got == (size_t)acked + 1 || got == (size_t)acked + 2);
		if (i == 0)
			extra = (int64_t)got - acked - 1;
		assert_int_equal((int64_t)got - acked - 1, extra); /* a commit is all or nothing */
		for (size_t k = 0; k < got; k++) {
			int64_t t = (int64_t)k;
			double want = (i == 0 && t % 7 == 0) ? from_bits(STALE_BITS) : (double)t * 0.5 + i;
			assert_int_equal(buf[k].t, t);
			assert_memory_equal(&buf[k].v, &want, 8);
		}
		tsdb_series_set_free(ss);
		for (int k = 0; k < 3; k++)
			tsdb_matcher_free(&ms[k]);
	}
	free(buf);
	tsdb_querier_free(q);
}

/* Full chunks go to the chunk files; a checkpoint then keeps only the
 * samples no synced chunk holds (at most one open chunk per series), and
 * a copy taken without close (kill -9) replays to the same data. */
static void test_chunks_checkpoint(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	char copy[4200], wdir[4300];
	snprintf(copy, sizeof(copy), "%s.copy", dir);
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_NEVER, NULL);
	tsdb_head *h = tsdb_wal_head_head(d);
	for (int64_t t = 0; t < 400; t++)
		scrape(h, "c", 40, t, true);
	tsdb_wal_head_stats st;
	tsdb_wal_head_get_stats(d, &st);
	assert_int_equal(st.disk_chunks, 40 * (400 / 32)); /* cut at 32 samples (open_db) */
	assert_int_equal(st.chunk_write_failures, 0);
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(tsdb_wal_head_wal(d), &ws);
	uint64_t wal_before = ws.segments_bytes + ws.checkpoint_bytes;
	char err[256];
	assert_int_equal(tsdb_wal_head_truncate(d, INT64_MIN, err, sizeof(err)), 0);
	tsdb_wal_get_stats(tsdb_wal_head_wal(d), &ws);
	assert_true(ws.segments_bytes + ws.checkpoint_bytes < wal_before / 5);
	/* the WAL holds the samples of the open head chunks only */
	uint64_t counts[2] = { 0, 0 };
	snprintf(wdir, sizeof(wdir), "%s/wal", dir);
	tsdb_wal_replay_stats rst;
	tsdb_wal_replay_cb cb = { count_series, count_samples, counts };
	assert_int_equal(tsdb_wal_replay(wdir, &cb, &rst, err, sizeof(err)), 0);
	assert_int_equal(counts[0], 40);
	assert_int_equal(counts[1], 40 * (400 % 32));
	for (int64_t t = 400; t < 450; t++)
		scrape(h, "c", 40, t, true);
	char *at_copy = dump(h, INT64_MIN, INT64_MAX);
	copy_tree(dir, copy);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	d = open_db(copy, TSDB_WAL_FSYNC_NEVER, &st);
	char *got = dump(tsdb_wal_head_head(d), INT64_MIN, INT64_MAX);
	assert_string_equal(at_copy, got);
	assert_int_equal(st.chunks_restored, 40 * (450 / 32));
	assert_int_equal(st.chunk_samples_restored + st.samples_restored, 40 * 450);
	assert_int_equal(st.samples_rejected + st.unknown_refs + st.chunks_dropped, 0);
	assert_string_equal(st.chunks.problems, "");
	check_scrapes(tsdb_wal_head_head(d), "c", 40, 449);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	free(at_copy);
	free(got);
	rm_rf(copy);
	rm_rf(dir);
	free(dir);
}

/* Chunk files that cannot grow (a file size limit standing in for a full
 * disk): full chunks stay in memory, the WAL keeps their samples through
 * checkpoints, and once writes work again the chunks kept in memory are
 * written before newer ones, oldest first. A copy taken while chunks were
 * in memory (kill -9) and one taken after they were written both restore
 * every committed sample, as does an orderly close. */
static void test_chunk_write_failure(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	char copy_a[4200], copy_b[4200], err[256];
	snprintf(copy_a, sizeof(copy_a), "%s.a", dir);
	snprintf(copy_b, sizeof(copy_b), "%s.b", dir);
	struct rlimit old;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_NEVER, NULL);
	tsdb_head *h = tsdb_wal_head_head(d);
	/* 256 KiB: WAL segments (64 KiB) and checkpoints fit, a chunk file
	 * (128 MiB reserved up front) does not */
	struct rlimit lim = { 256 * 1024, old.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int64_t t = 0; t < 100; t++)
		scrape(h, "f", 40, t, true);
	tsdb_wal_head_stats st;
	tsdb_wal_head_get_stats(d, &st);
	assert_int_equal(st.disk_chunks, 0);
	assert_true(st.chunk_write_failures >= 40 * 3);
	assert_int_equal(tsdb_wal_head_truncate(d, INT64_MIN, err, sizeof(err)), 0);
	char *at_a = dump(h, INT64_MIN, INT64_MAX);
	copy_tree(dir, copy_a);
	/* space again: the next cut of each series writes its three chunks
	 * kept in memory, then the new one */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	for (int64_t t = 100; t < 200; t++)
		scrape(h, "f", 40, t, true);
	tsdb_wal_head_get_stats(d, &st);
	assert_int_equal(st.disk_chunks, 40 * (200 / 32));
	assert_int_equal(tsdb_wal_head_truncate(d, INT64_MIN, err, sizeof(err)), 0);
	char *at_b = dump(h, INT64_MIN, INT64_MAX);
	copy_tree(dir, copy_b);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	signal(SIGXFSZ, prev);
	const char *dirs[3] = { copy_a, copy_b, dir };
	const char *want[3] = { at_a, at_b, at_b };
	for (int k = 0; k < 3; k++) {
		d = open_db(dirs[k], TSDB_WAL_FSYNC_NEVER, &st);
		char *got = dump(tsdb_wal_head_head(d), INT64_MIN, INT64_MAX);
		assert_string_equal(want[k], got);
		assert_int_equal(st.samples_rejected + st.unknown_refs + st.chunks_dropped, 0);
		check_scrapes(tsdb_wal_head_head(d), "f", 40, k == 0 ? 99 : 199);
		free(got);
		assert_int_equal(tsdb_wal_head_close(d), 0);
	}
	free(at_a);
	free(at_b);
	rm_rf(copy_a);
	rm_rf(copy_b);
	rm_rf(dir);
	free(dir);
}

/* kill -9 at exact points of a chunk write and of a checkpoint (the
 * process kills itself there, see tsdb/killpoint.h): every commit
 * acknowledged before the kill is there after reopen, bit-exact. */
static void kill_at(const char *point)
{
	char *dir = tmpdir_new();
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		tsdb_kill_point_arm(point);
		tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_PERIOD, NULL);
		tsdb_head *h = tsdb_wal_head_head(d);
		char err[256];
		for (int32_t t = 0; t < 100000; t++) {
			scrape(h, "k", 20, t, true);
			if (write(pfd[1], &t, sizeof(t)) != sizeof(t))
				_exit(4);
			if (t % 50 == 49 && tsdb_wal_head_truncate(d, INT64_MIN, err, sizeof(err)) < 0)
				_exit(5);
		}
		_exit(6); /* the point was never reached */
	}
	close(pfd[1]);
	int32_t acked = -1, v;
	while (read(pfd[0], &v, sizeof(v)) == sizeof(v))
		acked = v;
	close(pfd[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(acked >= 0);

	tsdb_wal_head_stats st;
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	printf("# killed at %s after %d acknowledged scrapes: %llu chunks and %llu WAL samples restored%s%s\n",
	       point, acked + 1, (unsigned long long)st.chunks_restored, (unsigned long long)st.samples_restored,
	       st.chunks.problems[0] ? "; " : "", st.chunks.problems);
	assert_int_equal(st.replay.corruptions + st.chunks.corruptions, 0);
	check_scrapes(tsdb_wal_head_head(d), "k", 20, acked);
	/* and it goes on: more scrapes, an orderly close, a clean reopen */
	int64_t next = acked + 1;
	tsdb_stats hs;
	tsdb_head_stats(tsdb_wal_head_head(d), &hs);
	if (hs.max_time_ms >= next)
		next++;
	assert_int_equal(tsdb_wal_head_close(d), 0);
	d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	assert_string_equal(st.chunks.problems, "");
	assert_false(st.replay.torn_tail);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	rm_rf(dir);
	free(dir);
}

static void test_kill_points(void **state)
{
	(void)state;
	kill_at("chunk-write");        /* the first chunk cut */
	kill_at("chunk-write:45");     /* one in the second round of cuts */
	kill_at("checkpoint-tmp");     /* the first checkpoint, before its rename */
	kill_at("checkpoint-tmp:3");   /* a later one, folding the previous checkpoint */
	kill_at("checkpoint-renamed"); /* renamed, covered segments still there */
	kill_at("checkpoint-renamed:4");
}

/* Size retention: the oldest chunk files go, with their chunks, until the
 * storage fits; the newest data stays; nothing comes back at reopen. */
static void test_size_retention(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_wal_opts wo;
	tsdb_wal_opts_default(&wo);
	wo.fsync_mode = TSDB_WAL_FSYNC_NEVER;
	tsdb_options o = { .chunk_samples = 32 };
	tsdb_chunkfiles_opts co = { .file_bytes = 16 * 1024 };
	char err[256];
	tsdb_wal_head_stats st;
	tsdb_wal_head *d = tsdb_wal_head_open_ex(dir, &o, &wo, &co, &st, err, sizeof(err));
	assert_non_null(d);
	tsdb_head *h = tsdb_wal_head_head(d);
	/* values that do not compress: ~8 bytes a sample, many files */
	uint64_t x = 88172645463325252ULL;
	tsdb_appender *a = tsdb_appender_new(h);
	for (int64_t t = 0; t < 2000; t++) {
		for (int i = 0; i < 20; i++) {
			tp_label lv[3];
			char b[16];
			lbl(lv, b, sizeof(b), "s", i);
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			assert_int_equal(tsdb_appender_add(a, &(tp_labels){ lv, 3 }, t * 1000, (double)(x >> 11) / 3.0, NULL),
					 TSDB_OK);
		}
		assert_int_equal(tsdb_appender_commit(a), 20);
	}
	tsdb_appender_free(a);
	assert_true(tsdb_wal_head_truncate(d, INT64_MIN, err, sizeof(err)) >= 0);
	uint64_t total = tsdb_wal_head_disk_bytes(d);
	tsdb_wal_head_get_stats(d, &st);
	assert_true(st.chunks.files >= 4);
	assert_int_equal(tsdb_wal_head_enforce_size(d, total * 2, err, sizeof(err)), 0); /* fits already */
	long files = tsdb_wal_head_enforce_size(d, total / 2, err, sizeof(err));
	assert_true(files >= 1);
	assert_true(tsdb_wal_head_disk_bytes(d) <= total / 2);
	tsdb_wal_head_get_stats(d, &st);
	assert_int_equal(st.size_retentions, 1);
	tsdb_stats hs;
	tsdb_head_stats(h, &hs);
	assert_true(hs.min_time_ms > 0);           /* the oldest data is gone */
	assert_int_equal(hs.max_time_ms, 1999000); /* the newest is not */
	assert_int_equal(hs.num_series, 20);
	char *before = dump(h, INT64_MIN, INT64_MAX);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	d = tsdb_wal_head_open_ex(dir, &o, &wo, &co, &st, err, sizeof(err));
	assert_non_null(d);
	char *after = dump(tsdb_wal_head_head(d), INT64_MIN, INT64_MAX);
	assert_string_equal(before, after);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	free(before);
	free(after);
	rm_rf(dir);
	free(dir);
}

/* Appenders cutting chunks into chunk files, a reader decoding and
 * seeking through every series, and checkpoints (chunk file syncs) all at
 * once: every read is a consistent prefix of the series, bit-exact, and
 * the reopened head has everything. */
typedef struct cq_arg {
	struct cq_arg *reader;
	tsdb_head *h;
	int id;
	atomic_int *running;
	atomic_int *checkpoints;
	atomic_long reads;
} cq_arg;

static void *cq_append(void *p)
{
	cq_arg *a = p;
	char name[16];
	snprintf(name, sizeof(name), "cq%d", a->id);
	for (int64_t t = 0; t < 2000; t++) {
		scrape(a->h, name, 10, t, true);
		if (t % 20 == 19)
			usleep(500); /* let checkpoints and reads interleave */
		/* at least five checkpoints and one read in the middle, however
		 * the threads are scheduled (the read: up to a minute, then the
		 * final check fails) */
		for (int w = 0; t == 1000 && (atomic_load(a->checkpoints) < 5 ||
					      (atomic_load(&a->reader->reads) == 0 && w < 60000)); w++)
			usleep(1000);
	}
	atomic_fetch_sub(a->running, 1);
	return NULL;
}

static void *cq_read(void *p)
{
	cq_arg *a = p;
	tsdb_matcher m;
	char err[128];
	assert_int_equal(tsdb_matcher_init(&m, TSDB_MATCH_RE, "__name__", "cq.", err, sizeof(err)), 0);
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	while (atomic_load(a->running) > 0) {
		tsdb_querier *q = tsdb_querier_new(a->h, INT64_MIN, INT64_MAX);
		tsdb_series_set *ss = tsdb_querier_select(q, &m, 1);
		while (tsdb_series_set_next(ss)) {
			int i = atoi(tp_labels_get(tsdb_series_set_labels(ss), "instance") + 1);
			size_t n = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
			for (size_t k = 0; k < n; k++) {
				int64_t t = (int64_t)k;
				double want = (i == 0 && t % 7 == 0) ? from_bits(STALE_BITS) : (double)t * 0.5 + i;
				assert_int_equal(buf[k].t, t);
				assert_memory_equal(&buf[k].v, &want, 8);
			}
			/* and through an iterator, seeking into the middle */
			if (n > 2) {
				tsdb_iter it;
				tsdb_series_set_iter(ss, &it);
				assert_true(tsdb_iter_seek(&it, (int64_t)n / 2));
				int64_t t;
				double v;
				tsdb_iter_at(&it, &t, &v);
				assert_int_equal(t, (int64_t)n / 2);
				size_t more = 1;
				while (tsdb_iter_next(&it))
					more++;
				assert_int_equal(more, n - n / 2);
			}
			atomic_fetch_add(&a->reads, 1);
		}
		tsdb_series_set_free(ss);
		tsdb_querier_free(q);
		usleep(100); /* truncation waits for a moment without queriers */
	}
	free(buf);
	tsdb_matcher_free(&m);
	return NULL;
}

static void test_concurrent_query_checkpoint(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_wal_head *d = open_db(dir, TSDB_WAL_FSYNC_NEVER, NULL);
	tsdb_head *h = tsdb_wal_head_head(d);
	atomic_int running = 2, checkpoints = 0;
	pthread_t th[3];
	cq_arg a[3] = { { &a[2], h, 0, &running, &checkpoints, 0 }, { &a[2], h, 1, &running, &checkpoints, 0 },
			{ &a[2], h, 0, &running, &checkpoints, 0 } };
	assert_int_equal(pthread_create(&th[0], NULL, cq_append, &a[0]), 0);
	assert_int_equal(pthread_create(&th[1], NULL, cq_append, &a[1]), 0);
	assert_int_equal(pthread_create(&th[2], NULL, cq_read, &a[2]), 0);
	char err[256];
	while (atomic_load(&running) > 0) {
		assert_true(tsdb_wal_head_truncate(d, INT64_MIN, err, sizeof(err)) >= 0);
		atomic_fetch_add(&checkpoints, 1);
		usleep(2000);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("# %d checkpoints and %ld series reads during the appends\n", atomic_load(&checkpoints),
	       atomic_load(&a[2].reads));
	tsdb_wal_head_stats st;
	tsdb_wal_head_get_stats(d, &st);
	assert_int_equal(st.disk_chunks, 2 * 10 * (2000 / 32));
	assert_true(atomic_load(&a[2].reads) > 0);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	d = open_db(dir, TSDB_WAL_FSYNC_NEVER, &st);
	check_scrapes(tsdb_wal_head_head(d), "cq0", 10, 1999);
	check_scrapes(tsdb_wal_head_head(d), "cq1", 10, 1999);
	assert_int_equal(st.samples_restored, 0);
	assert_int_equal(tsdb_wal_head_close(d), 0);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_copy_without_close),
		cmocka_unit_test(test_kill9),
		cmocka_unit_test(test_truncate_checkpoint),
		cmocka_unit_test(test_concurrent_appenders),
		cmocka_unit_test(test_ref_alias),
		cmocka_unit_test(test_chunks_checkpoint),
		cmocka_unit_test(test_chunk_write_failure),
		cmocka_unit_test(test_kill_points),
		cmocka_unit_test(test_size_retention),
		cmocka_unit_test(test_concurrent_query_checkpoint),
	};
	return cmocka_run_group_tests_name("wal_head", tests, NULL, NULL);
}
