/* SPDX-License-Identifier: Apache-2.0
 * rulefile.c - loading and validating Prometheus rule files.
 * Parsing uses libyaml's document API (nodes carry line and column). The
 * checks and their texts follow Prometheus's rulefmt: unknown keys and
 * wrong shapes are "yaml: unmarshal errors", reported alone; otherwise
 * every group and rule problem is reported, in file order. */
#include "config.h"
#include "rules/rulefile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/common.h"
#include "lib/duration.h"
#include "rules/template.h"

typedef struct load_ctx {
	yaml_document_t *doc;
	tp_strbuf unmarshal;   /* "  line N: ..." lines */
	tp_strbuf *errs;       /* final error lines */
	int nerrs;
	char *fatal;           /* an error that ends loading (bad duration, ...) */
} load_ctx;

/* ---- yaml helpers ---- */

static int line_of(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

static int col_of(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.column + 1 : 0;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Go's %q for the names we print. */
static void quote(tp_strbuf *sb, const char *s)
{
	tp_sb_putc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			tp_sb_putc(sb, '\\');
			tp_sb_putc(sb, (char)c);
		} else if (c == '\n') {
			tp_sb_puts(sb, "\\n");
		} else if (c == '\t') {
			tp_sb_puts(sb, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			tp_sb_printf(sb, "\\x%02x", c);
		} else {
			tp_sb_putc(sb, (char)c);
		}
	}
	tp_sb_putc(sb, '"');
}

static void unmarshal_err(load_ctx *c, const yaml_node_t *n, const char *fmt, const char *a, const char *b)
{
	tp_sb_printf(&c->unmarshal, "\n  line %d: ", line_of(n));
	tp_sb_printf(&c->unmarshal, fmt, a, b);
}

static const char *yaml_tag_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE: return "!!map";
	case YAML_SEQUENCE_NODE: return "!!seq";
	default: return "!!str";
	}
}

/* Expects a node of the given type; reports "cannot unmarshal" otherwise. */
static bool expect(load_ctx *c, const yaml_node_t *n, yaml_node_type_t t, const char *into)
{
	if (n->type == t)
		return true;
	if (n->type == YAML_SCALAR_NODE) {
		tp_sb_printf(&c->unmarshal, "\n  line %d: cannot unmarshal %s `%s` into %s", line_of(n), yaml_tag_name(n),
			     scalar(n), into);
	} else {
		tp_sb_printf(&c->unmarshal, "\n  line %d: cannot unmarshal %s into %s", line_of(n), yaml_tag_name(n),
			     into);
	}
	return false;
}

static void set_fatal(load_ctx *c, const char *fmt, const char *arg)
{
	if (c->fatal)
		return;
	tp_strbuf sb = { 0 };
	tp_sb_printf(&sb, fmt, arg);
	c->fatal = tp_sb_steal(&sb);
}

static int64_t duration_of(load_ctx *c, const yaml_node_t *n)
{
	const char *s = scalar(n);
	int64_t ms = 0;
	if (!s || tp_duration_parse(s, strlen(s), &ms) != 0)
		set_fatal(c, "not a valid duration string: \"%s\"", s ? s : "");
	return ms;
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const rules_kv *)a)->name, ((const rules_kv *)b)->name);
}

/* Reads a string->string mapping (labels, annotations). */
static rules_kv *read_map(load_ctx *c, const yaml_node_t *n, size_t *count)
{
	*count = 0;
	if (!expect(c, n, YAML_MAPPING_NODE, "map[string]string"))
		return NULL;
	size_t np = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	rules_kv *kv = tp_xcalloc(np ? np : 1, sizeof(*kv));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		if (!expect(c, k, YAML_SCALAR_NODE, "string") || !expect(c, v, YAML_SCALAR_NODE, "string"))
			continue;
		kv[*count].name = tp_xstrdup(scalar(k));
		kv[*count].value = tp_xstrdup(scalar(v));
		(*count)++;
	}
	qsort(kv, *count, sizeof(*kv), cmp_kv);
	return kv;
}

static void free_kvs(rules_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

/* ---- validation ---- */

typedef struct rule_nodes {
	const yaml_node_t *record, *alert, *expr;
} rule_nodes;

/* One rulefmt error line: "L:C: [L:C: ]group "g", rule N, "name": msg". */
static void rule_err(load_ctx *c, const yaml_node_t *node, const yaml_node_t *alt, const char *group, size_t idx,
		     const char *rname, const char *msg)
{
	tp_strbuf *e = c->errs;
	if (node || alt) {
		tp_sb_printf(e, "%d:%d: ", line_of(node), col_of(node));
		if (alt)
			tp_sb_printf(e, "%d:%d: ", line_of(alt), col_of(alt));
	}
	tp_sb_puts(e, "group ");
	quote(e, group);
	tp_sb_printf(e, ", rule %zu, ", idx);
	quote(e, rname);
	tp_sb_printf(e, ": %s\n", msg);
	c->nerrs++;
}

static void validate_rule(load_ctx *c, const char *group, size_t idx, rules_rule *r, const rule_nodes *rn,
			  const promql_parse_opts *popts)
{
	const char *rec = rn->record ? scalar(rn->record) : NULL;
	const char *alert = rn->alert ? scalar(rn->alert) : NULL;
	rec = rec && rec[0] ? rec : NULL;
	alert = alert && alert[0] ? alert : NULL;
	const char *rname = alert ? alert : rec ? rec : "";
	static const yaml_node_t zero; /* an unset node prints as 0:0 */
	char msg[700];

	if (rec && alert)
		rule_err(c, rn->record, rn->alert, group, idx, rname, "only one of 'record' and 'alert' must be set");
	if (!rec && !alert)
		rule_err(c, rn->record ? rn->record : &zero, NULL, group, idx, rname,
			 "one of 'record' or 'alert' must be set");
	if (!r->expr_text || !r->expr_text[0]) {
		rule_err(c, rn->expr ? rn->expr : &zero, NULL, group, idx, rname, "field 'expr' must be set in rule");
	} else {
		promql_parse_error perr;
		r->expr = promql_parse(r->expr_text, popts, &perr);
		if (!r->expr) {
			snprintf(msg, sizeof(msg), "could not parse expression: %s", perr.msg);
			rule_err(c, rn->expr, NULL, group, idx, rname, msg);
		}
	}
	if (rec) {
		if (r->nannotations)
			rule_err(c, rn->record, NULL, group, idx, rname, "invalid field 'annotations' in recording rule");
		if (r->for_ms)
			rule_err(c, rn->record, NULL, group, idx, rname, "invalid field 'for' in recording rule");
		if (r->keep_firing_for_ms)
			rule_err(c, rn->record, NULL, group, idx, rname,
				 "invalid field 'keep_firing_for' in recording rule");
		if (!tp_metric_name_valid(rec, strlen(rec))) {
			snprintf(msg, sizeof(msg), "invalid recording rule name: %s", rec);
			rule_err(c, rn->record, NULL, group, idx, rname, msg);
		}
	}
	for (size_t i = 0; i < r->nlabels; i++) {
		const char *k = r->labels[i].name;
		if (!tp_label_name_valid(k, strlen(k)) || strcmp(k, TP_METRIC_NAME) == 0) {
			snprintf(msg, sizeof(msg), "invalid label name: %s", k);
			rule_err(c, NULL, NULL, group, idx, rname, msg);
		}
		if (!tp_utf8_valid(r->labels[i].value)) {
			snprintf(msg, sizeof(msg), "invalid label value: %s", r->labels[i].value);
			rule_err(c, NULL, NULL, group, idx, rname, msg);
		}
	}
	for (size_t i = 0; i < r->nannotations; i++) {
		const char *k = r->annotations[i].name;
		if (!tp_label_name_valid(k, strlen(k))) {
			snprintf(msg, sizeof(msg), "invalid annotation name: %s", k);
			rule_err(c, NULL, NULL, group, idx, rname, msg);
		}
	}
	/* templates of alerting rules must parse (promtool's testTemplateParsing) */
	if (alert) {
		char tname[300];
		snprintf(tname, sizeof(tname), "__alert_%s", alert);
		for (int pass = 0; pass < 2; pass++) {
			const rules_kv *kv = pass ? r->annotations : r->labels;
			size_t n = pass ? r->nannotations : r->nlabels;
			for (size_t i = 0; i < n; i++) {
				tp_strbuf terr = { 0 };
				if (rules_template_check(tname, kv[i].value, &terr) != 0) {
					snprintf(msg, sizeof(msg), "%s \"%s\": %s", pass ? "annotation" : "label", kv[i].name,
						 tp_sb_cstr(&terr));
					rule_err(c, NULL, NULL, group, idx, rname, msg);
				}
				tp_sb_free(&terr);
			}
		}
	}
	r->alerting = alert != NULL;
	r->name = tp_xstrdup(rname);
}

/* ---- structure ---- */

static void load_rule(load_ctx *c, const yaml_node_t *n, rules_rule *r, rule_nodes *rn)
{
	memset(r, 0, sizeof(*r));
	memset(rn, 0, sizeof(*rn));
	r->line = line_of(n);
	if (!expect(c, n, YAML_MAPPING_NODE, "rulefmt.RuleNode"))
		return;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = scalar(k);
		if (!key)
			continue;
		if (strcmp(key, "record") == 0) {
			if (expect(c, v, YAML_SCALAR_NODE, "string"))
				rn->record = v;
		} else if (strcmp(key, "alert") == 0) {
			if (expect(c, v, YAML_SCALAR_NODE, "string"))
				rn->alert = v;
		} else if (strcmp(key, "expr") == 0) {
			if (expect(c, v, YAML_SCALAR_NODE, "string")) {
				rn->expr = v;
				r->expr_text = tp_xstrdup(scalar(v));
			}
		} else if (strcmp(key, "for") == 0) {
			r->for_ms = duration_of(c, v);
		} else if (strcmp(key, "keep_firing_for") == 0) {
			r->keep_firing_for_ms = duration_of(c, v);
		} else if (strcmp(key, "labels") == 0) {
			if (v->type != YAML_SCALAR_NODE || scalar(v)[0])
				r->labels = read_map(c, v, &r->nlabels);
		} else if (strcmp(key, "annotations") == 0) {
			if (v->type != YAML_SCALAR_NODE || scalar(v)[0])
				r->annotations = read_map(c, v, &r->nannotations);
		} else {
			unmarshal_err(c, k, "field %s not found in type rulefmt.RuleNode%s", key, "");
		}
	}
}

static void rule_free(rules_rule *r)
{
	free(r->name);
	free(r->expr_text);
	promql_expr_free(r->expr);
	free_kvs(r->labels, r->nlabels);
	free_kvs(r->annotations, r->nannotations);
}

static void group_free(rules_group *g)
{
	free(g->name);
	free(g->file);
	for (size_t i = 0; i < g->nrules; i++)
		rule_free(&g->rules[i]);
	free(g->rules);
	free_kvs(g->labels, g->nlabels);
}

static void load_group(load_ctx *c, const yaml_node_t *n, rules_group *g, const promql_parse_opts *popts,
		       const char *path)
{
	memset(g, 0, sizeof(*g));
	g->query_offset_ms = -1;
	g->file = tp_xstrdup(path);
	if (!expect(c, n, YAML_MAPPING_NODE, "rulefmt.RuleGroup"))
		return;
	const yaml_node_t *rules = NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = scalar(k);
		if (!key)
			continue;
		if (strcmp(key, "name") == 0) {
			if (expect(c, v, YAML_SCALAR_NODE, "string"))
				g->name = tp_xstrdup(scalar(v));
		} else if (strcmp(key, "interval") == 0) {
			g->interval_ms = duration_of(c, v);
		} else if (strcmp(key, "query_offset") == 0) {
			g->query_offset_ms = duration_of(c, v);
		} else if (strcmp(key, "limit") == 0) {
			const char *s = scalar(v);
			char *end;
			long lim = s ? strtol(s, &end, 10) : 0;
			if (!s || !*s || *end)
				tp_sb_printf(&c->unmarshal, "\n  line %d: cannot unmarshal %s `%s` into int", line_of(v),
					     yaml_tag_name(v), s ? s : "");
			else
				g->limit = (int)lim;
		} else if (strcmp(key, "labels") == 0) {
			g->labels = read_map(c, v, &g->nlabels);
		} else if (strcmp(key, "rules") == 0) {
			if (expect(c, v, YAML_SEQUENCE_NODE, "[]rulefmt.RuleNode"))
				rules = v;
		} else {
			unmarshal_err(c, k, "field %s not found in type rulefmt.RuleGroup%s", key, "");
		}
	}
	if (!g->name)
		g->name = tp_xstrdup("");
	if (!rules)
		return;
	size_t nr = (size_t)(rules->data.sequence.items.top - rules->data.sequence.items.start);
	g->rules = tp_xcalloc(nr ? nr : 1, sizeof(rules_rule));
	rule_nodes *rn = tp_xcalloc(nr ? nr : 1, sizeof(rule_nodes));
	for (size_t i = 0; i < nr; i++) {
		const yaml_node_t *rnode = yaml_document_get_node(c->doc, rules->data.sequence.items.start[i]);
		load_rule(c, rnode, &g->rules[i], &rn[i]);
		g->nrules++;
	}
	/* Validation only when the shapes were right (as Go unmarshals first). */
	if (c->unmarshal.len == 0 && !c->fatal)
		for (size_t i = 0; i < nr; i++)
			validate_rule(c, g->name, i + 1, &g->rules[i], &rn[i], popts);
	free(rn);
}

int rules_file_load(const char *path, const promql_parse_opts *popts, rules_file *out, tp_strbuf *errs)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "rb");
	if (!f) {
		tp_sb_printf(errs, "open %s: no such file or directory\n", path);
		return 1;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		tp_sb_printf(errs, "yaml: line %zu: %s\n", parser.problem_mark.line + 1,
			     parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return 1;
	}
	load_ctx c = { .doc = &doc, .errs = errs };
	rules_file rf = { .path = tp_xstrdup(path) };
	const yaml_node_t *root = yaml_document_get_root_node(&doc);
	const yaml_node_t *groups = NULL;
	if (root && expect(&c, root, YAML_MAPPING_NODE, "rulefmt.RuleGroups")) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
			const yaml_node_t *k = yaml_document_get_node(&doc, p->key);
			const yaml_node_t *v = yaml_document_get_node(&doc, p->value);
			const char *key = scalar(k);
			if (key && strcmp(key, "groups") == 0) {
				if (expect(&c, v, YAML_SEQUENCE_NODE, "[]rulefmt.RuleGroup"))
					groups = v;
			} else {
				unmarshal_err(&c, k, "field %s not found in type rulefmt.RuleGroups%s", key ? key : "", "");
			}
		}
	}
	if (groups) {
		size_t ng = (size_t)(groups->data.sequence.items.top - groups->data.sequence.items.start);
		rf.groups = tp_xcalloc(ng ? ng : 1, sizeof(rules_group));
		for (size_t i = 0; i < ng; i++) {
			const yaml_node_t *gn = yaml_document_get_node(&doc, groups->data.sequence.items.start[i]);
			/* group-level errors come before that group's rule errors */
			tp_strbuf *saved = c.errs;
			tp_strbuf rule_errs = { 0 };
			c.errs = &rule_errs;
			load_group(&c, gn, &rf.groups[i], popts, path);
			c.errs = saved;
			rules_group *g = &rf.groups[i];
			rf.ngroups++;
			if (c.unmarshal.len == 0 && !c.fatal) {
				if (!g->name[0]) {
					tp_sb_printf(errs, "%d:%d: Groupname must not be empty\n", line_of(gn), col_of(gn));
					c.nerrs++;
				}
				for (size_t j = 0; j < i; j++) {
					if (strcmp(rf.groups[j].name, g->name) == 0) {
						tp_sb_printf(errs, "%d:%d: groupname: \"%s\" is repeated in the same file\n",
							     line_of(gn), col_of(gn), g->name);
						c.nerrs++;
						break;
					}
				}
			}
			if (rule_errs.len)
				tp_sb_append(errs, rule_errs.buf, rule_errs.len);
			tp_sb_free(&rule_errs);
		}
	}
	int rc = 0;
	if (c.fatal || c.unmarshal.len) {
		/* shape errors replace everything else, as a failed unmarshal does */
		tp_sb_reset(errs);
		if (c.fatal)
			tp_sb_printf(errs, "%s\n", c.fatal);
		else
			tp_sb_printf(errs, "yaml: unmarshal errors:%s\n", tp_sb_cstr(&c.unmarshal));
		rc = 1;
	} else {
		rc = c.nerrs;
	}
	free(c.fatal);
	tp_sb_free(&c.unmarshal);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	if (rc == 0)
		*out = rf;
	else
		rules_file_free(&rf);
	return rc;
}

void rules_file_free(rules_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ngroups; i++)
		group_free(&f->groups[i]);
	free(f->groups);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

size_t rules_file_count_rules(const rules_file *f)
{
	size_t n = 0;
	for (size_t i = 0; i < f->ngroups; i++)
		n += f->groups[i].nrules;
	return n;
}
