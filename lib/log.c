/* SPDX-License-Identifier: Apache-2.0
 * log.c - leveled logfmt/JSON logging (see log.h for the record shapes).
 * Invariants: configuration lives in atomics, so reading it needs no lock;
 * the only lock serialises the single write(2) of each finished record. */
#include "config.h"
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/common.h"

/* ORDER TP_LOG_LEVEL */
static const char *const level_names[] = { "debug", "info", "warn", "error" };

static atomic_int g_level = TP_LOG_INFO;
static atomic_int g_format = TP_LOG_LOGFMT;
static atomic_int g_fd = 2;
static pthread_mutex_t g_write_lock = PTHREAD_MUTEX_INITIALIZER;

int tp_log_level_parse(const char *s, tp_log_level *out)
{
	for (size_t i = 0; i < TP_ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (tp_log_level)i;
			return 0;
		}
	}
	return -1;
}

int tp_log_format_parse(const char *s, tp_log_format *out)
{
	if (strcmp(s, "logfmt") == 0)
		*out = TP_LOG_LOGFMT;
	else if (strcmp(s, "json") == 0)
		*out = TP_LOG_JSON;
	else
		return -1;
	return 0;
}

const char *tp_log_level_str(tp_log_level l)
{
	return (unsigned)l < TP_ARRAY_LEN(level_names) ? level_names[l] : "unknown";
}

void tp_log_set_level(tp_log_level l) { atomic_store(&g_level, (int)l); }
void tp_log_set_format(tp_log_format f) { atomic_store(&g_format, (int)f); }
void tp_log_set_fd(int fd) { atomic_store(&g_fd, fd); }
bool tp_log_enabled(tp_log_level l) { return (int)l >= atomic_load(&g_level); }

/* ---- encoding helpers ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	uint32_t cp;
	if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; }
	else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; }
	else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; }
	else return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Appends s as a double-quoted string with go-logfmt's / JSON's escapes
 * (they agree for everything we emit): \\ \" \n \r \t, other control
 * characters as \u00XX, invalid UTF-8 as \ufffd. */
static void put_quoted(tp_strbuf *sb, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	tp_sb_putc(sb, '"');
	while (*s) {
		unsigned char c = *s;
		switch (c) {
		case '\\': tp_sb_append(sb, "\\\\", 2); s++; continue;
		case '"': tp_sb_append(sb, "\\\"", 2); s++; continue;
		case '\n': tp_sb_append(sb, "\\n", 2); s++; continue;
		case '\r': tp_sb_append(sb, "\\r", 2); s++; continue;
		case '\t': tp_sb_append(sb, "\\t", 2); s++; continue;
		default: break;
		}
		if (c < 0x20) {
			tp_sb_printf(sb, "\\u%04x", c);
			s++;
			continue;
		}
		size_t n = utf8_len(s);
		if (n == 0) {
			tp_sb_append(sb, "\\ufffd", 6);
			s++;
			continue;
		}
		tp_sb_append(sb, (const char *)s, n);
		s += n;
	}
	tp_sb_putc(sb, '"');
}

/* go-logfmt's needsQuotedValueRune: r <= ' ', '=', '"' or RuneError. */
static bool needs_quotes(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	while (*s) {
		if (*s <= ' ' || *s == '=' || *s == '"' || *s == 0x7f)
			return true;
		size_t n = utf8_len(s);
		if (n == 0)
			return true;
		s += n;
	}
	return false;
}

static void put_logfmt_value(tp_strbuf *sb, const char *v)
{
	if (needs_quotes(v))
		put_quoted(sb, v);
	else
		tp_sb_puts(sb, v);
}

/* A logfmt key cannot be quoted: go-logfmt drops invalid runes; we replace
 * spaces, '=' and '"' with '_' so the record stays parseable. */
static void put_logfmt_key(tp_strbuf *sb, const char *k)
{
	if (!*k) {
		tp_sb_putc(sb, '_');
		return;
	}
	for (; *k; k++) {
		unsigned char c = (unsigned char)*k;
		tp_sb_putc(sb, (c <= ' ' || c == '=' || c == '"') ? '_' : (char)c);
	}
}

static void format_ts(char *buf, size_t n, int64_t ts_ms)
{
	time_t sec = (time_t)(ts_ms / 1000);
	int ms = (int)(ts_ms % 1000);
	if (ms < 0) {
		ms += 1000;
		sec -= 1;
	}
	struct tm tm;
	gmtime_r(&sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static const char *base_name(const char *file)
{
	const char *slash = strrchr(file, '/');
	return slash ? slash + 1 : file;
}

void tp_log_format_record(tp_strbuf *sb, tp_log_format fmt, int64_t ts_ms, tp_log_level l,
			  const char *file, int line, const char *msg, va_list kv)
{
	char ts[48], caller[256];
	format_ts(ts, sizeof ts, ts_ms);
	snprintf(caller, sizeof caller, "%s:%d", base_name(file ? file : "?"), line);
	if (fmt == TP_LOG_JSON) {
		tp_sb_puts(sb, "{\"ts\":");
		put_quoted(sb, ts);
		tp_sb_puts(sb, ",\"caller\":");
		put_quoted(sb, caller);
		tp_sb_puts(sb, ",\"level\":");
		put_quoted(sb, tp_log_level_str(l));
		tp_sb_puts(sb, ",\"msg\":");
		put_quoted(sb, msg ? msg : "");
		for (;;) {
			const char *k = va_arg(kv, const char *);
			if (!k)
				break;
			const char *v = va_arg(kv, const char *);
			tp_sb_putc(sb, ',');
			put_quoted(sb, k);
			tp_sb_putc(sb, ':');
			put_quoted(sb, v ? v : "");
			if (!v)
				break;
		}
		tp_sb_puts(sb, "}\n");
		return;
	}
	tp_sb_puts(sb, "ts=");
	tp_sb_puts(sb, ts);
	tp_sb_puts(sb, " caller=");
	put_logfmt_value(sb, caller);
	tp_sb_puts(sb, " level=");
	tp_sb_puts(sb, tp_log_level_str(l));
	tp_sb_puts(sb, " msg=");
	put_logfmt_value(sb, msg ? msg : "");
	for (;;) {
		const char *k = va_arg(kv, const char *);
		if (!k)
			break;
		const char *v = va_arg(kv, const char *);
		tp_sb_putc(sb, ' ');
		put_logfmt_key(sb, k);
		tp_sb_putc(sb, '=');
		if (!v)
			break;
		put_logfmt_value(sb, v);
	}
	tp_sb_putc(sb, '\n');
}

void tp_log_write(tp_log_level l, const char *file, int line, const char *msg, ...)
{
	if (!tp_log_enabled(l))
		return;
	tp_strbuf sb = { 0 };
	va_list ap;
	va_start(ap, msg);
	tp_log_format_record(&sb, (tp_log_format)atomic_load(&g_format), tp_now_ms(), l, file, line, msg,
			     ap);
	va_end(ap);
	int fd = atomic_load(&g_fd);
	pthread_mutex_lock(&g_write_lock);
	size_t off = 0;
	while (off < sb.len) {
		ssize_t w = write(fd, sb.buf + off, sb.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	pthread_mutex_unlock(&g_write_lock);
	tp_sb_free(&sb);
}
