/* SPDX-License-Identifier: Apache-2.0
 * cmd_test_rules.c - tinyprom test rules FILE...: rule unit tests in
 * promtool's test-file format (rule_files, evaluation_interval,
 * group_eval_order, tests: interval, input_series, alert_rule_test,
 * promql_expr_test, external_labels, external_url, name).
 *
 * As promtool: input series are loaded with the expanding notation, every
 * group is evaluated at each evaluation_interval from 0 to the largest
 * eval_time; alert tests compare the *firing* alerts of the named rule at
 * the evaluation covering their eval_time; expression tests run at the end
 * against everything stored. Output and exit status match promtool. */
#include "config.h"
#include "cmd/commands.h"

#include <glob.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/common.h"
#include "lib/duration.h"
#include "promql/promqltest.h"
#include "rules/manager.h"

/* ---- the test file ---- */

typedef struct kv_list {
	rules_kv *v;
	size_t n;
} kv_list;

typedef struct alert_case {
	int64_t eval_ms;
	char *eval_text;
	char *alertname;
	kv_list *exp_labels, *exp_annotations;  /* per expected alert */
	size_t nexp;
} alert_case;

typedef struct expr_case {
	char *expr;
	int64_t eval_ms;
	char *eval_text;
	char **exp_labels;  /* series notation */
	double *exp_values;
	size_t nexp;
} expr_case;

typedef struct test_group {
	int64_t interval_ms;
	char **series, **values;
	size_t nseries;
	alert_case *alerts;
	size_t nalerts;
	expr_case *exprs;
	size_t nexprs;
	kv_list external_labels;
	char *external_url;
	char *name;
} test_group;

typedef struct test_file {
	char **rule_files;
	size_t nrule_files;
	int64_t eval_interval_ms;
	char **order;
	size_t norder;
	test_group *tests;
	size_t ntests;
} test_file;

typedef struct yctx {
	yaml_document_t *doc;
	tp_strbuf errs;   /* "  line N: ..." unmarshal problems */
	char *fatal;
} yctx;

static const char *scal(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

#define FOR_PAIRS(c, n, k, v)                                                                             \
	for (yaml_node_pair_t *p_ = (n)->data.mapping.pairs.start; p_ < (n)->data.mapping.pairs.top; p_++) \
		for (const yaml_node_t *k = yaml_document_get_node((c)->doc, p_->key),                    \
				       *v = yaml_document_get_node((c)->doc, p_->value);                 \
		     k; k = NULL)
#define FOR_ITEMS(c, n, it)                                                                                   \
	for (yaml_node_item_t *i_ = (n)->data.sequence.items.start; i_ < (n)->data.sequence.items.top; i_++) \
		for (const yaml_node_t *it = yaml_document_get_node((c)->doc, *i_); it; it = NULL)

static bool is(const yaml_node_t *n, yaml_node_type_t t, yctx *c, const char *into)
{
	if (n->type == t)
		return true;
	tp_sb_printf(&c->errs, "\n  line %zu: cannot unmarshal into %s", n->start_mark.line + 1, into);
	return false;
}

static void unknown(yctx *c, const yaml_node_t *k, const char *type)
{
	tp_sb_printf(&c->errs, "\n  line %zu: field %s not found in type %s", k->start_mark.line + 1, scal(k), type);
}

static int64_t dur(yctx *c, const yaml_node_t *v)
{
	const char *s = scal(v);
	int64_t ms = 0;
	if ((!s || tp_duration_parse(s, strlen(s), &ms) != 0) && !c->fatal) {
		tp_strbuf sb = { 0 };
		tp_sb_printf(&sb, "not a valid duration string: \"%s\"", s ? s : "");
		c->fatal = tp_sb_steal(&sb);
	}
	return ms;
}

static char *str(const yaml_node_t *v)
{
	const char *s = scal(v);
	return tp_xstrdup(s ? s : "");
}

static char **str_list(yctx *c, const yaml_node_t *v, size_t *n)
{
	*n = 0;
	if (!is(v, YAML_SEQUENCE_NODE, c, "[]string"))
		return NULL;
	size_t cap = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	char **r = tp_xcalloc(cap ? cap : 1, sizeof(char *));
	FOR_ITEMS(c, v, it) r[(*n)++] = str(it);
	return r;
}

static kv_list kv_map(yctx *c, const yaml_node_t *v)
{
	kv_list l = { 0 };
	if (v->type == YAML_SCALAR_NODE && !scal(v)[0])
		return l;
	if (!is(v, YAML_MAPPING_NODE, c, "map[string]string"))
		return l;
	size_t cap = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	l.v = tp_xcalloc(cap ? cap : 1, sizeof(rules_kv));
	FOR_PAIRS(c, v, k, val)
	{
		l.v[l.n].name = str(k);
		l.v[l.n].value = str(val);
		l.n++;
	}
	return l;
}

static void parse_alert_case(yctx *c, const yaml_node_t *n, alert_case *a)
{
	if (!is(n, YAML_MAPPING_NODE, c, "main.alertTestCase"))
		return;
	FOR_PAIRS(c, n, k, v)
	{
		const char *key = scal(k);
		if (strcmp(key, "eval_time") == 0) {
			char b[48];
			a->eval_ms = dur(c, v);
			tp_duration_format(b, a->eval_ms);
			a->eval_text = tp_xstrdup(b);
		} else if (strcmp(key, "alertname") == 0) {
			a->alertname = str(v);
		} else if (strcmp(key, "exp_alerts") == 0) {
			if (v->type == YAML_SCALAR_NODE || !is(v, YAML_SEQUENCE_NODE, c, "[]main.alert"))
				continue;
			size_t cap = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
			a->exp_labels = tp_xcalloc(cap ? cap : 1, sizeof(kv_list));
			a->exp_annotations = tp_xcalloc(cap ? cap : 1, sizeof(kv_list));
			FOR_ITEMS(c, v, it)
			{
				if (!is(it, YAML_MAPPING_NODE, c, "main.alert"))
					continue;
				FOR_PAIRS(c, it, k2, v2)
				{
					if (strcmp(scal(k2), "exp_labels") == 0)
						a->exp_labels[a->nexp] = kv_map(c, v2);
					else if (strcmp(scal(k2), "exp_annotations") == 0)
						a->exp_annotations[a->nexp] = kv_map(c, v2);
					else
						unknown(c, k2, "main.alert");
				}
				a->nexp++;
			}
		} else {
			unknown(c, k, "main.alertTestCase");
		}
	}
	if (!a->eval_text)
		a->eval_text = tp_xstrdup("0s");
}

static void parse_expr_case(yctx *c, const yaml_node_t *n, expr_case *e)
{
	if (!is(n, YAML_MAPPING_NODE, c, "main.promqlTestCase"))
		return;
	FOR_PAIRS(c, n, k, v)
	{
		const char *key = scal(k);
		if (strcmp(key, "expr") == 0) {
			e->expr = str(v);
		} else if (strcmp(key, "eval_time") == 0) {
			char b[48];
			e->eval_ms = dur(c, v);
			tp_duration_format(b, e->eval_ms);
			e->eval_text = tp_xstrdup(b);
		} else if (strcmp(key, "exp_samples") == 0) {
			if (v->type == YAML_SCALAR_NODE || !is(v, YAML_SEQUENCE_NODE, c, "[]main.sample"))
				continue;
			size_t cap = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
			e->exp_labels = tp_xcalloc(cap ? cap : 1, sizeof(char *));
			e->exp_values = tp_xcalloc(cap ? cap : 1, sizeof(double));
			FOR_ITEMS(c, v, it)
			{
				if (!is(it, YAML_MAPPING_NODE, c, "main.sample"))
					continue;
				e->exp_labels[e->nexp] = tp_xstrdup("{}");
				FOR_PAIRS(c, it, k2, v2)
				{
					if (strcmp(scal(k2), "labels") == 0) {
						free(e->exp_labels[e->nexp]);
						e->exp_labels[e->nexp] = str(v2);
					} else if (strcmp(scal(k2), "value") == 0) {
						double d;
						const char *s = scal(v2);
						if (!s || !promql_test_parse_scalar(s, strlen(s), &d))
							tp_sb_printf(&c->errs, "\n  line %zu: cannot unmarshal !!str `%s` into float64",
								     v2->start_mark.line + 1, s ? s : "");
						else
							e->exp_values[e->nexp] = d;
					} else {
						unknown(c, k2, "main.sample");
					}
				}
				e->nexp++;
			}
		} else {
			unknown(c, k, "main.promqlTestCase");
		}
	}
	if (!e->eval_text)
		e->eval_text = tp_xstrdup("0s");
	if (!e->expr)
		e->expr = tp_xstrdup("");
}

static void parse_group(yctx *c, const yaml_node_t *n, test_group *g)
{
	if (!is(n, YAML_MAPPING_NODE, c, "main.testGroup"))
		return;
	FOR_PAIRS(c, n, k, v)
	{
		const char *key = scal(k);
		if (strcmp(key, "interval") == 0) {
			g->interval_ms = dur(c, v);
		} else if (strcmp(key, "input_series") == 0) {
			if (!is(v, YAML_SEQUENCE_NODE, c, "[]main.series"))
				continue;
			size_t cap = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
			g->series = tp_xcalloc(cap ? cap : 1, sizeof(char *));
			g->values = tp_xcalloc(cap ? cap : 1, sizeof(char *));
			FOR_ITEMS(c, v, it)
			{
				if (!is(it, YAML_MAPPING_NODE, c, "main.series"))
					continue;
				FOR_PAIRS(c, it, k2, v2)
				{
					if (strcmp(scal(k2), "series") == 0)
						g->series[g->nseries] = str(v2);
					else if (strcmp(scal(k2), "values") == 0)
						g->values[g->nseries] = str(v2);
					else
						unknown(c, k2, "main.series");
				}
				if (!g->series[g->nseries])
					g->series[g->nseries] = tp_xstrdup("");
				if (!g->values[g->nseries])
					g->values[g->nseries] = tp_xstrdup("");
				g->nseries++;
			}
		} else if (strcmp(key, "alert_rule_test") == 0) {
			if (!is(v, YAML_SEQUENCE_NODE, c, "[]main.alertTestCase"))
				continue;
			size_t cap = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
			g->alerts = tp_xcalloc(cap ? cap : 1, sizeof(alert_case));
			FOR_ITEMS(c, v, it) parse_alert_case(c, it, &g->alerts[g->nalerts++]);
		} else if (strcmp(key, "promql_expr_test") == 0) {
			if (!is(v, YAML_SEQUENCE_NODE, c, "[]main.promqlTestCase"))
				continue;
			size_t cap = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
			g->exprs = tp_xcalloc(cap ? cap : 1, sizeof(expr_case));
			FOR_ITEMS(c, v, it) parse_expr_case(c, it, &g->exprs[g->nexprs++]);
		} else if (strcmp(key, "external_labels") == 0) {
			g->external_labels = kv_map(c, v);
		} else if (strcmp(key, "external_url") == 0) {
			g->external_url = str(v);
		} else if (strcmp(key, "name") == 0) {
			g->name = str(v);
		} else {
			unknown(c, k, "main.testGroup");
		}
	}
}

static void kv_free(kv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
}

static void strs_free(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

static void test_file_free(test_file *f)
{
	strs_free(f->rule_files, f->nrule_files);
	strs_free(f->order, f->norder);
	for (size_t i = 0; i < f->ntests; i++) {
		test_group *g = &f->tests[i];
		strs_free(g->series, g->nseries);
		strs_free(g->values, g->nseries);
		for (size_t j = 0; j < g->nalerts; j++) {
			alert_case *a = &g->alerts[j];
			free(a->eval_text);
			free(a->alertname);
			for (size_t k = 0; k < a->nexp; k++) {
				kv_free(&a->exp_labels[k]);
				kv_free(&a->exp_annotations[k]);
			}
			free(a->exp_labels);
			free(a->exp_annotations);
		}
		free(g->alerts);
		for (size_t j = 0; j < g->nexprs; j++) {
			expr_case *e = &g->exprs[j];
			free(e->expr);
			free(e->eval_text);
			strs_free(e->exp_labels, e->nexp);
			free(e->exp_values);
		}
		free(g->exprs);
		kv_free(&g->external_labels);
		free(g->external_url);
		free(g->name);
	}
	free(f->tests);
}

static int load_test_file(const char *path, test_file *f, tp_strbuf *err)
{
	memset(f, 0, sizeof(*f));
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		tp_sb_printf(err, "open %s: no such file or directory", path);
		return -1;
	}
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, fp);
	if (!yaml_parser_load(&p, &doc)) {
		tp_sb_printf(err, "yaml: line %zu: %s", p.problem_mark.line + 1, p.problem ? p.problem : "parse error");
		yaml_parser_delete(&p);
		fclose(fp);
		return -1;
	}
	yctx c = { .doc = &doc };
	const yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && is(root, YAML_MAPPING_NODE, &c, "main.unitTestFile")) {
		FOR_PAIRS(&c, root, k, v)
		{
			const char *key = scal(k);
			if (strcmp(key, "rule_files") == 0) {
				f->rule_files = str_list(&c, v, &f->nrule_files);
			} else if (strcmp(key, "evaluation_interval") == 0) {
				f->eval_interval_ms = dur(&c, v);
			} else if (strcmp(key, "group_eval_order") == 0) {
				f->order = str_list(&c, v, &f->norder);
			} else if (strcmp(key, "tests") == 0) {
				if (!is(v, YAML_SEQUENCE_NODE, &c, "[]main.testGroup"))
					continue;
				size_t cap = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
				f->tests = tp_xcalloc(cap ? cap : 1, sizeof(test_group));
				FOR_ITEMS(&c, v, it) parse_group(&c, it, &f->tests[f->ntests++]);
			} else {
				unknown(&c, k, "main.unitTestFile");
			}
		}
	}
	int rc = 0;
	if (c.fatal) {
		tp_sb_puts(err, c.fatal);
		rc = -1;
	} else if (c.errs.len) {
		tp_sb_printf(err, "yaml: unmarshal errors:%s", tp_sb_cstr(&c.errs));
		rc = -1;
	}
	free(c.fatal);
	tp_sb_free(&c.errs);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	fclose(fp);
	return rc;
}

/* ---- running ---- */

static void fmt_labels(tp_strbuf *sb, const tp_labels *l)
{
	tp_labels_format(sb, l, false);
}

typedef struct la {
	tp_labels labels, annotations;
} la;

static int cmp_la(const void *x, const void *y)
{
	const la *a = x, *b = y;
	int c = tp_labels_cmp(&a->labels, &b->labels);
	return c ? c : tp_labels_cmp(&a->annotations, &b->annotations);
}

static void la_string(tp_strbuf *sb, la *v, size_t n, const char *indent)
{
	if (n == 0) {
		tp_sb_puts(sb, "[]");
		return;
	}
	tp_sb_puts(sb, "[\n");
	for (size_t i = 0; i < n; i++) {
		tp_sb_printf(sb, "%s%zu:\n%s  Labels:", indent, i, indent);
		fmt_labels(sb, &v[i].labels);
		tp_sb_printf(sb, "\n%s  Annotations:", indent);
		fmt_labels(sb, &v[i].annotations);
		tp_sb_puts(sb, i + 1 < n ? ",\n" : "\n");
	}
	tp_sb_printf(sb, "%s]", indent);
}

static tp_labels kv_to_labels(tp_arena *a, const kv_list *l, const char *alertname)
{
	tp_labels_builder b;
	tp_lb_init(&b, a, NULL);
	for (size_t i = 0; i < l->n; i++)
		tp_lb_set(&b, tp_arena_strdup(a, l->v[i].name), tp_arena_strdup(a, l->v[i].value));
	if (alertname)
		tp_lb_set(&b, "alertname", alertname);
	return tp_lb_labels(&b);
}

/* Errors are records ended by ERR_END (an error may span lines); each is
 * printed as promtool prints one: on stderr, with a blank stdout line. */
#define ERR_END '\x1e'

static void append_err(tp_strbuf *errs, const char *s)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '\n')
		n--;
	tp_sb_append(errs, s, n);
	tp_sb_putc(errs, ERR_END);
}

/* Go's %q of s. */
static void go_quote(tp_strbuf *sb, const char *s)
{
	tp_sb_putc(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			tp_sb_putc(sb, '\\');
		if (*s == '\n')
			tp_sb_puts(sb, "\\n");
		else
			tp_sb_putc(sb, *s);
	}
	tp_sb_putc(sb, '"');
}

/* Checks the firing alerts of every rule named a->alertname. */
static void check_alert(rules_manager *m, const test_group *g, const alert_case *a, tp_strbuf *errs, tp_arena *ar)
{
	tp_labels *gl, *ga;
	size_t ngot = rules_manager_collect_alerts(m, a->alertname, RULES_ALERT_FIRING, ar, &gl, &ga);
	la *got = tp_arena_alloc(ar, sizeof(la) * (ngot ? ngot : 1));
	for (size_t i = 0; i < ngot; i++)
		got[i] = (la){ gl[i], ga[i] };
	la *exp = tp_arena_alloc(ar, sizeof(la) * (a->nexp ? a->nexp : 1));
	for (size_t i = 0; i < a->nexp; i++) {
		exp[i].labels = kv_to_labels(ar, &a->exp_labels[i], a->alertname);
		exp[i].annotations = kv_to_labels(ar, &a->exp_annotations[i], NULL);
	}
	qsort(got, ngot, sizeof(la), cmp_la);
	qsort(exp, a->nexp, sizeof(la), cmp_la);
	bool same = ngot == a->nexp;
	for (size_t i = 0; same && i < ngot; i++)
		same = cmp_la(&got[i], &exp[i]) == 0;
	if (!same) {
		tp_strbuf sb = { 0 };
		if (g->name)
			tp_sb_printf(&sb, "    name: %s,\n", g->name);
		tp_sb_printf(&sb, "    alertname: %s, time: %s, \n        exp:", a->alertname, a->eval_text);
		la_string(&sb, exp, a->nexp, "            ");
		tp_sb_puts(&sb, ", \n        got:");
		la_string(&sb, got, ngot, "            ");
		append_err(errs, tp_sb_cstr(&sb));
		tp_sb_free(&sb);
	}
}

typedef struct ps {
	tp_labels labels;
	double v;
} ps;

static int cmp_ps(const void *x, const void *y)
{
	return tp_labels_cmp(&((const ps *)x)->labels, &((const ps *)y)->labels);
}

static void ps_string(tp_strbuf *sb, ps *v, size_t n)
{
	if (n == 0) {
		tp_sb_puts(sb, "nil");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			tp_sb_puts(sb, ", ");
		fmt_labels(sb, &v[i].labels);
		/* strconv.FormatFloat(v, 'E', -1, 64) */
		char fb[48];
		rules_format_float_e(fb, v[i].v);
		for (char *c = fb; *c; c++)
			if (*c == 'e')
				*c = 'E';
		tp_sb_putc(sb, ' ');
		tp_sb_puts(sb, fb);
	}
}

static void check_expr(promql_engine *e, const expr_case *x, tp_strbuf *errs, tp_arena *ar)
{
	promql_result r;
	tp_strbuf sb = { 0 };
	if (promql_query_instant(e, x->expr, x->eval_ms, &r) != PROMQL_OK) {
		tp_sb_puts(&sb, "    expr: ");
		go_quote(&sb, x->expr);
		tp_sb_printf(&sb, ", time: %s, err: %s", x->eval_text, r.err_msg ? r.err_msg : "");
		append_err(errs, tp_sb_cstr(&sb));
		tp_sb_free(&sb);
		promql_result_free(&r);
		return;
	}
	size_t ngot = r.type == PROMQL_TYPE_SCALAR ? 1 : r.type == PROMQL_TYPE_VECTOR ? r.nseries : 0;
	if (r.type != PROMQL_TYPE_SCALAR && r.type != PROMQL_TYPE_VECTOR) {
		tp_sb_puts(&sb, "    expr: ");
		go_quote(&sb, x->expr);
		tp_sb_printf(&sb, ", time: %s, err: rule result is not a vector or scalar", x->eval_text);
		append_err(errs, tp_sb_cstr(&sb));
		tp_sb_free(&sb);
		promql_result_free(&r);
		return;
	}
	ps *got = tp_arena_zalloc(ar, sizeof(ps) * (ngot ? ngot : 1));
	for (size_t i = 0; i < ngot; i++) {
		if (r.type == PROMQL_TYPE_SCALAR) {
			got[i].v = r.scalar;
		} else {
			got[i].labels = tp_labels_copy(ar, &r.series[i].labels, true);
			got[i].v = r.series[i].points[0].v;
		}
	}
	promql_result_free(&r);
	ps *exp = tp_arena_zalloc(ar, sizeof(ps) * (x->nexp ? x->nexp : 1));
	for (size_t i = 0; i < x->nexp; i++) {
		/* series notation without values: parse it as a load line with one value */
		char line[4096];
		snprintf(line, sizeof(line), "%s 0", x->exp_labels[i]);
		promql_test_series s;
		char perr[256];
		if (promql_test_series_parse(ar, line, strlen(line), &s, perr, sizeof(perr)) != 0) {
			tp_sb_puts(&sb, "    expr: ");
			go_quote(&sb, x->expr);
			tp_sb_printf(&sb, ", time: %s, err: labels \"%s\": %s", x->eval_text, x->exp_labels[i], perr);
			append_err(errs, tp_sb_cstr(&sb));
			tp_sb_free(&sb);
			return;
		}
		exp[i].labels = s.labels;
		exp[i].v = x->exp_values[i];
	}
	qsort(got, ngot, sizeof(ps), cmp_ps);
	qsort(exp, x->nexp, sizeof(ps), cmp_ps);
	bool same = ngot == x->nexp;
	for (size_t i = 0; same && i < ngot; i++)
		same = tp_labels_equal(&got[i].labels, &exp[i].labels) &&
		       (got[i].v == exp[i].v || (isnan(got[i].v) && isnan(exp[i].v)));
	if (!same) {
		tp_sb_puts(&sb, "    expr: ");
		go_quote(&sb, x->expr);
		tp_sb_printf(&sb, ", time: %s,\n        exp: ", x->eval_text);
		ps_string(&sb, exp, x->nexp);
		tp_sb_puts(&sb, "\n        got: ");
		ps_string(&sb, got, ngot);
		append_err(errs, tp_sb_cstr(&sb));
	}
	tp_sb_free(&sb);
}

/* Runs one test group; appends failures to errs. */
static void run_group(const test_file *f, const test_group *g, char **rule_files, size_t nfiles, tp_strbuf *errs)
{
	tsdb_head *head = tsdb_head_new(NULL);
	promql_engine_opts eo = { .lookback_ms = 0 };
	promql_engine *eng = promql_engine_new(head, &eo);
	tp_arena ar;
	tp_arena_init(&ar);
	int64_t eval_iv = f->eval_interval_ms ? f->eval_interval_ms : 60000;
	int64_t load_iv = g->interval_ms ? g->interval_ms : eval_iv;
	/* input series: all samples up front (the rules only look back) */
	tsdb_appender *app = tsdb_appender_new(head);
	for (size_t i = 0; i < g->nseries; i++) {
		tp_strbuf line = { 0 };
		tp_sb_printf(&line, "%s %s", g->series[i], g->values[i]);
		promql_test_series s;
		char perr[256];
		if (promql_test_series_parse(&ar, line.buf, line.len, &s, perr, sizeof(perr)) != 0) {
			tp_strbuf e = { 0 };
			tp_sb_printf(&e, "    series %s: %s", g->series[i], perr);
			append_err(errs, tp_sb_cstr(&e));
			tp_sb_free(&e);
			tp_sb_free(&line);
			goto out;
		}
		tp_sb_free(&line);
		for (size_t k = 0; k < s.nslots; k++)
			if (s.slots[k].kind == PROMQL_TEST_SLOT_FLOAT)
				tsdb_appender_add(app, &s.labels, (int64_t)k * load_iv, s.slots[k].v, NULL);
	}
	tsdb_appender_commit(app);

	tp_labels ext = kv_to_labels(&ar, &g->external_labels, NULL);
	rules_manager_opts mo = { .engine = eng, .head = head,
				  .group = { .default_interval_ms = eval_iv, .resend_delay_ms = 60000,
					     .external_labels = &ext, .external_url = g->external_url } };
	rules_manager *m = rules_manager_new(&mo);
	tp_strbuf lerr = { 0 };
	if (rules_manager_update(m, (const char *const *)rule_files, nfiles, &lerr) != 0) {
		append_err(errs, tp_sb_cstr(&lerr));
		tp_sb_free(&lerr);
		rules_manager_free(m);
		goto out;
	}
	tp_sb_free(&lerr);
	rules_manager_order_groups(m, (const char *const *)f->order, f->norder);
	int64_t maxt = 0;
	for (size_t i = 0; i < g->nalerts; i++)
		maxt = TP_MAX(maxt, g->alerts[i].eval_ms);
	for (size_t i = 0; i < g->nexprs; i++)
		maxt = TP_MAX(maxt, g->exprs[i].eval_ms);
	for (size_t i = 0; i < g->nalerts; i++) {
		if (!g->alerts[i].alertname || !g->alerts[i].alertname[0]) {
			tp_strbuf e = { 0 };
			tp_sb_printf(&e, "an item under alert_rule_test misses required attribute alertname at eval_time %s",
				     g->alerts[i].eval_text ? g->alerts[i].eval_text : "0s");
			if (g->name)
				tp_sb_printf(&e, " (in TestGroup %s)", g->name);
			append_err(errs, tp_sb_cstr(&e));
			tp_sb_free(&e);
			rules_manager_free(m);
			goto out;
		}
	}
	for (int64_t ts = 0; ts <= maxt; ts += eval_iv) {
		tp_strbuf evalerr = { 0 };
		rules_manager_eval_all(m, ts);
		rules_manager_rule_errors(m, ts, &evalerr);
		if (evalerr.len) {
			for (char *c = evalerr.buf; *c; c++)
				if (*c == '\n')
					*c = ERR_END;
			tp_sb_append(errs, evalerr.buf, evalerr.len);
			tp_sb_free(&evalerr);
			rules_manager_free(m);
			goto out;
		}
		tp_sb_free(&evalerr);
		for (size_t i = 0; i < g->nalerts; i++) {
			const alert_case *a = &g->alerts[i];
			if (ts <= a->eval_ms && a->eval_ms < ts + eval_iv)
				check_alert(m, g, a, errs, &ar);
		}
	}
	for (size_t i = 0; i < g->nexprs; i++)
		check_expr(eng, &g->exprs[i], errs, &ar);
	rules_manager_free(m);
out:
	tsdb_appender_free(app);
	tp_arena_free(&ar);
	promql_engine_free(eng);
	tsdb_head_free(head);
}

static int test_one(const char *path)
{
	printf("Unit Testing:  %s\n", path);
	fflush(stdout);
	test_file f;
	tp_strbuf errs = { 0 };
	if (load_test_file(path, &f, &errs) != 0) {
		tp_sb_putc(&errs, ERR_END);
		goto report;
	}
	for (size_t i = 0; i < f.norder; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(f.order[i], f.order[j]) == 0 && !errs.len)
				tp_sb_printf(&errs, "group name repeated in evaluation order: %s%c", f.order[i], ERR_END);
	/* rule files: relative to the test file, globbed */
	char **files = NULL;
	size_t nfiles = 0, capf = 0;
	char *dcopy = tp_xstrdup(path);
	const char *dir = dirname(dcopy);
	for (size_t i = 0; i < f.nrule_files && !errs.len; i++) {
		tp_strbuf pat = { 0 };
		if (f.rule_files[i][0] == '/')
			tp_sb_puts(&pat, f.rule_files[i]);
		else
			tp_sb_printf(&pat, "%s/%s", dir, f.rule_files[i]);
		glob_t gl;
		if (glob(tp_sb_cstr(&pat), 0, NULL, &gl) != 0 || gl.gl_pathc == 0)
			fprintf(stderr, "  WARNING: no file match pattern %s\n", tp_sb_cstr(&pat));
		for (size_t k = 0; k < gl.gl_pathc; k++) {
			TP_GROW(files, capf, nfiles + 1);
			files[nfiles++] = tp_xstrdup(gl.gl_pathv[k]);
		}
		globfree(&gl);
		tp_sb_free(&pat);
	}
	free(dcopy);
	for (size_t i = 0; i < f.ntests && !errs.len; i++)
		run_group(&f, &f.tests[i], files, nfiles, &errs);
	strs_free(files, nfiles);
	test_file_free(&f);
report:;
	int failed = errs.len > 0;
	if (failed) {
		fprintf(stderr, "  FAILED:\n");
		for (const char *s = tp_sb_cstr(&errs); *s;) {
			const char *e = strchr(s, ERR_END);
			size_t n = e ? (size_t)(e - s) : strlen(s);
			fprintf(stderr, "%.*s\n", (int)n, s);
			printf("\n");
			s += n + (e ? 1 : 0);
		}
	} else {
		printf("  SUCCESS\n");
	}
	printf("\n");
	tp_sb_free(&errs);
	return failed;
}

int cmd_test_rules(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "tinyprom: error: required argument 'test-rule-file' not provided\n");
		return 2;
	}
	int failed = 0;
	for (int i = 1; i < argc; i++)
		failed |= test_one(argv[i]);
	return failed;
}
