/* SPDX-License-Identifier: Apache-2.0
 * ast.c - PromQL AST: names of types and operators, node constructors used
 * by the grammar, releasing, and the type checker (Prometheus's checkAST).
 * Invariants: constructors take ownership of their node arguments also on
 * failure (STYLE.md §9); nodes live in the parse arena, only vector
 * selectors own malloc'd matchers; the first error recorded in the parse
 * context is the one reported, as Prometheus reports only its first. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "promql/ast.h"
#include "promql/functions.h"
#include "promql/parse.h"

/* ---- names ---- */

const char *promql_type_name(promql_type t)
{
	switch (t) {
	case PROMQL_TYPE_SCALAR: return "scalar";
	case PROMQL_TYPE_VECTOR: return "instant vector";
	case PROMQL_TYPE_MATRIX: return "range vector";
	case PROMQL_TYPE_STRING: return "string";
	case PROMQL_TYPE_NONE: break;
	}
	return "none";
}

/* Go's ValueType.String(): used where Prometheus formats the raw type. */
static const char *type_raw_name(promql_type t)
{
	switch (t) {
	case PROMQL_TYPE_SCALAR: return "scalar";
	case PROMQL_TYPE_VECTOR: return "vector";
	case PROMQL_TYPE_MATRIX: return "matrix";
	case PROMQL_TYPE_STRING: return "string";
	case PROMQL_TYPE_NONE: break;
	}
	return "none";
}

/* ORDER PROMQL_OP */
static const char *const binop_names[] = {
	"+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless",
};

const char *promql_binop_str(promql_binop op)
{
	if ((unsigned)op >= TP_ARRAY_LEN(binop_names))
		return "?";
	return binop_names[op];
}

bool promql_binop_is_comparison(promql_binop op)
{
	return op >= PROMQL_OP_EQL && op <= PROMQL_OP_LTE;
}

bool promql_binop_is_set(promql_binop op)
{
	return op == PROMQL_OP_AND || op == PROMQL_OP_OR || op == PROMQL_OP_UNLESS;
}

/* ORDER PROMQL_AGG */
static const char *const aggop_names[] = {
	"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
	"count_values", "quantile", "limitk", "limit_ratio",
};

const char *promql_aggop_str(promql_aggop op)
{
	if ((unsigned)op >= TP_ARRAY_LEN(aggop_names))
		return "?";
	return aggop_names[op];
}

bool promql_aggop_has_param(promql_aggop op)
{
	switch (op) {
	case PROMQL_AGG_TOPK:
	case PROMQL_AGG_BOTTOMK:
	case PROMQL_AGG_COUNT_VALUES:
	case PROMQL_AGG_QUANTILE:
	case PROMQL_AGG_LIMITK:
	case PROMQL_AGG_LIMIT_RATIO:
		return true;
	default:
		return false;
	}
}

/* Looks an aggregation operator up by name (case-insensitive, as the
 * lexer's keywords are). Returns -1 when unknown. */
int promql_aggop_lookup(const char *z, size_t n)
{
	for (size_t i = 0; i < TP_ARRAY_LEN(aggop_names); i++)
		if (strlen(aggop_names[i]) == n && strncasecmp(aggop_names[i], z, n) == 0)
			return (int)i;
	return -1;
}

promql_type promql_node_type(const promql_node *n)
{
	if (!n)
		return PROMQL_TYPE_NONE;
	switch (n->kind) {
	case PROMQL_NODE_NUMBER: return PROMQL_TYPE_SCALAR;
	case PROMQL_NODE_STRING: return PROMQL_TYPE_STRING;
	case PROMQL_NODE_VECTOR_SELECTOR: return PROMQL_TYPE_VECTOR;
	case PROMQL_NODE_MATRIX_SELECTOR: return PROMQL_TYPE_MATRIX;
	case PROMQL_NODE_SUBQUERY: return PROMQL_TYPE_MATRIX;
	case PROMQL_NODE_PAREN: return promql_node_type(n->u.paren.expr);
	case PROMQL_NODE_UNARY: return promql_node_type(n->u.unary.expr);
	case PROMQL_NODE_BINARY:
		if (promql_node_type(n->u.binary.lhs) == PROMQL_TYPE_SCALAR &&
		    promql_node_type(n->u.binary.rhs) == PROMQL_TYPE_SCALAR)
			return PROMQL_TYPE_SCALAR;
		return PROMQL_TYPE_VECTOR;
	case PROMQL_NODE_CALL: return n->u.call.fn ? n->u.call.fn->ret : PROMQL_TYPE_NONE;
	case PROMQL_NODE_AGGREGATE: return PROMQL_TYPE_VECTOR;
	}
	return PROMQL_TYPE_NONE;
}

/* ---- releasing ---- */

void promql_matchers_free(tsdb_matcher *ms, size_t n)
{
	if (!ms)
		return;
	for (size_t i = 0; i < n; i++)
		tsdb_matcher_free(&ms[i]);
	free(ms);
}

/* Pushes n's children onto *st (grown as needed). */
static void push_children(promql_node *n, promql_node ***st, size_t *len, size_t *cap)
{
	promql_node *kids[2] = { NULL, NULL };
	size_t nk = 0;
	switch (n->kind) {
	case PROMQL_NODE_MATRIX_SELECTOR: kids[nk++] = n->u.ms.vs; break;
	case PROMQL_NODE_SUBQUERY: kids[nk++] = n->u.sq.expr; break;
	case PROMQL_NODE_PAREN: kids[nk++] = n->u.paren.expr; break;
	case PROMQL_NODE_UNARY: kids[nk++] = n->u.unary.expr; break;
	case PROMQL_NODE_BINARY:
		kids[nk++] = n->u.binary.lhs;
		kids[nk++] = n->u.binary.rhs;
		break;
	case PROMQL_NODE_AGGREGATE:
		kids[nk++] = n->u.agg.expr;
		kids[nk++] = n->u.agg.param;
		break;
	case PROMQL_NODE_CALL:
		for (size_t i = 0; i < n->u.call.nargs; i++) {
			if (*len == *cap)
				tp_grow((void **)st, cap, *len + 1, sizeof(**st));
			(*st)[(*len)++] = n->u.call.args[i];
		}
		break;
	default: break;
	}
	for (size_t i = 0; i < nk; i++) {
		if (*len == *cap)
			tp_grow((void **)st, cap, *len + 1, sizeof(**st));
		(*st)[(*len)++] = kids[i];
	}
}

/* Iterative, with an explicit stack: a tree too deep for the evaluator
 * (refused after parsing) must still be released without recursing. */
void promql_ast_release(promql_node *n)
{
	promql_node **st = NULL;
	size_t len = 0, cap = 0;
	while (n) {
		if (n->kind == PROMQL_NODE_VECTOR_SELECTOR) {
			promql_matchers_free(n->u.vs.matchers, n->u.vs.nmatchers);
			n->u.vs.matchers = NULL;
			n->u.vs.nmatchers = 0;
		} else {
			push_children(n, &st, &len, &cap);
		}
		n = NULL;
		while (!n && len)
			n = st[--len];
	}
	free(st);
}

/* The first node (pre-order) deeper than max, or NULL. Recurses at most
 * max + 1 levels itself. */
static const promql_node *deeper_than(const promql_node *n, int depth, int max)
{
	if (!n)
		return NULL;
	if (depth > max)
		return n;
	const promql_node *r = NULL;
	switch (n->kind) {
	case PROMQL_NODE_MATRIX_SELECTOR: return deeper_than(n->u.ms.vs, depth + 1, max);
	case PROMQL_NODE_SUBQUERY: return deeper_than(n->u.sq.expr, depth + 1, max);
	case PROMQL_NODE_PAREN: return deeper_than(n->u.paren.expr, depth + 1, max);
	case PROMQL_NODE_UNARY: return deeper_than(n->u.unary.expr, depth + 1, max);
	case PROMQL_NODE_BINARY:
		r = deeper_than(n->u.binary.lhs, depth + 1, max);
		return r ? r : deeper_than(n->u.binary.rhs, depth + 1, max);
	case PROMQL_NODE_AGGREGATE:
		r = deeper_than(n->u.agg.expr, depth + 1, max);
		return r ? r : deeper_than(n->u.agg.param, depth + 1, max);
	case PROMQL_NODE_CALL:
		for (size_t i = 0; i < n->u.call.nargs && !r; i++)
			r = deeper_than(n->u.call.args[i], depth + 1, max);
		return r;
	default: return NULL;
	}
}

bool promql_ast_check_depth(promql_parser_ctx *p, const promql_node *root)
{
	const promql_node *n = deeper_than(root, 1, PROMQL_MAX_DEPTH);
	if (!n)
		return true;
	promql_parse_errorf(p, n->pos_start, n->pos_end, "expression nesting too deep");
	return false;
}

void promql_ast_release_list(promql_node_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		promql_ast_release(l->items[i]);
	l->n = 0;
}

void promql_expr_free(promql_expr *e)
{
	if (!e)
		return;
	promql_ast_release(e->root);
	tp_arena_free(&e->arena);
	free(e->text);
	free(e);
}

/* ---- constructors ---- */

static promql_node *node_new(promql_parser_ctx *p, promql_node_kind kind, uint32_t start, uint32_t end)
{
	promql_node *n = tp_arena_zalloc(p->arena, sizeof(*n));
	n->kind = kind;
	n->pos_start = start;
	n->pos_end = end;
	return n;
}

static uint32_t node_start(const promql_node *n) { return n ? n->pos_start : 0; }
static uint32_t node_end(const promql_node *n) { return n ? n->pos_end : 0; }

promql_node *promql_ast_number(promql_parser_ctx *p, double v, uint32_t start, uint32_t end)
{
	promql_node *n = node_new(p, PROMQL_NODE_NUMBER, start, end);
	n->u.number.value = v;
	return n;
}

promql_node *promql_ast_string(promql_parser_ctx *p, char *v, uint32_t start, uint32_t end)
{
	if (!v)
		return NULL;
	promql_node *n = node_new(p, PROMQL_NODE_STRING, start, end);
	n->u.string.value = v;
	return n;
}

promql_node *promql_ast_selector(promql_parser_ctx *p, const promql_token *name,
				 promql_raw_matcher_list *raw, uint32_t start, uint32_t end)
{
	char *nm = name ? tp_arena_strndup(p->arena, name->z, name->n) : NULL;
	size_t nm_count = 0;
	tsdb_matcher *ms = promql_parse_build_matchers(p, nm, raw, &nm_count);
	if (!ms && p->rc)
		return NULL;
	promql_node *n = node_new(p, PROMQL_NODE_VECTOR_SELECTOR, start, end);
	n->u.vs.name = nm;
	n->u.vs.matchers = ms;
	n->u.vs.nmatchers = nm_count;
	return n;
}

/* A literal duration in seconds as whole milliseconds, as Prometheus
 * stores it: time.Duration(math.Round(v * 1e9)), used in ms. */
static int64_t literal_ms(double v)
{
	return (int64_t)llround(v * 1e9) / 1000000;
}

promql_node *promql_ast_matrix(promql_parser_ctx *p, promql_node *vs, promql_duration *range, uint32_t lbracket,
			       uint32_t end)
{
	if (!vs || !range) {
		promql_ast_release(vs);
		return NULL;
	}
	const char *msg = NULL;
	if (vs->kind != PROMQL_NODE_VECTOR_SELECTOR)
		msg = "ranges only allowed for vector selectors";
	else if (vs->u.vs.offset_ms != 0)
		msg = "no offset modifiers allowed before range";
	else if (vs->u.vs.at != PROMQL_AT_NONE)
		msg = "no @ modifiers allowed before range";
	if (msg) {
		promql_parse_errorf(p, lbracket, end, "%s", msg);
		promql_ast_release(vs);
		return NULL;
	}
	promql_node *n = node_new(p, PROMQL_NODE_MATRIX_SELECTOR, vs->pos_start, end);
	n->u.ms.vs = vs;
	if (range->op == PROMQL_DUR_NUMBER)
		n->u.ms.range_ms = literal_ms(range->value);
	else
		n->u.ms.range_expr = range;
	return n;
}

promql_node *promql_ast_subquery(promql_parser_ctx *p, promql_node *e, promql_duration *range,
				 promql_duration *step, uint32_t end)
{
	if (!e || !range) {
		promql_ast_release(e);
		return NULL;
	}
	promql_node *n = node_new(p, PROMQL_NODE_SUBQUERY, e->pos_start, end);
	n->u.sq.expr = e;
	if (range->op == PROMQL_DUR_NUMBER)
		n->u.sq.range_ms = literal_ms(range->value);
	else
		n->u.sq.range_expr = range;
	if (step && step->op == PROMQL_DUR_NUMBER)
		n->u.sq.step_ms = literal_ms(step->value);
	else
		n->u.sq.step_expr = step;
	return n;
}

promql_node *promql_ast_paren(promql_parser_ctx *p, promql_node *e, uint32_t start, uint32_t end)
{
	if (!e)
		return NULL;
	promql_node *n = node_new(p, PROMQL_NODE_PAREN, start, end);
	n->u.paren.expr = e;
	return n;
}

promql_node *promql_ast_unary(promql_parser_ctx *p, bool neg, promql_node *e, uint32_t start)
{
	if (!e)
		return NULL;
	/* Prometheus folds a sign into a number literal: -1 is a NumberLiteral. */
	if (e->kind == PROMQL_NODE_NUMBER) {
		if (neg)
			e->u.number.value = -e->u.number.value;
		e->pos_start = start;
		return e;
	}
	promql_node *n = node_new(p, PROMQL_NODE_UNARY, start, e->pos_end);
	n->u.unary.neg = neg;
	n->u.unary.expr = e;
	return n;
}

promql_node *promql_ast_binary(promql_parser_ctx *p, promql_binop op, promql_node *lhs, promql_binmod *mod,
			       promql_node *rhs)
{
	if (!lhs || !rhs || !mod) {
		promql_ast_release(lhs);
		promql_ast_release(rhs);
		return NULL;
	}
	promql_node *n = node_new(p, PROMQL_NODE_BINARY, lhs->pos_start, rhs->pos_end);
	n->u.binary.op = op;
	n->u.binary.lhs = lhs;
	n->u.binary.rhs = rhs;
	n->u.binary.return_bool = mod->return_bool;
	promql_matching *m = tp_arena_alloc(p->arena, sizeof(*m));
	*m = mod->matching;
	n->u.binary.matching = m;  /* dropped by the type check unless vector op vector */
	if ((m->has_fill_lhs || m->has_fill_rhs) && !p->opts.binop_fill_modifiers)
		promql_parse_errorf(p, n->pos_start, n->pos_end, "binop fill modifiers are experimental and not enabled");
	return n;
}

promql_node *promql_ast_call(promql_parser_ctx *p, const promql_token *name, promql_node_list *args,
			     uint32_t end)
{
	const promql_function *fn = promql_function_lookup(name->z, name->n);
	if (!fn) {
		promql_parse_errorf(p, name->pos, name->pos + name->n, "unknown function with name \"%.*s\"",
				    (int)name->n, name->z);
		promql_ast_release_list(args);
		return NULL;
	}
	if (fn->experimental && !p->opts.experimental_functions) {
		promql_parse_errorf(p, name->pos, name->pos + name->n,
				    "function \"%.*s\" is not enabled", (int)name->n, name->z);
		promql_ast_release_list(args);
		return NULL;
	}
	promql_node *n = node_new(p, PROMQL_NODE_CALL, name->pos, end);
	n->u.call.fn = fn;
	if (args) {
		n->u.call.args = args->items;
		n->u.call.nargs = args->n;
	}
	return n;
}

promql_node *promql_ast_aggregate(promql_parser_ctx *p, const promql_token *optok, promql_aggmod *mod,
				  promql_node_list *args, uint32_t end)
{
	int op = promql_aggop_lookup(optok->z, optok->n);
	size_t nargs = args ? args->n : 0;
	if (op < 0) {  /* cannot happen: the grammar only reduces aggregator tokens */
		promql_ast_release_list(args);
		return NULL;
	}
	if (nargs == 0) {
		promql_parse_errorf(p, optok->pos, end, "no arguments for aggregate expression provided");
		return NULL;
	}
	size_t want = 1;
	if (promql_aggop_has_param((promql_aggop)op)) {
		if (!p->opts.experimental_functions &&
		    (op == PROMQL_AGG_LIMITK || op == PROMQL_AGG_LIMIT_RATIO)) {
			promql_parse_errorf(p, optok->pos, end,
					    "%s() is experimental and must be enabled with "
					    "--enable-feature=promql-experimental-functions",
					    promql_aggop_str((promql_aggop)op));
			promql_ast_release_list(args);
			return NULL;
		}
		want = 2;
	}
	if (nargs != want) {
		promql_parse_errorf(p, optok->pos, end,
				    "wrong number of arguments for aggregate expression provided, expected %zu, got %zu",
				    want, nargs);
		promql_ast_release_list(args);
		return NULL;
	}
	promql_node *n = node_new(p, PROMQL_NODE_AGGREGATE, optok->pos, end);
	n->u.agg.op = (promql_aggop)op;
	n->u.agg.param = want == 2 ? args->items[0] : NULL;
	n->u.agg.expr = args->items[want - 1];
	if (mod) {
		n->u.agg.has_grouping = true;
		n->u.agg.without = mod->without;
		if (mod->labels) {
			n->u.agg.grouping = mod->labels->items;
			n->u.agg.ngrouping = mod->labels->n;
		}
	}
	return n;
}

/* The selector whose offset/@ a modifier sets, or NULL with an error. */
static int modifier_target(promql_parser_ctx *p, promql_node *e, const char *what, int64_t **offset,
			   promql_at_kind **at, int64_t **at_ms)
{
	switch (e->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
		*offset = &e->u.vs.offset_ms;
		*at = &e->u.vs.at;
		*at_ms = &e->u.vs.at_ms;
		return 0;
	case PROMQL_NODE_MATRIX_SELECTOR:
		*offset = &e->u.ms.vs->u.vs.offset_ms;
		*at = &e->u.ms.vs->u.vs.at;
		*at_ms = &e->u.ms.vs->u.vs.at_ms;
		return 0;
	case PROMQL_NODE_SUBQUERY:
		*offset = &e->u.sq.offset_ms;
		*at = &e->u.sq.at;
		*at_ms = &e->u.sq.at_ms;
		return 0;
	default:
		promql_parse_errorf(p, e->pos_start, e->pos_end,
				    "%s modifier must be preceded by an instant vector selector or range "
				    "vector selector or a subquery", what);
		return -1;
	}
}

promql_node *promql_ast_offset(promql_parser_ctx *p, promql_node *e, int64_t offset_ms)
{
	int64_t *off;
	promql_at_kind *at;
	int64_t *at_ms;
	if (!e)
		return NULL;
	if (modifier_target(p, e, "offset", &off, &at, &at_ms) != 0)
		goto err;
	/* Prometheus tests the stored value, so "offset 0s offset 1m" passes. */
	if (*off != 0) {
		promql_parse_errorf(p, e->pos_start, e->pos_end, "offset may not be set multiple times");
		goto err;
	}
	*off = offset_ms;
	e->pos_end = p->last_closing;
	return e;
err:
	promql_ast_release(e);
	return NULL;
}

static promql_node *set_at(promql_parser_ctx *p, promql_node *e, promql_at_kind k, int64_t ms)
{
	int64_t *off;
	promql_at_kind *at;
	int64_t *at_ms;
	if (!e)
		return NULL;
	if (modifier_target(p, e, "@", &off, &at, &at_ms) != 0)
		goto err;
	if (*at != PROMQL_AT_NONE) {
		promql_parse_errorf(p, e->pos_start, e->pos_end, "@ <timestamp> may not be set multiple times");
		goto err;
	}
	*at = k;
	*at_ms = ms;
	e->pos_end = p->last_closing;
	return e;
err:
	promql_ast_release(e);
	return NULL;
}

promql_node *promql_ast_at(promql_parser_ctx *p, promql_node *e, double ts)
{
	if (!e)
		return NULL;
	if (isinf(ts) || isnan(ts) || ts >= (double)INT64_MAX || ts <= (double)INT64_MIN) {
		/* Go's %f spells the specials +Inf, -Inf, NaN */
		promql_parse_errorf(p, e->pos_start, e->pos_end, "timestamp out of bounds for @ modifier: %s",
				    isnan(ts) ? "NaN" : isinf(ts) ? (ts > 0 ? "+Inf" : "-Inf") : "");
		if (!isnan(ts) && !isinf(ts) && p->err) {
			char *m = strstr(p->err->msg, "modifier: ");
			if (m)
				snprintf(m + 10, sizeof(p->err->msg) - (size_t)(m + 10 - p->err->msg), "%f", ts);
		}
		promql_ast_release(e);
		return NULL;
	}
	/* timestamp.FromFloatSeconds: int64(math.Round(ts * 1000)) */
	return set_at(p, e, PROMQL_AT_TIMESTAMP, (int64_t)round(ts * 1000.0));
}

promql_node *promql_ast_at_preproc(promql_parser_ctx *p, promql_node *e, promql_at_kind k)
{
	return set_at(p, e, k, 0);
}

promql_node *promql_ast_extended(promql_parser_ctx *p, promql_node *e, bool smoothed)
{
	const char *what = smoothed ? "smoothed" : "anchored";
	if (!e)
		return NULL;
	if (!p->opts.extended_range_selectors) {
		promql_parse_errorf(p, e->pos_start, e->pos_end, "%s modifier is experimental and not enabled", what);
		goto err;
	}
	promql_node *vs = e->kind == PROMQL_NODE_VECTOR_SELECTOR ? e
			  : e->kind == PROMQL_NODE_MATRIX_SELECTOR ? e->u.ms.vs : NULL;
	if (!vs) {
		if (e->kind == PROMQL_NODE_SUBQUERY)
			promql_parse_errorf(p, e->pos_start, e->pos_end, "%s modifier is not supported for subqueries",
					    what);
		else
			promql_parse_errorf(p, e->pos_start, e->pos_end, "%s modifier not implemented", what);
		goto err;
	}
	if (smoothed)
		vs->u.vs.smoothed = true;
	else
		vs->u.vs.anchored = true;
	if (vs->u.vs.anchored && vs->u.vs.smoothed) {
		promql_parse_errorf(p, e->pos_start, e->pos_end, "anchored and smoothed modifiers cannot be used together");
		goto err;
	}
	return e;
err:
	promql_ast_release(e);
	return NULL;
}

/* addOffsetExpr: like promql_ast_offset, but for an expression; only a
 * second expression is "set multiple times", as in Prometheus. */
promql_node *promql_ast_offset_dur(promql_parser_ctx *p, promql_node *e, promql_duration *d)
{
	if (!e || !d) {
		promql_ast_release(e);
		return NULL;
	}
	if (d->op == PROMQL_DUR_NUMBER)
		return promql_ast_offset(p, e, literal_ms(d->value));
	promql_duration **slot;
	switch (e->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR: slot = &e->u.vs.offset_expr; break;
	case PROMQL_NODE_MATRIX_SELECTOR: slot = &e->u.ms.vs->u.vs.offset_expr; break;
	case PROMQL_NODE_SUBQUERY: slot = &e->u.sq.offset_expr; break;
	default:
		promql_parse_errorf(p, e->pos_start, e->pos_end,
				    "offset modifier must be preceded by an instant vector selector or range vector "
				    "selector or a subquery");
		promql_ast_release(e);
		return NULL;
	}
	if (*slot) {
		promql_parse_errorf(p, e->pos_start, e->pos_end, "offset may not be set multiple times");
		promql_ast_release(e);
		return NULL;
	}
	*slot = d;
	e->pos_end = p->last_closing;
	return e;
}

/* ---- duration expressions ---- */

/* 1<<63 / 1e9: the largest duration literal, in seconds, that fits a
 * time.Duration. NaN is refused too (Go would convert it to an arbitrary
 * int64). */
static bool dur_out_of_range(double v)
{
	const double max_s = 9223372036854775808.0 / 1e9;
	return isnan(v) || v > max_s || v < -max_s;
}

static promql_duration *dur_new(promql_parser_ctx *p, promql_dur_op op, uint32_t start, uint32_t end)
{
	promql_duration *d = tp_arena_zalloc(p->arena, sizeof(*d));
	d->op = op;
	d->pos_start = start;
	d->pos_end = end;
	return d;
}

/* experimentalDurationExpr: arithmetic, parentheses and step()/range()/
 * min_of()/max_of() need promql-duration-expr; plain literals do not. */
static void dur_gate(promql_parser_ctx *p, const promql_duration *d)
{
	if (d && !p->opts.duration_expressions)
		promql_parse_errorf(p, d->pos_start, d->pos_end, "experimental duration expression is not enabled");
}

promql_duration *promql_ast_dur_number(promql_parser_ctx *p, const promql_token *t, bool check)
{
	promql_duration *d = dur_new(p, PROMQL_DUR_NUMBER, t->pos, t->pos + t->n);
	if (t->type == PROMQL_TK_DURATION) {
		d->value = (double)promql_parse_duration(p, t) / 1000.0;
		d->is_duration = true;
	} else {
		d->value = promql_parse_number(p, t);
	}
	if (check && dur_out_of_range(d->value)) {
		promql_parse_errorf(p, t->pos, t->pos + t->n, "duration out of range");
		return NULL;
	}
	return d;
}

promql_duration *promql_ast_dur_unary(promql_parser_ctx *p, const promql_token *op, promql_duration *e, bool wrapped)
{
	if (!e)
		return NULL;
	bool neg = op->type == PROMQL_TK_SUB;
	if (e->op == PROMQL_DUR_NUMBER) {
		if (neg)
			e->value = -e->value;
		if (dur_out_of_range(e->value)) {
			promql_parse_errorf(p, op->pos, op->pos + 1, "duration out of range");
			return NULL;
		}
		e->pos_start = op->pos;
		return e;
	}
	if (wrapped)
		e->wrapped = true;
	if (!neg)
		return e;
	promql_duration *d = dur_new(p, PROMQL_DUR_SUB, op->pos, e->pos_end);
	d->rhs = e;
	return d;
}

promql_duration *promql_ast_dur_signed(promql_parser_ctx *p, const promql_token *op, promql_duration *e)
{
	if (!e)
		return NULL;
	promql_duration *d = dur_new(p, op->type == PROMQL_TK_SUB ? PROMQL_DUR_SUB : PROMQL_DUR_ADD, op->pos, e->pos_end);
	d->rhs = e;
	dur_gate(p, d);
	return d;
}

promql_duration *promql_ast_dur_binary(promql_parser_ctx *p, promql_dur_op op, promql_duration *l,
				       const promql_token *optok, promql_duration *r)
{
	if (!l || !r)
		return NULL;
	dur_gate(p, l);
	if ((op == PROMQL_DUR_DIV || op == PROMQL_DUR_MOD) && r->op == PROMQL_DUR_NUMBER && r->value == 0) {
		promql_parse_errorf(p, optok->pos, optok->pos + optok->n, "%s by zero",
				    op == PROMQL_DUR_DIV ? "division" : "modulo");
		return NULL;
	}
	promql_duration *d = dur_new(p, op, l->pos_start, r->pos_end);
	d->lhs = l;
	d->rhs = r;
	return d;
}

promql_duration *promql_ast_dur_call(promql_parser_ctx *p, promql_dur_op op, const promql_token *name,
				     promql_duration *l, promql_duration *r, uint32_t end)
{
	bool two = op == PROMQL_DUR_MIN_OF || op == PROMQL_DUR_MAX_OF;
	if (two && (!l || !r))
		return NULL;
	promql_duration *d = dur_new(p, op, name->pos, end);
	d->lhs = l;
	d->rhs = r;
	return d;
}

promql_duration *promql_ast_dur_gate(promql_parser_ctx *p, promql_duration *d)
{
	dur_gate(p, d);
	return d;
}

promql_duration *promql_ast_dur_paren(promql_parser_ctx *p, promql_duration *e)
{
	if (!e)
		return NULL;
	dur_gate(p, e);
	if (e->op != PROMQL_DUR_NUMBER)
		e->wrapped = true;  /* a parenthesised literal keeps no trace */
	return e;
}

promql_duration *promql_ast_dur_positive(promql_parser_ctx *p, promql_duration *e)
{
	if (e && e->op == PROMQL_DUR_NUMBER && !(e->value > 0)) {
		promql_parse_errorf(p, e->pos_start, e->pos_end, "duration must be greater than 0");
		return NULL;
	}
	return e;
}

/* ---- lists ---- */

promql_node_list *promql_ast_list_append(promql_parser_ctx *p, promql_node_list *l, promql_node *n)
{
	if (!l)
		l = tp_arena_zalloc(p->arena, sizeof(*l));
	if (!n)
		return l;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		l->items = tp_arena_realloc(p->arena, l->items, l->cap * sizeof(*l->items), cap * sizeof(*l->items));
		l->cap = cap;
	}
	l->items[l->n++] = n;
	return l;
}

promql_str_list *promql_ast_strs_append(promql_parser_ctx *p, promql_str_list *l, const promql_token *t)
{
	if (!l)
		l = tp_arena_zalloc(p->arena, sizeof(*l));
	if (!t)
		return l;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		l->items = tp_arena_realloc(p->arena, l->items, l->cap * sizeof(*l->items), cap * sizeof(*l->items));
		l->cap = cap;
	}
	char *s;
	if (t->type == PROMQL_TK_STRING)
		s = promql_parse_unquote(p, t);
	else
		s = tp_arena_strndup(p->arena, t->z, t->n);
	if (s)
		l->items[l->n++] = s;
	return l;
}

promql_raw_matcher_list *promql_ast_matchers_append(promql_parser_ctx *p, promql_raw_matcher_list *l,
						    const promql_raw_matcher *m)
{
	if (!l)
		l = tp_arena_zalloc(p->arena, sizeof(*l));
	if (!m)
		return l;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		l->items = tp_arena_realloc(p->arena, l->items, l->cap * sizeof(*l->items), cap * sizeof(*l->items));
		l->cap = cap;
	}
	l->items[l->n++] = *m;
	return l;
}

/* ---- type checking (Prometheus checkAST) ---- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The operator's range between the operands, trimmed of spaces. */
static void op_range(const promql_parser_ctx *p, const promql_node *n, uint32_t *s, uint32_t *e)
{
	uint32_t a = n->u.binary.lhs->pos_end, b = n->u.binary.rhs->pos_start - 1;
	while (a < p->len && is_space(p->text[a]))
		a++;
	while (b > a && is_space(p->text[b]))
		b--;
	*s = a;
	*e = b;
}

static void expect_type(promql_parser_ctx *p, promql_node *n, promql_type want, const char *context)
{
	promql_type t = promql_ast_check(p, n);
	if (t != want)
		promql_parse_errorf(p, node_start(n), node_end(n), "expected type %s in %s, got %s",
				    promql_type_name(want), context, promql_type_name(t));
}

static void check_binary(promql_parser_ctx *p, promql_node *n)
{
	promql_type lt = promql_ast_check(p, n->u.binary.lhs);
	promql_type rt = promql_ast_check(p, n->u.binary.rhs);
	promql_binop op = n->u.binary.op;
	promql_matching *m = n->u.binary.matching;
	uint32_t os, oe;

	if (n->u.binary.return_bool && !promql_binop_is_comparison(op)) {
		op_range(p, n, &os, &oe);
		promql_parse_errorf(p, os, oe, "bool modifier can only be used on comparison operators");
	}
	if (promql_binop_is_comparison(op) && !n->u.binary.return_bool && rt == PROMQL_TYPE_SCALAR &&
	    lt == PROMQL_TYPE_SCALAR) {
		op_range(p, n, &os, &oe);
		promql_parse_errorf(p, os, oe, "comparisons between scalars must use BOOL modifier");
	}
	if (m && promql_binop_is_set(op) && m->card == PROMQL_CARD_ONE_TO_ONE)
		m->card = PROMQL_CARD_MANY_TO_MANY;
	if (m && m->on) {
		for (size_t i = 0; i < m->nlabels; i++)
			for (size_t j = 0; j < m->ninclude; j++)
				if (strcmp(m->labels[i], m->include[j]) == 0) {
					op_range(p, n, &os, &oe);
					promql_parse_errorf(p, os, oe,
							    "label \"%s\" must not occur in ON and GROUP clause at once",
							    m->labels[i]);
				}
	}
	if (lt != PROMQL_TYPE_SCALAR && lt != PROMQL_TYPE_VECTOR)
		promql_parse_errorf(p, node_start(n->u.binary.lhs), node_end(n->u.binary.lhs),
				    "binary expression must contain only scalar and instant vector types");
	if (rt != PROMQL_TYPE_SCALAR && rt != PROMQL_TYPE_VECTOR)
		promql_parse_errorf(p, node_start(n->u.binary.rhs), node_end(n->u.binary.rhs),
				    "binary expression must contain only scalar and instant vector types");
	if ((lt != PROMQL_TYPE_VECTOR || rt != PROMQL_TYPE_VECTOR) && m) {
		if (m->nlabels > 0)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "vector matching only allowed between instant vectors");
		if (m->has_fill_lhs || m->has_fill_rhs)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "filling in missing series only allowed between instant vectors");
		n->u.binary.matching = NULL;
	} else if (m && promql_binop_is_set(op)) {
		if (m->card == PROMQL_CARD_ONE_TO_MANY || m->card == PROMQL_CARD_MANY_TO_ONE)
			promql_parse_errorf(p, n->pos_start, n->pos_end, "no grouping allowed for \"%s\" operation",
					    promql_binop_str(op));
		if (m->card != PROMQL_CARD_MANY_TO_MANY)
			promql_parse_errorf(p, n->pos_start, n->pos_end, "set operations must always be many-to-many");
		if (m->has_fill_lhs || m->has_fill_rhs)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "filling in missing series not allowed for set operators");
	}
	if ((lt == PROMQL_TYPE_SCALAR || rt == PROMQL_TYPE_SCALAR) && promql_binop_is_set(op))
		promql_parse_errorf(p, n->pos_start, n->pos_end,
				    "set operator \"%s\" not allowed in binary scalar expression", promql_binop_str(op));
}

static void check_call(promql_parser_ctx *p, promql_node *n)
{
	const promql_function *fn = n->u.call.fn;
	size_t nargs = (size_t)fn->nargs, got = n->u.call.nargs;
	if (fn->variadic == 0) {
		if (nargs != got)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "expected %zu argument(s) in call to \"%s\", got %zu", nargs, fn->name, got);
	} else {
		size_t na = nargs - 1;
		if (na > got)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "expected at least %zu argument(s) in call to \"%s\", got %zu", na, fn->name,
					    got);
		else if (fn->variadic > 0 && na + (size_t)fn->variadic < got)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "expected at most %zu argument(s) in call to \"%s\", got %zu",
					    na + (size_t)fn->variadic, fn->name, got);
	}
	bool info_bypass = false;
	if (fn->id == PROMQL_FN_INFO && got > 1) {
		promql_node *a = n->u.call.args[1];
		promql_type t = promql_node_type(a);
		if (t != PROMQL_TYPE_VECTOR)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "expected type %s in call to function \"%s\", got %s",
					    promql_type_name(PROMQL_TYPE_VECTOR), fn->name, promql_type_name(t));
		if (a->kind == PROMQL_NODE_VECTOR_SELECTOR && a->u.vs.name)
			promql_parse_errorf(p, a->pos_start, a->pos_end,
					    "expected label selectors only, got vector selector instead");
		else if (a->kind == PROMQL_NODE_VECTOR_SELECTOR)
			info_bypass = true;
		else
			promql_parse_errorf(p, a->pos_start, a->pos_end, "expected label selectors only");
	}
	for (size_t i = 0; i < got; i++) {
		if (i >= nargs && fn->variadic == 0)
			break;
		promql_node *a = n->u.call.args[i];
		promql_type want = promql_function_arg_type(fn, i);
		promql_type t = (info_bypass && i == 1) ? promql_node_type(a) : promql_ast_check(p, a);
		if (t != want)
			promql_parse_errorf(p, a->pos_start, a->pos_end,
					    "expected type %s in call to function \"%s\", got %s", promql_type_name(want),
					    fn->name, promql_type_name(t));
	}
}

static void check_selector(promql_parser_ctx *p, promql_node *n)
{
	if (n->u.vs.name) {
		/* The last matcher is the one for the name outside the braces. */
		for (size_t i = 0; i + 1 < n->u.vs.nmatchers; i++)
			if (strcmp(n->u.vs.matchers[i].name, "__name__") == 0)
				promql_parse_errorf(p, n->pos_start, n->pos_end,
						    "metric name must not be set twice: \"%s\" or \"%s\"", n->u.vs.name,
						    n->u.vs.matchers[i].value);
		return;
	}
	for (size_t i = 0; i < n->u.vs.nmatchers; i++)
		if (!tsdb_matcher_matches(&n->u.vs.matchers[i], ""))
			return;
	promql_parse_errorf(p, n->pos_start, n->pos_end, "vector selector must contain at least one non-empty matcher");
}

promql_type promql_ast_check(promql_parser_ctx *p, promql_node *n)
{
	if (!n)
		return PROMQL_TYPE_NONE;
	promql_type t = promql_node_type(n);
	switch (n->kind) {
	case PROMQL_NODE_AGGREGATE: {
		promql_aggop op = n->u.agg.op;
		expect_type(p, n->u.agg.expr, PROMQL_TYPE_VECTOR, "aggregation expression");
		if (op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK || op == PROMQL_AGG_QUANTILE ||
		    op == PROMQL_AGG_LIMITK || op == PROMQL_AGG_LIMIT_RATIO)
			expect_type(p, n->u.agg.param, PROMQL_TYPE_SCALAR, "aggregation parameter");
		if (op == PROMQL_AGG_COUNT_VALUES)
			expect_type(p, n->u.agg.param, PROMQL_TYPE_STRING, "aggregation parameter");
		break;
	}
	case PROMQL_NODE_BINARY: check_binary(p, n); break;
	case PROMQL_NODE_CALL: check_call(p, n); break;
	case PROMQL_NODE_PAREN: promql_ast_check(p, n->u.paren.expr); break;
	case PROMQL_NODE_UNARY: {
		promql_type et = promql_ast_check(p, n->u.unary.expr);
		if (et != PROMQL_TYPE_SCALAR && et != PROMQL_TYPE_VECTOR)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "unary expression only allowed on expressions of type scalar or instant "
					    "vector, got \"%s\"", promql_type_name(et));
		break;
	}
	case PROMQL_NODE_SUBQUERY: {
		promql_type et = promql_ast_check(p, n->u.sq.expr);
		if (et != PROMQL_TYPE_VECTOR)
			promql_parse_errorf(p, n->pos_start, n->pos_end,
					    "subquery is only allowed on instant vector, got %s instead",
					    type_raw_name(et));
		break;
	}
	case PROMQL_NODE_MATRIX_SELECTOR: promql_ast_check(p, n->u.ms.vs); break;
	case PROMQL_NODE_VECTOR_SELECTOR: check_selector(p, n); break;
	case PROMQL_NODE_NUMBER:
	case PROMQL_NODE_STRING:
		break;
	}
	return t;
}
