/* SPDX-License-Identifier: Apache-2.0
 * test_chunkfile.c - the memory-mapped chunk files (tsdb/chunkfile.c):
 * records read back bit-exact through the mapping, before and after a
 * reopen, across many files; open repairs a torn tail, a CRC mismatch, a
 * bad header and a missing file, says where, and serves the rest; a
 * crash's reserved zero tail is no damage; retention removes whole files,
 * oldest first, never the one being written; sync reports its position. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/chunkfile.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static char *tmpdir_new(void)
{
	char *t = strdup("/tmp/tp_test_chunkfile.XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static void tmpdir_free(char *t)
{
	nftw(t, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
}

/* Deterministic chunk bytes for chunk k: a 2-byte header with the sample
 * count (k % 100 + 1), then len - 2 pseudo-random bytes. */
static uint32_t chunk_len(int k)
{
	return 20 + (uint32_t)(k * 37 % 300);
}

static void chunk_bytes(int k, uint8_t *b)
{
	uint32_t len = chunk_len(k), x = 2166136261u ^ (uint32_t)k;
	uint16_t n = (uint16_t)(k % 100 + 1);
	b[0] = (uint8_t)(n >> 8);
	b[1] = (uint8_t)n;
	for (uint32_t i = 2; i < len; i++) {
		x = x * 16777619u + i;
		b[i] = (uint8_t)(x >> 13);
	}
}

/* Chunk k belongs to series ref k % 7 + 1 and covers [k*1000, k*1000+999]. */
static uint32_t chunk_ref(int k) { return (uint32_t)(k % 7 + 1); }

static tsdb_chunkfiles *open_cf(const char *dir, uint64_t file_bytes)
{
	char err[256];
	tsdb_chunkfiles_opts o = { .file_bytes = file_bytes };
	tsdb_chunkfiles *cf = tsdb_chunkfiles_open(dir, &o, err, sizeof(err));
	if (!cf)
		fprintf(stderr, "# open: %s\n", err);
	assert_non_null(cf);
	return cf;
}

static void write_chunks(tsdb_chunkfiles *cf, int from, int to, tsdb_chunk_meta *out)
{
	uint8_t b[400];
	for (int k = from; k < to; k++) {
		chunk_bytes(k, b);
		assert_int_equal(tsdb_chunkfiles_write(cf, chunk_ref(k), k * 1000LL, k * 1000LL + 999, b, chunk_len(k),
						       (uint16_t)(k % 100 + 1), &out[k]),
				 0);
	}
}

static void check_chunk(const tsdb_chunkfiles *cf, const tsdb_chunk_meta *m, int k)
{
	uint8_t b[400];
	chunk_bytes(k, b);
	assert_true(m->on_disk);
	assert_int_equal(m->mint, k * 1000LL);
	assert_int_equal(m->maxt, k * 1000LL + 999);
	assert_int_equal(m->len, chunk_len(k));
	assert_int_equal(m->nsamples, k % 100 + 1);
	const uint8_t *d = tsdb_chunkfiles_data(cf, m->at.disk.file, m->at.disk.off);
	assert_non_null(d);
	assert_memory_equal(d, b, m->len);
}

/* Takes every ref's chunks and checks they are exactly chunks k with
 * present(k), in order. Returns the number of chunks found. */
static int check_loaded(tsdb_chunkfiles *cf, bool (*present)(int k, void *ud), void *ud, int total)
{
	int found = 0;
	for (uint32_t ref = 1; ref <= 7; ref++) {
		uint32_t n;
		tsdb_chunk_meta *a = tsdb_chunkfiles_take(cf, ref, &n);
		uint32_t i = 0;
		for (int k = 0; k < total; k++) {
			if (chunk_ref(k) != ref || !present(k, ud))
				continue;
			assert_true(i < n);
			check_chunk(cf, &a[i++], k);
		}
		assert_int_equal(i, n);
		found += (int)n;
		free(a);
	}
	assert_int_equal(tsdb_chunkfiles_take_done(cf), 0);
	return found;
}

static bool all(int k, void *ud)
{
	(void)k;
	(void)ud;
	return true;
}

static void chunk_path(char *buf, size_t n, const char *dir, uint32_t seq)
{
	snprintf(buf, n, "%s/%06u", dir, seq);
}

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void test_roundtrip(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_chunk_meta m[700];
	tsdb_chunkfiles *cf = open_cf(dir, 16 * 1024);
	write_chunks(cf, 0, 600, m);
	for (int k = 0; k < 600; k++)
		check_chunk(cf, &m[k], k);
	tsdb_chunkfiles_stats st;
	tsdb_chunkfiles_get_stats(cf, &st);
	assert_true(st.files >= 6); /* ~100 KB in 16 KiB files */
	assert_int_equal(st.chunks_written, 600);
	assert_int_equal(st.write_failures, 0);
	/* file numbers grow with time; positions within a file too */
	for (int k = 1; k < 600; k++) {
		tsdb_chunk_pos a = { m[k - 1].at.disk.file, m[k - 1].at.disk.off };
		tsdb_chunk_pos b = { m[k].at.disk.file, m[k].at.disk.off };
		assert_true(tsdb_chunk_pos_before(a, b));
	}
	tsdb_chunk_pos p;
	assert_int_equal(tsdb_chunkfiles_sync(cf, &p), 0);
	assert_int_equal(p.file, m[599].at.disk.file);
	assert_int_equal(p.off, m[599].at.disk.off + m[599].len + 4);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);

	cf = open_cf(dir, 16 * 1024);
	tsdb_chunkfiles_get_stats(cf, &st);
	assert_string_equal(st.problems, "");
	assert_int_equal(st.chunks_loaded, 600);
	assert_int_equal(st.corruptions + st.torn_tails + st.missing_files, 0);
	assert_int_equal(tsdb_chunkfiles_max_ref(cf), 7);
	assert_int_equal(check_loaded(cf, all, NULL, 600), 600);
	/* writing goes on after the last record; a second reopen sees both */
	write_chunks(cf, 600, 700, m);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	cf = open_cf(dir, 16 * 1024);
	assert_int_equal(check_loaded(cf, all, NULL, 700), 700);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	tmpdir_free(dir);
}

/* A crash leaves the current file with its reserved zero tail: no damage. */
static void test_zero_tail(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	char copy[4200], cmd[9000];
	snprintf(copy, sizeof(copy), "%s.copy", dir);
	tsdb_chunk_meta m[50];
	tsdb_chunkfiles *cf = open_cf(dir, 0);
	write_chunks(cf, 0, 50, m);
	char path[4200];
	chunk_path(path, sizeof(path), dir, 1);
	assert_true(file_size(path) >= 1024 * 1024); /* the reservation */
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", dir, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	assert_true(file_size(path) < 20000); /* close trims it */

	cf = open_cf(copy, 0);
	tsdb_chunkfiles_stats st;
	tsdb_chunkfiles_get_stats(cf, &st);
	assert_string_equal(st.problems, "");
	assert_int_equal(st.chunks_loaded, 50);
	assert_int_equal(check_loaded(cf, all, NULL, 50), 50);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	tmpdir_free(strdup(copy));
	tmpdir_free(dir);
}

typedef struct cut {
	int from;  /* chunks >= from are gone */
	int to;    /* ... and < to */
} cut;

static bool outside(int k, void *ud)
{
	const cut *c = ud;
	return k < c->from || k >= c->to;
}

/* The last record cut in half: a torn tail, truncated at its offset;
 * everything before it is served and writing continues cleanly. */
static void test_torn_tail(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_chunk_meta m[80];
	tsdb_chunkfiles *cf = open_cf(dir, 0);
	write_chunks(cf, 0, 80, m);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	char path[4200];
	chunk_path(path, sizeof(path), dir, 1);
	/* the last record starts right after the previous one's CRC */
	uint32_t rec = m[78].at.disk.off + m[78].len + 4;
	assert_int_equal(truncate(path, rec + 10), 0);

	cf = open_cf(dir, 0);
	tsdb_chunkfiles_stats st;
	tsdb_chunkfiles_get_stats(cf, &st);
	char want[4400];
	/* (the bytes dropped are counted up to the last non-zero byte) */
	snprintf(want, sizeof(want), "%s: torn tail (partial record) at offset %u; truncated ", path, rec);
	assert_memory_equal(st.problems, want, strlen(want));
	assert_true(st.truncated_bytes >= 1 && st.truncated_bytes <= 10);
	assert_int_equal(st.torn_tails, 1);
	assert_int_equal(st.corruptions, 0);
	assert_int_equal(file_size(path), rec);
	cut c = { 79, 80 };
	assert_int_equal(check_loaded(cf, outside, &c, 80), 79);
	uint32_t old_off = m[79].at.disk.off;
	write_chunks(cf, 79, 80, m); /* rewritten where it was cut */
	assert_int_equal(m[79].at.disk.off, old_off);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	cf = open_cf(dir, 0);
	tsdb_chunkfiles_get_stats(cf, &st);
	assert_string_equal(st.problems, "");
	assert_int_equal(check_loaded(cf, all, NULL, 80), 80);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	tmpdir_free(dir);
}

/* A flipped bit in a record of a middle file: that file is truncated at
 * the record (its later chunks are lost), the other files are served. */
static void test_crc_mismatch(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_chunk_meta m[600];
	tsdb_chunkfiles *cf = open_cf(dir, 16 * 1024);
	write_chunks(cf, 0, 600, m);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	/* the tenth chunk of file 3 */
	int k0 = 0;
	while (m[k0].at.disk.file != 3)
		k0++;
	int k = k0 + 10, kend = k;
	while (kend < 600 && m[kend].at.disk.file == 3)
		kend++;
	char path[4200];
	chunk_path(path, sizeof(path), dir, 3);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t byte;
	off_t at = (off_t)m[k].at.disk.off + 5;
	assert_int_equal(pread(fd, &byte, 1, at), 1);
	byte ^= 0x04;
	assert_int_equal(pwrite(fd, &byte, 1, at), 1);
	close(fd);
	uint32_t rec = m[k - 1].at.disk.off + m[k - 1].len + 4;

	cf = open_cf(dir, 16 * 1024);
	tsdb_chunkfiles_stats st;
	tsdb_chunkfiles_get_stats(cf, &st);
	char want[4400];
	snprintf(want, sizeof(want), "%s: CRC mismatch at offset %u; truncated there", path, rec);
	assert_non_null(strstr(st.problems, want));
	assert_int_equal(st.corruptions, 1);
	assert_int_equal(st.torn_tails, 0);
	assert_int_equal(file_size(path), rec);
	cut c = { k, kend };
	assert_int_equal(check_loaded(cf, outside, &c, 600), 600 - (kend - k));
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	tmpdir_free(dir);
}

/* A file deleted from the middle: reported by name, the rest served;
 * a file whose header was overwritten: its chunks are dropped. */
static void test_missing_and_bad_header(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_chunk_meta m[600];
	tsdb_chunkfiles *cf = open_cf(dir, 16 * 1024);
	write_chunks(cf, 0, 600, m);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	cut gone2 = { -1, -1 }, gone5 = { -1, -1 };
	for (int k = 0; k < 600; k++) {
		if (m[k].at.disk.file == 2) {
			gone2.from = gone2.from < 0 ? k : gone2.from;
			gone2.to = k + 1;
		}
		if (m[k].at.disk.file == 5) {
			gone5.from = gone5.from < 0 ? k : gone5.from;
			gone5.to = k + 1;
		}
	}
	char path[4200];
	chunk_path(path, sizeof(path), dir, 2);
	assert_int_equal(unlink(path), 0);
	chunk_path(path, sizeof(path), dir, 5);
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	fputs("JUNK", f);
	fclose(f);

	cf = open_cf(dir, 16 * 1024);
	tsdb_chunkfiles_stats st;
	tsdb_chunkfiles_get_stats(cf, &st);
	char want[4400];
	snprintf(want, sizeof(want), "%s/000002: chunk file missing; its chunks are lost", dir);
	assert_non_null(strstr(st.problems, want));
	snprintf(want, sizeof(want), "%s/000005: bad file header at offset 0; truncated there", dir);
	assert_non_null(strstr(st.problems, want));
	assert_int_equal(st.missing_files, 1);
	assert_int_equal(st.corruptions, 2);
	int lost = (gone2.to - gone2.from) + (gone5.to - gone5.from);
	int found = 0;
	for (uint32_t ref = 1; ref <= 7; ref++) {
		uint32_t n;
		tsdb_chunk_meta *a = tsdb_chunkfiles_take(cf, ref, &n);
		for (uint32_t i = 0; i < n; i++) {
			int k = (int)(a[i].mint / 1000);
			assert_true(outside(k, &gone2) && outside(k, &gone5));
			check_chunk(cf, &a[i], k);
		}
		found += (int)n;
		free(a);
	}
	assert_int_equal(found, 600 - lost);
	/* the damaged file is empty now and stays numbered; an empty file
	 * took the missing one's place, so the next open finds nothing */
	assert_int_equal(file_size(path), 8);
	chunk_path(path, sizeof(path), dir, 2);
	assert_int_equal(file_size(path), 8);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	cf = open_cf(dir, 16 * 1024);
	tsdb_chunkfiles_get_stats(cf, &st);
	assert_string_equal(st.problems, "");
	assert_int_equal(st.chunks_loaded, (uint64_t)(600 - lost));
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	tmpdir_free(dir);
}

/* Retention: whole files, oldest first, never the current one; their
 * mappings are gone. */
static void test_remove(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	tsdb_chunk_meta m[600];
	tsdb_chunkfiles *cf = open_cf(dir, 16 * 1024);
	write_chunks(cf, 0, 600, m);
	tsdb_chunkfiles_stats st;
	tsdb_chunkfiles_get_stats(cf, &st);
	uint64_t files = st.files;
	/* by time: files whose newest chunk is older than chunk 100 */
	uint32_t upto = tsdb_chunkfiles_remove_before(cf, 100 * 1000);
	assert_true(upto >= 1);
	assert_int_equal(upto, m[99].at.disk.file - (m[100].at.disk.file == m[99].at.disk.file ? 1 : 0));
	for (int k = 0; k < 600; k++) {
		const uint8_t *d = tsdb_chunkfiles_data(cf, m[k].at.disk.file, m[k].at.disk.off);
		if (m[k].at.disk.file <= upto)
			assert_null(d);
		else
			check_chunk(cf, &m[k], k);
	}
	tsdb_chunkfiles_get_stats(cf, &st);
	assert_int_equal(st.files, files - upto);
	/* by size: enough files for 40000 bytes, oldest first */
	uint64_t freed;
	uint32_t pick = tsdb_chunkfiles_pick_oldest(cf, 40000, &freed);
	assert_true(pick > upto);
	assert_true(freed >= 40000);
	assert_int_equal(tsdb_chunkfiles_remove_upto(cf, pick), pick - upto);
	/* never the file being written, whatever is asked */
	uint32_t cur = m[599].at.disk.file;
	tsdb_chunkfiles_remove_upto(cf, UINT32_MAX);
	assert_int_equal(tsdb_chunkfiles_remove_before(cf, INT64_MAX), 0);
	tsdb_chunkfiles_get_stats(cf, &st);
	assert_int_equal(st.files, 1);
	check_chunk(cf, &m[599], 599);
	assert_int_equal(tsdb_chunkfiles_pick_oldest(cf, 1, &freed), 0);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	/* numbering stays contiguous from the first file left */
	cf = open_cf(dir, 16 * 1024);
	tsdb_chunkfiles_get_stats(cf, &st);
	assert_string_equal(st.problems, "");
	assert_int_equal(st.files, 1);
	uint32_t n;
	tsdb_chunk_meta *a = tsdb_chunkfiles_take(cf, chunk_ref(599), &n);
	assert_true(n >= 1);
	assert_int_equal(a[n - 1].at.disk.file, cur);
	check_chunk(cf, &a[n - 1], 599);
	free(a);
	write_chunks(cf, 0, 1, m);
	assert_int_equal(m[0].at.disk.file, cur);
	assert_int_equal(tsdb_chunkfiles_close(cf), 0);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_zero_tail),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_crc_mismatch),
		cmocka_unit_test(test_missing_and_bad_header),
		cmocka_unit_test(test_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
