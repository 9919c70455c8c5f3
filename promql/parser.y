/* SPDX-License-Identifier: Apache-2.0
 * parser.y - the PromQL grammar for lemon. This file is canonical: the
 * generated promql/parser.c and parser.h are build outputs (see parser.mk)
 * and are never edited.
 * Invariants: actions are one or two lines calling the constructors of
 * ast.c, which absorb failure (a NULL child yields NULL); errors go into
 * the parse context p, never to stderr; YYNOERRORRECOVERY makes the first
 * syntax error end the parse. Nodes live in p->arena, so destructors only
 * release what a node owns outside the arena (vector selector matchers). */

/* ---- directives ---- */
%name promql_parser
%token_prefix PROMQL_TK_
%token_type {promql_token}
%extra_context {promql_parser_ctx *p}
/* A fixed stack caps nesting: deeper queries get "expression nesting too
 * deep" instead of unbounded growth. */
%stack_size 2000
%stack_overflow { promql_parse_errorf(p, p->last.pos, p->last.pos + p->last.n, "expression nesting too deep"); }
%syntax_error { promql_parse_syntax_error(p, &TOKEN, yymajor); }
%parse_failure { if (!p->rc) promql_parse_errorf(p, p->last.pos, p->last.pos, "unexpected parse failure"); }

%include {
#include "config.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "promql/parse.h"

/* lemon's template has unused parameters and sign comparisons. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-declarations"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wpedantic"

#define YYNOERRORRECOVERY 1
#define NDEBUG_LEMON 1

/* Signed duration or number after offset / @, with the end position. */
typedef struct promql_modval {
	double v;       /* seconds */
	uint32_t end;   /* end of the last token */
} promql_modval;

/* A call's argument list and its closing parenthesis. */
typedef struct promql_call_body {
	promql_node_list *args;
	uint32_t start, end;
} promql_call_body;

/* The {...} part of a selector. */
typedef struct promql_braces {
	promql_raw_matcher_list *list;
	uint32_t start, end;
} promql_braces;

static promql_binmod *binmod_new(promql_parser_ctx *p)
{
	return tp_arena_zalloc(p->arena, sizeof(promql_binmod));
}

static void binmod_labels(promql_binmod *m, bool on, promql_str_list *l)
{
	m->matching.on = on;
	m->matching.has_clause = true;
	m->matching.labels = l ? l->items : NULL;
	m->matching.nlabels = l ? l->n : 0;
}

static void binmod_group(promql_binmod *m, promql_card card, promql_str_list *l)
{
	m->matching.card = card;
	m->matching.include = l ? l->items : NULL;
	m->matching.ninclude = l ? l->n : 0;
}

static promql_aggmod *aggmod_new(promql_parser_ctx *p, bool without, promql_str_list *l)
{
	promql_aggmod *m = tp_arena_zalloc(p->arena, sizeof(*m));
	m->without = without;
	m->labels = l;
	return m;
}

static promql_modval modval(promql_parser_ctx *p, const promql_token *t, bool neg)
{
	promql_modval m;
	if (t->type == PROMQL_TK_DURATION)
		m.v = (double)promql_parse_duration(p, t) / 1000.0;
	else
		m.v = promql_parse_number(p, t);
	if (neg)
		m.v = -m.v;
	m.end = t->pos + t->n;
	return m;
}

static promql_node *binary(promql_parser_ctx *p, promql_binop op, promql_node *l, promql_binmod *m, promql_node *r)
{
	return promql_ast_binary(p, op, l, m, r);
}

static promql_raw_matcher raw_matcher(promql_parser_ctx *p, const promql_token *name, int op, const promql_token *value)
{
	promql_raw_matcher m;
	memset(&m, 0, sizeof(m));
	m.type = (tsdb_match_type)op;
	if (name->type == PROMQL_TK_STRING)
		m.name = promql_parse_unquote(p, name);
	else
		m.name = tp_arena_strndup(p->arena, name->z, name->n);
	m.value = promql_parse_unquote(p, value);
	m.pos_start = name->pos;
	m.pos_end = value->pos + value->n;
	return m;
}
}

/* ---- tokens and precedence (lowest first) ---- */
%token START_SELECTOR LOWEST IDENTIFIER METRIC_IDENTIFIER NUMBER DURATION STRING
       LEFT_PAREN RIGHT_PAREN LEFT_BRACE RIGHT_BRACE LEFT_BRACKET RIGHT_BRACKET COMMA COLON
       EQL EQL_REGEX NEQ_REGEX.

%left LOWEST.
%left LOR.
%left LAND LUNLESS.
%left EQLC GTE GTR LSS LTE NEQ.
%left ADD SUB.
%left MUL DIV MOD ATAN2.
%right POW.
%left OFFSET AT.
%left ANCHORED SMOOTHED.
%right LEFT_BRACKET.
%right LEFT_PAREN.

/* Keywords that Prometheus also accepts as metric and label names
 * (metric_identifier / maybe_label in generated_parser.y) become
 * identifiers wherever the keyword itself cannot be shifted. Aggregator
 * names, which can start an expression, are settled by the driver's
 * lookahead (parse.c: aggregator_follows). ON, IGNORING, BOOL,
 * GROUP_LEFT, GROUP_RIGHT and ATAN2 are not metric names in Prometheus;
 * grouping_label lists them explicitly. */
%fallback IDENTIFIER LAND LOR LUNLESS SUM AVG COUNT MIN MAX GROUP STDDEV STDVAR TOPK BOTTOMK
          COUNT_VALUES QUANTILE LIMITK LIMIT_RATIO OFFSET BY WITHOUT START END.
/* The extended range selector modifiers are metric and label names too. */
%fallback IDENTIFIER ANCHORED SMOOTHED.

%start_symbol start

/* ---- types ---- */
%type expr {promql_node *}
%destructor expr {promql_ast_release($$);}
%type vector_selector {promql_node *}
%destructor vector_selector {promql_ast_release($$);}
%type call_body {promql_call_body}
%destructor call_body {promql_ast_release_list($$.args);}
%type call_args {promql_node_list *}
%destructor call_args {promql_ast_release_list($$);}
/* The following live wholly in the arena (no destructor needed): label
 * lists, raw matchers, modifiers and plain values. */
%type binmod {promql_binmod *}
%type bool_mod {promql_binmod *}
%type on_ign {promql_binmod *}
%type aggmod {promql_aggmod *}
%type grouping {promql_str_list *}
%type maybe_grouping {promql_str_list *}
%type grouping_list {promql_str_list *}
%type grouping_label {promql_token}
%type braces {promql_braces}
%type match_list {promql_raw_matcher_list *}
%type match_op {int}
%type metric_identifier {promql_token}
%type aggr_op {promql_token}
%type modval {promql_modval}
%type range {promql_duration *}

/* ---- rules ---- */

start ::= expr(E). { p->root = E; }
start ::= START_SELECTOR vector_selector(V). { p->root = V; }

/* Literals. A duration in expression position is a number of seconds. */
expr(A) ::= NUMBER(T). { A = promql_ast_number(p, promql_parse_number(p, &T), T.pos, T.pos + T.n); }
expr(A) ::= DURATION(T). {
	A = promql_ast_number(p, (double)promql_parse_duration(p, &T) / 1000.0, T.pos, T.pos + T.n);
	if (A) A->u.number.duration = true;
}
expr(A) ::= STRING(T). { A = promql_ast_string(p, promql_parse_unquote(p, &T), T.pos, T.pos + T.n); }

expr(A) ::= LEFT_PAREN(L) expr(E) RIGHT_PAREN(R). { A = promql_ast_paren(p, E, L.pos, R.pos + 1); }

/* Unary operators bind like '*', so -2^2 is -(2^2) and -a*b is (-a)*b. */
expr(A) ::= ADD(O) expr(E). [MUL] { A = promql_ast_unary(p, false, E, O.pos); }
expr(A) ::= SUB(O) expr(E). [MUL] { A = promql_ast_unary(p, true, E, O.pos); }

/* Binary operators: one rule each so that precedence applies. */
expr(A) ::= expr(L) ADD binmod(M) expr(R). { A = binary(p, PROMQL_OP_ADD, L, M, R); }
expr(A) ::= expr(L) SUB binmod(M) expr(R). { A = binary(p, PROMQL_OP_SUB, L, M, R); }
expr(A) ::= expr(L) MUL binmod(M) expr(R). { A = binary(p, PROMQL_OP_MUL, L, M, R); }
expr(A) ::= expr(L) DIV binmod(M) expr(R). { A = binary(p, PROMQL_OP_DIV, L, M, R); }
expr(A) ::= expr(L) MOD binmod(M) expr(R). { A = binary(p, PROMQL_OP_MOD, L, M, R); }
expr(A) ::= expr(L) POW binmod(M) expr(R). { A = binary(p, PROMQL_OP_POW, L, M, R); }
expr(A) ::= expr(L) ATAN2 binmod(M) expr(R). { A = binary(p, PROMQL_OP_ATAN2, L, M, R); }
expr(A) ::= expr(L) EQLC binmod(M) expr(R). { A = binary(p, PROMQL_OP_EQL, L, M, R); }
expr(A) ::= expr(L) NEQ binmod(M) expr(R). { A = binary(p, PROMQL_OP_NEQ, L, M, R); }
expr(A) ::= expr(L) GTR binmod(M) expr(R). { A = binary(p, PROMQL_OP_GTR, L, M, R); }
expr(A) ::= expr(L) LSS binmod(M) expr(R). { A = binary(p, PROMQL_OP_LSS, L, M, R); }
expr(A) ::= expr(L) GTE binmod(M) expr(R). { A = binary(p, PROMQL_OP_GTE, L, M, R); }
expr(A) ::= expr(L) LTE binmod(M) expr(R). { A = binary(p, PROMQL_OP_LTE, L, M, R); }
expr(A) ::= expr(L) LAND binmod(M) expr(R). { A = binary(p, PROMQL_OP_AND, L, M, R); }
expr(A) ::= expr(L) LOR binmod(M) expr(R). { A = binary(p, PROMQL_OP_OR, L, M, R); }
expr(A) ::= expr(L) LUNLESS binmod(M) expr(R). { A = binary(p, PROMQL_OP_UNLESS, L, M, R); }

bool_mod(A) ::= . { A = binmod_new(p); }
bool_mod(A) ::= BOOL. { A = binmod_new(p); A->return_bool = true; }
on_ign(A) ::= bool_mod(B) ON grouping(G). { A = B; binmod_labels(A, true, G); }
on_ign(A) ::= bool_mod(B) IGNORING grouping(G). { A = B; binmod_labels(A, false, G); }
binmod(A) ::= bool_mod(B). { A = B; }
binmod(A) ::= on_ign(B). { A = B; }
binmod(A) ::= on_ign(B) GROUP_LEFT maybe_grouping(G). { A = B; binmod_group(A, PROMQL_CARD_MANY_TO_ONE, G); }
binmod(A) ::= on_ign(B) GROUP_RIGHT maybe_grouping(G). { A = B; binmod_group(A, PROMQL_CARD_ONE_TO_MANY, G); }

/* Fill modifiers after the matching clause: fill(v) fills both sides,
 * fill_left(v) and fill_right(v) one side each, in either order. The
 * lexer yields FILL* only before a '(', so `a + fill` stays a selector;
 * the feature gate is in promql_ast_binary. */
%include {
/* The fill modifiers of one binary operator. */
typedef struct promql_fillmod {
	bool has_lhs, has_rhs;
	double lhs, rhs;
} promql_fillmod;

static void binmod_fill(promql_binmod *m, const promql_fillmod *f)
{
	m->matching.has_fill_lhs = f->has_lhs;
	m->matching.has_fill_rhs = f->has_rhs;
	m->matching.fill_lhs = f->lhs;
	m->matching.fill_rhs = f->rhs;
}

static promql_fillmod fillmod(bool has_lhs, double lhs, bool has_rhs, double rhs)
{
	promql_fillmod f = { .has_lhs = has_lhs, .has_rhs = has_rhs, .lhs = lhs, .rhs = rhs };
	return f;
}
}
%type fill_mod {promql_fillmod}
%type fill_value {double}
binmod(A) ::= bool_mod(B) fill_mod(F). { A = B; binmod_fill(A, &F); }
binmod(A) ::= on_ign(B) fill_mod(F). { A = B; binmod_fill(A, &F); }
binmod(A) ::= on_ign(B) GROUP_LEFT maybe_grouping(G) fill_mod(F). {
	A = B; binmod_group(A, PROMQL_CARD_MANY_TO_ONE, G); binmod_fill(A, &F);
}
binmod(A) ::= on_ign(B) GROUP_RIGHT maybe_grouping(G) fill_mod(F). {
	A = B; binmod_group(A, PROMQL_CARD_ONE_TO_MANY, G); binmod_fill(A, &F);
}
fill_mod(A) ::= FILL fill_value(V). { A = fillmod(true, V, true, V); }
fill_mod(A) ::= FILL_LEFT fill_value(L). { A = fillmod(true, L, false, 0); }
fill_mod(A) ::= FILL_RIGHT fill_value(R). { A = fillmod(false, 0, true, R); }
fill_mod(A) ::= FILL_LEFT fill_value(L) FILL_RIGHT fill_value(R). { A = fillmod(true, L, true, R); }
fill_mod(A) ::= FILL_RIGHT fill_value(R) FILL_LEFT fill_value(L). { A = fillmod(true, L, true, R); }
fill_value(A) ::= LEFT_PAREN modval(V) RIGHT_PAREN. { A = V.v; }

/* "group_left (" always opens the label list, as in Prometheus. */
maybe_grouping(A) ::= . [LOWEST] { A = NULL; }
maybe_grouping(A) ::= grouping(G). { A = G; }

grouping(A) ::= LEFT_PAREN grouping_list(L) RIGHT_PAREN. { A = L; }
grouping(A) ::= LEFT_PAREN grouping_list(L) COMMA RIGHT_PAREN. { A = L; }
grouping(A) ::= LEFT_PAREN RIGHT_PAREN. { A = promql_ast_strs_append(p, NULL, NULL); }
grouping_list(A) ::= grouping_list(L) COMMA grouping_label(T). { A = promql_ast_strs_append(p, L, &T); }
grouping_list(A) ::= grouping_label(T). { A = promql_ast_strs_append(p, NULL, &T); }
grouping_label(A) ::= IDENTIFIER(T). { A = T; }
grouping_label(A) ::= STRING(T). { A = T; }
grouping_label(A) ::= ON(T). { A = T; }
grouping_label(A) ::= IGNORING(T). { A = T; }
grouping_label(A) ::= BOOL(T). { A = T; }
grouping_label(A) ::= GROUP_LEFT(T). { A = T; }
grouping_label(A) ::= GROUP_RIGHT(T). { A = T; }
grouping_label(A) ::= ATAN2(T). { A = T; }

/* Aggregations: grouping before or after the arguments. */
expr(A) ::= aggr_op(O) aggmod(M) call_body(B). { A = promql_ast_aggregate(p, &O, M, B.args, B.end); }
expr(A) ::= aggr_op(O) call_body(B) aggmod(M). { A = promql_ast_aggregate(p, &O, M, B.args, p->last.pos); }
expr(A) ::= aggr_op(O) call_body(B). { A = promql_ast_aggregate(p, &O, NULL, B.args, B.end); }
aggmod(A) ::= BY grouping(G). { A = aggmod_new(p, false, G); }
aggmod(A) ::= WITHOUT grouping(G). { A = aggmod_new(p, true, G); }
aggr_op(A) ::= SUM(T). { A = T; }
aggr_op(A) ::= AVG(T). { A = T; }
aggr_op(A) ::= COUNT(T). { A = T; }
aggr_op(A) ::= MIN(T). { A = T; }
aggr_op(A) ::= MAX(T). { A = T; }
aggr_op(A) ::= GROUP(T). { A = T; }
aggr_op(A) ::= STDDEV(T). { A = T; }
aggr_op(A) ::= STDVAR(T). { A = T; }
aggr_op(A) ::= TOPK(T). { A = T; }
aggr_op(A) ::= BOTTOMK(T). { A = T; }
aggr_op(A) ::= COUNT_VALUES(T). { A = T; }
aggr_op(A) ::= QUANTILE(T). { A = T; }
aggr_op(A) ::= LIMITK(T). { A = T; }
aggr_op(A) ::= LIMIT_RATIO(T). { A = T; }

/* Function calls. */
expr(A) ::= IDENTIFIER(N) call_body(B). { A = promql_ast_call(p, &N, B.args, B.end); }
call_body(A) ::= LEFT_PAREN(L) call_args(X) RIGHT_PAREN(R). { A.args = X; A.start = L.pos; A.end = R.pos + 1; }
call_body(A) ::= LEFT_PAREN(L) RIGHT_PAREN(R). { A.args = NULL; A.start = L.pos; A.end = R.pos + 1; }
call_args(A) ::= call_args(L) COMMA expr(E). { A = promql_ast_list_append(p, L, E); }
call_args(A) ::= expr(E). { A = promql_ast_list_append(p, NULL, E); }
call_args(A) ::= call_args(L) COMMA(C). {
	A = L;
	promql_parse_errorf(p, C.pos, C.pos + 1, "trailing commas not allowed in function call args");
}

/* Vector selectors. */
expr(A) ::= vector_selector(V). { A = V; }
vector_selector(A) ::= metric_identifier(N) braces(B). { A = promql_ast_selector(p, &N, B.list, N.pos, B.end); }
vector_selector(A) ::= metric_identifier(N). { A = promql_ast_selector(p, &N, NULL, N.pos, N.pos + N.n); }
vector_selector(A) ::= braces(B). { A = promql_ast_selector(p, NULL, B.list, B.start, B.end); }
metric_identifier(A) ::= IDENTIFIER(T). { A = T; }
metric_identifier(A) ::= METRIC_IDENTIFIER(T). { A = T; }

braces(A) ::= LEFT_BRACE(L) match_list(M) RIGHT_BRACE(R). { A.list = M; A.start = L.pos; A.end = R.pos + 1; }
braces(A) ::= LEFT_BRACE(L) match_list(M) COMMA RIGHT_BRACE(R). { A.list = M; A.start = L.pos; A.end = R.pos + 1; }
braces(A) ::= LEFT_BRACE(L) RIGHT_BRACE(R). { A.list = NULL; A.start = L.pos; A.end = R.pos + 1; }
match_list(A) ::= match_list(L) COMMA IDENTIFIER(N) match_op(O) STRING(V). {
	promql_raw_matcher m = raw_matcher(p, &N, O, &V); A = promql_ast_matchers_append(p, L, &m);
}
match_list(A) ::= match_list(L) COMMA STRING(N) match_op(O) STRING(V). {
	promql_raw_matcher m = raw_matcher(p, &N, O, &V); A = promql_ast_matchers_append(p, L, &m);
}
match_list(A) ::= match_list(L) COMMA STRING(V). {
	promql_raw_matcher m = promql_parse_name_matcher(p, &V); A = promql_ast_matchers_append(p, L, &m);
}
match_list(A) ::= IDENTIFIER(N) match_op(O) STRING(V). {
	promql_raw_matcher m = raw_matcher(p, &N, O, &V); A = promql_ast_matchers_append(p, NULL, &m);
}
match_list(A) ::= STRING(N) match_op(O) STRING(V). {
	promql_raw_matcher m = raw_matcher(p, &N, O, &V); A = promql_ast_matchers_append(p, NULL, &m);
}
match_list(A) ::= STRING(V). {
	promql_raw_matcher m = promql_parse_name_matcher(p, &V); A = promql_ast_matchers_append(p, NULL, &m);
}
match_op(A) ::= EQL. { A = TSDB_MATCH_EQ; }
match_op(A) ::= NEQ. { A = TSDB_MATCH_NEQ; }
match_op(A) ::= EQL_REGEX. { A = TSDB_MATCH_RE; }
match_op(A) ::= NEQ_REGEX. { A = TSDB_MATCH_NRE; }

/* Range selectors and subqueries. */
expr(A) ::= expr(E) LEFT_BRACKET(L) range(R) RIGHT_BRACKET(B). { A = promql_ast_matrix(p, E, R, L.pos, B.pos + 1); }
expr(A) ::= expr(E) LEFT_BRACKET range(R) COLON RIGHT_BRACKET(B). { A = promql_ast_subquery(p, E, R, NULL, B.pos + 1); }
expr(A) ::= expr(E) LEFT_BRACKET range(R) COLON range(S) RIGHT_BRACKET(B). {
	A = promql_ast_subquery(p, E, R, S, B.pos + 1);
}
/* positive_duration_expr: a literal must be > 0 (dur: see below). */
range(A) ::= dur(D). { A = promql_ast_dur_positive(p, D); }

/* offset and @ modifiers. */
expr(A) ::= expr(E) OFFSET offset_dur(D). { A = promql_ast_offset_dur(p, E, D); }
expr(A) ::= expr(E) AT modval(V). { A = promql_ast_at(p, E, V.v); if (A) A->pos_end = V.end; }
expr(A) ::= expr(E) AT START LEFT_PAREN RIGHT_PAREN(R). {
	A = promql_ast_at_preproc(p, E, PROMQL_AT_START); if (A) A->pos_end = R.pos + 1;
}
expr(A) ::= expr(E) AT END LEFT_PAREN RIGHT_PAREN(R). {
	A = promql_ast_at_preproc(p, E, PROMQL_AT_END); if (A) A->pos_end = R.pos + 1;
}
modval(A) ::= NUMBER(T). { A = modval(p, &T, false); }
modval(A) ::= DURATION(T). { A = modval(p, &T, false); }
modval(A) ::= ADD NUMBER(T). { A = modval(p, &T, false); }
modval(A) ::= ADD DURATION(T). { A = modval(p, &T, false); }
modval(A) ::= SUB NUMBER(T). { A = modval(p, &T, true); }
modval(A) ::= SUB DURATION(T). { A = modval(p, &T, true); }

/* anchored and smoothed modifiers (promql-extended-range-selectors): they
 * bind tighter than every operator, like offset and @, and mark the
 * selector underneath (ast.c checks what they may follow). */
expr(A) ::= expr(E) ANCHORED. { A = promql_ast_extended(p, E, false); }
expr(A) ::= expr(E) SMOOTHED. { A = promql_ast_extended(p, E, true); }
/* ---- duration expressions (promql-duration-expr) ----
 * generated_parser.y's duration_expr: inside [...] (range, subquery step)
 * arithmetic over numbers (seconds) and durations, step(), range(),
 * min_of(), max_of(), with the operators' usual precedence. After offset
 * only one operand (offset_duration_expr): a literal, a signed literal,
 * a call or a parenthesised expression, optionally signed, so
 * `foo offset 1m + 1m` is (foo offset 1m) + 1m and `foo offset -2 ^ 2` is
 * (foo offset -2) ^ 2. The keywords are also function names (step() as a
 * scalar function) and metric names: they fall back to IDENTIFIER
 * wherever a duration cannot start. */
%token STEP RANGE MIN_OF MAX_OF.
%fallback IDENTIFIER STEP RANGE MIN_OF MAX_OF.
%type dur {promql_duration *}
%type dur_call {promql_duration *}
%type offset_dur {promql_duration *}

dur(A) ::= NUMBER(T). { A = promql_ast_dur_number(p, &T, true); }
dur(A) ::= DURATION(T). { A = promql_ast_dur_number(p, &T, true); }
dur(A) ::= ADD(O) dur(E). [MUL] { A = promql_ast_dur_unary(p, &O, E, false); }
dur(A) ::= SUB(O) dur(E). [MUL] { A = promql_ast_dur_unary(p, &O, E, false); }
dur(A) ::= dur(L) ADD(O) dur(R). { A = promql_ast_dur_binary(p, PROMQL_DUR_ADD, L, &O, R); }
dur(A) ::= dur(L) SUB(O) dur(R). { A = promql_ast_dur_binary(p, PROMQL_DUR_SUB, L, &O, R); }
dur(A) ::= dur(L) MUL(O) dur(R). { A = promql_ast_dur_binary(p, PROMQL_DUR_MUL, L, &O, R); }
dur(A) ::= dur(L) DIV(O) dur(R). { A = promql_ast_dur_binary(p, PROMQL_DUR_DIV, L, &O, R); }
dur(A) ::= dur(L) MOD(O) dur(R). { A = promql_ast_dur_binary(p, PROMQL_DUR_MOD, L, &O, R); }
dur(A) ::= dur(L) POW(O) dur(R). { A = promql_ast_dur_binary(p, PROMQL_DUR_POW, L, &O, R); }
dur(A) ::= dur_call(C). { A = promql_ast_dur_gate(p, C); }
dur(A) ::= LEFT_PAREN dur(E) RIGHT_PAREN. { A = promql_ast_dur_paren(p, E); }

dur_call(A) ::= STEP(T) LEFT_PAREN RIGHT_PAREN(R). {
	A = promql_ast_dur_call(p, PROMQL_DUR_STEP, &T, NULL, NULL, R.pos + 1);
}
dur_call(A) ::= RANGE(T) LEFT_PAREN RIGHT_PAREN(R). {
	A = promql_ast_dur_call(p, PROMQL_DUR_RANGE, &T, NULL, NULL, R.pos + 1);
}
dur_call(A) ::= MIN_OF(T) LEFT_PAREN dur(L) COMMA dur(X) RIGHT_PAREN(R). {
	A = promql_ast_dur_call(p, PROMQL_DUR_MIN_OF, &T, L, X, R.pos + 1);
}
dur_call(A) ::= MAX_OF(T) LEFT_PAREN dur(L) COMMA dur(X) RIGHT_PAREN(R). {
	A = promql_ast_dur_call(p, PROMQL_DUR_MAX_OF, &T, L, X, R.pos + 1);
}

offset_dur(A) ::= NUMBER(T). { A = promql_ast_dur_number(p, &T, true); }
offset_dur(A) ::= DURATION(T). { A = promql_ast_dur_number(p, &T, true); }
offset_dur(A) ::= ADD(O) NUMBER(T). { A = promql_ast_dur_unary(p, &O, promql_ast_dur_number(p, &T, false), false); }
offset_dur(A) ::= ADD(O) DURATION(T). { A = promql_ast_dur_unary(p, &O, promql_ast_dur_number(p, &T, false), false); }
offset_dur(A) ::= SUB(O) NUMBER(T). { A = promql_ast_dur_unary(p, &O, promql_ast_dur_number(p, &T, false), false); }
offset_dur(A) ::= SUB(O) DURATION(T). { A = promql_ast_dur_unary(p, &O, promql_ast_dur_number(p, &T, false), false); }
offset_dur(A) ::= dur_call(C). { A = promql_ast_dur_gate(p, C); }
offset_dur(A) ::= ADD(O) dur_call(C). { A = promql_ast_dur_signed(p, &O, C); }
offset_dur(A) ::= SUB(O) dur_call(C). { A = promql_ast_dur_signed(p, &O, C); }
offset_dur(A) ::= LEFT_PAREN dur(E) RIGHT_PAREN. { A = promql_ast_dur_paren(p, E); }
offset_dur(A) ::= ADD(O) LEFT_PAREN dur(E) RIGHT_PAREN. { A = promql_ast_dur_unary(p, &O, E, true); }
offset_dur(A) ::= SUB(O) LEFT_PAREN dur(E) RIGHT_PAREN. { A = promql_ast_dur_unary(p, &O, E, true); }
