/* SPDX-License-Identifier: Apache-2.0
 * lexer.c - PromQL tokenizer, after Prometheus's promql/parser/lex.go.
 * promql_lex_next is a pure function of its input: all context (inside
 * braces or brackets, parenthesis depth) lives in the driver (parse.c).
 * Invariants: a 256-entry class table drives the first-byte switch; the
 * scanner stops at NUL; number scanning mirrors lex.go's scanNumber and
 * acceptRemainingDuration so the same texts are numbers, durations or
 * "bad number or duration syntax". */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "promql/lexer.h"

/* ---- character classes ---- */

enum {
	CC_ILLEGAL = 0, CC_NUL, CC_SPACE, CC_DIGIT, CC_ALPHA, CC_COLON, CC_DOT, CC_QUOTE, CC_BACKQUOTE,
	CC_HASH, CC_LP, CC_RP, CC_LB, CC_RB, CC_LBRACE, CC_RBRACE, CC_COMMA, CC_PLUS, CC_MINUS, CC_STAR,
	CC_SLASH, CC_PERCENT, CC_CARET, CC_EQ, CC_BANG, CC_LT, CC_GT, CC_AT,
};

static unsigned char cclass[256];

static void init_classes(void)
{
	if (cclass[(unsigned char)'a'] == CC_ALPHA)
		return;
	for (int c = 'a'; c <= 'z'; c++)
		cclass[c] = CC_ALPHA;
	for (int c = 'A'; c <= 'Z'; c++)
		cclass[c] = CC_ALPHA;
	for (int c = '0'; c <= '9'; c++)
		cclass[c] = CC_DIGIT;
	static const struct { char c; unsigned char k; } m[] = {
		{'_', CC_ALPHA}, {' ', CC_SPACE}, {'\t', CC_SPACE}, {'\n', CC_SPACE}, {'\r', CC_SPACE},
		{':', CC_COLON}, {'.', CC_DOT}, {'"', CC_QUOTE}, {'\'', CC_QUOTE}, {'`', CC_BACKQUOTE},
		{'#', CC_HASH}, {'(', CC_LP}, {')', CC_RP}, {'[', CC_LB}, {']', CC_RB}, {'{', CC_LBRACE},
		{'}', CC_RBRACE}, {',', CC_COMMA}, {'+', CC_PLUS}, {'-', CC_MINUS}, {'*', CC_STAR},
		{'/', CC_SLASH}, {'%', CC_PERCENT}, {'^', CC_CARET}, {'=', CC_EQ}, {'!', CC_BANG},
		{'<', CC_LT}, {'>', CC_GT}, {'@', CC_AT},
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		cclass[(unsigned char)m[i].c] = m[i].k;
	cclass[0] = CC_NUL;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
static bool in_set(char c, const char *set) { return c != 0 && strchr(set, c) != NULL; }

/* ---- keywords ---- */

static const struct {
	const char *word;
	int type;
} keywords[] = {
	{"and", PROMQL_TK_LAND}, {"or", PROMQL_TK_LOR}, {"unless", PROMQL_TK_LUNLESS},
	{"atan2", PROMQL_TK_ATAN2}, {"sum", PROMQL_TK_SUM}, {"avg", PROMQL_TK_AVG},
	{"count", PROMQL_TK_COUNT}, {"min", PROMQL_TK_MIN}, {"max", PROMQL_TK_MAX},
	{"group", PROMQL_TK_GROUP}, {"stddev", PROMQL_TK_STDDEV}, {"stdvar", PROMQL_TK_STDVAR},
	{"topk", PROMQL_TK_TOPK}, {"bottomk", PROMQL_TK_BOTTOMK}, {"count_values", PROMQL_TK_COUNT_VALUES},
	{"quantile", PROMQL_TK_QUANTILE}, {"limitk", PROMQL_TK_LIMITK}, {"limit_ratio", PROMQL_TK_LIMIT_RATIO},
	{"offset", PROMQL_TK_OFFSET}, {"by", PROMQL_TK_BY}, {"without", PROMQL_TK_WITHOUT},
	{"anchored", PROMQL_TK_ANCHORED}, {"smoothed", PROMQL_TK_SMOOTHED},
	{"on", PROMQL_TK_ON}, {"ignoring", PROMQL_TK_IGNORING}, {"group_left", PROMQL_TK_GROUP_LEFT},
	{"group_right", PROMQL_TK_GROUP_RIGHT}, {"bool", PROMQL_TK_BOOL}, {"start", PROMQL_TK_START},
	{"end", PROMQL_TK_END}, {"inf", PROMQL_TK_NUMBER}, {"nan", PROMQL_TK_NUMBER},
	/* duration expressions (also function names: parser.y falls back) */
	{"step", PROMQL_TK_STEP}, {"range", PROMQL_TK_RANGE}, {"min_of", PROMQL_TK_MIN_OF},
	{"max_of", PROMQL_TK_MAX_OF},
};

static int keyword_type(const char *z, int n)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if ((int)strlen(keywords[i].word) == n && strncasecmp(keywords[i].word, z, (size_t)n) == 0)
			return keywords[i].type;
	return 0;
}

/* fill, fill_left and fill_right are keywords only when a '(' follows
 * (after optional spaces), as in lex.go: elsewhere they stay metric names,
 * so `foo + fill` keeps working. */
static int fill_keyword_type(const char *z, int n)
{
	static const struct {
		const char *word;
		int type;
	} fills[] = {
		{"fill", PROMQL_TK_FILL}, {"fill_left", PROMQL_TK_FILL_LEFT}, {"fill_right", PROMQL_TK_FILL_RIGHT},
	};
	for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) {
		if ((int)strlen(fills[i].word) != n || strncasecmp(fills[i].word, z, (size_t)n) != 0)
			continue;
		const char *r = z + n;
		while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
			r++;
		return *r == '(' ? fills[i].type : 0;
	}
	return 0;
}

/* ---- numbers and durations (lex.go scanNumber / acceptRemainingDuration) ---- */

/* Returns the length of a number at z, or -(length consumed) when the
 * text there is not a valid number (the caller then tries a duration). */
static int scan_number(const char *z)
{
	int i = 0;
	const char *digits = "0123456789";
	bool hex = false;
	if (z[0] == '0' && (z[1] == 'x' || z[1] == 'X')) {
		i = 2;
		if (z[i] == '_')
			i++;
		digits = "0123456789abcdefABCDEF";
		hex = true;
	}
	if (z[i] == '.')
		i++;
	if (in_set(z[i], digits))
		i++;
	bool dot = false, expo = false;
	for (;;) {
		char c = z[i];
		if (!(in_set(c, digits) || c == '.' || c == '_' || c == 'e' || c == 'E'))
			break;
		if (c == '.' && dot)
			return -(i + 1);
		if ((c == 'e' || c == 'E') && expo && !hex)
			return -(i + 1);
		if (c == '.') {
			dot = true;
			i++;
			if (z[i] == '_' || z[i] == '.')
				return -(i + 1);
			if (hex)
				return -i;
			continue;
		}
		if ((c == 'e' || c == 'E') && !hex) {
			expo = true;
			i++;
			if (z[i] == '+' || z[i] == '-')
				i++;
			if (in_set(z[i], "._eE"))
				return -(i + 1);
			if (z[i] == 0)
				return -i;
			continue;
		}
		if (c == '_') {
			i++;
			if (in_set(z[i], "._eE"))
				return -(i + 1);
			if (z[i] == 0)
				return -i;
			continue;
		}
		while (in_set(z[i], digits))
			i++;
	}
	if (i == 0)
		return 0;
	if (!is_alnum(z[i]))
		return i;
	return -i;
}

/* From the end of a failed number scan at z+i: the length of a duration,
 * or 0. */
static int scan_duration_rest(const char *z, int i)
{
	if (!in_set(z[i], "smhdwy"))
		return 0;
	i++;
	if (z[i] == 's')
		i++;
	while (is_digit(z[i])) {
		while (is_digit(z[i]))
			i++;
		if (!in_set(z[i], "smhdw"))
			return 0;
		i++;
		if (z[i] == 's')
			i++;
	}
	if (is_alnum(z[i]))
		return 0;
	return i;
}

static int lex_number(const char *z, int *type)
{
	int n = scan_number(z);
	if (n > 0) {
		*type = PROMQL_TK_NUMBER;
		return n;
	}
	int consumed = -n;
	int d = scan_duration_rest(z, consumed);
	if (d > 0) {
		*type = PROMQL_TK_DURATION;
		return d;
	}
	/* lex.go reports the text consumed so far, including the unit char
	 * it looked at; the driver quotes z[0..n). */
	*type = PROMQL_LEX_BAD_NUMBER;
	if (in_set(z[consumed], "smhdwy")) {
		int j = consumed + 1;
		if (z[j] == 's')
			j++;
		while (is_digit(z[j])) {
			while (is_digit(z[j]))
				j++;
			if (!in_set(z[j], "smhdw"))
				return j;
			j++;
			if (z[j] == 's')
				j++;
		}
		return j + (z[j] != 0);
	}
	return consumed > 0 ? consumed : 1;
}

/* ---- strings ---- */

static int lex_string(const char *z, int *type)
{
	char q = z[0];
	int i = 1;
	if (q == '`') {
		while (z[i] && z[i] != '`')
			i++;
		if (!z[i]) {
			*type = PROMQL_LEX_UNTERMINATED_RAW;
			return i;
		}
		*type = PROMQL_TK_STRING;
		return i + 1;
	}
	while (z[i] && z[i] != q && z[i] != '\n') {
		if (z[i] == '\\' && z[i + 1])
			i++;
		i++;
	}
	if (z[i] != q) {
		*type = PROMQL_LEX_UNTERMINATED;
		return i;
	}
	*type = PROMQL_TK_STRING;
	return i + 1;
}

/* ---- API ---- */

int promql_lex_label_len(const char *z)
{
	int i = 0;
	if (!is_alpha(z[0]))
		return 0;
	while (is_alnum(z[i]))
		i++;
	return i;
}

int promql_lex_duration_keyword(const char *z, int *type)
{
	static const struct {
		const char *word;
		int type;
	} words[] = {
		{"step", PROMQL_TK_STEP}, {"range", PROMQL_TK_RANGE},
		{"min_of", PROMQL_TK_MIN_OF}, {"max_of", PROMQL_TK_MAX_OF},
	};
	int n = 0;
	while (is_alpha(z[n]))
		n++;
	*type = 0;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if ((int)strlen(words[i].word) == n && strncasecmp(words[i].word, z, (size_t)n) == 0)
			*type = words[i].type;
	return n;
}

int promql_lex_next(const char *z, int *type)
{
	int i;
	init_classes();
	switch (cclass[(unsigned char)z[0]]) {
	case CC_NUL: *type = PROMQL_LEX_EOF; return 0;
	case CC_SPACE:
		for (i = 1; cclass[(unsigned char)z[i]] == CC_SPACE; i++) {
		}
		*type = PROMQL_LEX_SPACE;
		return i;
	case CC_HASH:
		for (i = 1; z[i] && z[i] != '\n' && z[i] != '\r'; i++) {
		}
		*type = PROMQL_LEX_COMMENT;
		return i;
	case CC_LP: *type = PROMQL_TK_LEFT_PAREN; return 1;
	case CC_RP: *type = PROMQL_TK_RIGHT_PAREN; return 1;
	case CC_LB: *type = PROMQL_TK_LEFT_BRACKET; return 1;
	case CC_RB: *type = PROMQL_TK_RIGHT_BRACKET; return 1;
	case CC_LBRACE: *type = PROMQL_TK_LEFT_BRACE; return 1;
	case CC_RBRACE: *type = PROMQL_TK_RIGHT_BRACE; return 1;
	case CC_COMMA: *type = PROMQL_TK_COMMA; return 1;
	case CC_COLON:
		/* ':' starts a metric name outside brackets; the driver turns it
		 * into COLON inside brackets. */
		for (i = 1; is_alnum(z[i]) || z[i] == ':'; i++) {
		}
		*type = PROMQL_TK_METRIC_IDENTIFIER;
		return i;
	case CC_PLUS: *type = PROMQL_TK_ADD; return 1;
	case CC_MINUS: *type = PROMQL_TK_SUB; return 1;
	case CC_STAR: *type = PROMQL_TK_MUL; return 1;
	case CC_SLASH: *type = PROMQL_TK_DIV; return 1;
	case CC_PERCENT: *type = PROMQL_TK_MOD; return 1;
	case CC_CARET: *type = PROMQL_TK_POW; return 1;
	case CC_AT: *type = PROMQL_TK_AT; return 1;
	case CC_EQ:
		if (z[1] == '=') {
			*type = PROMQL_TK_EQLC;
			return 2;
		}
		if (z[1] == '~') {
			*type = PROMQL_TK_EQL_REGEX;
			return 2;
		}
		*type = PROMQL_TK_EQL;
		return 1;
	case CC_BANG:
		if (z[1] == '=') {
			*type = PROMQL_TK_NEQ;
			return 2;
		}
		if (z[1] == '~') {
			*type = PROMQL_TK_NEQ_REGEX;
			return 2;
		}
		*type = PROMQL_LEX_BANG;
		return 1;
	case CC_LT:
		if (z[1] == '=') {
			*type = PROMQL_TK_LTE;
			return 2;
		}
		*type = PROMQL_TK_LSS;
		return 1;
	case CC_GT:
		if (z[1] == '=') {
			*type = PROMQL_TK_GTE;
			return 2;
		}
		*type = PROMQL_TK_GTR;
		return 1;
	case CC_DIGIT: return lex_number(z, type);
	case CC_DOT:
		if (is_digit(z[1]))
			return lex_number(z, type);
		*type = PROMQL_LEX_ILLEGAL;
		return 1;
	case CC_QUOTE:
	case CC_BACKQUOTE: return lex_string(z, type);
	case CC_ALPHA: {
		bool colon = false;
		for (i = 1; is_alnum(z[i]) || z[i] == ':'; i++)
			colon |= z[i] == ':';
		int kw = keyword_type(z, i);
		if (!kw)
			kw = fill_keyword_type(z, i);
		*type = kw ? kw : colon ? PROMQL_TK_METRIC_IDENTIFIER : PROMQL_TK_IDENTIFIER;
		return i;
	}
	default:
		*type = PROMQL_LEX_ILLEGAL;
		/* one UTF-8 sequence, so the driver can quote the rune */
		i = 1;
		if ((unsigned char)z[0] >= 0xc0)
			while ((((unsigned char)z[i]) & 0xc0) == 0x80 && i < 4)
				i++;
		return i;
	}
}
