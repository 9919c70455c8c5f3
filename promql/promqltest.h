/* SPDX-License-Identifier: Apache-2.0
 * promqltest.h - the promqltest file runner (`tinyprom promqltest`).
 *
 * Reads Prometheus's *.test script format as specified in
 * shared/promqltest/FORMAT.md (main dialect), loads the series into a fresh
 * tsdb head, runs every eval through the engine and compares the results.
 *
 * Split in two layers:
 *   - parsing (promqltest_parse.c): text -> promql_test_file, no engine or
 *     storage needed, so it is unit-testable on its own;
 *   - running (promqltest.c): promql_test_file -> appends and queries.
 *
 * Invariants: everything a parsed file holds (commands, label sets,
 * expanded value slots, strings) lives in the file's arena and is released
 * by promql_test_file_free; a parsed file is never modified by running it.
 * Timestamps are int64 ms on the epoch-0 test clock (FORMAT.md §2). */
#ifndef PROMQL_PROMQLTEST_H
#define PROMQL_PROMQLTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/arena.h"
#include "lib/labels.h"

/* ---- parsed form ---- */

typedef enum promql_test_slot_kind {
	PROMQL_TEST_SLOT_EMPTY = 0,  /* `_`: nothing stored / no point expected */
	PROMQL_TEST_SLOT_FLOAT,      /* a float (the stale marker is a float with its NaN bits) */
	PROMQL_TEST_SLOT_HIST,       /* a native histogram literal (not modelled: skipped) */
} promql_test_slot_kind;

typedef struct promql_test_slot {
	double v;
	uint8_t kind;  /* promql_test_slot_kind */
} promql_test_slot;

/* One series-description line (FORMAT.md §5), load or expected. */
typedef struct promql_test_series {
	tp_labels labels;         /* normalised (sorted, no empty values) */
	promql_test_slot *slots;  /* expanded values */
	size_t nslots;
	uint32_t pos;             /* 1-based position among expected lines */
	int line;
	bool has_hist;            /* at least one histogram slot */
} promql_test_series;

typedef enum promql_test_cmd_kind {
	PROMQL_TEST_CLEAR,
	PROMQL_TEST_LOAD,
	PROMQL_TEST_EVAL,
} promql_test_cmd_kind;

/* An `expect warn|info` directive: msg (exact), regex (unanchored search)
 * or neither (any text). */
typedef struct promql_test_anno {
	bool info;   /* false: warning */
	char *msg;
	char *regex;
} promql_test_anno;

typedef struct promql_test_cmd {
	promql_test_cmd_kind kind;
	int line;                 /* 1-based line of the command header */

	/* LOAD */
	int64_t interval_ms;
	bool nhcb;                /* load_with_nhcb */
	/* LOAD: the series to append; EVAL: the expected series */
	promql_test_series *series;
	size_t nseries;

	/* EVAL */
	char *expr;               /* the query text */
	bool is_range;            /* eval range ... */
	int64_t at_ms;            /* instant: evaluation time */
	int64_t start_ms, end_ms, step_ms;  /* range */
	bool fail;                /* expect fail / eval_fail */
	char *fail_msg, *fail_regex;
	bool ordered;
	promql_test_anno *annos;
	size_t nannos;
	bool want_warn, want_info, no_warn, no_info;
	bool range_vector;        /* expect range vector from S to E step St */
	int64_t rv_start_ms, rv_end_ms, rv_step_ms;
	bool has_string;
	char *string;             /* expect string, unquoted */
	bool has_scalar;
	double scalar;
	bool hist_exp;            /* an expected line holds a histogram literal */
} promql_test_cmd;

typedef struct promql_test_file {
	char *path;
	promql_test_cmd *cmds;
	size_t ncmds;
	size_t nevals;
	tp_arena arena;           /* owns everything above */
} promql_test_file;

/* Parses text (NUL-terminated) into f. Returns 0, or -1 with "line N: ..."
 * in err; f is then freed already. */
int promql_test_file_parse(promql_test_file *f, const char *path, const char *text, char *err, size_t errlen);
/* Reads and parses a file. Same return convention. */
int promql_test_file_load(promql_test_file *f, const char *path, char *err, size_t errlen);
void promql_test_file_free(promql_test_file *f);

/* Parses one series-description line "metric{labels} values..." (§5) into
 * out, allocating in a. Returns 0, or -1 with err. */
int promql_test_series_parse(tp_arena *a, const char *line, size_t n, promql_test_series *out, char *err,
			     size_t errlen);
/* Expands only the value items of a series line (§5.2). */
int promql_test_values_parse(tp_arena *a, const char *s, size_t n, promql_test_slot **slots, size_t *nslots,
			     char *err, size_t errlen);
/* Whether line is one plain number (§6.3 rule 5); the value in *v. */
bool promql_test_parse_scalar(const char *s, size_t n, double *v);

/* Float equality of an expectation and a result (FORMAT.md §7.6, main):
 * relative epsilon 1e-6, stale-NaN aware, NaN equals NaN. */
bool promql_test_float_equal(double expected, double actual);
/* The v2.42 variant (almostEqual): the stale marker is just a NaN. */
bool promql_test_float_equal_v242(double expected, double actual);
bool promql_test_is_stale(double v);
double promql_test_stale(void);

/* ---- running ---- */

typedef enum promql_test_outcome {
	PROMQL_TEST_PASS,
	PROMQL_TEST_FAIL,
	PROMQL_TEST_SKIP,
} promql_test_outcome;

/* Called once per eval command with its outcome; detail is the failure
 * report (query, expected, got) or the skip reason, else NULL. */
typedef void (*promql_test_report_fn)(void *ud, const promql_test_file *f, const promql_test_cmd *c,
				      promql_test_outcome o, const char *detail);

typedef struct promql_test_opts {
	bool no_at_reruns;        /* skip FORMAT.md §9.1 */
	bool no_range_check;      /* skip FORMAT.md §9.2 */
	bool v242;                /* v2.42 dialect: §7.6 v2.42 tolerance, a matrix
				   * from an instant eval always fails (§7.5) */
	promql_test_report_fn report;
	void *ud;
} promql_test_opts;

typedef struct promql_test_counts {
	unsigned passed, failed, skipped;  /* eval commands */
	unsigned failed_errtext;           /* of failed: only the error text differed (§8.1) */
	unsigned failed_annos;             /* of failed: an annotation check failed (§8.2) */
	unsigned long queries;             /* queries run, the §9 re-runs included */
	unsigned load_errors;              /* samples the storage rejected (upstream fails the file) */
} promql_test_counts;

/* Runs every command of f on a fresh head, adding to *counts. Returns 0,
 * or -1 when the file could not be run at all (message in err). */
int promql_test_run(const promql_test_file *f, const promql_test_opts *opts, promql_test_counts *counts,
		    char *err, size_t errlen);

#endif
