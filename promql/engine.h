/* SPDX-License-Identifier: Apache-2.0
 * engine.h - PromQL evaluation over a tsdb head.
 *
 * A query owns an arena freed with its result: no allocation per sample.
 * Range queries evaluate selectors and range functions series-at-a-time
 * across all steps. Errors use Prometheus's texts and types. */
#ifndef PROMQL_ENGINE_H
#define PROMQL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/labels.h"
#include "promql/ast.h"
#include "tsdb/tsdb.h"

typedef struct promql_engine promql_engine;

typedef struct promql_engine_opts {
	int64_t lookback_ms;        /* --query.lookback-delta; 0: 5m */
	int64_t timeout_ms;         /* --query.timeout; 0: none */
	int64_t max_samples;        /* --query.max-samples; 0: 50,000,000 */
	bool experimental_functions;   /* promql-experimental-functions */
	bool duration_expressions;     /* promql-duration-expr */
	bool extended_range_selectors; /* promql-extended-range-selectors: anchored, smoothed */
	bool delayed_name_removal;     /* promql-delayed-name-removal */
	bool binop_fill_modifiers;     /* promql-binop-fill-modifiers: fill() etc. */
	int64_t subquery_step_ms;      /* default subquery resolution ([5m:]); 0: 1m
					* (the global evaluation interval) */
} promql_engine_opts;

promql_engine *promql_engine_new(tsdb_head *head, const promql_engine_opts *opts);
void promql_engine_free(promql_engine *e);
/* Replaces the storage queried (the promqltest runner's `clear`). */
void promql_engine_set_head(promql_engine *e, tsdb_head *head);

/* ORDER PROMQL_ERR: the API's errorType strings */
typedef enum promql_err {
	PROMQL_OK = 0,
	PROMQL_ERR_BAD_DATA,   /* "bad_data": parse errors, bad parameters (HTTP 400) */
	PROMQL_ERR_EXECUTION,  /* "execution": evaluation errors (HTTP 422) */
	PROMQL_ERR_TIMEOUT,    /* "timeout" (HTTP 503) */
	PROMQL_ERR_CANCELED,   /* "canceled" (HTTP 503) */
	PROMQL_ERR_INTERNAL,   /* "internal" (HTTP 500) */
} promql_err;
const char *promql_err_type_str(promql_err e);

typedef struct promql_point {
	int64_t t;
	double v;
} promql_point;

typedef struct promql_series {
	tp_labels labels;     /* strings live in the result arena or are interned */
	promql_point *points; /* one for an instant vector; in time order for a matrix */
	size_t npoints;
} promql_series;

typedef struct promql_result {
	promql_err err;
	char *err_msg;             /* Prometheus's error text, or NULL */
	promql_type type;          /* SCALAR, VECTOR, MATRIX or STRING */
	double scalar;             /* SCALAR */
	int64_t t;                 /* SCALAR/STRING: the evaluation time */
	char *string;              /* STRING */
	promql_series *series;     /* VECTOR (1 point each) and MATRIX */
	size_t nseries;
	char **warnings;           /* annotations: "PromQL warning: ..." texts */
	size_t nwarnings;
	char **infos;              /* "PromQL info: ..." texts */
	size_t ninfos;
	uint64_t samples_scanned;  /* for stats and benchmarks */
	tp_arena arena;            /* owns everything above */
} promql_result;

/* Instant query at t_ms. Always fills *out (free it with
 * promql_result_free); returns out->err. A range query's result is a
 * MATRIX (scalars become one series without labels, as Prometheus does). */
promql_err promql_query_instant(promql_engine *e, const char *query, int64_t t_ms, promql_result *out);
promql_err promql_query_range(promql_engine *e, const char *query, int64_t start_ms, int64_t end_ms,
			      int64_t step_ms, promql_result *out);
/* Same, for an already parsed expression (rules evaluate the same one
 * repeatedly). The expression is not modified. */
promql_err promql_eval_instant(promql_engine *e, const promql_expr *expr, int64_t t_ms, promql_result *out);
promql_err promql_eval_range(promql_engine *e, const promql_expr *expr, int64_t start_ms, int64_t end_ms,
			     int64_t step_ms, promql_result *out);
void promql_result_free(promql_result *r);

/* Per-query options (the HTTP API's timeout and lookback_delta
 * parameters), and where the query's time went (for
 * prometheus_engine_query_duration_seconds). */
typedef struct promql_query_opts {
	int64_t lookback_ms;   /* > 0: replaces the engine's lookback delta */
	int64_t deadline_ns;   /* > 0: a tp_mono_ns() time; the earlier of it and
				* the engine's timeout applies ("query timed out
				* in expression evaluation") */
	int64_t prepare_ns;    /* out: set-up before evaluation (querier) */
	int64_t eval_ns;       /* out: evaluation */
	int64_t sort_ns;       /* out: building and sorting the result */
} promql_query_opts;
/* promql_eval_instant / promql_eval_range with options; qo may be NULL. */
promql_err promql_eval_instant_opts(promql_engine *e, const promql_expr *expr, int64_t t_ms, promql_query_opts *qo,
				   promql_result *out);
promql_err promql_eval_range_opts(promql_engine *e, const promql_expr *expr, int64_t start_ms, int64_t end_ms,
				  int64_t step_ms, promql_query_opts *qo, promql_result *out);

#endif
