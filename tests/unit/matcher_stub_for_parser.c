/* SPDX-License-Identifier: Apache-2.0
 * matcher_stub_for_parser.c - a test-only PCRE2 implementation of
 * tsdb_matcher_init/free/matches for test_promql_parse, until tsdb's own
 * lands. Every definition is weak: once libtinyprom.a provides the real
 * ones (or the linker pulls their object for another reason) those win
 * and this file changes nothing. Compiled into the parser test only. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lib/common.h"
#include "tsdb/tsdb.h"

__attribute__((weak)) int tsdb_matcher_init(tsdb_matcher *m, tsdb_match_type type, const char *name,
					    const char *value, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	if (type == TSDB_MATCH_RE || type == TSDB_MATCH_NRE) {
		size_t n = strlen(value) + 8;
		char *src = tp_xmalloc(n);
		snprintf(src, n, "^(?:%s)$", value);
		int ec;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, PCRE2_DOTALL | PCRE2_UTF, &ec, &off,
					       NULL);
		free(src);
		if (!re) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(ec, msg, sizeof(msg));
			snprintf(err, errlen, "invalid regular expression: %s", (char *)msg);
			return -1;
		}
		m->re = re;
		m->md = pcre2_match_data_create_from_pattern(re, NULL);
	}
	m->name = tp_xstrdup(name);
	m->value = tp_xstrdup(value);
	return 0;
}

__attribute__((weak)) void tsdb_matcher_free(tsdb_matcher *m)
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

__attribute__((weak)) bool tsdb_matcher_matches(const tsdb_matcher *m, const char *value)
{
	switch (m->type) {
	case TSDB_MATCH_EQ: return strcmp(m->value, value) == 0;
	case TSDB_MATCH_NEQ: return strcmp(m->value, value) != 0;
	default: {
		int rc = pcre2_match(m->re, (PCRE2_SPTR)value, strlen(value), 0, 0, m->md, NULL);
		return (rc >= 0) == (m->type == TSDB_MATCH_RE);
	}
	}
}

__attribute__((weak)) bool tsdb_matcher_matches_empty(const tsdb_matcher *m)
{
	return tsdb_matcher_matches(m, "");
}
