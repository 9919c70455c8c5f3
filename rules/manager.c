/* SPDX-License-Identifier: Apache-2.0
 * manager.c - loaded rule groups, their evaluation thread, reload and the
 * API documents.
 * Locking: `rw` guards the arrays of files and groups (the evaluator and
 * API readers take it shared, a reload exclusive); each group's own mutex
 * guards its rule states while it evaluates; `mu` + `cond` carry the
 * stop/wake-up signals of the evaluation thread. One thread evaluates all
 * groups in the order they fall due: a slow group delays the others (they
 * are then evaluated late, at their aligned timestamps). */
#include "config.h"
#include "rules/manager.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/common.h"
#include "lib/duration.h"

struct rules_manager {
	rules_manager_opts o;
	pthread_rwlock_t rw;
	rules_file *files;            /* owned */
	size_t nfiles;
	rules_group_state **groups;   /* owned; point into files */
	int64_t *next_ms;             /* next evaluation per group, 0 = not scheduled yet */
	size_t ngroups;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool running, stop, changed;
	bool loaded;                  /* a first update happened */
	pthread_t th;
};

rules_manager *rules_manager_new(const rules_manager_opts *o)
{
	rules_manager *m = tp_xcalloc(1, sizeof(*m));
	m->o = *o;
	pthread_rwlock_init(&m->rw, NULL);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cond, NULL);
	return m;
}

static void free_set(rules_file *files, size_t nfiles, rules_group_state **groups, size_t ngroups)
{
	for (size_t i = 0; i < ngroups; i++)
		rules_group_state_free(groups[i]);
	free(groups);
	for (size_t i = 0; i < nfiles; i++)
		rules_file_free(&files[i]);
	free(files);
}

void rules_manager_free(rules_manager *m)
{
	if (!m)
		return;
	rules_manager_stop(m);
	free_set(m->files, m->nfiles, m->groups, m->ngroups);
	free(m->next_ms);
	pthread_rwlock_destroy(&m->rw);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cond);
	free(m);
}

int rules_manager_update(rules_manager *m, const char *const *paths, size_t n, tp_strbuf *errs)
{
	rules_file *files = tp_xcalloc(n ? n : 1, sizeof(rules_file));
	size_t nf = 0;
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		tp_strbuf e = { 0 };
		if (rules_file_load(paths[i], &m->o.parse, &files[nf], &e) != 0) {
			const char *s = tp_sb_cstr(&e);
			while (*s) { /* every line prefixed with the file, as Prometheus logs it */
				const char *nl = strchr(s, '\n');
				size_t len = nl ? (size_t)(nl - s) : strlen(s);
				tp_sb_printf(errs, "%s: %.*s\n", paths[i], (int)len, s);
				s += len + (nl ? 1 : 0);
			}
			bad = 1;
		} else {
			nf++;
		}
		tp_sb_free(&e);
	}
	if (bad) {
		free_set(files, nf, NULL, 0);
		return -1;
	}
	size_t ng = 0;
	for (size_t i = 0; i < nf; i++)
		ng += files[i].ngroups;
	rules_group_state **groups = tp_xcalloc(ng ? ng : 1, sizeof(*groups));
	int64_t *next = tp_xcalloc(ng ? ng : 1, sizeof(int64_t));
	size_t k = 0;
	for (size_t i = 0; i < nf; i++)
		for (size_t j = 0; j < files[i].ngroups; j++) {
			groups[k] = rules_group_state_new(&files[i].groups[j], &m->o.group);
			/* only groups of the first load restore `for` state (after a restart) */
			if (m->o.restore_for_state && !m->loaded)
				groups[k]->restored = false;
			k++;
		}
	m->loaded = true;

	pthread_rwlock_wrlock(&m->rw);
	for (size_t i = 0; i < ng; i++) {
		for (size_t j = 0; j < m->ngroups; j++) {
			rules_group_state *old = m->groups[j];
			if (strcmp(old->cfg->name, groups[i]->cfg->name) == 0 &&
			    strcmp(old->cfg->file, groups[i]->cfg->file) == 0) {
				rules_group_state_inherit(groups[i], old);
				if (old->interval_ms == groups[i]->interval_ms)
					next[i] = m->next_ms[j];
				break;
			}
		}
	}
	rules_file *of = m->files;
	size_t onf = m->nfiles, ong = m->ngroups;
	rules_group_state **og = m->groups;
	m->files = files;
	m->nfiles = nf;
	m->groups = groups;
	free(m->next_ms);
	m->next_ms = next;
	m->ngroups = ng;
	pthread_rwlock_unlock(&m->rw);
	free_set(of, onf, og, ong);

	pthread_mutex_lock(&m->mu);
	m->changed = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

void rules_manager_set_group_opts(rules_manager *m, const rules_group_opts *g)
{
	pthread_rwlock_wrlock(&m->rw);
	m->o.group = *g;
	pthread_rwlock_unlock(&m->rw);
}

size_t rules_manager_group_count(rules_manager *m)
{
	pthread_rwlock_rdlock(&m->rw);
	size_t n = m->ngroups;
	pthread_rwlock_unlock(&m->rw);
	return n;
}

void rules_manager_eval_all(rules_manager *m, int64_t ts_ms)
{
	pthread_rwlock_rdlock(&m->rw);
	for (size_t i = 0; i < m->ngroups; i++)
		rules_group_eval(m->groups[i], m->o.engine, m->o.head, ts_ms);
	pthread_rwlock_unlock(&m->rw);
}

/* ---- the evaluation thread ---- */

static void *evaluator(void *arg)
{
	rules_manager *m = arg;
	for (;;) {
		pthread_mutex_lock(&m->mu);
		bool stop = m->stop;
		m->changed = false;
		pthread_mutex_unlock(&m->mu);
		if (stop)
			break;
		int64_t now = tp_now_ms();
		int64_t wake = now + 60000;
		pthread_rwlock_rdlock(&m->rw);
		for (size_t i = 0; i < m->ngroups; i++) {
			rules_group_state *g = m->groups[i];
			if (!m->next_ms[i])
				m->next_ms[i] = rules_group_next_eval(g, now);
			if (m->next_ms[i] <= now) {
				/* skip missed iterations: evaluate at the latest aligned time */
				int64_t missed = (now - m->next_ms[i]) / g->interval_ms;
				int64_t ts = m->next_ms[i] + missed * g->interval_ms;
				rules_group_eval(g, m->o.engine, m->o.head, ts);
				m->next_ms[i] = ts + g->interval_ms;
				now = tp_now_ms();
			}
			if (m->next_ms[i] < wake)
				wake = m->next_ms[i];
		}
		pthread_rwlock_unlock(&m->rw);
		pthread_mutex_lock(&m->mu);
		if (!m->stop && !m->changed && wake > tp_now_ms()) {
			struct timespec ts = { .tv_sec = wake / 1000, .tv_nsec = (wake % 1000) * 1000000 };
			pthread_cond_timedwait(&m->cond, &m->mu, &ts);
		}
		pthread_mutex_unlock(&m->mu);
	}
	return NULL;
}

void rules_manager_start(rules_manager *m)
{
	pthread_mutex_lock(&m->mu);
	if (!m->running) {
		m->stop = false;
		m->running = true;
		pthread_create(&m->th, NULL, evaluator, m);
	}
	pthread_mutex_unlock(&m->mu);
}

void rules_manager_stop(rules_manager *m)
{
	pthread_mutex_lock(&m->mu);
	bool running = m->running;
	m->stop = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	if (running)
		pthread_join(m->th, NULL);
	m->running = false;
}

/* ---- API documents ---- */

size_t rules_format_float_e(char *buf, double v)
{
	if (isnan(v))
		return (size_t)sprintf(buf, "NaN");
	if (isinf(v))
		return (size_t)sprintf(buf, v > 0 ? "+Inf" : "-Inf");
	/* shortest round-trip mantissa, exponent with at least two digits */
	char tmp[40];
	for (int prec = 0; prec <= 16; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* strip trailing zeros of the mantissa's fraction (never its first digit) */
	char *e = strchr(tmp, 'e');
	char *p = e;
	if (memchr(tmp, '.', (size_t)(e - tmp))) {
		while (p[-1] == '0')
			p--;
		if (p[-1] == '.')
			p--;
	}
	size_t ml = (size_t)(p - tmp);
	memcpy(buf, tmp, ml);
	strcpy(buf + ml, e);
	return strlen(buf);
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
	char b[48];
	if (ms == 0)
		snprintf(b, sizeof(b), "0001-01-01T00:00:00Z");
	else
		tp_time_format_rfc3339(b, ms);
	cJSON_AddStringToObject(o, key, b);
}

static cJSON *labels_obj(const tp_labels *l)
{
	cJSON *o = cJSON_CreateObject();
	for (uint32_t i = 0; l && i < l->n; i++)
		cJSON_AddStringToObject(o, l->v[i].name, l->v[i].value);
	return o;
}

static cJSON *kvs_obj(const rules_kv *kv, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < n; i++)
		cJSON_AddStringToObject(o, kv[i].name, kv[i].value);
	return o;
}

static cJSON *alert_obj(const rules_alert *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "labels", labels_obj(&a->labels));
	cJSON_AddItemToObject(o, "annotations", labels_obj(&a->annotations));
	cJSON_AddStringToObject(o, "state", rules_alert_state_str(a->state));
	add_time(o, "activeAt", a->active_at_ms);
	if (a->keep_firing_since_ms)
		add_time(o, "keepFiringSince", a->keep_firing_since_ms);
	char v[40];
	rules_format_float_e(v, a->value);
	cJSON_AddStringToObject(o, "value", v);
	return o;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	if (!list || n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void print_query(tp_strbuf *sb, const rules_rule *r)
{
	if (r->expr)
		promql_node_print(sb, r->expr->root);
	else
		tp_sb_puts(sb, r->expr_text);
}

int rules_manager_rules_json(rules_manager *m, const rules_api_filter *f, tp_strbuf *out)
{
	if (f->type && f->type[0] && strcmp(f->type, "alert") != 0 && strcmp(f->type, "record") != 0) {
		tp_sb_printf(out, "invalid parameter \"type\": not supported value \"%s\"", f->type);
		return -1;
	}
	bool want_alert = !f->type || !f->type[0] || strcmp(f->type, "alert") == 0;
	bool want_record = !f->type || !f->type[0] || strcmp(f->type, "record") == 0;
	cJSON *data = cJSON_CreateObject();
	cJSON *groups = cJSON_AddArrayToObject(data, "groups");
	pthread_rwlock_rdlock(&m->rw);
	for (size_t i = 0; i < m->ngroups; i++) {
		rules_group_state *g = m->groups[i];
		if (!in_list(g->cfg->name, f->group_names, f->ngroup_names) || !in_list(g->cfg->file, f->files, f->nfiles))
			continue;
		pthread_mutex_lock(&g->mu);
		cJSON *go = cJSON_CreateObject();
		cJSON_AddStringToObject(go, "name", g->cfg->name);
		cJSON_AddStringToObject(go, "file", g->cfg->file);
		cJSON *rules = cJSON_AddArrayToObject(go, "rules");
		for (size_t k = 0; k < g->nrules; k++) {
			rules_rule_state *rs = &g->rules[k];
			const rules_rule *r = rs->rule;
			if ((r->alerting && !want_alert) || (!r->alerting && !want_record) ||
			    !in_list(r->name, f->rule_names, f->nrule_names))
				continue;
			cJSON *ro = cJSON_CreateObject();
			tp_strbuf q = { 0 };
			print_query(&q, r);
			if (r->alerting) {
				rules_alert_state st = RULES_ALERT_INACTIVE;
				for (size_t a = 0; a < rs->nalerts; a++)
					if (rs->alerts[a].state > st)
						st = rs->alerts[a].state;
				cJSON_AddStringToObject(ro, "state", rules_alert_state_str(st));
				cJSON_AddStringToObject(ro, "name", r->name);
				cJSON_AddStringToObject(ro, "query", tp_sb_cstr(&q));
				cJSON_AddNumberToObject(ro, "duration", (double)r->for_ms / 1000.0);
				cJSON_AddNumberToObject(ro, "keepFiringFor", (double)r->keep_firing_for_ms / 1000.0);
				cJSON_AddItemToObject(ro, "labels", kvs_obj(r->labels, r->nlabels));
				cJSON_AddItemToObject(ro, "annotations", kvs_obj(r->annotations, r->nannotations));
				if (!f->exclude_alerts) {
					cJSON *al = cJSON_AddArrayToObject(ro, "alerts");
					for (size_t a = 0; a < rs->nalerts; a++)
						if (rs->alerts[a].state != RULES_ALERT_INACTIVE)
							cJSON_AddItemToArray(al, alert_obj(&rs->alerts[a]));
				}
			} else {
				cJSON_AddStringToObject(ro, "name", r->name);
				cJSON_AddStringToObject(ro, "query", tp_sb_cstr(&q));
				if (r->nlabels)
					cJSON_AddItemToObject(ro, "labels", kvs_obj(r->labels, r->nlabels));
			}
			tp_sb_free(&q);
			cJSON_AddStringToObject(ro, "health", rules_health_str(rs->health));
			if (rs->last_error)
				cJSON_AddStringToObject(ro, "lastError", rs->last_error);
			cJSON_AddNumberToObject(ro, "evaluationTime", rs->eval_seconds);
			add_time(ro, "lastEvaluation", rs->last_eval_ms);
			cJSON_AddStringToObject(ro, "type", r->alerting ? "alerting" : "recording");
			cJSON_AddItemToArray(rules, ro);
		}
		cJSON_AddNumberToObject(go, "interval", (double)g->interval_ms / 1000.0);
		cJSON_AddNumberToObject(go, "limit", g->cfg->limit);
		cJSON_AddNumberToObject(go, "evaluationTime", g->eval_seconds);
		add_time(go, "lastEvaluation", g->last_eval_ms);
		pthread_mutex_unlock(&g->mu);
		/* with rule filters, groups left without rules are omitted, as Prometheus does */
		if ((f->nrule_names || (f->type && f->type[0])) && cJSON_GetArraySize(rules) == 0)
			cJSON_Delete(go);
		else
			cJSON_AddItemToArray(groups, go);
	}
	pthread_rwlock_unlock(&m->rw);
	char *s = cJSON_PrintUnformatted(data);
	tp_sb_puts(out, s);
	free(s);
	cJSON_Delete(data);
	return 0;
}

void rules_manager_alerts_json(rules_manager *m, tp_strbuf *out)
{
	cJSON *data = cJSON_CreateObject();
	cJSON *alerts = cJSON_AddArrayToObject(data, "alerts");
	pthread_rwlock_rdlock(&m->rw);
	for (size_t i = 0; i < m->ngroups; i++) {
		rules_group_state *g = m->groups[i];
		pthread_mutex_lock(&g->mu);
		for (size_t k = 0; k < g->nrules; k++)
			for (size_t a = 0; a < g->rules[k].nalerts; a++)
				if (g->rules[k].alerts[a].state != RULES_ALERT_INACTIVE)
					cJSON_AddItemToArray(alerts, alert_obj(&g->rules[k].alerts[a]));
		pthread_mutex_unlock(&g->mu);
	}
	pthread_rwlock_unlock(&m->rw);
	char *s = cJSON_PrintUnformatted(data);
	tp_sb_puts(out, s);
	free(s);
	cJSON_Delete(data);
}

/* ---- promtool support ---- */

size_t rules_manager_collect_alerts(rules_manager *m, const char *alertname, rules_alert_state state, tp_arena *a,
				    tp_labels **labels, tp_labels **annotations)
{
	size_t n = 0, cap = 0;
	*labels = NULL;
	*annotations = NULL;
	pthread_rwlock_rdlock(&m->rw);
	for (size_t i = 0; i < m->ngroups; i++) {
		rules_group_state *g = m->groups[i];
		pthread_mutex_lock(&g->mu);
		for (size_t k = 0; k < g->nrules; k++) {
			rules_rule_state *rs = &g->rules[k];
			if (!rs->rule->alerting || strcmp(rs->rule->name, alertname) != 0)
				continue;
			for (size_t j = 0; j < rs->nalerts; j++) {
				if (rs->alerts[j].state != state)
					continue;
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 8;
					*labels = tp_arena_realloc(a, *labels, cap * sizeof(tp_labels), nc * sizeof(tp_labels));
					*annotations = tp_arena_realloc(a, *annotations, cap * sizeof(tp_labels),
									nc * sizeof(tp_labels));
					cap = nc;
				}
				(*labels)[n] = tp_labels_copy(a, &rs->alerts[j].labels, true);
				(*annotations)[n] = tp_labels_copy(a, &rs->alerts[j].annotations, true);
				n++;
			}
		}
		pthread_mutex_unlock(&g->mu);
	}
	pthread_rwlock_unlock(&m->rw);
	return n;
}

static size_t order_of(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return 0;
}

void rules_manager_order_groups(rules_manager *m, const char *const *names, size_t n)
{
	pthread_rwlock_wrlock(&m->rw);
	/* insertion sort: stable, and group counts are small */
	for (size_t i = 1; i < m->ngroups; i++) {
		rules_group_state *g = m->groups[i];
		int64_t nx = m->next_ms[i];
		size_t oi = order_of(g->cfg->name, names, n), j = i;
		while (j > 0 && order_of(m->groups[j - 1]->cfg->name, names, n) > oi) {
			m->groups[j] = m->groups[j - 1];
			m->next_ms[j] = m->next_ms[j - 1];
			j--;
		}
		m->groups[j] = g;
		m->next_ms[j] = nx;
	}
	pthread_rwlock_unlock(&m->rw);
}

size_t rules_format_go_duration(char *buf, int64_t ms)
{
	char *o = buf;
	if (ms == 0)
		return (size_t)sprintf(buf, "0s");
	if (ms < 0) {
		*o++ = '-';
		ms = -ms;
	}
	if (ms < 1000)
		return (size_t)(o - buf) + (size_t)sprintf(o, "%lldms", (long long)ms);
	int64_t h = ms / 3600000, mi = (ms / 60000) % 60, s = (ms / 1000) % 60, frac = ms % 1000;
	if (h)
		o += sprintf(o, "%lldh", (long long)h);
	if (h || mi)
		o += sprintf(o, "%lldm", (long long)mi);
	o += sprintf(o, "%lld", (long long)s);
	if (frac) {
		char f[8];
		snprintf(f, sizeof(f), ".%03d", (int)frac);
		size_t fl = strlen(f);
		while (f[fl - 1] == '0')
			f[--fl] = '\0';
		o += sprintf(o, "%s", f);
	}
	*o++ = 's';
	*o = '\0';
	return (size_t)(o - buf);
}

void rules_manager_rule_errors(rules_manager *m, int64_t ts_ms, tp_strbuf *out)
{
	char t[48];
	rules_format_go_duration(t, ts_ms);
	pthread_rwlock_rdlock(&m->rw);
	for (size_t i = 0; i < m->ngroups; i++) {
		rules_group_state *g = m->groups[i];
		pthread_mutex_lock(&g->mu);
		for (size_t k = 0; k < g->nrules; k++)
			if (g->rules[k].last_error)
				tp_sb_printf(out, "    rule: %s, time: %s, err: %s\n", g->rules[k].rule->name, t,
					     g->rules[k].last_error);
		pthread_mutex_unlock(&g->mu);
	}
	pthread_rwlock_unlock(&m->rw);
}
