/* SPDX-License-Identifier: Apache-2.0
 * wal_read.c - the WAL record codec (varints, series and sample payloads,
 * framing with CRC-32C and snappy), the segment reader and directory
 * helpers. Layout: tsdb/WAL.md (ORDER WAL_FORMAT).
 * Invariants: decoders never read past the payload they are given and
 * never trust a length before checking it against what is left; the
 * reader never allocates more than WAL_REC_MAX_BYTES for one record. */
#include "config.h"
#include "tsdb/wal_int.h"

#include "lib/crc32c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- varints ---- */

void wal_put_uvarint(tp_strbuf *b, uint64_t v)
{
	char tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (char)v;
	tp_sb_append(b, tmp, n);
}

void wal_put_varint(tp_strbuf *b, int64_t v)
{
	wal_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t wal_get_uvarint(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		if (i == 9 && p[i] > 1)
			return 0; /* overflows 64 bits */
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

size_t wal_get_varint(const uint8_t *p, size_t n, int64_t *v)
{
	uint64_t u;
	size_t k = wal_get_uvarint(p, n, &u);
	if (k)
		*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return k;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- encoding ---- */

void wal_enc_series(tp_strbuf *payload, uint32_t ref, const tp_labels *l)
{
	wal_put_uvarint(payload, ref);
	wal_put_uvarint(payload, l->n);
	for (uint32_t i = 0; i < l->n; i++) {
		size_t nn = strlen(l->v[i].name), nv = strlen(l->v[i].value);
		wal_put_uvarint(payload, nn);
		tp_sb_append(payload, l->v[i].name, nn);
		wal_put_uvarint(payload, nv);
		tp_sb_append(payload, l->v[i].value, nv);
	}
}

void wal_frame(tp_strbuf *out, int type, const void *p, size_t n, bool compress)
{
	uint8_t hdr[WAL_HDR_BYTES] = { 0 };
	size_t at = out->len;
	/* reserve the header, then the payload goes right after it */
	tp_sb_append(out, (const char *)hdr, sizeof(hdr));
	size_t stored = n;
	hdr[0] = (uint8_t)type;
	if (compress && n >= 32) {
		size_t cap = snappy_max_compressed_length(n), clen = cap;
		size_t need = out->len + cap + 1;
		if (need > out->cap) {
			/* compress straight into the buffer (tp_strbuf's fields are public) */
			size_t ncap = out->cap ? out->cap : 256;
			while (ncap < need)
				ncap *= 2;
			out->buf = tp_xrealloc(out->buf, ncap);
			out->cap = ncap;
		}
		if (snappy_compress(p, n, out->buf + out->len, &clen) == SNAPPY_OK && clen < n) {
			hdr[0] |= WAL_FLAG_SNAPPY;
			stored = clen;
			out->len += clen;
			out->buf[out->len] = '\0';
		} else {
			tp_sb_append(out, p, n);
		}
	} else {
		tp_sb_append(out, p, n);
	}
	put_le32(hdr + 1, (uint32_t)stored);
	uint32_t crc = tp_crc32c_update(tp_crc32c(hdr, 5), out->buf + at + WAL_HDR_BYTES, stored);
	put_le32(hdr + 5, crc);
	memcpy(out->buf + at, hdr, sizeof(hdr));
}

static size_t put_uvarint_raw(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t wal_enc_samples(tp_strbuf *out, tp_strbuf *tmp, const tsdb_wal_sample *s, size_t n, bool compress)
{
	/* a sample takes at most 10 + 10 + 8 bytes: reserve a record's worth
	 * and write the bytes directly (this is the hot path of every commit) */
	enum { MAX_SAMPLE_BYTES = 28 };
	size_t recs = 0, i = 0;
	while (i < n) {
		size_t need = WAL_REC_SPLIT_BYTES + MAX_SAMPLE_BYTES + 1;
		if (tmp->cap < need) {
			tmp->buf = tp_xrealloc(tmp->buf, need);
			tmp->cap = need;
		}
		uint8_t *p = (uint8_t *)tmp->buf;
		size_t len = 0;
		uint32_t pref = 0;
		int64_t pt = 0;
		for (; i < n && len < WAL_REC_SPLIT_BYTES; i++) {
			int64_t dr = (int64_t)s[i].ref - (int64_t)pref;
			/* wrapping difference: exact for any pair of int64 timestamps */
			int64_t dt = (int64_t)((uint64_t)s[i].t_ms - (uint64_t)pt);
			len += put_uvarint_raw(p + len, ((uint64_t)dr << 1) ^ (uint64_t)(dr >> 63));
			len += put_uvarint_raw(p + len, ((uint64_t)dt << 1) ^ (uint64_t)(dt >> 63));
			uint64_t bits;
			memcpy(&bits, &s[i].v, 8);
			for (int k = 0; k < 8; k++)
				p[len + k] = (uint8_t)(bits >> (8 * k));
			len += 8;
			pref = s[i].ref;
			pt = s[i].t_ms;
		}
		tmp->len = len;
		wal_frame(out, WAL_REC_SAMPLES, tmp->buf, len, compress);
		recs++;
	}
	tp_sb_reset(tmp);
	return recs;
}

/* ---- decoding ---- */

void wal_dec_free(wal_dec *d)
{
	free(d->lv);
	free(d->str);
	free(d->sv);
	memset(d, 0, sizeof(*d));
}

int wal_dec_series(wal_dec *d, const uint8_t *p, size_t n,
		   int (*fn)(void *ud, uint32_t ref, const tp_labels *l), void *ud, int *stop)
{
	size_t i = 0;
	*stop = 0;
	/* the strings of one entry never exceed the payload: size once */
	if (d->str_cap < n + 1)
		TP_GROW(d->str, d->str_cap, n + 1);
	while (i < n) {
		uint64_t ref, nl;
		size_t k;
		if (!(k = wal_get_uvarint(p + i, n - i, &ref)) || ref > UINT32_MAX)
			return -1;
		i += k;
		if (!(k = wal_get_uvarint(p + i, n - i, &nl)) || nl > (n - i))
			return -1;
		i += k;
		if (d->lv_cap < nl + 1)
			TP_GROW(d->lv, d->lv_cap, nl + 1);
		size_t so = 0;
		for (uint64_t j = 0; j < nl; j++) {
			for (int part = 0; part < 2; part++) {
				uint64_t len;
				if (!(k = wal_get_uvarint(p + i, n - i, &len)) || len > n - i - k)
					return -1;
				i += k;
				/* so + len + 1 <= bytes consumed so far + 1 <= n + 1 */
				memcpy(d->str + so, p + i, len);
				d->str[so + len] = '\0';
				if (part == 0)
					d->lv[j].name = (const char *)(uintptr_t)so;
				else
					d->lv[j].value = (const char *)(uintptr_t)so;
				so += len + 1;
				i += len;
			}
		}
		for (uint64_t j = 0; j < nl; j++) {
			d->lv[j].name = d->str + (uintptr_t)d->lv[j].name;
			d->lv[j].value = d->str + (uintptr_t)d->lv[j].value;
		}
		tp_labels l = { .v = d->lv, .n = (uint32_t)nl };
		int rc = fn(ud, (uint32_t)ref, &l);
		if (rc) {
			*stop = rc;
			return 0;
		}
	}
	return 0;
}

int wal_dec_samples(wal_dec *d, const uint8_t *p, size_t n, size_t *out_n)
{
	size_t i = 0, m = 0;
	int64_t ref = 0;
	int64_t t = 0;
	/* every sample takes at least 10 bytes */
	if (d->sv_cap < n / 10 + 1)
		TP_GROW(d->sv, d->sv_cap, n / 10 + 1);
	while (i < n) {
		int64_t dr, dt;
		size_t k;
		if (!(k = wal_get_varint(p + i, n - i, &dr)))
			return -1;
		i += k;
		if (!(k = wal_get_varint(p + i, n - i, &dt)))
			return -1;
		i += k;
		if (n - i < 8)
			return -1;
		ref += dr;
		if (ref < 0 || ref > UINT32_MAX)
			return -1;
		t = (int64_t)((uint64_t)t + (uint64_t)dt);
		uint64_t bits = 0;
		for (int b = 0; b < 8; b++)
			bits |= (uint64_t)p[i + b] << (8 * b);
		i += 8;
		tsdb_wal_sample *s = &d->sv[m++];
		s->ref = (uint32_t)ref;
		s->t_ms = t;
		memcpy(&s->v, &bits, 8);
	}
	*out_n = m;
	return 0;
}

/* ---- segment reader ---- */

int wal_reader_open(wal_reader *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return -1;
	struct stat st;
	if (fstat(r->fd, &st) != 0) {
		close(r->fd);
		r->fd = -1;
		return -1;
	}
	r->size = (uint64_t)st.st_size;
	return 0;
}

void wal_reader_close(wal_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->dec);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* Makes [off, off+n) available in r->buf; returns a pointer or NULL with
 * errno (EIO-like) on a read error. The caller checks bounds vs size. */
static const uint8_t *fill(wal_reader *r, uint64_t off, size_t n)
{
	if (off >= r->buf_off && off + n <= r->buf_off + r->buf_len)
		return r->buf + (off - r->buf_off);
	size_t want = n < (1u << 20) ? (1u << 20) : n;
	if (want > r->size - off)
		want = (size_t)(r->size - off);
	if (want > r->buf_cap) {
		free(r->buf);
		r->buf = tp_xmalloc(want);
		r->buf_cap = want;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r->buf_len = 0;
			return NULL;
		}
		if (k == 0)
			break; /* file shrank under us: treat as its end */
		got += (size_t)k;
	}
	r->buf_off = off;
	r->buf_len = got;
	if (got < n) {
		errno = 0;
		return NULL;
	}
	return r->buf;
}

int wal_reader_next(wal_reader *r, int *type, const uint8_t **p, size_t *n)
{
	r->rec_off = r->off;
	r->why[0] = '\0';
	if (r->off == r->size)
		return WAL_RD_EOF;
	if (r->size - r->off < WAL_HDR_BYTES) {
		snprintf(r->why, sizeof(r->why), "partial record header (%llu bytes)",
			 (unsigned long long)(r->size - r->off));
		return WAL_RD_TORN;
	}
	const uint8_t *h = fill(r, r->off, WAL_HDR_BYTES);
	if (!h)
		return errno ? WAL_RD_IO : WAL_RD_TORN;
	uint8_t hdr[WAL_HDR_BYTES];
	memcpy(hdr, h, sizeof(hdr));
	int t = hdr[0] & WAL_TYPE_MASK;
	uint32_t len = get_le32(hdr + 1);
	if ((hdr[0] & ~(WAL_TYPE_MASK | WAL_FLAG_SNAPPY)) || (t != WAL_REC_SERIES && t != WAL_REC_SAMPLES)) {
		snprintf(r->why, sizeof(r->why), "invalid record type byte 0x%02x", hdr[0]);
		return WAL_RD_BAD;
	}
	if (len > WAL_REC_MAX_BYTES) {
		snprintf(r->why, sizeof(r->why), "record length %u over the limit", len);
		return WAL_RD_BAD;
	}
	if (r->size - r->off - WAL_HDR_BYTES < len) {
		snprintf(r->why, sizeof(r->why), "partial record (%u payload bytes, %llu present)", len,
			 (unsigned long long)(r->size - r->off - WAL_HDR_BYTES));
		return WAL_RD_TORN;
	}
	const uint8_t *pl = fill(r, r->off, WAL_HDR_BYTES + (size_t)len);
	if (!pl)
		return errno ? WAL_RD_IO : WAL_RD_TORN;
	pl += WAL_HDR_BYTES;
	uint32_t crc = tp_crc32c_update(tp_crc32c(hdr, 5), pl, len);
	if (crc != get_le32(hdr + 5)) {
		snprintf(r->why, sizeof(r->why), "CRC mismatch (stored %08x, computed %08x)", get_le32(hdr + 5), crc);
		return WAL_RD_BAD;
	}
	if (hdr[0] & WAL_FLAG_SNAPPY) {
		size_t ulen;
		if (snappy_uncompressed_length((const char *)pl, len, &ulen) != SNAPPY_OK ||
		    ulen > WAL_REC_MAX_BYTES) {
			snprintf(r->why, sizeof(r->why), "bad snappy block");
			return WAL_RD_BAD;
		}
		if (ulen > r->dec_cap) {
			free(r->dec);
			r->dec = tp_xmalloc(ulen ? ulen : 1);
			r->dec_cap = ulen;
		}
		if (snappy_uncompress((const char *)pl, len, (char *)r->dec, &ulen) != SNAPPY_OK) {
			snprintf(r->why, sizeof(r->why), "bad snappy block");
			return WAL_RD_BAD;
		}
		*p = r->dec;
		*n = ulen;
	} else {
		*p = pl;
		*n = len;
	}
	*type = t;
	r->off += WAL_HDR_BYTES + (uint64_t)len;
	return WAL_RD_OK;
}

bool wal_reader_rest_zero(wal_reader *r, uint64_t off)
{
	while (off < r->size) {
		size_t n = r->size - off > 65536 ? 65536 : (size_t)(r->size - off);
		const uint8_t *p = fill(r, off, n);
		if (!p)
			return false;
		for (size_t i = 0; i < n; i++)
			if (p[i])
				return false;
		off += n;
	}
	return true;
}

/* ---- directory ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

long wal_list_segments(const char *dir, uint32_t **out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	size_t n = 0, cap = 0;
	uint32_t *v = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len != WAL_SEG_NAME_LEN || !all_digits(e->d_name, len))
			continue;
		TP_GROW(v, cap, n + 1);
		v[n++] = (uint32_t)strtoul(e->d_name, NULL, 10);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_u32);
	*out = v;
	return (long)n;
}

long wal_last_checkpoint(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	long best = -1;
	struct dirent *e;
	size_t pl = strlen(WAL_CKPT_PREFIX);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, WAL_CKPT_PREFIX, pl) != 0)
			continue;
		const char *num = e->d_name + pl;
		if (strlen(num) != WAL_SEG_NAME_LEN || !all_digits(num, WAL_SEG_NAME_LEN))
			continue; /* *.tmp and foreign names */
		long k = (long)strtoul(num, NULL, 10);
		if (k > best)
			best = k;
	}
	closedir(d);
	return best;
}

void wal_seg_path(char *buf, size_t len, const char *dir, uint32_t n)
{
	snprintf(buf, len, "%s/%08u", dir, n);
}

void wal_ckpt_path(char *buf, size_t len, const char *dir, uint32_t n, bool tmp)
{
	snprintf(buf, len, "%s/" WAL_CKPT_PREFIX "%08u%s", dir, n, tmp ? ".tmp" : "");
}

int wal_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int wal_rmdir_flat(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	char p[4096];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(path);
}

int wal_repair_tail(const char *path, uint64_t *dropped, bool *torn, char *why, size_t whylen)
{
	wal_reader r;
	*dropped = 0;
	*torn = false;
	why[0] = '\0';
	if (wal_reader_open(&r, path) != 0)
		return -1;
	int rc, type;
	const uint8_t *p;
	size_t n;
	while ((rc = wal_reader_next(&r, &type, &p, &n)) == WAL_RD_OK)
		;
	if (rc == WAL_RD_IO) {
		int e = errno;
		wal_reader_close(&r);
		errno = e;
		return -1;
	}
	if (rc != WAL_RD_EOF) {
		*dropped = r.size - r.rec_off;
		/* a crash leaves a partial record, zeros, or garbage in the last record */
		*torn = rc == WAL_RD_TORN || wal_reader_rest_zero(&r, r.rec_off);
		snprintf(why, whylen, "%s at offset %llu", r.why, (unsigned long long)r.rec_off);
		uint64_t keep = r.rec_off;
		wal_reader_close(&r);
		if (truncate(path, (off_t)keep) != 0)
			return -1;
		return 0;
	}
	wal_reader_close(&r);
	return 0;
}
