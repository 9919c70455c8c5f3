/* SPDX-License-Identifier: Apache-2.0
 * wal_replay.c - reads a WAL directory back (checkpoint, then segments)
 * and repairs damage so the next open appends to a clean log.
 *
 * Invariants: records reach the callbacks in log order and only from the
 * longest undamaged prefix of the segment sequence (Prometheus's
 * wal.Repair rule: the damaged segment is truncated at its last good
 * record and all later segments are deleted). Damage inside a checkpoint
 * truncates the checkpoint only, since the segments after it were written
 * independently of its contents. */
#include "config.h"
#include "tsdb/wal.h"
#include "tsdb/wal_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct replay {
	const tsdb_wal_replay_cb *cb;
	tsdb_wal_replay_stats *st;
	wal_dec d;
} replay;

static int series_cb(void *ud, uint32_t ref, const tp_labels *l)
{
	replay *r = ud;
	r->st->series++;
	return r->cb->series ? r->cb->series(r->cb->ud, ref, l) : 0;
}

enum { SEG_OK = 0, SEG_DAMAGED = 1, SEG_IO = -1 };

/* Replays one segment file. On damage truncates it at the last good
 * record, fills *why and *bad_off and returns SEG_DAMAGED; *torn tells
 * whether it looks like a crash mid-write. A callback's non-zero value is
 * stored in *stop. */
static int replay_file(replay *rp, const char *path, int *stop, bool *torn, uint64_t *bad_off,
		       uint64_t *dropped, char *why, size_t whylen)
{
	wal_reader r;
	*stop = 0;
	if (wal_reader_open(&r, path) != 0)
		return SEG_IO;
	rp->st->segments++;
	int rc, type;
	const uint8_t *p;
	size_t n, m;
	while ((rc = wal_reader_next(&r, &type, &p, &n)) == WAL_RD_OK) {
		if (type == WAL_REC_SERIES) {
			if (wal_dec_series(&rp->d, p, n, series_cb, rp, stop) != 0) {
				snprintf(r.why, sizeof(r.why), "malformed series record");
				rc = WAL_RD_BAD;
				break;
			}
		} else {
			if (wal_dec_samples(&rp->d, p, n, &m) != 0) {
				snprintf(r.why, sizeof(r.why), "malformed samples record");
				rc = WAL_RD_BAD;
				break;
			}
			rp->st->samples += m;
			if (m && rp->cb->samples)
				*stop = rp->cb->samples(rp->cb->ud, rp->d.sv, m);
		}
		rp->st->records++;
		rp->st->bytes += r.off - r.rec_off;
		if (*stop) {
			wal_reader_close(&r);
			return SEG_OK;
		}
	}
	if (rc == WAL_RD_EOF) {
		wal_reader_close(&r);
		return SEG_OK;
	}
	if (rc == WAL_RD_IO) {
		int e = errno;
		wal_reader_close(&r);
		errno = e;
		return SEG_IO;
	}
	*torn = rc == WAL_RD_TORN || wal_reader_rest_zero(&r, r.rec_off);
	*bad_off = r.rec_off;
	*dropped = r.size - r.rec_off;
	snprintf(why, whylen, "%s", r.why);
	wal_reader_close(&r);
	if (truncate(path, (off_t)*bad_off) != 0)
		return SEG_IO;
	return SEG_DAMAGED;
}

/* vsnprintf: these messages are truncated on purpose when paths are long */
TP_PRINTF(2, 3) static void describe(tsdb_wal_replay_stats *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->corruption, sizeof(st->corruption), fmt, ap);
	va_end(ap);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Removes checkpoint.*.tmp leftovers and checkpoints older than keep. */
static void clean_checkpoints(const char *dir, long keep)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[4096];
	size_t pl = strlen(WAL_CKPT_PREFIX);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, WAL_CKPT_PREFIX, pl) != 0)
			continue;
		const char *num = e->d_name + pl;
		bool tmp = strlen(num) > WAL_SEG_NAME_LEN;
		if (!tmp && (long)strtoul(num, NULL, 10) >= keep)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		wal_rmdir_flat(path);
	}
	closedir(d);
}

int tsdb_wal_replay(const char *dir, const tsdb_wal_replay_cb *cb, tsdb_wal_replay_stats *st, char *err,
		    size_t errlen)
{
	memset(st, 0, sizeof(*st));
	st->checkpoint = -1;
	err[0] = '\0';
	replay rp = { .cb = cb, .st = st };
	uint32_t *segs = NULL;
	int rc = 0, stop = 0;
	char path[4096], why[128];
	bool torn;
	uint64_t off, dropped;
	struct stat dst;
	if (stat(dir, &dst) != 0 && errno == ENOENT)
		return 0;

	long ck = wal_last_checkpoint(dir);
	clean_checkpoints(dir, ck);
	if (ck >= 0) {
		st->checkpoint = (int32_t)ck;
		char cdir[4096];
		wal_ckpt_path(cdir, sizeof(cdir), dir, (uint32_t)ck, false);
		long cn = wal_list_segments(cdir, &segs);
		if (cn < 0) {
			snprintf(err, errlen, "read checkpoint %s: %s", cdir, strerror(errno));
			rc = -1;
			goto out;
		}
		for (long i = 0; i < cn; i++) {
			wal_seg_path(path, sizeof(path), cdir, segs[i]);
			int k = replay_file(&rp, path, &stop, &torn, &off, &dropped, why, sizeof(why));
			if (k == SEG_IO) {
				snprintf(err, errlen, "replay %s: %s", path, strerror(errno));
				rc = -1;
				goto out;
			}
			if (stop) {
				rc = stop;
				goto out;
			}
			if (k == SEG_DAMAGED) {
				/* a checkpoint is written whole and renamed: any damage is real */
				st->corruptions = 1;
				st->truncated_bytes += dropped;
				for (long j = i + 1; j < cn; j++) {
					char p2[4096];
					wal_seg_path(p2, sizeof(p2), cdir, segs[j]);
					st->truncated_bytes += file_size(p2);
					unlink(p2);
				}
				describe(st,
					 "%s: %s at offset %llu; checkpoint truncated there", path, why,
					 (unsigned long long)off);
				break;
			}
		}
		free(segs);
		segs = NULL;
	}

	long ns = wal_list_segments(dir, &segs);
	if (ns < 0) {
		snprintf(err, errlen, "read WAL directory %s: %s", dir, strerror(errno));
		rc = -1;
		goto out;
	}
	long i0 = 0;
	/* segments the checkpoint covers are left from a crash after it was
	 * renamed; they are redundant */
	for (; i0 < ns && (long)segs[i0] <= ck; i0++) {
		wal_seg_path(path, sizeof(path), dir, segs[i0]);
		unlink(path);
	}
	for (long i = i0; i < ns; i++) {
		wal_seg_path(path, sizeof(path), dir, segs[i]);
		long expect = i > i0 ? (long)segs[i - 1] + 1 : (ck >= 0 ? ck + 1 : (long)segs[i]);
		if ((long)segs[i] != expect) {
			describe(st,
				 "%s/%08ld: segment missing; dropped segment %08u and later", dir, expect, segs[i]);
			st->corruptions = 1;
			for (long j = i; j < ns; j++) {
				wal_seg_path(path, sizeof(path), dir, segs[j]);
				st->truncated_bytes += file_size(path);
				unlink(path);
			}
			break;
		}
		int k = replay_file(&rp, path, &stop, &torn, &off, &dropped, why, sizeof(why));
		if (k == SEG_IO) {
			snprintf(err, errlen, "replay %s: %s", path, strerror(errno));
			rc = -1;
			goto out;
		}
		if (stop) {
			rc = stop;
			goto out;
		}
		if (k == SEG_DAMAGED) {
			bool last = i == ns - 1;
			st->truncated_bytes += dropped;
			for (long j = i + 1; j < ns; j++) {
				char p2[4096];
				wal_seg_path(p2, sizeof(p2), dir, segs[j]);
				st->truncated_bytes += file_size(p2);
				unlink(p2);
			}
			if (last && torn) {
				st->torn_tail = true;
				describe(st,
					 "%s: torn tail (%s) at offset %llu; truncated %llu bytes", path, why,
					 (unsigned long long)off, (unsigned long long)dropped);
			} else {
				st->corruptions = 1;
				describe(st,
					 "%s: %s at offset %llu; truncated there%s", path, why,
					 (unsigned long long)off, last ? "" : " and deleted all later segments");
			}
			break;
		}
	}
out:
	free(segs);
	wal_dec_free(&rp.d);
	return rc;
}
