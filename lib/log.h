/* SPDX-License-Identifier: Apache-2.0
 * log.h - leveled structured logging in Prometheus 2.x's go-kit shapes.
 *
 * logfmt (default):
 *   ts=2026-11-23T12:00:00.000Z caller=server.c:42 level=info msg="Server is ready" k=v
 * json (--log.format=json):
 *   {"ts":"2026-11-23T12:00:00.000Z","caller":"server.c:42","level":"info","msg":"...","k":"v"}
 *
 * Invariants: every record is formatted into a private buffer and written
 * with one write(2) under a mutex, so records from concurrent threads never
 * interleave. Records below the configured level are dropped before any
 * formatting. Values are quoted exactly as go-logfmt does: only when they
 * contain a space, '=', '"', a control character or invalid UTF-8; an empty
 * value prints as `key=`. Keys and values are NUL-terminated strings passed
 * as a NULL-terminated list of pairs. */
#ifndef LIB_LOG_H
#define LIB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/strbuf.h"

/* ORDER TP_LOG_LEVEL: tp_log_level_names[] follows this order. */
typedef enum tp_log_level {
	TP_LOG_DEBUG = 0,
	TP_LOG_INFO,
	TP_LOG_WARN,
	TP_LOG_ERROR,
} tp_log_level;

typedef enum tp_log_format {
	TP_LOG_LOGFMT = 0,
	TP_LOG_JSON,
} tp_log_format;

/* Parses "debug"|"info"|"warn"|"error" (and "logfmt"|"json"). Returns 0,
 * or -1 when s is not one of them (*out untouched). */
int tp_log_level_parse(const char *s, tp_log_level *out);
int tp_log_format_parse(const char *s, tp_log_format *out);
const char *tp_log_level_str(tp_log_level l);

/* Process-wide configuration; safe to call at any time from any thread.
 * Defaults: level info, logfmt, file descriptor 2 (stderr). */
void tp_log_set_level(tp_log_level l);
void tp_log_set_format(tp_log_format f);
void tp_log_set_fd(int fd);
bool tp_log_enabled(tp_log_level l);

/* Formats one record (with trailing newline) into sb without writing it:
 * the pure part of logging, used by tp_log_write and by tests.
 * kv is a NULL-terminated list of key, value strings; a NULL value in a
 * pair prints as an empty value. */
void tp_log_format_record(tp_strbuf *sb, tp_log_format fmt, int64_t ts_ms, tp_log_level l,
			  const char *file, int line, const char *msg, va_list kv);

/* Writes a record if l is enabled. Prefer the macros below, which fill in
 * the caller and the terminating NULL:
 *   tp_log_info("Server is ready to receive web requests.", "addr", addr);  */
void tp_log_write(tp_log_level l, const char *file, int line, const char *msg, ...)
	__attribute__((sentinel));

#define tp_log_debug(...) tp_log_write(TP_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__, (const char *)0)
#define tp_log_info(...) tp_log_write(TP_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__, (const char *)0)
#define tp_log_warn(...) tp_log_write(TP_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__, (const char *)0)
#define tp_log_error(...) tp_log_write(TP_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__, (const char *)0)

#endif
