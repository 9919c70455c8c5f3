/* SPDX-License-Identifier: Apache-2.0
 * promqltest.c - runs a parsed promqltest file against tsdb + engine
 * (FORMAT.md §3, §4 loading; §7 comparison; §8 errors and annotations;
 * §9 the implicit `@` re-runs and range-mode checks; §10 engine settings).
 *
 * Invariants: one tsdb head per `clear` (the first one is implicit); the
 * engine is pointed at the current head with promql_engine_set_head; every
 * eval command is reported exactly once (pass, fail or skip) and stops at
 * its first failing run, as an upstream subtest does. Skips are native
 * histogram cases only (STATS.md "hist"). */
#include "config.h"
#include "promql/promqltest.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/duration.h"
#include "lib/strbuf.h"
#include "promql/ast.h"
#include "promql/engine.h"
#include "promql/functions.h"
#include "tsdb/tsdb.h"

#define MAX_SHOWN_SERIES 25
#define MAX_SHOWN_POINTS 12

typedef struct runner {
	const promql_test_file *f;
	const promql_test_opts *opts;
	tsdb_head *head;
	promql_engine *eng;
	char **hist_names;   /* metric names holding native histograms since the last clear */
	size_t nhist, cap_hist;
	bool any_hist;
	tp_strbuf msg;       /* the current eval's failure report */
	const char *run_desc;/* which run of the eval is being checked */
	unsigned long queries;
	int fail_kind;       /* why the current eval failed: FK_* */
} runner;

enum { FK_OTHER, FK_ERRTEXT, FK_ANNOS };

static bool failf(runner *r, const char *fmt, ...) TP_PRINTF(2, 3);
static bool failf(runner *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tp_sb_puts(&r->msg, "  problem: ");
	tp_sb_vprintf(&r->msg, fmt, ap);
	tp_sb_putc(&r->msg, '\n');
	va_end(ap);
	return false;
}

static const char *fmt_labels(tp_strbuf *sb, const tp_labels *l)
{
	tp_sb_reset(sb);
	tp_labels_format(sb, l, true);
	return tp_sb_cstr(sb);
}

static void put_float(tp_strbuf *sb, double v)
{
	if (promql_test_is_stale(v))
		tp_sb_puts(sb, "stale");
	else
		tp_sb_float(sb, v);
}

/* ---- histogram bookkeeping (what counts as a skip) ---- */

static bool hist_name_known(runner *r, const char *name)
{
	for (size_t i = 0; i < r->nhist; i++)
		if (strcmp(r->hist_names[i], name) == 0)
			return true;
	return false;
}

static void hist_name_add(runner *r, const char *name, size_t n)
{
	char *s = tp_xstrndup(name, n);
	if (hist_name_known(r, s)) {
		free(s);
		return;
	}
	TP_GROW(r->hist_names, r->cap_hist, r->nhist + 1);
	r->hist_names[r->nhist++] = s;
	r->any_hist = true;
}

static void hist_names_clear(runner *r)
{
	for (size_t i = 0; i < r->nhist; i++)
		free(r->hist_names[i]);
	r->nhist = 0;
	r->any_hist = false;
}

/* Whether a selector picks (possibly) native-histogram data: its name is a
 * histogram metric, or it has no plain name while histograms are loaded. */
static bool node_selects_hist(runner *r, const promql_node *n)
{
	if (!n)
		return false;
	switch (n->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR: {
		const char *name = n->u.vs.name;
		for (size_t i = 0; !name && i < n->u.vs.nmatchers; i++)
			if (n->u.vs.matchers[i].type == TSDB_MATCH_EQ &&
			    strcmp(n->u.vs.matchers[i].name, TP_METRIC_NAME) == 0)
				name = n->u.vs.matchers[i].value;
		return name ? hist_name_known(r, name) : r->any_hist;
	}
	case PROMQL_NODE_MATRIX_SELECTOR:
		return node_selects_hist(r, n->u.ms.vs);
	case PROMQL_NODE_SUBQUERY:
		return node_selects_hist(r, n->u.sq.expr);
	case PROMQL_NODE_PAREN:
		return node_selects_hist(r, n->u.paren.expr);
	case PROMQL_NODE_UNARY:
		return node_selects_hist(r, n->u.unary.expr);
	case PROMQL_NODE_BINARY:
		return node_selects_hist(r, n->u.binary.lhs) || node_selects_hist(r, n->u.binary.rhs);
	case PROMQL_NODE_CALL:
		for (size_t i = 0; i < n->u.call.nargs; i++)
			if (node_selects_hist(r, n->u.call.args[i]))
				return true;
		return false;
	case PROMQL_NODE_AGGREGATE:
		return node_selects_hist(r, n->u.agg.expr) || node_selects_hist(r, n->u.agg.param);
	default:
		return false;
	}
}

/* Fallback when the query does not parse: any identifier outside string
 * literals that names a histogram metric, or a selector without a name
 * (`{` not right after an identifier), as the AST check does. */
static bool text_names_hist(runner *r, const char *q)
{
	for (const char *p = q; *p;) {
		if (*p == '{' && (p == q || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == ':')))
			return true;
		if (*p == '"' || *p == '\'' || *p == '`') {
			char c = *p++;
			while (*p && *p != c)
				p += (*p == '\\' && c != '`' && p[1]) ? 2 : 1;
			if (*p)
				p++;
			continue;
		}
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':') {
			const char *st = p;
			while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			       *p == '_' || *p == ':')
				p++;
			for (size_t i = 0; i < r->nhist; i++)
				if (strlen(r->hist_names[i]) == (size_t)(p - st) &&
				    memcmp(r->hist_names[i], st, (size_t)(p - st)) == 0)
					return true;
			continue;
		}
		p++;
	}
	return false;
}

static const promql_parse_opts parse_opts = {
	.experimental_functions = true,
	.duration_expressions = true,
	.extended_range_selectors = true,
	.binop_fill_modifiers = true,
};

static bool query_touches_hist(runner *r, const char *q)
{
	if (!r->any_hist)
		return false;
	promql_parse_error perr;
	promql_expr *e = promql_parse(q, &parse_opts, &perr);
	if (!e)
		return text_names_hist(r, q);
	bool h = node_selects_hist(r, e->root);
	promql_expr_free(e);
	return h;
}

/* ---- loading ---- */

static void run_clear(runner *r)
{
	tsdb_head *h = tsdb_head_new(NULL);
	promql_engine_set_head(r->eng, h);
	tsdb_head_free(r->head);
	r->head = h;
	hist_names_clear(r);
}

static void run_load(runner *r, const promql_test_cmd *c, promql_test_counts *counts)
{
	tsdb_appender *app = tsdb_appender_new(r->head);
	for (size_t s = 0; s < c->nseries; s++) {
		const promql_test_series *ser = &c->series[s];
		const char *name = tp_labels_get(&ser->labels, TP_METRIC_NAME);
		if (ser->has_hist) {
			if (name)
				hist_name_add(r, name, strlen(name));
			r->any_hist = true;
		}
		if (c->nhcb && name && tp_labels_get(&ser->labels, "le")) {
			size_t n = strlen(name);
			if (n > 7 && strcmp(name + n - 7, "_bucket") == 0)
				hist_name_add(r, name, n - 7);
		}
		uint32_t ref = 0;
		for (size_t k = 0; k < ser->nslots; k++) {
			if (ser->slots[k].kind != PROMQL_TEST_SLOT_FLOAT)
				continue;
			int64_t t = (int64_t)k * c->interval_ms;
			int rc = ref ? tsdb_appender_add_ref(app, ref, t, ser->slots[k].v)
				     : tsdb_appender_add(app, &ser->labels, t, ser->slots[k].v, &ref);
			if (rc != TSDB_OK) {
				tp_strbuf sb = { 0 };
				counts->load_errors++;
				fprintf(stderr, "%s:%d: load: %s at t=%lld: %s\n", r->f->path, ser->line,
					fmt_labels(&sb, &ser->labels), (long long)t, tsdb_rc_str(rc));
				tp_sb_free(&sb);
			}
		}
	}
	tsdb_appender_commit(app);
	tsdb_appender_free(app);
}

/* ---- describing expectations and results ---- */

static void describe_expected(tp_strbuf *out, const promql_test_cmd *c)
{
	tp_strbuf sb = { 0 };
	if (c->fail) {
		tp_sb_puts(out, "  expected: an error");
		if (c->fail_msg)
			tp_sb_printf(out, " with message \"%s\"", c->fail_msg);
		if (c->fail_regex)
			tp_sb_printf(out, " matching /%s/", c->fail_regex);
		tp_sb_putc(out, '\n');
		return;
	}
	if (c->has_scalar) {
		tp_sb_puts(out, "  expected: scalar ");
		tp_sb_float(out, c->scalar);
		tp_sb_putc(out, '\n');
		return;
	}
	if (c->has_string) {
		tp_sb_printf(out, "  expected: string \"%s\"\n", c->string);
		return;
	}
	tp_sb_printf(out, "  expected (%zu series%s):\n", c->nseries, c->ordered ? ", ordered" : "");
	for (size_t i = 0; i < c->nseries && i < MAX_SHOWN_SERIES; i++) {
		const promql_test_series *s = &c->series[i];
		tp_sb_printf(out, "    %s", fmt_labels(&sb, &s->labels));
		for (size_t k = 0; k < s->nslots && k < MAX_SHOWN_POINTS; k++) {
			tp_sb_putc(out, ' ');
			if (s->slots[k].kind == PROMQL_TEST_SLOT_EMPTY)
				tp_sb_putc(out, '_');
			else if (s->slots[k].kind == PROMQL_TEST_SLOT_HIST)
				tp_sb_puts(out, "{{...}}");
			else
				put_float(out, s->slots[k].v);
		}
		if (s->nslots > MAX_SHOWN_POINTS)
			tp_sb_printf(out, " ... (%zu values)", s->nslots);
		tp_sb_putc(out, '\n');
	}
	if (c->nseries > MAX_SHOWN_SERIES)
		tp_sb_printf(out, "    ... %zu more\n", c->nseries - MAX_SHOWN_SERIES);
	tp_sb_free(&sb);
}

static void describe_result(tp_strbuf *out, const promql_result *res)
{
	tp_strbuf sb = { 0 };
	if (res->err != PROMQL_OK) {
		tp_sb_printf(out, "  got: error (%s): %s\n", promql_err_type_str(res->err),
			     res->err_msg ? res->err_msg : "(no message)");
		return;
	}
	switch (res->type) {
	case PROMQL_TYPE_SCALAR:
		tp_sb_puts(out, "  got: scalar ");
		tp_sb_float(out, res->scalar);
		tp_sb_putc(out, '\n');
		break;
	case PROMQL_TYPE_STRING:
		tp_sb_printf(out, "  got: string \"%s\"\n", res->string ? res->string : "");
		break;
	case PROMQL_TYPE_VECTOR:
	case PROMQL_TYPE_MATRIX:
		tp_sb_printf(out, "  got (%s, %zu series):\n", res->type == PROMQL_TYPE_VECTOR ? "vector" : "matrix",
			     res->nseries);
		for (size_t i = 0; i < res->nseries && i < MAX_SHOWN_SERIES; i++) {
			const promql_series *s = &res->series[i];
			tp_sb_printf(out, "    %s", fmt_labels(&sb, &s->labels));
			for (size_t k = 0; k < s->npoints && k < MAX_SHOWN_POINTS; k++) {
				tp_sb_putc(out, ' ');
				put_float(out, s->points[k].v);
				if (res->type == PROMQL_TYPE_MATRIX)
					tp_sb_printf(out, "@%lld", (long long)s->points[k].t);
			}
			if (s->npoints > MAX_SHOWN_POINTS)
				tp_sb_printf(out, " ... (%zu points)", s->npoints);
			tp_sb_putc(out, '\n');
		}
		if (res->nseries > MAX_SHOWN_SERIES)
			tp_sb_printf(out, "    ... %zu more\n", res->nseries - MAX_SHOWN_SERIES);
		break;
	default:
		tp_sb_printf(out, "  got: result of type %d\n", (int)res->type);
	}
	for (size_t i = 0; i < res->nwarnings; i++)
		tp_sb_printf(out, "  got warning: %s\n", res->warnings[i]);
	for (size_t i = 0; i < res->ninfos; i++)
		tp_sb_printf(out, "  got info: %s\n", res->infos[i]);
	tp_sb_free(&sb);
}

/* ---- comparison (§7) ---- */

static bool feq(const runner *r, double expected, double actual)
{
	return r->opts->v242 ? promql_test_float_equal_v242(expected, actual)
			     : promql_test_float_equal(expected, actual);
}

static const promql_test_series *find_expected(const promql_test_cmd *c, const tp_labels *l, size_t *idx)
{
	for (size_t i = 0; i < c->nseries; i++)
		if (tp_labels_equal(&c->series[i].labels, l)) {
			*idx = i;
			return &c->series[i];
		}
	return NULL;
}

static bool compare_scalar(runner *r, const promql_test_cmd *c, double got)
{
	if (!c->has_scalar)
		return failf(r, "expected %s, got a scalar", c->has_string ? "a string" : "a vector");
	if (!feq(r, c->scalar, got)) {
		tp_strbuf sb = { 0 };
		tp_sb_puts(&sb, "expected scalar ");
		tp_sb_float(&sb, c->scalar);
		tp_sb_puts(&sb, ", got ");
		tp_sb_float(&sb, got);
		failf(r, "%s", tp_sb_cstr(&sb));
		tp_sb_free(&sb);
		return false;
	}
	return true;
}

/* An instant vector: ss[i] carries one point each. */
static bool compare_vector(runner *r, const promql_test_cmd *c, const promql_series *ss, size_t n, bool ordered)
{
	if (c->has_scalar)
		return failf(r, "expected a scalar, got an instant vector");
	if (c->has_string)
		return failf(r, "expected a string, got an instant vector");
	bool ok = true;
	tp_strbuf sb = { 0 };
	bool *seen = tp_xcalloc(c->nseries ? c->nseries : 1, sizeof(bool));
	for (size_t i = 0; i < n && ok; i++) {
		size_t idx;
		const promql_test_series *e = find_expected(c, &ss[i].labels, &idx);
		if (!e) {
			ok = failf(r, "unexpected metric %s in result", fmt_labels(&sb, &ss[i].labels));
			break;
		}
		seen[idx] = true;
		if (ordered && e->pos != i + 1) {
			ok = failf(r, "expected metric %s at position %u but was at %zu", fmt_labels(&sb, &e->labels),
				   e->pos, i + 1);
			break;
		}
		if (ss[i].npoints != 1) {
			ok = failf(r, "series %s has %zu points in an instant vector", fmt_labels(&sb, &e->labels),
				   ss[i].npoints);
			break;
		}
		if (e->nslots < 1 || e->slots[0].kind != PROMQL_TEST_SLOT_FLOAT) {
			ok = failf(r, "expectation for %s has no float value", fmt_labels(&sb, &e->labels));
			break;
		}
		double want = e->slots[0].v, got = ss[i].points[0].v;
		if (!feq(r, want, got)) {
			tp_strbuf v = { 0 };
			tp_sb_puts(&v, "expected ");
			put_float(&v, want);
			tp_sb_puts(&v, " for ");
			tp_sb_puts(&v, fmt_labels(&sb, &e->labels));
			tp_sb_puts(&v, " but got ");
			put_float(&v, got);
			ok = failf(r, "%s", tp_sb_cstr(&v));
			tp_sb_free(&v);
		}
	}
	for (size_t i = 0; ok && i < c->nseries; i++)
		if (!seen[i])
			ok = failf(r, "expected metric %s not found", fmt_labels(&sb, &c->series[i].labels));
	free(seen);
	tp_sb_free(&sb);
	return ok;
}

static bool check_sorted(runner *r, const promql_series *ss, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (tp_labels_cmp(&ss[i].labels, &ss[i + 1].labels) > 0) {
			tp_strbuf a = { 0 }, b = { 0 };
			failf(r, "matrix not sorted by labels: %s (index %zu) sorts after %s", fmt_labels(&a, &ss[i].labels),
			      i, fmt_labels(&b, &ss[i + 1].labels));
			tp_sb_free(&a);
			tp_sb_free(&b);
			return false;
		}
	}
	return true;
}

static bool compare_matrix(runner *r, const promql_test_cmd *c, const promql_series *ss, size_t n, int64_t start,
			   int64_t end, int64_t step)
{
	if (c->ordered)
		return failf(r, "expected ordered result, but query returned a matrix");
	if (c->has_scalar)
		return failf(r, "expected scalar result, but got matrix");
	if (c->has_string)
		return failf(r, "expected string result, but got matrix");
	if (!check_sorted(r, ss, n))
		return false;
	bool ok = true;
	tp_strbuf sb = { 0 };
	bool *seen = tp_xcalloc(c->nseries ? c->nseries : 1, sizeof(bool));
	for (size_t i = 0; i < n && ok; i++) {
		size_t idx;
		const promql_test_series *e = find_expected(c, &ss[i].labels, &idx);
		if (!e) {
			ok = failf(r, "unexpected metric %s in result", fmt_labels(&sb, &ss[i].labels));
			break;
		}
		seen[idx] = true;
		size_t want = 0;
		for (size_t k = 0; k < e->nslots; k++) {
			if (start + (int64_t)k * step > end) {
				ok = failf(r, "expected %zu points for %s, but query time range cannot return this many points",
					   e->nslots, fmt_labels(&sb, &e->labels));
				break;
			}
			if (e->slots[k].kind != PROMQL_TEST_SLOT_EMPTY)
				want++;
		}
		if (!ok)
			break;
		if (want != ss[i].npoints) {
			ok = failf(r, "expected %zu points for %s, but got %zu", want, fmt_labels(&sb, &e->labels),
				   ss[i].npoints);
			break;
		}
		size_t j = 0;
		for (size_t k = 0; k < e->nslots && ok; k++) {
			if (e->slots[k].kind == PROMQL_TEST_SLOT_EMPTY)
				continue;
			int64_t t = start + (int64_t)k * step;
			const promql_point *pt = &ss[i].points[j++];
			if (pt->t != t) {
				ok = failf(r, "expected point %zu of %s at t=%lld, but it is at t=%lld", j - 1,
					   fmt_labels(&sb, &e->labels), (long long)t, (long long)pt->t);
			} else if (!feq(r, e->slots[k].v, pt->v)) {
				tp_strbuf v = { 0 };
				tp_sb_printf(&v, "expected value at t=%lld for %s to be ", (long long)t,
					     fmt_labels(&sb, &e->labels));
				put_float(&v, e->slots[k].v);
				tp_sb_puts(&v, ", got ");
				put_float(&v, pt->v);
				ok = failf(r, "%s", tp_sb_cstr(&v));
				tp_sb_free(&v);
			}
		}
	}
	for (size_t i = 0; ok && i < c->nseries; i++)
		if (!seen[i])
			ok = failf(r, "expected metric %s not found", fmt_labels(&sb, &c->series[i].labels));
	free(seen);
	tp_sb_free(&sb);
	return ok;
}

/* Compares a successful result with the expectation, by result type. */
static bool compare_result(runner *r, const promql_test_cmd *c, const promql_result *res)
{
	switch (res->type) {
	case PROMQL_TYPE_SCALAR:
		return compare_scalar(r, c, res->scalar);
	case PROMQL_TYPE_STRING:
		if (!c->has_string)
			return failf(r, "got a string result \"%s\"", res->string ? res->string : "");
		if (strcmp(c->string, res->string ? res->string : "") != 0)
			return failf(r, "expected string \"%s\", got \"%s\"", c->string, res->string ? res->string : "");
		return true;
	case PROMQL_TYPE_VECTOR:
		return compare_vector(r, c, res->series, res->nseries, c->ordered);
	case PROMQL_TYPE_MATRIX:
		if (r->opts->v242 && !c->is_range)
			return failf(r, "an instant eval returned a matrix (v2.42 dialect)");
		if (c->is_range)
			return compare_matrix(r, c, res->series, res->nseries, c->start_ms, c->end_ms, c->step_ms);
		if (c->range_vector)
			return compare_matrix(r, c, res->series, res->nseries, c->rv_start_ms, c->rv_end_ms,
					      c->rv_step_ms);
		return compare_matrix(r, c, res->series, res->nseries, c->at_ms, c->at_ms, 0);
	default:
		return failf(r, "result of unknown type %d", (int)res->type);
	}
}

/* ---- errors and annotations (§8) ---- */

static bool regex_search(const char *re, const char *text, bool *bad)
{
	int ec;
	PCRE2_SIZE eo;
	/* byte mode: error texts may carry invalid UTF-8 (e.g. a "\xff" label) */
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
	if (!code) {
		*bad = true;
		return false;
	}
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
	int rc = pcre2_match(code, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return rc >= 0;
}

static bool text_matches(runner *r, const char *msg, const char *regex, const char *text)
{
	if (msg)
		return strcmp(msg, text) == 0;
	if (regex) {
		bool bad = false;
		bool m = regex_search(regex, text, &bad);
		if (bad)
			failf(r, "invalid regex /%s/", regex);
		return m;
	}
	return true;
}

/* Returns true when the fail expectation settles the run (passes or not:
 * *ok tells); false when the comparison must go on. */
static bool check_fail(runner *r, const promql_test_cmd *c, const promql_result *res, bool *ok)
{
	if (res->err != PROMQL_OK) {
		const char *m = res->err_msg ? res->err_msg : "";
		if (!c->fail)
			*ok = failf(r, "unexpected error: %s", m);
		else if (!text_matches(r, c->fail_msg, c->fail_regex, m)) {
			*ok = failf(r, "expected error %s%s%s, got: %s", c->fail_msg ? "\"" : "/",
				    c->fail_msg ? c->fail_msg : c->fail_regex, c->fail_msg ? "\"" : "/", m);
			r->fail_kind = FK_ERRTEXT;
		}
		else
			*ok = true;
		return true;
	}
	if (c->fail) {
		*ok = failf(r, "expected an error, but the query succeeded");
		return true;
	}
	return false;
}

static bool check_annos_kind(runner *r, const promql_test_cmd *c, bool info, char **got, size_t n)
{
	const char *kind = info ? "info" : "warning";
	if ((info ? c->no_info : c->no_warn) && n)
		return failf(r, "expected no %s annotation, got: %s", kind, got[0]);
	if (!(info ? c->want_info : c->want_warn))
		return true;
	if (!n)
		return failf(r, "expected %s annotations, got none", kind);
	for (size_t d = 0; d < c->nannos; d++) {
		const promql_test_anno *a = &c->annos[d];
		if (a->info != info)
			continue;
		bool any = false;
		for (size_t i = 0; i < n && !any; i++)
			any = text_matches(r, a->msg, a->regex, got[i]);
		if (!any)
			return failf(r, "expected %s %s%s%s not found", kind, a->msg ? "\"" : "/",
				     a->msg ? a->msg : a->regex ? a->regex : "", a->msg ? "\"" : "/");
	}
	for (size_t i = 0; i < n; i++) {
		bool any = false;
		for (size_t d = 0; d < c->nannos && !any; d++)
			if (c->annos[d].info == info)
				any = text_matches(r, c->annos[d].msg, c->annos[d].regex, got[i]);
		if (!any)
			return failf(r, "unexpected %s annotation: %s", kind, got[i]);
	}
	return true;
}

static bool check_annos(runner *r, const promql_test_cmd *c, const promql_result *res)
{
	if (check_annos_kind(r, c, false, res->warnings, res->nwarnings) &&
	    check_annos_kind(r, c, true, res->infos, res->ninfos))
		return true;
	r->fail_kind = FK_ANNOS;
	return false;
}

/* ---- §9: `@` rewrite and range-mode check ---- */

static bool fn_at_unsafe(promql_func_id id)
{
	switch (id) {
	case PROMQL_FN_TIME: case PROMQL_FN_TIMESTAMP: case PROMQL_FN_PREDICT_LINEAR:
	case PROMQL_FN_MINUTE: case PROMQL_FN_HOUR: case PROMQL_FN_DAY_OF_WEEK:
	case PROMQL_FN_DAY_OF_MONTH: case PROMQL_FN_DAY_OF_YEAR: case PROMQL_FN_DAYS_IN_MONTH:
	case PROMQL_FN_MONTH: case PROMQL_FN_YEAR:
		return true;
	default:
		return false;
	}
}

/* Gives every top-level selector and outermost subquery `@ t` unless it
 * has a numeric `@` already (start()/end() are replaced, as upstream's
 * re-rendering does); nothing inside a subquery with `@` is visited, not
 * even for the unsafe-function check (upstream's Inspect stops there). */
static void at_rewrite(promql_node *n, int64_t t, bool *unsafe)
{
	if (!n)
		return;
	switch (n->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
		if (n->u.vs.at != PROMQL_AT_TIMESTAMP) {
			n->u.vs.at = PROMQL_AT_TIMESTAMP;
			n->u.vs.at_ms = t;
		}
		break;
	case PROMQL_NODE_MATRIX_SELECTOR:
		at_rewrite(n->u.ms.vs, t, unsafe);
		break;
	case PROMQL_NODE_SUBQUERY:
		if (n->u.sq.at != PROMQL_AT_TIMESTAMP) {
			n->u.sq.at = PROMQL_AT_TIMESTAMP;
			n->u.sq.at_ms = t;
		}
		break;
	case PROMQL_NODE_PAREN:
		at_rewrite(n->u.paren.expr, t, unsafe);
		break;
	case PROMQL_NODE_UNARY:
		at_rewrite(n->u.unary.expr, t, unsafe);
		break;
	case PROMQL_NODE_BINARY:
		at_rewrite(n->u.binary.lhs, t, unsafe);
		at_rewrite(n->u.binary.rhs, t, unsafe);
		break;
	case PROMQL_NODE_CALL:
		if (n->u.call.fn && fn_at_unsafe(n->u.call.fn->id))
			*unsafe = true;
		for (size_t i = 0; i < n->u.call.nargs; i++)
			at_rewrite(n->u.call.args[i], t, unsafe);
		break;
	case PROMQL_NODE_AGGREGATE:
		at_rewrite(n->u.agg.param, t, unsafe);
		at_rewrite(n->u.agg.expr, t, unsafe);
		break;
	default:
		break;
	}
}

/* §9.2: no range-mode check when the query text names start(), end(),
 * range() or step() (their value differs between the two modes). */
static bool mentions_range_fns(const char *q)
{
	return strstr(q, "start()") || strstr(q, "end()") || strstr(q, "range()") || strstr(q, "step()");
}

/* §9.1: main adds start, end, range and step to the functions that make
 * the `@` re-runs meaningless, as calls; `@ start()` / `@ end()` are
 * modifiers (the re-run replaces them by `@ T`, as upstream's does). */
static bool calls_range_fns(const char *q)
{
	static const char *const fns[] = { "start()", "end()", "range()", "step()" };
	for (size_t i = 0; i < TP_ARRAY_LEN(fns); i++) {
		for (const char *p = q; (p = strstr(p, fns[i])) != NULL; p++) {
			const char *b = p;
			while (b > q && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (b == q || b[-1] != '@')
				return true;
		}
	}
	return false;
}

static bool range_check(runner *r, const promql_test_cmd *c, const promql_expr *expr, int64_t t,
			const promql_result *inst)
{
	promql_result rr;
	r->queries++;
	if (expr)
		promql_eval_range(r->eng, expr, t - 60000, t + 60000, 60000, &rr);
	else
		promql_query_range(r->eng, c->expr, t - 60000, t + 60000, 60000, &rr);
	bool ok = true;
	if (rr.err != PROMQL_OK) {
		ok = failf(r, "error in range mode: %s", rr.err_msg ? rr.err_msg : "");
	} else if (rr.type != PROMQL_TYPE_MATRIX) {
		ok = failf(r, "range mode returned type %s", promql_type_name(rr.type));
	} else if (c->ordered) {
		ok = true;
	} else if (check_sorted(r, rr.series, rr.nseries)) {
		promql_series *vec = tp_xcalloc(rr.nseries ? rr.nseries : 1, sizeof *vec);
		size_t nv = 0;
		for (size_t i = 0; i < rr.nseries; i++) {
			for (size_t k = 0; k < rr.series[i].npoints; k++) {
				if (rr.series[i].points[k].t == t) {
					vec[nv].labels = rr.series[i].labels;
					vec[nv].points = &rr.series[i].points[k];
					vec[nv].npoints = 1;
					nv++;
					break;
				}
			}
		}
		if (inst->type == PROMQL_TYPE_SCALAR)
			ok = nv ? compare_scalar(r, c, vec[0].points[0].v)
				: failf(r, "range mode returned no point at t=%lld for a scalar", (long long)t);
		else
			ok = compare_vector(r, c, vec, nv, false);
		free(vec);
	} else {
		ok = false;
	}
	if (!ok) {
		tp_sb_printf(&r->msg, "  run: %s\n", r->run_desc);
		describe_result(&r->msg, &rr);
	}
	promql_result_free(&rr);
	return ok;
}

/* One instant run: the original text (expr NULL) or a rewritten AST
 * (whose `@ start()`/`@ end()` are gone, so it gets the range check). */
static bool instant_run(runner *r, const promql_test_cmd *c, const promql_expr *expr, int64_t t)
{
	bool range_fns = expr ? false : mentions_range_fns(c->expr);
	promql_result res;
	r->queries++;
	if (expr)
		promql_eval_instant(r->eng, expr, t, &res);
	else
		promql_query_instant(r->eng, c->expr, t, &res);
	bool ok = true;
	if (check_fail(r, c, &res, &ok)) {
		/* settled */
	} else if (!check_annos(r, c, &res) || !compare_result(r, c, &res)) {
		ok = false;
	} else if (!c->range_vector && !c->has_string && !range_fns && !r->opts->no_range_check &&
		   (res.type == PROMQL_TYPE_SCALAR || res.type == PROMQL_TYPE_VECTOR)) {
		const char *prev = r->run_desc;
		tp_strbuf d = { 0 };
		tp_sb_printf(&d, "%s, range-mode check (t-1m to t+1m step 1m)", prev);
		r->run_desc = tp_sb_cstr(&d);
		ok = range_check(r, c, expr, t, &res);
		r->run_desc = prev;
		tp_sb_free(&d);
		promql_result_free(&res);
		return ok;
	}
	if (!ok) {
		tp_sb_printf(&r->msg, "  run: %s\n", r->run_desc);
		describe_result(&r->msg, &res);
	}
	promql_result_free(&res);
	return ok;
}

static bool eval_instant(runner *r, const promql_test_cmd *c)
{
	int64_t t0 = c->range_vector ? c->rv_end_ms : c->at_ms;
	r->run_desc = "the query as written";
	if (!instant_run(r, c, NULL, t0))
		return false;
	if (r->opts->no_at_reruns || calls_range_fns(c->expr))
		return true;
	promql_parse_error perr;
	promql_expr *e = promql_parse(c->expr, &parse_opts, &perr);
	if (!e)
		return true; /* failed at creation, as expected: nothing to rewrite */
	bool unsafe = false, ok = true;
	at_rewrite(e->root, t0, &unsafe);
	if (!unsafe) {
		int64_t times[5] = { -10 * t0, 0, t0 / 5, t0, 10 * t0 };
		size_t nt = 5;
		if (t0 == 0) {
			times[0] = -1000, times[1] = 0, times[2] = 1000;
			nt = 3;
		}
		tp_strbuf d = { 0 };
		for (size_t i = 0; i < nt && ok; i++) {
			tp_sb_reset(&d);
			tp_sb_printf(&d, "step-invariance re-run with every selector at @ %lld ms, evaluated at t=%lld ms",
				     (long long)t0, (long long)times[i]);
			r->run_desc = tp_sb_cstr(&d);
			ok = instant_run(r, c, e, times[i]);
		}
		tp_sb_free(&d);
	}
	promql_expr_free(e);
	return ok;
}

static bool eval_range(runner *r, const promql_test_cmd *c)
{
	promql_result res;
	r->queries++;
	promql_query_range(r->eng, c->expr, c->start_ms, c->end_ms, c->step_ms, &res);
	bool ok = true;
	r->run_desc = "range query";
	if (check_fail(r, c, &res, &ok)) {
		/* settled */
	} else if (!check_annos(r, c, &res) || !compare_result(r, c, &res)) {
		ok = false;
	}
	if (!ok) {
		tp_sb_printf(&r->msg, "  run: %s\n", r->run_desc);
		describe_result(&r->msg, &res);
	}
	promql_result_free(&res);
	return ok;
}

static void eval_header(tp_strbuf *sb, const promql_test_file *f, const promql_test_cmd *c)
{
	char a[48], b[48], s[48];
	tp_sb_printf(sb, "%s:%d: ", f->path, c->line);
	if (c->is_range) {
		tp_duration_format(a, c->start_ms);
		tp_duration_format(b, c->end_ms);
		tp_duration_format(s, c->step_ms);
		tp_sb_printf(sb, "eval range from %s to %s step %s %s\n", a, b, s, c->expr);
	} else {
		tp_duration_format(a, c->at_ms);
		tp_sb_printf(sb, "eval instant at %s %s\n", a, c->expr);
	}
}

static void run_eval(runner *r, const promql_test_cmd *c, promql_test_counts *counts)
{
	tp_strbuf det = { 0 };
	const char *why = NULL;
	if (c->hist_exp)
		why = "native histograms: histogram literal in the expected result";
	else if (query_touches_hist(r, c->expr))
		why = "native histograms: the query selects native-histogram data";
	if (why) {
		counts->skipped++;
		if (r->opts->report)
			r->opts->report(r->opts->ud, r->f, c, PROMQL_TEST_SKIP, why);
		return;
	}
	tp_sb_reset(&r->msg);
	r->fail_kind = FK_OTHER;
	bool ok = c->is_range ? eval_range(r, c) : eval_instant(r, c);
	if (ok) {
		counts->passed++;
	} else {
		counts->failed++;
		counts->failed_errtext += r->fail_kind == FK_ERRTEXT;
		counts->failed_annos += r->fail_kind == FK_ANNOS;
		eval_header(&det, r->f, c);
		tp_sb_puts(&det, tp_sb_cstr(&r->msg));
		describe_expected(&det, c);
	}
	if (r->opts->report)
		r->opts->report(r->opts->ud, r->f, c, ok ? PROMQL_TEST_PASS : PROMQL_TEST_FAIL,
				ok ? NULL : tp_sb_cstr(&det));
	tp_sb_free(&det);
}

int promql_test_run(const promql_test_file *f, const promql_test_opts *opts, promql_test_counts *counts,
		    char *err, size_t errlen)
{
	static const promql_test_opts defaults;
	runner r = { .f = f, .opts = opts ? opts : &defaults };
	/* FORMAT.md §10: lookback 5m, subquery resolution 1m, 10,000 samples,
	 * 100 s, and every feature flag the upstream harness enables (@ and
	 * negative offsets are always on in tinyprom). */
	promql_engine_opts eo = {
		.lookback_ms = 5 * 60 * 1000,
		.timeout_ms = 100 * 1000,
		.max_samples = 10000,
		.experimental_functions = true,
		.duration_expressions = true,
		.extended_range_selectors = true,
		.delayed_name_removal = true,
		.binop_fill_modifiers = true,
		.subquery_step_ms = 60 * 1000,
	};
	r.head = tsdb_head_new(NULL);
	r.eng = r.head ? promql_engine_new(r.head, &eo) : NULL;
	if (!r.eng) {
		snprintf(err, errlen, "cannot create the storage or the engine");
		tsdb_head_free(r.head);
		return -1;
	}
	for (size_t i = 0; i < f->ncmds; i++) {
		const promql_test_cmd *c = &f->cmds[i];
		switch (c->kind) {
		case PROMQL_TEST_CLEAR:
			run_clear(&r);
			break;
		case PROMQL_TEST_LOAD:
			run_load(&r, c, counts);
			break;
		case PROMQL_TEST_EVAL:
			run_eval(&r, c, counts);
			break;
		}
	}
	counts->queries += r.queries;
	promql_engine_free(r.eng);
	tsdb_head_free(r.head);
	hist_names_clear(&r);
	free(r.hist_names);
	tp_sb_free(&r.msg);
	return 0;
}
