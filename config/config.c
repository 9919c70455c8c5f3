/* SPDX-License-Identifier: Apache-2.0
 * config.c - prometheus.yml loader: a schema-driven decoder over libyaml's
 * document tree that reproduces yaml.v2's strict-mode errors, plus
 * Prometheus 2.42's defaults and validation (see config.h).
 *
 * Structure: every C struct of config.h has a `schema` (Go type name for
 * messages, field table, init for defaults, validate for the checks the Go
 * UnmarshalYAML performs). One generic walker decodes, frees and compares
 * through these tables, so adding a key is one table line.
 *
 * Error model (mirrors yaml.v2 + Prometheus):
 *  - type errors (unknown or repeated key, wrong node kind, bad scalar) are
 *    collected for the whole document and reported together as
 *    "yaml: unmarshal errors:\n  line N: ...";
 *  - a struct's validation runs only when its subtree had no type error;
 *  - the first validation error (d->fatal) stops decoding at once. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include <cjson/cJSON.h>

#include "config/config.h"
#include "lib/common.h"
#include "lib/duration.h"
#include "lib/labels.h"

/* ---- types ---- */

typedef enum fkind {
	K_STR,       /* char * */
	K_BOOL,      /* bool */
	K_UINT,      /* uint64_t, Go uint / uint64 */
	K_INT,       /* int64_t, Go int */
	K_DUR,       /* int64_t ms, model.Duration */
	K_SIZE,      /* int64_t bytes, units.Base2Bytes */
	K_STRS,      /* config_strs */
	K_LABELSET,  /* config_kvs; names validated (model.LabelSet) */
	K_KVS,       /* config_kvs; map[string]string */
	K_PARAMS,    /* config_params; url.Values */
	K_STRUCT,    /* embedded struct, schema sub */
	K_INLINE,    /* embedded struct whose keys belong to the parent */
	K_LIST,      /* struct { T **v; size_t n; }, items of schema sub */
	K_RELABELS,  /* config_relabels */
	K_PRESENT,   /* bool set when the key is present; content accepted unchecked */
} fkind;

struct dec;
typedef struct schema schema;

typedef struct field {
	const char *key;
	fkind kind;
	size_t off;
	const schema *sub;
	const char *go_type;  /* for "cannot unmarshal ... into X" */
} field;

struct schema {
	const char *go_type;
	size_t size;
	const field *fields;  /* terminated by key == NULL */
	void (*init)(void *obj);
	int (*validate)(struct dec *d, void *obj);  /* 0 or -1 with d->fatal set */
	ptrdiff_t set_off;                          /* bool "set" member, or -1 */
};

typedef struct dec {
	yaml_document_t *doc;
	tp_strbuf terrors;  /* "\n  line N: ..." per type error */
	size_t nterr;
	tp_strbuf fatal;    /* first validation error */
	bool failed;        /* fatal is set */
	void *root;         /* the config being decoded */
	const char *text;   /* the YAML text, for anchor names in messages */
	size_t text_len;
	yaml_node_t *active[200];  /* container nodes being decoded (cycle guard) */
	size_t depth;
} dec;

typedef struct list_hdr {  /* layout of every struct { T **v; size_t n; } */
	void **v;
	size_t n;
} list_hdr;

/* ---- small helpers ---- */

static int fail(dec *d, const char *fmt, ...) TP_PRINTF(2, 3);
static int fail(dec *d, const char *fmt, ...)
{
	if (d->failed)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	tp_sb_vprintf(&d->fatal, fmt, ap);
	va_end(ap);
	d->failed = true;
	return -1;
}

static void terr(dec *d, const yaml_node_t *n, const char *fmt, ...) TP_PRINTF(3, 4);
static void terr(dec *d, const yaml_node_t *n, const char *fmt, ...)
{
	tp_sb_printf(&d->terrors, "\n  line %zu: ", n->start_mark.line + 1);
	va_list ap;
	va_start(ap, fmt);
	tp_sb_vprintf(&d->terrors, fmt, ap);
	va_end(ap);
	d->nterr++;
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const true_words[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
					  "true", "True", "TRUE", NULL };
static const char *const false_words[] = { "n", "N", "no", "No", "NO", "off", "Off", "OFF",
					   "false", "False", "FALSE", NULL };

/* Go strconv.ParseInt(s without '_', 0, 64). */
static bool parse_go_int(const char *s, int64_t *out, bool *neg)
{
	char buf[80];
	size_t k = 0;
	for (const char *p = s; *p && k + 1 < sizeof(buf); p++)
		if (*p != '_')
			buf[k++] = *p;
	buf[k] = '\0';
	if (!k)
		return false;
	const char *p = buf;
	*neg = false;
	if (*p == '+' || *p == '-')
		*neg = *p++ == '-';
	int base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		base = 8, p += 2;
	else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
		base = 2, p += 2;
	else if (p[0] == '0' && p[1])
		base = 8, p += 1;
	if (!*p)
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(p, &end, base);
	if (*end || errno || (*neg && v > (1ULL << 63)))
		return false;
	*out = *neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool is_go_float(const char *s)
{
	static const char *const specials[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
						"-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL };
	if (one_of(s, specials))
		return true;
	/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	} else {
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p);)
				p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

/* yaml.v2's resolve(): the short tag of a node. */
static const char *node_tag(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "!!map";
	if (n->type == YAML_SEQUENCE_NODE)
		return "!!seq";
	/* An explicit tag other than !!str is visible in the document tree (an
	 * explicit !!str is not: libyaml gives untagged scalars that tag too). */
	static const struct { const char *full, *s; } explicit_tags[] = {
		{ YAML_INT_TAG, "!!int" }, { YAML_FLOAT_TAG, "!!float" }, { YAML_BOOL_TAG, "!!bool" },
		{ YAML_NULL_TAG, "!!null" },
	};
	for (size_t i = 0; n->tag && i < TP_ARRAY_LEN(explicit_tags); i++)
		if (strcmp((const char *)n->tag, explicit_tags[i].full) == 0)
			return explicit_tags[i].s;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return "!!str";
	const char *s = sval(n);
	if (one_of(s, null_words))
		return "!!null";
	if (one_of(s, true_words) || one_of(s, false_words))
		return "!!bool";
	int64_t iv;
	bool neg;
	if (parse_go_int(s, &iv, &neg))
		return "!!int";
	if (is_go_float(s))
		return "!!float";
	return "!!str";
}

/* yaml.v2's scalar -> int/uint: an !!int that fits (no negative for
 * uint; "-0" is 0), or an !!float that fits, truncated toward zero. */
static bool scalar_to_int(const yaml_node_t *n, bool is_unsigned, int64_t *out)
{
	if (n->type != YAML_SCALAR_NODE)
		return false;
	const char *tag = node_tag(n);
	if (strcmp(tag, "!!int") == 0) {
		bool neg;
		if (!parse_go_int(sval(n), out, &neg))
			return false;
		return !(is_unsigned && neg && *out != 0);
	}
	if (strcmp(tag, "!!float") == 0) {
		char buf[64];
		size_t k = 0;
		for (const char *p = sval(n); *p && k + 1 < sizeof(buf); p++)
			if (*p != '_')
				buf[k++] = *p;
		buf[k] = '\0';
		if (strpbrk(buf, "nN"))  /* .inf / .nan never fit */
			return false;
		double v = strtod(buf, NULL);
		if (is_unsigned) {
			if (v > 18446744073709551615.0)
				return false;
			if (v < 0) {  /* Go converts as amd64 does: via int64 */
				if (v <= -9223372036854775808.0)
					return false;
				*out = (int64_t)v;
				return true;
			}
			*out = (int64_t)(v >= 9223372036854775808.0 ? (uint64_t)(v - 9223372036854775808.0) + (1ULL << 63)
								    : (uint64_t)v);
			return true;
		}
		if (v < -9223372036854775808.0 || v >= 9223372036854775808.0)
			return false;
		*out = (int64_t)v;
		return true;
	}
	return false;
}

static bool is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && strcmp(node_tag(n), "!!null") == 0;
}

static bool is_merge_key(const yaml_node_t *k)
{
	return k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       strcmp(sval(k), "<<") == 0;
}

/* "line N: cannot unmarshal !!str `abc` into uint" */
static void terr_into(dec *d, const yaml_node_t *n, const char *into)
{
	const char *tag = node_tag(n);
	if (n->type == YAML_SCALAR_NODE) {
		const char *v = sval(n);
		if (strlen(v) > 10)
			terr(d, n, "cannot unmarshal %s `%.7s...` into %s", tag, v, into);
		else
			terr(d, n, "cannot unmarshal %s `%s` into %s", tag, v, into);
	} else {
		terr(d, n, "cannot unmarshal %s into %s", tag, into);
	}
}

static yaml_node_t *node(dec *d, int id)
{
	return yaml_document_get_node(d->doc, id);
}

static void set_str(char **p, const char *v)
{
	free(*p);
	*p = v ? tp_xstrdup(v) : NULL;
}

static const char *S(const char *s)
{
	return s ? s : "";
}

/* Go's %q for the ASCII printable strings config messages quote. */
static void sb_quote(tp_strbuf *sb, const char *s)
{
	tp_sb_putc(sb, '"');
	for (const unsigned char *p = (const unsigned char *)S(s); *p; p++) {
		if (*p == '"' || *p == '\\')
			tp_sb_printf(sb, "\\%c", *p);
		else if (*p == '\n')
			tp_sb_puts(sb, "\\n");
		else if (*p == '\t')
			tp_sb_puts(sb, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			tp_sb_printf(sb, "\\x%02x", *p);
		else
			tp_sb_putc(sb, (char)*p);
	}
	tp_sb_putc(sb, '"');
}

static int failq(dec *d, const char *pre, const char *s, const char *post)
{
	if (d->failed)
		return -1;
	tp_sb_puts(&d->fatal, pre);
	sb_quote(&d->fatal, s);
	tp_sb_puts(&d->fatal, post);
	d->failed = true;
	return -1;
}

/* units.ParseBase2Bytes. */
static int parse_base2_bytes(const char *orig, int64_t *out, char *err, size_t errlen)
{
	static const struct { const char *u; double m; } units[] = {
		{ "B", 1 }, { "KB", 1024.0 }, { "KiB", 1024.0 }, { "MB", 1048576.0 }, { "MiB", 1048576.0 },
		{ "GB", 1073741824.0 }, { "GiB", 1073741824.0 }, { "TB", 1099511627776.0 },
		{ "TiB", 1099511627776.0 }, { "PB", 1125899906842624.0 }, { "PiB", 1125899906842624.0 },
		{ "EB", 1152921504606846976.0 }, { "EiB", 1152921504606846976.0 },
	};
	const char *s = orig;
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*s)
		goto invalid;
	double f = 0;
	while (*s) {
		if (!(*s == '.' || isdigit((unsigned char)*s)))
			goto invalid;
		double g = 0;
		bool pre = false, post = false;
		while (isdigit((unsigned char)*s)) {
			g = g * 10 + (*s++ - '0');
			pre = true;
		}
		if (*s == '.') {
			s++;
			double scale = 1;
			while (isdigit((unsigned char)*s)) {
				scale /= 10;
				g += (*s++ - '0') * scale;
				post = true;
			}
		}
		if (!pre && !post)
			goto invalid;
		const char *u = s;
		while (*s && *s != '.' && !isdigit((unsigned char)*s))
			s++;
		size_t ul = (size_t)(s - u);
		double m = -1;
		for (size_t i = 0; i < TP_ARRAY_LEN(units); i++)
			if (strlen(units[i].u) == ul && strncmp(units[i].u, u, ul) == 0)
				m = units[i].m;
		if (m < 0) {
			snprintf(err, errlen, "units: unknown unit %.*s in %s", (int)ul, u, orig);
			return -1;
		}
		f += g * m;
	}
	if (f > 9.2e18) {
		snprintf(err, errlen, "units: overflow parsing unit");
		return -1;
	}
	*out = (int64_t)(neg ? -f : f);
	return 0;
invalid:
	snprintf(err, errlen, "units: invalid %s", orig);
	return -1;
}

/* ---- path helpers ---- */

/* Go's path/filepath.Clean for Unix paths. */
static char *path_clean(const char *p)
{
	if (!*p)
		return tp_xstrdup(".");
	bool rooted = p[0] == '/';
	size_t n = strlen(p);
	char *out = tp_xmalloc(n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && p[r] != '/')
				out[w++] = p[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

char *config_path_clean(const char *p)
{
	return path_clean(p);
}

char *config_join_dir(const char *dir, const char *p)
{
	if (!p || !*p || p[0] == '/' || !dir)
		return p ? tp_xstrdup(p) : NULL;
	tp_strbuf sb = { 0 };
	tp_sb_printf(&sb, "%s/%s", dir, p);
	char *c = path_clean(sb.buf);
	tp_sb_free(&sb);
	return c;
}

static void join_in_place(char **p, const char *dir)
{
	if (!*p || !**p)
		return;
	char *j = config_join_dir(dir, *p);
	free(*p);
	*p = j;
}

/* ---- generic walker: decode ---- */

static int decode_pairs(dec *d, const schema *s, void *obj, yaml_node_t *n);
static int kvs_pairs(dec *d, config_kvs *m, yaml_node_t *n, bool labelset);
static int relabel_pairs(dec *d, relabel_config *c, yaml_node_t *n);
static int decode_relabels(dec *d, config_relabels *r, yaml_node_t *n);
static int decode_list(dec *d, const field *f, list_hdr *l, yaml_node_t *n);

/* Cycle and depth guard for container nodes: libyaml resolves an alias to
 * its anchored node, so "a value containing itself" shows up as re-entering
 * a node already being decoded (yaml.v2: "anchor 'x' value contains
 * itself"). The anchor's name is read back from the text. */
static int enter(dec *d, yaml_node_t *n)
{
	for (size_t i = 0; i < d->depth; i++) {
		if (d->active[i] == n) {
			size_t at = n->start_mark.index, e;
			if (d->text && at < d->text_len && d->text[at] == '&') {
				for (e = ++at; e < d->text_len && !strchr(" \t\r\n,[]{}", d->text[e]);)
					e++;
				return fail(d, "yaml: anchor '%.*s' value contains itself", (int)(e - at), d->text + at);
			}
			return fail(d, "yaml: anchor value contains itself");
		}
	}
	if (d->depth == TP_ARRAY_LEN(d->active))
		return fail(d, "yaml: exceeded max depth of %zu", TP_ARRAY_LEN(d->active));
	d->active[d->depth++] = n;
	return 0;
}

static int decode_value(dec *d, const field *f, void *obj, yaml_node_t *n);
static int decode_struct(dec *d, const schema *s, void *obj, yaml_node_t *n);

static const field *find_field(const schema *s, const char *key, void *obj, void **base)
{
	for (const field *f = s->fields; f->key; f++) {
		if (f->kind == K_INLINE) {
			const field *g = find_field(f->sub, key, (char *)obj + f->off, base);
			if (g)
				return g;
		} else if (strcmp(f->key, key) == 0) {
			*base = obj;
			return f;
		}
	}
	return NULL;
}

/* yaml.v2's merge: "<<: *map" or "<<: [*a, *b]" (the first map wins, so
 * they are applied last to first); keys written next to "<<" override. */
static int decode_merge(dec *d, const schema *s, void *obj, yaml_node_t *v)
{
	if (v->type == YAML_MAPPING_NODE)
		return decode_pairs(d, s, obj, v);
	if (v->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = v->data.sequence.items.top; it > v->data.sequence.items.start;) {
			yaml_node_t *e = node(d, *--it);
			if (e->type != YAML_MAPPING_NODE)
				return fail(d, "yaml: map merge requires map or sequence of maps as the value");
			if (decode_pairs(d, s, obj, e) != 0)
				return -1;
		}
		return 0;
	}
	return fail(d, "yaml: map merge requires map or sequence of maps as the value");
}

/* The pairs of one mapping node; repeated keys are detected per node, as
 * yaml.v2 does (a merged map has its own set). */
static int decode_pairs_in(dec *d, const schema *s, void *obj, yaml_node_t *n)
{
	const field *seen[64];
	size_t nseen = 0;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(d, p->key), *v = node(d, p->value);
		if (is_merge_key(k)) {
			if (decode_merge(d, s, obj, v) != 0)
				return -1;
			continue;
		}
		if (k->type != YAML_SCALAR_NODE) {
			terr_into(d, k, "string");
			continue;
		}
		void *base;
		const field *f = find_field(s, sval(k), obj, &base);
		if (!f) {
			terr(d, k, "field %s not found in type %s", sval(k), s->go_type);
			continue;
		}
		bool dup = false;
		for (size_t i = 0; i < nseen; i++)
			dup |= seen[i] == f;
		if (dup) {
			terr(d, k, "field %s already set in type %s", sval(k), s->go_type);
			continue;
		}
		if (nseen < TP_ARRAY_LEN(seen))
			seen[nseen++] = f;
		if (decode_value(d, f, base, v) != 0)
			return -1;
	}
	return 0;
}

static int decode_pairs(dec *d, const schema *s, void *obj, yaml_node_t *n)
{
	if (enter(d, n) != 0)
		return -1;
	int rc = decode_pairs_in(d, s, obj, n);
	d->depth--;
	return rc;
}

static int decode_struct(dec *d, const schema *s, void *obj, yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE) {
		terr_into(d, n, s->go_type);
		return 0;
	}
	size_t before = d->nterr;
	if (decode_pairs(d, s, obj, n) != 0)
		return -1;
	if (d->nterr == before && s->validate)
		return s->validate(d, obj);
	return 0;
}

static void kvs_add(config_kvs *m, const char *k, const char *v)
{
	m->v = tp_xrealloc(m->v, sizeof(*m->v) * (m->n + 1));
	m->v[m->n++] = (config_kv){ tp_xstrdup(k), tp_xstrdup(v) };
}

static void strs_add(config_strs *l, const char *s)
{
	l->v = tp_xrealloc(l->v, sizeof(char *) * (l->n + 1));
	l->v[l->n++] = tp_xstrdup(s);
}

void config_strs_free(config_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void kvs_free(config_kvs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].value);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static void params_free(config_params *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		for (size_t j = 0; j < m->v[i].n_values; j++)
			free(m->v[i].values[j]);
		free(m->v[i].values);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static void relabels_free(config_relabels *r)
{
	for (size_t i = 0; i < r->n; i++)
		relabel_config_clear(&r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* A sequence of scalars into config_strs; type errors as yaml.v2. */
static void decode_strs(dec *d, config_strs *l, yaml_node_t *n, const char *go_type)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		terr_into(d, n, go_type);
		return;
	}
	config_strs_free(l);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = node(d, *it);
		if (e->type != YAML_SCALAR_NODE) {
			terr_into(d, e, "string");
			continue;
		}
		strs_add(l, is_null(e) ? "" : sval(e));
	}
}

/* The pairs of a mapping of scalars, "<<" merges included (in a map a
 * merged key counts as set: repeating it is an error, as in yaml.v2). */
static int kvs_pairs_in(dec *d, config_kvs *m, yaml_node_t *n, bool labelset)
{
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(d, p->key), *v = node(d, p->value);
		if (is_merge_key(k)) {
			if (v->type == YAML_MAPPING_NODE) {
				if (kvs_pairs(d, m, v, labelset) != 0)
					return -1;
				continue;
			}
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(d, "yaml: map merge requires map or sequence of maps as the value");
			for (yaml_node_item_t *it = v->data.sequence.items.top; it > v->data.sequence.items.start;) {
				yaml_node_t *e = node(d, *--it);
				if (e->type != YAML_MAPPING_NODE)
					return fail(d, "yaml: map merge requires map or sequence of maps as the value");
				if (kvs_pairs(d, m, e, labelset) != 0)
					return -1;
			}
			continue;
		}
		if (k->type != YAML_SCALAR_NODE) {
			terr_into(d, k, "string");
			continue;
		}
		if (labelset && !tp_label_name_valid(sval(k), strlen(sval(k))))
			return failq(d, "", sval(k), " is not a valid label name");
		bool dup = false;
		for (size_t i = 0; i < m->n; i++)
			dup |= strcmp(m->v[i].name, sval(k)) == 0;
		if (dup) {
			tp_strbuf q = { 0 };
			sb_quote(&q, sval(k));
			terr(d, k, "key %s already set in map", q.buf);
			tp_sb_free(&q);
			continue;
		}
		if (v->type != YAML_SCALAR_NODE) {
			terr_into(d, v, labelset ? "model.LabelValue" : "string");
			continue;
		}
		kvs_add(m, sval(k), is_null(v) ? "" : sval(v));
	}
	return 0;
}

static int kvs_pairs(dec *d, config_kvs *m, yaml_node_t *n, bool labelset)
{
	if (enter(d, n) != 0)
		return -1;
	int rc = kvs_pairs_in(d, m, n, labelset);
	d->depth--;
	return rc;
}

/* A mapping of scalars; labelset validates names (fatal, Go's wording). */
static int decode_kvs(dec *d, config_kvs *m, yaml_node_t *n, const char *go_type, bool labelset)
{
	if (n->type != YAML_MAPPING_NODE) {
		terr_into(d, n, go_type);
		return 0;
	}
	kvs_free(m);
	return kvs_pairs(d, m, n, labelset);
}

static void decode_params(dec *d, config_params *m, yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE) {
		terr_into(d, n, "url.Values");
		return;
	}
	params_free(m);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(d, p->key), *v = node(d, p->value);
		if (k->type != YAML_SCALAR_NODE) {
			terr_into(d, k, "string");
			continue;
		}
		config_strs vals = { 0 };
		if (!is_null(v))
			decode_strs(d, &vals, v, "[]string");
		m->v = tp_xrealloc(m->v, sizeof(*m->v) * (m->n + 1));
		m->v[m->n++] = (config_param){ tp_xstrdup(sval(k)), vals.v, vals.n };
	}
}

static int relabel_merge(dec *d, relabel_config *c, yaml_node_t *v)
{
	if (v->type == YAML_MAPPING_NODE)
		return relabel_pairs(d, c, v);
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(d, "yaml: map merge requires map or sequence of maps as the value");
	for (yaml_node_item_t *it = v->data.sequence.items.top; it > v->data.sequence.items.start;) {
		yaml_node_t *e = node(d, *--it);
		if (e->type != YAML_MAPPING_NODE)
			return fail(d, "yaml: map merge requires map or sequence of maps as the value");
		if (relabel_pairs(d, c, e) != 0)
			return -1;
	}
	return 0;
}

/* The keys of one relabel mapping node ("<<" merges included). */
static int relabel_pairs_in(dec *d, relabel_config *c, yaml_node_t *n)
{
	const char *seen[16];
	size_t nseen = 0;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(d, p->key), *v = node(d, p->value);
		if (is_merge_key(k)) {
			if (relabel_merge(d, c, v) != 0)
				return -1;
			continue;
		}
		if (k->type != YAML_SCALAR_NODE) {
			terr_into(d, k, "string");
			continue;
		}
		const char *key = sval(k);
		static const char *const keys[] = { "source_labels", "separator", "regex", "modulus",
						    "target_label", "replacement", "action", NULL };
		if (!one_of(key, keys)) {
			terr(d, k, "field %s not found in type relabel.plain", key);
			continue;
		}
		bool dup = false;
		for (size_t i = 0; i < nseen; i++)
			dup |= strcmp(seen[i], key) == 0;
		if (dup) {
			terr(d, k, "field %s already set in type relabel.plain", key);
			continue;
		}
		seen[nseen++] = key;
		bool null = is_null(v);
		if (strcmp(key, "source_labels") == 0) {
			config_strs l = { 0 };
			if (!null)
				decode_strs(d, &l, v, "model.LabelNames");
			for (size_t i = 0; i < l.n; i++) {
				if (!tp_label_name_valid(l.v[i], strlen(l.v[i]))) {
					int rc = failq(d, "", l.v[i], " is not a valid label name");
					config_strs_free(&l);
					return rc;
				}
			}
			c->source_labels = l.v;
			c->n_source_labels = l.n;
			c->source_labels_set = !null;
			continue;
		}
		if (strcmp(key, "modulus") == 0) {
			int64_t iv;
			bool neg;
			if (null)
				c->modulus = 0;
			else if (v->type == YAML_SCALAR_NODE && strcmp(node_tag(v), "!!int") == 0 &&
				 parse_go_int(sval(v), &iv, &neg) && !neg)
				c->modulus = (uint64_t)iv;
			else
				terr_into(d, v, "uint64");
			continue;
		}
		if (v->type != YAML_SCALAR_NODE) {
			terr_into(d, v, "string");
			continue;
		}
		const char *sv = null ? "" : sval(v);
		if (strcmp(key, "separator") == 0) {
			set_str(&c->separator, sv);
		} else if (strcmp(key, "regex") == 0) {
			set_str(&c->regex, sv);
			c->regex_set = true;
		} else if (strcmp(key, "target_label") == 0) {
			set_str(&c->target_label, sv);
		} else if (strcmp(key, "replacement") == 0) {
			set_str(&c->replacement, sv);
		} else if (strcmp(key, "action") == 0 && null) {
			set_str(&c->action_text, NULL);  /* Go's zero Action: "cannot be empty" */
			c->action = RELABEL_ACTION_INVALID;
		} else if (strcmp(key, "action") == 0) {
			if (relabel_action_parse(sv) == RELABEL_ACTION_INVALID)
				return failq(d, "unknown relabel action ", sv, "");
			set_str(&c->action_text, sv);
		}
	}
	return 0;
}

static int relabel_pairs(dec *d, relabel_config *c, yaml_node_t *n)
{
	if (enter(d, n) != 0)
		return -1;
	int rc = relabel_pairs_in(d, c, n);
	d->depth--;
	return rc;
}

/* One relabel rule, validated on the spot as relabel.Config.UnmarshalYAML. */
static int decode_relabel(dec *d, relabel_config *c, yaml_node_t *n)
{
	relabel_config_init(c);
	if (n->type != YAML_MAPPING_NODE) {
		terr_into(d, n, "relabel.plain");
		return 0;
	}
	size_t before = d->nterr;
	if (relabel_pairs(d, c, n) != 0)
		return -1;
	if (d->nterr != before)
		return 0;
	char err[512];
	if (relabel_config_finish(c, err, sizeof(err)) != 0)
		return fail(d, "%s", err);
	return 0;
}

static int decode_relabels_in(dec *d, config_relabels *r, yaml_node_t *n)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		terr_into(d, n, "[]*relabel.Config");
		return 0;
	}
	relabels_free(r);
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	r->v = tp_xcalloc(cnt ? cnt : 1, sizeof(relabel_config));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = node(d, *it);
		relabel_config *c = &r->v[r->n++];
		if (is_null(e)) {
			/* A null rule stays without a compiled regex; the owner's
			 * validation reports it with its own wording. */
			relabel_config_init(c);
			continue;
		}
		if (decode_relabel(d, c, e) != 0)
			return -1;
	}
	return 0;
}

static int decode_relabels(dec *d, config_relabels *r, yaml_node_t *n)
{
	if (enter(d, n) != 0)
		return -1;
	int rc = decode_relabels_in(d, r, n);
	d->depth--;
	return rc;
}

static bool relabels_have_null(const config_relabels *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->v[i].re)
			return true;
	return false;
}

static int decode_list_in(dec *d, const field *f, list_hdr *l, yaml_node_t *n)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		terr_into(d, n, f->go_type);
		return 0;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = node(d, *it);
		l->v = tp_xrealloc(l->v, sizeof(void *) * (l->n + 1));
		if (is_null(e)) {
			l->v[l->n++] = NULL;
			continue;
		}
		void *item = tp_xcalloc(1, f->sub->size);
		if (f->sub->init)
			f->sub->init(item);
		l->v[l->n++] = item;
		if (decode_struct(d, f->sub, item, e) != 0)
			return -1;
	}
	return 0;
}

static int decode_list(dec *d, const field *f, list_hdr *l, yaml_node_t *n)
{
	if (enter(d, n) != 0)
		return -1;
	int rc = decode_list_in(d, f, l, n);
	d->depth--;
	return rc;
}

static int decode_value(dec *d, const field *f, void *obj, yaml_node_t *n)
{
	void *p = (char *)obj + f->off;
	bool null = is_null(n);
	switch (f->kind) {
	case K_STR:
		if (n->type != YAML_SCALAR_NODE)
			terr_into(d, n, "string");
		else
			set_str((char **)p, null ? NULL : sval(n));
		return 0;
	case K_BOOL:
		if (null)
			*(bool *)p = false;
		else if (n->type == YAML_SCALAR_NODE && strcmp(node_tag(n), "!!bool") == 0)
			*(bool *)p = one_of(sval(n), true_words);
		else
			terr_into(d, n, "bool");
		return 0;
	case K_UINT:
	case K_INT: {
		const char *into = f->go_type ? f->go_type : (f->kind == K_UINT ? "uint" : "int");
		int64_t iv = 0;
		if (!null && !scalar_to_int(n, f->kind == K_UINT, &iv)) {
			terr_into(d, n, into);
			return 0;
		}
		if (f->kind == K_UINT)
			*(uint64_t *)p = (uint64_t)iv;
		else
			*(int64_t *)p = iv;
		return 0;
	}
	case K_DUR: {
		if (n->type != YAML_SCALAR_NODE) {
			terr_into(d, n, "string");
			return 0;
		}
		if (null) {
			*(int64_t *)p = 0;
			return 0;
		}
		int64_t ms;
		if (!*sval(n))
			return fail(d, "empty duration string");
		if (tp_duration_parse(sval(n), strlen(sval(n)), &ms) != 0)
			return failq(d, "not a valid duration string: ", sval(n), "");
		*(int64_t *)p = ms;
		return 0;
	}
	case K_SIZE: {
		if (n->type != YAML_SCALAR_NODE) {
			terr_into(d, n, "string");
			return 0;
		}
		char err[256];
		int64_t b = 0;
		if (!null && parse_base2_bytes(sval(n), &b, err, sizeof(err)) != 0)
			return fail(d, "%s", err);
		*(int64_t *)p = b;
		return 0;
	}
	case K_STRS:
		if (null)
			config_strs_free(p);
		else
			decode_strs(d, p, n, f->go_type ? f->go_type : "[]string");
		return 0;
	case K_LABELSET:
	case K_KVS:
		if (null) {
			kvs_free(p);
			return 0;
		}
		return decode_kvs(d, p, n, f->go_type, f->kind == K_LABELSET);
	case K_PARAMS:
		if (null)
			params_free(p);
		else
			decode_params(d, p, n);
		return 0;
	case K_STRUCT:
		if (null)
			return 0;
		if (f->sub->init && n->type == YAML_MAPPING_NODE)
			f->sub->init(p);
		if (f->sub->set_off >= 0 && n->type == YAML_MAPPING_NODE)
			*(bool *)((char *)p + f->sub->set_off) = true;
		return decode_struct(d, f->sub, p, n);
	case K_LIST:
		if (null)
			return 0;
		return decode_list(d, f, p, n);
	case K_RELABELS:
		if (null)
			return 0;
		return decode_relabels(d, p, n);
	case K_PRESENT:
		*(bool *)p = !null;
		return 0;
	case K_INLINE:
		break;
	}
	return 0;
}

/* ---- generic walker: free and compare ---- */

static void free_struct(const schema *s, void *obj);

static void free_list(const schema *sub, list_hdr *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i]) {
			free_struct(sub, l->v[i]);
			free(l->v[i]);
		}
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void free_struct(const schema *s, void *obj)
{
	for (const field *f = s->fields; f->key; f++) {
		void *p = (char *)obj + f->off;
		switch (f->kind) {
		case K_STR:
			free(*(char **)p);
			*(char **)p = NULL;
			break;
		case K_STRS:
			config_strs_free(p);
			break;
		case K_LABELSET:
		case K_KVS:
			kvs_free(p);
			break;
		case K_PARAMS:
			params_free(p);
			break;
		case K_STRUCT:
		case K_INLINE:
			free_struct(f->sub, p);
			break;
		case K_LIST:
			free_list(f->sub, p);
			break;
		case K_RELABELS:
			relabels_free(p);
			break;
		default:
			break;
		}
	}
}

static bool eq_struct(const schema *s, const void *a, const void *b);

static bool eq_str(const char *a, const char *b)
{
	return strcmp(S(a), S(b)) == 0;
}

static bool eq_kvs(const config_kvs *a, const config_kvs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!eq_str(a->v[i].name, b->v[i].name) || !eq_str(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

static bool eq_strs(const config_strs *a, const config_strs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!eq_str(a->v[i], b->v[i]))
			return false;
	return true;
}

static bool eq_field(const field *f, const void *pa, const void *pb)
{
	switch (f->kind) {
	case K_STR:
		return eq_str(*(char *const *)pa, *(char *const *)pb);
	case K_BOOL:
	case K_PRESENT:
		return *(const bool *)pa == *(const bool *)pb;
	case K_UINT:
	case K_INT:
	case K_DUR:
	case K_SIZE:
		return memcmp(pa, pb, sizeof(int64_t)) == 0;
	case K_STRS:
		return eq_strs(pa, pb);
	case K_LABELSET:
	case K_KVS:
		return eq_kvs(pa, pb);
	case K_PARAMS: {
		const config_params *a = pa, *b = pb;
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++) {
			config_strs x = { a->v[i].values, a->v[i].n_values };
			config_strs y = { b->v[i].values, b->v[i].n_values };
			if (!eq_str(a->v[i].name, b->v[i].name) || !eq_strs(&x, &y))
				return false;
		}
		return true;
	}
	case K_STRUCT:
	case K_INLINE:
		return eq_struct(f->sub, pa, pb);
	case K_LIST: {
		const list_hdr *a = pa, *b = pb;
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++) {
			if (!a->v[i] || !b->v[i]) {
				if (a->v[i] != b->v[i])
					return false;
				continue;
			}
			if (!eq_struct(f->sub, a->v[i], b->v[i]))
				return false;
		}
		return true;
	}
	case K_RELABELS: {
		const config_relabels *a = pa, *b = pb;
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++)
			if (!relabel_config_equal(&a->v[i], &b->v[i]))
				return false;
		return true;
	}
	}
	return false;
}

static bool eq_struct(const schema *s, const void *a, const void *b)
{
	if (s->set_off >= 0 && *(const bool *)((const char *)a + s->set_off) !=
				       *(const bool *)((const char *)b + s->set_off))
		return false;
	for (const field *f = s->fields; f->key; f++)
		if (!eq_field(f, (const char *)a + f->off, (const char *)b + f->off))
			return false;
	return true;
}

/* ---- schemas: HTTP client ---- */

#define OFF(T, m) offsetof(T, m)
#define END { NULL, K_STR, 0, NULL, NULL }

static const field basic_auth_fields[] = {
	{ "username", K_STR, OFF(config_basic_auth, username), NULL, NULL },
	{ "password", K_STR, OFF(config_basic_auth, password), NULL, NULL },
	{ "password_file", K_STR, OFF(config_basic_auth, password_file), NULL, NULL },
	END,
};
static const schema basic_auth_schema = { "config.plain", sizeof(config_basic_auth), basic_auth_fields,
					  NULL, NULL, OFF(config_basic_auth, set) };

static const field authorization_fields[] = {
	{ "type", K_STR, OFF(config_authorization, type), NULL, NULL },
	{ "credentials", K_STR, OFF(config_authorization, credentials), NULL, NULL },
	{ "credentials_file", K_STR, OFF(config_authorization, credentials_file), NULL, NULL },
	END,
};
static const schema authorization_schema = { "config.Authorization", sizeof(config_authorization),
					     authorization_fields, NULL, NULL, OFF(config_authorization, set) };

static int tls_validate(dec *d, void *obj)
{
	config_tls *t = obj;
	static const char *const versions[] = { "TLS10", "TLS11", "TLS12", "TLS13", NULL };
	if (t->min_version && t->min_version[0] && !one_of(t->min_version, versions))
		return fail(d, "unknown TLS version: %s", t->min_version);
	return 0;
}

static const field tls_fields[] = {
	{ "ca_file", K_STR, OFF(config_tls, ca_file), NULL, NULL },
	{ "cert_file", K_STR, OFF(config_tls, cert_file), NULL, NULL },
	{ "key_file", K_STR, OFF(config_tls, key_file), NULL, NULL },
	{ "server_name", K_STR, OFF(config_tls, server_name), NULL, NULL },
	{ "insecure_skip_verify", K_BOOL, OFF(config_tls, insecure_skip_verify), NULL, NULL },
	{ "min_version", K_STR, OFF(config_tls, min_version), NULL, NULL },
	END,
};
static const schema tls_schema = { "config.plain", sizeof(config_tls), tls_fields, NULL, tls_validate,
				   OFF(config_tls, set) };

static const field http_fields[] = {
	{ "basic_auth", K_STRUCT, OFF(config_http_client, basic_auth), &basic_auth_schema, NULL },
	{ "authorization", K_STRUCT, OFF(config_http_client, authorization), &authorization_schema, NULL },
	{ "oauth2", K_PRESENT, OFF(config_http_client, oauth2_set), NULL, NULL },
	{ "bearer_token", K_STR, OFF(config_http_client, bearer_token), NULL, NULL },
	{ "bearer_token_file", K_STR, OFF(config_http_client, bearer_token_file), NULL, NULL },
	{ "tls_config", K_STRUCT, OFF(config_http_client, tls), &tls_schema, NULL },
	{ "proxy_url", K_STR, OFF(config_http_client, proxy_url), NULL, NULL },
	{ "no_proxy", K_STR, OFF(config_http_client, no_proxy), NULL, NULL },
	{ "proxy_from_environment", K_BOOL, OFF(config_http_client, proxy_from_environment), NULL, NULL },
	{ "follow_redirects", K_BOOL, OFF(config_http_client, follow_redirects), NULL, NULL },
	{ "enable_http2", K_BOOL, OFF(config_http_client, enable_http2), NULL, NULL },
	END,
};
static const schema http_schema = { "config.plain", sizeof(config_http_client), http_fields, NULL, NULL, -1 };

static void http_init(config_http_client *h)
{
	h->follow_redirects = true;
	h->enable_http2 = true;
}

/* common/config HTTPClientConfig.Validate (v0.39, Prometheus 2.42). */
static int http_validate(dec *d, config_http_client *c)
{
	bool bt = c->bearer_token && *c->bearer_token, btf = c->bearer_token_file && *c->bearer_token_file;
	if (bt && btf)
		return fail(d, "at most one of bearer_token & bearer_token_file must be configured");
	if ((c->basic_auth.set || c->oauth2_set) && (bt || btf))
		return fail(d, "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured");
	if (c->basic_auth.set && S(c->basic_auth.password)[0] && S(c->basic_auth.password_file)[0])
		return fail(d, "at most one of basic_auth password & password_file must be configured");
	if (c->authorization.set) {
		config_authorization *a = &c->authorization;
		if (bt || btf)
			return fail(d, "authorization is not compatible with bearer_token & bearer_token_file");
		if (S(a->credentials)[0] && S(a->credentials_file)[0])
			return fail(d, "at most one of authorization credentials & credentials_file must be configured");
		/* strings.TrimSpace, then default Bearer */
		const char *t = S(a->type);
		while (isspace((unsigned char)*t))
			t++;
		size_t tl = strlen(t);
		while (tl && isspace((unsigned char)t[tl - 1]))
			tl--;
		char *trimmed = tl ? tp_xstrndup(t, tl) : tp_xstrdup("Bearer");
		free(a->type);
		a->type = trimmed;
		if (strcasecmp(a->type, "basic") == 0)
			return fail(d, "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
		if (c->basic_auth.set || c->oauth2_set)
			return fail(d, "at most one of basic_auth, oauth2 & authorization must be configured");
	} else if (bt || btf) {
		c->authorization.set = true;
		set_str(&c->authorization.type, "Bearer");
		if (bt) {
			set_str(&c->authorization.credentials, c->bearer_token);
			set_str(&c->bearer_token, NULL);
		}
		if (btf) {
			set_str(&c->authorization.credentials_file, c->bearer_token_file);
			set_str(&c->bearer_token_file, NULL);
		}
	}
	return 0;
}

static void http_set_directory(config_http_client *h, const char *dir)
{
	join_in_place(&h->basic_auth.password_file, dir);
	join_in_place(&h->authorization.credentials_file, dir);
	join_in_place(&h->bearer_token_file, dir);
	join_in_place(&h->tls.ca_file, dir);
	join_in_place(&h->tls.cert_file, dir);
	join_in_place(&h->tls.key_file, dir);
}

/* ---- schemas: discovery ---- */

static const field static_fields[] = {
	{ "targets", K_STRS, OFF(config_static, targets), NULL, "[]string" },
	{ "labels", K_LABELSET, OFF(config_static, labels), NULL, "model.LabelSet" },
	END,
};
static const schema static_schema = {
	"struct { Targets []string \"yaml:\\\"targets\\\"\"; Labels model.LabelSet \"yaml:\\\"labels\\\"\" }",
	sizeof(config_static), static_fields, NULL, NULL, -1
};

/* ^[^*]*(\*[^/]*)?$ : at most one '*', and no '/' after it. */
static bool glob_pattern_ok(const char *p)
{
	const char *star = strchr(p, '*');
	return !star || (!strchr(star + 1, '*') && !strchr(star + 1, '/'));
}

static bool file_sd_name_ok(const char *p)
{
	static const char *const exts[] = { ".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML", NULL };
	if (!glob_pattern_ok(p))
		return false;
	const char *dot = strrchr(p, '.');
	return dot && one_of(dot, exts) && dot > p;
}

static void file_sd_init(void *obj)
{
	((config_file_sd *)obj)->refresh_interval_ms = 5 * 60 * 1000;
}

static int file_sd_validate(dec *d, void *obj)
{
	config_file_sd *c = obj;
	if (c->files.n == 0)
		return fail(d, "file service discovery config must contain at least one path name");
	for (size_t i = 0; i < c->files.n; i++)
		if (!file_sd_name_ok(c->files.v[i]))
			return failq(d, "path name ", c->files.v[i], " is not valid for file discovery");
	return 0;
}

static const field file_sd_fields[] = {
	{ "files", K_STRS, OFF(config_file_sd, files), NULL, "[]string" },
	{ "refresh_interval", K_DUR, OFF(config_file_sd, refresh_interval_ms), NULL, NULL },
	END,
};
static const schema file_sd_schema = { "file.plain", sizeof(config_file_sd), file_sd_fields, file_sd_init,
				       file_sd_validate, -1 };

static void http_sd_init(void *obj)
{
	config_http_sd *c = obj;
	c->refresh_interval_ms = 60 * 1000;
	http_init(&c->http);
}

/* Enough of Go's url.Parse for the checks Prometheus makes. */
static int url_check(dec *d, const char *u, const char **scheme_end)
{
	const char *colon = strchr(u, ':');
	const char *slash = strchr(u, '/');
	if (colon == u && (!slash || colon < slash))
		return failq(d, "parse ", u, ": missing protocol scheme");
	*scheme_end = (colon && (!slash || colon < slash)) ? colon : NULL;
	return 0;
}

static int http_sd_validate(dec *d, void *obj)
{
	config_http_sd *c = obj;
	if (!c->url || !*c->url)
		return fail(d, "URL is missing");
	const char *se;
	if (url_check(d, c->url, &se) != 0)
		return -1;
	size_t sl = se ? (size_t)(se - c->url) : 0;
	if (!((sl == 4 && strncmp(c->url, "http", 4) == 0) || (sl == 5 && strncmp(c->url, "https", 5) == 0)))
		return fail(d, "URL scheme must be 'http' or 'https'");
	if (strncmp(se, "://", 3) != 0 || se[3] == '\0' || se[3] == '/')
		return fail(d, "host is missing in URL");
	return http_validate(d, &c->http);
}

static const field http_sd_fields[] = {
	{ "url", K_STR, OFF(config_http_sd, url), NULL, NULL },
	{ "refresh_interval", K_DUR, OFF(config_http_sd, refresh_interval_ms), NULL, NULL },
	{ "", K_INLINE, OFF(config_http_sd, http), &http_schema, NULL },
	END,
};
static const schema http_sd_schema = { "http.plain", sizeof(config_http_sd), http_sd_fields, http_sd_init,
				       http_sd_validate, -1 };

/* checkStaticTargets: an address with a '/' is a URL put in by mistake. */
static int check_static_targets(dec *d, config_static **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		for (size_t j = 0; j < v[i]->targets.n; j++)
			if (strchr(v[i]->targets.v[j], '/'))
				return failq(d, "", v[i]->targets.v[j], " is not a valid hostname");
	}
	return 0;
}

/* ---- schemas: scrape ---- */

static void scrape_init(void *obj)
{
	config_scrape *c = obj;
	c->honor_timestamps = true;
	c->metrics_path = tp_xstrdup("/metrics");
	c->scheme = tp_xstrdup("http");
	http_init(&c->http);
}

/* ScrapeConfig.UnmarshalYAML's checks (the global ones come later). */
static int scrape_validate(dec *d, void *obj)
{
	config_scrape *c = obj;
	if (!c->job_name || !*c->job_name)
		return fail(d, "job_name is empty");
	if (http_validate(d, &c->http) != 0)
		return -1;
	if (c->relabel_configs.n == 0 &&
	    check_static_targets(d, c->static_configs.v, c->static_configs.n) != 0)
		return -1;
	if (relabels_have_null(&c->relabel_configs))
		return fail(d, "empty or null target relabeling rule in scrape config");
	if (relabels_have_null(&c->metric_relabel_configs))
		return fail(d, "empty or null metric relabeling rule in scrape config");
	return 0;
}

#define SD_FIELDS(T)                                                                              \
	{ "static_configs", K_LIST, OFF(T, static_configs), &static_schema, "[]*targetgroup.Group" }, \
	{ "file_sd_configs", K_LIST, OFF(T, file_sd_configs), &file_sd_schema, "[]*file.SDConfig" },  \
	{ "http_sd_configs", K_LIST, OFF(T, http_sd_configs), &http_sd_schema, "[]*http.SDConfig" }

static const field scrape_fields[] = {
	{ "job_name", K_STR, OFF(config_scrape, job_name), NULL, NULL },
	{ "honor_labels", K_BOOL, OFF(config_scrape, honor_labels), NULL, NULL },
	{ "honor_timestamps", K_BOOL, OFF(config_scrape, honor_timestamps), NULL, NULL },
	{ "params", K_PARAMS, OFF(config_scrape, params), NULL, NULL },
	{ "scrape_interval", K_DUR, OFF(config_scrape, scrape_interval_ms), NULL, NULL },
	{ "scrape_timeout", K_DUR, OFF(config_scrape, scrape_timeout_ms), NULL, NULL },
	{ "metrics_path", K_STR, OFF(config_scrape, metrics_path), NULL, NULL },
	{ "scheme", K_STR, OFF(config_scrape, scheme), NULL, NULL },
	{ "body_size_limit", K_SIZE, OFF(config_scrape, body_size_limit_bytes), NULL, NULL },
	{ "sample_limit", K_UINT, OFF(config_scrape, sample_limit), NULL, NULL },
	{ "target_limit", K_UINT, OFF(config_scrape, target_limit), NULL, NULL },
	{ "label_limit", K_UINT, OFF(config_scrape, label_limit), NULL, NULL },
	{ "label_name_length_limit", K_UINT, OFF(config_scrape, label_name_length_limit), NULL, NULL },
	{ "label_value_length_limit", K_UINT, OFF(config_scrape, label_value_length_limit), NULL, NULL },
	SD_FIELDS(config_scrape),
	{ "relabel_configs", K_RELABELS, OFF(config_scrape, relabel_configs), NULL, NULL },
	{ "metric_relabel_configs", K_RELABELS, OFF(config_scrape, metric_relabel_configs), NULL, NULL },
	{ "", K_INLINE, OFF(config_scrape, http), &http_schema, NULL },
	END,
};
static const schema scrape_schema = { "config.ScrapeConfig", sizeof(config_scrape), scrape_fields, scrape_init,
				      scrape_validate, -1 };

/* ---- schemas: alerting ---- */

static void am_init(void *obj)
{
	config_alertmanager *c = obj;
	c->scheme = tp_xstrdup("http");
	c->timeout_ms = 10 * 1000;
	c->api_version = tp_xstrdup("v2");
	http_init(&c->http);
}

static int am_validate(dec *d, void *obj)
{
	config_alertmanager *c = obj;
	if (strcmp(S(c->api_version), "v1") != 0 && strcmp(S(c->api_version), "v2") != 0)
		return fail(d, "expected Alertmanager api version to be one of [v1 v2] but got %s", S(c->api_version));
	if (http_validate(d, &c->http) != 0)
		return -1;
	if (c->relabel_configs.n == 0 &&
	    check_static_targets(d, c->static_configs.v, c->static_configs.n) != 0)
		return -1;
	if (relabels_have_null(&c->relabel_configs))
		return fail(d, "empty or null Alertmanager target relabeling rule");
	return 0;
}

static const field am_fields[] = {
	{ "scheme", K_STR, OFF(config_alertmanager, scheme), NULL, NULL },
	{ "path_prefix", K_STR, OFF(config_alertmanager, path_prefix), NULL, NULL },
	{ "timeout", K_DUR, OFF(config_alertmanager, timeout_ms), NULL, NULL },
	{ "api_version", K_STR, OFF(config_alertmanager, api_version), NULL, NULL },
	SD_FIELDS(config_alertmanager),
	{ "relabel_configs", K_RELABELS, OFF(config_alertmanager, relabel_configs), NULL, NULL },
	{ "", K_INLINE, OFF(config_alertmanager, http), &http_schema, NULL },
	END,
};
static const schema am_schema = { "config.AlertmanagerConfig", sizeof(config_alertmanager), am_fields, am_init,
				  am_validate, -1 };

static int alerting_validate(dec *d, void *obj)
{
	config_alerting *c = obj;
	if (relabels_have_null(&c->alert_relabel_configs))
		return fail(d, "empty or null alert relabeling rule");
	for (size_t i = 0; i < c->alertmanagers.n; i++)
		if (!c->alertmanagers.v[i])
			return fail(d, "empty or null alertmanager config section");
	return 0;
}

static const field alerting_fields[] = {
	{ "alert_relabel_configs", K_RELABELS, OFF(config_alerting, alert_relabel_configs), NULL, NULL },
	{ "alertmanagers", K_LIST, OFF(config_alerting, alertmanagers), &am_schema, "config.AlertmanagerConfigs" },
	END,
};
static const schema alerting_schema = { "config.plain", sizeof(config_alerting), alerting_fields, NULL,
					alerting_validate, -1 };

/* ---- schemas: remote write / read ---- */

static void queue_init(void *obj)
{
	config_queue *q = obj;
	*q = (config_queue){ .capacity = 2500, .max_shards = 200, .min_shards = 1, .max_samples_per_send = 500,
			     .batch_send_deadline_ms = 5000, .min_backoff_ms = 30, .max_backoff_ms = 5000 };
}

static const field queue_fields[] = {
	{ "capacity", K_INT, OFF(config_queue, capacity), NULL, NULL },
	{ "max_shards", K_INT, OFF(config_queue, max_shards), NULL, NULL },
	{ "min_shards", K_INT, OFF(config_queue, min_shards), NULL, NULL },
	{ "max_samples_per_send", K_INT, OFF(config_queue, max_samples_per_send), NULL, NULL },
	{ "batch_send_deadline", K_DUR, OFF(config_queue, batch_send_deadline_ms), NULL, NULL },
	{ "min_backoff", K_DUR, OFF(config_queue, min_backoff_ms), NULL, NULL },
	{ "max_backoff", K_DUR, OFF(config_queue, max_backoff_ms), NULL, NULL },
	{ "retry_on_http_429", K_BOOL, OFF(config_queue, retry_on_http_429), NULL, NULL },
	END,
};
/* No init here: keys absent from a present queue_config keep the defaults
 * the remote_write init set, as yaml.v2 does for a non-pointer struct. */
static const schema queue_schema = { "config.QueueConfig", sizeof(config_queue), queue_fields, NULL, NULL, -1 };

static const field metadata_fields[] = {
	{ "send", K_BOOL, OFF(config_metadata, send), NULL, NULL },
	{ "send_interval", K_DUR, OFF(config_metadata, send_interval_ms), NULL, NULL },
	{ "max_samples_per_send", K_INT, OFF(config_metadata, max_samples_per_send), NULL, NULL },
	END,
};
static const schema metadata_schema = { "config.MetadataConfig", sizeof(config_metadata), metadata_fields,
					NULL, NULL, -1 };

static const char *const reserved_headers[] = {
	"host", "content-encoding", "content-length", "content-type", "user-agent", "connection",
	"keep-alive", "proxy-authenticate", "proxy-authorization", "www-authenticate", "accept-encoding",
	"x-prometheus-remote-write-version", "x-prometheus-remote-read-version", "x-amz-date",
	"x-amz-security-token", "x-amz-content-sha256", NULL,
};

static int headers_validate(dec *d, const config_kvs *h)
{
	for (size_t i = 0; i < h->n; i++) {
		if (strcasecmp(h->v[i].name, "authorization") == 0)
			return fail(d, "authorization header must be changed via the basic_auth, authorization, "
				       "oauth2, or sigv4 parameter");
		for (const char *const *r = reserved_headers; *r; r++)
			if (strcasecmp(h->v[i].name, *r) == 0)
				return fail(d, "%s is a reserved header. It must not be changed", h->v[i].name);
	}
	return 0;
}

static void rw_init(void *obj)
{
	config_remote_write *c = obj;
	c->remote_timeout_ms = 30 * 1000;
	queue_init(&c->queue_config);
	c->metadata_config = (config_metadata){ .send = true, .send_interval_ms = 60 * 1000,
						.max_samples_per_send = 500 };
	http_init(&c->http);
}

static int rw_validate(dec *d, void *obj)
{
	config_remote_write *c = obj;
	const char *se;
	if (!c->url || !*c->url)
		return fail(d, "url for remote_write is empty");
	if (url_check(d, c->url, &se) != 0)
		return -1;
	if (relabels_have_null(&c->write_relabel_configs))
		return fail(d, "empty or null relabeling rule in remote write config");
	if (headers_validate(d, &c->headers) != 0 || http_validate(d, &c->http) != 0)
		return -1;
	if ((c->http.basic_auth.set || c->http.authorization.set || c->http.oauth2_set) && c->sigv4_set)
		return fail(d, "at most one of basic_auth, authorization, oauth2, & sigv4 must be configured");
	return 0;
}

static const field rw_fields[] = {
	{ "url", K_STR, OFF(config_remote_write, url), NULL, NULL },
	{ "name", K_STR, OFF(config_remote_write, name), NULL, NULL },
	{ "remote_timeout", K_DUR, OFF(config_remote_write, remote_timeout_ms), NULL, NULL },
	{ "headers", K_KVS, OFF(config_remote_write, headers), NULL, "map[string]string" },
	{ "write_relabel_configs", K_RELABELS, OFF(config_remote_write, write_relabel_configs), NULL, NULL },
	{ "send_exemplars", K_BOOL, OFF(config_remote_write, send_exemplars), NULL, NULL },
	{ "send_native_histograms", K_BOOL, OFF(config_remote_write, send_native_histograms), NULL, NULL },
	{ "queue_config", K_STRUCT, OFF(config_remote_write, queue_config), &queue_schema, NULL },
	{ "metadata_config", K_STRUCT, OFF(config_remote_write, metadata_config), &metadata_schema, NULL },
	{ "sigv4", K_PRESENT, OFF(config_remote_write, sigv4_set), NULL, NULL },
	{ "", K_INLINE, OFF(config_remote_write, http), &http_schema, NULL },
	END,
};
static const schema rw_schema = { "config.plain", sizeof(config_remote_write), rw_fields, rw_init, rw_validate, -1 };

static void rr_init(void *obj)
{
	config_remote_read *c = obj;
	c->remote_timeout_ms = 60 * 1000;
	c->filter_external_labels = true;
	http_init(&c->http);
}

static int rr_validate(dec *d, void *obj)
{
	config_remote_read *c = obj;
	const char *se;
	if (!c->url || !*c->url)
		return fail(d, "url for remote_read is empty");
	if (url_check(d, c->url, &se) != 0)
		return -1;
	if (headers_validate(d, &c->headers) != 0)
		return -1;
	return http_validate(d, &c->http);
}

static const field rr_fields[] = {
	{ "url", K_STR, OFF(config_remote_read, url), NULL, NULL },
	{ "name", K_STR, OFF(config_remote_read, name), NULL, NULL },
	{ "remote_timeout", K_DUR, OFF(config_remote_read, remote_timeout_ms), NULL, NULL },
	{ "headers", K_KVS, OFF(config_remote_read, headers), NULL, "map[string]string" },
	{ "required_matchers", K_KVS, OFF(config_remote_read, required_matchers), NULL, "model.LabelSet" },
	{ "read_recent", K_BOOL, OFF(config_remote_read, read_recent), NULL, NULL },
	{ "filter_external_labels", K_BOOL, OFF(config_remote_read, filter_external_labels), NULL, NULL },
	{ "", K_INLINE, OFF(config_remote_read, http), &http_schema, NULL },
	END,
};
static const schema rr_schema = { "config.plain", sizeof(config_remote_read), rr_fields, rr_init, rr_validate, -1 };

/* ---- schemas: global and root ---- */

static void global_init(void *obj)
{
	memset(obj, 0, sizeof(config_global));  /* GlobalConfig.UnmarshalYAML starts from zero */
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const config_kv *)a)->name, ((const config_kv *)b)->name);
}

static int global_validate(dec *d, void *obj)
{
	config_global *g = obj;
	if (g->external_labels.n > 1)
		qsort(g->external_labels.v, g->external_labels.n, sizeof(config_kv), kv_cmp);
	for (size_t i = 0; i < g->external_labels.n; i++)
		if (!tp_label_name_valid(g->external_labels.v[i].name, strlen(g->external_labels.v[i].name)))
			return failq(d, "", g->external_labels.v[i].name, " is not a valid label name");
	if (g->scrape_interval_ms == 0)
		g->scrape_interval_ms = 60 * 1000;
	if (g->scrape_timeout_ms > g->scrape_interval_ms)
		return fail(d, "global scrape timeout greater than scrape interval");
	if (g->scrape_timeout_ms == 0)
		g->scrape_timeout_ms = TP_MIN(10 * 1000, g->scrape_interval_ms);
	if (g->evaluation_interval_ms == 0)
		g->evaluation_interval_ms = 60 * 1000;
	return 0;
}

static const field global_fields[] = {
	{ "scrape_interval", K_DUR, OFF(config_global, scrape_interval_ms), NULL, NULL },
	{ "scrape_timeout", K_DUR, OFF(config_global, scrape_timeout_ms), NULL, NULL },
	{ "evaluation_interval", K_DUR, OFF(config_global, evaluation_interval_ms), NULL, NULL },
	{ "query_log_file", K_STR, OFF(config_global, query_log_file), NULL, NULL },
	{ "external_labels", K_KVS, OFF(config_global, external_labels), NULL, "map[string]string" },
	END,
};
static const schema global_schema = { "config.plain", sizeof(config_global), global_fields, global_init,
				      global_validate, -1 };

static void root_init(void *obj)
{
	config *c = obj;
	memset(c, 0, sizeof(*c));
	c->global.scrape_interval_ms = 60 * 1000;
	c->global.scrape_timeout_ms = 10 * 1000;
	c->global.evaluation_interval_ms = 60 * 1000;
}

/* ScrapeConfig.Validate(global): interval/timeout defaults and the cap. */
static int scrape_apply_global(dec *d, config_scrape *c, const config_global *g)
{
	if (c->scrape_interval_ms == 0)
		c->scrape_interval_ms = g->scrape_interval_ms;
	if (c->scrape_timeout_ms > c->scrape_interval_ms)
		return failq(d, "scrape timeout greater than scrape interval for scrape config with job name ",
			     c->job_name, "");
	if (c->scrape_timeout_ms == 0)
		c->scrape_timeout_ms = TP_MIN(g->scrape_timeout_ms, c->scrape_interval_ms);
	return 0;
}

static int root_validate(dec *d, void *obj)
{
	config *c = obj;
	for (size_t i = 0; i < c->rule_files.n; i++)
		if (!glob_pattern_ok(c->rule_files.v[i]))
			return failq(d, "invalid rule file path ", c->rule_files.v[i], "");
	for (size_t i = 0; i < c->scrape_configs.n; i++) {
		config_scrape *s = c->scrape_configs.v[i];
		if (!s)
			return fail(d, "empty or null scrape config section");
		if (scrape_apply_global(d, s, &c->global) != 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->scrape_configs.v[j]->job_name, s->job_name) == 0)
				return failq(d, "found multiple scrape configs with job name ", s->job_name, "");
	}
	for (size_t i = 0; i < c->remote_write.n; i++) {
		config_remote_write *w = c->remote_write.v[i];
		if (!w)
			return fail(d, "empty or null remote write config section");
		for (size_t j = 0; j < i && S(w->name)[0]; j++)
			if (strcmp(S(c->remote_write.v[j]->name), w->name) == 0)
				return failq(d, "found multiple remote write configs with job name ", w->name, "");
	}
	for (size_t i = 0; i < c->remote_read.n; i++) {
		config_remote_read *r = c->remote_read.v[i];
		if (!r)
			return fail(d, "empty or null remote read config section");
		for (size_t j = 0; j < i && S(r->name)[0]; j++)
			if (strcmp(S(c->remote_read.v[j]->name), r->name) == 0)
				return failq(d, "found multiple remote read configs with job name ", r->name, "");
	}
	return 0;
}

static const field root_fields[] = {
	{ "global", K_STRUCT, OFF(config, global), &global_schema, NULL },
	{ "alerting", K_STRUCT, OFF(config, alerting), &alerting_schema, NULL },
	{ "rule_files", K_STRS, OFF(config, rule_files), NULL, "[]string" },
	{ "scrape_configs", K_LIST, OFF(config, scrape_configs), &scrape_schema, "[]*config.ScrapeConfig" },
	{ "storage", K_PRESENT, OFF(config, storage_set), NULL, NULL },
	{ "tracing", K_PRESENT, OFF(config, tracing_set), NULL, NULL },
	{ "remote_write", K_LIST, OFF(config, remote_write), &rw_schema, "[]*config.RemoteWriteConfig" },
	{ "remote_read", K_LIST, OFF(config, remote_read), &rr_schema, "[]*config.RemoteReadConfig" },
	END,
};
static const schema root_schema = { "config.plain", sizeof(config), root_fields, root_init, root_validate, -1 };

/* ---- SetDirectory ---- */

static void sd_set_directory(config_file_sd **v, size_t n, config_http_sd **h, size_t hn, const char *dir)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; v[i] && j < v[i]->files.n; j++)
			join_in_place(&v[i]->files.v[j], dir);
	for (size_t i = 0; i < hn; i++)
		if (h[i])
			http_set_directory(&h[i]->http, dir);
}

static void set_directory(config *c, const char *dir)
{
	join_in_place(&c->global.query_log_file, dir);
	for (size_t i = 0; i < c->rule_files.n; i++)
		join_in_place(&c->rule_files.v[i], dir);
	for (size_t i = 0; i < c->scrape_configs.n; i++) {
		config_scrape *s = c->scrape_configs.v[i];
		http_set_directory(&s->http, dir);
		sd_set_directory(s->file_sd_configs.v, s->file_sd_configs.n, s->http_sd_configs.v,
				 s->http_sd_configs.n, dir);
	}
	for (size_t i = 0; i < c->alerting.alertmanagers.n; i++) {
		config_alertmanager *a = c->alerting.alertmanagers.v[i];
		http_set_directory(&a->http, dir);
		sd_set_directory(a->file_sd_configs.v, a->file_sd_configs.n, a->http_sd_configs.v,
				 a->http_sd_configs.n, dir);
	}
	for (size_t i = 0; i < c->remote_write.n; i++)
		http_set_directory(&c->remote_write.v[i]->http, dir);
	for (size_t i = 0; i < c->remote_read.n; i++)
		http_set_directory(&c->remote_read.v[i]->http, dir);
}

/* ---- API ---- */

/* yaml.v2's parser failure text: "yaml: line N: problem". */
static void yaml_parse_error(const yaml_parser_t *p, const char *text, size_t len, tp_strbuf *err)
{
	if (p->error == YAML_COMPOSER_ERROR && p->problem && strcmp(p->problem, "found undefined alias") == 0) {
		/* yaml.v2: "unknown anchor 'x' referenced"; the name follows '*' */
		size_t i = p->problem_mark.index;
		if (i < len && text[i] == '*')
			i++;
		size_t e = i;
		while (e < len && !strchr(" \t\r\n,[]{}", text[e]))
			e++;
		tp_sb_printf(err, "yaml: unknown anchor '%.*s' referenced", (int)(e - i), text + i);
		return;
	}
	size_t line = 0;
	if (p->problem_mark.line != 0) {
		line = p->problem_mark.line;
		if (p->error == YAML_SCANNER_ERROR)
			line++;
	} else if (p->context_mark.line != 0) {
		line = p->context_mark.line;
	}
	tp_sb_puts(err, "yaml: ");
	if (line)
		tp_sb_printf(err, "line %zu: ", line);
	tp_sb_puts(err, p->problem ? p->problem : "unknown problem parsing YAML content");
}

int config_load_string(const char *yaml, size_t len, const char *name, const char *dir, config *out,
		       tp_strbuf *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		tp_sb_printf(err, "parsing YAML file %s: ", name);
		yaml_parse_error(&parser, yaml, len, err);
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);

	config *c = tp_xmalloc(sizeof(*c));
	root_init(c);
	dec d = { .doc = &doc, .root = c, .text = yaml, .text_len = len };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	int rc = 0;
	if (root && !is_null(root))
		rc = decode_struct(&d, &root_schema, c, root);
	yaml_document_delete(&doc);
	if (rc != 0 || d.failed || d.nterr) {
		tp_sb_printf(err, "parsing YAML file %s: ", name);
		if (d.failed)
			tp_sb_puts(err, tp_sb_cstr(&d.fatal));
		else
			tp_sb_printf(err, "yaml: unmarshal errors:%s", tp_sb_cstr(&d.terrors));
		tp_sb_free(&d.fatal);
		tp_sb_free(&d.terrors);
		config_free(c);
		free(c);
		return -1;
	}
	tp_sb_free(&d.fatal);
	tp_sb_free(&d.terrors);
	c->dir = tp_xstrdup(dir ? dir : ".");
	set_directory(c, c->dir);
	*out = *c;
	free(c);
	return 0;
}

/* Go's filepath.Dir. */
static char *path_dir(const char *p)
{
	const char *slash = strrchr(p, '/');
	if (!slash)
		return tp_xstrdup(".");
	char *d = tp_xstrndup(p, (size_t)(slash - p + 1));
	char *c = path_clean(d);
	free(d);
	return c;
}

int config_load_file(const char *path, config *out, tp_strbuf *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
		msg[0] = (char)tolower((unsigned char)msg[0]);
		tp_sb_printf(err, "open %s: %s", path, msg);
		return -1;
	}
	tp_strbuf sb = { 0 };
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		tp_sb_append(&sb, buf, n);
	if (ferror(f)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
		msg[0] = (char)tolower((unsigned char)msg[0]);
		tp_sb_printf(err, "read %s: %s", path, msg);
		fclose(f);
		tp_sb_free(&sb);
		return -1;
	}
	fclose(f);
	char *dir = path_dir(path);
	config c;
	int rc = config_load_string(tp_sb_cstr(&sb), sb.len, path, dir, &c, err);
	free(dir);
	tp_sb_free(&sb);
	if (rc != 0)
		return -1;
	c.path = tp_xstrdup(path);
	*out = c;
	return 0;
}

void config_free(config *cfg)
{
	if (!cfg)
		return;
	free_struct(&root_schema, cfg);
	free(cfg->dir);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

bool config_scrape_equal(const config_scrape *a, const config_scrape *b)
{
	return eq_struct(&scrape_schema, a, b);
}

char *config_default_yaml(const char *listen_addr)
{
	static const char tmpl[] =
		"# tinyprom's built-in configuration (used without --config.file).\n"
		"global:\n"
		"  scrape_interval: 15s\n"
		"  evaluation_interval: 15s\n"
		"scrape_configs:\n"
		"  - job_name: tinyprom\n"
		"    static_configs:\n"
		"      - targets: [\"%s\"]\n";
	tp_strbuf sb = { 0 };
	tp_sb_puts(&sb, "");
	/* The address goes inside a double-quoted YAML scalar: escape it. */
	tp_strbuf addr = { 0 };
	for (const char *p = listen_addr ? listen_addr : "localhost:9090"; *p; p++) {
		if (*p == '"' || *p == '\\')
			tp_sb_putc(&addr, '\\');
		tp_sb_putc(&addr, *p);
	}
	tp_sb_printf(&sb, tmpl, tp_sb_cstr(&addr));
	tp_sb_free(&addr);
	return tp_sb_steal(&sb);
}

int config_load_default(const char *listen_addr, config *out, tp_strbuf *err)
{
	char *y = config_default_yaml(listen_addr);
	int rc = config_load_string(y, strlen(y), "<default config>", ".", out, err);
	free(y);
	return rc;
}

int config_rule_files_resolve(const config *cfg, config_strs *out, tp_strbuf *err)
{
	config_strs res = { 0 };
	for (size_t i = 0; i < cfg->rule_files.n; i++) {
		const char *pat = cfg->rule_files.v[i];
		glob_t g;
		int rc = glob(pat, 0, NULL, &g);
		if (rc != 0 && rc != GLOB_NOMATCH) {
			tp_sb_printf(err, "error retrieving rule files for %s: glob failed", pat);
			config_strs_free(&res);
			return -1;
		}
		size_t n = rc == 0 ? g.gl_pathc : 0;
		if (!strchr(pat, '*') && n == 0) {
			tp_strbuf q = { 0 };
			sb_quote(&q, pat);
			tp_sb_printf(err, "%s does not point to an existing file", q.buf);
			tp_sb_free(&q);
			if (rc == 0)
				globfree(&g);
			config_strs_free(&res);
			return -1;
		}
		for (size_t j = 0; j < n; j++)
			strs_add(&res, g.gl_pathv[j]);
		if (rc == 0)
			globfree(&g);
	}
	*out = res;
	return 0;
}

/* ---- file_sd target files ---- */

static const field target_groups_field = { "", K_LIST, 0, &static_schema, "[]*targetgroup.Group" };

static int read_file(const char *path, tp_strbuf *sb, tp_strbuf *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
		msg[0] = (char)tolower((unsigned char)msg[0]);
		tp_sb_printf(err, "open %s: %s", path, msg);
		return -1;
	}
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		tp_sb_append(sb, buf, n);
	int rc = ferror(f) ? -1 : 0;
	if (rc) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
		msg[0] = (char)tolower((unsigned char)msg[0]);
		tp_sb_printf(err, "read %s: %s", path, msg);
	}
	fclose(f);
	tp_sb_puts(sb, "");
	return rc;
}

static int target_groups_yaml(const char *text, size_t len, config_target_groups *out, tp_strbuf *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_parse_error(&parser, text, len, err);
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);
	list_hdr l = { 0 };
	dec d = { .doc = &doc, .text = text, .text_len = len };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && !is_null(root))
		decode_list(&d, &target_groups_field, &l, root);
	yaml_document_delete(&doc);
	config_target_groups g = { (config_static **)l.v, l.n };
	if (d.failed || d.nterr) {
		if (d.failed)
			tp_sb_puts(err, tp_sb_cstr(&d.fatal));
		else
			tp_sb_printf(err, "yaml: unmarshal errors:%s", tp_sb_cstr(&d.terrors));
		tp_sb_free(&d.fatal);
		tp_sb_free(&d.terrors);
		config_target_groups_free(&g);
		return -1;
	}
	*out = g;
	return 0;
}

static const char *json_kind(const cJSON *j)
{
	if (cJSON_IsString(j))
		return "string";
	if (cJSON_IsNumber(j))
		return "number";
	if (cJSON_IsBool(j))
		return "bool";
	if (cJSON_IsArray(j))
		return "array";
	if (cJSON_IsObject(j))
		return "object";
	return "null";
}

/* encoding/json into []*targetgroup.Group with DisallowUnknownFields. The
 * syntax-error texts are cJSON's position, not Go's wording. */
static int target_groups_json(const char *text, config_target_groups *out, tp_strbuf *err)
{
	cJSON *root = cJSON_Parse(text);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		tp_sb_printf(err, "invalid JSON near offset %td", at ? at - text : (ptrdiff_t)0);
		return -1;
	}
	config_target_groups g = { 0 };
	int rc = 0;
	if (cJSON_IsNull(root))
		goto done;
	if (!cJSON_IsArray(root)) {
		tp_sb_printf(err, "json: cannot unmarshal %s into Go value of type []*targetgroup.Group", json_kind(root));
		rc = -1;
		goto done;
	}
	size_t n = (size_t)cJSON_GetArraySize(root);
	g.v = tp_xcalloc(n ? n : 1, sizeof(config_static *));
	const cJSON *item;
	cJSON_ArrayForEach(item, root) {
		size_t idx = g.n++;
		if (cJSON_IsNull(item))
			continue;  /* reported below, as Go checks after decoding */
		if (!cJSON_IsObject(item)) {
			tp_sb_printf(err, "json: cannot unmarshal %s into Go value of type targetgroup.Group", json_kind(item));
			rc = -1;
			goto done;
		}
		config_static *st = tp_xcalloc(1, sizeof(*st));
		g.v[idx] = st;
		const cJSON *f;
		cJSON_ArrayForEach(f, item) {
			if (strcmp(f->string, "targets") == 0) {
				if (cJSON_IsNull(f))
					continue;
				if (!cJSON_IsArray(f)) {
					tp_sb_printf(err, "json: cannot unmarshal %s into Go struct field .targets of type []string",
						     json_kind(f));
					rc = -1;
					goto done;
				}
				const cJSON *t;
				cJSON_ArrayForEach(t, f) {
					if (!cJSON_IsString(t)) {
						tp_sb_printf(err, "json: cannot unmarshal %s into Go struct field .targets of type string",
							     json_kind(t));
						rc = -1;
						goto done;
					}
					strs_add(&st->targets, t->valuestring);
				}
			} else if (strcmp(f->string, "labels") == 0) {
				if (cJSON_IsNull(f))
					continue;
				if (!cJSON_IsObject(f)) {
					tp_sb_printf(err, "json: cannot unmarshal %s into Go struct field .labels of type model.LabelSet",
						     json_kind(f));
					rc = -1;
					goto done;
				}
				const cJSON *lv;
				cJSON_ArrayForEach(lv, f) {
					if (!tp_label_name_valid(lv->string, strlen(lv->string))) {
						tp_sb_printf(err, "\"%s\" is not a valid label name", lv->string);
						rc = -1;
						goto done;
					}
					if (!cJSON_IsString(lv)) {
						tp_sb_printf(err, "json: cannot unmarshal %s into Go struct field .labels of type model.LabelValue",
							     json_kind(lv));
						rc = -1;
						goto done;
					}
					kvs_add(&st->labels, lv->string, lv->valuestring);
				}
			} else {
				tp_sb_printf(err, "json: unknown field \"%s\"", f->string);
				rc = -1;
				goto done;
			}
		}
	}
done:
	cJSON_Delete(root);
	if (rc != 0) {
		config_target_groups_free(&g);
		return -1;
	}
	*out = g;
	return 0;
}

int config_target_groups_parse(const char *text, size_t len, bool json, config_target_groups *out, tp_strbuf *err)
{
	config_target_groups g = { 0 };
	int rc = json ? target_groups_json(text, &g, err) : target_groups_yaml(text, len, &g, err);
	if (rc != 0)
		return -1;
	for (size_t i = 0; i < g.n; i++) {
		if (!g.v[i]) {
			tp_sb_printf(err, "nil target group item found (index %zu)", i);
			config_target_groups_free(&g);
			return -1;
		}
	}
	*out = g;
	return 0;
}

int config_target_groups_load(const char *path, config_target_groups *out, tp_strbuf *err)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	const char *ext = dot && (!slash || dot > slash) ? dot : "";
	bool json = strcasecmp(ext, ".json") == 0;
	if (!json && strcasecmp(ext, ".yml") != 0 && strcasecmp(ext, ".yaml") != 0) {
		tp_sb_printf(err, "invalid file extension: \"%s\"", ext);
		return -1;
	}
	tp_strbuf sb = { 0 };
	if (read_file(path, &sb, err) != 0) {
		tp_sb_free(&sb);
		return -1;
	}
	int rc = config_target_groups_parse(tp_sb_cstr(&sb), sb.len, json, out, err);
	tp_sb_free(&sb);
	return rc;
}

void config_target_groups_free(config_target_groups *g)
{
	list_hdr l = { (void **)g->v, g->n };
	free_list(&static_schema, &l);
	g->v = NULL;
	g->n = 0;
}

char *config_read_secret_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	return tp_xstrndup(buf, n);
}
