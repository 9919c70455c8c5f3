/* SPDX-License-Identifier: Apache-2.0
 * strbuf.h - growable byte buffer, always NUL-terminated after any append.
 * A zero-initialised tp_strbuf is empty and valid. */
#ifndef LIB_STRBUF_H
#define LIB_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include "lib/common.h"

typedef struct tp_strbuf {
	char *buf;   /* NULL until the first append */
	size_t len;  /* bytes used, excluding the NUL */
	size_t cap;  /* bytes allocated */
} tp_strbuf;

void tp_sb_append(tp_strbuf *sb, const char *s, size_t n);
void tp_sb_puts(tp_strbuf *sb, const char *s);
void tp_sb_putc(tp_strbuf *sb, char c);
void tp_sb_printf(tp_strbuf *sb, const char *fmt, ...) TP_PRINTF(2, 3);
void tp_sb_vprintf(tp_strbuf *sb, const char *fmt, va_list ap);
/* Appends s with \\, \" and \n escaped (label value / exposition escaping). */
void tp_sb_escape_label(tp_strbuf *sb, const char *s);
/* Appends a float as Prometheus prints it: Go's strconv 'g' shortest form,
 * with NaN, +Inf and -Inf spelled so (e.g. 1e+06, 0.1, 100, -1.5e-07). */
void tp_sb_float(tp_strbuf *sb, double v);
const char *tp_sb_cstr(tp_strbuf *sb);  /* "" when empty */
void tp_sb_reset(tp_strbuf *sb);        /* len = 0, keeps memory */
void tp_sb_free(tp_strbuf *sb);
/* Hands the buffer to the caller (free() it); sb becomes empty. */
char *tp_sb_steal(tp_strbuf *sb);

/* Formats v as Go's strconv.FormatFloat(v, 'g', -1, 64) does, into buf
 * (at least 32 bytes): 1e+06, 100000, 1.5e-07. Returns the length.
 * NaN, +Inf, -Inf are spelled so. This is the exposition/label form. */
size_t tp_format_float(char *buf, double v);
/* Go's FormatFloat(v, 'f', -1, 64): never an exponent (1000000, 0.0000001);
 * the form of sample values in the HTTP API. buf needs 400 bytes. */
size_t tp_format_float_f(char *buf, double v);

#endif
