/* SPDX-License-Identifier: Apache-2.0
 * expfmt.c - zero-copy pull parsers for the Prometheus text format and
 * OpenMetrics 1.0 (see expfmt.h).
 *
 * The lexers are hand-written translations of Prometheus's golex grammars
 * (promlex.l, openmetricslex.l): one function per format, a state variable
 * (ORDER S_*) and tokens (ORDER T_*) with Prometheus's token names, because
 * those names appear in error texts ("got \"\\n\" (\"LINEBREAK\")").
 * Invariants: the input is never written; the text format reads a virtual
 * '\n' at b[n] (Prometheus appends one); positions are byte offsets into b;
 * offsets arrays only grow, so steady-state parsing does not allocate.
 * Deliberate differences from Prometheus: a text-format timestamp may be
 * negative (COMPAT.md 6.1, expfmt accepts it), a series span starts at the
 * metric name rather than at leading blanks, and an OpenMetrics token that
 * is neither timestamp, exemplar nor newline after a value is an error. */
#include "config.h"
#include "scrape/expfmt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/common.h"
#include "lib/strbuf.h"

/* ---- tokens and lexer states ---------------------------------------- */

/* ORDER T_: tok_names below. */
enum {
	T_INVALID = -1,
	T_EOF = 0,
	T_LINEBREAK,
	T_WHITESPACE,
	T_HELP,
	T_TYPE,
	T_UNIT,
	T_EOFWORD,
	T_TEXT,
	T_COMMENT,
	T_BLANK,
	T_MNAME,
	T_QSTRING,
	T_BOPEN,
	T_BCLOSE,
	T_LNAME,
	T_LVALUE,
	T_COMMA,
	T_EQUAL,
	T_TIMESTAMP,
	T_VALUE,
};

static const char *tok_name(int t)
{
	static const char *const names[] = {
		"EOF", "LINEBREAK", "WHITESPACE", "HELP", "TYPE", "UNIT", "EOFWORD", "TEXT",
		"COMMENT", "BLANK", "MNAME", "QSTRING", "BOPEN", "BCLOSE", "LNAME", "LVALUE",
		"COMMA", "EQUAL", "TIMESTAMP", "VALUE",
	};
	if (t == T_INVALID)
		return "INVALID";
	if (t >= 0 && (size_t)t < TP_ARRAY_LEN(names))
		return names[t];
	return "<invalid>";
}

enum {
	S_INIT = 0,
	S_COMMENT,
	S_META1,
	S_META2,
	S_LABELS,
	S_LVALUE,
	S_VALUE,
	S_TIMESTAMP,
	S_EXEMPLAR,
	S_EVALUE,
	S_ETIMESTAMP,
};

#define NO_OFF ((size_t)-1)

/* Virtual length: the text format sees one extra '\n' at the end. */
static inline size_t vlen(const scrape_parser *p)
{
	return p->n + (p->format == SCRAPE_FORMAT_TEXT ? 1 : 0);
}

/* Byte at i, '\n' at the virtual end of a text exposition, -1 past it. */
static inline int at(const scrape_parser *p, size_t i)
{
	if (i < p->n)
		return (unsigned char)p->b[i];
	if (i < vlen(p))
		return '\n';
	return -1;
}

/* Character classes of the grammars: L [a-zA-Z_], D [0-9], C ':' . */
enum { CL_L = 1, CL_D = 2, CL_C = 4 };
static const uint8_t cls[256] = {
	['a' ... 'z'] = CL_L, ['A' ... 'Z'] = CL_L, ['_'] = CL_L,
	['0' ... '9'] = CL_D, [':'] = CL_C,
};

static inline bool is_l(int c) /* [a-zA-Z_] */
{
	return c >= 0 && (cls[c] & CL_L);
}
static inline bool is_m(int c) /* [a-zA-Z_:] */
{
	return c >= 0 && (cls[c] & (CL_L | CL_C));
}
static inline bool is_d(int c)
{
	return c >= '0' && c <= '9';
}

/* Scans a quoted string starting at p->i (a '"'); returns true with p->i
 * after the closing quote, or false with p->i at the offending byte.
 * NUL only passes inside label values (Prometheus's lexer skips NULs in
 * that state; golex's negated classes never match NUL elsewhere). */
static bool scan_quoted(scrape_parser *p, bool allow_nl)
{
	bool allow_nul = p->state == S_LVALUE;
	size_t i = p->i + 1;
	for (;;) {
		int c = at(p, i);
		if (c < 0 || (c == '\n' && !allow_nl) || (c == 0 && !allow_nul)) {
			p->i = i;
			return false;
		}
		if (c == '\\') {
			int d = at(p, i + 1);
			if (d < 0 || (d == '\n' && !allow_nl) || (d == 0 && !allow_nul)) {
				p->i = i + 1;
				return false;
			}
			i += 2;
			continue;
		}
		i++;
		if (c == '"') {
			p->i = i;
			return true;
		}
	}
}

/* {M}({M}|{D})* or {L}({L}|{D})*; the virtual '\n' at b[n] ends it. */
static void scan_name(scrape_parser *p, bool metric)
{
	const uint8_t mask = CL_L | CL_D | (metric ? CL_C : 0);
	const unsigned char *b = (const unsigned char *)p->b;
	size_t i = p->i + 1, n = p->n;
	while (i < n && (cls[b[i]] & mask))
		i++;
	p->i = i;
}

static int text_comment(scrape_parser *p)
{
	const char *nl = p->i < p->n ? memchr(p->b + p->i, '\n', p->n - p->i) : NULL;
	p->i = nl ? (size_t)(nl - p->b) : TP_MAX(p->i, p->n);
	p->state = S_INIT;
	return T_COMMENT;
}

static bool match_word_ws(scrape_parser *p, const char *w)
{
	size_t k = strlen(w);
	for (size_t j = 0; j < k; j++)
		if (at(p, p->i + j) != w[j])
			return false;
	int c = at(p, p->i + k);
	if (c != ' ' && c != '\t')
		return false;
	p->i += k;
	while (at(p, p->i) == ' ' || at(p, p->i) == '\t')
		p->i++;
	return true;
}

/* One token of the text format (promlex.l). */
static int lex_text(scrape_parser *p)
{
	if (p->i >= vlen(p))
		return T_EOF;
	p->tok_start = p->i;
	int c = at(p, p->i);
	if (c == ' ' || c == '\t') {
		if (p->state == S_META2)
			goto meta2; /* {C}* is longer unless the rest of the line is blank */
		while (at(p, p->i) == ' ' || at(p, p->i) == '\t')
			p->i++;
		return T_WHITESPACE;
	}
	switch (p->state) {
	case S_INIT:
		if (c == 0)
			return T_EOF;
		if (c == '\n') {
			p->i++;
			return T_LINEBREAK;
		}
		if (c == '#') {
			p->i++;
			int d = at(p, p->i);
			if (d != ' ' && d != '\t')
				return text_comment(p);
			while (at(p, p->i) == ' ' || at(p, p->i) == '\t')
				p->i++;
			p->state = S_COMMENT;
			if (match_word_ws(p, "HELP")) {
				p->state = S_META1;
				return T_HELP;
			}
			if (match_word_ws(p, "TYPE")) {
				p->state = S_META1;
				return T_TYPE;
			}
			return text_comment(p);
		}
		if (is_m(c)) {
			scan_name(p, true);
			p->state = S_VALUE;
			return T_MNAME;
		}
		if (c == '{') {
			p->i++;
			p->state = S_LABELS;
			return T_BOPEN;
		}
		return T_INVALID;
	case S_META1:
		if (c == '"') {
			if (!scan_quoted(p, true))
				return T_INVALID;
			p->state = S_META2;
			return T_MNAME;
		}
		if (is_m(c)) {
			scan_name(p, true);
			p->state = S_META2;
			return T_MNAME;
		}
		return T_INVALID;
	case S_META2:
	meta2: {
		size_t i = p->i;
		const char *nl = i < p->n ? memchr(p->b + i, '\n', p->n - i) : NULL;
		size_t e = nl ? (size_t)(nl - p->b) : TP_MAX(i, p->n);
		bool blank = true;
		for (size_t k = i; k < e && blank; k++)
			if (p->b[k] != ' ' && p->b[k] != '\t')
				blank = false;
		i = e;
		p->i = i;
		if (blank && i > p->tok_start)
			return T_WHITESPACE;
		p->state = S_INIT;
		return T_TEXT;
	}
	case S_VALUE:
		if (c == '{') {
			p->i++;
			p->state = S_LABELS;
			return T_BOPEN;
		}
		/* [^{ \t\n]+; golex never matches NUL in a negated class */
		if (c != '\n' && c > 0) {
			const char *b = p->b;
			size_t i = p->i, n = p->n;
			while (i < n && b[i] != '\0' && b[i] != '{' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n')
				i++;
			p->i = i;
			p->state = S_TIMESTAMP;
			return T_VALUE;
		}
		return T_INVALID;
	case S_LABELS:
		if (is_l(c)) {
			scan_name(p, false);
			return T_LNAME;
		}
		if (c == '"')
			return scan_quoted(p, true) ? T_QSTRING : T_INVALID;
		p->i++;
		switch (c) {
		case '}':
			p->state = S_VALUE;
			return T_BCLOSE;
		case '=':
			p->state = S_LVALUE;
			return T_EQUAL;
		case ',':
			return T_COMMA;
		}
		p->i--;
		return T_INVALID;
	case S_LVALUE:
		if (c == '"') {
			if (!scan_quoted(p, true))
				return T_INVALID;
			p->state = S_LABELS;
			return T_LVALUE;
		}
		return T_INVALID;
	case S_TIMESTAMP:
		if (c == '\n') {
			p->i++;
			p->state = S_INIT;
			return T_LINEBREAK;
		}
		if (is_d(c) || (c == '-' && is_d(at(p, p->i + 1)))) {
			p->i++;
			while (is_d(at(p, p->i)))
				p->i++;
			return T_TIMESTAMP;
		}
		return T_INVALID;
	}
	return T_INVALID;
}

static bool om_word(scrape_parser *p, const char *w)
{
	size_t k = strlen(w);
	for (size_t j = 0; j < k; j++)
		if (at(p, p->i + j) != w[j])
			return false;
	p->i += k;
	return true;
}

/* {S}[^ \n]+ : a space then a non-empty word. */
static bool om_spaced_word(scrape_parser *p)
{
	if (at(p, p->i) != ' ')
		return false;
	size_t i = p->i + 1;
	while (at(p, i) > 0 && at(p, i) != ' ' && at(p, i) != '\n')
		i++;
	if (i == p->i + 1) {
		p->i = i;
		return false;
	}
	p->i = i;
	return true;
}

/* One token of OpenMetrics (openmetricslex.l): single spaces, no blanks. */
static int lex_om(scrape_parser *p)
{
	if (p->i >= p->n)
		return T_EOF;
	p->tok_start = p->i;
	int c = at(p, p->i);
	switch (p->state) {
	case S_INIT:
		if (c == '#' && at(p, p->i + 1) != ' ') {
			p->i++; /* golex consumed the '#' before failing */
			return T_INVALID;
		}
		if (c == '#') {
			p->i += 2;
			p->state = S_COMMENT;
			if (om_word(p, "HELP ")) {
				p->state = S_META1;
				return T_HELP;
			}
			if (om_word(p, "TYPE ")) {
				p->state = S_META1;
				return T_TYPE;
			}
			if (om_word(p, "UNIT ")) {
				p->state = S_META1;
				return T_UNIT;
			}
			if (om_word(p, "EOF")) {
				if (at(p, p->i) == '\n')
					p->i++;
				p->state = S_INIT;
				return T_EOFWORD;
			}
			/* fail where golex does: after the longest keyword prefix */
			size_t best = 0;
			static const char *const kw[] = { "HELP ", "TYPE ", "UNIT ", "EOF" };
			for (size_t k = 0; k < TP_ARRAY_LEN(kw); k++) {
				size_t j = 0;
				while (kw[k][j] && at(p, p->i + j) == kw[k][j])
					j++;
				best = TP_MAX(best, j);
			}
			p->i += best;
			return T_INVALID;
		}
		if (is_m(c)) {
			scan_name(p, true);
			p->state = S_VALUE;
			return T_MNAME;
		}
		if (c == '{') {
			p->i++;
			p->state = S_LABELS;
			return T_BOPEN;
		}
		return T_INVALID;
	case S_META1:
		if (c == '"') {
			if (!scan_quoted(p, true))
				return T_INVALID;
			p->state = S_META2;
			return T_MNAME;
		}
		if (is_m(c)) {
			scan_name(p, true);
			p->state = S_META2;
			return T_MNAME;
		}
		return T_INVALID;
	case S_META2:
		if (c != ' ')
			return T_INVALID;
		while (at(p, p->i) >= 0 && at(p, p->i) != '\n')
			p->i++;
		if (at(p, p->i) != '\n')
			return T_INVALID;
		p->i++;
		p->state = S_INIT;
		return T_TEXT;
	case S_VALUE:
		if (c == '{') {
			p->i++;
			p->state = S_LABELS;
			return T_BOPEN;
		}
		if (om_spaced_word(p)) {
			p->state = S_TIMESTAMP;
			return T_VALUE;
		}
		return T_INVALID;
	case S_LABELS:
	case S_EXEMPLAR:
		if (is_l(c)) {
			scan_name(p, false);
			return T_LNAME;
		}
		if (c == '"')
			return scan_quoted(p, p->state == S_LABELS) ? T_QSTRING : T_INVALID;
		switch (c) {
		case '}':
			p->i++;
			p->state = p->state == S_LABELS ? S_VALUE : S_EVALUE;
			return T_BCLOSE;
		case '=':
			p->i++;
			p->state = p->state == S_LABELS ? S_LVALUE : S_EVALUE;
			return T_EQUAL;
		case ',':
			p->i++;
			return T_COMMA;
		}
		return T_INVALID;
	case S_LVALUE:
		if (c == '"') {
			if (!scan_quoted(p, false))
				return T_INVALID;
			p->state = S_LABELS;
			return T_LVALUE;
		}
		return T_INVALID;
	case S_EVALUE:
		if (c == '"') {
			if (!scan_quoted(p, false))
				return T_INVALID;
			p->state = S_EXEMPLAR;
			return T_LVALUE;
		}
		if (om_spaced_word(p)) {
			p->state = S_ETIMESTAMP;
			return T_VALUE;
		}
		return T_INVALID;
	case S_TIMESTAMP:
	case S_ETIMESTAMP:
		if (c == '\n') {
			p->i++;
			p->state = S_INIT;
			return T_LINEBREAK;
		}
		if (p->state == S_TIMESTAMP && c == ' ' && at(p, p->i + 1) == '#' &&
		    at(p, p->i + 2) == ' ' && at(p, p->i + 3) == '{') {
			p->i += 4;
			p->state = S_EXEMPLAR;
			return T_COMMENT;
		}
		if (om_spaced_word(p))
			return T_TIMESTAMP;
		return T_INVALID;
	}
	return T_INVALID;
}

static int next_token(scrape_parser *p)
{
	if (p->format == SCRAPE_FORMAT_OPENMETRICS)
		return lex_om(p);
	for (;;) {
		int t = lex_text(p);
		if (t != T_WHITESPACE)
			return t;
	}
}

/* ---- strings: UTF-8, Go quoting, unescaping, floats -------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t k;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	unsigned cp = c & (0x7f >> k);
	for (size_t j = 1; j < k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

bool scrape_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq(u + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

static size_t count_runes(const char *s, size_t n)
{
	size_t r = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			r++;
	return r;
}

size_t scrape_quote(char *dst, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	const unsigned char *u = (const unsigned char *)s;
#define PUT(ch)                                   \
	do {                                      \
		if (o + 1 < cap)                  \
			dst[o++] = (char)(ch);    \
	} while (0)
	PUT('"');
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		if (c >= 0x80) {
			size_t k = utf8_seq(u + i, n - i);
			if (k) {
				for (size_t j = 0; j < k; j++)
					PUT(u[i + j]);
				i += k;
			} else {
				PUT('\\');
				PUT('x');
				PUT(hex[c >> 4]);
				PUT(hex[c & 15]);
				i++;
			}
			continue;
		}
		i++;
		switch (c) {
		case '"': PUT('\\'); PUT('"'); continue;
		case '\\': PUT('\\'); PUT('\\'); continue;
		case '\n': PUT('\\'); PUT('n'); continue;
		case '\t': PUT('\\'); PUT('t'); continue;
		case '\r': PUT('\\'); PUT('r'); continue;
		case '\a': PUT('\\'); PUT('a'); continue;
		case '\b': PUT('\\'); PUT('b'); continue;
		case '\f': PUT('\\'); PUT('f'); continue;
		case '\v': PUT('\\'); PUT('v'); continue;
		}
		if (c < 0x20 || c == 0x7f) {
			PUT('\\');
			PUT('x');
			PUT(hex[c >> 4]);
			PUT(hex[c & 15]);
		} else {
			PUT(c);
		}
	}
	PUT('"');
#undef PUT
	if (cap)
		dst[o < cap ? o : cap - 1] = '\0';
	return o;
}

size_t scrape_unescape(char *dst, const char *s, size_t n, bool help)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			char d = s[i + 1];
			if (d == '\\' || d == 'n' || (!help && d == '"')) {
				dst[o++] = d == 'n' ? '\n' : d;
				i++;
				continue;
			}
		}
		dst[o++] = c;
	}
	return o;
}

static bool ieq_prefix(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);
	if (n < k)
		return false;
	return strncasecmp(s, w, k) == 0;
}

int scrape_parse_float(const char *s, size_t n, double *out)
{
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] == 'p' || s[i] == 'P' || s[i] == '_')
			return -3; /* Prometheus: "unsupported character in float" */
	size_t i = 0;
	bool neg = false;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		i = 1;
	}
	/* Go's special(): [+-]inf, [+-]infinity, nan (no sign). */
	if (i < n && (s[i] == 'i' || s[i] == 'I')) {
		if ((n - i == 8 && ieq_prefix(s + i, n - i, "infinity")) ||
		    (n - i == 3 && ieq_prefix(s + i, n - i, "inf"))) {
			*out = neg ? -INFINITY : INFINITY;
			return 0;
		}
		return -1;
	}
	if (i == 0 && n == 3 && ieq_prefix(s, n, "nan")) {
		*out = NAN;
		return 0;
	}
	/* Decimal: digits [. digits] [e [+-] digits], at least one digit. */
	size_t digits = 0;
	size_t j = i;
	while (j < n && is_d((unsigned char)s[j])) {
		j++;
		digits++;
	}
	if (j < n && s[j] == '.') {
		j++;
		while (j < n && is_d((unsigned char)s[j])) {
			j++;
			digits++;
		}
	}
	if (!digits)
		return -1;
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		j++;
		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		size_t ed = 0;
		while (j < n && is_d((unsigned char)s[j])) {
			j++;
			ed++;
		}
		if (!ed)
			return -1;
	}
	if (j != n)
		return -1;
	char tmp[128];
	char *buf = n < sizeof(tmp) ? tmp : tp_xmalloc(n + 1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	double v = strtod(buf, NULL);
	int rc = (errno == ERANGE && isinf(v)) ? -2 : 0;
	if (buf != tmp)
		free(buf);
	*out = v;
	return rc;
}

/* Go's strconv.ParseInt(s, 10, 64). */
static int parse_int64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return -1;
	uint64_t v = 0;
	bool ovf = false;
	for (; i < n; i++) {
		if (!is_d((unsigned char)s[i]))
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			ovf = true;
		else
			v = v * 10 + d;
	}
	if (ovf || (!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
		return -2;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* ---- errors ------------------------------------------------------------ */

/* Quotes the virtual bytes [s, e) (the text format's trailing '\n'
 * included), truncated to keep messages bounded. */
static size_t quote_span(const scrape_parser *p, char *dst, size_t cap, size_t s, size_t e)
{
	char tmp[400];
	size_t k = 0;
	if (e > vlen(p))
		e = vlen(p);
	for (size_t i = s; i < e && k < sizeof(tmp); i++)
		tmp[k++] = (char)at(p, i);
	return scrape_quote(dst, cap, tmp, k);
}

static scrape_entry fail(scrape_parser *p, scrape_err code, const char *fmt, ...) TP_PRINTF(3, 4);
static scrape_entry fail(scrape_parser *p, scrape_err code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
	va_end(ap);
	p->err = code;
	p->done = true;
	p->err_line = scrape_parser_line(p);
	return SCRAPE_ENTRY_INVALID;
}

/* Prometheus's parseError: `EXP, got "TOK" ("NAME") while parsing: "LINE"`. */
static scrape_entry parse_error(scrape_parser *p, scrape_err code, const char *exp, int got)
{
	char a[256], b[512];
	size_t e = p->i + 1;
	p->err_pos = p->tok_start;
	quote_span(p, a, sizeof(a), p->tok_start, e);
	quote_span(p, b, sizeof(b), p->start, e);
	return fail(p, code, "%s, got %s (\"%s\") while parsing: %s", exp, a, tok_name(got), b);
}

static scrape_entry float_error(scrape_parser *p, scrape_err code, int rc, const char *s, size_t n,
				bool is_int)
{
	char q[256], l[512];
	p->err_pos = (size_t)(s - p->b);
	scrape_quote(q, sizeof(q), s, n);
	quote_span(p, l, sizeof(l), p->start, p->i);
	if (rc == -3)
		return fail(p, code, "unsupported character in float while parsing: %s", l);
	return fail(p, code, "strconv.%s: parsing %s: %s while parsing: %s",
		    is_int ? "ParseInt" : "ParseFloat", q,
		    rc == -2 ? "value out of range" : "invalid syntax", l);
}

/* ---- parser ------------------------------------------------------------ */

scrape_format scrape_format_from_content_type(const char *ct, bool *known)
{
	if (known)
		*known = false;
	if (!ct)
		return SCRAPE_FORMAT_TEXT;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strcspn(ct, ";, \t");
	if (n == 28 && strncasecmp(ct, "application/openmetrics-text", n) == 0) {
		if (known)
			*known = true;
		return SCRAPE_FORMAT_OPENMETRICS;
	}
	if (n == 10 && strncasecmp(ct, "text/plain", n) == 0) {
		if (known)
			*known = true;
	}
	return SCRAPE_FORMAT_TEXT;
}

const char *scrape_metric_type_name(scrape_metric_type t)
{
	static const char *const names[] = { "unknown", "counter", "gauge", "histogram",
					     "gaugehistogram", "summary", "info", "stateset" };
	if ((size_t)t < TP_ARRAY_LEN(names))
		return names[t];
	return "unknown";
}

void scrape_parser_init(scrape_parser *p, scrape_format f, const char *buf, size_t len)
{
	memset(p, 0, sizeof(*p));
	scrape_parser_reset(p, f, buf, len);
}

void scrape_parser_reset(scrape_parser *p, scrape_format f, const char *buf, size_t len)
{
	p->b = buf;
	p->n = buf ? len : 0;
	p->format = f;
	p->i = p->tok_start = p->start = 0;
	p->state = S_INIT;
	p->noffs = p->neoffs = 0;
	p->series = NULL;
	p->series_len = 0;
	p->value = 0;
	p->has_ts = p->has_exemplar = false;
	p->mtype = SCRAPE_TYPE_UNKNOWN;
	p->fam = NULL;
	p->fam_len = 0;
	p->text = NULL;
	p->text_len = 0;
	p->err = SCRAPE_ERR_NONE;
	p->err_msg[0] = '\0';
	p->err_line = 0;
	p->err_pos = 0;
	p->line_pos = 0;
	p->line_no = 1;
	p->done = false;
}

void scrape_parser_free(scrape_parser *p)
{
	free(p->offs);
	free(p->eoffs);
	free(p->scratch);
	p->offs = p->eoffs = NULL;
	p->scratch = NULL;
	p->cap_offs = p->cap_eoffs = p->cap_scratch = 0;
}

uint32_t scrape_parser_line(scrape_parser *p)
{
	size_t target = p->start < p->n ? p->start : p->n;
	if (target < p->line_pos) {
		p->line_pos = 0;
		p->line_no = 1;
	}
	const char *s = p->b + p->line_pos;
	const char *end = p->b + target;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			break;
		p->line_no++;
		s = nl + 1;
	}
	p->line_pos = target;
	return p->line_no;
}

static inline void push_off(size_t **arr, size_t *n, size_t *cap, size_t a, size_t b)
{
	if (TP_UNLIKELY(*n + 2 > *cap))
		TP_GROW(*arr, *cap, *n + 2);
	(*arr)[(*n)++] = a;
	(*arr)[(*n)++] = b;
}

/* Raw equality of two label names, each a [s,e) span. */
static bool span_eq(const scrape_parser *p, size_t as, size_t ae, size_t bs, size_t be)
{
	return ae - as == be - bs && memcmp(p->b + as, p->b + bs, ae - as) == 0;
}

static scrape_entry dup_label(scrape_parser *p, size_t s, size_t e)
{
	char q[256];
	p->err_pos = s;
	scrape_quote(q, sizeof(q), p->b + s, e - s);
	return fail(p, SCRAPE_ERR_LABEL_DUP, "label name %s is not unique: invalid sample", q);
}

/* tp_labels strings are NUL-terminated, so a NUL inside a name or value
 * (which Prometheus tolerates) cannot be stored: refuse it. */
static bool has_nul(scrape_parser *p, size_t s, size_t e, const char *what)
{
	if (e <= s || !memchr(p->b + s, '\0', e - s))
		return false;
	char q[256];
	p->err_pos = s;
	scrape_quote(q, sizeof(q), p->b + s, e - s);
	fail(p, SCRAPE_ERR_LABEL_UTF8, "%s %s contains a NUL byte", what, q);
	return true;
}

/* Parses the inside of {...}; offs is p->offs or p->eoffs. Returns
 * SCRAPE_ENTRY_SERIES on success. */
static scrape_entry parse_lvals(scrape_parser *p, bool exemplar)
{
	size_t **arr = exemplar ? &p->eoffs : &p->offs;
	size_t *cnt = exemplar ? &p->neoffs : &p->noffs;
	size_t *cap = exemplar ? &p->cap_eoffs : &p->cap_offs;
	bool om = p->format == SCRAPE_FORMAT_OPENMETRICS;
	int t = next_token(p);
	for (;;) {
		size_t cs = p->tok_start, ce = p->i;
		bool isq = false;
		switch (t) {
		case T_BCLOSE:
			return SCRAPE_ENTRY_SERIES;
		case T_LNAME:
			break;
		case T_QSTRING:
			isq = true;
			break;
		default:
			return parse_error(p, SCRAPE_ERR_LABEL_NAME, "expected label name", t);
		}
		t = next_token(p);
		/* A quoted string followed by ',' or '}' is the metric name; the
		 * OpenMetrics parser applies this to bare names too, and refuses
		 * it inside exemplars. */
		if ((isq || om) && (t == T_COMMA || t == T_BCLOSE)) {
			if (exemplar)
				return parse_error(p, SCRAPE_ERR_EXEMPLAR, "expected label name", t);
			if (p->offs[0] != NO_OFF || p->offs[1] != NO_OFF) {
				char q[512];
				quote_span(p, q, sizeof(q), p->start, p->i);
				return fail(p, SCRAPE_ERR_NAME_TWICE, "metric name already set while parsing: %s", q);
			}
			if (isq) {
				cs++;
				ce--;
			}
			if (has_nul(p, cs, ce, "metric name"))
				return SCRAPE_ENTRY_INVALID;
			p->offs[0] = cs;
			p->offs[1] = ce;
			if (t == T_BCLOSE)
				return SCRAPE_ENTRY_SERIES;
			t = next_token(p);
			continue;
		}
		if (isq) {
			cs++;
			ce--;
			if (has_nul(p, cs, ce, "label name"))
				return SCRAPE_ENTRY_INVALID;
		}
		/* Duplicate names, including a __name__ label next to a name. */
		for (size_t k = exemplar ? 0 : 2; k < *cnt; k += 4)
			if (span_eq(p, (*arr)[k], (*arr)[k + 1], cs, ce))
				return dup_label(p, cs, ce);
		if (!exemplar && p->offs[0] != NO_OFF && ce - cs == 8 && memcmp(p->b + cs, "__name__", 8) == 0)
			return dup_label(p, cs, ce);
		push_off(arr, cnt, cap, cs, ce);
		if (t != T_EQUAL)
			return parse_error(p, SCRAPE_ERR_LABEL_EQUAL, "expected equal", t);
		t = next_token(p);
		if (t != T_LVALUE)
			return parse_error(p, SCRAPE_ERR_LABEL_VALUE, "expected label value", t);
		if (!scrape_utf8_valid(p->b + p->tok_start, p->i - p->tok_start)) {
			char q[256];
			p->err_pos = p->tok_start;
			scrape_quote(q, sizeof(q), p->b + p->tok_start, p->i - p->tok_start);
			return fail(p, SCRAPE_ERR_LABEL_UTF8, "invalid UTF-8 label value: %s", q);
		}
		if (has_nul(p, p->tok_start + 1, p->i - 1, "label value"))
			return SCRAPE_ENTRY_INVALID;
		push_off(arr, cnt, cap, p->tok_start + 1, p->i - 1);
		t = next_token(p);
		if (t == T_COMMA)
			t = next_token(p);
		else if (om && t != T_BCLOSE)
			return parse_error(p, SCRAPE_ERR_SYNTAX, "expected comma or brace close", t);
	}
}

/* Go's %f for the "invalid timestamp" messages (only NaN/Inf reach it). */
static const char *go_f(double v, char *buf, size_t n)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	snprintf(buf, n, "%f", v);
	return buf;
}

static int64_t seconds_to_ms(double s)
{
	double ms = s * 1000.0;
	if (ms >= 9.2233720368547758e18)
		return INT64_MAX;
	if (ms <= -9.2233720368547758e18)
		return INT64_MIN;
	return (int64_t)ms;
}

/* OpenMetrics float token (leading space stripped). */
static scrape_entry om_float(scrape_parser *p, int t, const char *after, double *out)
{
	if (t != T_VALUE) {
		char exp[64];
		snprintf(exp, sizeof(exp), "expected value after %s", after);
		return parse_error(p, strcmp(after, "metric") == 0 ? SCRAPE_ERR_VALUE : SCRAPE_ERR_EXEMPLAR, exp, t);
	}
	const char *s = p->b + p->tok_start + 1;
	size_t n = p->i - p->tok_start - 1;
	int rc = scrape_parse_float(s, n, out);
	if (rc)
		return float_error(p, strcmp(after, "metric") == 0 ? SCRAPE_ERR_VALUE : SCRAPE_ERR_EXEMPLAR, rc, s,
				   n, false);
	return SCRAPE_ENTRY_SERIES;
}

static scrape_entry om_timestamp(scrape_parser *p, scrape_err code, bool *has, int64_t *ts_ms,
				 const char *what)
{
	const char *s = p->b + p->tok_start + 1;
	size_t n = p->i - p->tok_start - 1;
	double ts;
	int rc = scrape_parse_float(s, n, &ts);
	if (rc)
		return float_error(p, code, rc, s, n, false);
	if (isnan(ts) || isinf(ts)) {
		char b[64];
		p->err_pos = p->tok_start;
		return fail(p, code, "invalid %s %s", what, go_f(ts, b, sizeof(b)));
	}
	*has = true;
	*ts_ms = seconds_to_ms(ts);
	return SCRAPE_ENTRY_SERIES;
}

static scrape_entry om_exemplar(scrape_parser *p)
{
	scrape_entry e = parse_lvals(p, true);
	if (e != SCRAPE_ENTRY_SERIES)
		return e;
	p->has_exemplar = true;
	e = om_float(p, next_token(p), "exemplar labels", &p->ex_value);
	if (e != SCRAPE_ENTRY_SERIES)
		return e;
	p->ex_has_ts = false;
	int t = next_token(p);
	switch (t) {
	case T_EOF:
		return fail(p, SCRAPE_ERR_NO_EOF, "data does not end with # EOF");
	case T_LINEBREAK:
		return SCRAPE_ENTRY_SERIES;
	case T_TIMESTAMP:
		e = om_timestamp(p, SCRAPE_ERR_EXEMPLAR, &p->ex_has_ts, &p->ex_ts_ms, "exemplar timestamp");
		if (e != SCRAPE_ENTRY_SERIES)
			return e;
		t = next_token(p);
		if (t != T_LINEBREAK)
			return parse_error(p, SCRAPE_ERR_EXEMPLAR, "expected next entry after exemplar timestamp", t);
		return SCRAPE_ENTRY_SERIES;
	default:
		return parse_error(p, SCRAPE_ERR_EXEMPLAR, "expected timestamp or comment", t);
	}
}

static scrape_entry metric_suffix(scrape_parser *p, int t)
{
	if (p->offs[0] == NO_OFF) {
		char q[512];
		quote_span(p, q, sizeof(q), p->start, p->i);
		p->err_pos = p->start;
		return fail(p, SCRAPE_ERR_NAME_MISSING, "metric name not set while parsing: %s", q);
	}
	p->has_ts = false;
	if (p->format == SCRAPE_FORMAT_OPENMETRICS) {
		scrape_entry e = om_float(p, t, "metric", &p->value);
		if (e != SCRAPE_ENTRY_SERIES)
			return e;
		if (isnan(p->value)) {
			uint64_t bits = 0x7ff8000000000001ULL;
			memcpy(&p->value, &bits, sizeof(bits));
		}
		int t2 = next_token(p);
		switch (t2) {
		case T_EOF:
			return fail(p, SCRAPE_ERR_NO_EOF, "data does not end with # EOF");
		case T_LINEBREAK:
			return SCRAPE_ENTRY_SERIES;
		case T_COMMENT:
			return om_exemplar(p);
		case T_TIMESTAMP:
			e = om_timestamp(p, SCRAPE_ERR_TIMESTAMP, &p->has_ts, &p->ts_ms, "timestamp");
			if (e != SCRAPE_ENTRY_SERIES)
				return e;
			t2 = next_token(p);
			if (t2 == T_LINEBREAK)
				return SCRAPE_ENTRY_SERIES;
			if (t2 == T_COMMENT)
				return om_exemplar(p);
			return parse_error(p, SCRAPE_ERR_AFTER_TS, "expected next entry after timestamp", t2);
		default:
			return parse_error(p, SCRAPE_ERR_TIMESTAMP, "expected timestamp or comment", t2);
		}
	}
	if (t != T_VALUE)
		return parse_error(p, SCRAPE_ERR_VALUE, "expected value after metric", t);
	const char *s = p->b + p->tok_start;
	size_t n = p->i - p->tok_start;
	int rc = scrape_parse_float(s, n, &p->value);
	if (rc)
		return float_error(p, SCRAPE_ERR_VALUE, rc, s, n, false);
	if (isnan(p->value)) {
		uint64_t bits = 0x7ff8000000000001ULL; /* Prometheus's NormalNaN */
		memcpy(&p->value, &bits, sizeof(bits));
	}
	t = next_token(p);
	switch (t) {
	case T_LINEBREAK:
		return SCRAPE_ENTRY_SERIES;
	case T_TIMESTAMP:
		s = p->b + p->tok_start;
		n = p->i - p->tok_start;
		rc = parse_int64(s, n, &p->ts_ms);
		if (rc)
			return float_error(p, SCRAPE_ERR_TIMESTAMP, rc, s, n, true);
		p->has_ts = true;
		t = next_token(p);
		if (t != T_LINEBREAK)
			return parse_error(p, SCRAPE_ERR_AFTER_TS, "expected next entry after timestamp", t);
		return SCRAPE_ENTRY_SERIES;
	default:
		return parse_error(p, SCRAPE_ERR_TIMESTAMP, "expected timestamp or new record", t);
	}
}

static scrape_entry parse_meta(scrape_parser *p, int t)
{
	bool om = p->format == SCRAPE_FORMAT_OPENMETRICS;
	int t2 = next_token(p);
	if (t2 != T_MNAME) {
		char exp[64];
		snprintf(exp, sizeof(exp), "expected metric name after %s", tok_name(t));
		return parse_error(p, SCRAPE_ERR_META_NAME, exp, t2);
	}
	size_t ms = p->tok_start, me = p->i;
	if (me - ms >= 2 && p->b[ms] == '"' && p->b[me - 1] == '"') {
		ms++;
		me--;
	}
	if (has_nul(p, ms, me, "metric name"))
		return SCRAPE_ENTRY_INVALID;
	push_off(&p->offs, &p->noffs, &p->cap_offs, ms, me);
	t2 = next_token(p);
	if (t2 != T_TEXT) {
		p->err_pos = p->tok_start;
		if (om)
			return fail(p, SCRAPE_ERR_SYNTAX, "expected text in %s", tok_name(t));
		return fail(p, SCRAPE_ERR_SYNTAX, "expected text in %s, got %s", tok_name(t), tok_name(t2));
	}
	size_t tl = p->i - p->tok_start;
	if (om) /* " text\n" */
		tl = tl > 1 ? tl - 2 : 0;
	else
		tl = tl > 1 ? tl - 1 : 0;
	p->text = tl ? p->b + p->tok_start + 1 : "";
	p->text_len = tl;
	if (t == T_TYPE) {
		static const struct { const char *s; scrape_metric_type t; bool om_only, text_only; } types[] = {
			{ "counter", SCRAPE_TYPE_COUNTER, false, false },
			{ "gauge", SCRAPE_TYPE_GAUGE, false, false },
			{ "histogram", SCRAPE_TYPE_HISTOGRAM, false, false },
			{ "summary", SCRAPE_TYPE_SUMMARY, false, false },
			{ "untyped", SCRAPE_TYPE_UNKNOWN, false, true },
			{ "gaugehistogram", SCRAPE_TYPE_GAUGEHISTOGRAM, true, false },
			{ "info", SCRAPE_TYPE_INFO, true, false },
			{ "stateset", SCRAPE_TYPE_STATESET, true, false },
			{ "unknown", SCRAPE_TYPE_UNKNOWN, true, false },
		};
		bool ok = false;
		for (size_t k = 0; k < TP_ARRAY_LEN(types); k++) {
			if ((types[k].om_only && !om) || (types[k].text_only && om))
				continue;
			if (strlen(types[k].s) == tl && memcmp(types[k].s, p->text, tl) == 0) {
				p->mtype = types[k].t;
				ok = true;
				break;
			}
		}
		if (!ok) {
			char q[256];
			p->err_pos = p->tok_start;
			scrape_quote(q, sizeof(q), p->text, tl);
			return fail(p, SCRAPE_ERR_TYPE, "invalid metric type %s", q);
		}
		p->fam = p->b + ms;
		p->fam_len = me - ms;
	} else if (t == T_HELP) {
		if (!scrape_utf8_valid(p->text, tl)) {
			char q[256];
			p->err_pos = p->tok_start;
			scrape_quote(q, sizeof(q), p->text, tl);
			return fail(p, SCRAPE_ERR_HELP_UTF8, "help text %s is not a valid utf8 string", q);
		}
	} else if (t == T_UNIT && tl) {
		size_t ml = me - ms;
		if (ml < tl + 1 || memcmp(p->b + me - tl, p->text, tl) != 0 || p->b[me - tl - 1] != '_') {
			char qu[128], qm[256];
			p->err_pos = p->tok_start;
			scrape_quote(qu, sizeof(qu), p->text, tl);
			scrape_quote(qm, sizeof(qm), p->b + ms, ml);
			return fail(p, SCRAPE_ERR_UNIT, "unit %s not a suffix of metric %s", qu, qm);
		}
	}
	if (!om) {
		int t3 = next_token(p);
		if (t3 != T_LINEBREAK)
			return parse_error(p, SCRAPE_ERR_SYNTAX, "linebreak expected after metadata", t3);
	}
	switch (t) {
	case T_HELP:
		return SCRAPE_ENTRY_HELP;
	case T_TYPE:
		return SCRAPE_ENTRY_TYPE;
	default:
		return SCRAPE_ENTRY_UNIT;
	}
}

scrape_entry scrape_parser_next(scrape_parser *p)
{
	if (p->done)
		return p->err ? SCRAPE_ENTRY_INVALID : SCRAPE_ENTRY_EOF;
	bool om = p->format == SCRAPE_FORMAT_OPENMETRICS;
	for (;;) {
		p->start = p->i;
		p->noffs = p->neoffs = 0;
		p->has_exemplar = false;
		p->has_ts = false;
		int t = next_token(p);
		switch (t) {
		case T_EOF:
			if (om)
				return fail(p, SCRAPE_ERR_NO_EOF, "data does not end with # EOF");
			p->done = true;
			return SCRAPE_ENTRY_EOF;
		case T_EOFWORD:
			if (next_token(p) != T_EOF) {
				p->err_pos = p->i;
				return fail(p, SCRAPE_ERR_AFTER_EOF, "unexpected data after # EOF");
			}
			p->done = true;
			return SCRAPE_ENTRY_EOF;
		case T_LINEBREAK:
			continue; /* blank line (text format only) */
		case T_HELP:
		case T_TYPE:
		case T_UNIT:
			p->start = p->tok_start;
			return parse_meta(p, t);
		case T_COMMENT:
			p->text = p->b + p->tok_start;
			p->text_len = (p->i < p->n ? p->i : p->n) - p->tok_start;
			t = next_token(p);
			if (t != T_LINEBREAK)
				return parse_error(p, SCRAPE_ERR_SYNTAX, "linebreak expected after comment", t);
			return SCRAPE_ENTRY_COMMENT;
		case T_BOPEN: {
			p->start = p->tok_start;
			push_off(&p->offs, &p->noffs, &p->cap_offs, NO_OFF, NO_OFF);
			scrape_entry e = parse_lvals(p, false);
			if (e != SCRAPE_ENTRY_SERIES)
				return e;
			p->series = p->b + p->start;
			p->series_len = p->i - p->start;
			return metric_suffix(p, next_token(p));
		}
		case T_MNAME: {
			p->start = p->tok_start;
			push_off(&p->offs, &p->noffs, &p->cap_offs, p->tok_start, p->i);
			p->series = p->b + p->start;
			p->series_len = p->i - p->start;
			int t2 = next_token(p);
			if (t2 == T_BOPEN) {
				scrape_entry e = parse_lvals(p, false);
				if (e != SCRAPE_ENTRY_SERIES)
					return e;
				p->series_len = p->i - p->start;
				t2 = next_token(p);
			}
			return metric_suffix(p, t2);
		}
		default:
			return parse_error(p, SCRAPE_ERR_SYNTAX, "expected a valid start token", t);
		}
	}
}

/* ---- accessors ----------------------------------------------------------- */

void scrape_parser_series(const scrape_parser *p, const char **series, size_t *len, double *v,
			  bool *has_ts, int64_t *ts_ms)
{
	if (series)
		*series = p->series;
	if (len)
		*len = p->series_len;
	if (v)
		*v = p->value;
	if (has_ts)
		*has_ts = p->has_ts;
	if (ts_ms)
		*ts_ms = p->has_ts ? p->ts_ms : 0;
}

void scrape_parser_metric_name(const scrape_parser *p, const char **name, size_t *len)
{
	*name = p->b + p->offs[0];
	*len = p->offs[1] - p->offs[0];
}

bool scrape_parser_is_created(const scrape_parser *p)
{
	if (p->format != SCRAPE_FORMAT_OPENMETRICS || !p->fam || p->noffs < 2)
		return false;
	if (p->mtype != SCRAPE_TYPE_COUNTER && p->mtype != SCRAPE_TYPE_HISTOGRAM &&
	    p->mtype != SCRAPE_TYPE_SUMMARY)
		return false;
	size_t n = p->offs[1] - p->offs[0];
	const char *name = p->b + p->offs[0];
	return n == p->fam_len + 8 && memcmp(name, p->fam, p->fam_len) == 0 &&
	       memcmp(name + p->fam_len, "_created", 8) == 0;
}

static const char *arena_unescape(tp_arena *a, const char *s, size_t n, bool help)
{
	char *d = tp_arena_alloc(a, n + 1);
	size_t k = memchr(s, '\\', n) ? scrape_unescape(d, s, n, help) : (memcpy(d, s, n), n);
	d[k] = '\0';
	return d;
}

/* Prometheus 3 normalises le/quantile values of histograms and summaries
 * to the OpenMetrics float form (1 -> 1.0), so text and OpenMetrics
 * scrapes of the same bucket give the same series. */
static const char *normalize_float_label(const scrape_parser *p, tp_arena *a, const char *name,
					 const char *v)
{
	if (!((p->mtype == SCRAPE_TYPE_HISTOGRAM && strcmp(name, "le") == 0) ||
	      (p->mtype == SCRAPE_TYPE_SUMMARY && strcmp(name, "quantile") == 0)))
		return v;
	double f;
	if (scrape_parse_float(v, strlen(v), &f) != 0)
		return v;
	char buf[48];
	size_t k = tp_format_float(buf, f);
	if (isfinite(f) && !strpbrk(buf, ".e"))
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, ".0");
	if (strcmp(buf, v) == 0)
		return v;
	return tp_arena_strndup(a, buf, k);
}

static void add_labels(const scrape_parser *p, tp_labels_builder *b, const size_t *o, size_t n, size_t from,
		       bool normalize)
{
	for (size_t k = from; k + 3 < n; k += 4) {
		const char *ln = arena_unescape(b->arena, p->b + o[k], o[k + 1] - o[k], false);
		const char *lv = arena_unescape(b->arena, p->b + o[k + 2], o[k + 3] - o[k + 2], false);
		if (normalize)
			lv = normalize_float_label(p, b->arena, ln, lv);
		tp_lb_set(b, ln, lv);
	}
}

void scrape_parser_labels(const scrape_parser *p, tp_labels_builder *b)
{
	tp_lb_set(b, TP_METRIC_NAME, arena_unescape(b->arena, p->b + p->offs[0], p->offs[1] - p->offs[0], false));
	add_labels(p, b, p->offs, p->noffs, 2, true);
}

tp_labels scrape_parser_labels_arena(const scrape_parser *p, tp_arena *a)
{
	tp_labels_builder b;
	tp_lb_init(&b, a, NULL);
	scrape_parser_labels(p, &b);
	return tp_lb_labels(&b);
}

bool scrape_parser_exemplar(const scrape_parser *p, tp_arena *a, scrape_exemplar *ex)
{
	if (!p->has_exemplar)
		return false;
	tp_labels_builder b;
	tp_lb_init(&b, a, NULL);
	add_labels(p, &b, p->eoffs, p->neoffs, 0, false);
	ex->labels = tp_lb_labels(&b);
	ex->value = p->ex_value;
	ex->has_ts = p->ex_has_ts;
	ex->ts_ms = p->ex_has_ts ? p->ex_ts_ms : 0;
	return true;
}

size_t scrape_parser_exemplar_runes(const scrape_parser *p)
{
	size_t r = 0;
	for (size_t k = 0; k + 1 < p->neoffs; k += 2)
		r += count_runes(p->b + p->eoffs[k], p->eoffs[k + 1] - p->eoffs[k]);
	return r;
}

void scrape_parser_help(scrape_parser *p, const char **name, size_t *nlen, const char **text, size_t *tlen)
{
	*name = p->b + p->offs[0];
	*nlen = p->offs[1] - p->offs[0];
	if (p->text_len && memchr(p->text, '\\', p->text_len)) {
		if (p->cap_scratch < p->text_len + 1)
			TP_GROW(p->scratch, p->cap_scratch, p->text_len + 1);
		*tlen = scrape_unescape(p->scratch, p->text, p->text_len, true);
		*text = p->scratch;
		return;
	}
	*text = p->text;
	*tlen = p->text_len;
}

void scrape_parser_type(const scrape_parser *p, const char **name, size_t *nlen, scrape_metric_type *t)
{
	*name = p->b + p->offs[0];
	*nlen = p->offs[1] - p->offs[0];
	*t = p->mtype;
}

void scrape_parser_unit(const scrape_parser *p, const char **name, size_t *nlen, const char **unit,
			size_t *ulen)
{
	*name = p->b + p->offs[0];
	*nlen = p->offs[1] - p->offs[0];
	*unit = p->text;
	*ulen = p->text_len;
}

void scrape_parser_comment(const scrape_parser *p, const char **text, size_t *len)
{
	*text = p->text;
	*len = p->text_len;
}
