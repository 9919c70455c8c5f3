/* SPDX-License-Identifier: Apache-2.0
 * test_wal.c - unit tests for tsdb/wal*: CRC-32C, the record codec, round
 * trips (NaN payloads, negative and extreme timestamps), segmenting, torn
 * tails at every byte, bit flips, missing segments, checkpoints, fsync
 * modes, concurrent writers, write failures and bytes per sample. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/common.h"
#include "lib/crc32c.h"
#include "lib/labels.h"
#include "lib/strbuf.h"
#include "tsdb/wal.h"
#include "tsdb/wal_int.h"

/* ---- helpers ---- */

#define TSDB_WAL_SAMPLE_STALE_TEST 0x7ff0000000000002ULL

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
	char *t = strdup("/tmp/tp_test_wal.XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

/* base/wal path in a static buffer ring */
static const char *walp(const char *base)
{
	static char buf[4][4096];
	static int k;
	char *b = buf[k++ & 3];
	snprintf(b, 4096, "%s/wal", base);
	return b;
}

/* Copies a flat directory of files (a WAL without checkpoints). */
static void copy_dir(const char *from, const char *to)
{
	rm_rf(to);
	assert_int_equal(mkdir(to, 0777), 0);
	DIR *d = opendir(from);
	assert_non_null(d);
	struct dirent *e;
	static char buf[1 << 16];
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char a[8300], b[8300];
		snprintf(a, sizeof(a), "%.4000s/%s", from, e->d_name);
		snprintf(b, sizeof(b), "%.4000s/%s", to, e->d_name);
		int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(in >= 0 && out >= 0);
		ssize_t k;
		while ((k = read(in, buf, sizeof(buf))) > 0)
			assert_int_equal(write(out, buf, (size_t)k), k);
		close(in);
		close(out);
	}
	closedir(d);
}

static uint64_t fsize(const char *p)
{
	struct stat st;
	if (stat(p, &st) != 0)
		return UINT64_MAX;
	return (uint64_t)st.st_size;
}

static bool exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static const char *segp(const char *wal, uint32_t n)
{
	static char buf[4][4200];
	static int k;
	char *b = buf[k++ & 3];
	snprintf(b, 4200, "%.4000s/%08u", wal, n);
	return b;
}

static uint64_t bits_of(double v)
{
	uint64_t b;
	memcpy(&b, &v, 8);
	return b;
}

static double from_bits(uint64_t b)
{
	double v;
	memcpy(&v, &b, 8);
	return v;
}

/* What a replay delivered. */
typedef struct coll {
	uint32_t *sref;
	char **slbl;
	size_t ns, cs, cs2;
	tsdb_wal_sample *x;
	size_t nx, cx;
} coll;

static int coll_series(void *ud, uint32_t ref, const tp_labels *l)
{
	coll *c = ud;
	tp_strbuf sb = { 0 };
	tp_labels_format(&sb, l, false);
	TP_GROW(c->sref, c->cs, c->ns + 1);
	TP_GROW(c->slbl, c->cs2, c->ns + 1);
	c->sref[c->ns] = ref;
	c->slbl[c->ns++] = tp_sb_steal(&sb);
	return 0;
}

static int coll_samples(void *ud, const tsdb_wal_sample *s, size_t n)
{
	coll *c = ud;
	TP_GROW(c->x, c->cx, c->nx + n);
	memcpy(c->x + c->nx, s, n * sizeof(*s));
	c->nx += n;
	return 0;
}

static void coll_free(coll *c)
{
	for (size_t i = 0; i < c->ns; i++)
		free(c->slbl[i]);
	free(c->slbl);
	free(c->sref);
	free(c->x);
	memset(c, 0, sizeof(*c));
}

static int replay_into(const char *wal, coll *c, tsdb_wal_replay_stats *st)
{
	tsdb_wal_replay_cb cb = { .series = coll_series, .samples = coll_samples, .ud = c };
	char err[256];
	int rc = tsdb_wal_replay(wal, &cb, st, err, sizeof(err));
	if (rc)
		fprintf(stderr, "# replay: %s\n", err);
	return rc;
}

static bool sample_eq(const tsdb_wal_sample *a, const tsdb_wal_sample *b)
{
	return a->ref == b->ref && a->t_ms == b->t_ms && bits_of(a->v) == bits_of(b->v);
}

static tsdb_wal *open_wal(const char *wal, uint64_t seg_bytes, tsdb_wal_fsync_mode m, bool compress)
{
	tsdb_wal_opts o;
	tsdb_wal_opts_default(&o);
	o.segment_bytes = seg_bytes;
	o.fsync_mode = m;
	o.compress = compress;
	char err[256];
	tsdb_wal *w = tsdb_wal_open(wal, &o, err, sizeof(err));
	if (!w)
		fprintf(stderr, "# open: %s\n", err);
	assert_non_null(w);
	return w;
}

static void log_series1(tsdb_wal *w, uint32_t ref, const char *name, const char *inst)
{
	tp_label lv[2] = { { "__name__", name }, { "instance", inst } };
	tp_labels l = { lv, 2 };
	tsdb_wal_log_series(w, ref, &l);
}

/* ---- codec ---- */

static void test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(tp_crc32c("123456789", 9), 0xE3069283u);
	uint8_t z[32] = { 0 }, f[32];
	memset(f, 0xff, sizeof(f));
	assert_int_equal(tp_crc32c(z, 32), 0x8A9136AAu);  /* RFC 3720 B.4 */
	assert_int_equal(tp_crc32c(f, 32), 0x62A8AB43u);
	assert_int_equal(tp_crc32c("", 0), 0);
	/* pieces equal the whole, at every split and unaligned start */
	char buf[300];
	for (int i = 0; i < 300; i++)
		buf[i] = (char)(i * 7 + 3);
	for (int off = 0; off < 8; off++) {
		uint32_t whole = tp_crc32c(buf + off, 200);
		for (int k = 0; k <= 200; k += 13)
			assert_int_equal(tp_crc32c_update(tp_crc32c(buf + off, (size_t)k), buf + off + k, (size_t)(200 - k)),
					 whole);
	}
}

static void test_varint(void **state)
{
	(void)state;
	int64_t sv[] = { 0, 1, -1, 63, -64, 64, INT64_MAX, INT64_MIN, -1700000000000LL, 1700000000000LL };
	for (size_t i = 0; i < TP_ARRAY_LEN(sv); i++) {
		tp_strbuf b = { 0 };
		wal_put_varint(&b, sv[i]);
		int64_t back = 0;
		assert_int_equal(wal_get_varint((uint8_t *)b.buf, b.len, &back), b.len);
		assert_true(back == sv[i]);
		/* truncated input is refused, never over-read */
		assert_int_equal(wal_get_varint((uint8_t *)b.buf, b.len - 1, &back), 0);
		tp_sb_free(&b);
	}
	/* 0 and +-1 take one byte: a scrape's repeated timestamp costs 1 byte */
	tp_strbuf b = { 0 };
	wal_put_varint(&b, 0);
	wal_put_varint(&b, 1);
	wal_put_varint(&b, -1);
	assert_int_equal(b.len, 3);
	tp_sb_free(&b);
	uint8_t over[11];
	memset(over, 0xff, sizeof(over));
	uint64_t u;
	assert_int_equal(wal_get_uvarint(over, sizeof(over), &u), 0);
}

/* ---- round trips ---- */

static const uint64_t nan_bits[] = {
	0x7ff0000000000002ULL, /* stale marker (a signalling NaN) */
	0x7ff8000000000001ULL, /* Prometheus's "normal" NaN */
	0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7fffffffffffffffULL, 0xfff0000000000001ULL,
	0x7ff0000000000000ULL, /* +Inf */
	0x8000000000000000ULL, /* -0 */
	0x0000000000000001ULL, /* smallest denormal */
};

static void roundtrip(bool compress)
{
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal *w = open_wal(wal, 0, TSDB_WAL_FSYNC_NEVER, compress);
	tp_label lv[3] = { { "__name__", "up" }, { "job", "a \"quoted\"\nvalue ü" }, { "zone", "z" } };
	tp_labels l = { lv, 3 };
	tsdb_wal_log_series(w, 1, &l);
	tsdb_wal_log_series(w, UINT32_MAX, &l);
	tsdb_wal_log_series(w, 0, &(tp_labels){ lv, 1 });
	tsdb_wal_sample s[64];
	size_t n = 0;
	int64_t ts[] = { 0, -1, -1700000000000LL, 1700000000000LL, INT64_MIN, INT64_MAX, 5, 5, -5 };
	for (size_t i = 0; i < TP_ARRAY_LEN(ts); i++)
		s[n++] = (tsdb_wal_sample){ .ref = (uint32_t)(i % 2 ? UINT32_MAX : 1), .t_ms = ts[i], .v = 1.5 * (double)i };
	for (size_t i = 0; i < TP_ARRAY_LEN(nan_bits); i++)
		s[n++] = (tsdb_wal_sample){ .ref = 0, .t_ms = (int64_t)i * 15000, .v = from_bits(nan_bits[i]) };
	tsdb_wal_log_samples(w, s, n);
	assert_int_equal(tsdb_wal_commit(w), 0);
	/* a second commit: refs and timestamps are delta-coded per record */
	tsdb_wal_log_samples(w, s + 3, 4);
	assert_int_equal(tsdb_wal_commit(w), 0);
	assert_int_equal(tsdb_wal_commit(w), 0); /* empty commit: nothing written */
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(ws.commits, 2);
	assert_int_equal(ws.samples_written, n + 4);
	assert_int_equal(ws.series_written, 3);
	assert_int_equal(tsdb_wal_close(w), 0);

	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(st.corruptions, 0);
	assert_false(st.torn_tail);
	assert_string_equal(st.corruption, "");
	assert_int_equal(st.bytes, ws.bytes_written);
	assert_int_equal(st.records, ws.records_written);
	assert_int_equal(c.ns, 3);
	assert_int_equal(c.sref[0], 1);
	assert_int_equal(c.sref[1], UINT32_MAX);
	assert_int_equal(c.sref[2], 0);
	assert_string_equal(c.slbl[0], "{__name__=\"up\", job=\"a \\\"quoted\\\"\\nvalue ü\", zone=\"z\"}");
	assert_string_equal(c.slbl[2], "{__name__=\"up\"}");
	assert_int_equal(c.nx, n + 4);
	for (size_t i = 0; i < n; i++)
		assert_true(sample_eq(&c.x[i], &s[i]));
	for (size_t i = 0; i < 4; i++)
		assert_true(sample_eq(&c.x[n + i], &s[3 + i]));
	coll_free(&c);
	rm_rf(base);
	free(base);
}

static void test_roundtrip(void **state)
{
	(void)state;
	roundtrip(true);
	roundtrip(false);
}

static void test_missing_dir_is_empty(void **state)
{
	(void)state;
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into("/tmp/tp_test_wal_does_not_exist/wal", &c, &st), 0);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.checkpoint, -1);
}

/* Writes commits of one series record + 50 samples each; returns samples. */
static size_t write_scrapes(tsdb_wal *w, uint32_t first_ref, int commits, int64_t t0)
{
	tsdb_wal_sample s[50];
	size_t total = 0;
	for (int c = 0; c < commits; c++) {
		uint32_t ref = first_ref + (uint32_t)c;
		char inst[32];
		snprintf(inst, sizeof(inst), "host-%u:9100", ref);
		log_series1(w, ref, "node_cpu_seconds_total", inst);
		for (int i = 0; i < 50; i++)
			s[i] = (tsdb_wal_sample){ .ref = ref - (uint32_t)(i % 3), .t_ms = t0 + c * 15000, .v = c * 0.25 + i };
		tsdb_wal_log_samples(w, s, 50);
		assert_int_equal(tsdb_wal_commit(w), 0);
		total += 50;
	}
	return total;
}

static void test_many_segments(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal *w = open_wal(wal, 4096, TSDB_WAL_FSYNC_NEVER, true);
	size_t n = write_scrapes(w, 1, 400, 1000);
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(tsdb_wal_close(w), 0);
	assert_true(ws.segments_created >= 10);
	for (uint32_t i = 0; i <= ws.segment_current; i++) {
		assert_true(exists(segp(wal, i)));
		assert_true(fsize(segp(wal, i)) <= 4096);
	}
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(st.segments, ws.segment_current + 1);
	assert_int_equal(c.nx, n);
	assert_int_equal(c.ns, 400);
	for (size_t i = 0; i < c.nx; i++)
		assert_int_equal(c.x[i].t_ms, 1000 + (int64_t)(i / 50) * 15000);
	coll_free(&c);

	/* reopen continues in the last segment, numbering carries on */
	w = open_wal(wal, 4096, TSDB_WAL_FSYNC_NEVER, true);
	tsdb_wal_get_stats(w, &ws);
	uint32_t cur = ws.segment_current;
	write_scrapes(w, 1000, 50, 99999);
	tsdb_wal_get_stats(w, &ws);
	assert_true(ws.segment_current > cur);
	assert_int_equal(tsdb_wal_close(w), 0);
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(c.nx, n + 50 * 50);
	assert_int_equal(st.corruptions, 0);
	coll_free(&c);
	rm_rf(base);
	free(base);
}

/* Commit A (a series record), then commit B (a samples record), as the
 * last records of the only segment: every truncation inside A or B must
 * recover exactly the records that end at or before the cut. */
static void test_torn_tail_every_offset(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s/copy", base);
	tsdb_wal *w = open_wal(wal, 0, TSDB_WAL_FSYNC_NEVER, true);
	size_t n0 = write_scrapes(w, 1, 3, 0);
	uint64_t endp = fsize(segp(wal, 0));
	log_series1(w, 77, "a_long_metric_name_for_the_tail_test", "some-host.example:9100");
	assert_int_equal(tsdb_wal_commit(w), 0);
	uint64_t end_a = fsize(segp(wal, 0));
	tsdb_wal_sample s[20];
	for (int i = 0; i < 20; i++)
		s[i] = (tsdb_wal_sample){ .ref = 77, .t_ms = 100000 + i, .v = from_bits(nan_bits[i % 9]) };
	tsdb_wal_log_samples(w, s, 20);
	assert_int_equal(tsdb_wal_commit(w), 0);
	uint64_t end_b = fsize(segp(wal, 0));
	assert_int_equal(tsdb_wal_close(w), 0);
	assert_true(endp < end_a && end_a < end_b);

	for (uint64_t cut = endp; cut < end_b; cut++) {
		copy_dir(wal, copy);
		assert_int_equal(truncate(segp(copy, 0), (off_t)cut), 0);
		coll c = { 0 };
		tsdb_wal_replay_stats st;
		assert_int_equal(replay_into(copy, &c, &st), 0);
		uint64_t good = cut >= end_a ? end_a : endp;
		assert_int_equal(c.ns, 3 + (cut >= end_a));
		assert_int_equal(c.nx, n0);
		assert_int_equal(st.truncated_bytes, cut - good);
		assert_int_equal(st.torn_tail, cut != good);
		assert_int_equal(st.corruptions, 0);
		assert_int_equal(fsize(segp(copy, 0)), good);
		if (cut != good)
			assert_non_null(strstr(st.corruption, "torn tail"));
		coll_free(&c);
		/* replaying again finds a clean log */
		assert_int_equal(replay_into(copy, &c, &st), 0);
		assert_false(st.torn_tail);
		assert_int_equal(st.truncated_bytes, 0);
		coll_free(&c);
	}

	/* open without replay repairs the tail itself, then appends cleanly */
	for (uint64_t cut = end_a + 1; cut < end_b; cut += 7) {
		copy_dir(wal, copy);
		assert_int_equal(truncate(segp(copy, 0), (off_t)cut), 0);
		w = open_wal(copy, 0, TSDB_WAL_FSYNC_NEVER, true);
		tsdb_wal_stats ws;
		tsdb_wal_get_stats(w, &ws);
		assert_int_equal(ws.truncated_bytes, cut - end_a);
		assert_int_equal(ws.corruptions, 0);
		tsdb_wal_log_samples(w, s, 5);
		assert_int_equal(tsdb_wal_commit(w), 0);
		assert_int_equal(tsdb_wal_close(w), 0);
		coll c = { 0 };
		tsdb_wal_replay_stats st;
		assert_int_equal(replay_into(copy, &c, &st), 0);
		assert_int_equal(st.truncated_bytes, 0);
		assert_int_equal(c.nx, n0 + 5);
		coll_free(&c);
	}
	rm_rf(base);
	free(base);
}

static void flip_bit(const char *path, uint64_t off, int bit)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= (uint8_t)(1u << bit);
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

/* Replayed samples must be an exact prefix of what was written. */
static void assert_prefix(const coll *c, size_t commits)
{
	for (size_t i = 0; i < c->nx; i++) {
		size_t k = i / 50, j = i % 50;
		assert_true(k < commits);
		assert_int_equal(c->x[i].ref, (uint32_t)(1 + k - j % 3));
		assert_true(c->x[i].v == (double)k * 0.25 + (double)j);
	}
}

static void test_bitflip_middle(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s/copy", base);
	tsdb_wal *w = open_wal(wal, 8192, TSDB_WAL_FSYNC_NEVER, false);
	size_t n = write_scrapes(w, 1, 200, 0);
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(tsdb_wal_close(w), 0);
	uint32_t nseg = ws.segment_current + 1;
	assert_true(nseg >= 4);

	/* every bit position class, in the middle of segment 1 */
	uint64_t sz1 = fsize(segp(wal, 1));
	for (int bit = 0; bit < 8; bit++) {
		copy_dir(wal, copy);
		uint64_t off = sz1 / 2 + (uint64_t)bit * 3;
		flip_bit(segp(copy, 1), off, bit);
		coll c = { 0 };
		tsdb_wal_replay_stats st;
		assert_int_equal(replay_into(copy, &c, &st), 0);
		assert_int_equal(st.corruptions, 1);
		assert_false(st.torn_tail);
		assert_non_null(strstr(st.corruption, "/00000001"));
		assert_non_null(strstr(st.corruption, "offset"));
		assert_non_null(strstr(st.corruption, "deleted all later segments"));
		assert_true(c.nx < n);
		assert_true(c.nx > 0);
		assert_prefix(&c, 200);
		/* all of segment 0 survived; the damaged record is dropped */
		assert_true(fsize(segp(copy, 1)) <= off);
		for (uint32_t s = 2; s < nseg; s++)
			assert_false(exists(segp(copy, s)));
		size_t got = c.nx;
		coll_free(&c);
		/* the repaired log replays clean and identical, and accepts writes */
		assert_int_equal(replay_into(copy, &c, &st), 0);
		assert_int_equal(st.corruptions, 0);
		assert_int_equal(c.nx, got);
		coll_free(&c);
		w = open_wal(copy, 8192, TSDB_WAL_FSYNC_NEVER, false);
		write_scrapes(w, 5000, 3, 0);
		assert_int_equal(tsdb_wal_close(w), 0);
		assert_int_equal(replay_into(copy, &c, &st), 0);
		assert_int_equal(st.corruptions, 0);
		assert_int_equal(c.nx, got + 150);
		coll_free(&c);
	}

	/* a flip in the middle of the last segment is corruption, not a torn tail */
	copy_dir(wal, copy);
	uint64_t szl = fsize(segp(copy, nseg - 1));
	flip_bit(segp(copy, nseg - 1), szl / 3, 2);
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(copy, &c, &st), 0);
	assert_int_equal(st.corruptions, 1);
	assert_false(st.torn_tail);
	assert_true(st.truncated_bytes > 0);
	assert_prefix(&c, 200);
	coll_free(&c);

	/* a zeroed tail (as after a crash with a preallocated extent) is torn */
	copy_dir(wal, copy);
	{
		int fd = open(segp(copy, nseg - 1), O_WRONLY | O_APPEND);
		char z[100] = { 0 };
		assert_int_equal(write(fd, z, sizeof(z)), 100);
		close(fd);
	}
	assert_int_equal(replay_into(copy, &c, &st), 0);
	assert_true(st.torn_tail);
	assert_int_equal(st.corruptions, 0);
	assert_int_equal(st.truncated_bytes, 100);
	assert_int_equal(c.nx, n);
	coll_free(&c);
	rm_rf(base);
	free(base);
}

/* Random damage (flips, zeroed runs, truncation, garbage, swapped
 * segments): replay never fails or crashes, delivers an exact prefix,
 * and leaves a log that replays clean. A poor man's fuzzer that runs in
 * every make check (and under the sanitizers build). */
static void test_random_damage(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s/copy", base);
	for (int comp = 0; comp < 2; comp++) {
		rm_rf(wal);
		tsdb_wal *w = open_wal(wal, 3000, TSDB_WAL_FSYNC_NEVER, comp);
		write_scrapes(w, 1, 60, 0);
		tsdb_wal_stats ws;
		tsdb_wal_get_stats(w, &ws);
		assert_int_equal(tsdb_wal_close(w), 0);
		uint32_t nseg = ws.segment_current + 1;
		uint64_t seed = 12345 + (uint64_t)comp;
		for (int iter = 0; iter < 150; iter++) {
			copy_dir(wal, copy);
			int kinds = 1 + iter % 3;
			for (int k = 0; k < kinds; k++) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				uint32_t sn = (uint32_t)((seed >> 33) % nseg);
				const char *p = segp(copy, sn);
				uint64_t sz = fsize(p);
				if (sz == 0 || sz == UINT64_MAX)
					continue;
				uint64_t off = (seed >> 13) % sz;
				int fd = open(p, O_RDWR);
				assert_true(fd >= 0);
				switch ((seed >> 5) % 4) {
				case 0: { /* flip a byte */
					uint8_t b;
					assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
					b ^= (uint8_t)(1 + (seed >> 40) % 255);
					assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
					break;
				}
				case 1: { /* zero a run */
					uint8_t z[37] = { 0 };
					assert_true(pwrite(fd, z, sizeof(z), (off_t)off) > 0);
					break;
				}
				case 2: /* truncate */
					assert_int_equal(ftruncate(fd, (off_t)off), 0);
					break;
				default: { /* append garbage */
					uint8_t g[64];
					for (size_t i = 0; i < sizeof(g); i++)
						g[i] = (uint8_t)(seed >> (i % 56));
					g[0] = (uint8_t)(seed & 1 ? 2 : 0x12);
					assert_true(pwrite(fd, g, sizeof(g), (off_t)sz) > 0);
					break;
				}
				}
				close(fd);
			}
			coll c = { 0 };
			tsdb_wal_replay_stats st;
			assert_int_equal(replay_into(copy, &c, &st), 0);
			assert_prefix(&c, 60);
			size_t got = c.nx;
			coll_free(&c);
			assert_int_equal(replay_into(copy, &c, &st), 0);
			assert_int_equal(st.corruptions, 0);
			assert_false(st.torn_tail);
			assert_int_equal(c.nx, got);
			coll_free(&c);
		}
	}
	rm_rf(base);
	free(base);
}

static void test_missing_segment(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal *w = open_wal(wal, 4096, TSDB_WAL_FSYNC_NEVER, true);
	write_scrapes(w, 1, 100, 0);
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(tsdb_wal_close(w), 0);
	assert_true(ws.segment_current >= 4);
	/* count what segments 0 and 1 hold */
	char only[4096];
	snprintf(only, sizeof(only), "%s/only01", base);
	copy_dir(wal, only);
	for (uint32_t s = 2; s <= ws.segment_current; s++)
		unlink(segp(only, s));
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(only, &c, &st), 0);
	size_t want = c.nx;
	coll_free(&c);

	unlink(segp(wal, 2));
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(st.corruptions, 1);
	assert_non_null(strstr(st.corruption, "00000002: segment missing"));
	assert_int_equal(c.nx, want);
	assert_prefix(&c, 100);
	for (uint32_t s = 3; s <= ws.segment_current; s++)
		assert_false(exists(segp(wal, s)));
	coll_free(&c);
	rm_rf(base);
	free(base);
}

/* ---- checkpoint ---- */

static bool keep_odd(void *ud, uint32_t ref)
{
	(void)ud;
	return ref % 2 == 1;
}

static bool keep_all(void *ud, uint32_t ref)
{
	(void)ud;
	(void)ref;
	return true;
}

static void test_checkpoint(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal *w = open_wal(wal, 2048, TSDB_WAL_FSYNC_NEVER, true);
	/* 20 series, 100 samples each at t = 0..99 */
	for (uint32_t r = 1; r <= 20; r++)
		log_series1(w, r, "m", r % 2 ? "odd" : "even");
	assert_int_equal(tsdb_wal_commit(w), 0);
	for (int t = 0; t < 100; t++) {
		tsdb_wal_sample s[20];
		for (uint32_t r = 1; r <= 20; r++)
			s[r - 1] = (tsdb_wal_sample){ .ref = r, .t_ms = t, .v = t == 60 ? from_bits(TSDB_WAL_SAMPLE_STALE_TEST) : t * 1.0 + r };
		tsdb_wal_log_samples(w, s, 20);
		assert_int_equal(tsdb_wal_commit(w), 0);
	}
	char err[256];
	assert_int_equal(tsdb_wal_checkpoint(w, keep_odd, NULL, 50, err, sizeof(err)), 0);
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(w, &ws);
	uint32_t ck = ws.segment_current - 1;
	char ckp[4096];
	snprintf(ckp, sizeof(ckp), "%s/checkpoint.%08u", wal, ck);
	assert_true(exists(ckp));
	for (uint32_t s = 0; s <= ck; s++)
		assert_false(exists(segp(wal, s)));
	/* more data after the checkpoint, incl. a new series */
	log_series1(w, 21, "m", "new");
	tsdb_wal_sample s2[2] = { { 21, 100, 1.0 }, { 3, 100, 2.0 } };
	tsdb_wal_log_samples(w, s2, 2);
	assert_int_equal(tsdb_wal_commit(w), 0);
	assert_int_equal(tsdb_wal_close(w), 0);

	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(st.checkpoint, (int32_t)ck);
	assert_int_equal(st.corruptions, 0);
	/* the live set: odd series, their samples t >= 50, then the new ones */
	assert_int_equal(c.ns, 11);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(c.sref[i], 2 * i + 1);
	assert_int_equal(c.sref[10], 21);
	assert_int_equal(c.nx, 10 * 50 + 2);
	size_t k = 0;
	for (int t = 50; t < 100; t++)
		for (uint32_t r = 1; r <= 20; r += 2, k++) {
			assert_int_equal(c.x[k].ref, r);
			assert_int_equal(c.x[k].t_ms, t);
			if (t == 60)
				assert_true(bits_of(c.x[k].v) == TSDB_WAL_SAMPLE_STALE_TEST);
			else
				assert_true(c.x[k].v == t * 1.0 + r);
		}
	assert_true(sample_eq(&c.x[k], &s2[0]));
	assert_true(sample_eq(&c.x[k + 1], &s2[1]));
	coll_free(&c);

	/* a second checkpoint folds in the first and deletes it; nothing to
	 * do when no segment is complete */
	w = open_wal(wal, 2048, TSDB_WAL_FSYNC_NEVER, true);
	assert_int_equal(tsdb_wal_checkpoint(w, keep_odd, NULL, 99, err, sizeof(err)), 0);
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(ws.checkpoints, 1);
	assert_int_equal(tsdb_wal_checkpoint(w, keep_odd, NULL, 99, err, sizeof(err)), 0);
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(ws.checkpoints, 1);
	assert_int_equal(tsdb_wal_close(w), 0);
	assert_false(exists(ckp));
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_true(st.checkpoint > (int32_t)ck);
	assert_int_equal(c.ns, 11);
	/* t >= 99 of odd refs (10), then t=100 for 21 (odd) and 3 */
	assert_int_equal(c.nx, 12);
	coll_free(&c);

	/* crash leftovers: a .tmp checkpoint and a segment the checkpoint
	 * covers (a crash between rename and deletion) are cleaned, unread */
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/checkpoint.00000999.tmp", wal);
	assert_int_equal(mkdir(tmp, 0777), 0);
	{
		int fd = open(segp(wal, (uint32_t)st.checkpoint), O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "garbage", 7), 7);
		close(fd);
	}
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_false(exists(tmp));
	assert_false(exists(segp(wal, (uint32_t)st.checkpoint)));
	assert_int_equal(st.corruptions, 0);
	assert_int_equal(c.nx, 12);
	coll_free(&c);
	/* open deletes them too, and writes after the checkpoint */
	{
		int fd = open(segp(wal, (uint32_t)st.checkpoint), O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	w = open_wal(wal, 2048, TSDB_WAL_FSYNC_NEVER, true);
	tsdb_wal_get_stats(w, &ws);
	assert_true(ws.segment_current > (uint32_t)st.checkpoint);
	assert_int_equal(tsdb_wal_close(w), 0);
	assert_false(exists(segp(wal, (uint32_t)st.checkpoint)));
	rm_rf(base);
	free(base);
}

/* ---- fsync modes ---- */

static void test_fsync_modes(void **state)
{
	(void)state;
	tsdb_wal_opts o;
	tsdb_wal_opts_default(&o);
	assert_int_equal(o.fsync_mode, TSDB_WAL_FSYNC_PERIOD);
	assert_int_equal(tsdb_wal_fsync_parse("always", &o), 0);
	assert_int_equal(o.fsync_mode, TSDB_WAL_FSYNC_ALWAYS);
	assert_int_equal(tsdb_wal_fsync_parse("never", &o), 0);
	assert_int_equal(o.fsync_mode, TSDB_WAL_FSYNC_NEVER);
	assert_int_equal(tsdb_wal_fsync_parse("250ms", &o), 0);
	assert_int_equal(o.fsync_mode, TSDB_WAL_FSYNC_PERIOD);
	assert_int_equal(o.fsync_period_ms, 250);
	assert_int_equal(tsdb_wal_fsync_parse("0", &o), 0);
	assert_int_equal(o.fsync_mode, TSDB_WAL_FSYNC_ALWAYS);
	assert_int_equal(tsdb_wal_fsync_parse("sometimes", &o), -1);

	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal_stats ws;
	/* always: one fsync per commit that wrote */
	tsdb_wal *w = open_wal(wal, 0, TSDB_WAL_FSYNC_ALWAYS, true);
	write_scrapes(w, 1, 5, 0);
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(ws.fsyncs, 5);
	assert_int_equal(tsdb_wal_close(w), 0);
	rm_rf(wal);
	/* never: none */
	w = open_wal(wal, 0, TSDB_WAL_FSYNC_NEVER, true);
	write_scrapes(w, 1, 5, 0);
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(ws.fsyncs, 0);
	assert_int_equal(tsdb_wal_close(w), 0);
	rm_rf(wal);
	/* period: the background thread syncs a dirty segment within the period,
	 * and only once for many commits. The period starts at the first
	 * commit; the 50 commits take about a millisecond, a thousandth of
	 * the period. Should they take longer than the period (a machine too
	 * loaded to tell), only what holds at any speed is checked: no sync
	 * until the period is over, and one at the latest after it. */
	tsdb_wal_opts_default(&o);
	o.fsync_period_ms = 1000;
	char err[256];
	w = tsdb_wal_open(wal, &o, err, sizeof(err));
	assert_non_null(w);
	int64_t t0 = tp_mono_ns();
	write_scrapes(w, 1, 50, 0);
	tsdb_wal_get_stats(w, &ws);
	bool within = tp_mono_ns() - t0 < INT64_C(1000000000);
	if (within)
		assert_int_equal(ws.fsyncs, 0);
	else
		print_message("fsync period: the commits took longer than the period; not checking one sync for all\n");
	for (int i = 0; i < 6000 && ws.fsyncs == 0; i++) {
		usleep(10000);
		tsdb_wal_get_stats(w, &ws);
	}
	if (within)
		assert_int_equal(ws.fsyncs, 1);
	else
		assert_true(ws.fsyncs >= 1);
	if (!within) { /* commits after that sync made it dirty again */
		usleep(1500000);
		tsdb_wal_get_stats(w, &ws);
	}
	uint64_t synced = ws.fsyncs;
	usleep(1500000); /* more than a period, not dirty: no more syncs */
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(ws.fsyncs, synced);
	assert_int_equal(tsdb_wal_close(w), 0);
	rm_rf(base);
	free(base);
}

/* ---- concurrency ---- */

#define CT_THREADS 8
#define CT_COMMITS 400
#define CT_PER 7

typedef struct ct_arg {
	tsdb_wal *w;
	uint32_t id;
	int failures;
} ct_arg;

static void *ct_run(void *p)
{
	ct_arg *a = p;
	for (uint32_t k = 0; k < CT_PER; k++) {
		char inst[32];
		snprintf(inst, sizeof(inst), "t%u-%u", a->id, k);
		log_series1(a->w, 1 + a->id * CT_PER + k, "ct", inst);
	}
	for (int c = 0; c < CT_COMMITS; c++) {
		tsdb_wal_sample s[CT_PER];
		for (uint32_t k = 0; k < CT_PER; k++)
			s[k] = (tsdb_wal_sample){ 1 + a->id * CT_PER + k, c, (double)c };
		tsdb_wal_log_samples(a->w, s, CT_PER);
		if (tsdb_wal_commit(a->w) != 0)
			a->failures++;
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal_opts o;
	tsdb_wal_opts_default(&o);
	o.segment_bytes = 16384;
	o.fsync_period_ms = 5;
	char err[256];
	tsdb_wal *w = tsdb_wal_open(wal, &o, err, sizeof(err));
	assert_non_null(w);
	pthread_t th[CT_THREADS];
	ct_arg a[CT_THREADS];
	for (uint32_t i = 0; i < CT_THREADS; i++) {
		a[i] = (ct_arg){ .w = w, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, ct_run, &a[i]), 0);
	}
	char ckerr[256];
	for (int i = 0; i < 3; i++) { /* checkpoints while writers run, keeping everything */
		usleep(2000);
		assert_int_equal(tsdb_wal_checkpoint(w, keep_all, NULL, INT64_MIN, ckerr, sizeof(ckerr)), 0);
	}
	for (int i = 0; i < CT_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
	assert_int_equal(tsdb_wal_close(w), 0);
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(st.corruptions, 0);
	/* per series: every commit's sample exactly once, in order; a series
	 * record before its first sample (checkpoints kept everything) */
	uint32_t nref = CT_THREADS * CT_PER + 1;
	int64_t *next = calloc(nref, sizeof(int64_t));
	bool *seen = calloc(nref, sizeof(bool));
	for (size_t i = 0; i < c.ns; i++)
		seen[c.sref[i]] = true;
	for (size_t i = 0; i < c.nx; i++) {
		uint32_t r = c.x[i].ref;
		assert_true(r >= 1 && r < nref);
		assert_true(seen[r]);
		assert_int_equal(c.x[i].t_ms, next[r]);
		next[r]++;
	}
	for (uint32_t r = 1; r < nref; r++)
		assert_int_equal(next[r], CT_COMMITS);
	free(next);
	free(seen);
	coll_free(&c);
	rm_rf(base);
	free(base);
}

/* ---- write failure: a file size limit makes write() fail (EFBIG) ---- */

static void test_write_failure(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal *w = open_wal(wal, 0, TSDB_WAL_FSYNC_NEVER, false);
	write_scrapes(w, 1, 2, 0);
	uint64_t good = fsize(segp(wal, 0));
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = good + 100; /* room for part of the next batch only */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	tsdb_wal_sample s[50];
	for (int i = 0; i < 50; i++)
		s[i] = (tsdb_wal_sample){ 1, 999999, i };
	tsdb_wal_log_samples(w, s, 50);
	int rc = tsdb_wal_commit(w);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, -1);
	char msg[256];
	tsdb_wal_last_error(w, msg, sizeof(msg));
	assert_non_null(strstr(msg, "write"));
	/* truncated back to the record boundary */
	assert_int_equal(fsize(segp(wal, 0)), good);
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(ws.write_failures, 1);
	/* the log goes on */
	write_scrapes(w, 10, 1, 5);
	assert_int_equal(tsdb_wal_close(w), 0);
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(st.corruptions, 0);
	assert_false(st.torn_tail);
	assert_int_equal(c.nx, 150);
	coll_free(&c);
	rm_rf(base);
	free(base);
}

/* Group commit: a thread whose records went out in another thread's
 * failed commit learns of the failure at its own commit. */
typedef struct gc_arg {
	tsdb_wal *w;
	pthread_barrier_t *b;
	int rc;
} gc_arg;

static void *gc_run(void *p)
{
	gc_arg *a = p;
	tsdb_wal_sample s[3] = { { 1, 500, 1 }, { 1, 501, 2 }, { 1, 502, 3 } };
	tsdb_wal_log_samples(a->w, s, 3);
	pthread_barrier_wait(a->b); /* logged */
	pthread_barrier_wait(a->b); /* main's commit done */
	a->rc = tsdb_wal_commit(a->w);
	return NULL;
}

/* T1 logs, main's commit writes T1's batch, main logs again and T1's
 * commit then writes (and fails) main's batch: T1 still succeeded, main
 * learns of its failure at its own commit. */
static void *gc_run2(void *p)
{
	gc_arg *a = p;
	tsdb_wal_sample s = { 1, 600, 1 };
	tsdb_wal_log_samples(a->w, &s, 1);
	pthread_barrier_wait(a->b); /* logged */
	pthread_barrier_wait(a->b); /* main committed T1's batch and logged its own */
	a->rc = tsdb_wal_commit(a->w);
	pthread_barrier_wait(a->b);
	return NULL;
}

static void test_group_commit_attribution(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal *w = open_wal(wal, 0, TSDB_WAL_FSYNC_NEVER, false);
	pthread_barrier_t b;
	pthread_barrier_init(&b, NULL, 2);
	gc_arg a = { .w = w, .b = &b, .rc = 99 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, gc_run2, &a), 0);
	pthread_barrier_wait(&b);
	assert_int_equal(tsdb_wal_commit(w), 0); /* writes T1's sample */
	uint64_t good = fsize(segp(wal, 0));
	tsdb_wal_sample s[40];
	for (int i = 0; i < 40; i++)
		s[i] = (tsdb_wal_sample){ 2, 700 + i, i };
	tsdb_wal_log_samples(w, s, 40);
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = good + 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	pthread_barrier_wait(&b);
	pthread_barrier_wait(&b); /* T1's commit tried main's batch */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&b);
	assert_int_equal(a.rc, 0);
	assert_int_equal(tsdb_wal_commit(w), -1);
	assert_int_equal(tsdb_wal_commit(w), 0); /* reported once */
	assert_int_equal(fsize(segp(wal, 0)), good);
	assert_int_equal(tsdb_wal_close(w), 0);
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(c.nx, 1);
	assert_int_equal(c.x[0].t_ms, 600);
	coll_free(&c);
	rm_rf(base);
	free(base);
}

static void test_group_commit_failure(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal *w = open_wal(wal, 0, TSDB_WAL_FSYNC_NEVER, false);
	write_scrapes(w, 1, 1, 0);
	uint64_t good = fsize(segp(wal, 0));
	for (int fail = 0; fail < 2; fail++) {
		pthread_barrier_t b;
		pthread_barrier_init(&b, NULL, 2);
		gc_arg a = { .w = w, .b = &b, .rc = 99 };
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, gc_run, &a), 0);
		pthread_barrier_wait(&b);
		struct rlimit old, lim;
		assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
		signal(SIGXFSZ, SIG_IGN);
		lim = old;
		lim.rlim_cur = good + 20;
		if (fail)
			assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
		int rc = tsdb_wal_commit(w); /* writes the other thread's samples */
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
		signal(SIGXFSZ, SIG_DFL);
		pthread_barrier_wait(&b);
		pthread_join(th, NULL);
		pthread_barrier_destroy(&b);
		assert_int_equal(rc, fail ? -1 : 0);
		assert_int_equal(a.rc, fail ? -1 : 0);
		good = fsize(segp(wal, 0));
	}
	assert_int_equal(tsdb_wal_close(w), 0);
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(c.nx, 50 + 3);
	assert_int_equal(st.corruptions, 0);
	coll_free(&c);
	rm_rf(base);
	free(base);
}

/* kill -9 in the middle of a stream of commits: every commit that
 * returned before the kill is replayed, and what is replayed is an exact
 * prefix of what was written. */
static void test_kill9(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	const char *wal = walp(base);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		tsdb_wal *w = open_wal(wal, 64 * 1024, TSDB_WAL_FSYNC_NEVER, true);
		for (uint32_t i = 0;; i++) {
			if (i % 50 == 0)
				log_series1(w, i / 50 + 1, "k", "x");
			tsdb_wal_sample s[20];
			for (int k = 0; k < 20; k++)
				s[k] = (tsdb_wal_sample){ i / 50 + 1, (int64_t)i, (double)k };
			tsdb_wal_log_samples(w, s, 20);
			if (tsdb_wal_commit(w) != 0)
				_exit(3);
			if (write(pfd[1], &i, sizeof(i)) != sizeof(i))
				_exit(4);
		}
	}
	close(pfd[1]);
	uint32_t acked = 0, v;
	while (read(pfd[0], &v, sizeof(v)) == sizeof(v)) {
		acked = v + 1;
		if (acked >= 3000)
			break;
	}
	kill(pid, SIGKILL);
	while (read(pfd[0], &v, sizeof(v)) == sizeof(v))
		acked = v + 1;
	close(pfd[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	coll c = { 0 };
	tsdb_wal_replay_stats st;
	assert_int_equal(replay_into(wal, &c, &st), 0);
	assert_int_equal(st.corruptions, 0);
	assert_true(c.nx % 20 == 0);
	size_t commits = c.nx / 20;
	assert_true(commits >= acked);
	assert_true(commits <= acked + 1); /* one may have landed unacknowledged */
	for (size_t i = 0; i < c.nx; i++) {
		assert_int_equal(c.x[i].t_ms, (int64_t)(i / 20));
		assert_int_equal(c.x[i].ref, (uint32_t)(i / 20 / 50 + 1));
	}
	assert_int_equal(c.ns, (commits + 49) / 50);
	coll_free(&c);
	rm_rf(base);
	free(base);
}

/* ---- bytes per sample on a scrape-like load ---- */

static double bytes_per_sample(bool compress, double *per_series)
{
	char *base = tmpdir_new();
	const char *wal = walp(base);
	tsdb_wal *w = open_wal(wal, 0, TSDB_WAL_FSYNC_NEVER, compress);
	enum { SERIES = 1000, SCRAPES = 60 };
	for (uint32_t r = 1; r <= SERIES; r++) {
		char inst[32];
		snprintf(inst, sizeof(inst), "cpu%u", r % 16);
		tp_label lv[4] = { { "__name__", r % 3 ? "node_cpu_seconds_total" : "node_memory_bytes" },
				   { "cpu", inst }, { "instance", "edge-gw-01:9100" }, { "job", "node" } };
		tsdb_wal_log_series(w, r, &(tp_labels){ lv, 4 });
	}
	assert_int_equal(tsdb_wal_commit(w), 0);
	tsdb_wal_stats s0;
	tsdb_wal_get_stats(w, &s0);
	static tsdb_wal_sample s[SERIES];
	uint64_t seed = 42;
	for (int k = 0; k < SCRAPES; k++) {
		int64_t t = 1700000000000LL + k * 15000 + (k % 3); /* scrape jitter */
		for (uint32_t r = 1; r <= SERIES; r++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			double v;
			if (r % 3 == 0)
				v = (double)(4096 * (seed >> 44)); /* gauge: memory bytes */
			else if (r % 5 == 0)
				v = 0; /* idle counter */
			else
				v = k * 15.0 * 0.37 + r; /* busy counter, fractional */
			s[r - 1] = (tsdb_wal_sample){ r, t, v };
		}
		tsdb_wal_log_samples(w, s, SERIES);
		assert_int_equal(tsdb_wal_commit(w), 0);
	}
	tsdb_wal_stats ws;
	tsdb_wal_get_stats(w, &ws);
	assert_int_equal(tsdb_wal_close(w), 0);
	rm_rf(base);
	free(base);
	*per_series = (double)s0.bytes_written / SERIES;
	return (double)(ws.bytes_written - s0.bytes_written) / (double)ws.samples_written;
}

static void test_bytes_per_sample(void **state)
{
	(void)state;
	double ser_c, ser_raw;
	double c = bytes_per_sample(true, &ser_c), raw = bytes_per_sample(false, &ser_raw);
	printf("# WAL bytes/sample on a 1000-series scrape: %.2f with snappy, %.2f without; "
	       "series records %.1f / %.1f bytes per series\n", c, raw, ser_c, ser_raw);
	/* 1 (ref delta) + 1 (t delta) + 8 (value) + framing, before snappy */
	assert_true(raw >= 10.0 && raw < 10.1);
	assert_true(c < raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_missing_dir_is_empty),
		cmocka_unit_test(test_many_segments),
		cmocka_unit_test(test_torn_tail_every_offset),
		cmocka_unit_test(test_bitflip_middle),
		cmocka_unit_test(test_random_damage),
		cmocka_unit_test(test_missing_segment),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_fsync_modes),
		cmocka_unit_test(test_concurrent_writers),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_group_commit_failure),
		cmocka_unit_test(test_group_commit_attribution),
		cmocka_unit_test(test_kill9),
		cmocka_unit_test(test_bytes_per_sample),
	};
	return cmocka_run_group_tests_name("wal", tests, NULL, NULL);
}
