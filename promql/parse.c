/* SPDX-License-Identifier: Apache-2.0
 * parse.c - the PromQL parse driver: feeds tokens from the pure lexer
 * (lexer.c) to the lemon parser (parser.y), emulating the context of
 * Prometheus's stateful lexer (inside braces, inside brackets, parenthesis
 * depth) so lexical errors carry Prometheus's texts and positions; then
 * type-checks the tree (ast.c). Also: unquoting, number and duration
 * parsing, matcher construction, error formatting.
 * Invariants: the first error wins and stops the token feed; on failure
 * every matcher built so far is released (lemon destructors plus the
 * accepted root); positions are byte offsets, reported as line:column
 * (1-based column, as posrange.StartPosInput). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/duration.h"
#include "lib/strbuf.h"
#include "promql/ast.h"
#include "promql/parse.h"

/* lemon's generated interface (promql/parser.c) */
void *promql_parserAlloc(void *(*malloc_fn)(size_t), promql_parser_ctx *p);
void promql_parserFree(void *parser, void (*free_fn)(void *));
void promql_parser(void *parser, int major, promql_token minor);

/* ---- errors ---- */

static void errv(promql_parser_ctx *p, uint32_t start, uint32_t end, const char *fmt, va_list ap)
{
	if (p->rc)
		return;
	p->rc = -1;
	if (!p->err)
		return;
	uint32_t line = 1, col;
	int64_t last_nl = -1;
	if (start > p->len)
		start = p->len;
	for (uint32_t i = 0; i < start; i++)
		if (p->text[i] == '\n') {
			last_nl = i;
			line++;
		}
	col = (uint32_t)((int64_t)start - last_nl);
	int n = snprintf(p->err->msg, sizeof(p->err->msg), "%u:%u: parse error: ", line, col);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(p->err->msg))
		vsnprintf(p->err->msg + n, sizeof(p->err->msg) - (size_t)n, fmt, ap);
	p->err->pos_start = start;
	p->err->pos_end = end;
}

void promql_parse_errorf(promql_parser_ctx *p, uint32_t start, uint32_t end, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errv(p, start, end, fmt, ap);
	va_end(ap);
}

/* Go's strconv.Quote for the ASCII range; other bytes pass through. */
static void go_quote(tp_strbuf *sb, const char *s, size_t n, char q)
{
	tp_sb_putc(sb, q);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '\a': tp_sb_puts(sb, "\\a"); break;
		case '\b': tp_sb_puts(sb, "\\b"); break;
		case '\f': tp_sb_puts(sb, "\\f"); break;
		case '\n': tp_sb_puts(sb, "\\n"); break;
		case '\r': tp_sb_puts(sb, "\\r"); break;
		case '\t': tp_sb_puts(sb, "\\t"); break;
		case '\v': tp_sb_puts(sb, "\\v"); break;
		case '\\': tp_sb_puts(sb, "\\\\"); break;
		default:
			if (c == (unsigned char)q) {
				tp_sb_putc(sb, '\\');
				tp_sb_putc(sb, (char)c);
			} else if (c < 0x20 || c == 0x7f) {
				tp_sb_printf(sb, "\\x%02x", c);
			} else {
				tp_sb_putc(sb, (char)c);
			}
		}
	}
	tp_sb_putc(sb, q);
}

/* Length of the UTF-8 sequence at z (1 for invalid bytes). */
static int rune_len(const char *z)
{
	unsigned char c = (unsigned char)z[0];
	int n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	for (int i = 1; i < n; i++)
		if ((((unsigned char)z[i]) & 0xc0) != 0x80)
			return 1;
	return n;
}

/* Go's %q of the rune at z; the end of input quotes as U+FFFD. */
static void quote_rune(tp_strbuf *sb, const char *z)
{
	if (!*z) {
		tp_sb_puts(sb, "'\xef\xbf\xbd'");
		return;
	}
	go_quote(sb, z, (size_t)rune_len(z), '\'');
}

static void lex_error_rune(promql_parser_ctx *p, uint32_t pos, const char *prefix, const char *z)
{
	tp_strbuf sb = {0};
	quote_rune(&sb, z);
	promql_parse_errorf(p, pos, pos + 1, "%s%s", prefix, tp_sb_cstr(&sb));
	tp_sb_free(&sb);
}

/* Item.desc() of lex.go for a grammar token. */
static void token_desc(tp_strbuf *sb, const promql_token *t, int major)
{
	switch (major) {
	case 0: tp_sb_puts(sb, "end of input"); return;
	case PROMQL_TK_IDENTIFIER: tp_sb_puts(sb, "identifier "); break;
	case PROMQL_TK_METRIC_IDENTIFIER: tp_sb_puts(sb, "metric identifier "); break;
	case PROMQL_TK_NUMBER: tp_sb_puts(sb, "number "); break;
	case PROMQL_TK_DURATION: tp_sb_puts(sb, "duration "); break;
	case PROMQL_TK_STRING: tp_sb_puts(sb, "string "); break;
	case PROMQL_TK_BOOL: case PROMQL_TK_BY: case PROMQL_TK_GROUP_LEFT: case PROMQL_TK_GROUP_RIGHT:
	case PROMQL_TK_IGNORING: case PROMQL_TK_OFFSET: case PROMQL_TK_ON: case PROMQL_TK_WITHOUT:
	case PROMQL_TK_ANCHORED: case PROMQL_TK_SMOOTHED:
	case PROMQL_TK_FILL: case PROMQL_TK_FILL_LEFT: case PROMQL_TK_FILL_RIGHT:
		tp_sb_printf(sb, "<%.*s>", (int)t->n, t->z);
		return;
	case PROMQL_TK_ADD: case PROMQL_TK_DIV: case PROMQL_TK_EQLC: case PROMQL_TK_EQL_REGEX:
	case PROMQL_TK_GTE: case PROMQL_TK_GTR: case PROMQL_TK_LAND: case PROMQL_TK_LOR: case PROMQL_TK_LSS:
	case PROMQL_TK_LTE: case PROMQL_TK_LUNLESS: case PROMQL_TK_MOD: case PROMQL_TK_MUL: case PROMQL_TK_NEQ:
	case PROMQL_TK_NEQ_REGEX: case PROMQL_TK_POW: case PROMQL_TK_SUB: case PROMQL_TK_AT: case PROMQL_TK_ATAN2:
		tp_sb_printf(sb, "<op:%.*s>", (int)t->n, t->z);
		return;
	case PROMQL_TK_SUM: case PROMQL_TK_AVG: case PROMQL_TK_COUNT: case PROMQL_TK_MIN: case PROMQL_TK_MAX:
	case PROMQL_TK_GROUP: case PROMQL_TK_STDDEV: case PROMQL_TK_STDVAR: case PROMQL_TK_TOPK:
	case PROMQL_TK_BOTTOMK: case PROMQL_TK_COUNT_VALUES: case PROMQL_TK_QUANTILE: case PROMQL_TK_LIMITK:
	case PROMQL_TK_LIMIT_RATIO:
		tp_sb_printf(sb, "<aggr:%.*s>", (int)t->n, t->z);
		return;
	default:
		/* punctuation, start/end: %q of the text */
		go_quote(sb, t->z, t->n, '"');
		return;
	}
	/* Item.String(): %q, or %.10q... beyond 10 characters */
	if ((major == PROMQL_TK_NUMBER || major == PROMQL_TK_DURATION || major == PROMQL_TK_STRING) && t->n > 10) {
		size_t n = 0;
		for (int r = 0; r < 10 && n < t->n; r++)
			n += (size_t)rune_len(t->z + n);
		go_quote(sb, t->z, n, '"');
		tp_sb_puts(sb, "...");
	} else {
		go_quote(sb, t->z, t->n, '"');
	}
}

void promql_parse_syntax_error(promql_parser_ctx *p, const promql_token *t, int major)
{
	tp_strbuf sb = {0};
	tp_sb_puts(&sb, "unexpected ");
	token_desc(&sb, t, major);
	if (p->syntax_context) {
		tp_sb_puts(&sb, " in ");
		tp_sb_puts(&sb, p->syntax_context);
	}
	if (p->syntax_expected) {
		tp_sb_puts(&sb, ", expected ");
		tp_sb_puts(&sb, p->syntax_expected);
	}
	promql_parse_errorf(p, t->pos, t->pos + t->n, "%s", tp_sb_cstr(&sb));
	tp_sb_free(&sb);
}

/* ---- literals ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 16;
}

static void put_utf8(tp_strbuf *sb, uint32_t r)
{
	char b[4];
	if (r < 0x80) {
		tp_sb_putc(sb, (char)r);
		return;
	}
	if (r < 0x800) {
		b[0] = (char)(0xc0 | (r >> 6));
		b[1] = (char)(0x80 | (r & 0x3f));
		tp_sb_append(sb, b, 2);
	} else if (r < 0x10000) {
		b[0] = (char)(0xe0 | (r >> 12));
		b[1] = (char)(0x80 | ((r >> 6) & 0x3f));
		b[2] = (char)(0x80 | (r & 0x3f));
		tp_sb_append(sb, b, 3);
	} else {
		b[0] = (char)(0xf0 | (r >> 18));
		b[1] = (char)(0x80 | ((r >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((r >> 6) & 0x3f));
		b[3] = (char)(0x80 | (r & 0x3f));
		tp_sb_append(sb, b, 4);
	}
}

/* Unquotes a string token (quotes included) into sb. Returns NULL or an
 * error message (lex.go's lexEscape texts); *bad points at the offending
 * rune for messages that quote it. */
static const char *unquote(const char *z, size_t n, tp_strbuf *sb, char *msgbuf, size_t msglen)
{
	char q = z[0];
	if (q == '`') {
		tp_sb_append(sb, z + 1, n - 2);
		return NULL;
	}
	for (size_t i = 1; i + 1 < n; i++) {
		char c = z[i];
		if (c != '\\') {
			tp_sb_putc(sb, c);
			continue;
		}
		c = z[++i];
		int digits = 0, base = 0;
		uint32_t maxv = 0;
		switch (c) {
		case 'a': tp_sb_putc(sb, '\a'); continue;
		case 'b': tp_sb_putc(sb, '\b'); continue;
		case 'f': tp_sb_putc(sb, '\f'); continue;
		case 'n': tp_sb_putc(sb, '\n'); continue;
		case 'r': tp_sb_putc(sb, '\r'); continue;
		case 't': tp_sb_putc(sb, '\t'); continue;
		case 'v': tp_sb_putc(sb, '\v'); continue;
		case '\\': tp_sb_putc(sb, '\\'); continue;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			digits = 3, base = 8, maxv = 255;
			break;
		case 'x': digits = 2, base = 16, maxv = 255, i++; break;
		case 'u': digits = 4, base = 16, maxv = 0x10ffff, i++; break;
		case 'U': digits = 8, base = 16, maxv = 0x10ffff, i++; break;
		default:
			if (c == q) {
				tp_sb_putc(sb, c);
				continue;
			}
			if (i + 1 >= n) {
				snprintf(msgbuf, msglen, "escape sequence not terminated");
				return msgbuf;
			}
			snprintf(msgbuf, msglen, "unknown escape sequence U+%04X '%.*s'", (unsigned char)c,
				 rune_len(z + i), z + i);
			return msgbuf;
		}
		uint32_t x = 0;
		for (int k = 0; k < digits; k++, i++) {
			int d = i + 1 < n ? hexval(z[i]) : 16;
			if (d >= base) {
				if (i + 1 >= n)
					snprintf(msgbuf, msglen, "escape sequence not terminated");
				else
					snprintf(msgbuf, msglen, "illegal character U+%04X '%.*s' in escape sequence",
						 (unsigned char)z[i], rune_len(z + i), z + i);
				return msgbuf;
			}
			x = x * (uint32_t)base + (uint32_t)d;
		}
		i--;
		if (x > maxv || (x >= 0xd800 && x < 0xe000)) {
			snprintf(msgbuf, msglen, "escape sequence is an invalid Unicode code point");
			return msgbuf;
		}
		if (base == 8 || c == 'x')
			tp_sb_putc(sb, (char)x);  /* a byte, as Go's \ooo and \xHH */
		else
			put_utf8(sb, x);
	}
	return NULL;
}

char *promql_parse_unquote(promql_parser_ctx *p, const promql_token *t)
{
	tp_strbuf sb = {0};
	char msg[128];
	const char *e = unquote(t->z, t->n, &sb, msg, sizeof(msg));
	if (e) {
		promql_parse_errorf(p, t->pos, t->pos + t->n, "%s", e);
		tp_sb_free(&sb);
		return NULL;
	}
	char *s = tp_arena_strndup(p->arena, tp_sb_cstr(&sb), sb.len);
	tp_sb_free(&sb);
	return s;
}

double promql_parse_number(promql_parser_ctx *p, const promql_token *t)
{
	char buf[128];
	size_t k = 0;
	/* Go allows '_' between digits; the lexer has checked their places. */
	for (size_t i = 0; i < t->n && k + 1 < sizeof(buf); i++)
		if (t->z[i] != '_')
			buf[k++] = t->z[i];
	buf[k] = 0;
	/* strconv.ParseInt(val, 0, 64) first: hex, and octal for a leading 0. */
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 0);
	if (*end == 0 && errno == 0 && k > 0)
		return (double)v;
	errno = 0;
	double d = strtod(buf, &end);
	if (*end != 0 || k == 0) {
		promql_parse_errorf(p, t->pos, t->pos + t->n, "error parsing number: strconv.ParseFloat: parsing \"%.*s\": invalid syntax",
				    (int)t->n, t->z);
		return 0;
	}
	return d;
}

int64_t promql_parse_duration(promql_parser_ctx *p, const promql_token *t)
{
	int64_t ms = 0;
	if (tp_duration_parse(t->z, t->n, &ms) != 0) {
		promql_parse_errorf(p, t->pos, t->pos + t->n, "not a valid duration string: \"%.*s\"", (int)t->n, t->z);
		return 0;
	}
	return ms;
}

promql_raw_matcher promql_parse_name_matcher(promql_parser_ctx *p, const promql_token *t)
{
	promql_raw_matcher m;
	memset(&m, 0, sizeof(m));
	m.type = TSDB_MATCH_EQ;
	m.name = tp_arena_strdup(p->arena, "__name__");
	m.value = promql_parse_unquote(p, t);
	m.pos_start = t->pos;
	m.pos_end = t->pos + t->n;
	return m;
}

/* The one place matchers are built (tsdb_matcher_init). */
tsdb_matcher *promql_parse_build_matchers(promql_parser_ctx *p, const char *name, const promql_raw_matcher_list *raw,
					  size_t *n)
{
	size_t nraw = raw ? raw->n : 0;
	size_t total = nraw + (name ? 1 : 0);
	*n = 0;
	if (total == 0)
		return NULL;
	tsdb_matcher *ms = tp_xcalloc(total, sizeof(*ms));
	char err[256];
	for (size_t i = 0; i < nraw; i++) {
		const promql_raw_matcher *r = &raw->items[i];
		if (!r->name || !r->value) {  /* unquoting failed: error recorded */
			promql_matchers_free(ms, i);
			return NULL;
		}
		err[0] = 0;
		if (tsdb_matcher_init(&ms[i], r->type, r->name, r->value, err, sizeof(err)) != 0) {
			promql_parse_errorf(p, r->pos_start, r->pos_end, "%s", err);
			promql_matchers_free(ms, i);
			return NULL;
		}
	}
	if (name && tsdb_matcher_init(&ms[nraw], TSDB_MATCH_EQ, "__name__", name, err, sizeof(err)) != 0) {
		promql_parse_errorf(p, 0, 0, "%s", err);
		promql_matchers_free(ms, nraw);
		return NULL;
	}
	*n = total;
	return ms;
}

/* ---- driver ---- */

typedef struct lexstate {
	int paren_depth;
	bool brace_open;
	bool bracket_open;
	bool dur_lex;       /* lexDurationExpr inside [...]: until the first number */
	bool got_colon;
	bool got_duration;  /* a number was lexed in brackets (lex.go never resets it) */
	int bracket_base;   /* paren_depth at the open '[' */
	int offset_base;    /* paren_depth at an offset whose duration is incomplete, else -1 */
	int prev;           /* previous grammar token type, 0 at start */
	int grouping;       /* 1 after by/without/on/ignoring/group_x, 2 inside its ( ) */
} lexstate;

static bool is_aggregator(int t)
{
	switch (t) {
	case PROMQL_TK_SUM: case PROMQL_TK_AVG: case PROMQL_TK_COUNT: case PROMQL_TK_MIN: case PROMQL_TK_MAX:
	case PROMQL_TK_GROUP: case PROMQL_TK_STDDEV: case PROMQL_TK_STDVAR: case PROMQL_TK_TOPK:
	case PROMQL_TK_BOTTOMK: case PROMQL_TK_COUNT_VALUES: case PROMQL_TK_QUANTILE: case PROMQL_TK_LIMITK:
	case PROMQL_TK_LIMIT_RATIO:
		return true;
	default:
		return false;
	}
}

/* The next significant token after z (skipping spaces and comments). */
static int peek_type(const char *z)
{
	int type;
	for (;;) {
		int n = promql_lex_next(z, &type);
		if (type != PROMQL_LEX_SPACE && type != PROMQL_LEX_COMMENT)
			return type;
		z += n;
	}
}

/* Whether an aggregator keyword stands for a metric name: when what
 * follows can only follow a vector selector (Prometheus's LALR lookahead
 * between metric_identifier and aggregate_op). */
static bool aggregator_is_name(const char *after)
{
	switch (peek_type(after)) {
	case PROMQL_LEX_EOF: case PROMQL_TK_RIGHT_PAREN: case PROMQL_TK_COMMA: case PROMQL_TK_LEFT_BRACKET:
	case PROMQL_TK_LEFT_BRACE: case PROMQL_TK_RIGHT_BRACE: case PROMQL_TK_OFFSET: case PROMQL_TK_AT:
	case PROMQL_TK_ADD: case PROMQL_TK_SUB: case PROMQL_TK_MUL: case PROMQL_TK_DIV: case PROMQL_TK_MOD:
	case PROMQL_TK_POW: case PROMQL_TK_EQLC: case PROMQL_TK_NEQ: case PROMQL_TK_LSS: case PROMQL_TK_GTR:
	case PROMQL_TK_LTE: case PROMQL_TK_GTE: case PROMQL_TK_LAND: case PROMQL_TK_LOR: case PROMQL_TK_LUNLESS:
	case PROMQL_TK_ATAN2: case PROMQL_TK_RIGHT_BRACKET:
	case PROMQL_TK_ANCHORED: case PROMQL_TK_SMOOTHED:
		return true;
	default:
		return false;
	}
}

/* Syntax-error context for the next token, after Prometheus's error rules. */
static void set_context(promql_parser_ctx *p, const lexstate *ls)
{
	p->syntax_context = NULL;
	p->syntax_expected = NULL;
	if (ls->brace_open) {
		p->syntax_context = "label matching";
		switch (ls->prev) {
		case PROMQL_TK_LEFT_BRACE:
		case PROMQL_TK_COMMA: p->syntax_expected = "identifier or \"}\""; break;
		case PROMQL_TK_IDENTIFIER: p->syntax_expected = "label matching operator"; break;
		case PROMQL_TK_EQL: case PROMQL_TK_NEQ: case PROMQL_TK_EQL_REGEX: case PROMQL_TK_NEQ_REGEX:
			p->syntax_expected = "string";
			break;
		default: p->syntax_expected = "\",\" or \"}\""; break;
		}
		return;
	}
	if (ls->grouping == 1) {
		p->syntax_context = "grouping opts";
		p->syntax_expected = "\"(\"";
		return;
	}
	if (ls->grouping == 2) {
		p->syntax_context = "grouping opts";
		p->syntax_expected = (ls->prev == PROMQL_TK_LEFT_PAREN || ls->prev == PROMQL_TK_COMMA) ? "label"
													 : "\",\" or \")\"";
		return;
	}
	if (ls->offset_base >= 0) {
		/* expr OFFSET error: anywhere in an incomplete offset duration */
		p->syntax_context = "offset";
		p->syntax_expected = "number, duration, step(), or range()";
		return;
	}
	if (ls->bracket_open) {
		/* A duration ended at the bracket's own level is complete: what
		 * follows must be ':' or ']' (the range), ']' (the step). Errors
		 * inside an incomplete one belong to the enclosing production. */
		bool complete = ls->paren_depth == ls->bracket_base &&
				(ls->prev == PROMQL_TK_NUMBER || ls->prev == PROMQL_TK_DURATION ||
				 ls->prev == PROMQL_TK_RIGHT_PAREN);
		if (!ls->got_colon) {
			p->syntax_context = complete ? "subquery or range" : "subquery or range selector";
			p->syntax_expected = complete ? "\":\" or \"]\"" : "number, duration, step(), or range()";
		} else {
			p->syntax_context = "subquery selector";
			p->syntax_expected = complete ? "\"]\"" : "number, duration, step(), range(), or \"]\"";
		}
		return;
	}
	switch (ls->prev) {
	case PROMQL_TK_AT:
		p->syntax_context = "@";
		p->syntax_expected = "timestamp";
		break;
	default:
		if (is_aggregator(ls->prev))
			p->syntax_context = "aggregation";
		break;
	}
}

static void feed(promql_parser_ctx *p, void *engine, lexstate *ls, const lexstate *before, int type, const char *z,
		 uint32_t n)
{
	promql_token t = {.z = z, .n = n, .pos = (uint32_t)(z - p->text), .type = type};
	p->last = t;
	set_context(p, before);
	promql_parser(engine, type, t);
	/* grouping-label context for error messages */
	switch (type) {
	case PROMQL_TK_BY: case PROMQL_TK_WITHOUT: case PROMQL_TK_ON: case PROMQL_TK_IGNORING:
		if (ls->grouping != 2)
			ls->grouping = 1;
		break;
	case PROMQL_TK_GROUP_LEFT: case PROMQL_TK_GROUP_RIGHT:
		if (ls->grouping != 2)
			ls->grouping = peek_type(z + n) == PROMQL_TK_LEFT_PAREN ? 1 : 0;
		break;
	case PROMQL_TK_LEFT_PAREN:
		ls->grouping = ls->grouping == 1 ? 2 : 0;
		break;
	case PROMQL_TK_RIGHT_PAREN:
		ls->grouping = 0;
		break;
	default:
		if (ls->grouping == 1)
			ls->grouping = 0;
		break;
	}
	ls->prev = type;
	if (type == PROMQL_TK_RIGHT_BRACE || type == PROMQL_TK_RIGHT_PAREN || type == PROMQL_TK_RIGHT_BRACKET ||
	    type == PROMQL_TK_NUMBER || type == PROMQL_TK_DURATION)
		p->last_closing = t.pos + n;
	/* an offset's duration is one operand: it ends with a number or
	 * the ')' that brings the depth back to where it started */
	if (type == PROMQL_TK_OFFSET)
		ls->offset_base = ls->paren_depth;
	else if (ls->offset_base >= 0 && ls->paren_depth <= ls->offset_base &&
		 (type == PROMQL_TK_NUMBER || type == PROMQL_TK_DURATION || type == PROMQL_TK_RIGHT_PAREN))
		ls->offset_base = -1;
}

/* Validates a string token's escapes at lexing time, as lex.go does. */
static bool check_string(promql_parser_ctx *p, const char *z, uint32_t n)
{
	for (uint32_t i = 0; i < n;) {
		int rl = rune_len(z + i);
		if (rl == 1 && (unsigned char)z[i] >= 0x80) {
			promql_parse_errorf(p, (uint32_t)(z - p->text), (uint32_t)(z - p->text) + n, "invalid UTF-8 rune");
			return false;
		}
		i += (uint32_t)rl;
	}
	tp_strbuf sb = {0};
	char msg[128];
	const char *e = unquote(z, n, &sb, msg, sizeof(msg));
	tp_sb_free(&sb);
	if (e) {
		promql_parse_errorf(p, (uint32_t)(z - p->text), (uint32_t)(z - p->text) + n, "%s", e);
		return false;
	}
	return true;
}

/* One token in the braces state (lexInsideBraces). Returns its length. */
static int step_braces(promql_parser_ctx *p, void *engine, lexstate *ls, const char *z)
{
	const lexstate before = *ls;
	uint32_t pos = (uint32_t)(z - p->text);
	int type;
	int n = promql_lex_next(z, &type);
	switch (type) {
	case PROMQL_LEX_EOF:
		promql_parse_errorf(p, pos, pos, "unexpected end of input inside braces");
		return 0;
	case PROMQL_LEX_SPACE:
	case PROMQL_LEX_COMMENT:
		return n;
	case PROMQL_TK_COMMA:
	case PROMQL_TK_EQL_REGEX:
	case PROMQL_TK_NEQ:
	case PROMQL_TK_NEQ_REGEX:
	case PROMQL_TK_EQL:
		break;
	case PROMQL_TK_EQLC:
		type = PROMQL_TK_EQL;
		n = 1;
		break;
	case PROMQL_TK_STRING:
		if (!check_string(p, z, (uint32_t)n))
			return 0;
		break;
	case PROMQL_LEX_UNTERMINATED:
		promql_parse_errorf(p, pos, pos + (uint32_t)n, "unterminated quoted string");
		return 0;
	case PROMQL_LEX_UNTERMINATED_RAW:
		promql_parse_errorf(p, pos, pos + (uint32_t)n, "unterminated raw string");
		return 0;
	case PROMQL_LEX_BANG:
		lex_error_rune(p, pos, "unexpected character after '!' inside braces: ", z + 1);
		return 0;
	case PROMQL_TK_LEFT_BRACE:
		lex_error_rune(p, pos, "unexpected left brace ", z);
		return 0;
	case PROMQL_TK_RIGHT_BRACE:
		ls->brace_open = false;
		break;
	default:
		if ((z[0] >= 'a' && z[0] <= 'z') || (z[0] >= 'A' && z[0] <= 'Z') || z[0] == '_') {
			type = PROMQL_TK_IDENTIFIER;
			n = promql_lex_label_len(z);
			break;
		}
		lex_error_rune(p, pos, "unexpected character inside braces: ", z);
		return 0;
	}
	feed(p, engine, ls, &before, type, z, (uint32_t)n);
	return n;
}

static bool duration_keyword_start(char c)
{
	return c == 's' || c == 'S' || c == 'm' || c == 'M' || c == 'r' || c == 'R';
}

static void bad_number(promql_parser_ctx *p, uint32_t pos, const char *z, int n)
{
	tp_strbuf sb = {0};
	go_quote(&sb, z, (size_t)n, '"');
	promql_parse_errorf(p, pos, pos + (uint32_t)n, "bad number or duration syntax: %s", tp_sb_cstr(&sb));
	tp_sb_free(&sb);
}

/* One token right after '[' and until the first number (lexDurationExpr;
 * lex.go returns to lexStatements after a number, still in brackets). A
 * lexer error found after emitting a token is reported after it, at
 * lex.start as Prometheus does. */
static int step_brackets(promql_parser_ctx *p, void *engine, lexstate *ls, const char *z)
{
	const lexstate before = *ls;
	uint32_t pos = (uint32_t)(z - p->text);
	int type;
	int n = promql_lex_next(z, &type);
	switch (z[0]) {
	case 0:
		promql_parse_errorf(p, pos, pos, "unexpected end of input in duration expression");
		return 0;
	case ' ': case '\t': case '\n': case '\r':
		return n;
	case ']':
		ls->bracket_open = false;
		ls->dur_lex = false;
		ls->got_colon = false;
		break;
	case ':':
		if (!ls->got_duration) {
			promql_parse_errorf(p, pos + 1, pos + 1, "unexpected colon before duration in duration expression");
			return 0;
		}
		if (ls->got_colon) {
			promql_parse_errorf(p, pos + 1, pos + 1, "unexpected repeated colon in duration expression");
			return 0;
		}
		ls->got_colon = true;
		type = PROMQL_TK_COLON;
		n = 1;
		break;
	case '(':
		ls->paren_depth++;
		break;
	case ')':
		if (--ls->paren_depth < 0) {
			lex_error_rune(p, pos + 1, "unexpected right parenthesis ", z);
			return 0;
		}
		break;
	case '+': case '-': case '*': case '/': case '%': case '^': case ',':
		break;
	default:
		if (duration_keyword_start(z[0])) {
			n = promql_lex_duration_keyword(z, &type);
			if (type)
				break;
			goto bad;
		}
		if (!((z[0] >= '0' && z[0] <= '9') || (z[0] == '.' && z[1] >= '0' && z[1] <= '9')))
			goto bad;
		ls->got_duration = true;
		if (type == PROMQL_LEX_BAD_NUMBER) {
			bad_number(p, pos, z, n);
			return 0;
		}
		ls->dur_lex = false;
		break;
	}
	feed(p, engine, ls, &before, type, z, (uint32_t)n);
	return n;
bad:
	lex_error_rune(p, pos, "unexpected character in duration expression: ", z);
	return 0;
}

/* lexStatements inside brackets after a number: ':' and the duration
 * keywords are special, other letters are errors. Returns the length
 * consumed, or -1 when z is not such a token. */
static int step_bracket_word(promql_parser_ctx *p, void *engine, lexstate *ls, const char *z)
{
	const lexstate before = *ls;
	uint32_t pos = (uint32_t)(z - p->text);
	int type, n;
	bool alpha = (z[0] >= 'a' && z[0] <= 'z') || (z[0] >= 'A' && z[0] <= 'Z') || z[0] == '_';
	if (z[0] == ':') {
		if (ls->got_colon) {
			lex_error_rune(p, pos, "unexpected colon ", z);
			return 0;
		}
		ls->got_colon = true;
		type = PROMQL_TK_COLON;
		n = 1;
	} else if (alpha) {
		type = 0;
		n = duration_keyword_start(z[0]) ? promql_lex_duration_keyword(z, &type) : 1;
		if (!type) {
			tp_strbuf sb = {0};
			quote_rune(&sb, z);
			promql_parse_errorf(p, pos, pos + 1, "unexpected character: %s, expected ':'", tp_sb_cstr(&sb));
			tp_sb_free(&sb);
			return 0;
		}
	} else {
		return -1;
	}
	feed(p, engine, ls, &before, type, z, (uint32_t)n);
	return n;
}

/* One token in the statements state (lexStatements). */
static int step_statements(promql_parser_ctx *p, void *engine, lexstate *ls, const char *z)
{
	const lexstate before = *ls;
	uint32_t pos = (uint32_t)(z - p->text);
	int type;
	if (ls->bracket_open) {
		int w = step_bracket_word(p, engine, ls, z);
		if (w >= 0)
			return w;
	}
	int n = promql_lex_next(z, &type);
	switch (type) {
	case PROMQL_LEX_EOF:
		if (ls->paren_depth != 0)
			promql_parse_errorf(p, pos, pos, "unclosed left parenthesis");
		else if (ls->bracket_open)
			promql_parse_errorf(p, pos, pos, "unclosed left bracket");
		return 0;
	case PROMQL_LEX_SPACE:
	case PROMQL_LEX_COMMENT:
		return n;
	case PROMQL_LEX_ILLEGAL:
		lex_error_rune(p, pos, "unexpected character: ", z);
		return 0;
	case PROMQL_LEX_BANG:
		lex_error_rune(p, pos, "unexpected character after '!': ", z + 1);
		return 0;
	case PROMQL_TK_NEQ_REGEX:
		lex_error_rune(p, pos, "unexpected character after '!': ", z + 1);
		return 0;
	case PROMQL_TK_EQL_REGEX:
		lex_error_rune(p, pos, "unexpected character after '=': ", z + 1);
		return 0;
	case PROMQL_LEX_BAD_NUMBER:
		bad_number(p, pos, z, n);
		return 0;
	case PROMQL_LEX_UNTERMINATED:
		promql_parse_errorf(p, pos, pos + (uint32_t)n, "unterminated quoted string");
		return 0;
	case PROMQL_LEX_UNTERMINATED_RAW:
		promql_parse_errorf(p, pos, pos + (uint32_t)n, "unterminated raw string");
		return 0;
	case PROMQL_TK_STRING:
		if (!check_string(p, z, (uint32_t)n))
			return 0;
		break;
	case PROMQL_TK_LEFT_PAREN:
		ls->paren_depth++;
		break;
	case PROMQL_TK_RIGHT_PAREN:
		if (--ls->paren_depth < 0) {
			lex_error_rune(p, pos + 1, "unexpected right parenthesis ", z);
			return 0;
		}
		break;
	case PROMQL_TK_LEFT_BRACE:
		ls->brace_open = true;
		break;
	case PROMQL_TK_LEFT_BRACKET:
		if (ls->bracket_open) {
			lex_error_rune(p, pos, "unexpected left bracket ", z);
			return 0;
		}
		ls->bracket_open = true;
		ls->dur_lex = true;
		ls->got_colon = false;
		ls->bracket_base = ls->paren_depth;
		break;
	case PROMQL_TK_RIGHT_BRACKET:
		if (!ls->bracket_open) {
			lex_error_rune(p, pos, "unexpected right bracket ", z);
			return 0;
		}
		ls->bracket_open = false;
		break;
	case PROMQL_TK_RIGHT_BRACE:
		lex_error_rune(p, pos, "unexpected character: ", z);
		return 0;
	default:
		if (is_aggregator(type) && aggregator_is_name(z + n))
			type = PROMQL_TK_IDENTIFIER;
		break;
	}
	feed(p, engine, ls, &before, type, z, (uint32_t)n);
	return n;
}

static void run(promql_parser_ctx *p)
{
	void *engine = promql_parserAlloc(malloc, p);
	if (!engine)
		tp_xmalloc(SIZE_MAX);  /* aborts: out of memory */
	lexstate ls = {0};
	ls.offset_base = -1;
	const char *z = p->text;

	/* "no expression found in input" */
	if (peek_type(z) == PROMQL_LEX_EOF && !p->selector_only) {
		promql_parse_errorf(p, 0, 0, "no expression found in input");
		promql_parserFree(engine, free);
		return;
	}
	if (p->selector_only)
		feed(p, engine, &ls, &ls, PROMQL_TK_START_SELECTOR, z, 0);
	while (!p->rc) {
		int n;
		if (ls.brace_open)
			n = step_braces(p, engine, &ls, z);
		else if (ls.bracket_open && ls.dur_lex)
			n = step_brackets(p, engine, &ls, z);
		else
			n = step_statements(p, engine, &ls, z);
		if (n == 0)
			break;
		z += n;
	}
	if (!p->rc) {
		promql_token t = {.z = z, .n = 0, .pos = (uint32_t)(z - p->text), .type = 0};
		p->last = t;
		set_context(p, &ls);
		promql_parser(engine, 0, t);
	}
	promql_parserFree(engine, free);
	if (!p->rc && !p->root)
		promql_parse_errorf(p, 0, 0, "no expression found in input");
}

promql_expr *promql_parse(const char *query, const promql_parse_opts *opts, promql_parse_error *err)
{
	promql_parse_error dummy;
	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	promql_expr *e = tp_xcalloc(1, sizeof(*e));
	tp_arena_init(&e->arena);
	e->text = tp_xstrdup(query);
	promql_parser_ctx p = {0};
	p.text = e->text;
	p.len = (uint32_t)strlen(e->text);
	p.arena = &e->arena;
	if (opts)
		p.opts = *opts;
	p.err = err;
	run(&p);
	if (!p.rc && promql_ast_check_depth(&p, p.root))
		promql_ast_check(&p, p.root);
	if (p.rc) {
		promql_ast_release(p.root);
		tp_arena_free(&e->arena);
		free(e->text);
		free(e);
		return NULL;
	}
	e->root = p.root;
	return e;
}

int promql_parse_selector(const char *text, tsdb_matcher **out, size_t *n, promql_parse_error *err)
{
	promql_parse_error dummy;
	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	*out = NULL;
	*n = 0;
	tp_arena arena;
	tp_arena_init(&arena);
	promql_parser_ctx p = {0};
	p.text = text;
	p.len = (uint32_t)strlen(text);
	p.arena = &arena;
	p.err = err;
	p.selector_only = true;
	run(&p);
	if (!p.rc && p.root && promql_ast_check_depth(&p, p.root))
		promql_ast_check(&p, p.root);
	if (p.rc || !p.root) {
		promql_ast_release(p.root);
		tp_arena_free(&arena);
		return -1;
	}
	*out = p.root->u.vs.matchers;
	*n = p.root->u.vs.nmatchers;
	p.root->u.vs.matchers = NULL;
	tp_arena_free(&arena);
	return 0;
}
