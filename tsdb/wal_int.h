/* SPDX-License-Identifier: Apache-2.0
 * wal_int.h - internals shared by wal.c (writer, checkpoint), wal_read.c
 * (segment reader, record codec) and wal_replay.c. Not for use outside
 * tsdb/wal*.c. The byte layout is described in tsdb/WAL.md; keep both in
 * step (grep tag: ORDER WAL_FORMAT).
 *
 * Invariants: a record is [type u8][len u32 LE][crc u32 LE][payload len]
 * with crc = CRC-32C over type, len and the payload as stored; the type's
 * low nibble is the record type, bit 4 the snappy flag, bits 5-7 zero. */
#ifndef TSDB_WAL_INT_H
#define TSDB_WAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common.h"
#include "lib/labels.h"
#include "lib/strbuf.h"
#include "tsdb/wal.h"

/* ORDER WAL_FORMAT */
#define WAL_HDR_BYTES 9
#define WAL_REC_SERIES 1
#define WAL_REC_SAMPLES 2
#define WAL_FLAG_SNAPPY 0x10
#define WAL_TYPE_MASK 0x0f
/* A record's stored payload is never larger than this; a bigger length in
 * a header is damage, not a reason to allocate. */
#define WAL_REC_MAX_BYTES (64u * 1024 * 1024)
/* Encoders start a new record past this many payload bytes. */
#define WAL_REC_SPLIT_BYTES (64u * 1024)
#define WAL_SEG_NAME_LEN 8
#define WAL_CKPT_PREFIX "checkpoint."

/* ---- varints (LEB128; signed ones zigzag) ---- */
TP_INTERNAL void wal_put_uvarint(tp_strbuf *b, uint64_t v);
TP_INTERNAL void wal_put_varint(tp_strbuf *b, int64_t v);
/* Return bytes consumed, 0 when truncated or longer than 10 bytes. */
TP_INTERNAL size_t wal_get_uvarint(const uint8_t *p, size_t n, uint64_t *v);
TP_INTERNAL size_t wal_get_varint(const uint8_t *p, size_t n, int64_t *v);

/* ---- record encoding ---- */
/* Appends the series entry (ref, labels) to a series payload. */
TP_INTERNAL void wal_enc_series(tp_strbuf *payload, uint32_t ref, const tp_labels *l);
/* Appends one framed record with payload p[0..n) to out, snappy'd when
 * compress is set and that is smaller. */
TP_INTERNAL void wal_frame(tp_strbuf *out, int type, const void *p, size_t n, bool compress);
/* Encodes samples as framed sample records (split every
 * WAL_REC_SPLIT_BYTES) onto out. tmp is scratch. Returns records made. */
TP_INTERNAL size_t wal_enc_samples(tp_strbuf *out, tp_strbuf *tmp, const tsdb_wal_sample *s, size_t n,
				   bool compress);

/* Decoded-record consumers. Return 0, or -1 when the payload is malformed
 * (which replay treats as damage). */
typedef struct wal_dec {
	tp_label *lv;        /* label scratch */
	size_t lv_cap;
	char *str;           /* NUL-terminated copies of label strings */
	size_t str_cap;
	tsdb_wal_sample *sv; /* sample scratch */
	size_t sv_cap;
} wal_dec;
TP_INTERNAL void wal_dec_free(wal_dec *d);
/* Calls fn for every series entry of the payload. fn returns non-zero to
 * stop; that value is stored in *stop and decoding returns 0. */
TP_INTERNAL int wal_dec_series(wal_dec *d, const uint8_t *p, size_t n,
			       int (*fn)(void *ud, uint32_t ref, const tp_labels *l), void *ud, int *stop);
/* Decodes all samples of the payload into d->sv; *out_n gets the count. */
TP_INTERNAL int wal_dec_samples(wal_dec *d, const uint8_t *p, size_t n, size_t *out_n);

/* ---- segment reader ---- */
enum {
	WAL_RD_OK = 1,    /* a record */
	WAL_RD_EOF = 0,   /* clean end: the file ends on a record boundary */
	WAL_RD_TORN = -2, /* the file ends inside a record (header or payload) */
	WAL_RD_BAD = -3,  /* bad type, length, CRC or snappy data */
	WAL_RD_IO = -1,   /* read error (errno set) */
};
typedef struct wal_reader {
	int fd;
	uint64_t size;        /* file size at open */
	uint64_t off;         /* file offset of the next record */
	uint64_t rec_off;     /* file offset of the record just returned or failed */
	uint8_t *buf;         /* read buffer */
	size_t buf_cap, buf_len;
	uint64_t buf_off;     /* file offset of buf[0] */
	uint8_t *dec;         /* snappy output */
	size_t dec_cap;
	char why[96];         /* reason for TORN/BAD */
} wal_reader;
TP_INTERNAL int wal_reader_open(wal_reader *r, const char *path);
TP_INTERNAL void wal_reader_close(wal_reader *r);
/* Next record: *type is the record type (flag stripped), payload
 * decompressed. The payload is valid until the next call. */
TP_INTERNAL int wal_reader_next(wal_reader *r, int *type, const uint8_t **p, size_t *n);
/* Whether the bytes from off to the end of the file are all zero (a
 * preallocated or zero-filled tail after a crash). */
TP_INTERNAL bool wal_reader_rest_zero(wal_reader *r, uint64_t off);

/* ---- directory ---- */
/* Sorted segment numbers in dir (names of exactly 8 digits). Returns the
 * count (array malloc'd into *out, NULL when 0) or -1 (errno). */
TP_INTERNAL long wal_list_segments(const char *dir, uint32_t **out);
/* Newest complete checkpoint number, or -1. */
TP_INTERNAL long wal_last_checkpoint(const char *dir);
TP_INTERNAL void wal_seg_path(char *buf, size_t len, const char *dir, uint32_t n);
TP_INTERNAL void wal_ckpt_path(char *buf, size_t len, const char *dir, uint32_t n, bool tmp);
TP_INTERNAL int wal_fsync_dir(const char *dir);
/* rm -r of a checkpoint directory (flat: files only). */
TP_INTERNAL int wal_rmdir_flat(const char *path);
/* Verifies the segment file at path and truncates it after the last good
 * record. *dropped gets the bytes cut, *torn whether it looked like a
 * crash mid-write, why the reason. Returns 0 or -1 (errno). */
TP_INTERNAL int wal_repair_tail(const char *path, uint64_t *dropped, bool *torn, char *why, size_t whylen);

#endif
