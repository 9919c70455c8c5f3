/* SPDX-License-Identifier: Apache-2.0
 * ast.h - the PromQL abstract syntax tree, shared by the parser (parser.y,
 * lexer.c, ast.c, printer.c) and the engine (eval*.c).
 *
 * Ownership: every node, string and array of one parsed expression lives in
 * the arena of its promql_expr; promql_expr_free releases all of it. Nodes
 * are immutable after parsing (the engine keeps per-query state elsewhere).
 * Positions are byte offsets into the query text, [pos_start, pos_end). */
#ifndef PROMQL_AST_H
#define PROMQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "tsdb/tsdb.h"

/* ORDER PROMQL_TYPE: value types as Prometheus names them in errors
 * ("scalar", "instant vector", "range vector", "string"). */
typedef enum promql_type {
	PROMQL_TYPE_NONE = 0,
	PROMQL_TYPE_SCALAR,
	PROMQL_TYPE_VECTOR,
	PROMQL_TYPE_MATRIX,
	PROMQL_TYPE_STRING,
} promql_type;
const char *promql_type_name(promql_type t);  /* "instant vector", ... */

/* ORDER PROMQL_NODE */
typedef enum promql_node_kind {
	PROMQL_NODE_NUMBER,           /* 1, 0x1f, 1e3, Inf, NaN; also a duration used as a number */
	PROMQL_NODE_STRING,           /* "text" */
	PROMQL_NODE_VECTOR_SELECTOR,  /* foo{a="b"} offset 5m @ 123 */
	PROMQL_NODE_MATRIX_SELECTOR,  /* foo[5m] (wraps a vector selector) */
	PROMQL_NODE_SUBQUERY,         /* expr[1h:5m] offset 1m @ end() */
	PROMQL_NODE_PAREN,            /* (expr) */
	PROMQL_NODE_UNARY,            /* -expr, +expr */
	PROMQL_NODE_BINARY,           /* lhs op rhs */
	PROMQL_NODE_CALL,             /* fn(args) */
	PROMQL_NODE_AGGREGATE,        /* sum by (a) (expr), topk(3, expr) */
} promql_node_kind;

/* ORDER PROMQL_OP: binary operators; printer and engine index by this. */
typedef enum promql_binop {
	PROMQL_OP_ADD, PROMQL_OP_SUB, PROMQL_OP_MUL, PROMQL_OP_DIV, PROMQL_OP_MOD, PROMQL_OP_POW,
	PROMQL_OP_ATAN2,
	PROMQL_OP_EQL, PROMQL_OP_NEQ, PROMQL_OP_GTR, PROMQL_OP_LSS, PROMQL_OP_GTE, PROMQL_OP_LTE,
	PROMQL_OP_AND, PROMQL_OP_OR, PROMQL_OP_UNLESS,
} promql_binop;
const char *promql_binop_str(promql_binop op);   /* "+", "atan2", "and", ... */
bool promql_binop_is_comparison(promql_binop op);
bool promql_binop_is_set(promql_binop op);       /* and, or, unless */

/* ORDER PROMQL_AGG */
typedef enum promql_aggop {
	PROMQL_AGG_SUM, PROMQL_AGG_AVG, PROMQL_AGG_COUNT, PROMQL_AGG_MIN, PROMQL_AGG_MAX,
	PROMQL_AGG_GROUP, PROMQL_AGG_STDDEV, PROMQL_AGG_STDVAR, PROMQL_AGG_TOPK, PROMQL_AGG_BOTTOMK,
	PROMQL_AGG_COUNT_VALUES, PROMQL_AGG_QUANTILE, PROMQL_AGG_LIMITK, PROMQL_AGG_LIMIT_RATIO,
} promql_aggop;
const char *promql_aggop_str(promql_aggop op);   /* "sum", "count_values", ... */
bool promql_aggop_has_param(promql_aggop op);

/* `@` modifier */
typedef enum promql_at_kind {
	PROMQL_AT_NONE = 0,
	PROMQL_AT_TIMESTAMP,  /* @ <number>: at_ms holds it */
	PROMQL_AT_START,      /* @ start() */
	PROMQL_AT_END,        /* @ end() */
} promql_at_kind;

typedef enum promql_card {
	PROMQL_CARD_ONE_TO_ONE = 0,
	PROMQL_CARD_MANY_TO_ONE,   /* group_left */
	PROMQL_CARD_ONE_TO_MANY,   /* group_right */
	PROMQL_CARD_MANY_TO_MANY,  /* set operators */
} promql_card;

/* Vector matching of a binary operation between two vectors. */
typedef struct promql_matching {
	promql_card card;
	bool on;              /* on(...) when true, ignoring(...) when false */
	bool has_clause;      /* an on/ignoring clause was written (even empty) */
	char **labels;        /* the on/ignoring label list */
	size_t nlabels;
	char **include;       /* group_left/group_right extra labels */
	size_t ninclude;
	/* fill(v) sets both, fill_left(v) / fill_right(v) one side: a series
	 * missing on that side is matched as if it were there with value v
	 * (promql-binop-fill-modifiers). */
	bool has_fill_lhs, has_fill_rhs;
	double fill_lhs, fill_rhs;
} promql_matching;

typedef struct promql_function promql_function;  /* functions.h */
typedef struct promql_node promql_node;

/* ORDER PROMQL_DUR: a duration expression (promql-duration-expr), the
 * value of a range, subquery step or offset that is not a plain literal:
 * arithmetic over numbers and durations (seconds), step(), range(),
 * min_of() and max_of(). The engine computes it once per query (it
 * depends on the query's step and range); the printer writes it back. */
typedef enum promql_dur_op {
	PROMQL_DUR_NUMBER,   /* leaf: value */
	PROMQL_DUR_ADD, PROMQL_DUR_SUB, PROMQL_DUR_MUL, PROMQL_DUR_DIV, PROMQL_DUR_MOD, PROMQL_DUR_POW,
	PROMQL_DUR_STEP,     /* step(): the query step, 0 for an instant query */
	PROMQL_DUR_RANGE,    /* range(): end - start of the query */
	PROMQL_DUR_MIN_OF,   /* min_of(lhs, rhs) */
	PROMQL_DUR_MAX_OF,   /* max_of(lhs, rhs) */
} promql_dur_op;

typedef struct promql_duration promql_duration;
struct promql_duration {
	promql_dur_op op;
	double value;                 /* NUMBER: seconds */
	bool is_duration;             /* NUMBER written as a duration (5m): printed so */
	bool wrapped;                 /* written in parentheses: printed so */
	promql_duration *lhs, *rhs;   /* operands; lhs NULL for unary + and - */
	uint32_t pos_start, pos_end;  /* byte offsets into the query text */
};

struct promql_node {
	promql_node_kind kind;
	uint32_t pos_start, pos_end;  /* byte offsets into the query text */
	union {
		struct {  /* NUMBER */
			double value;
			bool duration;          /* written as a duration (5m, value in s): printed so */
		} number;
		struct {  /* STRING */
			char *value;  /* unescaped */
		} string;
		struct {  /* VECTOR_SELECTOR */
			char *name;             /* metric name written before {}, or NULL */
			tsdb_matcher *matchers; /* all matchers, incl. __name__="name" when name given */
			size_t nmatchers;
			int64_t offset_ms;      /* may be negative */
			promql_at_kind at;
			int64_t at_ms;          /* for PROMQL_AT_TIMESTAMP */
			bool anchored;          /* `anchored`: boundaries from real samples (never both) */
			bool smoothed;          /* `smoothed`: boundaries interpolated */
			promql_duration *offset_expr;  /* offset as a duration expression, or NULL */
		} vs;
		struct {  /* MATRIX_SELECTOR */
			promql_node *vs;        /* a VECTOR_SELECTOR; offset/@ live there */
			int64_t range_ms;
			promql_duration *range_expr;  /* range as a duration expression, or NULL */
		} ms;
		struct {  /* SUBQUERY */
			promql_node *expr;
			int64_t range_ms;
			int64_t step_ms;        /* 0: the default evaluation interval */
			int64_t offset_ms;
			promql_at_kind at;
			int64_t at_ms;
			promql_duration *range_expr;   /* duration expressions, or NULL; */
			promql_duration *step_expr;    /* when set, the engine computes */
			promql_duration *offset_expr;  /* range_ms/step_ms/offset_ms */
		} sq;
		struct {  /* PAREN */
			promql_node *expr;
		} paren;
		struct {  /* UNARY */
			bool neg;               /* '-' (true) or '+' (false) */
			promql_node *expr;
		} unary;
		struct {  /* BINARY */
			promql_binop op;
			promql_node *lhs, *rhs;
			bool return_bool;       /* the bool modifier on a comparison */
			promql_matching *matching;  /* non-NULL when both sides are vectors */
		} binary;
		struct {  /* CALL */
			const promql_function *fn;
			promql_node **args;
			size_t nargs;
		} call;
		struct {  /* AGGREGATE */
			promql_aggop op;
			promql_node *expr;
			promql_node *param;     /* topk/bottomk/quantile/count_values/limitk/limit_ratio */
			char **grouping;        /* by/without labels */
			size_t ngrouping;
			bool without;
			bool has_grouping;      /* by/without was written (possibly empty) */
		} agg;
	} u;
};

/* The static type of a node's value. */
promql_type promql_node_type(const promql_node *n);

/* A parsed expression and the arena holding it. */
typedef struct promql_expr {
	promql_node *root;
	tp_arena arena;
	char *text;  /* copy of the query text */
} promql_expr;

/* Parser errors carry Prometheus's text including the position prefix,
 * e.g. "1:15: parse error: unexpected character after '=': '~'". */
typedef struct promql_parse_error {
	char msg[512];
	uint32_t pos_start, pos_end;
} promql_parse_error;

/* Parses and type-checks query. Returns NULL and fills err on failure.
 * The options switch on experimental syntax/functions the way Prometheus's
 * --enable-feature flags do. */
typedef struct promql_parse_opts {
	bool experimental_functions;  /* --enable-feature=promql-experimental-functions */
	bool duration_expressions;    /* --enable-feature=promql-duration-expr */
	bool extended_range_selectors; /* --enable-feature=promql-extended-range-selectors */
	bool binop_fill_modifiers;    /* --enable-feature=promql-binop-fill-modifiers */
} promql_parse_opts;
promql_expr *promql_parse(const char *query, const promql_parse_opts *opts, promql_parse_error *err);
void promql_expr_free(promql_expr *e);

/* Canonical PromQL text of a node, as Prometheus's String()/Pretty prints
 * it on one line (used by format_query and rules). Appends to sb. */
void promql_node_print(tp_strbuf *sb, const promql_node *n);
/* The same for a duration expression (DurationExpr.String()). */
void promql_duration_print(tp_strbuf *sb, const promql_duration *d);

/* Parses a series selector alone (for match[] parameters): fills a
 * malloc'd matcher array. Returns 0, or -1 with err. */
int promql_parse_selector(const char *text, tsdb_matcher **out, size_t *n, promql_parse_error *err);
void promql_matchers_free(tsdb_matcher *ms, size_t n);

#endif
