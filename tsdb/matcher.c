/* SPDX-License-Identifier: Apache-2.0
 * matcher.c - label matchers: =, !=, =~, !~ with PCRE2.
 * Invariants: a regex is compiled as "^(?:re)$" with PCRE2_DOTALL (Go RE2
 * in Prometheus compiles "^(?s:re)$"), JIT-compiled when available; an
 * absent label matches as the empty string. */
#include "config.h"
#include "tsdb/matcher.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"

int tsdb_matcher_init(tsdb_matcher *m, tsdb_match_type type, const char *name, const char *value,
		      char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->name = tp_xstrdup(name);
	m->value = tp_xstrdup(value);
	if (type != TSDB_MATCH_RE && type != TSDB_MATCH_NRE)
		return 0;
	size_t n = strlen(value);
	char *pat = tp_xmalloc(n + 8);
	memcpy(pat, "^(?:", 4);
	memcpy(pat + 4, value, n);
	memcpy(pat + 4 + n, ")$", 3);
	int ec;
	PCRE2_SIZE eoff;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, n + 6, PCRE2_DOTALL | PCRE2_UTF, &ec,
				       &eoff, NULL);
	free(pat);
	if (!re) {
		if (err && errlen) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(ec, msg, sizeof(msg));
			snprintf(err, errlen, "invalid regular expression \"%s\": %s", value, (char *)msg);
		}
		free(m->name);
		free(m->value);
		memset(m, 0, sizeof(*m));
		return -1;
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  /* falls back to the interpreter */
	m->re = re;
	m->md = pcre2_match_data_create_from_pattern(re, NULL);
	return 0;
}

void tsdb_matcher_free(tsdb_matcher *m)
{
	if (!m)
		return;
	if (m->md)
		pcre2_match_data_free(m->md);
	if (m->re)
		pcre2_code_free(m->re);
	free(m->name);
	free(m->value);
	memset(m, 0, sizeof(*m));
}

static bool re_match(const tsdb_matcher *m, const char *v)
{
	int rc = pcre2_match(m->re, (PCRE2_SPTR)v, strlen(v), 0, 0, m->md, NULL);
	return rc >= 0;
}

bool tsdb_matcher_matches(const tsdb_matcher *m, const char *value)
{
	if (!value)
		value = "";
	switch (m->type) {
	case TSDB_MATCH_EQ:
		return strcmp(m->value, value) == 0;
	case TSDB_MATCH_NEQ:
		return strcmp(m->value, value) != 0;
	case TSDB_MATCH_RE:
		return re_match(m, value);
	case TSDB_MATCH_NRE:
		return !re_match(m, value);
	}
	return false;
}

bool tsdb_matcher_matches_empty(const tsdb_matcher *m)
{
	return tsdb_matcher_matches(m, "");
}

/* Regex metacharacters of RE2 syntax: anything else is a literal. */
static bool is_meta(char c)
{
	return strchr("\\.+*?()|[]{}^$", c) != NULL;
}

int tsdb_matcher_classify(const tsdb_matcher *m, const char ***lits, size_t *nlits)
{
	*lits = NULL;
	*nlits = 0;
	if (m->type == TSDB_MATCH_EQ || m->type == TSDB_MATCH_NEQ)
		return TSDB_FAST_LITERAL;
	const char *v = m->value;
	if (strcmp(v, ".*") == 0)
		return TSDB_FAST_ANY;
	if (strcmp(v, ".+") == 0)
		return TSDB_FAST_NONEMPTY;
	for (const char *p = v; *p; p++)
		if (*p != '|' && is_meta(*p))
			return TSDB_FAST_NONE;
	/* a|b|c of literals (a single literal is the n == 1 case) */
	size_t n = 1;
	for (const char *p = v; *p; p++)
		n += *p == '|';
	const char **out = tp_xmalloc(n * sizeof(*out) + strlen(v) + 1);
	char *buf = (char *)(out + n);
	strcpy(buf, v);
	size_t k = 0;
	out[k++] = buf;
	for (char *p = buf; *p; p++) {
		if (*p == '|') {
			*p = '\0';
			out[k++] = p + 1;
		}
	}
	*lits = out;
	*nlits = n;
	return TSDB_FAST_LITERALS;
}
