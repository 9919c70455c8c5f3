/* SPDX-License-Identifier: Apache-2.0
 * lexer.h - the PromQL tokenizer: a pure function over the query text.
 * Invariants: promql_lex_next never reads past the terminating NUL and
 * always returns a length >= 1 unless *z is NUL (then 0 and
 * PROMQL_LEX_EOF). Token codes are the grammar's PROMQL_TK_* (generated
 * promql/parser.h) plus the PROMQL_LEX_* pseudo tokens below, which the
 * driver (parse.c) handles itself and never feeds to the parser. */
#ifndef PROMQL_LEXER_H
#define PROMQL_LEXER_H

#include <stddef.h>

#include "promql/parser.h"

enum {
	PROMQL_LEX_EOF = 1000,        /* end of input (length 0) */
	PROMQL_LEX_SPACE,             /* run of ' ', \t, \n, \r */
	PROMQL_LEX_COMMENT,           /* '#' to the end of the line */
	PROMQL_LEX_ILLEGAL,           /* a byte that starts no token */
	PROMQL_LEX_BANG,              /* '!' not followed by '=' or '~' */
	PROMQL_LEX_BAD_NUMBER,        /* digits that form neither a number nor a duration */
	PROMQL_LEX_UNTERMINATED,      /* quoted string without its closing quote */
	PROMQL_LEX_UNTERMINATED_RAW,  /* raw (backtick) string without its closing quote */
};

/* Scans one token at z. Returns its length in bytes and sets *type.
 * Keywords are recognised case-insensitively as Prometheus does (e.g.
 * "SUM", "Inf"); an identifier holding ':' is a METRIC_IDENTIFIER.
 * Strings are returned whole, quotes included; their escapes are checked
 * by the driver when unquoting. */
int promql_lex_next(const char *z, int *type);

/* Inside brackets (lex.go scanDurationKeyword): the length of the run of
 * [A-Za-z_] at z; *type is PROMQL_TK_STEP, _RANGE, _MIN_OF or _MAX_OF when
 * the run is that word (case-insensitive), else 0. */
int promql_lex_duration_keyword(const char *z, int *type);

/* Length of the label-name part of an identifier inside braces
 * ([A-Za-z_][A-Za-z0-9_]*, no ':'). */
int promql_lex_label_len(const char *z);

#endif
