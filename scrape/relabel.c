/* SPDX-License-Identifier: Apache-2.0
 * relabel.c - Prometheus relabeling over tp_labels (see relabel.h).
 *
 * Invariants: a finished relabel_config owns a compiled anchored PCRE2
 * pattern; relabel_process works on a tp_labels_builder in the caller's
 * arena and never writes the input set. Every string the result holds is
 * either shared with the input or allocated in that arena.
 *
 * Regex dialect: Prometheus uses Go's RE2 syntax; patterns are checked
 * against RE2's rules and translated to PCRE2 (see go_to_pcre). Matching
 * uses PCRE2_UTF with
 * PCRE2_MATCH_INVALID_UTF and PCRE2_DOLLAR_ENDONLY ($ is end of text, as in
 * Go). Known difference: Go decodes an invalid byte as U+FFFD, which `.`
 * matches; PCRE2 never matches invalid sequences. Label values are valid
 * UTF-8 by the time they are relabelled (the parsers reject others), so
 * this only matters for hand-built sets. */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <wctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/common.h"
#include "lib/strbuf.h"
#include "scrape/relabel.h"

/* ---- types ---- */

struct relabel_regex {
	pcre2_code *code;
	uint32_t ngroups;  /* capture groups + 1 (group 0) */
	bool jit;          /* JIT-compiled: match with pcre2_jit_match */
};

/* ORDER RELABEL_ACTION */
static const char *const action_names[] = {
	"replace", "keep", "drop", "keepequal", "dropequal", "hashmod",
	"labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase",
};

#define DEFAULT_SEPARATOR ";"
#define DEFAULT_REGEX "(.*)"
#define DEFAULT_REPLACEMENT "$1"

/* ---- MD5 (RFC 1321) ----
 * Written here because none of tinyprom's dependencies exports one (libcurl
 * and zlib keep theirs internal, and linking OpenSSL's libcrypto for 16
 * bytes of hashing is not worth a new dependency). Checked against the
 * RFC 1321 test suite in tests/unit/test_relabel.c. */

typedef struct md5_ctx {
	uint32_t s[4];
	uint64_t nbytes;
	uint8_t buf[64];
} md5_ctx;

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const uint8_t md5_r[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static void md5_block(uint32_t s[4], const uint8_t *p)
{
	uint32_t m[16];
	for (int i = 0; i < 16; i++)
		m[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 |
		       (uint32_t)p[i * 4 + 2] << 16 | (uint32_t)p[i * 4 + 3] << 24;
	uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
	for (int i = 0; i < 64; i++) {
		uint32_t f;
		int g;
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		uint32_t t = d;
		d = c;
		c = b;
		uint32_t x = a + f + md5_k[i] + m[g];
		b = b + ((x << md5_r[i]) | (x >> (32 - md5_r[i])));
		a = t;
	}
	s[0] += a;
	s[1] += b;
	s[2] += c;
	s[3] += d;
}

static void md5_update(md5_ctx *c, const uint8_t *p, size_t n)
{
	size_t have = (size_t)(c->nbytes % 64);
	c->nbytes += n;
	if (have) {
		size_t take = TP_MIN(n, 64 - have);
		memcpy(c->buf + have, p, take);
		p += take;
		n -= take;
		if (have + take < 64)
			return;
		md5_block(c->s, c->buf);
	}
	for (; n >= 64; p += 64, n -= 64)
		md5_block(c->s, p);
	memcpy(c->buf, p, n);
}

void relabel_md5(const void *data, size_t len, uint8_t out[16])
{
	md5_ctx c = { { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 }, 0, { 0 } };
	md5_update(&c, data, len);
	uint64_t bits = c.nbytes * 8;
	uint8_t pad[72] = { 0x80 };
	size_t have = (size_t)(c.nbytes % 64);
	size_t padn = (have < 56 ? 56 - have : 120 - have);
	for (int i = 0; i < 8; i++)
		pad[padn + i] = (uint8_t)(bits >> (8 * i));
	md5_update(&c, pad, padn + 8);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			out[i * 4 + j] = (uint8_t)(c.s[i] >> (8 * j));
}

uint64_t relabel_hashmod(const char *val, size_t len, uint64_t modulus)
{
	uint8_t h[16];
	relabel_md5(val, len, h);
	uint64_t v = 0;
	for (int i = 8; i < 16; i++)
		v = v << 8 | h[i];
	return v % modulus;
}

/* ---- config lifecycle ---- */

void relabel_config_set_str(char **field, const char *value)
{
	free(*field);
	*field = value ? tp_xstrdup(value) : NULL;
}

void relabel_config_init(relabel_config *c)
{
	memset(c, 0, sizeof(*c));
	c->separator = tp_xstrdup(DEFAULT_SEPARATOR);
	c->regex = tp_xstrdup(DEFAULT_REGEX);
	c->target_label = tp_xstrdup("");
	c->replacement = tp_xstrdup(DEFAULT_REPLACEMENT);
	c->action = RELABEL_REPLACE;
}

static void regex_free(struct relabel_regex *re)
{
	if (!re)
		return;
	pcre2_code_free(re->code);
	free(re);
}

void relabel_config_clear(relabel_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_source_labels; i++)
		free(c->source_labels[i]);
	free(c->source_labels);
	free(c->separator);
	free(c->regex);
	free(c->target_label);
	free(c->replacement);
	free(c->action_text);
	regex_free(c->re);
	memset(c, 0, sizeof(*c));
}

relabel_action relabel_action_parse(const char *s)
{
	for (size_t i = 0; i < TP_ARRAY_LEN(action_names); i++)
		if (strcasecmp(s, action_names[i]) == 0)
			return (relabel_action)i;
	return RELABEL_ACTION_INVALID;
}

const char *relabel_action_name(relabel_action a)
{
	return a < RELABEL_ACTION_INVALID ? action_names[a] : "";
}

/* ---- case mapping (Go strings.ToLower / ToUpper) ---- */

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Decodes one UTF-8 sequence as Go does; returns its length, 1 with
 * *r = U+FFFD for an invalid byte. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *r)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80) {
		*r = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		*r = 0xfffd;
		return 1;
	}
	if (len > n)
		goto bad;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		goto bad;
	*r = cp;
	return len;
bad:
	*r = 0xfffd;
	return 1;
}

static size_t utf8_encode(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Unicode simple case mapping through glibc's C.UTF-8 tables (ASCII only
 * if that locale is missing). As Go's strings.Map, an invalid byte becomes
 * U+FFFD. The result is allocated in a. */
static char *map_case(tp_arena *a, const char *v, size_t vn, bool upper)
{
	pthread_once(&utf8_once, utf8_locale_init);
	char *out = tp_arena_alloc(a, vn * 3 + 1); /* an invalid byte grows to 3 */
	size_t o = 0;
	for (size_t i = 0; i < vn;) {
		uint32_t r;
		i += utf8_decode((const unsigned char *)v + i, vn - i, &r);
		if (r < 0x80)
			r = (uint32_t)(upper ? toupper((int)r) : tolower((int)r));
		else if (utf8_locale)
			r = (uint32_t)(upper ? towupper_l((wint_t)r, utf8_locale) : towlower_l((wint_t)r, utf8_locale));
		o += utf8_encode(r, out + o);
	}
	out[o] = '\0';
	return out;
}

/* ---- Go RE2 syntax -> PCRE2 ----
 * Prometheus compiles regexes with Go's regexp (RE2 syntax). The pattern is
 * checked against RE2's rules (with Go's error texts for the cases users
 * hit) and rewritten where the two dialects disagree:
 *   \123, \0   octal (Go)            -> \x{53}     (PCRE could read a backref)
 *   \v         vertical tab (Go)     -> \x{0B}     (PCRE: any vertical space)
 *   \s         [\t\n\f\r ] (Go)      -> that class (PCRE adds \v)
 *   (?P<n>..)  any word-char name    -> (?P<g_n>..) (PCRE: no leading digit);
 *              names may repeat (PCRE2_DUPNAMES), Expand takes the first
 *              group of that name that matched, as Go.
 * Rejected like Go: unknown escapes (\Z \e \G \K \h \C ...), \8 \9, \1-\7
 * not followed by an octal digit (backreferences), lookaround and other
 * (?X constructs, (?<name>, nested repetition (a**, a++), repeat counts
 * over 1000, unknown POSIX classes. */

#define GROUP_PREFIX "g_"

static bool is_word(int c)
{
	return isalnum(c) || c == '_';
}

static int re_err(char *err, size_t errlen, const char *what, const char *s, size_t n)
{
	snprintf(err, errlen, "error parsing regexp: %s: `%.*s`", what, (int)n, s);
	return -1;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* One escape at s[0] == '\\'; appends its PCRE form. Returns the bytes
 * consumed or 0 on error. */
static size_t re_escape(const char *s, bool in_class, tp_strbuf *o, char *err, size_t errlen)
{
	char c = s[1];
	if (c == '\0') {
		re_err(err, errlen, "trailing backslash at end of expression", "", 0);
		return 0;
	}
	if ((c >= '1' && c <= '7' && is_octal(s[2])) || c == '0') {
		size_t i = 1, v = 0;
		while (i < 4 && is_octal(s[i]))
			v = v * 8 + (size_t)(s[i++] - '0');
		tp_sb_printf(o, "\\x{%zx}", v);
		return i;
	}
	if (isdigit((unsigned char)c)) {
		re_err(err, errlen, "invalid escape sequence", s, 2);
		return 0;
	}
	if (c == 'v') {
		tp_sb_puts(o, "\\x{0B}");
		return 2;
	}
	if (c == 's') {
		tp_sb_puts(o, in_class ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]");
		return 2;
	}
	if (c == 'S' && !in_class) {
		tp_sb_puts(o, "[^\\t\\n\\f\\r ]");
		return 2;
	}
	if (c == 'Q' && !in_class) {
		const char *e = strstr(s + 2, "\\E");
		size_t n = e ? (size_t)(e - s) + 2 : strlen(s);
		tp_sb_append(o, s, n);
		return n;
	}
	if (c == 'p' || c == 'P') {
		size_t n = 3;
		if (s[2] == '{') {
			const char *e = strchr(s + 2, '}');
			if (!e) {
				re_err(err, errlen, "invalid character class range", s, strlen(s));
				return 0;
			}
			n = (size_t)(e - s) + 1;
		} else if (!s[2]) {
			re_err(err, errlen, "invalid character class range", s, 2);
			return 0;
		}
		tp_sb_append(o, s, n);
		return n;
	}
	if (isalpha((unsigned char)c) && !strchr("aftnrxAbBzdDwWS", c)) {
		re_err(err, errlen, "invalid escape sequence", s, 2);
		return 0;
	}
	if ((unsigned char)c >= 0x80) {  /* Go allows escaping only ASCII punctuation */
		uint32_t r;
		re_err(err, errlen, "invalid escape sequence", s, 1 + utf8_decode((const unsigned char *)s + 1, strlen(s + 1), &r));
		return 0;
	}
	tp_sb_append(o, s, 2);
	return 2;
}

static bool posix_class_ok(const char *name, size_t n)
{
	static const char *const names[] = { "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph",
					     "lower", "print", "punct", "space", "upper", "word", "xdigit" };
	if (n && name[0] == '^')
		name++, n--;
	for (size_t i = 0; i < TP_ARRAY_LEN(names); i++)
		if (strlen(names[i]) == n && strncmp(names[i], name, n) == 0)
			return true;
	return false;
}

/* Parses {n}, {n,}, {n,m} at s; returns its length (0 if s is a literal
 * brace) and sets *bad when a count exceeds 1000 (Go's limit). */
static size_t repeat_len(const char *s, bool *bad)
{
	size_t i = 1;
	long lo = 0, hi = -1;
	*bad = false;
	if (!isdigit((unsigned char)s[i]))
		return 0;
	while (isdigit((unsigned char)s[i]))
		lo = lo * 10 + (s[i++] - '0'), lo = lo > 100000 ? 100000 : lo;
	if (s[i] == ',') {
		i++;
		if (isdigit((unsigned char)s[i])) {
			hi = 0;
			while (isdigit((unsigned char)s[i]))
				hi = hi * 10 + (s[i++] - '0'), hi = hi > 100000 ? 100000 : hi;
		}
	} else {
		hi = lo;
	}
	if (s[i] != '}')
		return 0;
	*bad = lo > 1000 || hi > 1000 || (hi >= 0 && hi < lo);
	return i + 1;
}

static int go_to_pcre(const char *src, tp_strbuf *o, char *err, size_t errlen)
{
	const char *p = src;
	const char *quant = NULL;  /* start of the previous quantifier, if the last token was one */
	bool lazy = false;
	while (*p) {
		if (*p == '\\') {
			size_t n = re_escape(p, false, o, err, errlen);
			if (!n)
				return -1;
			p += n;
			quant = NULL;
			continue;
		}
		if (*p == '[') {
			const char *start = p;
			tp_sb_putc(o, *p++);
			if (*p == '^')
				tp_sb_putc(o, *p++);
			if (*p == ']')
				tp_sb_puts(o, "\\]"), p++;
			while (*p && *p != ']') {
				if (*p == '\\') {
					size_t n = re_escape(p, true, o, err, errlen);
					if (!n)
						return -1;
					p += n;
				} else if (p[0] == '[' && p[1] == ':') {
					const char *e = strstr(p + 2, ":]");
					if (e && !posix_class_ok(p + 2, (size_t)(e - p - 2)))
						return re_err(err, errlen, "invalid character class range", p, (size_t)(e - p) + 2);
					if (e) {
						tp_sb_append(o, p, (size_t)(e - p) + 2);
						p = e + 2;
					} else {
						tp_sb_puts(o, "\\["), p++;
					}
				} else if (*p == '[') {
					tp_sb_puts(o, "\\["), p++;
				} else {
					tp_sb_putc(o, *p++);
				}
			}
			if (!*p) {  /* Go quotes the rest of the anchored expression */
				tp_strbuf t = { 0 };
				tp_sb_printf(&t, "%s)$", start);
				re_err(err, errlen, "missing closing ]", t.buf, t.len);
				tp_sb_free(&t);
				return -1;
			}
			tp_sb_putc(o, *p++);
			quant = NULL;
			continue;
		}
		if (*p == '(' && p[1] == '?') {
			if (p[2] == 'P' && p[3] == '<') {
				const char *name = p + 4, *e = name;
				while (is_word((unsigned char)*e))
					e++;
				if (e == name || *e != '>')
					return re_err(err, errlen, "invalid named capture", p, strlen(p));
				tp_sb_printf(o, "(?P<" GROUP_PREFIX "%.*s>", (int)(e - name), name);
				p = e + 1;
				quant = NULL;
				continue;
			}
			const char *f = p + 2;
			while (*f && strchr("imsU-", *f))
				f++;
			if ((*f != ':' && *f != ')') || f == p + 2 ? (*f != ':') : false)
				return re_err(err, errlen, "invalid or unsupported Perl syntax", p, f[0] ? 3 + (size_t)(f - p - 2) : 2);
			tp_sb_append(o, p, (size_t)(f - p) + 1);
			p = f + 1;
			quant = NULL;
			continue;
		}
		if (*p == '*' || *p == '+' || *p == '?' || *p == '{') {
			size_t n = 1;
			bool bad = false;
			if (*p == '{') {
				n = repeat_len(p, &bad);
				if (!n) {  /* a literal brace in Go */
					tp_sb_puts(o, "\\{");
					p++;
					quant = NULL;
					continue;
				}
				if (bad)
					return re_err(err, errlen, "invalid repeat count", p, n);
			}
			if (quant) {
				if (*p == '?' && !lazy) {
					lazy = true;
					tp_sb_putc(o, *p++);
					continue;
				}
				return re_err(err, errlen, "invalid nested repetition operator", quant,
					      (size_t)(p - quant) + n);
			}
			quant = p;
			lazy = false;
			tp_sb_append(o, p, n);
			p += n;
			continue;
		}
		tp_sb_putc(o, *p++);
		quant = NULL;
	}
	return 0;
}

static struct relabel_regex *regex_compile(const char *src, char *err, size_t errlen)
{
	tp_strbuf sb = { 0 };
	tp_sb_puts(&sb, "^(?:");
	if (go_to_pcre(src, &sb, err, errlen) != 0) {
		tp_sb_free(&sb);
		return NULL;
	}
	tp_sb_puts(&sb, ")$");
	int ec;
	PCRE2_SIZE off;
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	if (!cc)
		abort();
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);  /* Go: only \n ends a line */
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)sb.buf, sb.len,
					 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_DUPNAMES,
					 &ec, &off, cc);
	pcre2_compile_context_free(cc);
	if (!code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		/* Go's words for the errors left to PCRE2 that users hit most. */
		static const struct { const char *pcre, *go; } words[] = {
			{ "missing closing parenthesis", "missing closing )" },
			{ "unmatched closing parenthesis", "unexpected )" },
			{ "quantifier does not follow a repeatable item", "missing argument to repetition operator" },
		};
		const char *m = (const char *)msg;
		for (size_t i = 0; i < TP_ARRAY_LEN(words); i++)
			if (strcmp(m, words[i].pcre) == 0)
				m = words[i].go;
		snprintf(err, errlen, "error parsing regexp: %s: `%s`", m, sb.buf);
		tp_sb_free(&sb);
		return NULL;
	}
	tp_sb_free(&sb);
	struct relabel_regex *re = tp_xcalloc(1, sizeof(*re));
	re->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0; /* optional speed-up */
	re->code = code;
	uint32_t cap = 0;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &cap);
	re->ngroups = cap + 1;
	return re;
}

/* model.LabelName.IsValid (legacy charset). */
static bool label_name_ok(const char *s)
{
	return tp_label_name_valid(s, strlen(s));
}

/* relabelTarget: ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$ , i.e. a
 * non-empty sequence of: letter/underscore, $name, ${name}, or a word char
 * following one of those. Equivalently: the first item is not a digit and
 * no character outside [A-Za-z0-9_] appears except in a $ reference. */

static bool relabel_target_ok(const char *s)
{
	if (!*s)
		return false;
	bool first = true;
	while (*s) {
		if (*s == '$') {
			s++;
			if (*s == '{') {
				s++;
				const char *b = s;
				while (is_word((unsigned char)*s))
					s++;
				if (s == b || *s != '}')
					return false;
				s++;
			} else {
				const char *b = s;
				while (is_word((unsigned char)*s))
					s++;
				if (s == b)
					return false;
			}
		} else if (isalpha((unsigned char)*s) || *s == '_') {
			s++;
		} else if (isdigit((unsigned char)*s)) {
			if (first)
				return false;
			s++;
		} else {
			return false;
		}
		first = false;
	}
	return true;
}

int relabel_config_finish(relabel_config *c, char *err, size_t errlen)
{
	if (!c->action_text && c->action == RELABEL_ACTION_INVALID) {
		snprintf(err, errlen, "relabel action cannot be empty");
		return -1;
	}
	const char *act = c->action_text ? c->action_text : relabel_action_name(c->action);
	if (c->action_text) {
		c->action = relabel_action_parse(c->action_text);
		if (c->action == RELABEL_ACTION_INVALID) {
			snprintf(err, errlen, "unknown relabel action \"%s\"", c->action_text);
			return -1;
		}
		act = relabel_action_name(c->action);
	}
	if (c->source_labels_set) {
		for (size_t i = 0; i < c->n_source_labels; i++) {
			if (!label_name_ok(c->source_labels[i])) {
				snprintf(err, errlen, "\"%s\" is not a valid label name", c->source_labels[i]);
				return -1;
			}
		}
	}
	regex_free(c->re);
	c->re = regex_compile(c->regex, err, errlen);
	if (!c->re)
		return -1;

	relabel_action a = c->action;
	const char *tl = c->target_label;
	if (a == RELABEL_HASHMOD && c->modulus == 0) {
		snprintf(err, errlen, "relabel configuration for hashmod requires non-zero modulus");
		return -1;
	}
	bool needs_target = a == RELABEL_REPLACE || a == RELABEL_HASHMOD || a == RELABEL_LOWERCASE ||
			    a == RELABEL_UPPERCASE || a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL;
	if (needs_target && tl[0] == '\0') {
		snprintf(err, errlen, "relabel configuration for %s action requires 'target_label' value", act);
		return -1;
	}
	bool simple_target = a == RELABEL_LOWERCASE || a == RELABEL_UPPERCASE ||
			     a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL;
	if ((a == RELABEL_REPLACE && !strchr(tl, '$') && !label_name_ok(tl)) ||
	    (a == RELABEL_REPLACE && strchr(tl, '$') && !relabel_target_ok(tl)) ||
	    (simple_target && !label_name_ok(tl))) {
		snprintf(err, errlen, "\"%s\" is invalid 'target_label' for %s action", tl, act);
		return -1;
	}
	if (simple_target && strcmp(c->replacement, DEFAULT_REPLACEMENT) != 0) {
		snprintf(err, errlen, "'replacement' can not be set for %s action", act);
		return -1;
	}
	if (a == RELABEL_LABELMAP && !relabel_target_ok(c->replacement)) {
		snprintf(err, errlen, "\"%s\" is invalid 'replacement' for %s action", c->replacement, act);
		return -1;
	}
	if (a == RELABEL_HASHMOD && !label_name_ok(tl)) {
		snprintf(err, errlen, "\"%s\" is invalid 'target_label' for %s action", tl, act);
		return -1;
	}
	if (a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL) {
		if (c->regex_set || c->modulus != 0 || strcmp(c->separator, DEFAULT_SEPARATOR) != 0 ||
		    strcmp(c->replacement, DEFAULT_REPLACEMENT) != 0) {
			snprintf(err, errlen,
				 "%s action requires only 'source_labels' and `target_label`, and no other fields",
				 act);
			return -1;
		}
	}
	if (a == RELABEL_LABELDROP || a == RELABEL_LABELKEEP) {
		if (c->source_labels_set || tl[0] != '\0' || c->modulus != 0 ||
		    strcmp(c->separator, DEFAULT_SEPARATOR) != 0 ||
		    strcmp(c->replacement, DEFAULT_REPLACEMENT) != 0) {
			snprintf(err, errlen, "%s action requires only 'regex', and no other fields", act);
			return -1;
		}
	}
	return 0;
}

static bool streq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool relabel_config_equal(const relabel_config *a, const relabel_config *b)
{
	if (a->action != b->action || a->modulus != b->modulus ||
	    a->n_source_labels != b->n_source_labels || !streq_null(a->separator, b->separator) ||
	    !streq_null(a->regex, b->regex) || !streq_null(a->target_label, b->target_label) ||
	    !streq_null(a->replacement, b->replacement))
		return false;
	for (size_t i = 0; i < a->n_source_labels; i++)
		if (strcmp(a->source_labels[i], b->source_labels[i]) != 0)
			return false;
	return true;
}

static char *dup_or_null(const char *s)
{
	return s ? tp_xstrdup(s) : NULL;
}

int relabel_config_copy(relabel_config *dst, const relabel_config *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->re)
		return -1;
	dst->n_source_labels = src->n_source_labels;
	dst->source_labels_set = src->source_labels_set;
	if (src->n_source_labels) {
		dst->source_labels = tp_xmalloc(sizeof(char *) * src->n_source_labels);
		for (size_t i = 0; i < src->n_source_labels; i++)
			dst->source_labels[i] = tp_xstrdup(src->source_labels[i]);
	}
	dst->separator = dup_or_null(src->separator);
	dst->regex = dup_or_null(src->regex);
	dst->regex_set = src->regex_set;
	dst->modulus = src->modulus;
	dst->target_label = dup_or_null(src->target_label);
	dst->replacement = dup_or_null(src->replacement);
	dst->action = src->action;
	dst->action_text = dup_or_null(src->action_text);
	char err[256];
	dst->re = regex_compile(dst->regex, err, sizeof(err));
	return dst->re ? 0 : -1;
}

/* ---- expansion (Go regexp.Expand) ---- */

/* Go extract(): parses a group reference after the dollar. Sets name, name_len,
 * *num (-1 if not numeric) and returns the bytes consumed, or 0 when
 * malformed. Names are letters, digits and '_' (Unicode, as Go). */
static size_t expand_extract(const char *s, const char **name, size_t *name_len, long *num)
{
	size_t i = 0;
	bool brace = false;
	if (s[0] == '{') {
		brace = true;
		i = 1;
	}
	size_t start = i;
	for (;;) {
		/* unicode.IsLetter || unicode.IsDigit || '_' */
		if (is_word((unsigned char)s[i])) {
			i++;
			continue;
		}
		if ((unsigned char)s[i] < 0x80)
			break;
		uint32_t r;
		size_t l = utf8_decode((const unsigned char *)s + i, strlen(s + i), &r);
		pthread_once(&utf8_once, utf8_locale_init);
		if (r == 0xfffd || !utf8_locale || !iswalnum_l((wint_t)r, utf8_locale))
			break;
		i += l;
	}
	if (i == start)
		return 0;
	*name = s + start;
	*name_len = i - start;
	if (brace) {
		if (s[i] != '}')
			return 0;
		i++;
	}
	long n = 0;
	for (size_t k = 0; k < *name_len; k++) {
		char ch = (*name)[k];
		if (ch < '0' || ch > '9' || n >= 100000000) {
			n = -1;
			break;
		}
		n = n * 10 + (ch - '0');
	}
	if ((*name)[0] == '0' && *name_len > 1)
		n = -1;
	*num = n;
	return i;
}

void relabel_expand(const relabel_config *c, tp_strbuf *sb, const char *tmpl,
		    const char *subject, const size_t *ov, uint32_t ngroups)
{
	const char *p = tmpl;
	for (;;) {
		const char *d = strchr(p, '$');
		if (!d)
			break;
		tp_sb_append(sb, p, (size_t)(d - p));
		p = d + 1;
		if (*p == '$') {
			tp_sb_putc(sb, '$');
			p++;
			continue;
		}
		const char *name;
		size_t nlen;
		long num;
		size_t used = expand_extract(p, &name, &nlen, &num);
		if (!used) {
			tp_sb_putc(sb, '$');
			continue;
		}
		p += used;
		long g = num;
		if (g < 0) {
			/* Go: the first group of that name that participated. */
			char nm[160];
			if (nlen + sizeof(GROUP_PREFIX) > sizeof(nm))
				continue;
			snprintf(nm, sizeof(nm), GROUP_PREFIX "%.*s", (int)nlen, name);
			PCRE2_SPTR first, last;
			int esz = pcre2_substring_nametable_scan(c->re->code, (PCRE2_SPTR)nm, &first, &last);
			if (esz <= 0)
				continue;
			for (PCRE2_SPTR e = first; e <= last; e += esz) {
				long gi = (long)(e[0] << 8 | e[1]);
				if ((uint32_t)gi < ngroups && ov[2 * gi] != PCRE2_UNSET) {
					g = gi;
					break;
				}
			}
			if (g < 0)
				continue;
		}
		if ((uint32_t)g < ngroups && ov[2 * g] != PCRE2_UNSET)
			tp_sb_append(sb, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
	tp_sb_puts(sb, p);
}

/* ---- processing ---- */

/* Match subject against c's regex; returns true and fills md on a match. */
static bool re_match(const relabel_config *c, pcre2_match_data *md, const char *s, size_t n)
{
	if (c->re->jit)
		return pcre2_jit_match(c->re->code, (PCRE2_SPTR)s, n, 0, 0, md, NULL) >= 0;
	return pcre2_match(c->re->code, (PCRE2_SPTR)s, n, 0, 0, md, NULL) >= 0;
}

static const char *lb_get(const tp_labels_builder *b, const char *name)
{
	for (uint32_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].name, name) == 0)
			return b->v[i].value;
	return "";
}

static char *arena_sb(tp_arena *a, tp_strbuf *sb)
{
	return tp_arena_strndup(a, sb->buf ? sb->buf : "", sb->len);
}

/* One rule. Returns false when the set is dropped. */
static bool relabel_one(const relabel_config *c, tp_labels_builder *lb, tp_arena *a,
			pcre2_match_data *md, tp_strbuf *val, tp_strbuf *tmp)
{
	tp_sb_reset(val);
	for (size_t i = 0; i < c->n_source_labels; i++) {
		if (i)
			tp_sb_puts(val, c->separator);
		tp_sb_puts(val, lb_get(lb, c->source_labels[i]));
	}
	const char *v = tp_sb_cstr(val);
	size_t vn = val->len;
	size_t *ov = pcre2_get_ovector_pointer(md);

	switch (c->action) {
	case RELABEL_DROP:
		return !re_match(c, md, v, vn);
	case RELABEL_KEEP:
		return re_match(c, md, v, vn);
	case RELABEL_DROPEQUAL:
		return strcmp(lb_get(lb, c->target_label), v) != 0;
	case RELABEL_KEEPEQUAL:
		return strcmp(lb_get(lb, c->target_label), v) == 0;
	case RELABEL_REPLACE: {
		if (!re_match(c, md, v, vn))
			break;
		uint32_t ng = c->re->ngroups;
		tp_sb_reset(tmp);
		relabel_expand(c, tmp, c->target_label, v, ov, ng);
		if (!tp_label_name_valid(tmp->buf ? tmp->buf : "", tmp->len))
			break;
		char *target = arena_sb(a, tmp);
		tp_sb_reset(tmp);
		relabel_expand(c, tmp, c->replacement, v, ov, ng);
		if (tmp->len == 0)
			tp_lb_del(lb, target);
		else
			tp_lb_set(lb, target, arena_sb(a, tmp));
		break;
	}
	case RELABEL_LOWERCASE:
	case RELABEL_UPPERCASE:
		tp_lb_set(lb, c->target_label, map_case(a, v, vn, c->action == RELABEL_UPPERCASE));
		break;
	case RELABEL_HASHMOD: {
		char buf[24];
		snprintf(buf, sizeof(buf), "%" PRIu64, relabel_hashmod(v, vn, c->modulus));
		tp_lb_set(lb, c->target_label, tp_arena_strdup(a, buf));
		break;
	}
	case RELABEL_LABELMAP:
	case RELABEL_LABELDROP:
	case RELABEL_LABELKEEP: {
		/* Iterate a snapshot: the rule may change the builder. */
		uint32_t n = lb->n;
		tp_label *snap = tp_arena_alloc(a, sizeof(tp_label) * (n ? n : 1));
		memcpy(snap, lb->v, sizeof(tp_label) * n);
		for (uint32_t i = 0; i < n; i++) {
			bool m = re_match(c, md, snap[i].name, strlen(snap[i].name));
			if (c->action == RELABEL_LABELMAP && m) {
				tp_sb_reset(tmp);
				relabel_expand(c, tmp, c->replacement, snap[i].name, ov, c->re->ngroups);
				tp_lb_set(lb, arena_sb(a, tmp), snap[i].value);
			} else if ((c->action == RELABEL_LABELDROP && m) ||
				   (c->action == RELABEL_LABELKEEP && !m)) {
				tp_lb_del(lb, snap[i].name);
			}
		}
		break;
	}
	case RELABEL_ACTION_INVALID:
		break;
	}
	return true;
}

/* Per-thread scratch reused across calls (a scrape applies the same rules
 * to many series): the joined source value, an expansion buffer and a
 * PCRE2 match block. Kept for the thread's lifetime, and freed when the
 * thread exits (remote write shards and scrape workers come and go). */
typedef struct relabel_scratch {
	tp_strbuf val, tmp;
	pcre2_match_data *md;
	uint32_t md_groups;
} relabel_scratch;
static _Thread_local relabel_scratch scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
	relabel_scratch *s = p;
	tp_sb_free(&s->val);
	tp_sb_free(&s->tmp);
	pcre2_match_data_free(s->md);
	memset(s, 0, sizeof(*s));
}

static void scratch_key_init(void)
{
	pthread_key_create(&scratch_key, scratch_free);
}

bool relabel_process(const relabel_config *cfgs, size_t n, tp_arena *a,
		     const tp_labels *in, tp_labels *out)
{
	tp_labels_builder lb;
	tp_lb_init(&lb, a, in);
	uint32_t maxg = 1;
	for (size_t i = 0; i < n; i++)
		maxg = TP_MAX(maxg, cfgs[i].re->ngroups);
	if (scratch.md_groups < maxg) {
		if (!scratch.md) {  /* first use in this thread: free it at exit */
			pthread_once(&scratch_once, scratch_key_init);
			pthread_setspecific(scratch_key, &scratch);
		}
		pcre2_match_data_free(scratch.md);
		scratch.md = pcre2_match_data_create(maxg, NULL);
		if (!scratch.md)
			abort(); /* OOM, as tp_xmalloc */
		scratch.md_groups = maxg;
	}
	bool keep = true;
	for (size_t i = 0; i < n && keep; i++)
		keep = relabel_one(&cfgs[i], &lb, a, scratch.md, &scratch.val, &scratch.tmp);
	if (!keep) {
		*out = (tp_labels){ 0 };
		return false;
	}
	*out = tp_lb_labels(&lb);
	return true;
}
