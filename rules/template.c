/* SPDX-License-Identifier: Apache-2.0
 * template.c - a Go text/template subset with Prometheus's template
 * functions, for rule labels and annotations.
 *
 * Two phases: parse the text into a tree (arena-owned), then execute it
 * against rules_tmpl_data. Values are dynamically typed (tval). Variables
 * live on a stack whose height is restored when a control block ends, as
 * Go scopes them. Nothing here aborts on bad input: every problem becomes
 * an error string in Go's format ("template: NAME:LINE: ..."). */
#include "config.h"
#include "rules/template.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/common.h"
#include "lib/duration.h"

/* ---- types ---- */

typedef enum { A_FIELD, A_VAR, A_FUNC, A_STR, A_NUM, A_BOOL, A_NIL, A_DOT, A_PIPE } arg_kind;

typedef struct tpipe tpipe;

typedef struct targ {
	arg_kind kind;
	const char *s;        /* A_VAR name ("$x"), A_FUNC name, A_STR value */
	double num;
	bool isint;
	bool b;
	const char **fields;  /* field chain after the operand */
	int nfields;
	tpipe *pipe;          /* A_PIPE */
} targ;

typedef struct tcmd {
	targ *args;
	int nargs;
} tcmd;

struct tpipe {
	const char *decl[2];  /* declared/assigned variables */
	int ndecl;
	bool assign;          /* '=' rather than ':=' */
	tcmd *cmds;
	int ncmds;
	int line;
};

typedef enum { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH } node_kind;

typedef struct tnode tnode;
struct tnode {
	node_kind kind;
	const char *text;  /* N_TEXT */
	size_t len;
	tpipe *pipe;
	tnode *list, *elselist;
	tnode *next;
};

typedef enum { T_NIL, T_STR, T_FLOAT, T_INT, T_BOOL, T_MAP, T_SAMPLES, T_SAMPLE, T_DOT } vtype;

typedef struct tval {
	vtype t;
	const char *s;
	double f;
	int64_t i;
	bool b;
	const tp_labels *map;
	rules_tmpl_sample *samples;  /* T_SAMPLES (n) and T_SAMPLE (one) */
	size_t n;
} tval;

typedef struct tvar {
	const char *name;
	tval v;
} tvar;

typedef struct tctx {
	const char *name;     /* template name */
	const char *src;
	size_t pos, len;
	int line;
	tp_arena *a;
	tp_strbuf err;        /* first error */
	bool failed;
	bool trim_next;       /* the previous action ended with -}} */
	/* execution */
	const rules_tmpl_data *d;
	tvar *vars;
	size_t nvars, capvars;
	tp_strbuf *out;
	int depth;
} tctx;

static const char *funcs[] = {
	"printf", "print", "println", "len", "index", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not",
	"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "title",
	"toUpper", "toLower", "match", "reReplaceAll", "query", "first", "label", "value", "sortByLabel",
	"strvalue", "safeHtml", "externalURL", "pathPrefix", "args", "graphLink", "tableLink", "toTime",
	"parseDuration", "stripPort", "stripDomain", "urlquery", "html", "js",
};

static void fail(tctx *c, const char *fmt, ...) TP_PRINTF(2, 3);
static void fail(tctx *c, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = true;
	tp_sb_printf(&c->err, "template: %s:%d: ", c->name, c->line);
	va_list ap;
	va_start(ap, fmt);
	tp_sb_vprintf(&c->err, fmt, ap);
	va_end(ap);
}

/* ---- lexing helpers (inside actions) ---- */

static char peek(tctx *c)
{
	return c->pos < c->len ? c->src[c->pos] : '\0';
}

static void skip_space(tctx *c)
{
	while (c->pos < c->len && isspace((unsigned char)c->src[c->pos])) {
		if (c->src[c->pos] == '\n')
			c->line++;
		c->pos++;
	}
}

/* At "}}" or " -}}"? Consumes it and records trimming. */
static bool at_close(tctx *c)
{
	size_t p = c->pos;
	if (c->len - p >= 3 && strncmp(c->src + p, "-}}", 3) == 0 && p > 0 && isspace((unsigned char)c->src[p - 1])) {
		c->pos += 3;
		c->trim_next = true;
		return true;
	}
	if (c->len - p >= 2 && strncmp(c->src + p, "}}", 2) == 0) {
		c->pos += 2;
		c->trim_next = false;
		return true;
	}
	return false;
}

static bool peek_close(tctx *c)
{
	size_t p = c->pos;
	return (c->len - p >= 2 && strncmp(c->src + p, "}}", 2) == 0) ||
	       (c->len - p >= 3 && strncmp(c->src + p, "-}}", 3) == 0);
}

static bool is_ident(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

static const char *read_ident(tctx *c)
{
	size_t s = c->pos;
	while (c->pos < c->len && is_ident(c->src[c->pos]))
		c->pos++;
	return tp_arena_strndup(c->a, c->src + s, c->pos - s);
}

static bool keyword(tctx *c, const char *kw)
{
	size_t n = strlen(kw);
	if (c->len - c->pos >= n && strncmp(c->src + c->pos, kw, n) == 0 &&
	    (c->pos + n == c->len || !is_ident(c->src[c->pos + n]))) {
		c->pos += n;
		return true;
	}
	return false;
}

static const char *read_string(tctx *c)
{
	char q = c->src[c->pos++];
	tp_strbuf sb = { 0 };
	while (c->pos < c->len && c->src[c->pos] != q) {
		char ch = c->src[c->pos++];
		if (q == '"' && ch == '\\' && c->pos < c->len) {
			char e = c->src[c->pos++];
			switch (e) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case '\\': ch = '\\'; break;
			case '"': ch = '"'; break;
			case 'a': ch = '\a'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'v': ch = '\v'; break;
			default:
				tp_sb_free(&sb);
				fail(c, "unquote: invalid syntax");
				return "";
			}
		} else if (q == '"' && ch == '\n') {
			tp_sb_free(&sb);
			fail(c, "unterminated quoted string");
			return "";
		}
		if (ch == '\n')
			c->line++;
		tp_sb_putc(&sb, ch);
	}
	if (c->pos >= c->len) {
		tp_sb_free(&sb);
		fail(c, q == '`' ? "unterminated raw quoted string" : "unterminated quoted string");
		return "";
	}
	c->pos++;
	const char *r = tp_arena_strdup(c->a, tp_sb_cstr(&sb));
	tp_sb_free(&sb);
	return r;
}

/* ---- parsing ---- */

static tpipe *parse_pipe(tctx *c, bool in_paren, bool allow_decl);

static void read_fields(tctx *c, targ *a)
{
	const char *tmp[32];
	int n = 0;
	while (peek(c) == '.' && c->pos + 1 < c->len && is_ident(c->src[c->pos + 1])) {
		c->pos++;
		const char *f = read_ident(c);
		if (n < 32)
			tmp[n++] = f;
	}
	if (n) {
		a->fields = tp_arena_alloc(c->a, sizeof(char *) * (size_t)n);
		memcpy(a->fields, tmp, sizeof(char *) * (size_t)n);
		a->nfields = n;
	}
}

static bool known_func(const char *s)
{
	for (size_t i = 0; i < TP_ARRAY_LEN(funcs); i++)
		if (strcmp(funcs[i], s) == 0)
			return true;
	return false;
}

static bool parse_arg(tctx *c, targ *a)
{
	memset(a, 0, sizeof(*a));
	char ch = peek(c);
	if (ch == '(') {
		c->pos++;
		a->kind = A_PIPE;
		a->pipe = parse_pipe(c, true, false);
		if (c->failed)
			return false;
		read_fields(c, a);
		return true;
	}
	if (ch == '"' || ch == '`') {
		a->kind = A_STR;
		a->s = read_string(c);
		return !c->failed;
	}
	bool dot_number = ch == '.' && c->pos + 1 < c->len && isdigit((unsigned char)c->src[c->pos + 1]);
	if (ch == '.' && !dot_number) {
		if (c->pos + 1 < c->len && is_ident(c->src[c->pos + 1])) {
			a->kind = A_FIELD;
			read_fields(c, a);
		} else {
			c->pos++;
			a->kind = A_DOT;
		}
		return true;
	}
	if (ch == '$') {
		size_t s = c->pos++;
		while (c->pos < c->len && is_ident(c->src[c->pos]))
			c->pos++;
		a->kind = A_VAR;
		a->s = tp_arena_strndup(c->a, c->src + s, c->pos - s);
		read_fields(c, a);
		return true;
	}
	if (isdigit((unsigned char)ch) || dot_number || ((ch == '-' || ch == '+') && c->pos + 1 < c->len &&
					     isdigit((unsigned char)c->src[c->pos + 1]))) {
		char *end;
		const char *start = c->src + c->pos;
		a->kind = A_NUM;
		a->num = strtod(start, &end);
		a->isint = true;
		for (const char *p = start; p < end; p++)
			if (*p == '.' || *p == 'e' || *p == 'E' || *p == 'x' || *p == 'X')
				a->isint = *p == 'x' || *p == 'X' ? a->isint : false;
		c->pos += (size_t)(end - start);
		if (c->pos < c->len && is_ident(c->src[c->pos])) {
			fail(c, "bad number syntax: %.*s", (int)(end - start) + 1, start);
			return false;
		}
		return true;
	}
	if (isalpha((unsigned char)ch) || ch == '_') {
		const char *id = read_ident(c);
		if (strcmp(id, "true") == 0 || strcmp(id, "false") == 0) {
			a->kind = A_BOOL;
			a->b = id[0] == 't';
		} else if (strcmp(id, "nil") == 0) {
			a->kind = A_NIL;
		} else if (known_func(id)) {
			a->kind = A_FUNC;
			a->s = id;
		} else {
			fail(c, "function \"%s\" not defined", id);
			return false;
		}
		return true;
	}
	fail(c, "unexpected \"%c\" in command", ch ? ch : ' ');
	return false;
}

static tpipe *parse_pipe(tctx *c, bool in_paren, bool allow_decl)
{
	tpipe *p = tp_arena_zalloc(c->a, sizeof(*p));
	p->line = c->line;
	skip_space(c);
	/* declarations: $x :=, $x =, $k, $v := */
	if (allow_decl && peek(c) == '$') {
		size_t save = c->pos;
		int save_line = c->line;
		const char *names[2];
		int n = 0;
		for (;;) {
			size_t s = c->pos++;
			while (c->pos < c->len && is_ident(c->src[c->pos]))
				c->pos++;
			names[n++] = tp_arena_strndup(c->a, c->src + s, c->pos - s);
			skip_space(c);
			if (peek(c) == ',' && n < 2) {
				c->pos++;
				skip_space(c);
				if (peek(c) != '$')
					break;
				continue;
			}
			break;
		}
		if (c->len - c->pos >= 2 && strncmp(c->src + c->pos, ":=", 2) == 0) {
			c->pos += 2;
			p->ndecl = n;
			memcpy(p->decl, names, sizeof(names[0]) * (size_t)n);
		} else if (peek(c) == '=' && !(c->pos + 1 < c->len && c->src[c->pos + 1] == '=')) {
			c->pos++;
			p->ndecl = n;
			p->assign = true;
			memcpy(p->decl, names, sizeof(names[0]) * (size_t)n);
		} else {
			c->pos = save;
			c->line = save_line;
		}
	}
	tcmd cmds[16];
	int ncmds = 0;
	for (;;) {
		targ args[16];
		int nargs = 0;
		for (;;) {
			skip_space(c);
			char ch = peek(c);
			if (ch == '\0') {
				fail(c, in_paren ? "unclosed left paren" : "unclosed action");
				return p;
			}
			if ((!in_paren && peek_close(c)) || (in_paren && ch == ')') || ch == '|')
				break;
			if (in_paren && peek_close(c)) {
				fail(c, "unclosed left paren");
				return p;
			}
			if (nargs == 16) {
				fail(c, "too many arguments");
				return p;
			}
			if (!parse_arg(c, &args[nargs]))
				return p;
			nargs++;
		}
		if (nargs == 0) {
			fail(c, "missing value for command");
			return p;
		}
		if (ncmds == 16) {
			fail(c, "pipeline too long");
			return p;
		}
		cmds[ncmds].args = tp_arena_alloc(c->a, sizeof(targ) * (size_t)nargs);
		memcpy(cmds[ncmds].args, args, sizeof(targ) * (size_t)nargs);
		cmds[ncmds].nargs = nargs;
		ncmds++;
		if (peek(c) == '|') {
			c->pos++;
			continue;
		}
		break;
	}
	if (in_paren)
		c->pos++; /* ')' */
	p->cmds = tp_arena_alloc(c->a, sizeof(tcmd) * (size_t)ncmds);
	memcpy(p->cmds, cmds, sizeof(tcmd) * (size_t)ncmds);
	p->ncmds = ncmds;
	return p;
}

typedef enum { END_EOF, END_END, END_ELSE, END_ELSE_IF } list_end;

static tnode *parse_list(tctx *c, list_end *how);

static void expect_close(tctx *c)
{
	skip_space(c);
	if (!at_close(c))
		fail(c, "unexpected \"%c\" in end", peek(c) ? peek(c) : ' ');
}

/* Parses if/range/with after its keyword; else-if chains nest as Go does. */
static tnode *parse_control(tctx *c, node_kind kind)
{
	tnode *n = tp_arena_zalloc(c->a, sizeof(*n));
	n->kind = kind;
	n->pipe = parse_pipe(c, false, kind != N_IF);
	if (c->failed)
		return n;
	if (!at_close(c)) {
		fail(c, "unclosed action");
		return n;
	}
	list_end how;
	n->list = parse_list(c, &how);
	if (c->failed)
		return n;
	if (how == END_EOF) {
		fail(c, "unexpected EOF");
	} else if (how == END_ELSE) {
		n->elselist = parse_list(c, &how);
		if (!c->failed && how != END_END)
			fail(c, how == END_EOF ? "unexpected EOF" : "expected end; found {{else}}");
	} else if (how == END_ELSE_IF) {
		/* {{else if p}} ... is {{else}}{{if p}} ... {{end}}{{end}} */
		n->elselist = parse_control(c, N_IF);
	}
	return n;
}

static tnode *parse_list(tctx *c, list_end *how)
{
	tnode *head = NULL, **tail = &head;
	*how = END_EOF;
	while (c->pos < c->len && !c->failed) {
		const char *open = strstr(c->src + c->pos, "{{");
		size_t tend = open ? (size_t)(open - c->src) : c->len;
		size_t tstart = c->pos;
		if (c->trim_next)
			while (tstart < tend && isspace((unsigned char)c->src[tstart]))
				tstart++;
		c->trim_next = false;
		size_t tstop = tend;
		/* "{{- " trims the text before it (the dash needs white space after it) */
		bool trim_left = open && c->len - tend >= 4 && strncmp(open, "{{-", 3) == 0 &&
				 isspace((unsigned char)open[3]);
		if (trim_left)
			while (tstop > tstart && isspace((unsigned char)c->src[tstop - 1]))
				tstop--;
		for (size_t i = c->pos; i < tend; i++)
			if (c->src[i] == '\n')
				c->line++;
		if (tstop > tstart) {
			tnode *t = tp_arena_zalloc(c->a, sizeof(*t));
			t->kind = N_TEXT;
			t->text = c->src + tstart;
			t->len = tstop - tstart;
			*tail = t;
			tail = &t->next;
		}
		if (!open) {
			c->pos = c->len;
			break;
		}
		c->pos = tend + (trim_left ? 3 : 2);
		skip_space(c);
		/* comment */
		if (c->len - c->pos >= 2 && strncmp(c->src + c->pos, "/*", 2) == 0) {
			const char *e = strstr(c->src + c->pos + 2, "*/");
			if (!e) {
				fail(c, "unclosed comment");
				break;
			}
			for (const char *p = c->src + c->pos; p < e; p++)
				if (*p == '\n')
					c->line++;
			c->pos = (size_t)(e - c->src) + 2;
			skip_space(c);
			if (!at_close(c))
				fail(c, "comment ends before closing delimiter");
			continue;
		}
		if (keyword(c, "end")) {
			expect_close(c);
			*how = END_END;
			return head;
		}
		if (keyword(c, "else")) {
			skip_space(c);
			if (keyword(c, "if")) {
				*how = END_ELSE_IF;
				return head;
			}
			expect_close(c);
			*how = END_ELSE;
			return head;
		}
		tnode *n;
		if (keyword(c, "if")) {
			n = parse_control(c, N_IF);
		} else if (keyword(c, "range")) {
			n = parse_control(c, N_RANGE);
		} else if (keyword(c, "with")) {
			n = parse_control(c, N_WITH);
		} else if (keyword(c, "define") || keyword(c, "template") || keyword(c, "block")) {
			fail(c, "define, template and block are not supported in rule templates");
			break;
		} else {
			n = tp_arena_zalloc(c->a, sizeof(*n));
			n->kind = N_ACTION;
			n->pipe = parse_pipe(c, false, true);
			if (!c->failed && !at_close(c))
				fail(c, "unclosed action");
		}
		*tail = n;
		tail = &n->next;
	}
	return head;
}

static tnode *parse_all(tctx *c)
{
	list_end how;
	tnode *root = parse_list(c, &how);
	if (!c->failed && how == END_END)
		fail(c, "unexpected {{end}}");
	else if (!c->failed && (how == END_ELSE || how == END_ELSE_IF))
		fail(c, "unexpected {{else}}");
	return root;
}

/* ---- values ---- */

static tval v_str(const char *s)
{
	return (tval){ .t = T_STR, .s = s };
}

static tval v_float(double f)
{
	return (tval){ .t = T_FLOAT, .f = f };
}

static tval v_bool(bool b)
{
	return (tval){ .t = T_BOOL, .b = b };
}

static const char *type_name(const tval *v)
{
	switch (v->t) {
	case T_NIL: return "nil";
	case T_STR: return "string";
	case T_FLOAT: return "float64";
	case T_INT: return "int";
	case T_BOOL: return "bool";
	case T_MAP: return "map[string]string";
	case T_SAMPLES: return "template.queryResult";
	case T_SAMPLE: return "*template.sample";
	case T_DOT: return "struct";
	}
	return "?";
}

static bool truth(const tval *v)
{
	switch (v->t) {
	case T_NIL: return false;
	case T_STR: return v->s[0] != '\0';
	case T_FLOAT: return v->f != 0;
	case T_INT: return v->i != 0;
	case T_BOOL: return v->b;
	case T_MAP: return v->map && v->map->n > 0;
	case T_SAMPLES: return v->n > 0;
	default: return true;
	}
}

static void print_val(tctx *c, tp_strbuf *sb, const tval *v)
{
	switch (v->t) {
	case T_NIL: tp_sb_puts(sb, "<no value>"); break;
	case T_STR: tp_sb_puts(sb, v->s); break;
	case T_FLOAT: tp_sb_float(sb, v->f); break;
	case T_INT: tp_sb_printf(sb, "%lld", (long long)v->i); break;
	case T_BOOL: tp_sb_puts(sb, v->b ? "true" : "false"); break;
	case T_MAP:
		tp_sb_puts(sb, "map[");
		for (uint32_t i = 0; v->map && i < v->map->n; i++)
			tp_sb_printf(sb, "%s%s:%s", i ? " " : "", v->map->v[i].name, v->map->v[i].value);
		tp_sb_putc(sb, ']');
		break;
	case T_SAMPLES:
	case T_SAMPLE: {
		size_t n = v->t == T_SAMPLE ? 1 : v->n;
		if (v->t == T_SAMPLES)
			tp_sb_putc(sb, '[');
		for (size_t i = 0; i < n; i++) {
			tval m = { .t = T_MAP, .map = &v->samples[i].labels };
			tp_sb_puts(sb, i ? " {" : "{");
			print_val(c, sb, &m);
			tp_sb_putc(sb, ' ');
			tp_sb_float(sb, v->samples[i].value);
			tp_sb_putc(sb, '}');
		}
		if (v->t == T_SAMPLES)
			tp_sb_putc(sb, ']');
		break;
	}
	case T_DOT: tp_sb_puts(sb, "{...}"); break;
	}
}

static const char *to_str(tctx *c, const tval *v)
{
	if (v->t == T_STR)
		return v->s;
	tp_strbuf sb = { 0 };
	print_val(c, &sb, v);
	const char *r = tp_arena_strdup(c->a, tp_sb_cstr(&sb));
	tp_sb_free(&sb);
	return r;
}

/* Prometheus's convertToFloat. */
static bool to_float(tctx *c, const tval *v, double *f, const char *fn)
{
	switch (v->t) {
	case T_FLOAT: *f = v->f; return true;
	case T_INT: *f = (double)v->i; return true;
	case T_STR: {
		char *end;
		const char *s = v->s;
		if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0 || strcmp(s, "inf") == 0 || strcmp(s, "+inf") == 0) {
			*f = INFINITY;
			return true;
		}
		*f = strtod(s, &end);
		if (*s && !*end && !isspace((unsigned char)*s))
			return true;
		fail(c, "executing \"%s\": error calling %s: strconv.ParseFloat: parsing \"%s\": invalid syntax", c->name,
		     fn, s);
		return false;
	}
	default:
		fail(c, "executing \"%s\": error calling %s: can't convert %s to float", c->name, fn, type_name(v));
		return false;
	}
}

/* ---- variables ---- */

static void var_push(tctx *c, const char *name, tval v)
{
	TP_GROW(c->vars, c->capvars, c->nvars + 1);
	c->vars[c->nvars++] = (tvar){ name, v };
}

static tvar *var_find(tctx *c, const char *name)
{
	for (size_t i = c->nvars; i-- > 0;)
		if (strcmp(c->vars[i].name, name) == 0)
			return &c->vars[i];
	return NULL;
}

/* ---- execution ---- */

static tval exec_pipe(tctx *c, const tpipe *p, const tval *dot);

static tval field_of(tctx *c, tval v, const char *f)
{
	switch (v.t) {
	case T_DOT:
		if (strcmp(f, "Labels") == 0)
			return (tval){ .t = T_MAP, .map = c->d->labels };
		if (strcmp(f, "Value") == 0)
			return v_float(c->d->value);
		if (strcmp(f, "ExternalLabels") == 0)
			return (tval){ .t = T_MAP, .map = c->d->external_labels };
		if (strcmp(f, "ExternalURL") == 0)
			return v_str(c->d->external_url ? c->d->external_url : "");
		break;
	case T_MAP: {
		const char *s = v.map ? tp_labels_get(v.map, f) : NULL;
		return v_str(s ? s : "");
	}
	case T_SAMPLE:
		if (strcmp(f, "Labels") == 0)
			return (tval){ .t = T_MAP, .map = &v.samples[0].labels };
		if (strcmp(f, "Value") == 0)
			return v_float(v.samples[0].value);
		break;
	case T_NIL:
		fail(c, "executing \"%s\": nil pointer evaluating interface {}.%s", c->name, f);
		return (tval){ .t = T_NIL };
	default:
		break;
	}
	fail(c, "executing \"%s\": can't evaluate field %s in type %s", c->name, f, type_name(&v));
	return (tval){ .t = T_NIL };
}

static tval apply_fields(tctx *c, tval v, const targ *a)
{
	for (int i = 0; i < a->nfields && !c->failed; i++)
		v = field_of(c, v, a->fields[i]);
	return v;
}

/* Go's regexp.Expand for $1, ${1}, ${name}. */
static void expand_repl(tp_strbuf *sb, const char *repl, const char *subj, pcre2_code *re, PCRE2_SIZE *ov, int rc)
{
	for (const char *p = repl; *p; p++) {
		if (*p != '$') {
			tp_sb_putc(sb, *p);
			continue;
		}
		if (p[1] == '$') {
			tp_sb_putc(sb, '$');
			p++;
			continue;
		}
		const char *s = p + 1, *e;
		bool braced = *s == '{';
		if (braced)
			s++;
		e = s;
		while (*e && (isalnum((unsigned char)*e) || *e == '_'))
			e++;
		if (e == s || (braced && *e != '}')) {
			tp_sb_putc(sb, '$');
			continue;
		}
		char name[64];
		size_t nl = (size_t)(e - s) < sizeof(name) - 1 ? (size_t)(e - s) : sizeof(name) - 1;
		memcpy(name, s, nl);
		name[nl] = '\0';
		int idx = -1;
		char *end;
		long num = strtol(name, &end, 10);
		if (*end == '\0')
			idx = (int)num;
		else
			idx = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
		if (idx >= 0 && idx < rc && ov[2 * idx] != PCRE2_UNSET)
			tp_sb_append(sb, subj + ov[2 * idx], ov[2 * idx + 1] - ov[2 * idx]);
		p = braced ? e : e - 1;
	}
}

static pcre2_code *compile_re(tctx *c, const char *fn, const char *pat)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		fail(c, "executing \"%s\": error calling %s: error parsing regexp: %s: `%s`", c->name, fn, (char *)msg,
		     pat);
	}
	return re;
}

static void go_title(tp_strbuf *sb, const char *s)
{
	bool prev_sep = true;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		tp_sb_putc(sb, prev_sep ? (char)toupper(ch) : (char)ch);
		prev_sep = !(isalnum(ch) || ch == '_' || ch >= 0x80);
	}
}

/* Prometheus's floatToTime + time.Time.String(): seconds go through a
 * nanosecond int64 into model.Time, so precision is milliseconds. Returns
 * false when v*1e9 overflows int64. */
static bool go_time(tp_strbuf *sb, double secs)
{
	double ns = secs * 1e9;
	if (!(ns <= 9.2233720368547758e18 && ns >= -9.2233720368547758e18))
		return false;
	int64_t ms = (int64_t)ns / 1000000;
	int64_t sec = ms / 1000, frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	char b[64];
	strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm);
	tp_sb_puts(sb, b);
	if (frac) {
		char f[8];
		snprintf(f, sizeof(f), ".%03d", (int)frac);
		size_t n = strlen(f);
		while (f[n - 1] == '0')
			f[--n] = '\0';
		tp_sb_puts(sb, f);
	}
	tp_sb_puts(sb, " +0000 UTC");
	return true;
}

static void url_escape(tp_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
			tp_sb_putc(sb, (char)ch);
		else if (ch == ' ')
			tp_sb_putc(sb, '+');
		else
			tp_sb_printf(sb, "%%%02X", ch);
	}
}

static const char *sb_arena(tctx *c, tp_strbuf *sb)
{
	const char *r = tp_arena_strdup(c->a, tp_sb_cstr(sb));
	tp_sb_free(sb);
	return r;
}

/* Go fmt's Sprintf over tvals, for the verbs rule templates use. */
static const char *go_printf(tctx *c, const char *fmt, const tval *args, int nargs)
{
	tp_strbuf sb = { 0 };
	int ai = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			tp_sb_putc(&sb, *p);
			continue;
		}
		const char *spec = p++;
		while (*p && strchr("+-# 0", *p))
			p++;
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
		char verb = *p;
		if (!verb)
			break;
		if (verb == '%') {
			tp_sb_putc(&sb, '%');
			continue;
		}
		char cfmt[32];
		size_t sl = (size_t)(p - spec);
		if (sl > 24)
			sl = 24;
		memcpy(cfmt, spec, sl);
		cfmt[sl] = '\0';
		if (ai >= nargs) {
			tp_sb_printf(&sb, "%%!%c(MISSING)", verb);
			continue;
		}
		const tval *a = &args[ai++];
		switch (verb) {
		case 'd':
			if (a->t == T_INT) {
				strcat(cfmt, "lld");
				tp_sb_printf(&sb, cfmt, (long long)a->i);
			} else {
				tp_sb_printf(&sb, "%%!d(%s=%s)", type_name(a), to_str(c, a));
			}
			break;
		case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
			double f;
			if (a->t == T_FLOAT || a->t == T_INT) {
				f = a->t == T_FLOAT ? a->f : (double)a->i;
				if (isnan(f) || isinf(f)) {
					tp_sb_puts(&sb, isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf");
				} else {
					size_t l = strlen(cfmt);
					cfmt[l] = verb;
					cfmt[l + 1] = '\0';
					tp_sb_printf(&sb, cfmt, f);
				}
			} else {
				tp_sb_printf(&sb, "%%!%c(%s=%s)", verb, type_name(a), to_str(c, a));
			}
			break;
		}
		case 'q': {
			tp_sb_putc(&sb, '"');
			for (const char *s = to_str(c, a); *s; s++) {
				if (*s == '"' || *s == '\\')
					tp_sb_putc(&sb, '\\');
				if (*s == '\n')
					tp_sb_puts(&sb, "\\n");
				else
					tp_sb_putc(&sb, *s);
			}
			tp_sb_putc(&sb, '"');
			break;
		}
		case 'x': case 'X':
			if (a->t == T_INT) {
				strcat(cfmt, verb == 'x' ? "llx" : "llX");
				tp_sb_printf(&sb, cfmt, (long long)a->i);
			} else {
				for (const char *s = to_str(c, a); *s; s++)
					tp_sb_printf(&sb, verb == 'x' ? "%02x" : "%02X", (unsigned char)*s);
			}
			break;
		case 't':
			tp_sb_puts(&sb, a->t == T_BOOL ? (a->b ? "true" : "false") : to_str(c, a));
			break;
		default: { /* s, v and anything else print the value */
			const char *s = to_str(c, a);
			char *dot = strchr(cfmt, '.');
			if (verb == 's' && (dot || isdigit((unsigned char)cfmt[1]) || cfmt[1] == '-')) {
				strcat(cfmt, "s");
				tp_sb_printf(&sb, cfmt, s);
			} else {
				tp_sb_puts(&sb, s);
			}
		}
		}
	}
	while (ai < nargs) {
		tp_sb_puts(&sb, ai == 0 ? "%!(EXTRA " : ", ");
		tp_sb_printf(&sb, "%s=%s", type_name(&args[ai]), to_str(c, &args[ai]));
		if (++ai == nargs)
			tp_sb_putc(&sb, ')');
	}
	return sb_arena(c, &sb);
}

static int cmp_vals(tctx *c, const tval *a, const tval *b, const char *fn, bool *ok)
{
	*ok = true;
	if ((a->t == T_FLOAT || a->t == T_INT) && (b->t == T_FLOAT || b->t == T_INT)) {
		double x = a->t == T_FLOAT ? a->f : (double)a->i, y = b->t == T_FLOAT ? b->f : (double)b->i;
		return (x > y) - (x < y);
	}
	if (a->t == T_STR && b->t == T_STR)
		return strcmp(a->s, b->s);
	if (a->t == T_BOOL && b->t == T_BOOL && (strcmp(fn, "eq") == 0 || strcmp(fn, "ne") == 0))
		return a->b != b->b;
	*ok = false;
	fail(c, "executing \"%s\": error calling %s: incompatible types for comparison", c->name, fn);
	return 0;
}

static int cmp_samples(const void *x, const void *y, void *label)
{
	const char *a = tp_labels_get(&((const rules_tmpl_sample *)x)->labels, label);
	const char *b = tp_labels_get(&((const rules_tmpl_sample *)y)->labels, label);
	return strcmp(a ? a : "", b ? b : "");
}

static bool want_args(tctx *c, const char *fn, int nargs, int want)
{
	if (nargs == want)
		return true;
	fail(c, "executing \"%s\": wrong number of args for %s: want %d got %d", c->name, fn, want, nargs);
	return false;
}

/* Go's net.SplitHostPort: false when s is not host:port. */
static bool split_host_port(tctx *c, const char *s, const char **host, const char **port)
{
	const char *last = strrchr(s, ':');
	if (!last)
		return false;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb + 1 != last)
			return false;
		*host = tp_arena_strndup(c->a, s + 1, (size_t)(rb - s - 1));
	} else {
		if (memchr(s, ':', (size_t)(last - s)))
			return false; /* too many colons */
		*host = tp_arena_strndup(c->a, s, (size_t)(last - s));
	}
	if (strchr(*host, '[') || strchr(*host, ']'))
		return false;
	*port = last + 1;
	return true;
}

static tval call_func(tctx *c, const char *fn, tval *args, int n)
{
	tval nil = { .t = T_NIL };
	double f;
	tp_strbuf sb = { 0 };
	if (strcmp(fn, "printf") == 0) {
		if (n < 1)
			return want_args(c, fn, n, 1), nil;
		return v_str(go_printf(c, to_str(c, &args[0]), args + 1, n - 1));
	}
	if (strcmp(fn, "print") == 0 || strcmp(fn, "println") == 0) {
		for (int i = 0; i < n; i++) {
			/* Go's Sprint adds spaces between operands when neither is a string */
			if (i && (fn[5] == 'l' || (args[i].t != T_STR && args[i - 1].t != T_STR)))
				tp_sb_putc(&sb, ' ');
			print_val(c, &sb, &args[i]);
		}
		if (fn[5] == 'l')
			tp_sb_putc(&sb, '\n');
		return v_str(sb_arena(c, &sb));
	}
	if (strcmp(fn, "len") == 0) {
		if (!want_args(c, fn, n, 1))
			return nil;
		tval r = { .t = T_INT };
		if (args[0].t == T_STR)
			r.i = (int64_t)strlen(args[0].s);
		else if (args[0].t == T_MAP)
			r.i = args[0].map ? args[0].map->n : 0;
		else if (args[0].t == T_SAMPLES)
			r.i = (int64_t)args[0].n;
		else
			fail(c, "executing \"%s\": error calling len: len of type %s", c->name, type_name(&args[0]));
		return r;
	}
	if (strcmp(fn, "index") == 0) {
		if (n < 2)
			return want_args(c, fn, n, 2), nil;
		if (args[0].t == T_MAP)
			return field_of(c, args[0], to_str(c, &args[1]));
		if (args[0].t == T_SAMPLES && args[1].t == T_INT) {
			if (args[1].i < 0 || (size_t)args[1].i >= args[0].n) {
				fail(c, "executing \"%s\": error calling index: index out of range: %lld", c->name,
				     (long long)args[1].i);
				return nil;
			}
			return (tval){ .t = T_SAMPLE, .samples = &args[0].samples[args[1].i], .n = 1 };
		}
		fail(c, "executing \"%s\": error calling index: can't index item of type %s", c->name, type_name(&args[0]));
		return nil;
	}
	if (strcmp(fn, "eq") == 0 || strcmp(fn, "ne") == 0 || strcmp(fn, "lt") == 0 || strcmp(fn, "le") == 0 ||
	    strcmp(fn, "gt") == 0 || strcmp(fn, "ge") == 0) {
		if (n < 2)
			return want_args(c, fn, n, 2), nil;
		bool ok;
		if (strcmp(fn, "eq") == 0) {
			for (int i = 1; i < n; i++) {
				int r = cmp_vals(c, &args[0], &args[i], fn, &ok);
				if (!ok)
					return nil;
				if (r == 0)
					return v_bool(true);
			}
			return v_bool(false);
		}
		int r = cmp_vals(c, &args[0], &args[1], fn, &ok);
		if (!ok)
			return nil;
		switch (fn[0]) {
		case 'n': return v_bool(r != 0);
		case 'l': return v_bool(fn[1] == 't' ? r < 0 : r <= 0);
		default: return v_bool(fn[1] == 't' ? r > 0 : r >= 0);
		}
	}
	if (strcmp(fn, "and") == 0 || strcmp(fn, "or") == 0) {
		if (n < 1)
			return want_args(c, fn, n, 1), nil;
		bool is_and = fn[0] == 'a';
		for (int i = 0; i < n - 1; i++)
			if (truth(&args[i]) != is_and)
				return args[i];
		return args[n - 1];
	}
	if (strcmp(fn, "not") == 0)
		return want_args(c, fn, n, 1) ? v_bool(!truth(&args[0])) : nil;
	if (strcmp(fn, "humanize") == 0 || strcmp(fn, "humanize1024") == 0 || strcmp(fn, "humanizeDuration") == 0 ||
	    strcmp(fn, "humanizePercentage") == 0 || strcmp(fn, "humanizeTimestamp") == 0) {
		if (!want_args(c, fn, n, 1) || !to_float(c, &args[0], &f, fn))
			return nil;
		char b[64];
		if (strcmp(fn, "humanize") == 0) {
			static const char *big[] = { "k", "M", "G", "T", "P", "E", "Z", "Y" };
			static const char *small[] = { "m", "u", "n", "p", "f", "a", "z", "y" };
			const char *pre = "";
			if (f == 0 || isnan(f) || isinf(f)) {
				snprintf(b, sizeof(b), "%.4g", f);
			} else if (fabs(f) >= 1) {
				for (size_t i = 0; i < 8 && fabs(f) >= 1000; i++) {
					pre = big[i];
					f /= 1000;
				}
				snprintf(b, sizeof(b), "%.4g%s", f, pre);
			} else {
				for (size_t i = 0; i < 8 && fabs(f) < 1; i++) {
					pre = small[i];
					f *= 1000;
				}
				snprintf(b, sizeof(b), "%.4g%s", f, pre);
			}
		} else if (strcmp(fn, "humanize1024") == 0) {
			static const char *big[] = { "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi" };
			const char *pre = "";
			if (fabs(f) <= 1 || isnan(f) || isinf(f)) {
				snprintf(b, sizeof(b), "%.4g", f);
			} else {
				for (size_t i = 0; i < 8 && fabs(f) >= 1024; i++) {
					pre = big[i];
					f /= 1024;
				}
				snprintf(b, sizeof(b), "%.4g%s", f, pre);
			}
		} else if (strcmp(fn, "humanizeDuration") == 0) {
			if (isnan(f) || isinf(f)) {
				snprintf(b, sizeof(b), "%.4g", f);
			} else if (f == 0) {
				snprintf(b, sizeof(b), "%.4gs", f);
			} else if (fabs(f) >= 1) {
				const char *sign = f < 0 ? "-" : "";
				f = fabs(f);
				int64_t d = (int64_t)f, s = d % 60, m = (d / 60) % 60, h = (d / 3600) % 24, dd = d / 86400;
				if (dd)
					snprintf(b, sizeof(b), "%s%lldd %lldh %lldm %llds", sign, (long long)dd, (long long)h,
						 (long long)m, (long long)s);
				else if (h)
					snprintf(b, sizeof(b), "%s%lldh %lldm %llds", sign, (long long)h, (long long)m,
						 (long long)s);
				else if (m)
					snprintf(b, sizeof(b), "%s%lldm %llds", sign, (long long)m, (long long)s);
				else
					snprintf(b, sizeof(b), "%s%.4gs", sign, f);
			} else {
				static const char *small[] = { "m", "u", "n", "p", "f", "a", "z", "y" };
				const char *pre = "";
				for (size_t i = 0; i < 8 && fabs(f) < 1; i++) {
					pre = small[i];
					f *= 1000;
				}
				snprintf(b, sizeof(b), "%.4g%ss", f, pre);
			}
		} else if (strcmp(fn, "humanizePercentage") == 0) {
			snprintf(b, sizeof(b), "%.4g%%", f * 100);
		} else {
			if (isnan(f) || isinf(f)) {
				snprintf(b, sizeof(b), "%.4g", f);
			} else if (go_time(&sb, f)) {
				return v_str(sb_arena(c, &sb));
			} else {
				tp_sb_free(&sb);
				fail(c, "executing \"%s\": error calling %s: %g cannot be represented as a nanoseconds timestamp "
					"since it overflows int64", c->name, fn, f);
				return nil;
			}
		}
		/* Go prints NaN/Inf as NaN, +Inf, -Inf in %g */
		if (isnan(f) && strstr(b, "nan"))
			snprintf(b, sizeof(b), "NaN");
		else if (isinf(f) && strstr(b, "inf"))
			snprintf(b, sizeof(b), "%s", f > 0 ? "+Inf" : "-Inf");
		return v_str(tp_arena_strdup(c->a, b));
	}
	if (strcmp(fn, "title") == 0 || strcmp(fn, "toUpper") == 0 || strcmp(fn, "toLower") == 0 ||
	    strcmp(fn, "safeHtml") == 0 || strcmp(fn, "urlquery") == 0 || strcmp(fn, "html") == 0 ||
	    strcmp(fn, "js") == 0) {
		if (!want_args(c, fn, n, 1))
			return nil;
		const char *s = to_str(c, &args[0]);
		if (fn[0] == 't' && fn[1] == 'i') {
			go_title(&sb, s);
		} else if (fn[0] == 't') {
			for (; *s; s++)
				tp_sb_putc(&sb, fn[2] == 'U' ? (char)toupper((unsigned char)*s) : (char)tolower((unsigned char)*s));
		} else if (fn[0] == 'u') {
			url_escape(&sb, s);
		} else {
			tp_sb_puts(&sb, s);
		}
		return v_str(sb_arena(c, &sb));
	}
	if (strcmp(fn, "match") == 0) {
		if (!want_args(c, fn, n, 2))
			return nil;
		pcre2_code *re = compile_re(c, fn, to_str(c, &args[0]));
		if (!re)
			return nil;
		const char *s = to_str(c, &args[1]);
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
		int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
		pcre2_match_data_free(md);
		pcre2_code_free(re);
		return v_bool(rc >= 0);
	}
	if (strcmp(fn, "reReplaceAll") == 0) {
		if (!want_args(c, fn, n, 3))
			return nil;
		pcre2_code *re = compile_re(c, fn, to_str(c, &args[0]));
		if (!re)
			return nil;
		const char *repl = to_str(c, &args[1]), *s = to_str(c, &args[2]);
		size_t len = strlen(s), off = 0;
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
		while (off <= len) {
			int rc = pcre2_match(re, (PCRE2_SPTR)s, len, off, 0, md, NULL);
			if (rc < 0)
				break;
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			tp_sb_append(&sb, s + off, ov[0] - off);
			expand_repl(&sb, repl, s, re, ov, rc);
			if (ov[1] == ov[0]) { /* empty match: copy one char and move on */
				if (ov[1] < len)
					tp_sb_putc(&sb, s[ov[1]]);
				off = ov[1] + 1;
			} else {
				off = ov[1];
			}
		}
		if (off < len)
			tp_sb_append(&sb, s + off, len - off);
		pcre2_match_data_free(md);
		pcre2_code_free(re);
		return v_str(sb_arena(c, &sb));
	}
	if (strcmp(fn, "query") == 0) {
		if (!want_args(c, fn, n, 1))
			return nil;
		const char *q = to_str(c, &args[0]);
		if (!c->d->query) {
			fail(c, "executing \"%s\": error calling query: no query engine", c->name);
			return nil;
		}
		rules_tmpl_sample *res = NULL;
		size_t nres = 0;
		char *err = NULL;
		if (c->d->query(c->d->query_ud, q, c->d->t_ms, &res, &nres, &err) != 0) {
			fail(c, "executing \"%s\": error calling query: %s", c->name, err ? err : "query failed");
			free(err);
			return nil;
		}
		/* copy into the arena so the callee's memory can go */
		rules_tmpl_sample *cp = tp_arena_alloc(c->a, sizeof(*cp) * (nres ? nres : 1));
		for (size_t i = 0; i < nres; i++) {
			cp[i].value = res[i].value;
			cp[i].labels = tp_labels_copy(c->a, &res[i].labels, true);
		}
		if (c->d->query_free)
			c->d->query_free(c->d->query_ud, res, nres);
		return (tval){ .t = T_SAMPLES, .samples = cp, .n = nres };
	}
	if (strcmp(fn, "first") == 0) {
		if (!want_args(c, fn, n, 1))
			return nil;
		if (args[0].t != T_SAMPLES || args[0].n == 0) {
			fail(c, "executing \"%s\": error calling first: first() called on vector with no elements", c->name);
			return nil;
		}
		return (tval){ .t = T_SAMPLE, .samples = args[0].samples, .n = 1 };
	}
	if (strcmp(fn, "label") == 0 || strcmp(fn, "strvalue") == 0) {
		bool is_label = fn[0] == 'l';
		if (!want_args(c, fn, n, is_label ? 2 : 1))
			return nil;
		const tval *s = &args[is_label ? 1 : 0];
		if (s->t != T_SAMPLE)
			return v_str("");
		const char *v = tp_labels_get(&s->samples[0].labels, is_label ? to_str(c, &args[0]) : "__value__");
		return v_str(v ? v : "");
	}
	if (strcmp(fn, "value") == 0) {
		if (!want_args(c, fn, n, 1))
			return nil;
		if (args[0].t != T_SAMPLE) {
			fail(c, "executing \"%s\": error calling value: value of type %s", c->name, type_name(&args[0]));
			return nil;
		}
		return v_float(args[0].samples[0].value);
	}
	if (strcmp(fn, "sortByLabel") == 0) {
		if (!want_args(c, fn, n, 2))
			return nil;
		if (args[1].t != T_SAMPLES)
			return args[1];
		rules_tmpl_sample *cp = tp_arena_alloc(c->a, sizeof(*cp) * (args[1].n ? args[1].n : 1));
		memcpy(cp, args[1].samples, sizeof(*cp) * args[1].n);
		qsort_r(cp, args[1].n, sizeof(*cp), cmp_samples, (void *)to_str(c, &args[0]));
		return (tval){ .t = T_SAMPLES, .samples = cp, .n = args[1].n };
	}
	if (strcmp(fn, "externalURL") == 0 || strcmp(fn, "pathPrefix") == 0) {
		const char *u = c->d->external_url ? c->d->external_url : "";
		if (fn[0] == 'e')
			return v_str(u);
		const char *p = strstr(u, "://");
		p = p ? strchr(p + 3, '/') : NULL;
		return v_str(p ? p : "");
	}
	if (strcmp(fn, "graphLink") == 0 || strcmp(fn, "tableLink") == 0) {
		if (!want_args(c, fn, n, 1))
			return nil;
		tp_sb_puts(&sb, c->d->external_url ? c->d->external_url : "");
		tp_sb_puts(&sb, "/graph?g0.expr=");
		url_escape(&sb, to_str(c, &args[0]));
		tp_sb_puts(&sb, fn[0] == 'g' ? "&g0.tab=0" : "&g0.tab=1");
		return v_str(sb_arena(c, &sb));
	}
	if (strcmp(fn, "args") == 0) {
		tp_label *lv = tp_arena_alloc(c->a, sizeof(tp_label) * (size_t)(n ? n : 1));
		for (int i = 0; i < n; i++) {
			char k[16];
			snprintf(k, sizeof(k), "arg%d", i);
			lv[i] = (tp_label){ tp_arena_strdup(c->a, k), to_str(c, &args[i]) };
		}
		tp_labels *m = tp_arena_alloc(c->a, sizeof(*m));
		*m = (tp_labels){ lv, (uint32_t)n };
		tp_labels_normalize(m);
		return (tval){ .t = T_MAP, .map = m };
	}
	if (strcmp(fn, "toTime") == 0) {
		if (!want_args(c, fn, n, 1) || !to_float(c, &args[0], &f, fn))
			return nil;
		if (!go_time(&sb, f)) {
			tp_sb_free(&sb);
			fail(c, "executing \"%s\": error calling toTime: %g cannot be represented as a nanoseconds "
				"timestamp since it overflows int64", c->name, f);
			return nil;
		}
		return v_str(sb_arena(c, &sb));
	}
	if (strcmp(fn, "parseDuration") == 0) {
		if (!want_args(c, fn, n, 1))
			return nil;
		const char *s = to_str(c, &args[0]);
		int64_t ms;
		if (tp_duration_parse(s, strlen(s), &ms) != 0) {
			fail(c, "executing \"%s\": error calling parseDuration: not a valid duration string: \"%s\"", c->name, s);
			return nil;
		}
		return v_float((double)ms / 1000.0);
	}
	if (strcmp(fn, "stripPort") == 0 || strcmp(fn, "stripDomain") == 0) {
		if (!want_args(c, fn, n, 1))
			return nil;
		const char *s = to_str(c, &args[0]);
		const char *host, *port;
		if (!split_host_port(c, s, &host, &port)) {
			host = s;
			port = NULL;
		}
		if (fn[5] == 'P')
			return v_str(port ? host : s);
		unsigned char ipbuf[16];
		if (inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1)
			return v_str(s);
		const char *dot = strchr(host, '.');
		size_t hl = dot ? (size_t)(dot - host) : strlen(host);
		if (port && strchr(host, ':'))
			tp_sb_printf(&sb, "[%.*s]:%s", (int)hl, host, port);
		else if (port)
			tp_sb_printf(&sb, "%.*s:%s", (int)hl, host, port);
		else
			tp_sb_append(&sb, host, hl);
		return v_str(sb_arena(c, &sb));
	}
	fail(c, "function \"%s\" not defined", fn);
	return nil;
}

static tval eval_arg(tctx *c, const targ *a, const tval *dot)
{
	switch (a->kind) {
	case A_DOT: return *dot;
	case A_FIELD: return apply_fields(c, *dot, a);
	case A_VAR: {
		tvar *v = var_find(c, a->s);
		if (!v) {
			fail(c, "undefined variable \"%s\"", a->s);
			return (tval){ .t = T_NIL };
		}
		return apply_fields(c, v->v, a);
	}
	case A_STR: return v_str(a->s);
	case A_NUM:
		if (a->isint)
			return (tval){ .t = T_INT, .i = (int64_t)a->num };
		return v_float(a->num);
	case A_BOOL: return v_bool(a->b);
	case A_NIL: return (tval){ .t = T_NIL };
	case A_PIPE: return apply_fields(c, exec_pipe(c, a->pipe, dot), a);
	case A_FUNC: return call_func(c, a->s, NULL, 0);
	}
	return (tval){ .t = T_NIL };
}

static tval exec_cmd(tctx *c, const tcmd *cmd, const tval *dot, const tval *prev)
{
	const targ *first = &cmd->args[0];
	if (first->kind == A_FUNC) {
		tval args[18];
		int n = 0;
		for (int i = 1; i < cmd->nargs && !c->failed; i++)
			args[n++] = eval_arg(c, &cmd->args[i], dot);
		if (prev)
			args[n++] = *prev;
		if (c->failed)
			return (tval){ .t = T_NIL };
		return call_func(c, first->s, args, n);
	}
	if (cmd->nargs > 1 || prev) {
		fail(c, "executing \"%s\": can't give argument to non-function", c->name);
		return (tval){ .t = T_NIL };
	}
	return eval_arg(c, first, dot);
}

static tval exec_pipe(tctx *c, const tpipe *p, const tval *dot)
{
	tval v = { .t = T_NIL };
	for (int i = 0; i < p->ncmds && !c->failed; i++)
		v = exec_cmd(c, &p->cmds[i], dot, i ? &v : NULL);
	if (c->failed)
		return v;
	if (p->ndecl == 1 && !p->assign) {
		var_push(c, p->decl[0], v);
	} else if (p->ndecl == 1) {
		tvar *var = var_find(c, p->decl[0]);
		if (!var)
			fail(c, "undefined variable \"%s\"", p->decl[0]);
		else
			var->v = v;
	}
	return v;
}

static void exec_list(tctx *c, const tnode *n, const tval *dot);

static void exec_node(tctx *c, const tnode *n, const tval *dot)
{
	size_t mark = c->nvars;
	switch (n->kind) {
	case N_TEXT:
		tp_sb_append(c->out, n->text, n->len);
		break;
	case N_ACTION: {
		tval v = exec_pipe(c, n->pipe, dot);
		if (!c->failed && n->pipe->ndecl == 0)
			print_val(c, c->out, &v);
		return; /* declarations stay in scope */
	}
	case N_IF:
	case N_WITH: {
		tval v = exec_pipe(c, n->pipe, dot);
		if (c->failed)
			break;
		if (truth(&v))
			exec_list(c, n->list, n->kind == N_WITH ? &v : dot);
		else if (n->elselist)
			exec_list(c, n->elselist, dot);
		break;
	}
	case N_RANGE: {
		/* the pipeline without its declaration: range binds per element */
		tpipe bare = *n->pipe;
		bare.ndecl = 0;
		tval v = exec_pipe(c, &bare, dot);
		if (c->failed)
			break;
		size_t count = v.t == T_MAP ? (v.map ? v.map->n : 0) : v.t == T_SAMPLES ? v.n : 0;
		if (v.t != T_MAP && v.t != T_SAMPLES && v.t != T_NIL) {
			fail(c, "executing \"%s\": range can't iterate over %s", c->name, to_str(c, &v));
			break;
		}
		if (count == 0 && n->elselist)
			exec_list(c, n->elselist, dot);
		for (size_t i = 0; i < count && !c->failed; i++) {
			size_t m2 = c->nvars;
			tval key, elem;
			if (v.t == T_MAP) {
				key = v_str(v.map->v[i].name);
				elem = v_str(v.map->v[i].value);
			} else {
				key = (tval){ .t = T_INT, .i = (int64_t)i };
				elem = (tval){ .t = T_SAMPLE, .samples = &v.samples[i], .n = 1 };
			}
			if (n->pipe->ndecl == 1)
				var_push(c, n->pipe->decl[0], elem);
			else if (n->pipe->ndecl == 2) {
				var_push(c, n->pipe->decl[0], key);
				var_push(c, n->pipe->decl[1], elem);
			}
			exec_list(c, n->list, &elem);
			c->nvars = m2;
		}
		break;
	}
	}
	c->nvars = mark;
}

static void exec_list(tctx *c, const tnode *n, const tval *dot)
{
	if (++c->depth > 100) {
		fail(c, "executing \"%s\": exceeded maximum template depth (100)", c->name);
		return;
	}
	for (; n && !c->failed; n = n->next)
		exec_node(c, n, dot);
	c->depth--;
}

/* ---- API ---- */

static const char prelude[] = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
			      "{{$externalURL := .ExternalURL}}{{$value := .Value}}";

static void ctx_init(tctx *c, tp_arena *a, const char *name, const char *text)
{
	memset(c, 0, sizeof(*c));
	c->a = a;
	c->name = name;
	c->src = text;
	c->len = strlen(text);
	c->line = 1;
}

int rules_template_run(const char *name, const char *text, const rules_tmpl_data *d, tp_strbuf *out)
{
	tp_arena a;
	tp_arena_init(&a);
	tp_strbuf full = { 0 };
	tp_sb_puts(&full, prelude);
	tp_sb_puts(&full, text);
	tctx c;
	ctx_init(&c, &a, name, tp_sb_cstr(&full));
	tnode *root = parse_all(&c);
	int rc = 0;
	if (!c.failed) {
		static const tp_labels empty = { 0 };
		rules_tmpl_data dd = *d;
		if (!dd.labels)
			dd.labels = &empty;
		if (!dd.external_labels)
			dd.external_labels = &empty;
		c.d = &dd;
		c.out = out;
		size_t start = out->len;
		tval dot = { .t = T_DOT };
		exec_list(&c, root, &dot);
		if (c.failed)
			out->len = start;
	}
	if (c.failed) {
		tp_sb_puts(out, tp_sb_cstr(&c.err));
		rc = -1;
	}
	free(c.vars);
	tp_sb_free(&c.err);
	tp_sb_free(&full);
	tp_arena_free(&a);
	return rc;
}

void rules_template_expand(const char *name, const char *text, const rules_tmpl_data *d, tp_strbuf *out)
{
	tp_strbuf tmp = { 0 };
	if (rules_template_run(name, text, d, &tmp) != 0)
		tp_sb_printf(out, "<error expanding template: %s>", tp_sb_cstr(&tmp));
	else
		tp_sb_append(out, tp_sb_cstr(&tmp), tmp.len);
	tp_sb_free(&tmp);
}

int rules_template_check(const char *name, const char *text, tp_strbuf *err)
{
	tp_arena a;
	tp_arena_init(&a);
	tp_strbuf full = { 0 };
	tp_sb_puts(&full, prelude);
	tp_sb_puts(&full, text);
	tctx c;
	ctx_init(&c, &a, name, tp_sb_cstr(&full));
	parse_all(&c);
	int rc = c.failed ? -1 : 0;
	if (c.failed)
		tp_sb_puts(err, tp_sb_cstr(&c.err));
	tp_sb_free(&c.err);
	tp_sb_free(&full);
	tp_arena_free(&a);
	return rc;
}
