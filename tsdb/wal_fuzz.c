/* SPDX-License-Identifier: Apache-2.0
 * wal_fuzz.c - libFuzzer target for the WAL decoders: the input is a
 * segment file (read through the segment reader from a memfd) whose
 * records are decoded as replay does; the first byte also picks a direct
 * decode of the raw bytes as a series or samples payload.
 * Invariant checked: no crash, no over-read (under ASan), and decoded
 * records re-encode to a payload the decoder accepts. */
#include "config.h"
#include "tsdb/wal_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int on_series(void *ud, uint32_t ref, const tp_labels *l)
{
	tp_strbuf *b = ud;
	wal_enc_series(b, ref, l);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wal_dec d = { 0 };
	tp_strbuf re = { 0 };
	int stop;
	size_t m;
	if (size && (data[0] & 1)) {
		if (wal_dec_series(&d, data + 1, size - 1, on_series, &re, &stop) == 0) {
			/* what decoded re-encodes to something that decodes */
			tp_strbuf again = { 0 };
			if (wal_dec_series(&d, (const uint8_t *)re.buf, re.len, on_series, &again, &stop) != 0)
				__builtin_trap();
			if (again.len != re.len || (re.len && memcmp(again.buf, re.buf, re.len) != 0))
				__builtin_trap();
			tp_sb_free(&again);
		}
	} else if (size) {
		(void)wal_dec_samples(&d, data + 1, size - 1, &m);
	}
	int fd = memfd_create("wal", 0);
	if (fd >= 0) {
		if (write(fd, data, size) == (ssize_t)size) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			wal_reader r;
			if (wal_reader_open(&r, path) == 0) {
				int type;
				const uint8_t *p;
				size_t n;
				while (wal_reader_next(&r, &type, &p, &n) == WAL_RD_OK) {
					if (type == WAL_REC_SERIES)
						(void)wal_dec_series(&d, p, n, on_series, &re, &stop);
					else
						(void)wal_dec_samples(&d, p, n, &m);
				}
				wal_reader_close(&r);
			}
		}
		close(fd);
	}
	tp_sb_free(&re);
	wal_dec_free(&d);
	return 0;
}
