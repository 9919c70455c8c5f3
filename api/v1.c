/* SPDX-License-Identifier: Apache-2.0
 * v1.c - the /api/v1 endpoints and the route table: query, query_range,
 * series, labels, label values, format_query, query_exemplars and the
 * status pages. Error texts are Prometheus's (web/api/v1/api.go).
 *
 * Invariants: every handler writes exactly one complete response (success
 * envelope or error); a query holds a concurrency slot only while the
 * engine runs; querier-owned label strings are written out before the
 * querier is freed. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "api/json.h"
#include "api/web.h"
#include "lib/common.h"
#include "lib/duration.h"
#include "lib/metrics.h"
#include "promql/ast.h"

/* Prometheus's minTime/maxTime (the defaults of start/end on the metadata
 * endpoints) in ms, and their RFC 3339 spellings that client_golang sends. */
#define API_MIN_TIME_MS (-9223309901257974LL * 1000)
#define API_MAX_TIME_MS (9223309901257974LL * 1000 + 999)
static const char min_time_text[] = "-292273086-05-16T16:47:06Z";
static const char max_time_text[] = "292277025-08-18T07:12:54.999999999Z";

#define MAX_POINTS 11000
#define MAX_MATCH_SETS 256

/* ---- parameter parsing ---- */

static int parse_time(const char *s, int64_t *ms)
{
	if (tp_time_parse(s, ms) == 0)
		return 0;
	if (strcmp(s, min_time_text) == 0) {
		*ms = API_MIN_TIME_MS;
		return 0;
	}
	if (strcmp(s, max_time_text) == 0) {
		*ms = API_MAX_TIME_MS;
		return 0;
	}
	return -1;
}

/* parseTimeParam: a missing/empty value gives def. Reports its own error. */
static int time_param(api_request *req, api_response *resp, const char *name, int64_t def, int64_t *out)
{
	const char *v = api_params_get(&req->params, name);
	if (!v || !*v) {
		*out = def;
		return 0;
	}
	if (parse_time(v, out) != 0) {
		api_respond_error(resp, API_ERR_BAD_DATA,
				  "invalid parameter \"%s\": Invalid time value for '%s': cannot parse \"%s\" to a valid timestamp",
				  name, name, v);
		return -1;
	}
	return 0;
}

/* query_range's start and end: required, with parseTime's own error text.
 * Reports its own error. */
static int required_time_param(api_request *req, api_response *resp, const char *name, int64_t *out)
{
	const char *v = api_params_get(&req->params, name);
	if (parse_time(v ? v : "", out) != 0) {
		api_respond_error(resp, API_ERR_BAD_DATA,
				  "invalid parameter \"%s\": cannot parse \"%s\" to a valid timestamp", name, v ? v : "");
		return -1;
	}
	return 0;
}

/* parseDuration: float seconds or a Prometheus duration, into ms.
 * Returns 0, -1 (unparseable) or -2 (overflows int64 nanoseconds). */
static int parse_duration(const char *s, int64_t *ms, bool *nonpositive)
{
	char *end;
	*nonpositive = false;
	if (*s) {
		double d = strtod(s, &end);
		if (*end == '\0') {
			double ns = d * 1e9;
			if (ns > 9.223372036854775807e18 || ns < -9.223372036854775808e18)
				return -2;
			if (!(ns > 0)) /* also NaN */
				*nonpositive = true;
			*ms = (int64_t)(d * 1000);
			if (*ms == 0 && ns > 0)
				*ms = 1;
			return 0;
		}
	}
	if (tp_duration_parse(s, strlen(s), ms) == 0) {
		*nonpositive = *ms <= 0;
		return 0;
	}
	return -1;
}

static int duration_param(api_request *req, api_response *resp, const char *name, const char *v, int64_t *out,
			  bool *nonpositive)
{
	int rc = parse_duration(v, out, nonpositive);
	if (rc == -1)
		api_respond_error(resp, API_ERR_BAD_DATA,
				  "invalid parameter \"%s\": cannot parse \"%s\" to a valid duration", name, v);
	else if (rc == -2)
		api_respond_error(resp, API_ERR_BAD_DATA,
				  "invalid parameter \"%s\": cannot parse \"%s\" to a valid duration. It overflows int64",
				  name, v);
	return rc == 0 ? 0 : -1;
}

/* parseLimitParam: 0 or absent = no limit (SIZE_MAX). */
static int limit_param(api_request *req, api_response *resp, size_t *out)
{
	const char *v = api_params_get(&req->params, "limit");
	*out = SIZE_MAX;
	if (!v || !*v)
		return 0;
	char *end;
	long long x = strtoll(v, &end, 10);
	if (*end || end == v) {
		api_respond_error(resp, API_ERR_BAD_DATA,
				  "invalid parameter \"limit\": strconv.Atoi: parsing \"%s\": invalid syntax", v);
		return -1;
	}
	if (x < 0) {
		api_respond_error(resp, API_ERR_BAD_DATA, "invalid parameter \"limit\": limit must be non-negative");
		return -1;
	}
	if (x > 0)
		*out = (size_t)x;
	return 0;
}

static promql_parse_opts parse_opts(api_server *s)
{
	promql_parse_opts po = {
		.experimental_functions = api_options_feature(s->cfg.opts, "promql-experimental-functions"),
		.duration_expressions = api_options_feature(s->cfg.opts, "promql-duration-expr"),
		.binop_fill_modifiers = api_options_feature(s->cfg.opts, "promql-binop-fill-modifiers"),
	};
	po.extended_range_selectors = api_options_feature(s->cfg.opts, "promql-extended-range-selectors");
	return po;
}

/* Parses the query parameter (absent: "") with the server's feature
 * flags. On a parse error it answers bad_data with err_prefix before the
 * parser's message and returns NULL; the caller frees the expression. */
static promql_expr *query_param(api_server *s, api_request *req, api_response *resp, const char *err_prefix)
{
	const char *q = api_params_get(&req->params, "query");
	promql_parse_opts po = parse_opts(s);
	promql_parse_error perr;
	memset(&perr, 0, sizeof perr);
	promql_expr *expr = promql_parse(q ? q : "", &po, &perr);
	if (!expr)
		api_respond_error(resp, API_ERR_BAD_DATA, "%s%s", err_prefix, perr.msg);
	return expr;
}

/* ---- match[] ---- */

typedef struct match_sets {
	tsdb_matcher *ms[MAX_MATCH_SETS];
	size_t n[MAX_MATCH_SETS];
	size_t count;
} match_sets;

static void match_sets_free(match_sets *m)
{
	for (size_t i = 0; i < m->count; i++)
		promql_matchers_free(m->ms[i], m->n[i]);
	m->count = 0;
}

/* parseMatchersParam. prefix_errors: series wraps errors as
 * invalid parameter "match[]", labels and label values do not. */
static int match_param(api_request *req, api_response *resp, match_sets *m, bool prefix_errors)
{
	const char *vals[MAX_MATCH_SETS];
	size_t total = api_params_count(&req->params, "match[]");
	if (total > MAX_MATCH_SETS) {
		api_respond_error(resp, API_ERR_BAD_DATA, "too many match[] parameters (limit %d)", MAX_MATCH_SETS);
		return -1;
	}
	size_t n = api_params_get_all(&req->params, "match[]", vals, MAX_MATCH_SETS);
	const char *pfx = prefix_errors ? "invalid parameter \"match[]\": " : "";
	m->count = 0;
	for (size_t i = 0; i < n; i++) {
		promql_parse_error perr;
		memset(&perr, 0, sizeof perr);
		if (promql_parse_selector(vals[i], &m->ms[m->count], &m->n[m->count], &perr) != 0) {
			api_respond_error(resp, API_ERR_BAD_DATA, "%s%s", pfx, perr.msg);
			match_sets_free(m);
			return -1;
		}
		m->count++;
	}
	for (size_t i = 0; i < m->count; i++) {
		bool ok = false;
		for (size_t k = 0; k < m->n[i] && !ok; k++)
			ok = !tsdb_matcher_matches_empty(&m->ms[i][k]);
		if (!ok) {
			api_respond_error(resp, API_ERR_BAD_DATA, "%smatch[] must contain at least one non-empty matcher",
					  pfx);
			match_sets_free(m);
			return -1;
		}
	}
	return 0;
}

/* The metadata endpoints' start and end (default: all time), limit and
 * match[] (see match_param), in Prometheus's order. Reports its own
 * error; on success the caller frees m. */
static int meta_params(api_request *req, api_response *resp, int64_t *start, int64_t *end, size_t *limit,
		       match_sets *m, bool prefix_errors)
{
	if (time_param(req, resp, "start", API_MIN_TIME_MS, start) != 0 ||
	    time_param(req, resp, "end", API_MAX_TIME_MS, end) != 0 || limit_param(req, resp, limit) != 0)
		return -1;
	return match_param(req, resp, m, prefix_errors);
}

/* ---- query endpoints ---- */

/* Writes a query result; limit (SIZE_MAX: none) truncates vectors and
 * matrices with Prometheus's warning, leaving scalars and strings alone. */
static void respond_result(api_response *resp, promql_result *res, size_t limit)
{
	if (res->err != PROMQL_OK) {
		api_respond_error(resp, api_err_from_promql(res->err), "%s", res->err_msg ? res->err_msg : "unknown error");
		return;
	}
	char **warnings = res->warnings;
	size_t nwarnings = res->nwarnings;
	char **merged = NULL;
	if ((res->type == PROMQL_TYPE_VECTOR || res->type == PROMQL_TYPE_MATRIX) && res->nseries > limit) {
		res->nseries = limit;  /* the arena still owns the rest */
		merged = tp_xmalloc((nwarnings + 1) * sizeof *merged);
		if (nwarnings)
			memcpy(merged, warnings, nwarnings * sizeof *merged);
		merged[nwarnings++] = (char *)"results truncated due to limit";
		warnings = merged;
	}
	tp_sb_reset(&resp->body);
	api_response_reserve(resp, api_json_query_data_size(res) + 256);
	api_json_success_begin(&resp->body);
	api_json_query_data(&resp->body, res);
	api_json_success_end(&resp->body, warnings, nwarnings, res->infos, res->ninfos);
	resp->status = 200;
	free(merged);
}

/* The timeout and lookback_delta parameters (Prometheus's query and
 * query_range handlers, in their order). timeout bounds the request from
 * its arrival, queue wait included, and never extends --query.timeout;
 * lookback_delta <= 0 leaves the server's. */
static int query_opts_params(api_server *s, api_request *req, api_response *resp, promql_query_opts *qo)
{
	memset(qo, 0, sizeof(*qo));
	int64_t ms;
	bool np;
	const char *to = api_params_get(&req->params, "timeout");
	bool given = to && *to;
	int64_t timeout_ms = s->cfg.opts->query_timeout_ms;  /* 0: none */
	if (given) {
		if (duration_param(req, resp, "timeout", to, &ms, &np) != 0)
			return -1;
		if (np)
			ms = 0;  /* expired at once, as Go's context.WithTimeout */
		if (timeout_ms <= 0 || ms < timeout_ms)
			timeout_ms = ms;
	}
	if (timeout_ms > 0 || given)
		qo->deadline_ns = req->start_ns + timeout_ms * 1000000;
	const char *lb = api_params_get(&req->params, "lookback_delta");
	if (lb && *lb) {
		if (parse_duration(lb, &ms, &np) != 0) {
			api_respond_error(resp, API_ERR_BAD_DATA,
					  "error parsing lookback delta duration: cannot parse \"%s\" to a valid duration", lb);
			return -1;
		}
		qo->lookback_ms = ms > 0 ? ms : 0;
	}
	return 0;
}

static void observe_slice(api_server *s, int slice, int64_t ns)
{
	if (s->m_query_slice[slice])
		tp_metrics_summary_observe(s->m_query_slice[slice], (double)ns / 1e9);
}

/* Runs a parsed query under admission control and the deadline, records
 * its timings and writes the response. range: step_ms > 0. */
static void run_query(api_server *s, api_request *req, api_response *resp, const promql_expr *expr, int64_t start,
		      int64_t end, int64_t step_ms, promql_query_opts *qo, size_t limit)
{
	int64_t q0 = tp_mono_ns();
	if (api_query_begin(s, qo->deadline_ns) != 0) {
		observe_slice(s, API_SLICE_QUEUE_TIME, tp_mono_ns() - q0);
		api_respond_error(resp, API_ERR_TIMEOUT, "query timed out in query queue");
		return;
	}
	observe_slice(s, API_SLICE_QUEUE_TIME, tp_mono_ns() - q0);
	promql_result res;
	if (step_ms > 0)
		promql_eval_range_opts(s->cfg.engine, expr, start, end, step_ms, qo, &res);
	else
		promql_eval_instant_opts(s->cfg.engine, expr, start, qo, &res);
	api_query_end(s);
	observe_slice(s, API_SLICE_PREPARE_TIME, qo->prepare_ns);
	observe_slice(s, API_SLICE_INNER_EVAL, qo->eval_ns);
	if (step_ms > 0)  /* Prometheus times the sort of range results only */
		observe_slice(s, API_SLICE_RESULT_SORT, qo->sort_ns);
	respond_result(resp, &res, limit);
	promql_result_free(&res);
}

static void h_query(api_server *s, api_request *req, api_response *resp)
{
	int64_t t;
	size_t limit;
	promql_query_opts qo;
	if (time_param(req, resp, "time", tp_now_ms(), &t) != 0 || query_opts_params(s, req, resp, &qo) != 0 ||
	    limit_param(req, resp, &limit) != 0)
		return;
	promql_expr *expr = query_param(s, req, resp, "invalid parameter \"query\": ");
	if (!expr)
		return;
	run_query(s, req, resp, expr, t, t, 0, &qo, limit);
	promql_expr_free(expr);
}

static void h_query_range(api_server *s, api_request *req, api_response *resp)
{
	const char *stv = api_params_get(&req->params, "step");
	int64_t start, end, step;
	if (required_time_param(req, resp, "start", &start) != 0 || required_time_param(req, resp, "end", &end) != 0)
		return;
	if (end < start) {
		api_respond_error(resp, API_ERR_BAD_DATA,
				  "invalid parameter \"end\": end timestamp must not be before start time");
		return;
	}
	bool nonpositive;
	if (duration_param(req, resp, "step", stv ? stv : "", &step, &nonpositive) != 0)
		return;
	if (nonpositive) {
		api_respond_error(resp, API_ERR_BAD_DATA,
				  "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer");
		return;
	}
	/* floor((end-start)/step) > 11000; 128-bit so MinTime..MaxTime cannot overflow */
	if (((__int128)end - (__int128)start) / step > MAX_POINTS) {
		api_respond_error(resp, API_ERR_BAD_DATA,
				  "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
		return;
	}
	size_t limit;
	promql_query_opts qo;
	if (query_opts_params(s, req, resp, &qo) != 0 || limit_param(req, resp, &limit) != 0)
		return;
	promql_expr *expr = query_param(s, req, resp, "invalid parameter \"query\": ");
	if (!expr)
		return;
	run_query(s, req, resp, expr, start, end, step, &qo, limit);
	promql_expr_free(expr);
}

static bool has_selector(const promql_node *n)
{
	if (!n)
		return false;
	switch (n->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
	case PROMQL_NODE_MATRIX_SELECTOR:
		return true;
	case PROMQL_NODE_SUBQUERY: return has_selector(n->u.sq.expr);
	case PROMQL_NODE_PAREN: return has_selector(n->u.paren.expr);
	case PROMQL_NODE_UNARY: return has_selector(n->u.unary.expr);
	case PROMQL_NODE_BINARY: return has_selector(n->u.binary.lhs) || has_selector(n->u.binary.rhs);
	case PROMQL_NODE_CALL:
		for (size_t i = 0; i < n->u.call.nargs; i++)
			if (has_selector(n->u.call.args[i]))
				return true;
		return false;
	case PROMQL_NODE_AGGREGATE: return has_selector(n->u.agg.expr) || has_selector(n->u.agg.param);
	default: return false;
	}
}

/* No exemplar storage yet: a valid query with selectors has no exemplars. */
static void h_query_exemplars(api_server *s, api_request *req, api_response *resp)
{
	int64_t start, end;
	if (time_param(req, resp, "start", API_MIN_TIME_MS, &start) != 0 ||
	    time_param(req, resp, "end", API_MAX_TIME_MS, &end) != 0)
		return;
	if (end < start) {
		api_respond_error(resp, API_ERR_BAD_DATA, "end timestamp must not be before start timestamp");
		return;
	}
	promql_expr *expr = query_param(s, req, resp, "");
	if (!expr)
		return;
	bool sel = has_selector(expr->root);
	promql_expr_free(expr);
	if (!sel) {
		resp->status = 204;
		return;
	}
	api_json_success_begin(&resp->body);
	tp_sb_puts(&resp->body, "[]");
	api_json_success_end(&resp->body, NULL, 0, NULL, 0);
}

static void h_format_query(api_server *s, api_request *req, api_response *resp)
{
	promql_expr *expr = query_param(s, req, resp, "invalid parameter \"query\": ");
	if (!expr)
		return;
	tp_strbuf text = { 0 };
	promql_node_print(&text, expr->root);
	api_json_success_begin(&resp->body);
	api_json_string_n(&resp->body, text.buf ? text.buf : "", text.len);
	api_json_success_end(&resp->body, NULL, 0, NULL, 0);
	tp_sb_free(&text);
	promql_expr_free(expr);
}

/* ---- metadata endpoints ---- */

static int cmp_labels_ptr(const void *a, const void *b)
{
	return tp_labels_cmp(*(const tp_labels *const *)a, *(const tp_labels *const *)b);
}

static const char *const truncated_warning[] = { "results truncated due to limit" };

/* Writes the n entries of size bytes at base as a JSON list: sorted by
 * cmp, an entry equal (cmp 0) to the one before skipped, cut at limit with
 * Prometheus's warning; put writes one entry. */
static void write_list(api_response *resp, void *base, size_t n, size_t size, size_t limit,
		       int (*cmp)(const void *, const void *), void (*put)(tp_strbuf *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
	const char *v = base;
	api_json_success_begin(&resp->body);
	tp_sb_putc(&resp->body, '[');
	size_t out = 0;
	bool truncated = false;
	for (size_t i = 0; i < n; i++) {
		if (i && cmp(v + i * size, v + (i - 1) * size) == 0)
			continue;
		if (out == limit) {
			truncated = true;
			break;
		}
		if (out++)
			tp_sb_putc(&resp->body, ',');
		put(&resp->body, v + i * size);
	}
	tp_sb_putc(&resp->body, ']');
	api_json_success_end(&resp->body, (char *const *)truncated_warning, truncated ? 1 : 0, NULL, 0);
}

static void put_labels_ptr(tp_strbuf *sb, const void *e)
{
	api_json_labels(sb, *(const tp_labels *const *)e);
}

static void h_series(api_server *s, api_request *req, api_response *resp)
{
	if (api_params_count(&req->params, "match[]") == 0) {
		api_respond_error(resp, API_ERR_BAD_DATA, "no match[] parameter provided");
		return;
	}
	int64_t start, end;
	size_t limit;
	match_sets m;
	if (meta_params(req, resp, &start, &end, &limit, &m, true) != 0)
		return;
	tsdb_querier *q = tsdb_querier_new(s->cfg.head, start, end);
	tsdb_series_set *sets[MAX_MATCH_SETS];
	const tp_labels **all = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < m.count; i++) {
		sets[i] = tsdb_querier_select(q, m.ms[i], m.n[i]);
		while (sets[i] && tsdb_series_set_next(sets[i])) {
			TP_GROW(all, cap, n + 1);
			all[n++] = tsdb_series_set_labels(sets[i]);
		}
	}
	write_list(resp, all, n, sizeof *all, limit, cmp_labels_ptr, put_labels_ptr);
	free(all);
	for (size_t i = 0; i < m.count; i++)
		tsdb_series_set_free(sets[i]);
	tsdb_querier_free(q);
	match_sets_free(&m);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_str(tp_strbuf *sb, const void *e)
{
	api_json_string(sb, *(const char *const *)e);
}

/* Appends src[0..n) to *dst (grown). */
static void append_names(const char ***dst, size_t *dn, size_t *dcap, const char **src, size_t n)
{
	TP_GROW(*dst, *dcap, *dn + n + 1);
	if (n)  /* src is NULL when there are no names */
		memcpy(*dst + *dn, src, n * sizeof *src);
	*dn += n;
}

/* Answers the label names (name NULL) or the values of label name over
 * [start, end]: of the series of every match set, or of all series when
 * there is none; sorted, de-duplicated, cut at limit. */
static void respond_label_list(api_server *s, api_response *resp, const char *name, int64_t start, int64_t end,
			       const match_sets *m, size_t limit)
{
	tsdb_querier *q = tsdb_querier_new(s->cfg.head, start, end);
	const char **all = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < (m->count ? m->count : 1); i++) {
		const tsdb_matcher *ms = m->count ? m->ms[i] : NULL;
		size_t nms = m->count ? m->n[i] : 0;
		const char **v = NULL;
		size_t k = name ? tsdb_querier_label_values(q, name, ms, nms, &v)
				: tsdb_querier_label_names(q, ms, nms, &v);
		append_names(&all, &n, &cap, v, k);
		free(v);
	}
	write_list(resp, all, n, sizeof *all, limit, cmp_str, put_str);
	free(all);
	tsdb_querier_free(q);
}

static void h_labels(api_server *s, api_request *req, api_response *resp)
{
	int64_t start, end;
	size_t limit;
	match_sets m;
	if (meta_params(req, resp, &start, &end, &limit, &m, false) != 0)
		return;
	respond_label_list(s, resp, NULL, start, end, &m, limit);
	match_sets_free(&m);
}

/* Decodes Prometheus's U__ escaping of label names (U__ + name with "_" as
 * "__" and other runes as "_<hex>_"). Returns a malloc'd name or NULL. */
static char *unescape_label_name(const char *s)
{
	if (strncmp(s, "U__", 3) != 0)
		return tp_xstrdup(s);
	s += 3;
	tp_strbuf sb = { 0 };
	while (*s) {
		if (*s != '_') {
			tp_sb_putc(&sb, *s++);
			continue;
		}
		if (s[1] == '_') {
			tp_sb_putc(&sb, '_');
			s += 2;
			continue;
		}
		char *end;
		unsigned long cp = strtoul(s + 1, &end, 16);
		if (end == s + 1 || *end != '_' || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0) {
			tp_sb_free(&sb);
			return NULL;
		}
		char u[4];
		size_t un;
		if (cp < 0x80) { u[0] = (char)cp; un = 1; }
		else if (cp < 0x800) { u[0] = (char)(0xc0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3f)); un = 2; }
		else if (cp < 0x10000) {
			u[0] = (char)(0xe0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[2] = (char)(0x80 | (cp & 0x3f)); un = 3;
		} else {
			u[0] = (char)(0xf0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); un = 4;
		}
		tp_sb_append(&sb, u, un);
		s = end + 1;
	}
	return sb.buf ? tp_sb_steal(&sb) : tp_xstrdup("");
}

static void h_label_values(api_server *s, api_request *req, api_response *resp)
{
	const char *raw = req->path_arg ? req->path_arg : "";
	char *name = unescape_label_name(raw);
	if (!name || !*name || (strncmp(raw, "U__", 3) != 0 && !tp_label_name_valid(name, strlen(name)))) {
		api_respond_error(resp, API_ERR_BAD_DATA, "invalid label name: \"%s\"", raw);
		free(name);
		return;
	}
	int64_t start, end;
	size_t limit;
	match_sets m;
	if (meta_params(req, resp, &start, &end, &limit, &m, false) != 0) {
		free(name);
		return;
	}
	respond_label_list(s, resp, name, start, end, &m, limit);
	match_sets_free(&m);
	free(name);
}

/* ---- status ---- */

static void h_buildinfo(api_server *s, api_request *req, api_response *resp)
{
	const api_build_info *b = api_build_info_get();
	tp_strbuf *sb = &resp->body;
	api_json_success_begin(sb);
	tp_sb_puts(sb, "{\"version\":");
	api_json_string(sb, b->version);
	tp_sb_puts(sb, ",\"revision\":");
	api_json_string(sb, b->revision);
	tp_sb_puts(sb, ",\"branch\":");
	api_json_string(sb, b->branch);
	tp_sb_puts(sb, ",\"buildUser\":");
	api_json_string(sb, b->build_user);
	tp_sb_puts(sb, ",\"buildDate\":");
	api_json_string(sb, b->build_date);
	tp_sb_puts(sb, ",\"goVersion\":");
	api_json_string(sb, b->compiler);
	tp_sb_putc(sb, '}');
	api_json_success_end(sb, NULL, 0, NULL, 0);
}

static void h_flags(api_server *s, api_request *req, api_response *resp)
{
	const api_options *o = s->cfg.opts;
	tp_strbuf *sb = &resp->body;
	api_json_success_begin(sb);
	tp_sb_putc(sb, '{');
	for (size_t i = 0; i < o->nflags; i++) {
		if (i)
			tp_sb_putc(sb, ',');
		api_json_string(sb, o->flags[i].name);
		tp_sb_putc(sb, ':');
		api_json_string(sb, o->flags[i].text ? o->flags[i].text : "");
	}
	tp_sb_putc(sb, '}');
	api_json_success_end(sb, NULL, 0, NULL, 0);
}

static void h_runtimeinfo(api_server *s, api_request *req, api_response *resp)
{
	const api_options *o = s->cfg.opts;
	tp_strbuf *sb = &resp->body;
	char ts[48], cwd[4096];
	tp_time_format_rfc3339(ts, s->cfg.start_time_ms);
	if (!getcwd(cwd, sizeof cwd))
		strcpy(cwd, "");
	const char *rs = api_options_flag_text(o, "storage.tsdb.retention.size");
	tp_strbuf ret = { 0 };
	if (o->retention_ms > 0)
		tp_sb_puts(&ret, o->retention_text);
	if (o->retention_bytes > 0)
		tp_sb_printf(&ret, "%s%s", ret.len ? " or " : "", rs);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	api_json_success_begin(sb);
	tp_sb_puts(sb, "{\"startTime\":");
	api_json_string(sb, ts);
	tp_sb_puts(sb, ",\"CWD\":");
	api_json_string(sb, cwd);
	tp_sb_puts(sb, ",\"reloadConfigSuccess\":true,\"lastConfigTime\":");
	api_json_string(sb, ts);
	tp_sb_printf(sb, ",\"corruptionCount\":0,\"goroutineCount\":%d,\"GOMAXPROCS\":%ld,\"GOMEMLIMIT\":0,"
			 "\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":",
		     tp_process_threads(), ncpu > 0 ? ncpu : 1);
	api_json_string(sb, ret.len ? ret.buf : "unlimited");
	tp_sb_putc(sb, '}');
	api_json_success_end(sb, NULL, 0, NULL, 0);
	tp_sb_free(&ret);
}

/* headStats from the head; the cardinality lists need index statistics
 * the tsdb API does not offer yet, so they are empty lists. */
static void h_tsdb_status(api_server *s, api_request *req, api_response *resp)
{
	tsdb_stats st;
	tsdb_head_stats(s->cfg.head, &st);
	tp_strbuf *sb = &resp->body;
	const char **names = NULL;
	tsdb_querier *q = tsdb_querier_new(s->cfg.head, API_MIN_TIME_MS, API_MAX_TIME_MS);
	size_t nn = tsdb_querier_label_names(q, NULL, 0, &names);
	uint64_t pairs = 0;
	for (size_t i = 0; i < nn; i++) {
		const char **vals = NULL;
		pairs += tsdb_querier_label_values(q, names[i], NULL, 0, &vals);
		free(vals);
	}
	free(names);
	tsdb_querier_free(q);
	api_json_success_begin(sb);
	tp_sb_printf(sb, "{\"headStats\":{\"numSeries\":%" PRIu64 ",\"numLabelPairs\":%" PRIu64
			 ",\"chunkCount\":%" PRIu64 ",\"minTime\":%" PRId64 ",\"maxTime\":%" PRId64 "},"
			 "\"seriesCountByMetricName\":[],\"labelValueCountByLabelName\":[],"
			 "\"memoryInBytesByLabelName\":[],\"seriesCountByLabelValuePair\":[]}",
		     st.num_series, pairs, st.num_chunks, st.min_time_ms, st.max_time_ms);
	api_json_success_end(sb, NULL, 0, NULL, 0);
}

/* ---- the route table ---- */

const api_route api_v1_routes[] = {
	{ "/api/v1/query", API_GET | API_POST, h_query, true },
	{ "/api/v1/query_range", API_GET | API_POST, h_query_range, true },
	{ "/api/v1/query_exemplars", API_GET | API_POST, h_query_exemplars, true },
	{ "/api/v1/format_query", API_GET | API_POST, h_format_query, true },
	{ "/api/v1/series", API_GET | API_POST, h_series, true },
	{ "/api/v1/labels", API_GET | API_POST, h_labels, true },
	{ "/api/v1/label/:name/values", API_GET, h_label_values, true },
	{ "/api/v1/status/buildinfo", API_GET, h_buildinfo, true },
	{ "/api/v1/status/flags", API_GET, h_flags, true },
	{ "/api/v1/status/runtimeinfo", API_GET, h_runtimeinfo, true },
	{ "/api/v1/status/tsdb", API_GET, h_tsdb_status, true },
	{ "/metrics", API_GET, api_web_metrics, false },
	{ "/-/healthy", API_GET, api_web_healthy, false },
	{ "/-/ready", API_GET, api_web_ready, false },
	{ "/-/quit", API_POST | API_PUT, api_web_quit, false },
	{ "/", API_GET, api_web_root, false },
	{ NULL, 0, NULL, false },
};
