/* SPDX-License-Identifier: Apache-2.0
 * functions.h - the PromQL function signature table (names, argument types,
 * return type), shared by the parser's type checker and the engine. The
 * engine dispatches on id.
 * ORDER PROMQL_FN: functions.c's table is indexed by promql_func_id. */
#ifndef PROMQL_FUNCTIONS_H
#define PROMQL_FUNCTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "promql/ast.h"

typedef enum promql_func_id {
	PROMQL_FN_ABS,
	PROMQL_FN_ABSENT,
	PROMQL_FN_ABSENT_OVER_TIME,
	PROMQL_FN_ACOS,
	PROMQL_FN_ACOSH,
	PROMQL_FN_ASIN,
	PROMQL_FN_ASINH,
	PROMQL_FN_ATAN,
	PROMQL_FN_ATANH,
	PROMQL_FN_AVG_OVER_TIME,
	PROMQL_FN_CEIL,
	PROMQL_FN_CHANGES,
	PROMQL_FN_CLAMP,
	PROMQL_FN_CLAMP_MAX,
	PROMQL_FN_CLAMP_MIN,
	PROMQL_FN_COS,
	PROMQL_FN_COSH,
	PROMQL_FN_COUNT_OVER_TIME,
	PROMQL_FN_DAY_OF_MONTH,
	PROMQL_FN_DAY_OF_WEEK,
	PROMQL_FN_DAY_OF_YEAR,
	PROMQL_FN_DAYS_IN_MONTH,
	PROMQL_FN_DEG,
	PROMQL_FN_DELTA,
	PROMQL_FN_DERIV,
	PROMQL_FN_DOUBLE_EXPONENTIAL_SMOOTHING,
	PROMQL_FN_END,
	PROMQL_FN_EXP,
	PROMQL_FN_FIRST_OVER_TIME,
	PROMQL_FN_FLOOR,
	PROMQL_FN_HISTOGRAM_AVG,
	PROMQL_FN_HISTOGRAM_COUNT,
	PROMQL_FN_HISTOGRAM_FRACTION,
	PROMQL_FN_HISTOGRAM_QUANTILE,
	PROMQL_FN_HISTOGRAM_QUANTILES,
	PROMQL_FN_HISTOGRAM_STDDEV,
	PROMQL_FN_HISTOGRAM_STDVAR,
	PROMQL_FN_HISTOGRAM_SUM,
	PROMQL_FN_HOUR,
	PROMQL_FN_IDELTA,
	PROMQL_FN_INCREASE,
	PROMQL_FN_INFO,
	PROMQL_FN_IRATE,
	PROMQL_FN_LABEL_JOIN,
	PROMQL_FN_LABEL_REPLACE,
	PROMQL_FN_LAST_OVER_TIME,
	PROMQL_FN_LN,
	PROMQL_FN_LOG10,
	PROMQL_FN_LOG2,
	PROMQL_FN_MAD_OVER_TIME,
	PROMQL_FN_MAX_OF,
	PROMQL_FN_MAX_OVER_TIME,
	PROMQL_FN_MIN_OF,
	PROMQL_FN_MIN_OVER_TIME,
	PROMQL_FN_MINUTE,
	PROMQL_FN_MONTH,
	PROMQL_FN_PI,
	PROMQL_FN_PREDICT_LINEAR,
	PROMQL_FN_PRESENT_OVER_TIME,
	PROMQL_FN_QUANTILE_OVER_TIME,
	PROMQL_FN_RAD,
	PROMQL_FN_RANGE,
	PROMQL_FN_RATE,
	PROMQL_FN_RESETS,
	PROMQL_FN_ROUND,
	PROMQL_FN_SCALAR,
	PROMQL_FN_SGN,
	PROMQL_FN_SIN,
	PROMQL_FN_SINH,
	PROMQL_FN_SORT,
	PROMQL_FN_SORT_BY_LABEL,
	PROMQL_FN_SORT_BY_LABEL_DESC,
	PROMQL_FN_SORT_DESC,
	PROMQL_FN_SQRT,
	PROMQL_FN_START,
	PROMQL_FN_STDDEV_OVER_TIME,
	PROMQL_FN_STDVAR_OVER_TIME,
	PROMQL_FN_STEP,
	PROMQL_FN_SUM_OVER_TIME,
	PROMQL_FN_TAN,
	PROMQL_FN_TANH,
	PROMQL_FN_TIME,
	PROMQL_FN_TIMESTAMP,
	PROMQL_FN_TS_OF_FIRST_OVER_TIME,
	PROMQL_FN_TS_OF_LAST_OVER_TIME,
	PROMQL_FN_TS_OF_MAX_OVER_TIME,
	PROMQL_FN_TS_OF_MIN_OVER_TIME,
	PROMQL_FN_VECTOR,
	PROMQL_FN_YEAR,
	PROMQL_FN__COUNT  /* not a function */
} promql_func_id;

struct promql_function {
	const char *name;
	promql_func_id id;
	promql_type arg_types[5];  /* declared argument types (label_replace has 5) */
	int nargs;                 /* number of entries in arg_types */
	int variadic;              /* 0: exactly nargs; k > 0: up to k optional trailing
				    * args of the last type; -1: unbounded trailing args */
	promql_type ret;
	bool experimental;         /* needs promql_parse_opts.experimental_functions */
};

/* Looks a function up by name; NULL when unknown. */
const promql_function *promql_function_lookup(const char *name, size_t n);
const promql_function *promql_function_by_id(promql_func_id id);
/* The declared type of argument i (0-based) of a call to f: arguments past
 * the declared ones have the type of the last (variadic functions). */
promql_type promql_function_arg_type(const promql_function *f, size_t i);

#endif
