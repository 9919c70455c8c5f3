/* SPDX-License-Identifier: Apache-2.0
 * functions.c - the PromQL function signature table, transcribed from
 * Prometheus's promql/parser/functions.go (names, argument types, Variadic,
 * return type, Experimental).
 * Invariants: table[id].id == id for every promql_func_id (ORDER PROMQL_FN);
 * names are unique. `variadic` keeps Prometheus's meaning: the last declared
 * argument is optional and may repeat up to `variadic` times (-1: without
 * limit), so a call takes between nargs-1 and nargs-1+variadic arguments. */
#include "config.h"

#include <string.h>

#include "lib/common.h"
#include "promql/functions.h"

#define S PROMQL_TYPE_SCALAR
#define V PROMQL_TYPE_VECTOR
#define M PROMQL_TYPE_MATRIX
#define STR PROMQL_TYPE_STRING

/* F(id suffix, name, variadic, return, experimental, arg types...) */
#define F(ID, NAME, VAR, RET, EXP, ...)                                              \
	[PROMQL_FN_##ID] = {.name = NAME, .id = PROMQL_FN_##ID, .arg_types = {__VA_ARGS__}, \
			    .nargs = (int)(sizeof((promql_type[]){PROMQL_TYPE_NONE, __VA_ARGS__}) /  \
					   sizeof(promql_type)) - 1,                            \
			    .variadic = VAR, .ret = RET, .experimental = EXP}
/* Functions without arguments. */
#define F0(ID, NAME, RET, EXP) \
	[PROMQL_FN_##ID] = {.name = NAME, .id = PROMQL_FN_##ID, .nargs = 0, .variadic = 0, .ret = RET, .experimental = EXP}

static const promql_function table[PROMQL_FN__COUNT] = {
	F(ABS, "abs", 0, V, false, V),
	F(ABSENT, "absent", 0, V, false, V),
	F(ABSENT_OVER_TIME, "absent_over_time", 0, V, false, M),
	F(ACOS, "acos", 0, V, false, V),
	F(ACOSH, "acosh", 0, V, false, V),
	F(ASIN, "asin", 0, V, false, V),
	F(ASINH, "asinh", 0, V, false, V),
	F(ATAN, "atan", 0, V, false, V),
	F(ATANH, "atanh", 0, V, false, V),
	F(AVG_OVER_TIME, "avg_over_time", 0, V, false, M),
	F(CEIL, "ceil", 0, V, false, V),
	F(CHANGES, "changes", 0, V, false, M),
	F(CLAMP, "clamp", 0, V, false, V, S, S),
	F(CLAMP_MAX, "clamp_max", 0, V, false, V, S),
	F(CLAMP_MIN, "clamp_min", 0, V, false, V, S),
	F(COS, "cos", 0, V, false, V),
	F(COSH, "cosh", 0, V, false, V),
	F(COUNT_OVER_TIME, "count_over_time", 0, V, false, M),
	F(DAY_OF_MONTH, "day_of_month", 1, V, false, V),
	F(DAY_OF_WEEK, "day_of_week", 1, V, false, V),
	F(DAY_OF_YEAR, "day_of_year", 1, V, false, V),
	F(DAYS_IN_MONTH, "days_in_month", 1, V, false, V),
	F(DEG, "deg", 0, V, false, V),
	F(DELTA, "delta", 0, V, false, M),
	F(DERIV, "deriv", 0, V, false, M),
	F(DOUBLE_EXPONENTIAL_SMOOTHING, "double_exponential_smoothing", 0, V, true, M, S, S),
	F0(END, "end", S, true),
	F(EXP, "exp", 0, V, false, V),
	F(FIRST_OVER_TIME, "first_over_time", 0, V, true, M),
	F(FLOOR, "floor", 0, V, false, V),
	F(HISTOGRAM_AVG, "histogram_avg", 0, V, false, V),
	F(HISTOGRAM_COUNT, "histogram_count", 0, V, false, V),
	F(HISTOGRAM_FRACTION, "histogram_fraction", 0, V, false, S, S, V),
	F(HISTOGRAM_QUANTILE, "histogram_quantile", 0, V, false, S, V),
	F(HISTOGRAM_QUANTILES, "histogram_quantiles", -1, V, true, V, STR, S, S),
	F(HISTOGRAM_STDDEV, "histogram_stddev", 0, V, false, V),
	F(HISTOGRAM_STDVAR, "histogram_stdvar", 0, V, false, V),
	F(HISTOGRAM_SUM, "histogram_sum", 0, V, false, V),
	F(HOUR, "hour", 1, V, false, V),
	F(IDELTA, "idelta", 0, V, false, M),
	F(INCREASE, "increase", 0, V, false, M),
	F(INFO, "info", 1, V, true, V, V),
	F(IRATE, "irate", 0, V, false, M),
	F(LABEL_JOIN, "label_join", -1, V, false, V, STR, STR, STR),
	F(LABEL_REPLACE, "label_replace", 0, V, false, V, STR, STR, STR, STR),
	F(LAST_OVER_TIME, "last_over_time", 0, V, false, M),
	F(LN, "ln", 0, V, false, V),
	F(LOG10, "log10", 0, V, false, V),
	F(LOG2, "log2", 0, V, false, V),
	F(MAD_OVER_TIME, "mad_over_time", 0, V, true, M),
	F(MAX_OF, "max_of", 0, S, true, S, S),
	F(MAX_OVER_TIME, "max_over_time", 0, V, false, M),
	F(MIN_OF, "min_of", 0, S, true, S, S),
	F(MIN_OVER_TIME, "min_over_time", 0, V, false, M),
	F(MINUTE, "minute", 1, V, false, V),
	F(MONTH, "month", 1, V, false, V),
	F0(PI, "pi", S, false),
	F(PREDICT_LINEAR, "predict_linear", 0, V, false, M, S),
	F(PRESENT_OVER_TIME, "present_over_time", 0, V, false, M),
	F(QUANTILE_OVER_TIME, "quantile_over_time", 0, V, false, S, M),
	F(RAD, "rad", 0, V, false, V),
	F0(RANGE, "range", S, true),
	F(RATE, "rate", 0, V, false, M),
	F(RESETS, "resets", 0, V, false, M),
	F(ROUND, "round", 1, V, false, V, S),
	F(SCALAR, "scalar", 0, S, false, V),
	F(SGN, "sgn", 0, V, false, V),
	F(SIN, "sin", 0, V, false, V),
	F(SINH, "sinh", 0, V, false, V),
	F(SORT, "sort", 0, V, false, V),
	F(SORT_BY_LABEL, "sort_by_label", -1, V, true, V, STR),
	F(SORT_BY_LABEL_DESC, "sort_by_label_desc", -1, V, true, V, STR),
	F(SORT_DESC, "sort_desc", 0, V, false, V),
	F(SQRT, "sqrt", 0, V, false, V),
	F0(START, "start", S, true),
	F(STDDEV_OVER_TIME, "stddev_over_time", 0, V, false, M),
	F(STDVAR_OVER_TIME, "stdvar_over_time", 0, V, false, M),
	F0(STEP, "step", S, true),
	F(SUM_OVER_TIME, "sum_over_time", 0, V, false, M),
	F(TAN, "tan", 0, V, false, V),
	F(TANH, "tanh", 0, V, false, V),
	F0(TIME, "time", S, false),
	F(TIMESTAMP, "timestamp", 0, V, false, V),
	F(TS_OF_FIRST_OVER_TIME, "ts_of_first_over_time", 0, V, true, M),
	F(TS_OF_LAST_OVER_TIME, "ts_of_last_over_time", 0, V, true, M),
	F(TS_OF_MAX_OVER_TIME, "ts_of_max_over_time", 0, V, true, M),
	F(TS_OF_MIN_OVER_TIME, "ts_of_min_over_time", 0, V, true, M),
	F(VECTOR, "vector", 0, V, false, S),
	F(YEAR, "year", 1, V, false, V),
};

const promql_function *promql_function_lookup(const char *name, size_t n)
{
	/* The table is sorted by name (ORDER PROMQL_FN is alphabetical). */
	size_t lo = 0, hi = PROMQL_FN__COUNT;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = table[mid].name;
		size_t mn = strlen(m);
		int c = memcmp(name, m, n < mn ? n : mn);
		if (c == 0)
			c = (n > mn) - (n < mn);
		if (c == 0)
			return &table[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const promql_function *promql_function_by_id(promql_func_id id)
{
	if ((unsigned)id >= PROMQL_FN__COUNT)
		return NULL;
	return &table[id];
}

promql_type promql_function_arg_type(const promql_function *f, size_t i)
{
	if (f->nargs == 0)
		return PROMQL_TYPE_NONE;
	size_t last = (size_t)f->nargs - 1;
	if (i > last)
		i = last;
	if (i >= TP_ARRAY_LEN(f->arg_types))
		i = TP_ARRAY_LEN(f->arg_types) - 1;
	return f->arg_types[i];
}
