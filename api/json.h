/* SPDX-License-Identifier: Apache-2.0
 * json.h - Prometheus API JSON written straight into a tp_strbuf: the
 * envelope, error types and their HTTP status codes, sample timestamps and
 * values, label sets and query results.
 *
 * Invariants: everything emitted is valid UTF-8 JSON (invalid input bytes
 * become U+FFFD); timestamps print as Prometheus's marshalTimestamp does
 * (seconds, then '.' and three digits when the millisecond part is not
 * zero); values are strings in Go's shortest form ('f', or 'e' when
 * |v| < 1e-6 or |v| >= 1e21; NaN, +Inf, -Inf); empty lists are [], never
 * null; resultType precedes result. */
#ifndef API_JSON_H
#define API_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "lib/labels.h"
#include "lib/strbuf.h"
#include "promql/engine.h"

/* ORDER API_ERR: api_json_error_type[] and api_json_error_status() follow it. */
typedef enum api_err {
	API_ERR_NONE = 0,
	API_ERR_BAD_DATA,     /* 400 */
	API_ERR_EXECUTION,    /* 422 */
	API_ERR_TIMEOUT,      /* 503 */
	API_ERR_CANCELED,     /* 503 (Prometheus 2.x) */
	API_ERR_INTERNAL,     /* 500 */
	API_ERR_NOT_FOUND,    /* 404 */
	API_ERR_UNAVAILABLE,  /* 500, as Prometheus's default branch */
} api_err;

const char *api_json_error_type(api_err e);  /* "bad_data", ... */
int api_json_error_status(api_err e);        /* 400, ... */
api_err api_err_from_promql(promql_err e);

/* "..." with JSON escapes. */
void api_json_string(tp_strbuf *sb, const char *s);
void api_json_string_n(tp_strbuf *sb, const char *s, size_t n);
/* 1435781451.781, -1.5 is "-1.500": exactly Prometheus's marshalTimestamp. */
void api_json_time(tp_strbuf *sb, int64_t ms);
/* "1.5", "1e-07", "NaN" (with the quotes). */
void api_json_value(tp_strbuf *sb, double v);
/* [1435781451.781,"1"] */
void api_json_point(tp_strbuf *sb, int64_t ms, double v);
/* {"__name__":"up","job":"x"} in label order. */
void api_json_labels(tp_strbuf *sb, const tp_labels *l);

/* {"status":"success","data":  -- the caller then writes the data and
 * calls api_json_success_end. */
void api_json_success_begin(tp_strbuf *sb);
/* Closes the envelope, adding "warnings"/"infos" only when non-empty. */
void api_json_success_end(tp_strbuf *sb, char *const *warnings, size_t nwarnings, char *const *infos,
			  size_t ninfos);
/* A whole error document. */
void api_json_error(tp_strbuf *sb, api_err type, const char *msg);

/* The data object of a query result: {"resultType":"vector","result":[...]}.
 * Series are written in the order the engine returned them. */
void api_json_query_data(tp_strbuf *sb, const promql_result *r);
/* About the bytes api_json_query_data writes for r (labels exact, points
 * typical), to size the response buffer once. */
size_t api_json_query_data_size(const promql_result *r);

#endif
