/* SPDX-License-Identifier: Apache-2.0
 * matcher.h - internal helpers for label matchers (the matcher API itself
 * is declared in tsdb/tsdb.h). */
#ifndef TSDB_MATCHER_H
#define TSDB_MATCHER_H

#include <stddef.h>

#include "lib/common.h"
#include "tsdb/tsdb.h"

enum {
	TSDB_FAST_NONE,      /* run the regex over the values */
	TSDB_FAST_LITERAL,   /* = / != : m->value is the literal */
	TSDB_FAST_ANY,       /* .* */
	TSDB_FAST_NONEMPTY,  /* .+ */
	TSDB_FAST_LITERALS,  /* a|b|c of literals (possibly one, possibly empty ones) */
};

/* Classifies a matcher; for TSDB_FAST_LITERALS *lits is one malloc'd block
 * (free(*lits)) holding nlits NUL-terminated literals. */
int tsdb_matcher_classify(const tsdb_matcher *m, const char ***lits, size_t *nlits) TP_INTERNAL;

#endif
