/* SPDX-License-Identifier: Apache-2.0
 * json.c - direct JSON writing for the HTTP API (see json.h).
 * Invariants: no intermediate document trees - big matrices are written
 * sample by sample into one buffer, which is the response body. */
#include "config.h"
#include "api/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/common.h"

/* ORDER API_ERR */
static const struct {
	const char *type;
	int status;
} err_table[] = {
	{ "", 200 },
	{ "bad_data", 400 },
	{ "execution", 422 },
	{ "timeout", 503 },
	{ "canceled", 503 },
	{ "internal", 500 },
	{ "not_found", 404 },
	{ "unavailable", 500 },
};

const char *api_json_error_type(api_err e)
{
	return (unsigned)e < TP_ARRAY_LEN(err_table) ? err_table[e].type : "internal";
}

int api_json_error_status(api_err e)
{
	return (unsigned)e < TP_ARRAY_LEN(err_table) ? err_table[e].status : 500;
}

api_err api_err_from_promql(promql_err e)
{
	switch (e) {
	case PROMQL_OK: return API_ERR_NONE;
	case PROMQL_ERR_BAD_DATA: return API_ERR_BAD_DATA;
	case PROMQL_ERR_EXECUTION: return API_ERR_EXECUTION;
	case PROMQL_ERR_TIMEOUT: return API_ERR_TIMEOUT;
	case PROMQL_ERR_CANCELED: return API_ERR_CANCELED;
	case PROMQL_ERR_INTERNAL: return API_ERR_INTERNAL;
	}
	return API_ERR_INTERNAL;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t cp;
	if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
	else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
	else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
	else return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void api_json_string_n(tp_strbuf *sb, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	tp_sb_putc(sb, '"');
	size_t i = 0;
	while (i < n) {
		/* copy the longest run that needs no escaping in one go */
		size_t j = i;
		while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
			j++;
		if (j > i) {
			tp_sb_append(sb, (const char *)s + i, j - i);
			i = j;
			if (i == n)
				break;
		}
		unsigned char c = s[i];
		switch (c) {
		case '"': tp_sb_append(sb, "\\\"", 2); i++; continue;
		case '\\': tp_sb_append(sb, "\\\\", 2); i++; continue;
		case '\n': tp_sb_append(sb, "\\n", 2); i++; continue;
		case '\r': tp_sb_append(sb, "\\r", 2); i++; continue;
		case '\t': tp_sb_append(sb, "\\t", 2); i++; continue;
		default: break;
		}
		if (c < 0x20) {
			tp_sb_printf(sb, "\\u%04x", c);
			i++;
			continue;
		}
		size_t len = utf8_len(s + i, n - i);
		if (len == 0) {
			tp_sb_append(sb, "\\ufffd", 6);
			i++;
			continue;
		}
		tp_sb_append(sb, (const char *)s + i, len);
		i += len;
	}
	tp_sb_putc(sb, '"');
}

void api_json_string(tp_strbuf *sb, const char *s)
{
	api_json_string_n(sb, s ? s : "", s ? strlen(s) : 0);
}

/* ---- samples ----
 * Matrices are most of a big response, so a point is written straight
 * into the buffer: one capacity check, no printf, no NUL per piece. */

/* Longest point: '[', '-', 19 digits, ".999", ',', the quoted value (a
 * 'f' float is at most 400 bytes, see tp_format_float_f), ']'. */
#define POINT_MAX 440
/* A point as most are: 10 digits of seconds, a 17-digit value. */
#define POINT_TYPICAL 36

/* Makes room for n more bytes and the NUL; returns where they go. */
static char *room(tp_strbuf *sb, size_t n)
{
	size_t need = sb->len + n + 1;
	if (need > sb->cap) {
		size_t nc = sb->cap ? sb->cap * 2 : 64;
		while (nc < need)
			nc *= 2;
		sb->buf = tp_xrealloc(sb->buf, nc);
		sb->cap = nc;
	}
	return sb->buf + sb->len;
}

/* Ends a direct write of n bytes started at room(). */
static void commit(tp_strbuf *sb, size_t n)
{
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static const char digit_pairs[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* u in decimal into p (at least 20 bytes), two digits per division, in
 * 32 bits while it fits (all seconds until 2106); returns the length. */
static size_t put_uint(char *p, uint64_t u)
{
	size_t n = 1;
	for (uint64_t p10 = 10; n < 20 && u >= p10; p10 *= 10)
		n++;
	char *q = p + n;  /* written from the last digit back */
	while (u > UINT32_MAX) {
		q -= 2;
		memcpy(q, digit_pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	uint32_t w = (uint32_t)u;
	while (w >= 100) {
		q -= 2;
		memcpy(q, digit_pairs + 2 * (w % 100), 2);
		w /= 100;
	}
	if (w >= 10)
		memcpy(q - 2, digit_pairs + 2 * w, 2);
	else
		q[-1] = (char)('0' + w);
	return n;
}

/* marshalTimestamp into p (at least 25 bytes); returns the length. */
static size_t put_time(char *p, int64_t ms)
{
	size_t n = 0;
	uint64_t u;
	if (ms < 0) {
		p[n++] = '-';
		u = (uint64_t)0 - (uint64_t)ms;
	} else {
		u = (uint64_t)ms;
	}
	n += put_uint(p + n, u / 1000);
	unsigned frac = (unsigned)(u % 1000);
	if (frac) {
		p[n] = '.';
		p[n + 1] = (char)('0' + frac / 100);
		memcpy(p + n + 2, digit_pairs + 2 * (frac % 100), 2);
		n += 4;
	}
	return n;
}

/* The quoted value into p (at least 402 bytes); returns the length. */
static size_t put_value(char *p, double v)
{
	double a = fabs(v);
	size_t n;
	p[0] = '"';
	/* Go: 'e' when 0 < |v| < 1e-6 or |v| >= 1e21, else 'f'; for those
	 * magnitudes the shortest 'g' form is exactly the 'e' form. */
	if (!isnan(v) && !isinf(v) && a != 0 && (a < 1e-6 || a >= 1e21))
		n = tp_format_float(p + 1, v);
	else
		n = tp_format_float_f(p + 1, v);
	p[n + 1] = '"';
	return n + 2;
}

static size_t put_point(char *p, int64_t ms, double v)
{
	size_t n = 0;
	p[n++] = '[';
	n += put_time(p + n, ms);
	p[n++] = ',';
	n += put_value(p + n, v);
	p[n++] = ']';
	return n;
}

void api_json_time(tp_strbuf *sb, int64_t ms)
{
	commit(sb, put_time(room(sb, 25), ms));
}

void api_json_value(tp_strbuf *sb, double v)
{
	commit(sb, put_value(room(sb, 402), v));
}

void api_json_point(tp_strbuf *sb, int64_t ms, double v)
{
	commit(sb, put_point(room(sb, POINT_MAX), ms, v));
}

void api_json_labels(tp_strbuf *sb, const tp_labels *l)
{
	tp_sb_putc(sb, '{');
	for (uint32_t i = 0; i < l->n; i++) {
		if (i)
			tp_sb_putc(sb, ',');
		api_json_string(sb, l->v[i].name);
		tp_sb_putc(sb, ':');
		api_json_string(sb, l->v[i].value);
	}
	tp_sb_putc(sb, '}');
}

void api_json_success_begin(tp_strbuf *sb)
{
	tp_sb_puts(sb, "{\"status\":\"success\",\"data\":");
}

static void string_list(tp_strbuf *sb, const char *key, char *const *v, size_t n)
{
	if (!n)
		return;
	tp_sb_printf(sb, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			tp_sb_putc(sb, ',');
		api_json_string(sb, v[i]);
	}
	tp_sb_putc(sb, ']');
}

void api_json_success_end(tp_strbuf *sb, char *const *warnings, size_t nwarnings, char *const *infos,
			  size_t ninfos)
{
	string_list(sb, "warnings", warnings, nwarnings);
	string_list(sb, "infos", infos, ninfos);
	tp_sb_putc(sb, '}');
}

void api_json_error(tp_strbuf *sb, api_err type, const char *msg)
{
	tp_sb_puts(sb, "{\"status\":\"error\",\"errorType\":");
	api_json_string(sb, api_json_error_type(type));
	tp_sb_puts(sb, ",\"error\":");
	api_json_string(sb, msg);
	tp_sb_putc(sb, '}');
}

size_t api_json_query_data_size(const promql_result *r)
{
	if (r->type != PROMQL_TYPE_VECTOR && r->type != PROMQL_TYPE_MATRIX)
		return 512;
	size_t n = 64;
	for (size_t i = 0; i < r->nseries; i++) {
		const promql_series *s = &r->series[i];
		n += 32 + s->npoints * POINT_TYPICAL;
		for (uint32_t k = 0; k < s->labels.n; k++)
			n += 6 + strlen(s->labels.v[k].name) + strlen(s->labels.v[k].value);
	}
	return n;
}

void api_json_query_data(tp_strbuf *sb, const promql_result *r)
{
	switch (r->type) {
	case PROMQL_TYPE_SCALAR:
		tp_sb_puts(sb, "{\"resultType\":\"scalar\",\"result\":");
		api_json_point(sb, r->t, r->scalar);
		tp_sb_putc(sb, '}');
		return;
	case PROMQL_TYPE_STRING:
		tp_sb_puts(sb, "{\"resultType\":\"string\",\"result\":[");
		api_json_time(sb, r->t);
		tp_sb_putc(sb, ',');
		api_json_string(sb, r->string);
		tp_sb_puts(sb, "]}");
		return;
	case PROMQL_TYPE_VECTOR:
		tp_sb_puts(sb, "{\"resultType\":\"vector\",\"result\":[");
		for (size_t i = 0; i < r->nseries; i++) {
			const promql_series *s = &r->series[i];
			if (i)
				tp_sb_putc(sb, ',');
			tp_sb_puts(sb, "{\"metric\":");
			api_json_labels(sb, &s->labels);
			if (s->npoints) {
				tp_sb_puts(sb, ",\"value\":");
				api_json_point(sb, s->points[0].t, s->points[0].v);
			}
			tp_sb_putc(sb, '}');
		}
		tp_sb_puts(sb, "]}");
		return;
	case PROMQL_TYPE_MATRIX:
	default:
		tp_sb_puts(sb, "{\"resultType\":\"matrix\",\"result\":[");
		for (size_t i = 0; i < r->nseries; i++) {
			const promql_series *s = &r->series[i];
			if (i)
				tp_sb_putc(sb, ',');
			tp_sb_puts(sb, "{\"metric\":");
			api_json_labels(sb, &s->labels);
			tp_sb_puts(sb, ",\"values\":[");
			for (size_t k = 0; k < s->npoints; k++) {
				char *p = room(sb, POINT_MAX + 1);
				size_t n = 0;
				if (k)
					p[n++] = ',';
				n += put_point(p + n, s->points[k].t, s->points[k].v);
				commit(sb, n);
			}
			tp_sb_puts(sb, "]}");
		}
		tp_sb_puts(sb, "]}");
		return;
	}
}
