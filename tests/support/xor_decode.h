/* SPDX-License-Identifier: Apache-2.0
 * xor_decode.h - a decoder for Prometheus's XOR chunk bytes, written for
 * the tests only and independently of remote/xor.c (it follows the layout
 * in COMPAT.md section 3 and Prometheus's chunkenc reader), so the
 * encoder's output is checked against a second reading of the format. */
#ifndef TESTS_SUPPORT_XOR_DECODE_H
#define TESTS_SUPPORT_XOR_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Decodes chunk b[0..n) into ts[] and value bits vbits[] (up to max).
 * Returns the sample count from the header, or -1 when the bytes are
 * malformed (truncated, a count over max). Like Prometheus's reader it
 * stops after the counted samples: bits after them are not an error (a
 * Prometheus server may send a head chunk whose appender already wrote
 * part of the next sample). *bits_used (may be NULL) gets the bits read
 * after the 2-byte header. */
long test_xor_decode(const uint8_t *b, size_t n, int64_t *ts, uint64_t *vbits, size_t max, size_t *bits_used);

#endif
