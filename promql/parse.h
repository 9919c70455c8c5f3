/* SPDX-License-Identifier: Apache-2.0
 * parse.h - private state shared by the PromQL lexer driver (parse.c), the
 * lemon grammar (parser.y) and the AST constructors (ast.c). Not for the
 * engine: it sees only ast.h.
 * Invariants: the first error recorded wins (Prometheus reports only the
 * first); once p->rc != 0 the driver feeds no further tokens. Every node,
 * list and string lives in p->arena; only vector selectors own malloc'd
 * matchers, released by promql_ast_release. */
#ifndef PROMQL_PARSE_H
#define PROMQL_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/arena.h"
#include "promql/ast.h"
#include "promql/functions.h"

/* A token: a slice of the query text, never copied. */
typedef struct promql_token {
	const char *z;   /* start in the query text */
	uint32_t n;      /* length in bytes */
	uint32_t pos;    /* byte offset of z */
	int type;        /* PROMQL_TK_* */
} promql_token;

/* Growable arena arrays used while building nodes. */
typedef struct promql_node_list {
	promql_node **items;
	size_t n, cap;
} promql_node_list;

typedef struct promql_str_list {
	char **items;
	size_t n, cap;
} promql_str_list;

/* A label matcher as written, before the tsdb_matcher is built. */
typedef struct promql_raw_matcher {
	tsdb_match_type type;
	char *name;
	char *value;
	uint32_t pos_start, pos_end;  /* label name .. value */
} promql_raw_matcher;

typedef struct promql_raw_matcher_list {
	promql_raw_matcher *items;
	size_t n, cap;
} promql_raw_matcher_list;

/* Modifiers of a binary operator, collected before the operands meet. */
typedef struct promql_binmod {
	bool return_bool;
	promql_matching matching;
} promql_binmod;

/* Grouping clause of an aggregation. */
typedef struct promql_aggmod {
	bool without;
	promql_str_list *labels;
} promql_aggmod;

typedef struct promql_parser_ctx {
	const char *text;               /* the query (NUL-terminated) */
	uint32_t len;                   /* strlen(text) */
	tp_arena *arena;                /* where nodes go */
	promql_parse_opts opts;
	int rc;                         /* 0, or -1 once an error is recorded */
	promql_parse_error *err;        /* where the first error goes */
	promql_node *root;              /* the accepted expression */
	bool selector_only;             /* promql_parse_selector: a vector selector alone */
	uint32_t last_closing;          /* end of the last ) } ] number or duration */
	promql_token last;              /* the token being fed (error position) */
	const char *syntax_context;     /* "label matching", ... for syntax errors */
	const char *syntax_expected;    /* what would have been accepted there */
} promql_parser_ctx;

/* ---- errors (parse.c) ---- */

/* Records "L:C: parse error: <msg>" with the position of start, unless an
 * error is already recorded. */
/* The deepest expression tree accepted: evaluation, printing and type
 * checking recurse once per level, and threads (HTTP workers, the rules
 * thread) have a few MiB of stack. Prometheus has no such limit; no real
 * query comes near it (the grammar's own stack stops parentheses at about
 * the same depth). */
#define PROMQL_MAX_DEPTH 1000
/* Records "expression nesting too deep" at the first node past the limit;
 * false then. */
bool promql_ast_check_depth(promql_parser_ctx *p, const promql_node *root);
void promql_parse_errorf(promql_parser_ctx *p, uint32_t start, uint32_t end, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Builds a matcher array from raw matchers (+ __name__=name when name is
 * given, appended last as Prometheus does). Returns NULL (error recorded)
 * when a regex does not compile. */
tsdb_matcher *promql_parse_build_matchers(promql_parser_ctx *p, const char *name,
					  const promql_raw_matcher_list *raw, size_t *n);
/* Unquotes a string token (Go's strconv.Unquote rules) into the arena.
 * NULL with an error recorded when invalid. */
char *promql_parse_unquote(promql_parser_ctx *p, const promql_token *t);
/* A NUMBER token's value, a DURATION token's value in ms. */
double promql_parse_number(promql_parser_ctx *p, const promql_token *t);
int64_t promql_parse_duration(promql_parser_ctx *p, const promql_token *t);

/* Records Prometheus's "unexpected <token>[ in <context>][, expected <what>]"
 * for the token lemon could not shift (major 0: end of input). */
void promql_parse_syntax_error(promql_parser_ctx *p, const promql_token *t, int major);
/* {"name"}: a __name__ matcher from a lone quoted string in braces. */
promql_raw_matcher promql_parse_name_matcher(promql_parser_ctx *p, const promql_token *t);

/* ---- constructors (ast.c) ----
 * All take ownership of their node arguments, also on failure: a NULL
 * child (after an earlier error) yields NULL and the other children are
 * released. They never fail otherwise (the arena aborts on OOM). */
promql_node *promql_ast_number(promql_parser_ctx *p, double v, uint32_t start, uint32_t end);
promql_node *promql_ast_string(promql_parser_ctx *p, char *v, uint32_t start, uint32_t end);
promql_node *promql_ast_selector(promql_parser_ctx *p, const promql_token *name,
				 promql_raw_matcher_list *raw, uint32_t start, uint32_t end);
/* range and step are positive duration expressions (step NULL: the
 * default); a literal becomes range_ms/step_ms, anything else is kept for
 * the engine. */
promql_node *promql_ast_matrix(promql_parser_ctx *p, promql_node *vs, promql_duration *range,
			       uint32_t lbracket, uint32_t end);
promql_node *promql_ast_subquery(promql_parser_ctx *p, promql_node *e, promql_duration *range,
				 promql_duration *step, uint32_t end);
promql_node *promql_ast_paren(promql_parser_ctx *p, promql_node *e, uint32_t start, uint32_t end);
promql_node *promql_ast_unary(promql_parser_ctx *p, bool neg, promql_node *e, uint32_t start);
promql_node *promql_ast_binary(promql_parser_ctx *p, promql_binop op, promql_node *lhs,
			       promql_binmod *mod, promql_node *rhs);
promql_node *promql_ast_call(promql_parser_ctx *p, const promql_token *name, promql_node_list *args,
			     uint32_t end);
promql_node *promql_ast_aggregate(promql_parser_ctx *p, const promql_token *op, promql_aggmod *mod,
				  promql_node_list *args, uint32_t end);
/* Modifiers applied after the fact; they return e (or NULL after an error). */
promql_node *promql_ast_offset(promql_parser_ctx *p, promql_node *e, int64_t offset_ms);
promql_node *promql_ast_at(promql_parser_ctx *p, promql_node *e, double ts_s);
promql_node *promql_ast_at_preproc(promql_parser_ctx *p, promql_node *e, promql_at_kind k);
/* `anchored` (smoothed false) or `smoothed` after e: marks the vector
 * selector of e, or records Prometheus's error for a subquery, any other
 * expression, both modifiers at once or the feature switched off. */
promql_node *promql_ast_extended(promql_parser_ctx *p, promql_node *e, bool smoothed);
/* offset with a duration expression: a literal is promql_ast_offset. */
promql_node *promql_ast_offset_dur(promql_parser_ctx *p, promql_node *e, promql_duration *d);

/* ---- duration expressions (ast.c), after generated_parser.y's
 * duration_expr rules. Nodes live in the arena; a NULL operand (after an
 * error) yields NULL. Semantic errors use Prometheus's texts ("duration
 * out of range", "division by zero", "experimental duration expression is
 * not enabled", ...). ---- */
/* A NUMBER or DURATION token; check: refuse values beyond time.Duration
 * (a signed literal after offset is checked after the sign). */
promql_duration *promql_ast_dur_number(promql_parser_ctx *p, const promql_token *t, bool check);
/* unary_op applied to e (applyUnaryOpToDurationExpr): folded into a
 * literal, else a '-' node; wrapped marks e as parenthesised. */
promql_duration *promql_ast_dur_unary(promql_parser_ctx *p, const promql_token *op, promql_duration *e,
				      bool wrapped);
/* offset's `-step()` / `+min_of(...)`: always a unary node. */
promql_duration *promql_ast_dur_signed(promql_parser_ctx *p, const promql_token *op, promql_duration *e);
promql_duration *promql_ast_dur_binary(promql_parser_ctx *p, promql_dur_op op, promql_duration *l,
				       const promql_token *optok, promql_duration *r);
/* step(), range() (l = r = NULL), min_of(l, r), max_of(l, r); name is the
 * keyword token, end the byte after ')'. */
promql_duration *promql_ast_dur_call(promql_parser_ctx *p, promql_dur_op op, const promql_token *name,
				     promql_duration *l, promql_duration *r, uint32_t end);
/* step() etc. standing alone: they need promql-duration-expr (a signed
 * one is checked as a whole by promql_ast_dur_signed). Returns d. */
promql_duration *promql_ast_dur_gate(promql_parser_ctx *p, promql_duration *d);
/* ( e ) */
promql_duration *promql_ast_dur_paren(promql_parser_ctx *p, promql_duration *e);
/* positive_duration_expr: a literal must be > 0. */
promql_duration *promql_ast_dur_positive(promql_parser_ctx *p, promql_duration *e);

promql_node_list *promql_ast_list_append(promql_parser_ctx *p, promql_node_list *l, promql_node *n);
promql_str_list *promql_ast_strs_append(promql_parser_ctx *p, promql_str_list *l, const promql_token *t);
promql_raw_matcher_list *promql_ast_matchers_append(promql_parser_ctx *p, promql_raw_matcher_list *l,
						    const promql_raw_matcher *m);

/* Frees the malloc'd parts (matchers) of a subtree; the nodes themselves
 * stay in the arena. NULL is a no-op. */
void promql_ast_release(promql_node *n);
void promql_ast_release_list(promql_node_list *l);

/* Aggregation operator by name (case-insensitive); -1 when unknown. */
int promql_aggop_lookup(const char *z, size_t n);

/* Type checking as Prometheus's checkAST; records the first error. */
promql_type promql_ast_check(promql_parser_ctx *p, promql_node *n);

/* Lexer (lexer.c) */
#include "promql/lexer.h"

#endif
