/* SPDX-License-Identifier: Apache-2.0
 * expfmt.h - zero-copy pull parsers for the Prometheus text format 0.0.4
 * (with the quoted UTF-8 names of text 1.0.0) and OpenMetrics 1.0, modelled
 * on Prometheus's model/textparse (promparse.go, openmetricsparse.go).
 *
 * Invariants:
 *  - the parser never copies or modifies the input; every span it returns
 *    points into the caller's buffer and stays valid as long as that buffer;
 *  - text returned by help/comment/unit is valid until the next call to
 *    scrape_parser_next (HELP text with escapes is unescaped into a scratch
 *    buffer owned by the parser);
 *  - in the steady state (after the first few lines have grown the offset
 *    arrays) scrape_parser_next allocates nothing;
 *  - the first error is sticky: every later next() returns INVALID again;
 *    for OpenMetrics (where a missing "# EOF" or data after it is an error)
 *    the caller must then discard the whole scrape, as Prometheus does;
 *    error texts are Prometheus's (same wording, same %q quoting), and the
 *    1-based line of the failing entry is kept beside them.
 *
 * Usage:
 *     scrape_parser p;
 *     scrape_parser_init(&p, scrape_format_from_content_type(ct, NULL), buf, len);
 *     for (;;) {
 *             scrape_entry e = scrape_parser_next(&p);
 *             if (e == SCRAPE_ENTRY_EOF) break;
 *             if (e == SCRAPE_ENTRY_INVALID) { log(p.err_msg, p.err_line); break; }
 *             if (e == SCRAPE_ENTRY_SERIES) { use p.series/p.value/p.ts_ms; }
 *     }
 *     scrape_parser_free(&p);
 */
#ifndef SCRAPE_EXPFMT_H
#define SCRAPE_EXPFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/labels.h"

typedef enum scrape_format {
	SCRAPE_FORMAT_TEXT = 0,        /* text/plain; version=0.0.4 (and 1.0.0) */
	SCRAPE_FORMAT_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
} scrape_format;

/* Picks the parser for a response Content-Type (parameters and case are
 * ignored). Anything unknown, missing (NULL) or malformed falls back to the
 * text format; *known (may be NULL) tells whether the type was recognised. */
scrape_format scrape_format_from_content_type(const char *content_type, bool *known);

/* Prometheus's textparse.Entry kinds, plus EOF (Go returns io.EOF). */
typedef enum scrape_entry {
	SCRAPE_ENTRY_INVALID = -1, /* an error: see err_msg / err_line */
	SCRAPE_ENTRY_EOF = 0,      /* end of the exposition (after # EOF in OpenMetrics) */
	SCRAPE_ENTRY_TYPE,
	SCRAPE_ENTRY_HELP,
	SCRAPE_ENTRY_SERIES,
	SCRAPE_ENTRY_COMMENT,
	SCRAPE_ENTRY_UNIT,
} scrape_entry;

/* ORDER SCRAPE_TYPE: scrape_metric_type_name() depends on it. */
typedef enum scrape_metric_type {
	SCRAPE_TYPE_UNKNOWN = 0, /* untyped (text) / unknown (OpenMetrics) */
	SCRAPE_TYPE_COUNTER,
	SCRAPE_TYPE_GAUGE,
	SCRAPE_TYPE_HISTOGRAM,
	SCRAPE_TYPE_GAUGEHISTOGRAM,
	SCRAPE_TYPE_SUMMARY,
	SCRAPE_TYPE_INFO,
	SCRAPE_TYPE_STATESET,
} scrape_metric_type;

/* Prometheus's spelling ("unknown", "counter", ..., "gaugehistogram"). */
const char *scrape_metric_type_name(scrape_metric_type t);

/* Error classes, so that tools can render other wordings (promtool's
 * expfmt messages in `check metrics`) from the same parse. */
typedef enum scrape_err {
	SCRAPE_ERR_NONE = 0,
	SCRAPE_ERR_SYNTAX,        /* any other token error */
	SCRAPE_ERR_META_NAME,     /* no metric name after HELP/TYPE/UNIT */
	SCRAPE_ERR_TYPE,          /* invalid metric type */
	SCRAPE_ERR_HELP_UTF8,     /* help text not UTF-8 */
	SCRAPE_ERR_UNIT,          /* unit not a suffix of the name */
	SCRAPE_ERR_LABEL_NAME,    /* expected label name */
	SCRAPE_ERR_LABEL_EQUAL,   /* expected '=' after a label name */
	SCRAPE_ERR_LABEL_VALUE,   /* expected a quoted label value */
	SCRAPE_ERR_LABEL_UTF8,    /* label value not UTF-8 */
	SCRAPE_ERR_LABEL_DUP,     /* a label name repeats */
	SCRAPE_ERR_NAME_MISSING,  /* {a="b"} without a metric name */
	SCRAPE_ERR_NAME_TWICE,    /* two quoted metric names */
	SCRAPE_ERR_VALUE,         /* value missing or not a float */
	SCRAPE_ERR_TIMESTAMP,     /* timestamp not an integer (ms) / float (s) */
	SCRAPE_ERR_AFTER_TS,      /* garbage after the timestamp */
	SCRAPE_ERR_EXEMPLAR,      /* malformed exemplar */
	SCRAPE_ERR_NO_EOF,        /* OpenMetrics without # EOF */
	SCRAPE_ERR_AFTER_EOF,     /* data after # EOF */
} scrape_err;

typedef struct scrape_exemplar {
	tp_labels labels;   /* normalised, in the caller's arena */
	double value;
	bool has_ts;
	int64_t ts_ms;      /* converted from float seconds */
} scrape_exemplar;

typedef struct scrape_parser {
	/* input */
	const char *b;         /* the exposition (not owned) */
	size_t n;              /* its length; text mode reads a virtual '\n' at b[n] */
	scrape_format format;
	/* lexer */
	size_t i;              /* read position */
	size_t tok_start;      /* start of the current token */
	size_t start;          /* start of the current entry */
	int state;             /* lexer state */
	/* current entry, valid until the next call */
	size_t *offs;          /* [name_start, name_end, (lname_s, lname_e, lval_s, lval_e)...] */
	size_t noffs, cap_offs;
	size_t *eoffs;         /* exemplar label offsets, pairs of pairs as above */
	size_t neoffs, cap_eoffs;
	const char *series;    /* raw `name{labels}` bytes (scrape-cache key) */
	size_t series_len;
	double value;
	bool has_ts;
	int64_t ts_ms;
	bool has_exemplar;
	double ex_value;
	bool ex_has_ts;
	int64_t ex_ts_ms;
	scrape_metric_type mtype; /* type of the last TYPE entry */
	const char *fam;       /* metric name of the last TYPE entry (raw) */
	size_t fam_len;
	const char *text;      /* HELP/UNIT/COMMENT/TYPE text, raw */
	size_t text_len;
	char *scratch;         /* unescaped HELP text */
	size_t cap_scratch;
	/* errors */
	scrape_err err;
	char err_msg[1024];
	uint32_t err_line;     /* 1-based line of the failing entry */
	size_t err_pos;        /* byte offset of the offending token */
	/* line tracking for scrape_parser_line */
	size_t line_pos;
	uint32_t line_no;
	bool done;             /* EOF or error seen */
} scrape_parser;

void scrape_parser_init(scrape_parser *p, scrape_format f, const char *buf, size_t len);
/* Starts again over another buffer, keeping the grown arrays. */
void scrape_parser_reset(scrape_parser *p, scrape_format f, const char *buf, size_t len);
void scrape_parser_free(scrape_parser *p);

scrape_entry scrape_parser_next(scrape_parser *p);

/* 1-based line number where the current entry starts. Cheap when called
 * once per entry in order (it counts newlines since the last call). */
uint32_t scrape_parser_line(scrape_parser *p);

/* After SERIES: the raw series bytes, the value and the optional timestamp. */
void scrape_parser_series(const scrape_parser *p, const char **series, size_t *len, double *v,
			  bool *has_ts, int64_t *ts_ms);
/* After SERIES: the metric name (raw, quotes stripped, escapes kept). */
void scrape_parser_metric_name(const scrape_parser *p, const char **name, size_t *len);
/* After SERIES: adds __name__ and all labels (unescaped, copied into the
 * builder's arena) to b, which the caller has tp_lb_init'ed. Empty values
 * are dropped, as Prometheus does. */
void scrape_parser_labels(const scrape_parser *p, tp_labels_builder *b);
/* Same, into a fresh builder: the normalised label set, in arena a. */
tp_labels scrape_parser_labels_arena(const scrape_parser *p, tp_arena *a);
/* After SERIES: true and *ex filled (labels in arena a) when the line
 * carried an OpenMetrics exemplar. */
bool scrape_parser_exemplar(const scrape_parser *p, tp_arena *a, scrape_exemplar *ex);
/* Number of runes in the exemplar's label names and values (OpenMetrics
 * caps this at 128; storage rejects longer ones). */
size_t scrape_parser_exemplar_runes(const scrape_parser *p);

/* After SERIES: true for an OpenMetrics `<family>_created` sample of the
 * counter, histogram or summary family named by the last TYPE line (its
 * value is the family's creation time in Unix seconds). Such samples are
 * still returned as ordinary series; the caller may store them as series
 * (old Prometheus) or use them as created timestamps. */
bool scrape_parser_is_created(const scrape_parser *p);

/* After HELP: metric name and unescaped help text. */
void scrape_parser_help(scrape_parser *p, const char **name, size_t *nlen, const char **text,
			size_t *tlen);
/* After TYPE: metric name and type. */
void scrape_parser_type(const scrape_parser *p, const char **name, size_t *nlen,
			scrape_metric_type *t);
/* After UNIT: metric name and unit. */
void scrape_parser_unit(const scrape_parser *p, const char **name, size_t *nlen,
			const char **unit, size_t *ulen);
/* After COMMENT: the whole comment line (from '#', no newline). */
void scrape_parser_comment(const scrape_parser *p, const char **text, size_t *len);

/* Go's strconv.ParseFloat as Prometheus uses it (no hex, no '_', "NaN",
 * "Inf", "+Inf", "-Inf", "infinity" in any case). Returns 0, -1 for
 * invalid syntax, -2 for out of range. */
int scrape_parse_float(const char *s, size_t n, double *out);

/* Appends s as Go's %q would quote it into dst (size cap, always
 * NUL-terminated); returns the length written. */
size_t scrape_quote(char *dst, size_t cap, const char *s, size_t n);

/* Unescapes a label value (\\ \" \n; other escapes kept) or, with help,
 * a HELP text (\\ \n) into dst, which has room for n bytes. Returns the
 * new length. */
size_t scrape_unescape(char *dst, const char *s, size_t n, bool help);

/* True when s is valid UTF-8. */
bool scrape_utf8_valid(const char *s, size_t n);

#endif
