/* SPDX-License-Identifier: Apache-2.0
 * group.c - rule group evaluation and the alert state machine.
 * Invariants: a rule state's alerts array holds at most one alert per
 * label-set hash; `prev` holds exactly the series the rule wrote at its
 * last successful evaluation (the ones that get stale markers next). */
#include "config.h"
#include "rules/group.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/hash.h"
#include "lib/intern.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "rules/template.h"

const char *rules_alert_state_str(rules_alert_state s)
{
	switch (s) {
	case RULES_ALERT_PENDING: return "pending";
	case RULES_ALERT_FIRING: return "firing";
	default: return "inactive";
	}
}

const char *rules_health_str(rules_health h)
{
	switch (h) {
	case RULES_HEALTH_OK: return "ok";
	case RULES_HEALTH_ERR: return "err";
	default: return "unknown";
	}
}

/* ---- owned label sets ---- */

static tp_labels labels_dup(const tp_labels *l)
{
	tp_labels r = { .v = tp_xcalloc(l->n ? l->n : 1, sizeof(tp_label)), .n = l->n };
	for (uint32_t i = 0; i < l->n; i++) {
		r.v[i].name = tp_intern_cstr(l->v[i].name);
		r.v[i].value = tp_xstrdup(l->v[i].value);
	}
	return r;
}

static void labels_release(tp_labels *l)
{
	for (uint32_t i = 0; i < l->n; i++)
		free((char *)l->v[i].value);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void alert_release(rules_alert *a)
{
	labels_release(&a->labels);
	labels_release(&a->annotations);
}

static void rule_state_clear(rules_rule_state *rs)
{
	for (size_t i = 0; i < rs->nalerts; i++)
		alert_release(&rs->alerts[i]);
	free(rs->alerts);
	for (size_t i = 0; i < rs->nprev; i++)
		labels_release(&rs->prev[i]);
	free(rs->prev);
	free(rs->last_error);
}

/* ---- lifecycle ---- */

rules_group_state *rules_group_state_new(const rules_group *cfg, const rules_group_opts *opts)
{
	rules_group_state *g = tp_xcalloc(1, sizeof(*g));
	g->cfg = cfg;
	g->opts = *opts;
	g->interval_ms = cfg->interval_ms ? cfg->interval_ms : opts->default_interval_ms;
	if (g->interval_ms <= 0)
		g->interval_ms = 60000;
	if (g->opts.resend_delay_ms <= 0)
		g->opts.resend_delay_ms = 60000;
	g->nrules = cfg->nrules;
	g->restored = true; /* the manager clears it for groups loaded at start-up */
	g->rules = tp_xcalloc(cfg->nrules ? cfg->nrules : 1, sizeof(rules_rule_state));
	for (size_t i = 0; i < cfg->nrules; i++)
		g->rules[i].rule = &cfg->rules[i];
	pthread_mutex_init(&g->mu, NULL);
	return g;
}

void rules_group_state_free(rules_group_state *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nrules; i++)
		rule_state_clear(&g->rules[i]);
	free(g->rules);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static bool kvs_equal(const rules_kv *a, size_t na, const rules_kv *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || strcmp(a[i].value, b[i].value))
			return false;
	return true;
}

static bool same_rule(const rules_rule *a, const rules_rule *b)
{
	return a->alerting == b->alerting && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->expr_text, b->expr_text) == 0 && a->for_ms == b->for_ms &&
	       a->keep_firing_for_ms == b->keep_firing_for_ms &&
	       kvs_equal(a->labels, a->nlabels, b->labels, b->nlabels) &&
	       kvs_equal(a->annotations, a->nannotations, b->annotations, b->nannotations);
}

void rules_group_state_inherit(rules_group_state *g, rules_group_state *old)
{
	pthread_mutex_lock(&old->mu);
	for (size_t i = 0; i < g->nrules; i++) {
		rules_rule_state *rs = &g->rules[i];
		for (size_t j = 0; j < old->nrules; j++) {
			rules_rule_state *os = &old->rules[j];
			if (!os->rule || !same_rule(rs->rule, os->rule))
				continue;
			/* move the state over; the old rule no longer owns it */
			rs->alerts = os->alerts;
			rs->nalerts = os->nalerts;
			rs->capalerts = os->capalerts;
			rs->prev = os->prev;
			rs->nprev = os->nprev;
			rs->health = os->health;
			rs->last_eval_ms = os->last_eval_ms;
			rs->eval_seconds = os->eval_seconds;
			os->alerts = NULL;
			os->nalerts = os->capalerts = 0;
			os->prev = NULL;
			os->nprev = 0;
			os->rule = NULL;
			break;
		}
	}
	g->last_eval_ms = old->last_eval_ms;
	g->restored = old->restored;
	pthread_mutex_unlock(&old->mu);
}

int64_t rules_group_next_eval(const rules_group_state *g, int64_t now_ms)
{
	uint64_t h = tp_hash(g->cfg->name, strlen(g->cfg->name), 0);
	h = tp_hash_mix(h, tp_hash(g->cfg->file, strlen(g->cfg->file), 1));
	int64_t iv = g->interval_ms;
	int64_t offset = (int64_t)(h % (uint64_t)iv);
	int64_t adj = now_ms - offset;
	int64_t base = adj - (((adj % iv) + iv) % iv);
	int64_t next = base + offset;
	return next <= now_ms ? next + iv : next;
}

/* ---- evaluation helpers ---- */

static void set_error(rules_rule_state *rs, const char *msg)
{
	free(rs->last_error);
	rs->last_error = msg ? tp_xstrdup(msg) : NULL;
	rs->health = msg ? RULES_HEALTH_ERR : RULES_HEALTH_OK;
}

/* Template query callback: an instant query through the engine. */
typedef struct query_ud {
	promql_engine *e;
} query_ud;

static int tmpl_query(void *ud, const char *q, int64_t t_ms, rules_tmpl_sample **out, size_t *n, char **err)
{
	query_ud *qu = ud;
	promql_result *r = tp_xmalloc(sizeof(*r));
	if (promql_query_instant(qu->e, q, t_ms, r) != PROMQL_OK) {
		*err = tp_xstrdup(r->err_msg ? r->err_msg : "query failed");
		promql_result_free(r);
		free(r);
		return -1;
	}
	size_t cnt = r->type == PROMQL_TYPE_VECTOR ? r->nseries : r->type == PROMQL_TYPE_SCALAR ? 1 : 0;
	/* slot 0 keeps the result alive until query_free */
	rules_tmpl_sample *s = tp_xcalloc(cnt + 1, sizeof(*s));
	s[0].labels.v = (tp_label *)(void *)r;
	for (size_t i = 0; i < cnt; i++) {
		if (r->type == PROMQL_TYPE_SCALAR) {
			s[i + 1].value = r->scalar;
		} else {
			s[i + 1].labels = r->series[i].labels;
			s[i + 1].value = r->series[i].points[0].v;
		}
	}
	*out = s + 1;
	*n = cnt;
	return 0;
}

static void tmpl_query_free(void *ud, rules_tmpl_sample *s, size_t n)
{
	(void)ud;
	(void)n;
	promql_result *r = (promql_result *)(void *)s[-1].labels.v;
	promql_result_free(r);
	free(r);
	free(s - 1);
}

/* The result of an evaluation as a list of (labels, value). Scalars become
 * one sample without labels, as Prometheus does for rules. */
typedef struct out_sample {
	tp_labels labels;
	double v;
} out_sample;

static size_t result_samples(const promql_result *r, tp_arena *a, out_sample **out, char *err, size_t errlen)
{
	if (r->type == PROMQL_TYPE_SCALAR) {
		*out = tp_arena_zalloc(a, sizeof(out_sample));
		(*out)[0].v = r->scalar;
		return 1;
	}
	if (r->type != PROMQL_TYPE_VECTOR) {
		snprintf(err, errlen, "rule result is not a vector or scalar");
		return (size_t)-1;
	}
	*out = tp_arena_alloc(a, sizeof(out_sample) * (r->nseries ? r->nseries : 1));
	for (size_t i = 0; i < r->nseries; i++) {
		(*out)[i].labels = r->series[i].labels;
		(*out)[i].v = r->series[i].points[0].v;
	}
	return r->nseries;
}

static int cmp_hash(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* True when two label sets in the list share a hash and compare equal. */
static bool has_duplicates(const tp_labels *ls, size_t n, tp_arena *a)
{
	if (n < 2)
		return false;
	uint64_t *h = tp_arena_alloc(a, sizeof(uint64_t) * n * 2);
	for (size_t i = 0; i < n; i++) {
		h[2 * i] = tp_labels_hash(&ls[i]);
		h[2 * i + 1] = i;
	}
	qsort(h, n, sizeof(uint64_t) * 2, cmp_hash);
	for (size_t i = 1; i < n; i++)
		if (h[2 * i] == h[2 * (i - 1)] && tp_labels_equal(&ls[h[2 * i + 1]], &ls[h[2 * (i - 1) + 1]]))
			return true;
	return false;
}

/* Appends out[0..n) at ts, stale markers for prev series not in out, and
 * replaces prev with out. Samples the head rejects are skipped. */
static void write_series(rules_rule_state *rs, tsdb_head *head, const tp_labels *ls, const double *vs, size_t n,
			 int64_t ts, tp_arena *a)
{
	tsdb_appender *app = tsdb_appender_new(head);
	for (size_t i = 0; i < n; i++)
		tsdb_appender_add(app, &ls[i], ts, vs[i], NULL);
	if (rs->nprev) {
		uint64_t *cur = tp_arena_alloc(a, sizeof(uint64_t) * (n ? n : 1));
		for (size_t i = 0; i < n; i++)
			cur[i] = tp_labels_hash(&ls[i]);
		qsort(cur, n, sizeof(uint64_t), cmp_hash);
		for (size_t i = 0; i < rs->nprev; i++) {
			uint64_t h = tp_labels_hash(&rs->prev[i]);
			if (!bsearch(&h, cur, n, sizeof(uint64_t), cmp_hash))
				tsdb_appender_add(app, &rs->prev[i], ts, tsdb_stale_nan(), NULL);
		}
	}
	tsdb_appender_commit(app);
	if (tsdb_appender_error(app))
		tp_log_warn("Rule sample appending failed", "err", tsdb_appender_error(app));
	tsdb_appender_free(app);
	for (size_t i = 0; i < rs->nprev; i++)
		labels_release(&rs->prev[i]);
	free(rs->prev);
	rs->prev = tp_xcalloc(n ? n : 1, sizeof(tp_labels));
	for (size_t i = 0; i < n; i++)
		rs->prev[i] = labels_dup(&ls[i]);
	rs->nprev = n;
}

/* Runs the rule's expression at qts into res and its samples into *os.
 * On failure records the error on the rule, frees res and returns -1. */
static size_t run_query(rules_rule_state *rs, promql_engine *e, int64_t qts, tp_arena *a, promql_result *res,
			out_sample **os)
{
	char err[512];
	if (promql_eval_instant(e, rs->rule->expr, qts, res) != PROMQL_OK) {
		set_error(rs, res->err_msg ? res->err_msg : "evaluation failed");
		promql_result_free(res);
		return (size_t)-1;
	}
	size_t n = result_samples(res, a, os, err, sizeof(err));
	if (n == (size_t)-1) {
		set_error(rs, err);
		promql_result_free(res);
	}
	return n;
}

/* ---- recording rules ---- */

static void eval_recording(rules_group_state *g, rules_rule_state *rs, promql_engine *e, tsdb_head *head,
			   int64_t qts, tp_arena *a)
{
	const rules_rule *r = rs->rule;
	promql_result res;
	char err[512];
	out_sample *os;
	size_t n = run_query(rs, e, qts, a, &res, &os);
	if (n == (size_t)-1)
		return;
	tp_labels *ls = tp_arena_alloc(a, sizeof(tp_labels) * (n ? n : 1));
	double *vs = tp_arena_alloc(a, sizeof(double) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		tp_labels_builder b;
		tp_lb_init(&b, a, &os[i].labels);
		tp_lb_set(&b, TP_METRIC_NAME, r->name);
		for (size_t k = 0; k < g->cfg->nlabels; k++)
			tp_lb_set(&b, g->cfg->labels[k].name, g->cfg->labels[k].value);
		for (size_t k = 0; k < r->nlabels; k++)
			tp_lb_set(&b, r->labels[k].name, r->labels[k].value);
		ls[i] = tp_lb_labels(&b);
		vs[i] = os[i].v;
	}
	if (has_duplicates(ls, n, a)) {
		set_error(rs, "vector contains metrics with the same labelset after applying rule labels");
	} else if (g->cfg->limit > 0 && n > (size_t)g->cfg->limit) {
		snprintf(err, sizeof(err), "exceeded limit of %d with %zu series", g->cfg->limit, n);
		set_error(rs, err);
	} else {
		write_series(rs, head, ls, vs, n, qts, a);
		set_error(rs, NULL);
	}
	promql_result_free(&res);
}

/* ---- alerting rules ---- */

static rules_alert *find_alert(rules_rule_state *rs, uint64_t h, const tp_labels *l)
{
	for (size_t i = 0; i < rs->nalerts; i++)
		if (rs->alerts[i].hash == h && tp_labels_equal(&rs->alerts[i].labels, l))
			return &rs->alerts[i];
	return NULL;
}

static void expand_kvs(const rules_kv *kv, size_t n, const char *tmpl_name, const rules_tmpl_data *d, tp_arena *a,
		       tp_labels_builder *b)
{
	tp_strbuf sb = { 0 };
	for (size_t k = 0; k < n; k++) {
		tp_sb_reset(&sb);
		rules_template_expand(tmpl_name, kv[k].value, d, &sb);
		tp_lb_set(b, kv[k].name, tp_arena_strdup(a, tp_sb_cstr(&sb)));
	}
	tp_sb_free(&sb);
}

static void send_alerts(rules_group_state *g, rules_rule_state *rs, int64_t ts, tp_arena *a)
{
	if (!g->opts.notify || rs->nalerts == 0)
		return;
	rules_notify_alert *na = tp_arena_alloc(a, sizeof(*na) * rs->nalerts);
	size_t nn = 0;
	int64_t delta = g->opts.resend_delay_ms > g->interval_ms ? g->opts.resend_delay_ms : g->interval_ms;
	tp_strbuf url = { 0 };
	tp_sb_puts(&url, g->opts.external_url ? g->opts.external_url : "");
	/* Prometheus 2.x links to the table view of the expression */
	tp_sb_puts(&url, "/graph?g0.expr=");
	for (const char *p = rs->rule->expr_text; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '_' || ch == '.' || ch == '~')
			tp_sb_putc(&url, (char)ch);
		else if (ch == ' ')
			tp_sb_putc(&url, '+');
		else
			tp_sb_printf(&url, "%%%02X", ch);
	}
	tp_sb_puts(&url, "&g0.tab=1");
	const char *gen = tp_arena_strdup(a, tp_sb_cstr(&url));
	tp_sb_free(&url);
	for (size_t i = 0; i < rs->nalerts; i++) {
		rules_alert *al = &rs->alerts[i];
		if (al->state == RULES_ALERT_PENDING)
			continue;
		bool need = (al->resolved_at_ms && al->resolved_at_ms > al->last_sent_ms) ||
			    al->last_sent_ms == 0 || al->last_sent_ms + g->opts.resend_delay_ms < ts;
		if (!need)
			continue;
		al->last_sent_ms = ts;
		al->valid_until_ms = ts + 4 * delta;
		na[nn++] = (rules_notify_alert){ .labels = &al->labels, .annotations = &al->annotations,
						 .starts_at_ms = al->fired_at_ms,
						 .ends_at_ms = al->resolved_at_ms ? al->resolved_at_ms : al->valid_until_ms,
						 .generator_url = gen };
	}
	if (nn)
		g->opts.notify(g->opts.notify_ud, na, nn);
}

static void eval_alerting(rules_group_state *g, rules_rule_state *rs, promql_engine *e, tsdb_head *head, int64_t ts,
			  int64_t qts, tp_arena *a)
{
	const rules_rule *r = rs->rule;
	promql_result res;
	char err[512];
	out_sample *os;
	size_t n = run_query(rs, e, qts, a, &res, &os);
	if (n == (size_t)-1)
		return;
	char tmpl_name[300];
	snprintf(tmpl_name, sizeof(tmpl_name), "__alert_%s", r->name);
	query_ud qu = { e };
	/* the new alert instances of this evaluation */
	rules_alert *fresh = tp_arena_zalloc(a, sizeof(rules_alert) * (n ? n : 1));
	tp_labels *fl = tp_arena_alloc(a, sizeof(tp_labels) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		rules_tmpl_data d = { .labels = &os[i].labels, .value = os[i].v,
				      .external_labels = g->opts.external_labels, .external_url = g->opts.external_url,
				      .t_ms = qts, .query = tmpl_query, .query_free = tmpl_query_free, .query_ud = &qu };
		tp_labels_builder lb, ab;
		tp_lb_init(&lb, a, &os[i].labels);
		tp_lb_del(&lb, TP_METRIC_NAME);
		for (size_t k = 0; k < g->cfg->nlabels; k++)
			tp_lb_set(&lb, g->cfg->labels[k].name, g->cfg->labels[k].value);
		expand_kvs(r->labels, r->nlabels, tmpl_name, &d, a, &lb);
		tp_lb_set(&lb, "alertname", r->name);
		tp_lb_init(&ab, a, NULL);
		expand_kvs(r->annotations, r->nannotations, tmpl_name, &d, a, &ab);
		fl[i] = tp_lb_labels(&lb);
		fresh[i].labels = fl[i];
		fresh[i].annotations = tp_lb_labels(&ab);
		fresh[i].hash = tp_labels_hash(&fl[i]);
		fresh[i].value = os[i].v;
	}
	promql_result_free(&res);
	if (has_duplicates(fl, n, a)) {
		set_error(rs, "vector contains metrics with the same labelset after applying alert labels");
		return;
	}
	/* merge: existing non-inactive alerts get value and annotations; others start pending */
	for (size_t i = 0; i < n; i++) {
		rules_alert *al = find_alert(rs, fresh[i].hash, &fresh[i].labels);
		if (al && al->state != RULES_ALERT_INACTIVE) {
			al->value = fresh[i].value;
			labels_release(&al->annotations);
			al->annotations = labels_dup(&fresh[i].annotations);
			continue;
		}
		if (!al) {
			TP_GROW(rs->alerts, rs->capalerts, rs->nalerts + 1);
			al = &rs->alerts[rs->nalerts++];
		} else {
			alert_release(al);
		}
		memset(al, 0, sizeof(*al));
		al->labels = labels_dup(&fresh[i].labels);
		al->annotations = labels_dup(&fresh[i].annotations);
		al->hash = fresh[i].hash;
		al->value = fresh[i].value;
		al->state = RULES_ALERT_PENDING;
		al->active_at_ms = ts;
	}
	/* state transitions; collect ALERTS / ALERTS_FOR_STATE samples */
	size_t cap = rs->nalerts * 2 + 1, nout = 0, active = 0;
	tp_labels *ol = tp_arena_alloc(a, sizeof(tp_labels) * cap);
	double *ov = tp_arena_alloc(a, sizeof(double) * cap);
	size_t o = 0;
	for (size_t i = 0; i < rs->nalerts; i++) {
		rules_alert *al = &rs->alerts[i];
		bool present = false;
		for (size_t k = 0; k < n && !present; k++)
			present = fresh[k].hash == al->hash && tp_labels_equal(&fresh[k].labels, &al->labels);
		bool drop = false;
		if (!present) {
			bool keep = false;
			if (al->state == RULES_ALERT_FIRING && r->keep_firing_for_ms > 0) {
				if (!al->keep_firing_since_ms)
					al->keep_firing_since_ms = ts;
				keep = ts - al->keep_firing_since_ms < r->keep_firing_for_ms;
			}
			if (al->state == RULES_ALERT_PENDING ||
			    (al->resolved_at_ms && ts - al->resolved_at_ms > RULES_RESOLVED_RETENTION_MS))
				drop = true;
			if (al->state != RULES_ALERT_INACTIVE && !keep) {
				al->state = RULES_ALERT_INACTIVE;
				al->resolved_at_ms = ts;
			}
			if (!keep) {
				if (drop) {
					alert_release(al);
					continue; /* not kept below */
				}
				rs->alerts[o++] = *al;
				continue;
			}
		} else {
			al->keep_firing_since_ms = 0;
		}
		active++;
		if (al->state == RULES_ALERT_PENDING && ts - al->active_at_ms >= r->for_ms) {
			al->state = RULES_ALERT_FIRING;
			al->fired_at_ms = ts;
		}
		/* ALERTS{alertstate} = 1 and ALERTS_FOR_STATE = ActiveAt seconds */
		tp_labels_builder b;
		tp_lb_init(&b, a, &al->labels);
		tp_lb_set(&b, TP_METRIC_NAME, "ALERTS");
		tp_lb_set(&b, "alertstate", rules_alert_state_str(al->state));
		ol[nout] = tp_lb_labels(&b);
		ov[nout++] = 1;
		tp_lb_init(&b, a, &al->labels);
		tp_lb_set(&b, TP_METRIC_NAME, "ALERTS_FOR_STATE");
		ol[nout] = tp_lb_labels(&b);
		ov[nout++] = (double)(al->active_at_ms / 1000);
		rs->alerts[o++] = *al;
	}
	rs->nalerts = o;
	if (g->cfg->limit > 0 && active > (size_t)g->cfg->limit) {
		for (size_t i = 0; i < rs->nalerts; i++)
			alert_release(&rs->alerts[i]);
		rs->nalerts = 0;
		snprintf(err, sizeof(err), "exceeded limit of %d with %zu alerts", g->cfg->limit, active);
		set_error(rs, err);
		return;
	}
	send_alerts(g, rs, ts, a);
	if (g->restored)
		write_series(rs, head, ol, ov, nout, qts, a);
	set_error(rs, NULL);
}

/* ALERTS_FOR_STATE{labels of a}: the last sample in [mint, maxt]. */
static bool for_state(tsdb_head *head, const rules_alert *a, int64_t mint, int64_t maxt, int64_t *t, double *v)
{
	tsdb_matcher *ms = tp_xcalloc(a->labels.n + 1, sizeof(tsdb_matcher));
	char err[128];
	size_t nm = 0;
	bool ok = tsdb_matcher_init(&ms[nm++], TSDB_MATCH_EQ, TP_METRIC_NAME, "ALERTS_FOR_STATE", err, sizeof err) == 0;
	for (uint32_t i = 0; ok && i < a->labels.n; i++)
		ok = tsdb_matcher_init(&ms[nm++], TSDB_MATCH_EQ, a->labels.v[i].name, a->labels.v[i].value, err,
				       sizeof err) == 0;
	bool found = false;
	if (ok) {
		tsdb_querier *q = tsdb_querier_new(head, mint, maxt);
		tsdb_series_set *ss = tsdb_querier_select(q, ms, nm);
		tsdb_sample *buf = NULL;
		size_t cap = 0;
		while (tsdb_series_set_next(ss)) {
			/* the exact label set: ALERTS_FOR_STATE plus the alert's labels */
			if (tsdb_series_set_labels(ss)->n != a->labels.n + 1)
				continue;
			size_t n = tsdb_series_set_samples(ss, mint, maxt, &buf, &cap);
			if (n) {
				*t = buf[n - 1].t;
				*v = buf[n - 1].v;
				found = true;
			}
		}
		free(buf);
		tsdb_series_set_free(ss);
		tsdb_querier_free(q);
	}
	for (size_t i = 0; i < nm; i++)
		tsdb_matcher_free(&ms[i]);
	free(ms);
	return found;
}

static void restore_for_state(rules_group_state *g, tsdb_head *head, int64_t ts)
{
	for (size_t i = 0; i < g->nrules; i++) {
		rules_rule_state *rs = &g->rules[i];
		int64_t hold = rs->rule->for_ms;
		if (!rs->rule->alerting || hold < RULES_FOR_GRACE_PERIOD_MS)
			continue;
		for (size_t k = 0; k < rs->nalerts; k++) {
			rules_alert *a = &rs->alerts[k];
			if (a->state == RULES_ALERT_INACTIVE)
				continue;
			int64_t t;
			double v;
			if (!for_state(head, a, ts - RULES_OUTAGE_TOLERANCE_MS, ts, &t, &v) || tsdb_is_stale_nan(v))
				continue;
			int64_t down_at = t / 1000 * 1000;
			int64_t active_at = (int64_t)v * 1000;
			int64_t remaining = hold - (down_at - active_at);
			if (remaining <= 0) {
				/* it was firing when we went down; the next evaluation says if it still is */
			} else if (remaining < RULES_FOR_GRACE_PERIOD_MS) {
				active_at = ts + RULES_FOR_GRACE_PERIOD_MS - hold;
			} else {
				active_at += ts - down_at;
			}
			a->active_at_ms = active_at;
		}
	}
}

void rules_group_eval(rules_group_state *g, promql_engine *e, tsdb_head *head, int64_t ts_ms)
{
	int64_t offset = g->cfg->query_offset_ms >= 0 ? g->cfg->query_offset_ms : g->opts.default_query_offset_ms;
	if (offset < 0)
		offset = 0;
	int64_t qts = ts_ms - offset;
	int64_t t0 = tp_mono_ns();
	tp_arena a;
	tp_arena_init(&a);
	pthread_mutex_lock(&g->mu);
	for (size_t i = 0; i < g->nrules; i++) {
		rules_rule_state *rs = &g->rules[i];
		int64_t r0 = tp_mono_ns();
		if (rs->rule->alerting)
			eval_alerting(g, rs, e, head, ts_ms, qts, &a);
		else
			eval_recording(g, rs, e, head, qts, &a);
		rs->last_eval_ms = ts_ms;
		rs->eval_seconds = (double)(tp_mono_ns() - r0) / 1e9;
		tp_arena_reset(&a);
	}
	if (!g->restored) {
		restore_for_state(g, head, ts_ms);
		g->restored = true;
	}
	g->last_eval_ms = ts_ms;
	g->eval_seconds = (double)(tp_mono_ns() - t0) / 1e9;
	pthread_mutex_unlock(&g->mu);
	tp_arena_free(&a);
}
