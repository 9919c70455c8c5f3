/* SPDX-License-Identifier: Apache-2.0
 * v1_ext.c - the endpoints over what cmd/ runs besides the head and the
 * engine: /api/v1/rules, /api/v1/alerts, /api/v1/targets,
 * /api/v1/metadata, /api/v1/alertmanagers, /api/v1/status/config, the
 * remote write receiver and remote read, /federate and /-/reload.
 * Shapes, status codes and error texts are Prometheus's. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "api/json.h"
#include "lib/common.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "promql/ast.h"
#include "remote/codec.h"
#include "rules/manager.h"
#include "rules/notifier.h"
#include "scrape/manager.h"

#define MAX_LIST 256

static void success_raw(api_response *resp, const char *data_json)
{
	tp_sb_reset(&resp->body);
	api_json_success_begin(&resp->body);
	tp_sb_puts(&resp->body, data_json);
	api_json_success_end(&resp->body, NULL, 0, NULL, 0);
}

static bool param_true(const api_request *req, const char *key)
{
	const char *v = api_params_get(&req->params, key);
	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "True") == 0 ||
		     strcmp(v, "TRUE") == 0 || strcmp(v, "t") == 0 || strcmp(v, "T") == 0);
}

/* ---- rules and alerts ---- */

static void h_rules(api_server *s, api_request *req, api_response *resp)
{
	const char *names[MAX_LIST], *groups[MAX_LIST], *files[MAX_LIST];
	rules_api_filter f = {
		.type = api_params_get(&req->params, "type"),
		.rule_names = names,
		.nrule_names = api_params_get_all(&req->params, "rule_name[]", names, MAX_LIST),
		.group_names = groups,
		.ngroup_names = api_params_get_all(&req->params, "rule_group[]", groups, MAX_LIST),
		.files = files,
		.nfiles = api_params_get_all(&req->params, "file[]", files, MAX_LIST),
		.exclude_alerts = param_true(req, "exclude_alerts"),
	};
	char lowered[16];
	if (f.type) {
		size_t i = 0;
		for (; f.type[i] && i + 1 < sizeof(lowered); i++)
			lowered[i] = (char)((f.type[i] >= 'A' && f.type[i] <= 'Z') ? f.type[i] + 32 : f.type[i]);
		lowered[i] = '\0';
		if (!f.type[i])
			f.type = lowered;
	}
	if (!s->cfg.app.rules) {
		success_raw(resp, "{\"groups\":[]}");
		return;
	}
	tp_strbuf data = { 0 };
	if (rules_manager_rules_json(s->cfg.app.rules, &f, &data) != 0)
		api_respond_error(resp, API_ERR_BAD_DATA, "%s", tp_sb_cstr(&data));
	else
		success_raw(resp, tp_sb_cstr(&data));
	tp_sb_free(&data);
}

static void h_alerts(api_server *s, api_request *req, api_response *resp)
{
	(void)req;
	if (!s->cfg.app.rules) {
		success_raw(resp, "{\"alerts\":[]}");
		return;
	}
	tp_strbuf data = { 0 };
	rules_manager_alerts_json(s->cfg.app.rules, &data);
	success_raw(resp, tp_sb_cstr(&data));
	tp_sb_free(&data);
}

/* ---- targets, metadata, alertmanagers, config ---- */

static void json_key(tp_strbuf *sb, const char *k)
{
	api_json_string(sb, k);
	tp_sb_putc(sb, ':');
}

static void h_targets(api_server *s, api_request *req, api_response *resp)
{
	const char *state = api_params_get(&req->params, "state");
	const char *pool = api_params_get(&req->params, "scrapePool");
	bool active = !state || !*state || strcasecmp(state, "any") == 0 || strcasecmp(state, "active") == 0;
	bool dropped = !state || !*state || strcasecmp(state, "any") == 0 || strcasecmp(state, "dropped") == 0;
	tp_arena a;
	tp_arena_init(&a);
	scrape_target_status *st = NULL;
	size_t n = s->cfg.app.scrape ? scrape_manager_status(s->cfg.app.scrape, &a, &st) : 0;
	tp_strbuf *b = &resp->body;
	tp_sb_reset(b);
	api_json_success_begin(b);
	tp_sb_puts(b, "{\"activeTargets\":[");
	bool first = true;
	for (size_t i = 0; active && i < n; i++) {
		if (pool && *pool && strcmp(pool, st[i].pool) != 0)
			continue;
		char d[48];
		if (!first)
			tp_sb_putc(b, ',');
		first = false;
		tp_sb_putc(b, '{');
		json_key(b, "discoveredLabels");
		api_json_labels(b, &st[i].discovered);
		tp_sb_putc(b, ',');
		json_key(b, "labels");
		api_json_labels(b, &st[i].labels);
		tp_sb_putc(b, ',');
		json_key(b, "scrapePool");
		api_json_string(b, st[i].pool);
		tp_sb_putc(b, ',');
		json_key(b, "scrapeUrl");
		api_json_string(b, st[i].url);
		tp_sb_putc(b, ',');
		json_key(b, "globalUrl");
		api_json_string(b, st[i].url);
		tp_sb_putc(b, ',');
		json_key(b, "lastError");
		api_json_string(b, st[i].last_error);
		tp_sb_putc(b, ',');
		json_key(b, "lastScrape");
		if (st[i].last_scrape_ms)
			tp_time_format_rfc3339(d, st[i].last_scrape_ms);
		else
			snprintf(d, sizeof d, "0001-01-01T00:00:00Z");
		api_json_string(b, d);
		tp_sb_printf(b, ",\"lastScrapeDuration\":%.9g,", st[i].last_duration_s);
		json_key(b, "health");
		api_json_string(b, st[i].health);
		tp_sb_putc(b, ',');
		json_key(b, "scrapeInterval");
		tp_duration_format(d, st[i].interval_ms);
		api_json_string(b, d);
		tp_sb_putc(b, ',');
		json_key(b, "scrapeTimeout");
		tp_duration_format(d, st[i].timeout_ms);
		api_json_string(b, d);
		tp_sb_putc(b, '}');
	}
	tp_sb_puts(b, "],\"droppedTargets\":[],\"droppedTargetCounts\":{");
	/* one count per pool, as Prometheus lists them */
	first = true;
	for (size_t i = 0; dropped && i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(st[k].pool, st[i].pool) == 0;
		if (seen)
			continue;
		if (!first)
			tp_sb_putc(b, ',');
		first = false;
		json_key(b, st[i].pool);
		tp_sb_putc(b, '0');
	}
	tp_sb_puts(b, "}}");
	api_json_success_end(b, NULL, 0, NULL, 0);
	tp_arena_free(&a);
}

typedef struct md_ctx {
	tp_strbuf *b;
	const char *metric;
	long limit, per_metric;
	long emitted;
	const char **seen;
	size_t nseen, capseen;
	tp_arena *a;
} md_ctx;

static void md_each(void *ud, const scrape_metadata *md)
{
	md_ctx *c = ud;
	size_t n = scrape_metadata_count(md);
	for (size_t i = 0; i < n; i++) {
		const scrape_metadata_entry *e = scrape_metadata_at(md, i);
		if (c->metric && *c->metric && strcmp(c->metric, e->name) != 0)
			continue;
		bool seen = false;
		for (size_t k = 0; k < c->nseen && !seen; k++)
			seen = strcmp(c->seen[k], e->name) == 0;
		if (seen)
			continue; /* one entry per metric (the first target's) */
		if (c->limit >= 0 && c->emitted >= c->limit)
			return;
		if (c->nseen == c->capseen) {
			size_t nc = c->capseen ? c->capseen * 2 : 64;
			c->seen = tp_arena_realloc(c->a, c->seen, c->capseen * sizeof(char *), nc * sizeof(char *));
			c->capseen = nc;
		}
		c->seen[c->nseen++] = e->name;
		if (c->emitted++)
			tp_sb_putc(c->b, ',');
		json_key(c->b, e->name);
		if (c->per_metric == 0) {
			tp_sb_puts(c->b, "[]");
			continue;
		}
		tp_sb_puts(c->b, "[{\"type\":");
		api_json_string(c->b, scrape_metric_type_name(e->type));
		tp_sb_puts(c->b, ",\"help\":");
		api_json_string(c->b, e->help ? e->help : "");
		tp_sb_puts(c->b, ",\"unit\":");
		api_json_string(c->b, e->unit ? e->unit : "");
		tp_sb_puts(c->b, "}]");
	}
}

static void h_metadata(api_server *s, api_request *req, api_response *resp)
{
	const char *l = api_params_get(&req->params, "limit");
	const char *lp = api_params_get(&req->params, "limit_per_metric");
	char *end;
	long limit = -1, per = -1;
	if (l && *l) {
		limit = strtol(l, &end, 10);
		if (*end) {
			api_respond_error(resp, API_ERR_BAD_DATA, "limit must be a number");
			return;
		}
		if (limit <= 0)
			limit = -1;
	}
	if (lp && *lp) {
		per = strtol(lp, &end, 10);
		if (*end) {
			api_respond_error(resp, API_ERR_BAD_DATA, "limit_per_metric must be a number");
			return;
		}
		if (per < 0)
			per = -1;
	}
	tp_arena a;
	tp_arena_init(&a);
	tp_strbuf *b = &resp->body;
	tp_sb_reset(b);
	api_json_success_begin(b);
	tp_sb_putc(b, '{');
	md_ctx c = { .b = b, .metric = api_params_get(&req->params, "metric"), .limit = limit, .per_metric = per,
		     .a = &a };
	if (s->cfg.app.scrape)
		scrape_manager_each_metadata(s->cfg.app.scrape, md_each, &c);
	tp_sb_putc(b, '}');
	api_json_success_end(b, NULL, 0, NULL, 0);
	tp_arena_free(&a);
}

static void h_alertmanagers(api_server *s, api_request *req, api_response *resp)
{
	(void)req;
	tp_arena a;
	tp_arena_init(&a);
	const char **urls = NULL;
	size_t n = s->cfg.app.notifier ? rules_notifier_urls(s->cfg.app.notifier, &a, &urls) : 0;
	tp_strbuf *b = &resp->body;
	tp_sb_reset(b);
	api_json_success_begin(b);
	tp_sb_puts(b, "{\"activeAlertmanagers\":[");
	for (size_t i = 0; i < n; i++) {
		tp_sb_puts(b, i ? ",{\"url\":" : "{\"url\":");
		api_json_string(b, urls[i]);
		tp_sb_putc(b, '}');
	}
	tp_sb_puts(b, "],\"droppedAlertmanagers\":[]}");
	api_json_success_end(b, NULL, 0, NULL, 0);
	tp_arena_free(&a);
}

static void h_status_config(api_server *s, api_request *req, api_response *resp)
{
	(void)req;
	tp_strbuf y = { 0 };
	if (s->cfg.app.config_yaml)
		s->cfg.app.config_yaml(s->cfg.app.ud, &y);
	tp_strbuf *b = &resp->body;
	tp_sb_reset(b);
	api_json_success_begin(b);
	tp_sb_puts(b, "{\"yaml\":");
	api_json_string(b, tp_sb_cstr(&y));
	tp_sb_putc(b, '}');
	api_json_success_end(b, NULL, 0, NULL, 0);
	tp_sb_free(&y);
}

/* ---- remote write and read ---- */

static bool header_has(const api_request *req, const char *name, const char *needle)
{
	const char *v = api_request_header(req, name);
	return v && strstr(v, needle);
}

static void h_write(api_server *s, api_request *req, api_response *resp)
{
	resp->content_type = "text/plain; charset=utf-8";
	if (!s->cfg.opts->enable_remote_write) {
		api_respond_text(resp, 404, "remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n");
		return;
	}
	const char *enc = api_request_header(req, "Content-Encoding");
	if (enc && *enc && strcasecmp(enc, "snappy") != 0) {
		api_respond_text(resp, 415, "unsupported compression, only snappy is supported\n");
		return;
	}
	if (header_has(req, "Content-Type", "io.prometheus.write.v2.Request")) {
		api_respond_text(resp, 415, "remote write 2.0 is not supported, send prometheus.WriteRequest (1.0)\n");
		return;
	}
	/* remote/wire.c walks the request in place (protobuf-c for the rare
	 * parts) and the series cache maps series seen before to their refs */
	tp_arena a;
	tp_arena_init(&a);
	char err[512];
	const char *raw;
	size_t rawn;
	remote_wire_request wr;
	remote_wire_init(&wr);
	int bad = remote_snappy_decode(req->body ? req->body : "", req->body_len, REMOTE_MAX_DECODED_BYTES, &a, &raw,
				       &rawn, err, sizeof err);
	if (!bad && remote_wire_decode(&wr, raw, rawn) != 0) {
		/* as remote_write_decode words it */
		snprintf(err, sizeof err, "proto: cannot decode WriteRequest");
		bad = -1;
	}
	if (bad) {
		tp_strbuf m = { 0 };
		tp_sb_printf(&m, "%s\n", err);
		api_respond_text(resp, 400, tp_sb_cstr(&m));
		tp_sb_free(&m);
		remote_wire_free(&wr);
		tp_arena_free(&a);
		return;
	}
	remote_write_result res;
	int rc = remote_write_apply_wire(s->cfg.head, s->rw_cache, &wr, &res);
	if (rc != 0) {
		tp_strbuf m = { 0 };
		tp_sb_printf(&m, "%s\n", res.error);
		if (rc == -2)
			tp_log_error("Error appending remote write", "err", res.error);
		api_respond_text(resp, rc == -2 ? 500 : 400, tp_sb_cstr(&m));
		tp_sb_free(&m);
	} else {
		tp_sb_reset(&resp->body);
		resp->status = 204;
	}
	remote_wire_free(&wr);
	tp_arena_free(&a);
}

/* Go's %v of a []ReadRequest_ResponseType: names, or numbers when unknown. */
static void response_types_text(tp_strbuf *sb, const Prometheus__ReadRequest *rr)
{
	tp_sb_putc(sb, '[');
	for (size_t i = 0; i < rr->n_accepted_response_types; i++) {
		int t = (int)rr->accepted_response_types[i];
		if (i)
			tp_sb_putc(sb, ' ');
		if (t == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES)
			tp_sb_puts(sb, "SAMPLES");
		else if (t == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS)
			tp_sb_puts(sb, "STREAMED_XOR_CHUNKS");
		else
			tp_sb_printf(sb, "%d", t);
	}
	tp_sb_putc(sb, ']');
}

static int append_frame(void *ud, const void *p, size_t n)
{
	tp_sb_append(ud, p, n);
	return 0;
}

static void count_read(api_server *s, const char *type)
{
	const char *v[] = { type };
	tp_metrics_counter_inc(tp_metrics_child(s->m_read_responses, v));
}

/* Remote read (COMPAT.md section 3): the first accepted response type we
 * implement (none listed: SAMPLES), as Prometheus's NegotiateResponseType.
 * The streamed answer is built whole before it is sent; the client cannot
 * tell, and no querier outlives the handler (a slow reader never holds up
 * head truncation). */
static void h_read(api_server *s, api_request *req, api_response *resp)
{
	tp_arena a;
	tp_arena_init(&a);
	char err[512];
	Prometheus__ReadRequest *rr = remote_read_decode(req->body ? req->body : "", req->body_len, &a, err, sizeof err);
	resp->content_type = "text/plain; charset=utf-8";
	resp->no_compress = true;
	tp_strbuf m = { 0 };
	if (!rr) {
		tp_sb_printf(&m, "%s\n", err);
		api_respond_text(resp, 400, tp_sb_cstr(&m));
		goto done;
	}
	int type = -1;
	if (rr->n_accepted_response_types == 0)
		type = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES;
	for (size_t i = 0; i < rr->n_accepted_response_types && type < 0; i++)
		if (rr->accepted_response_types[i] == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES ||
		    rr->accepted_response_types[i] == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS)
			type = (int)rr->accepted_response_types[i];
	if (type < 0) {
		tp_sb_puts(&m, "server does not support any of the requested response types: ");
		response_types_text(&m, rr);
		tp_sb_puts(&m, "; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]\n");
		api_respond_text(resp, 400, tp_sb_cstr(&m));
		goto done;
	}
	tp_labels ext = { 0 };
	if (s->cfg.app.external_labels)
		s->cfg.app.external_labels(s->cfg.app.ud, &a, &ext);
	remote_read_opts ro = { .external_labels = &ext, .max_frame_bytes = (size_t)s->cfg.opts->read_frame_bytes };
	if (type == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS) {
		tp_strbuf body = { 0 };
		if (remote_read_chunked(s->cfg.head, rr, &ro, append_frame, &body, err, sizeof err) != 0) {
			tp_sb_free(&body);
			tp_sb_printf(&m, "%s\n", err);
			api_respond_text(resp, 400, tp_sb_cstr(&m));
			goto done;
		}
		tp_sb_free(&resp->body);
		resp->body = body;
		resp->status = 200;
		resp->content_type = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";
		count_read(s, "streamed_xor_chunks");
		goto done;
	}
	size_t n;
	char *body = remote_read_samples(s->cfg.head, rr, &ro, &n, err, sizeof err);
	if (!body) {
		tp_sb_printf(&m, "%s\n", err);
		api_respond_text(resp, 400, tp_sb_cstr(&m));
		goto done;
	}
	tp_sb_reset(&resp->body);
	tp_sb_append(&resp->body, body, n);
	free(body);
	resp->status = 200;
	resp->content_type = "application/x-protobuf";
	resp->content_encoding = "snappy";
	count_read(s, "samples");
done:
	tp_sb_free(&m);
	tp_arena_free(&a);
}

/* ---- federation ---- */

typedef struct fed_series {
	tp_labels labels;  /* with external labels, in the arena */
	const char *name;
	int64_t t;
	double v;
} fed_series;

static int cmp_fed(const void *x, const void *y)
{
	const fed_series *a = x, *b = y;
	int c = strcmp(a->name, b->name);
	return c ? c : tp_labels_cmp(&a->labels, &b->labels);
}

static void h_federate(api_server *s, api_request *req, api_response *resp)
{
	const char *sels[MAX_LIST];
	size_t nsel = api_params_get_all(&req->params, "match[]", sels, MAX_LIST);
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	tp_arena a;
	tp_arena_init(&a);
	tp_labels ext = { 0 };
	if (s->cfg.app.external_labels)
		s->cfg.app.external_labels(s->cfg.app.ud, &a, &ext);
	int64_t now = tp_now_ms();
	int64_t lookback = s->cfg.opts->lookback_ms > 0 ? s->cfg.opts->lookback_ms : 300000;
	tsdb_querier *q = tsdb_querier_new(s->cfg.head, now - lookback + 1, now);
	fed_series *out = NULL;
	size_t nout = 0, cap = 0;
	tsdb_sample *buf = NULL;
	size_t bcap = 0;
	uint32_t *seen_refs = NULL;
	size_t nseen = 0, capseen = 0;
	for (size_t i = 0; i < nsel; i++) {
		tsdb_matcher *ms;
		size_t nm;
		promql_parse_error perr;
		if (promql_parse_selector(sels[i], &ms, &nm, &perr) != 0) {
			api_respond_error(resp, API_ERR_BAD_DATA, "%s", perr.msg);
			resp->content_type = "application/json";
			goto done;
		}
		tsdb_series_set *ss = tsdb_querier_select(q, ms, nm);
		while (tsdb_series_set_next(ss)) {
			uint32_t ref = tsdb_series_set_ref(ss);
			bool dup = false; /* a series matched by two selectors is written once */
			for (size_t k = 0; k < nseen && !dup; k++)
				dup = seen_refs[k] == ref;
			if (dup)
				continue;
			TP_GROW(seen_refs, capseen, nseen + 1);
			seen_refs[nseen++] = ref;
			size_t ns = tsdb_series_set_samples(ss, now - lookback + 1, now, &buf, &bcap);
			if (ns == 0 || tsdb_is_stale_nan(buf[ns - 1].v))
				continue;
			const tp_labels *l = tsdb_series_set_labels(ss);
			tp_labels_builder b;
			tp_lb_init(&b, &a, l);
			for (uint32_t k = 0; k < ext.n; k++)
				if (!tp_labels_get(l, ext.v[k].name))
					tp_lb_set(&b, ext.v[k].name, ext.v[k].value);
			TP_GROW(out, cap, nout + 1);
			fed_series *f = &out[nout++];
			f->labels = tp_lb_labels(&b);
			const char *nm2 = tp_labels_get(l, TP_METRIC_NAME);
			f->name = nm2 ? nm2 : "";
			f->t = buf[ns - 1].t;
			f->v = buf[ns - 1].v;
		}
		tsdb_series_set_free(ss);
		promql_matchers_free(ms, nm);
	}
	if (nout)
		qsort(out, nout, sizeof(*out), cmp_fed);
	tp_strbuf *b = &resp->body;
	tp_sb_reset(b);
	const char *last = NULL;
	for (size_t i = 0; i < nout; i++) {
		if (!last || strcmp(last, out[i].name) != 0) {
			tp_sb_printf(b, "# TYPE %s untyped\n", out[i].name);
			last = out[i].name;
		}
		tp_sb_puts(b, out[i].name);
		bool any = false;
		for (uint32_t k = 0; k < out[i].labels.n; k++) {
			if (strcmp(out[i].labels.v[k].name, TP_METRIC_NAME) == 0)
				continue;
			tp_sb_putc(b, any ? ',' : '{');
			any = true;
			tp_sb_printf(b, "%s=\"", out[i].labels.v[k].name);
			tp_sb_escape_label(b, out[i].labels.v[k].value);
			tp_sb_putc(b, '"');
		}
		if (any)
			tp_sb_putc(b, '}');
		tp_sb_putc(b, ' ');
		tp_sb_float(b, out[i].v);
		tp_sb_printf(b, " %lld\n", (long long)out[i].t);
	}
	resp->status = 200;
done:
	free(out);
	free(buf);
	free(seen_refs);
	tsdb_querier_free(q);
	tp_arena_free(&a);
}

/* ---- lifecycle: reload ---- */

static void h_reload(api_server *s, api_request *req, api_response *resp)
{
	(void)req;
	resp->content_type = "text/plain; charset=utf-8";
	if (!s->cfg.opts->enable_lifecycle) {
		api_respond_text(resp, 403, "Lifecycle API is not enabled.");
		return;
	}
	char err[1024] = "";
	if (!s->cfg.app.reload || s->cfg.app.reload(s->cfg.app.ud, err, sizeof err) != 0) {
		tp_strbuf m = { 0 };
		tp_sb_printf(&m, "failed to reload config: %s\n", err);
		api_respond_text(resp, 500, tp_sb_cstr(&m));
		tp_sb_free(&m);
		return;
	}
	tp_sb_reset(&resp->body);
	resp->status = 200;
}

const api_route api_ext_routes[] = {
	{ "/api/v1/rules", API_GET, h_rules, true },
	{ "/api/v1/alerts", API_GET, h_alerts, true },
	{ "/api/v1/targets", API_GET, h_targets, true },
	{ "/api/v1/metadata", API_GET, h_metadata, true },
	{ "/api/v1/alertmanagers", API_GET, h_alertmanagers, true },
	{ "/api/v1/status/config", API_GET, h_status_config, true },
	{ "/api/v1/write", API_POST, h_write, true },
	{ "/api/v1/read", API_POST, h_read, true },
	{ "/federate", API_GET, h_federate, false },
	{ "/-/reload", API_POST | API_PUT, h_reload, false },
	{ NULL, 0, NULL, false },
};
