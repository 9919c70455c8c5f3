/* SPDX-License-Identifier: Apache-2.0
 * printer.c - PromQL canonical text, as Prometheus's Expr.String()
 * (promql/parser/printer.go): one line, modifiers in the order @ then
 * offset (anchored/smoothed between them, or right after a range), sorted
 * matchers without spaces, durations in model.Duration form, numbers as
 * strconv.FormatFloat(v, 'f', -1, 64).
 * Invariant: printing a parsed expression and parsing the text again gives
 * an equal tree (tests/unit/test_promql_parse.c checks the round trip). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/duration.h"
#include "lib/strbuf.h"
#include "promql/ast.h"
#include "promql/functions.h"

static void put_duration(tp_strbuf *sb, int64_t ms)
{
	char buf[64];
	size_t n = tp_duration_format(buf, ms);
	tp_sb_append(sb, buf, n);
}

/* Length of a valid UTF-8 sequence at c, 0 when invalid (Go's %q then
 * escapes the byte as \xHH). */
static int utf8_len(const unsigned char *c)
{
	int n = c[0] >= 0xf0 && c[0] < 0xf8 ? 4 : c[0] >= 0xe0 ? 3 : c[0] >= 0xc2 && c[0] < 0xe0 ? 2 : 0;
	if (c[0] >= 0xf8)
		return 0;
	for (int i = 1; i < n; i++)
		if ((c[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Go's %q for a string value (label values, string literals). */
static void put_quoted(tp_strbuf *sb, const char *s)
{
	tp_sb_putc(sb, '"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '"': tp_sb_puts(sb, "\\\""); break;
		case '\\': tp_sb_puts(sb, "\\\\"); break;
		case '\a': tp_sb_puts(sb, "\\a"); break;
		case '\b': tp_sb_puts(sb, "\\b"); break;
		case '\f': tp_sb_puts(sb, "\\f"); break;
		case '\n': tp_sb_puts(sb, "\\n"); break;
		case '\r': tp_sb_puts(sb, "\\r"); break;
		case '\t': tp_sb_puts(sb, "\\t"); break;
		case '\v': tp_sb_puts(sb, "\\v"); break;
		default:
			if (*c < 0x20 || *c == 0x7f) {
				tp_sb_printf(sb, "\\x%02x", *c);
			} else if (*c >= 0x80) {
				int k = utf8_len(c);
				if (k == 0)
					tp_sb_printf(sb, "\\x%02x", *c);
				else {
					tp_sb_append(sb, (const char *)c, (size_t)k);
					c += k - 1;
				}
			} else {
				tp_sb_putc(sb, (char)*c);
			}
		}
	}
	tp_sb_putc(sb, '"');
}

static bool is_legacy_label(const char *s)
{
	if (!*s)
		return false;
	for (const char *c = s; *c; c++) {
		bool ok = *c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (c != s && *c >= '0' && *c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static bool is_legacy_metric(const char *s)
{
	if (!*s)
		return false;
	for (const char *c = s; *c; c++) {
		bool ok = *c == '_' || *c == ':' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (c != s && *c >= '0' && *c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static void put_label_name(tp_strbuf *sb, const char *s)
{
	if (is_legacy_label(s))
		tp_sb_puts(sb, s);
	else
		put_quoted(sb, s);
}

static void put_labels(tp_strbuf *sb, char **labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			tp_sb_puts(sb, ", ");
		put_label_name(sb, labels[i]);
	}
}

/* NumberLiteral.String() */
static void put_number(tp_strbuf *sb, double v, bool duration)
{
	if (duration) {
		if (v < 0) {
			tp_sb_putc(sb, '-');
			v = -v;
		}
		/* model.Duration(v * 1e9): nanoseconds, printed in ms */
		put_duration(sb, (int64_t)(v * 1e9) / 1000000);
		return;
	}
	char buf[400];
	size_t len = tp_format_float_f(buf, v);
	tp_sb_append(sb, buf, len);
}

static const char *const dur_op_str[] = {
	/* ORDER PROMQL_DUR */
	"", "+", "-", "*", "/", "%", "^", "step", "range", "min_of", "max_of",
};

void promql_duration_print(tp_strbuf *sb, const promql_duration *d)
{
	if (!d)
		return;
	if (d->wrapped)
		tp_sb_putc(sb, '(');
	switch (d->op) {
	case PROMQL_DUR_NUMBER:
		put_number(sb, d->value, d->is_duration);
		break;
	case PROMQL_DUR_STEP:
	case PROMQL_DUR_RANGE:
		tp_sb_puts(sb, dur_op_str[d->op]);
		tp_sb_puts(sb, "()");
		break;
	case PROMQL_DUR_MIN_OF:
	case PROMQL_DUR_MAX_OF:
		tp_sb_puts(sb, dur_op_str[d->op]);
		tp_sb_putc(sb, '(');
		promql_duration_print(sb, d->lhs);
		tp_sb_puts(sb, ", ");
		promql_duration_print(sb, d->rhs);
		tp_sb_putc(sb, ')');
		break;
	default:
		if (!d->lhs) {  /* unary: '+' prints its operand alone */
			if (d->op == PROMQL_DUR_SUB)
				tp_sb_putc(sb, '-');
			promql_duration_print(sb, d->rhs);
			break;
		}
		promql_duration_print(sb, d->lhs);
		tp_sb_putc(sb, ' ');
		tp_sb_puts(sb, dur_op_str[d->op]);
		tp_sb_putc(sb, ' ');
		promql_duration_print(sb, d->rhs);
		break;
	}
	if (d->wrapped)
		tp_sb_putc(sb, ')');
}

static void put_at_offset(tp_strbuf *sb, promql_at_kind at, int64_t at_ms, int64_t offset_ms,
			  const promql_duration *offset_expr)
{
	switch (at) {
	case PROMQL_AT_TIMESTAMP: tp_sb_printf(sb, " @ %.3f", (double)at_ms / 1000.0); break;
	case PROMQL_AT_START: tp_sb_puts(sb, " @ start()"); break;
	case PROMQL_AT_END: tp_sb_puts(sb, " @ end()"); break;
	case PROMQL_AT_NONE: break;
	}
	if (offset_expr) {
		tp_sb_puts(sb, " offset ");
		promql_duration_print(sb, offset_expr);
	} else if (offset_ms > 0) {
		tp_sb_puts(sb, " offset ");
		put_duration(sb, offset_ms);
	} else if (offset_ms < 0) {
		tp_sb_puts(sb, " offset -");
		put_duration(sb, -offset_ms);
	}
}

/* The anchored/smoothed modifier of a vector selector (Prometheus prints
 * it after @ on an instant selector, before @ on a range selector). */
static void put_extended(tp_strbuf *sb, const promql_node *vs)
{
	if (vs->u.vs.anchored)
		tp_sb_puts(sb, " anchored");
	else if (vs->u.vs.smoothed)
		tp_sb_puts(sb, " smoothed");
}

static const char *match_op(tsdb_match_type t)
{
	switch (t) {
	case TSDB_MATCH_EQ: return "=";
	case TSDB_MATCH_NEQ: return "!=";
	case TSDB_MATCH_RE: return "=~";
	case TSDB_MATCH_NRE: return "!~";
	}
	return "?";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* VectorSelector.String() without its modifiers. */
static void put_selector(tp_strbuf *sb, const promql_node *n)
{
	const char *name = n->u.vs.name;
	char **strs = calloc(n->u.vs.nmatchers + 1, sizeof(char *));
	size_t ns = 0;
	for (size_t i = 0; i < n->u.vs.nmatchers; i++) {
		const tsdb_matcher *m = &n->u.vs.matchers[i];
		if (name && strcmp(m->name, "__name__") == 0 && m->type == TSDB_MATCH_EQ && strcmp(m->value, name) == 0 &&
		    *m->value)
			continue;
		tp_strbuf one = {0};
		put_label_name(&one, m->name);
		tp_sb_puts(&one, match_op(m->type));
		put_quoted(&one, m->value);
		strs[ns++] = tp_sb_steal(&one);
	}
	bool quoted_name = name && !is_legacy_metric(name);
	if (name && !quoted_name)
		tp_sb_puts(sb, name);
	if (ns || quoted_name) {
		qsort(strs, ns, sizeof(char *), cmp_str);
		tp_sb_putc(sb, '{');
		if (quoted_name) {
			put_quoted(sb, name);
			if (ns)
				tp_sb_putc(sb, ',');
		}
		for (size_t i = 0; i < ns; i++) {
			if (i)
				tp_sb_putc(sb, ',');
			tp_sb_puts(sb, strs[i]);
			free(strs[i]);
		}
		tp_sb_putc(sb, '}');
	}
	free(strs);
}

static void put_fill_value(tp_strbuf *sb, const char *kw, double v)
{
	char buf[400];
	size_t len = tp_format_float_f(buf, v);
	tp_sb_puts(sb, kw);
	tp_sb_putc(sb, '(');
	tp_sb_append(sb, buf, len);
	tp_sb_putc(sb, ')');
}

/* " fill(v)" when both sides fill with the same value (any NaN counts as
 * the same; -0 does not equal 0 here), else " fill_left(v)" and/or
 * " fill_right(v)". */
static void put_fill(tp_strbuf *sb, const promql_matching *m)
{
	bool same = m->has_fill_lhs && m->has_fill_rhs &&
		    ((m->fill_lhs == m->fill_rhs && signbit(m->fill_lhs) == signbit(m->fill_rhs)) ||
		     (isnan(m->fill_lhs) && isnan(m->fill_rhs)));
	if (same) {
		put_fill_value(sb, " fill", m->fill_lhs);
		return;
	}
	if (m->has_fill_lhs)
		put_fill_value(sb, " fill_left", m->fill_lhs);
	if (m->has_fill_rhs)
		put_fill_value(sb, " fill_right", m->fill_rhs);
}

void promql_node_print(tp_strbuf *sb, const promql_node *n)
{
	if (!n)
		return;
	switch (n->kind) {
	case PROMQL_NODE_NUMBER: {
		double v = n->u.number.value;
		if (n->u.number.duration) {
			if (v < 0) {
				tp_sb_putc(sb, '-');
				v = -v;
			}
			put_duration(sb, (int64_t)(v * 1000.0 + 0.5));
		} else {
			char buf[400];
			size_t len = tp_format_float_f(buf, v);
			tp_sb_append(sb, buf, len);
		}
		break;
	}
	case PROMQL_NODE_STRING: put_quoted(sb, n->u.string.value); break;
	case PROMQL_NODE_VECTOR_SELECTOR:
		put_selector(sb, n);
		put_at_offset(sb, n->u.vs.at, n->u.vs.at_ms, 0, NULL);
		put_extended(sb, n);
		put_at_offset(sb, PROMQL_AT_NONE, 0, n->u.vs.offset_ms, n->u.vs.offset_expr);
		break;
	case PROMQL_NODE_MATRIX_SELECTOR: {
		const promql_node *vs = n->u.ms.vs;
		put_selector(sb, vs);
		tp_sb_putc(sb, '[');
		if (n->u.ms.range_expr)
			promql_duration_print(sb, n->u.ms.range_expr);
		else
			put_duration(sb, n->u.ms.range_ms);
		tp_sb_putc(sb, ']');
		put_extended(sb, vs);
		put_at_offset(sb, vs->u.vs.at, vs->u.vs.at_ms, vs->u.vs.offset_ms, vs->u.vs.offset_expr);
		break;
	}
	case PROMQL_NODE_SUBQUERY:
		promql_node_print(sb, n->u.sq.expr);
		tp_sb_putc(sb, '[');
		if (n->u.sq.range_expr)
			promql_duration_print(sb, n->u.sq.range_expr);
		else
			put_duration(sb, n->u.sq.range_ms);
		tp_sb_putc(sb, ':');
		if (n->u.sq.step_ms)
			put_duration(sb, n->u.sq.step_ms);
		else if (n->u.sq.step_expr)
			promql_duration_print(sb, n->u.sq.step_expr);
		tp_sb_putc(sb, ']');
		put_at_offset(sb, n->u.sq.at, n->u.sq.at_ms, n->u.sq.offset_ms, n->u.sq.offset_expr);
		break;
	case PROMQL_NODE_PAREN:
		tp_sb_putc(sb, '(');
		promql_node_print(sb, n->u.paren.expr);
		tp_sb_putc(sb, ')');
		break;
	case PROMQL_NODE_UNARY:
		tp_sb_putc(sb, n->u.unary.neg ? '-' : '+');
		promql_node_print(sb, n->u.unary.expr);
		break;
	case PROMQL_NODE_BINARY: {
		const promql_matching *m = n->u.binary.matching;
		promql_node_print(sb, n->u.binary.lhs);
		tp_sb_putc(sb, ' ');
		tp_sb_puts(sb, promql_binop_str(n->u.binary.op));
		if (n->u.binary.return_bool)
			tp_sb_puts(sb, " bool");
		if (m && (m->nlabels > 0 || m->on)) {
			tp_sb_puts(sb, m->on ? " on (" : " ignoring (");
			put_labels(sb, m->labels, m->nlabels);
			tp_sb_putc(sb, ')');
			if (m->card == PROMQL_CARD_MANY_TO_ONE || m->card == PROMQL_CARD_ONE_TO_MANY) {
				tp_sb_puts(sb, m->card == PROMQL_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
				put_labels(sb, m->include, m->ninclude);
				tp_sb_putc(sb, ')');
			}
		}
		if (m)
			put_fill(sb, m);
		tp_sb_putc(sb, ' ');
		promql_node_print(sb, n->u.binary.rhs);
		break;
	}
	case PROMQL_NODE_CALL:
		tp_sb_puts(sb, n->u.call.fn->name);
		tp_sb_putc(sb, '(');
		for (size_t i = 0; i < n->u.call.nargs; i++) {
			if (i)
				tp_sb_puts(sb, ", ");
			promql_node_print(sb, n->u.call.args[i]);
		}
		tp_sb_putc(sb, ')');
		break;
	case PROMQL_NODE_AGGREGATE:
		tp_sb_puts(sb, promql_aggop_str(n->u.agg.op));
		if (n->u.agg.without) {
			tp_sb_puts(sb, " without (");
			put_labels(sb, n->u.agg.grouping, n->u.agg.ngrouping);
			tp_sb_puts(sb, ") ");
		} else if (n->u.agg.ngrouping > 0) {
			tp_sb_puts(sb, " by (");
			put_labels(sb, n->u.agg.grouping, n->u.agg.ngrouping);
			tp_sb_puts(sb, ") ");
		}
		tp_sb_putc(sb, '(');
		if (n->u.agg.param) {
			promql_node_print(sb, n->u.agg.param);
			tp_sb_puts(sb, ", ");
		}
		promql_node_print(sb, n->u.agg.expr);
		tp_sb_putc(sb, ')');
		break;
	}
}
