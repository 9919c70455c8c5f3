/* SPDX-License-Identifier: Apache-2.0
 * expfmt_lint.c - the `check metrics` linter (see expfmt_lint.h).
 * One pass of the zero-copy text parser builds metric families the way
 * client_golang's expfmt.TextParser groups them (a _sum/_count/_bucket
 * sample joins its summary or histogram family); expfmt's extra strictness
 * (escapes, raw newlines in label values, trailing blanks, final newline)
 * is checked on the raw spans. Then promlint's rules run per family, and
 * tinyprom's histogram/summary completeness checks per label group.
 * Invariants: messages and exit codes are promtool 2.42's (recorded with
 * Debian's /usr/bin/promtool); our own checks use new, explicit texts. */
#include "config.h"
#include "scrape/expfmt_lint.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/strbuf.h"
#include "scrape/expfmt.h"

/* ---- types ------------------------------------------------------------- */

enum ftype { F_UNTYPED, F_COUNTER, F_GAUGE, F_HISTOGRAM, F_SUMMARY };

typedef struct bucket {
	double le;
	double v;
	char *le_raw;
} bucket;

typedef struct group {   /* one dto.Metric of a histogram or summary */
	char *key;           /* labels without le / quantile */
	bool inf, has_count, has_sum;
	double inf_v, count_v;
	bucket *b;
	size_t nb, capb;
} group;

typedef struct family {
	char *name;
	enum ftype type;
	bool type_set;
	char *help;          /* NULL: no HELP line */
	size_t samples;
	group *g;
	size_t ng, capg;
} family;

typedef struct problem {
	char *metric;
	char *text;
} problem;

typedef struct lint {
	family *f;
	size_t nf, capf;
	problem *p;
	size_t np, capp;
	char err[1024];
	bool failed;
} lint;

/* ---- helpers ------------------------------------------------------------ */

static family *fam_find(lint *l, const char *name, size_t n)
{
	for (size_t i = l->nf; i-- > 0;)
		if (strlen(l->f[i].name) == n && memcmp(l->f[i].name, name, n) == 0)
			return &l->f[i];
	return NULL;
}

static family *fam_add(lint *l, const char *name, size_t n)
{
	TP_GROW(l->f, l->capf, l->nf + 1);
	family *f = &l->f[l->nf++];
	memset(f, 0, sizeof(*f));
	f->name = tp_xstrndup(name, n);
	return f;
}

static void problem_add(lint *l, const char *metric, const char *fmt, ...) TP_PRINTF(3, 4);
static void problem_add(lint *l, const char *metric, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	TP_GROW(l->p, l->capp, l->np + 1);
	l->p[l->np].metric = tp_xstrdup(metric);
	l->p[l->np].text = tp_xstrdup(buf);
	l->np++;
}

static void lint_error(lint *l, uint32_t line, const char *fmt, ...) TP_PRINTF(3, 4);
static void lint_error(lint *l, uint32_t line, const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(l->err, sizeof(l->err), "text format parsing error in line %u: %s", line, buf);
	l->failed = true;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && strcmp(s + n - k, suf) == 0;
}

static bool has_camel(const char *s)
{
	for (; s[0] && s[1]; s++)
		if (s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'A' && s[1] <= 'Z')
			return true;
	return false;
}

/* ---- expfmt strictness on raw spans --------------------------------------- */

/* Label value checks: raw new-line, escapes other than \\ \" \n. */
static bool check_value(lint *l, uint32_t line, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			char q[256];
			scrape_quote(q, sizeof(q), s, i);
			lint_error(l, line, "label value %s contains unescaped new-line", q);
			return false;
		}
		if (s[i] == '\\' && i + 1 < n) {
			char d = s[i + 1];
			if (d != '\\' && d != '"' && d != 'n') {
				lint_error(l, line, "invalid escape sequence '\\%c'", d);
				return false;
			}
			i++;
		}
	}
	return true;
}

static bool check_help_escapes(lint *l, uint32_t line, const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] != '\\' && s[i + 1] != 'n') {
			lint_error(l, line, "invalid escape sequence '\\%c'", s[i + 1]);
			return false;
		}
		i++;
	}
	return true;
}

/* The word (up to a blank or newline) starting at pos. */
static void word_at(const char *b, size_t n, size_t pos, char *q, size_t cap)
{
	size_t e = pos;
	while (e < n && b[e] != ' ' && b[e] != '\t' && b[e] != '\n')
		e++;
	scrape_quote(q, cap, b + (pos < n ? pos : n), e > pos ? e - pos : 0);
}

/* Renders a parser error in expfmt's words where they differ. */
static void map_parse_error(lint *l, const scrape_parser *p)
{
	const char *b = p->b;
	size_t n = p->n, pos = p->err_pos < n ? p->err_pos : n;
	char q[512];
	int c = pos < n ? (unsigned char)b[pos] : '\n';
	const char *name = p->noffs >= 2 && p->offs[0] != (size_t)-1 ? b + p->offs[0] : "";
	size_t nlen = p->noffs >= 2 && p->offs[0] != (size_t)-1 ? p->offs[1] - p->offs[0] : 0;
	char qn[256];
	scrape_quote(qn, sizeof(qn), name, nlen);
	uint32_t line = p->err_line;
	switch (p->err) {
	case SCRAPE_ERR_VALUE:
		word_at(b, n, pos, q, sizeof(q));
		lint_error(l, line, "expected float as value, got %s", q);
		return;
	case SCRAPE_ERR_TIMESTAMP:
		word_at(b, n, pos, q, sizeof(q));
		lint_error(l, line, "expected integer as timestamp, got %s", q);
		return;
	case SCRAPE_ERR_AFTER_TS:
		if (pos > 0 && b[pos - 1] != ' ' && b[pos - 1] != '\t') {
			size_t s = pos;
			while (s > 0 && b[s - 1] != ' ' && b[s - 1] != '\t')
				s--;
			word_at(b, n, s, q, sizeof(q));
			lint_error(l, line, "expected integer as timestamp, got %s", q);
		} else {
			size_t s = pos, e = pos;
			while (s > 0 && (b[s - 1] == ' ' || b[s - 1] == '\t'))
				s--;
			while (e < n && b[e] != '\n')
				e++;
			scrape_quote(q, sizeof(q), b + s, e - s);
			lint_error(l, line, "spurious string after timestamp: %s", q);
		}
		return;
	case SCRAPE_ERR_TYPE: {
		const char *t = p->text ? p->text : "";
		scrape_quote(q, sizeof(q), t, p->text_len);
		lint_error(l, line, "unknown metric type %s", q);
		return;
	}
	case SCRAPE_ERR_LABEL_DUP:
		if (n - pos >= 8 && memcmp(b + pos, "__name__", 8) == 0)
			lint_error(l, line, "label name \"__name__\" is reserved");
		else
			lint_error(l, line, "duplicate label names for metric %s", qn);
		return;
	case SCRAPE_ERR_LABEL_NAME:
		lint_error(l, line, "invalid label name for metric %s", qn);
		return;
	case SCRAPE_ERR_LABEL_EQUAL:
		lint_error(l, line, "expected '=' after label name, found '%c'", c);
		return;
	case SCRAPE_ERR_LABEL_VALUE:
		if (c == '"') { /* unterminated: runs into the end of the input */
			size_t e = pos + 1;
			while (e < n && b[e] != '\n')
				e++;
			scrape_quote(q, sizeof(q), b + pos + 1, e - pos - 1);
			lint_error(l, line, "label value %s contains unescaped new-line", q);
		} else {
			lint_error(l, line, "expected '\"' at start of label value, found '%c'", c);
		}
		return;
	case SCRAPE_ERR_LABEL_UTF8: {
		size_t e = pos + 1;
		while (e < n && b[e] != '"')
			e++;
		scrape_quote(q, sizeof(q), b + pos + 1, e > pos + 1 ? e - pos - 1 : 0);
		lint_error(l, line, "invalid label value %s", q);
		return;
	}
	case SCRAPE_ERR_NAME_MISSING:
	case SCRAPE_ERR_NAME_TWICE:
		lint_error(l, line, "invalid metric name");
		return;
	default:
		lint_error(l, line, "%s", p->err_msg);
	}
}

/* ---- building families ------------------------------------------------------ */

static enum ftype ftype_of(scrape_metric_type t)
{
	switch (t) {
	case SCRAPE_TYPE_COUNTER: return F_COUNTER;
	case SCRAPE_TYPE_GAUGE: return F_GAUGE;
	case SCRAPE_TYPE_HISTOGRAM: return F_HISTOGRAM;
	case SCRAPE_TYPE_SUMMARY: return F_SUMMARY;
	default: return F_UNTYPED;
	}
}

/* expfmt's setOrCreateCurrentMF: exact name, else the summary/histogram
 * this _sum/_count/_bucket belongs to, else a new family. *suffix gets
 * 1 for _sum, 2 for _count, 3 for _bucket, 0 otherwise. */
static family *family_for_sample(lint *l, const char *name, size_t n, int *suffix)
{
	*suffix = 0;
	family *f = fam_find(l, name, n);
	if (f)
		return f;
	static const char *const sfx[] = { "_sum", "_count", "_bucket" };
	for (int k = 0; k < 3; k++) {
		size_t sl = strlen(sfx[k]);
		if (n <= sl || memcmp(name + n - sl, sfx[k], sl) != 0)
			continue;
		f = fam_find(l, name, n - sl);
		if (f && ((k < 2 && f->type == F_SUMMARY) || f->type == F_HISTOGRAM)) {
			*suffix = k + 1;
			return f;
		}
	}
	return fam_add(l, name, n);
}

static group *group_for(family *f, const char *key)
{
	for (size_t i = 0; i < f->ng; i++)
		if (strcmp(f->g[i].key, key) == 0)
			return &f->g[i];
	TP_GROW(f->g, f->capg, f->ng + 1);
	group *g = &f->g[f->ng++];
	memset(g, 0, sizeof(*g));
	g->key = tp_xstrdup(key);
	return g;
}

static void label_problems(lint *l, family *f, const tp_labels *ls)
{
	for (uint32_t i = 0; i < ls->n; i++) {
		const char *ln = ls->v[i].name;
		if (strcmp(ln, TP_METRIC_NAME) == 0)
			continue;
		if (has_camel(ln))
			problem_add(l, f->name, "label names should be written in 'snake_case' not 'camelCase'");
		if (f->type != F_HISTOGRAM && strcmp(ln, "le") == 0)
			problem_add(l, f->name, "non-histogram metrics should not have \"le\" label");
		if (f->type != F_SUMMARY && strcmp(ln, "quantile") == 0)
			problem_add(l, f->name, "non-summary metrics should not have \"quantile\" label");
	}
}

static bool sample(lint *l, scrape_parser *p, uint32_t line, tp_arena *a)
{
	/* expfmt strictness on the raw line */
	for (size_t k = 2; k + 3 < p->noffs; k += 4) {
		const char *v = p->b + p->offs[k + 2];
		size_t vn = p->offs[k + 3] - p->offs[k + 2];
		if (!check_value(l, line, v, vn))
			return false;
		/* expfmt wants ',' or '}' right after a value (blanks allowed) */
		size_t j = p->offs[k + 3] + 1;
		while (j < p->n && (p->b[j] == ' ' || p->b[j] == '\t'))
			j++;
		if (j < p->n && p->b[j] != ',' && p->b[j] != '}') {
			char q[256];
			scrape_quote(q, sizeof(q), v, vn);
			lint_error(l, line, "unexpected end of label value %s", q);
			return false;
		}
	}
	size_t end = p->i <= p->n ? p->i : p->n; /* after the newline */
	if (end >= 1 && end - 1 < p->n && p->b[end - 1] == '\n')
		end--;
	if (end > 0 && (p->b[end - 1] == ' ' || p->b[end - 1] == '\t')) {
		if (!p->has_ts) {
			lint_error(l, line, "expected integer as timestamp, got \"\"");
		} else {
			size_t s = end;
			while (s > 0 && (p->b[s - 1] == ' ' || p->b[s - 1] == '\t'))
				s--;
			char q[128];
			scrape_quote(q, sizeof(q), p->b + s, end - s);
			lint_error(l, line, "spurious string after timestamp: %s", q);
		}
		return false;
	}
	const char *name;
	size_t nlen;
	scrape_parser_metric_name(p, &name, &nlen);
	int suffix;
	family *f = family_for_sample(l, name, nlen, &suffix);
	f->samples++;
	tp_labels ls = scrape_parser_labels_arena(p, a);
	if (f->type != F_HISTOGRAM && f->type != F_SUMMARY) {
		label_problems(l, f, &ls);
		return true;
	}
	/* group key: labels without __name__ and le (histogram) / quantile (summary) */
	const char *skip = f->type == F_HISTOGRAM ? "le" : "quantile";
	tp_strbuf key = { 0 };
	const char *le = NULL;
	for (uint32_t i = 0; i < ls.n; i++) {
		if (strcmp(ls.v[i].name, TP_METRIC_NAME) == 0)
			continue;
		if (strcmp(ls.v[i].name, skip) == 0) {
			le = ls.v[i].value;
			continue;
		}
		tp_sb_printf(&key, "%s=%s,", ls.v[i].name, ls.v[i].value);
	}
	bool is_new = true;
	for (size_t i = 0; i < f->ng; i++)
		if (strcmp(f->g[i].key, tp_sb_cstr(&key)) == 0)
			is_new = false;
	group *g = group_for(f, tp_sb_cstr(&key));
	tp_sb_free(&key);
	double lev = 0;
	if (le && (f->type == F_SUMMARY || suffix == 3) && scrape_parse_float(le, strlen(le), &lev) != 0) {
		char q[256];
		scrape_quote(q, sizeof(q), le, strlen(le));
		lint_error(l, line, "expected float as value for '%s' label, got %s", skip, q);
		return false;
	}
	if (is_new) {
		tp_labels without = ls;
		tp_label tmp[64];
		uint32_t k = 0;
		for (uint32_t i = 0; i < ls.n && k < 64; i++)
			if (strcmp(ls.v[i].name, skip) != 0)
				tmp[k++] = ls.v[i];
		without.v = tmp;
		without.n = k;
		label_problems(l, f, &without);
	}
	if (suffix == 1) {
		g->has_sum = true;
	} else if (suffix == 2) {
		g->has_count = true;
		g->count_v = p->value;
	} else if (suffix == 3 && le) {
		TP_GROW(g->b, g->capb, g->nb + 1);
		g->b[g->nb++] = (bucket){ lev, p->value, tp_xstrdup(le) };
		if (isinf(lev) && lev > 0) {
			g->inf = true;
			g->inf_v = p->value;
		}
	}
	return true;
}

static bool meta(lint *l, scrape_parser *p, scrape_entry e, uint32_t line)
{
	const char *name, *text;
	size_t nlen, tlen;
	if (e == SCRAPE_ENTRY_TYPE) {
		scrape_metric_type t;
		scrape_parser_type(p, &name, &nlen, &t);
		family *f = fam_find(l, name, nlen);
		if (!f)
			f = fam_add(l, name, nlen);
		if (f->type_set || f->samples) {
			char q[256];
			scrape_quote(q, sizeof(q), name, nlen);
			lint_error(l, line, "second TYPE line for metric name %s, or TYPE reported after samples", q);
			return false;
		}
		f->type = ftype_of(t);
		f->type_set = true;
		return true;
	}
	if (e == SCRAPE_ENTRY_HELP) {
		if (!check_help_escapes(l, line, p->text, p->text_len))
			return false;
		scrape_parser_help(p, &name, &nlen, &text, &tlen);
		family *f = fam_find(l, name, nlen);
		if (!f)
			f = fam_add(l, name, nlen);
		if (f->help) {
			char q[256];
			scrape_quote(q, sizeof(q), name, nlen);
			lint_error(l, line, "second HELP line for metric name %s", q);
			return false;
		}
		f->help = tp_xstrndup(text, tlen);
	}
	return true;
}

/* ---- promlint rules --------------------------------------------------------- */

static const struct { const char *unit, *base; } units[] = {
	{ "amperes", "amperes" }, { "bytes", "bytes" }, { "celsius", "celsius" }, { "grams", "grams" },
	{ "joules", "joules" }, { "kelvin", "kelvin" }, { "meters", "meters" }, { "metres", "metres" },
	{ "seconds", "seconds" }, { "volts", "volts" }, { "minutes", "seconds" }, { "hours", "seconds" },
	{ "days", "seconds" }, { "weeks", "seconds" }, { "kelvins", "kelvin" }, { "fahrenheit", "celsius" },
	{ "rankine", "celsius" }, { "inches", "meters" }, { "yards", "meters" }, { "miles", "meters" },
	{ "bits", "bytes" }, { "calories", "joules" }, { "pounds", "grams" }, { "ounces", "grams" },
};
static const char *const unit_prefixes[] = { "pico", "nano", "micro", "milli", "centi", "deci",
					      "deca", "hecto", "kilo", "kila", "mega", "giga",
					      "tera", "peta", "exa", "zetta", "yotta" };

static const char *unit_base(const char *s, size_t n)
{
	for (size_t i = 0; i < TP_ARRAY_LEN(units); i++)
		if (strlen(units[i].unit) == n && memcmp(units[i].unit, s, n) == 0)
			return units[i].base;
	return NULL;
}

static void lint_units(lint *l, const family *f)
{
	const char *s = f->name;
	for (;;) {
		const char *us = strchr(s, '_');
		size_t n = us ? (size_t)(us - s) : strlen(s);
		const char *base = unit_base(s, n);
		if (base) {
			if (strlen(base) != n || memcmp(base, s, n) != 0)
				problem_add(l, f->name, "use base unit \"%s\" instead of \"%.*s\"", base, (int)n, s);
			return;
		}
		for (size_t k = 0; k < TP_ARRAY_LEN(unit_prefixes); k++) {
			size_t pl = strlen(unit_prefixes[k]);
			if (n >= pl && memcmp(s, unit_prefixes[k], pl) == 0 && (base = unit_base(s + pl, n - pl))) {
				problem_add(l, f->name, "use base unit \"%s\" instead of \"%.*s\"", base, (int)n, s);
				return;
			}
		}
		if (!us)
			return;
		s = us + 1;
	}
}

/* "_x_" inside or "_x" at the end of the lower-cased name. */
static bool has_token(const char *lower, const char *x)
{
	char mid[64], end[64];
	snprintf(mid, sizeof(mid), "_%s_", x);
	snprintf(end, sizeof(end), "_%s", x);
	return strstr(lower, mid) || ends_with(lower, end);
}

static void lint_family(lint *l, const family *f)
{
	if (!f->help || !f->help[0])
		problem_add(l, f->name, "no help text");
	lint_units(l, f);
	bool total = ends_with(f->name, "_total");
	if (f->type == F_COUNTER && !total)
		problem_add(l, f->name, "counter metrics should have \"_total\" suffix");
	if (f->type != F_UNTYPED && f->type != F_COUNTER && total)
		problem_add(l, f->name, "non-counter metrics should not have \"_total\" suffix");
	if (f->type != F_UNTYPED) {
		if (f->type != F_HISTOGRAM && ends_with(f->name, "_bucket"))
			problem_add(l, f->name, "non-histogram metrics should not have \"_bucket\" suffix");
		if (f->type != F_HISTOGRAM && f->type != F_SUMMARY && ends_with(f->name, "_count"))
			problem_add(l, f->name, "non-histogram and non-summary metrics should not have \"_count\" suffix");
		if (f->type != F_HISTOGRAM && f->type != F_SUMMARY && ends_with(f->name, "_sum"))
			problem_add(l, f->name, "non-histogram and non-summary metrics should not have \"_sum\" suffix");
	}
	char *lower = tp_xstrdup(f->name);
	for (char *c = lower; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	static const char *const types[] = { "counter", "gauge", "summary", "histogram", "gauge_histogram" };
	for (size_t k = 0; k < TP_ARRAY_LEN(types); k++)
		if (has_token(lower, types[k]))
			problem_add(l, f->name, "metric name should not include type '%s'", types[k]);
	if (strchr(f->name, ':'))
		problem_add(l, f->name, "metric names should not contain ':'");
	if (has_camel(f->name))
		problem_add(l, f->name, "metric names should be written in 'snake_case' not 'camelCase'");
	static const char *const abbr[] = { "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d" };
	for (size_t k = 0; k < TP_ARRAY_LEN(abbr); k++)
		if (has_token(lower, abbr[k]))
			problem_add(l, f->name, "metric names should not contain abbreviated units");
	free(lower);

	/* tinyprom's completeness checks, once per family and kind */
	if (f->type != F_HISTOGRAM && f->type != F_SUMMARY)
		return;
	const char *kind = f->type == F_HISTOGRAM ? "histogram" : "summary";
	bool no_inf = false, no_count = false, no_sum = false, noncum = false, mismatch = false;
	for (size_t i = 0; i < f->ng; i++) {
		group *g = &f->g[i];
		if (!g->has_count && !no_count) {
			no_count = true;
			problem_add(l, f->name, "%s has no _count sample", kind);
		}
		if (!g->has_sum && !no_sum) {
			no_sum = true;
			problem_add(l, f->name, "%s has no _sum sample", kind);
		}
		if (f->type != F_HISTOGRAM)
			continue;
		if (!g->inf && !no_inf) {
			no_inf = true;
			problem_add(l, f->name, "histogram has no bucket with le=\"+Inf\"");
		}
		/* insertion sort by le; buckets are few */
		for (size_t a = 1; a < g->nb; a++)
			for (size_t b = a; b > 0 && g->b[b - 1].le > g->b[b].le; b--) {
				bucket t = g->b[b];
				g->b[b] = g->b[b - 1];
				g->b[b - 1] = t;
			}
		for (size_t a = 1; a < g->nb && !noncum; a++) {
			if (g->b[a].v < g->b[a - 1].v) {
				char x[48], y[48];
				tp_format_float(x, g->b[a].v);
				tp_format_float(y, g->b[a - 1].v);
				noncum = true;
				problem_add(l, f->name, "histogram buckets are not cumulative: le=\"%s\" has %s < %s",
					    g->b[a].le_raw, x, y);
			}
		}
		if (g->inf && g->has_count && g->inf_v != g->count_v && !mismatch &&
		    !(isnan(g->inf_v) && isnan(g->count_v))) {
			char x[48], y[48];
			tp_format_float(x, g->count_v);
			tp_format_float(y, g->inf_v);
			mismatch = true;
			problem_add(l, f->name, "histogram _count %s differs from the le=\"+Inf\" bucket %s", x, y);
		}
	}
}

static int cmp_problem(const void *a, const void *b)
{
	const problem *x = a, *y = b;
	int c = strcmp(x->metric, y->metric);
	if (c)
		return c;
	return strcmp(x->text, y->text); /* equal pairs print identically */
}

/* ---- --extended ----------------------------------------------------------------- */

typedef struct stat {
	const char *name;
	size_t card;
} stat;

static int cmp_stat(const void *a, const void *b)
{
	const stat *x = a, *y = b;
	if (x->card != y->card)
		return x->card > y->card ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Go's tabwriter (minwidth 4, padding 4, ' '): every cell padded. */
static void print_table(FILE *out, char *(*cells)[3], size_t rows)
{
	size_t w[3] = { 0, 0, 0 };
	for (size_t r = 0; r < rows; r++)
		for (int c = 0; c < 3; c++)
			w[c] = TP_MAX(w[c], strlen(cells[r][c]));
	for (int c = 0; c < 3; c++)
		w[c] = TP_MAX(w[c], 4) + 4;
	for (size_t r = 0; r < rows; r++) {
		for (int c = 0; c < 3; c++)
			fprintf(out, "%-*s", (int)w[c], cells[r][c]);
		fputc('\n', out);
	}
}

static void extended(lint *l, FILE *out)
{
	stat *st = tp_xcalloc(l->nf + 1, sizeof(stat));
	size_t n = 0, total = 0;
	for (size_t i = 0; i < l->nf; i++) {
		if (!l->f[i].samples)
			continue;
		st[n++] = (stat){ l->f[i].name, l->f[i].samples };
		total += l->f[i].samples;
	}
	qsort(st, n, sizeof(stat), cmp_stat);
	char *(*cells)[3] = tp_xcalloc(n + 2, sizeof(*cells));
	cells[0][0] = tp_xstrdup("Metric");
	cells[0][1] = tp_xstrdup("Cardinality");
	cells[0][2] = tp_xstrdup("Percentage");
	for (size_t i = 0; i < n; i++) {
		char b[64];
		cells[i + 1][0] = tp_xstrdup(st[i].name);
		snprintf(b, sizeof(b), "%zu", st[i].card);
		cells[i + 1][1] = tp_xstrdup(b);
		snprintf(b, sizeof(b), "%.2f%%", 100.0 * (double)st[i].card / (double)total);
		cells[i + 1][2] = tp_xstrdup(b);
	}
	char b[64];
	cells[n + 1][0] = tp_xstrdup("Total");
	snprintf(b, sizeof(b), "%zu", total);
	cells[n + 1][1] = tp_xstrdup(b);
	cells[n + 1][2] = tp_xstrdup("100%");
	print_table(out, cells, n + 2);
	for (size_t r = 0; r < n + 2; r++)
		for (int c = 0; c < 3; c++)
			free(cells[r][c]);
	free(cells);
	free(st);
}

/* ---- driver ---------------------------------------------------------------------- */

static void lint_free(lint *l)
{
	for (size_t i = 0; i < l->nf; i++) {
		family *f = &l->f[i];
		for (size_t k = 0; k < f->ng; k++) {
			for (size_t j = 0; j < f->g[k].nb; j++)
				free(f->g[k].b[j].le_raw);
			free(f->g[k].b);
			free(f->g[k].key);
		}
		free(f->g);
		free(f->name);
		free(f->help);
	}
	free(l->f);
	for (size_t i = 0; i < l->np; i++) {
		free(l->p[i].metric);
		free(l->p[i].text);
	}
	free(l->p);
}

int scrape_lint_run(const char *buf, size_t len, bool ext, FILE *out, FILE *err)
{
	lint l;
	memset(&l, 0, sizeof(l));
	scrape_parser p;
	scrape_parser_init(&p, SCRAPE_FORMAT_TEXT, buf, len);
	tp_arena a;
	tp_arena_init(&a);
	scrape_entry e;
	while (!l.failed && (e = scrape_parser_next(&p)) > SCRAPE_ENTRY_EOF) {
		uint32_t line = scrape_parser_line(&p);
		if (e == SCRAPE_ENTRY_SERIES)
			sample(&l, &p, line, &a);
		else
			meta(&l, &p, e, line);
		tp_arena_reset(&a);
	}
	if (!l.failed && e == SCRAPE_ENTRY_INVALID)
		map_parse_error(&l, &p);
	if (!l.failed && len > 0 && buf[len - 1] != '\n') {
		uint32_t lines = 1;
		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		lint_error(&l, lines, "unexpected end of input stream");
	}
	int rc = SCRAPE_LINT_OK;
	if (l.failed) {
		fprintf(err, "error while linting: %s\n", l.err);
		rc = SCRAPE_LINT_ERROR;
	} else {
		for (size_t i = 0; i < l.nf; i++)
			if (l.f[i].samples)
				lint_family(&l, &l.f[i]);
		if (l.np)
			qsort(l.p, l.np, sizeof(problem), cmp_problem);
		for (size_t i = 0; i < l.np; i++)
			fprintf(err, "%s %s\n", l.p[i].metric, l.p[i].text);
		if (l.np)
			rc = SCRAPE_LINT_PROBLEMS;
		else if (ext)
			extended(&l, out);
	}
	tp_arena_free(&a);
	scrape_parser_free(&p);
	lint_free(&l);
	return rc;
}
