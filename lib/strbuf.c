/* SPDX-License-Identifier: Apache-2.0
 * strbuf.c - growable byte buffer and Go-compatible float formatting. */
#include "config.h"
#include "lib/ftoa.h"
#include "lib/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(tp_strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	if (need > sb->cap) {
		size_t nc = sb->cap ? sb->cap * 2 : 64;
		while (nc < need)
			nc *= 2;
		sb->buf = tp_xrealloc(sb->buf, nc);
		sb->cap = nc;
	}
}

void tp_sb_append(tp_strbuf *sb, const char *s, size_t n)
{
	reserve(sb, n);
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void tp_sb_puts(tp_strbuf *sb, const char *s)
{
	tp_sb_append(sb, s, strlen(s));
}

void tp_sb_putc(tp_strbuf *sb, char c)
{
	reserve(sb, 1);
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
}

void tp_sb_vprintf(tp_strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	reserve(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void tp_sb_printf(tp_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tp_sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void tp_sb_escape_label(tp_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': tp_sb_append(sb, "\\\\", 2); break;
		case '"': tp_sb_append(sb, "\\\"", 2); break;
		case '\n': tp_sb_append(sb, "\\n", 2); break;
		default: tp_sb_putc(sb, *s);
		}
	}
}

static size_t format_float(char *buf, double v, bool fixed)
{
	if (isnan(v))
		return (size_t)sprintf(buf, "NaN");
	if (isinf(v))
		return (size_t)sprintf(buf, v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return (size_t)sprintf(buf, signbit(v) ? "-0" : "0");
	/* Shortest round-trip digits (ftoa.c). */
	char digits[24];
	bool neg = signbit(v);
	int exp10;
	int nd = tp_ftoa_shortest(neg ? -v : v, digits, &exp10);
	digits[nd] = '\0';
	/* Go's 'g' with shortest precision uses the exponent form when
	 * exp < -4 || exp >= 6 (strconv: "if shortest { eprec = 6 }");
	 * 'f' never does. */
	char *o = buf;
	if (neg)
		*o++ = '-';
	if (!fixed && (exp10 < -4 || exp10 >= 6)) {
		*o++ = digits[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		o += sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
	} else if (exp10 < 0) {
		*o++ = '0';
		*o++ = '.';
		for (int i = 0; i < -exp10 - 1; i++)
			*o++ = '0';
		memcpy(o, digits, (size_t)nd);
		o += nd;
	} else {
		for (int i = 0; i <= exp10; i++)
			*o++ = i < nd ? digits[i] : '0';
		if (nd > exp10 + 1) {
			*o++ = '.';
			memcpy(o, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
			o += nd - exp10 - 1;
		}
	}
	*o = '\0';
	return (size_t)(o - buf);
}

size_t tp_format_float(char *buf, double v)
{
	return format_float(buf, v, false);
}

size_t tp_format_float_f(char *buf, double v)
{
	return format_float(buf, v, true);
}

void tp_sb_float(tp_strbuf *sb, double v)
{
	char buf[40];
	size_t n = tp_format_float(buf, v);
	tp_sb_append(sb, buf, n);
}

const char *tp_sb_cstr(tp_strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

void tp_sb_reset(tp_strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void tp_sb_free(tp_strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

char *tp_sb_steal(tp_strbuf *sb)
{
	char *p = sb->buf ? sb->buf : tp_xstrdup("");
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return p;
}
