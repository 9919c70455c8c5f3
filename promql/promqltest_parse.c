/* SPDX-License-Identifier: Apache-2.0
 * promqltest_parse.c - parsing of promqltest *.test files (FORMAT.md §1-§6)
 * and the float tolerance of §7.6. No engine or storage dependency.
 *
 * Invariants: lines are stripped and comment lines are empty lines before
 * any command sees them; every allocation goes to the file's arena (value
 * slots are expanded straight into arena arrays, never one malloc per
 * sample); a parse error frees the whole file, as upstream rejects it.
 * Known gaps: histogram literals {{...}} are checked but not built (their
 * evals are skipped); `@st` start-timestamp lines are dropped; a leading-zero
 * integer value (010) is decimal, where Go would read octal (no file has
 * one). */
#include "config.h"
#include "promql/promqltest.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/duration.h"

#define STALE_BITS 0x7ff0000000000002ULL

/* ---- floats ---- */

double promql_test_stale(void)
{
	uint64_t b = STALE_BITS;
	double v;
	memcpy(&v, &b, sizeof v);
	return v;
}

bool promql_test_is_stale(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof b);
	return b == STALE_BITS;
}

bool promql_test_float_equal(double expected, double actual)
{
	const double eps = 1e-6;
	const double min_normal = 2.2250738585072014e-308;
	bool se = promql_test_is_stale(expected), sa = promql_test_is_stale(actual);
	if (se || sa)
		return se && sa;
	if (isnan(expected) && isnan(actual))
		return true;
	if (expected == actual)
		return true;
	double a = fabs(expected), b = fabs(actual), d = fabs(expected - actual);
	if (expected == 0 || actual == 0 || a + b < min_normal)
		return d < eps * min_normal;
	double s = a + b;
	if (s > DBL_MAX)
		s = DBL_MAX;
	return d / s < eps;
}

bool promql_test_float_equal_v242(double expected, double actual)
{
	const double min_normal = 2.2250738585072014e-308;
	if (isnan(expected) && isnan(actual))
		return true;
	if (expected == actual)
		return true;
	double d = fabs(expected - actual);
	if (expected == 0 || actual == 0 || d < min_normal)
		return d < 1e-6 * min_normal;
	return d / (fabs(expected) + fabs(actual)) < 1e-6;
}

/* ---- small lexing helpers ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...) TP_PRINTF(3, 4);
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void skip_ws(const char *s, size_t n, size_t *p)
{
	while (*p < n && is_ws(s[*p]))
		(*p)++;
}

static bool is_name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool prefix(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	return n >= k && memcmp(s, pre, k) == 0;
}

static int64_t dur_or_fail(const char *s, size_t n, bool *ok)
{
	int64_t ms = 0;
	if (tp_duration_parse(s, n, &ms) != 0)
		*ok = false;
	return ms;
}

/* Appends a UTF-8 encoding of cp to buf at *o. */
static void put_utf8(char *buf, size_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		buf[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		buf[(*o)++] = (char)(0xc0 | (cp >> 6));
		buf[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		buf[(*o)++] = (char)(0xe0 | (cp >> 12));
		buf[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		buf[(*o)++] = (char)(0xf0 | (cp >> 18));
		buf[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads a Go string literal ("…", '…' with escapes, `…` raw) at s[*p].
 * On success *out is the unescaped text in a and *p is past the quote. */
static int parse_string(tp_arena *a, const char *s, size_t n, size_t *p, char **out)
{
	if (*p >= n)
		return -1;
	char q = s[*p];
	if (q != '"' && q != '\'' && q != '`')
		return -1;
	size_t i = *p + 1, start = i;
	/* the unescaped text is never longer than the literal */
	while (i < n && s[i] != q) {
		if (q != '`' && s[i] == '\\')
			i++;
		i++;
	}
	if (i >= n)
		return -1;
	char *buf = tp_arena_alloc(a, i - start + 1);
	size_t o = 0;
	for (size_t j = start; j < i; j++) {
		char c = s[j];
		if (q == '`' || c != '\\') {
			buf[o++] = c;
			continue;
		}
		c = s[++j];
		switch (c) {
		case 'a': buf[o++] = '\a'; break;
		case 'b': buf[o++] = '\b'; break;
		case 'f': buf[o++] = '\f'; break;
		case 'n': buf[o++] = '\n'; break;
		case 'r': buf[o++] = '\r'; break;
		case 't': buf[o++] = '\t'; break;
		case 'v': buf[o++] = '\v'; break;
		case '\\': case '\'': case '"': buf[o++] = c; break;
		case 'x': case 'u': case 'U': {
			int k = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			uint32_t cp = 0;
			if (j + (size_t)k >= i + 1)
				return -1;
			for (int m = 0; m < k; m++) {
				int h = hexval(s[j + 1 + (size_t)m]);
				if (h < 0)
					return -1;
				cp = cp * 16 + (uint32_t)h;
			}
			j += (size_t)k;
			if (c == 'x')
				buf[o++] = (char)cp;
			else
				put_utf8(buf, &o, cp);
			break;
		}
		default:
			if (c >= '0' && c <= '7' && j + 2 < i) {
				int v = 0;
				for (int m = 0; m < 3; m++) {
					char d = s[j + (size_t)m];
					if (d < '0' || d > '7')
						return -1;
					v = v * 8 + (d - '0');
				}
				j += 2;
				buf[o++] = (char)v;
				break;
			}
			return -1;
		}
	}
	buf[o] = '\0';
	*out = buf;
	*p = i + 1;
	return 0;
}

/* ---- series descriptions (§5) ---- */

typedef struct lbuf {
	tp_label *v;
	size_t n, cap;
} lbuf;

static void lbuf_add(tp_arena *a, lbuf *b, const char *name, const char *value)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 8;
		b->v = tp_arena_realloc(a, b->v, b->cap * sizeof(tp_label), nc * sizeof(tp_label));
		b->cap = nc;
	}
	b->v[b->n].name = name;
	b->v[b->n].value = value;
	b->n++;
}

/* Parses the metric part at s[*p]: name, name{...} or {...}. */
static int parse_metric(tp_arena *a, const char *s, size_t n, size_t *p, tp_labels *out, char *err,
			size_t errlen)
{
	lbuf b = { 0 };
	size_t i = *p;
	if (i < n && (is_name_start(s[i]) || s[i] == ':')) {
		size_t st = i;
		while (i < n && (is_name_char(s[i]) || s[i] == ':'))
			i++;
		lbuf_add(a, &b, TP_METRIC_NAME, tp_arena_strndup(a, s + st, i - st));
	}
	if (i < n && s[i] == '{' && !(i + 1 < n && s[i + 1] == '{')) {
		i++;
		for (;;) {
			skip_ws(s, n, &i);
			if (i < n && s[i] == '}') {
				i++;
				break;
			}
			char *name = NULL, *value = NULL;
			if (i < n && (s[i] == '"' || s[i] == '\'' || s[i] == '`')) {
				if (parse_string(a, s, n, &i, &name) != 0) {
					seterr(err, errlen, "bad quoted label name");
					return -1;
				}
			} else if (i < n && is_name_start(s[i])) {
				size_t st = i;
				while (i < n && is_name_char(s[i]))
					i++;
				name = tp_arena_strndup(a, s + st, i - st);
			} else {
				seterr(err, errlen, "expected label name at column %zu", i + 1);
				return -1;
			}
			skip_ws(s, n, &i);
			if (i < n && s[i] == '=') {
				i++;
				skip_ws(s, n, &i);
				if (parse_string(a, s, n, &i, &value) != 0) {
					seterr(err, errlen, "expected label value string at column %zu", i + 1);
					return -1;
				}
				lbuf_add(a, &b, name, value);
			} else if (i < n && (s[i] == ',' || s[i] == '}') && s[*p] == '{') {
				/* {"metric.name", ...}: a quoted metric name */
				lbuf_add(a, &b, TP_METRIC_NAME, name);
			} else {
				seterr(err, errlen, "expected '=' after label name at column %zu", i + 1);
				return -1;
			}
			skip_ws(s, n, &i);
			if (i < n && s[i] == ',') {
				i++;
				continue;
			}
			if (i < n && s[i] == '}') {
				i++;
				break;
			}
			seterr(err, errlen, "expected ',' or '}' at column %zu", i + 1);
			return -1;
		}
	} else if (b.n == 0) {
		seterr(err, errlen, "expected metric name or label set");
		return -1;
	}
	out->v = b.v;
	out->n = (uint32_t)b.n;
	if (out->n) /* qsort(NULL, 0) is undefined: UBSan stops on it */
		tp_labels_normalize(out);
	*p = i;
	return 0;
}

typedef struct sbuf {
	promql_test_slot *v;
	size_t n, cap;
} sbuf;

static void sbuf_reserve(tp_arena *a, sbuf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return;
	size_t nc = b->cap ? b->cap * 2 : 16;
	while (nc < b->n + more)
		nc *= 2;
	b->v = tp_arena_realloc(a, b->v, b->cap * sizeof(promql_test_slot), nc * sizeof(promql_test_slot));
	b->cap = nc;
}

static void sbuf_push(sbuf *b, uint8_t kind, double v)
{
	b->v[b->n].kind = kind;
	b->v[b->n].v = v;
	b->n++;
}

static bool word_ieq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* A float at s[*p..end): optional sign, then Inf/NaN (any case) or a
 * greedy decimal number (digits, '.', exponent with sign). */
static int parse_float(const char *s, size_t end, size_t *p, double *v, bool allow_sign)
{
	size_t i = *p;
	bool neg = false;
	if (allow_sign && i < end && (s[i] == '+' || s[i] == '-')) {
		neg = s[i] == '-';
		i++;
	}
	if (i < end && isalpha((unsigned char)s[i])) {
		size_t st = i;
		while (i < end && isalpha((unsigned char)s[i]))
			i++;
		if (word_ieq(s + st, i - st, "inf"))
			*v = neg ? -INFINITY : INFINITY;
		else if (word_ieq(s + st, i - st, "nan"))
			*v = NAN;
		else
			return -1;
		/* read as words: `Infx3` is one unknown word */
		if (i < end && !is_ws(s[i]))
			return -1;
		*p = i;
		return 0;
	}
	size_t st = i, digits = 0;
	while (i < end && isdigit((unsigned char)s[i]))
		i++, digits++;
	if (i < end && s[i] == '.') {
		i++;
		while (i < end && isdigit((unsigned char)s[i]))
			i++, digits++;
	}
	if (!digits)
		return -1;
	if (i < end && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;
		if (j < end && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < end && isdigit((unsigned char)s[j])) {
			while (j < end && isdigit((unsigned char)s[j]))
				j++;
			i = j;
		}
	}
	char tmp[128];
	size_t len = i - st;
	if (len >= sizeof tmp)
		return -1;
	memcpy(tmp, s + st, len);
	tmp[len] = '\0';
	double d = strtod(tmp, NULL);
	*v = neg ? -d : d;
	*p = i;
	return 0;
}

static int parse_count(const char *s, size_t end, size_t *p, uint64_t *out)
{
	size_t i = *p;
	uint64_t c = 0;
	if (i >= end || !isdigit((unsigned char)s[i]))
		return -1;
	while (i < end && isdigit((unsigned char)s[i])) {
		c = c * 10 + (uint64_t)(s[i] - '0');
		if (c > 100000000)
			return -1;
		i++;
	}
	*p = i;
	*out = c;
	return 0;
}

/* Index just past the `}}` closing a histogram literal starting at i. */
static bool word_is(const char *w, size_t wn, const char *lit);

/* Checks the inside of a histogram literal (§5.4): space-separated
 * key:value items, each key at most once, values of the key's kind. The
 * histogram itself is not built (the runner skips its evals). */
static bool hist_body_valid(const char *s, size_t n)
{
	static const char *const keys[] = { "schema", "sum", "count", "z_bucket", "z_bucket_w", "buckets",
					    "offset", "n_buckets", "n_offset", "counter_reset_hint",
					    "custom_values" };
	unsigned seen = 0;
	size_t i = 0;
	for (;;) {
		skip_ws(s, n, &i);
		if (i >= n)
			return true;
		size_t st = i;
		while (i < n && s[i] != ':' && !is_ws(s[i]))
			i++;
		if (i >= n || s[i] != ':')
			return false;
		size_t k = 0;
		while (k < TP_ARRAY_LEN(keys) && !(strlen(keys[k]) == i - st && memcmp(keys[k], s + st, i - st) == 0))
			k++;
		if (k == TP_ARRAY_LEN(keys) || (seen & (1u << k)))
			return false;
		seen |= 1u << k;
		i++;
		const char *key = keys[k];
		if (strstr(key, "buckets") || strcmp(key, "custom_values") == 0) {
			if (i >= n || s[i] != '[')
				return false;
			i++;
			for (;;) {
				skip_ws(s, n, &i);
				if (i < n && s[i] == ']') {
					i++;
					break;
				}
				size_t e = i;
				while (e < n && !is_ws(s[e]) && s[e] != ']')
					e++;
				double v;
				if (parse_float(s, e, &i, &v, true) != 0 || i != e)
					return false;
			}
		} else if (strcmp(key, "counter_reset_hint") == 0) {
			size_t e = i;
			while (e < n && !is_ws(s[e]))
				e++;
			if (!word_is(s + i, e - i, "unknown") && !word_is(s + i, e - i, "reset") &&
			    !word_is(s + i, e - i, "not_reset") && !word_is(s + i, e - i, "gauge"))
				return false;
			i = e;
		} else {
			size_t e = i;
			while (e < n && !is_ws(s[e]))
				e++;
			double v;
			if (parse_float(s, e, &i, &v, true) != 0 || i != e)
				return false;
			bool integral = strcmp(key, "schema") == 0 || strstr(key, "offset");
			if (integral && (v != floor(v) || isinf(v)))
				return false;
			if (strcmp(key, "z_bucket_w") == 0 && !(v >= 0))
				return false;
		}
		if (i < n && !is_ws(s[i]))
			return false;
	}
}

static size_t hist_end(const char *s, size_t n, size_t i)
{
	for (size_t j = i + 2; j + 1 < n; j++)
		if (s[j] == '}' && s[j + 1] == '}')
			return hist_body_valid(s + i + 2, j - i - 2) ? j + 2 : 0;
	return 0;
}

int promql_test_values_parse(tp_arena *a, const char *s, size_t n, promql_test_slot **slots, size_t *nslots,
			     char *err, size_t errlen)
{
	sbuf b = { 0 };
	size_t i = 0;
	for (;;) {
		skip_ws(s, n, &i);
		if (i >= n)
			break;
		size_t st = i;
		uint64_t cnt = 0;
		if (s[i] == '{' && i + 1 < n && s[i + 1] == '{') {
			size_t e = hist_end(s, n, i);
			if (!e)
				goto bad;
			i = e;
			uint64_t copies = 1;
			if (i < n && (s[i] == '+' || s[i] == '-')) {
				i++;
				if (!(i + 1 < n && s[i] == '{' && s[i + 1] == '{') || !(e = hist_end(s, n, i)))
					goto bad;
				i = e;
				if (i >= n || s[i] != 'x')
					goto bad;
			}
			if (i < n && s[i] == 'x') {
				i++;
				if (parse_count(s, n, &i, &cnt) != 0)
					goto bad;
				copies = cnt + 1;
			}
			if (i < n && !is_ws(s[i]))
				goto bad;
			sbuf_reserve(a, &b, copies);
			for (uint64_t k = 0; k < copies; k++)
				sbuf_push(&b, PROMQL_TEST_SLOT_HIST, 0);
			continue;
		}
		size_t e = i;
		while (e < n && !is_ws(s[e]))
			e++;
		if (s[i] == '_') {
			i++;
			uint64_t copies = 1;
			if (i < e && s[i] == 'x') {
				i++;
				if (parse_count(s, e, &i, &cnt) != 0)
					goto bad;
				copies = cnt;
			}
			if (i != e)
				goto bad;
			sbuf_reserve(a, &b, copies);
			for (uint64_t k = 0; k < copies; k++)
				sbuf_push(&b, PROMQL_TEST_SLOT_EMPTY, 0);
			continue;
		}
		if (e - i == 5 && memcmp(s + i, "stale", 5) == 0) {
			i = e;
			sbuf_reserve(a, &b, 1);
			sbuf_push(&b, PROMQL_TEST_SLOT_FLOAT, promql_test_stale());
			continue;
		}
		double v, d = 0;
		if (parse_float(s, e, &i, &v, true) != 0)
			goto bad;
		if (i == e) {
			sbuf_reserve(a, &b, 1);
			sbuf_push(&b, PROMQL_TEST_SLOT_FLOAT, v);
			continue;
		}
		bool neg = false;
		if (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-';
			i++;
			if (parse_float(s, e, &i, &d, false) != 0)
				goto bad;
			if (i >= e || s[i] != 'x')
				goto bad;
		}
		if (s[i] != 'x')
			goto bad;
		i++;
		if (parse_count(s, e, &i, &cnt) != 0 || i != e)
			goto bad;
		sbuf_reserve(a, &b, cnt + 1);
		/* repeated addition, as upstream generates the sequence */
		double x = v;
		for (uint64_t k = 0; k <= cnt; k++) {
			sbuf_push(&b, PROMQL_TEST_SLOT_FLOAT, x);
			x = neg ? x - d : x + d;
		}
		continue;
bad:
		{
			size_t end = st;
			while (end < n && !is_ws(s[end]))
				end++;
			seterr(err, errlen, "invalid value item '%.*s'", (int)(end - st), s + st);
			return -1;
		}
	}
	*slots = b.v;
	*nslots = b.n;
	return 0;
}

int promql_test_series_parse(tp_arena *a, const char *line, size_t n, promql_test_series *out, char *err,
			     size_t errlen)
{
	size_t p = 0;
	memset(out, 0, sizeof *out);
	skip_ws(line, n, &p);
	if (parse_metric(a, line, n, &p, &out->labels, err, errlen) != 0)
		return -1;
	if (p < n && !is_ws(line[p])) {
		seterr(err, errlen, "unexpected character '%c' after the metric", line[p]);
		return -1;
	}
	if (promql_test_values_parse(a, line + p, n - p, &out->slots, &out->nslots, err, errlen) != 0)
		return -1;
	for (size_t k = 0; k < out->nslots; k++)
		if (out->slots[k].kind == PROMQL_TEST_SLOT_HIST)
			out->has_hist = true;
	return 0;
}

bool promql_test_parse_scalar(const char *s, size_t n, double *v)
{
	char tmp[128];
	while (n && is_ws(*s))
		s++, n--;
	while (n && is_ws(s[n - 1]))
		n--;
	if (!n || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	/* Go's ParseInt(s, 0, 64) first: 0x.., 0o.., 0b.., leading-0 octal */
	char *end;
	const char *q = tmp + (tmp[0] == '+' || tmp[0] == '-');
	if (isdigit((unsigned char)*q)) {
		errno = 0;
		long long ll;
		if ((q[0] == '0') && (q[1] == 'o' || q[1] == 'O' || q[1] == 'b' || q[1] == 'B')) {
			ll = strtoll(q + 2, &end, (q[1] == 'b' || q[1] == 'B') ? 2 : 8);
			if (*end == '\0' && q[2] && !errno) {
				*v = tmp[0] == '-' ? -(double)ll : (double)ll;
				return true;
			}
		} else {
			ll = strtoll(tmp, &end, 0);
			if (*end == '\0' && !errno) {
				*v = (double)ll;
				return true;
			}
		}
	}
	/* strtod accepts "nan(...)"; Go does not */
	if (strchr(tmp, '('))
		return false;
	errno = 0;
	double d = strtod(tmp, &end);
	if (*end != '\0' || end == tmp)
		return false;
	*v = d;
	return true;
}

/* ---- file structure (§1, §4, §6) ---- */

typedef struct tline {
	const char *s;
	size_t n;
} tline;

typedef struct parser {
	promql_test_file *f;
	tline *lines;
	size_t nlines;
	size_t cap_cmds;
	char *err;
	size_t errlen;
} parser;

static promql_test_cmd *new_cmd(parser *ps, promql_test_cmd_kind kind, int line)
{
	promql_test_file *f = ps->f;
	if (f->ncmds == ps->cap_cmds) {
		size_t nc = ps->cap_cmds ? ps->cap_cmds * 2 : 32;
		f->cmds = tp_arena_realloc(&f->arena, f->cmds, ps->cap_cmds * sizeof *f->cmds, nc * sizeof *f->cmds);
		ps->cap_cmds = nc;
	}
	promql_test_cmd *c = &f->cmds[f->ncmds++];
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->line = line;
	return c;
}

/* Adds s to c's series; a label set seen before in this block is replaced. */
static void add_series(tp_arena *a, promql_test_cmd *c, size_t *cap, const promql_test_series *s)
{
	for (size_t k = 0; k < c->nseries; k++) {
		if (tp_labels_equal(&c->series[k].labels, &s->labels)) {
			c->series[k] = *s;
			return;
		}
	}
	if (c->nseries == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		c->series = tp_arena_realloc(a, c->series, *cap * sizeof *c->series, nc * sizeof *c->series);
		*cap = nc;
	}
	c->series[c->nseries++] = *s;
}

/* Splits the next whitespace-separated word of s[*p..n). */
static bool next_word(const char *s, size_t n, size_t *p, const char **w, size_t *wn)
{
	skip_ws(s, n, p);
	if (*p >= n)
		return false;
	size_t st = *p;
	while (*p < n && !is_ws(s[*p]))
		(*p)++;
	*w = s + st;
	*wn = *p - st;
	return true;
}

static bool word_is(const char *w, size_t wn, const char *lit)
{
	return wn == strlen(lit) && memcmp(w, lit, wn) == 0;
}

static int parse_load(parser *ps, size_t *ip)
{
	size_t i = *ip;
	tline *L = &ps->lines[i];
	promql_test_cmd *c = new_cmd(ps, PROMQL_TEST_LOAD, (int)i + 1);
	const char *w;
	size_t wn, p = 0;
	next_word(L->s, L->n, &p, &w, &wn);
	if (word_is(w, wn, "load_with_nhcb"))
		c->nhcb = true;
	else if (!word_is(w, wn, "load"))
		goto bad_hdr;
	bool ok = true;
	if (!next_word(L->s, L->n, &p, &w, &wn))
		goto bad_hdr;
	c->interval_ms = dur_or_fail(w, wn, &ok);
	skip_ws(L->s, L->n, &p);
	if (!ok || p != L->n)
		goto bad_hdr;
	size_t cap = 0;
	for (i++; i < ps->nlines && ps->lines[i].n; i++) {
		tline *S = &ps->lines[i];
		promql_test_series ser;
		/* `@st` start-timestamp lines (start_timestamps.test) are not modelled */
		size_t q = 0;
		tp_labels tmp;
		char e2[64];
		if (parse_metric(&ps->f->arena, S->s, S->n, &q, &tmp, e2, sizeof e2) == 0 && q + 3 <= S->n &&
		    memcmp(S->s + q, "@st", 3) == 0)
			continue;
		char e[200];
		if (promql_test_series_parse(&ps->f->arena, S->s, S->n, &ser, e, sizeof e) != 0) {
			seterr(ps->err, ps->errlen, "line %zu: %s", i + 1, e);
			return -1;
		}
		ser.line = (int)i + 1;
		add_series(&ps->f->arena, c, &cap, &ser);
	}
	*ip = i;
	return 0;
bad_hdr:
	seterr(ps->err, ps->errlen, "line %zu: invalid load command '%.*s'", i + 1, (int)L->n, L->s);
	return -1;
}

static char *dup_trim(tp_arena *a, const char *s, size_t n)
{
	while (n && is_ws(*s))
		s++, n--;
	while (n && is_ws(s[n - 1]))
		n--;
	return tp_arena_strndup(a, s, n);
}

static void add_anno(tp_arena *a, promql_test_cmd *c, size_t *cap, bool info, char *msg, char *regex)
{
	if (c->nannos == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		c->annos = tp_arena_realloc(a, c->annos, *cap * sizeof *c->annos, nc * sizeof *c->annos);
		*cap = nc;
	}
	c->annos[c->nannos].info = info;
	c->annos[c->nannos].msg = msg;
	c->annos[c->nannos].regex = regex;
	c->nannos++;
}

/* `expect <type> [msg: T | regex: R]` (§6.4). */
static int parse_directive(parser *ps, promql_test_cmd *c, size_t *anno_cap, bool *seen_fail, const tline *L,
			   size_t lineno)
{
	tp_arena *a = &ps->f->arena;
	const char *w;
	size_t wn, p = 0;
	next_word(L->s, L->n, &p, &w, &wn); /* "expect" */
	skip_ws(L->s, L->n, &p);
	size_t st = p;
	while (p < L->n && (isalpha((unsigned char)L->s[p]) || L->s[p] == '_'))
		p++;
	w = L->s + st;
	wn = p - st;
	skip_ws(L->s, L->n, &p);
	char *msg = NULL, *regex = NULL;
	const char *rest = L->s + p;
	size_t rn = L->n - p;
	if (prefix(rest, rn, "msg:"))
		msg = dup_trim(a, rest + 4, rn - 4);
	else if (prefix(rest, rn, "regex:"))
		regex = dup_trim(a, rest + 6, rn - 6);
	else if (rn)
		goto bad;
	if (word_is(w, wn, "fail")) {
		/* one `expect fail` per eval (an eval_fail header may add one) */
		if (*seen_fail)
			goto bad;
		*seen_fail = true;
		c->fail = true;
		c->fail_msg = msg;
		c->fail_regex = regex;
	} else if (word_is(w, wn, "warn") || word_is(w, wn, "info")) {
		bool info = w[0] == 'i';
		if (info ? c->no_info : c->no_warn)
			goto bad;
		*(info ? &c->want_info : &c->want_warn) = true;
		add_anno(a, c, anno_cap, info, msg, regex);
	} else if (word_is(w, wn, "no_warn") || word_is(w, wn, "no_info")) {
		bool info = w[3] == 'i';
		if ((info ? c->want_info : c->want_warn) || msg || regex)
			goto bad;
		*(info ? &c->no_info : &c->no_warn) = true;
	} else if (word_is(w, wn, "ordered")) {
		if (msg || regex)
			goto bad;
		c->ordered = true;
	} else {
		goto bad;
	}
	return 0;
bad:
	seterr(ps->err, ps->errlen, "line %zu: invalid expect directive '%.*s'", lineno, (int)L->n, L->s);
	return -1;
}

static int parse_eval(parser *ps, size_t *ip)
{
	size_t i = *ip;
	tline *L = &ps->lines[i];
	tp_arena *a = &ps->f->arena;
	promql_test_cmd *c = new_cmd(ps, PROMQL_TEST_EVAL, (int)i + 1);
	ps->f->nevals++;
	const char *w;
	size_t wn, p = 0;
	bool ok = true;
	size_t anno_cap = 0, ser_cap = 0;
	next_word(L->s, L->n, &p, &w, &wn);
	if (word_is(w, wn, "eval_fail"))
		c->fail = true;
	else if (word_is(w, wn, "eval_ordered"))
		c->ordered = true;
	else if (word_is(w, wn, "eval_warn"))
		c->want_warn = true, add_anno(a, c, &anno_cap, false, NULL, NULL);
	else if (word_is(w, wn, "eval_info"))
		c->want_info = true, add_anno(a, c, &anno_cap, true, NULL, NULL);
	else if (!word_is(w, wn, "eval"))
		goto bad_hdr;
	if (!next_word(L->s, L->n, &p, &w, &wn))
		goto bad_hdr;
	if (word_is(w, wn, "instant")) {
		if (!next_word(L->s, L->n, &p, &w, &wn) || !word_is(w, wn, "at"))
			goto bad_hdr;
		if (!next_word(L->s, L->n, &p, &w, &wn))
			goto bad_hdr;
		c->at_ms = dur_or_fail(w, wn, &ok);
	} else if (word_is(w, wn, "range")) {
		if (c->ordered)
			goto bad_hdr;
		c->is_range = true;
		int64_t *dst[3] = { &c->start_ms, &c->end_ms, &c->step_ms };
		const char *kw[3] = { "from", "to", "step" };
		for (int k = 0; k < 3; k++) {
			if (!next_word(L->s, L->n, &p, &w, &wn) || !word_is(w, wn, kw[k]))
				goto bad_hdr;
			if (!next_word(L->s, L->n, &p, &w, &wn))
				goto bad_hdr;
			*dst[k] = dur_or_fail(w, wn, &ok);
		}
		if (c->end_ms < c->start_ms || c->step_ms <= 0)
			ok = false;
	} else {
		goto bad_hdr;
	}
	skip_ws(L->s, L->n, &p);
	if (!ok || p >= L->n)
		goto bad_hdr;
	c->expr = tp_arena_strndup(a, L->s + p, L->n - p);

	uint32_t pos = 0;
	bool seen_fail = false;
	for (i++; i < ps->nlines && ps->lines[i].n; i++) {
		tline *B = &ps->lines[i];
		size_t lineno = i + 1;
		if (prefix(B->s, B->n, "expected_fail_message") || prefix(B->s, B->n, "expected_fail_regexp")) {
			bool re = B->s[14] == 'r';
			size_t k = strlen("expected_fail_message");
			char *t = dup_trim(a, B->s + k, B->n - k);
			c->fail = true;
			if (re)
				c->fail_regex = t;
			else
				c->fail_msg = t;
			i++;
			break;
		}
		if (prefix(B->s, B->n, "expect range vector")) {
			size_t q = strlen("expect range vector");
			int64_t *dst[3] = { &c->rv_start_ms, &c->rv_end_ms, &c->rv_step_ms };
			const char *kw[3] = { "from", "to", "step" };
			for (int k = 0; k < 3; k++) {
				if (!next_word(B->s, B->n, &q, &w, &wn) || !word_is(w, wn, kw[k]))
					goto bad_body;
				if (!next_word(B->s, B->n, &q, &w, &wn))
					goto bad_body;
				*dst[k] = dur_or_fail(w, wn, &ok);
			}
			skip_ws(B->s, B->n, &q);
			if (!ok || q != B->n || c->rv_step_ms <= 0)
				goto bad_body;
			c->range_vector = true;
			continue;
		}
		if (prefix(B->s, B->n, "expect string")) {
			size_t q = strlen("expect string");
			skip_ws(B->s, B->n, &q);
			if (parse_string(a, B->s, B->n, &q, &c->string) != 0)
				goto bad_body;
			skip_ws(B->s, B->n, &q);
			if (q != B->n)
				goto bad_body;
			c->has_string = true;
			continue;
		}
		{
			size_t q = 0;
			if (next_word(B->s, B->n, &q, &w, &wn) && word_is(w, wn, "expect")) {
				if (parse_directive(ps, c, &anno_cap, &seen_fail, B, lineno) != 0)
					return -1;
				continue;
			}
		}
		if (promql_test_parse_scalar(B->s, B->n, &c->scalar)) {
			c->has_scalar = true;
			i++;
			break; /* a bare number ends the body */
		}
		promql_test_series ser;
		char e[200];
		if (promql_test_series_parse(a, B->s, B->n, &ser, e, sizeof e) != 0) {
			seterr(ps->err, ps->errlen, "line %zu: %s", lineno, e);
			return -1;
		}
		if (!c->is_range && !c->range_vector && ser.nslots > 1) {
			seterr(ps->err, ps->errlen, "line %zu: expecting multiple values in instant evaluation not allowed",
			       lineno);
			return -1;
		}
		ser.line = (int)lineno;
		ser.pos = ++pos;
		if (ser.has_hist)
			c->hist_exp = true;
		add_series(a, c, &ser_cap, &ser);
		continue;
bad_body:
		seterr(ps->err, ps->errlen, "line %zu: invalid line '%.*s'", lineno, (int)B->n, B->s);
		return -1;
	}
	*ip = i;
	return 0;
bad_hdr:
	seterr(ps->err, ps->errlen, "line %zu: invalid eval command '%.*s'", i + 1, (int)L->n, L->s);
	return -1;
}

int promql_test_file_parse(promql_test_file *f, const char *path, const char *text, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	tp_arena_init(&f->arena);
	f->path = tp_arena_strdup(&f->arena, path ? path : "-");
	parser ps = { .f = f, .err = err, .errlen = errlen };
	size_t cap = 0;
	for (const char *s = text;;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		if (ps.nlines == cap) {
			size_t nc = cap ? cap * 2 : 256;
			ps.lines = tp_arena_realloc(&f->arena, ps.lines, cap * sizeof(tline), nc * sizeof(tline));
			cap = nc;
		}
		const char *b = s;
		size_t m = n;
		while (m && is_ws(*b))
			b++, m--;
		while (m && is_ws(b[m - 1]))
			m--;
		if (m && b[0] == '#')
			m = 0;
		ps.lines[ps.nlines].s = b;
		ps.lines[ps.nlines].n = m;
		ps.nlines++;
		if (!nl)
			break;
		s = nl + 1;
	}
	size_t i = 0;
	while (i < ps.nlines) {
		tline *L = &ps.lines[i];
		if (!L->n) {
			i++;
			continue;
		}
		const char *w;
		size_t wn, p = 0;
		next_word(L->s, L->n, &p, &w, &wn);
		int rc;
		if (wn == 5 && strncasecmp(w, "clear", 5) == 0) {
			if (!word_is(w, wn, "clear") || p != L->n) {
				seterr(err, errlen, "line %zu: invalid clear command", i + 1);
				rc = -1;
			} else {
				new_cmd(&ps, PROMQL_TEST_CLEAR, (int)i + 1);
				i++;
				rc = 0;
			}
		} else if (wn >= 4 && strncasecmp(w, "load", 4) == 0) {
			rc = parse_load(&ps, &i);
		} else if (wn >= 4 && strncasecmp(w, "eval", 4) == 0) {
			rc = parse_eval(&ps, &i);
		} else {
			seterr(err, errlen, "line %zu: unknown command '%.*s'", i + 1, (int)wn, w);
			rc = -1;
		}
		if (rc != 0) {
			promql_test_file_free(f);
			return -1;
		}
	}
	return 0;
}

int promql_test_file_load(promql_test_file *f, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		seterr(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	tp_strbuf sb = { 0 };
	char buf[65536];
	size_t r;
	while ((r = fread(buf, 1, sizeof buf, fp)) > 0)
		tp_sb_append(&sb, buf, r);
	bool bad = ferror(fp);
	fclose(fp);
	if (bad) {
		tp_sb_free(&sb);
		seterr(err, errlen, "read error");
		return -1;
	}
	int rc = promql_test_file_parse(f, path, tp_sb_cstr(&sb), err, errlen);
	tp_sb_free(&sb);
	return rc;
}

void promql_test_file_free(promql_test_file *f)
{
	if (!f)
		return;
	tp_arena_free(&f->arena);
	memset(f, 0, sizeof *f);
}
