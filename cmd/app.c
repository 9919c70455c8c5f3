/* SPDX-License-Identifier: Apache-2.0
 * app.c - configuration lifecycle of the server: loading, starting the
 * scrape/discovery/rules/notifier pieces, and reloading them.
 * Reload order: parse the new file, load its rule files (any error keeps
 * everything as it was), then swap: rules first, then discovery (which
 * syncs scrape targets and Alertmanagers), then free the old config. */
#include "config.h"
#include "cmd/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/config_yaml.h"
#include "lib/common.h"
#include "lib/log.h"
#include "scrape/relabel.h"

static bool config_flag_given(const api_options *o)
{
	for (size_t i = 0; i < o->nflags; i++)
		if (strcmp(o->flags[i].name, "config.file") == 0)
			return o->flags[i].set;
	return false;
}

/* "host:port" that the embedded default config scrapes (ourselves). */
static void self_address(const api_options *o, char *buf, size_t n)
{
	const char *la = o->listen_address;
	const char *colon = strrchr(la, ':');
	const char *port = colon ? colon + 1 : "9090";
	snprintf(buf, n, "localhost:%s", port);
}

/* Loads the configuration the flags name into *cfg. */
static int load_config(const api_options *o, config *cfg, tp_strbuf *err)
{
	bool use_default = !config_flag_given(o) && access(o->config_file, F_OK) != 0;
	if (!use_default)
		return config_load_file(o->config_file, cfg, err);
	tp_log_info("No --config.file and no prometheus.yml here; using the embedded default configuration");
	char self[128];
	self_address(o, self, sizeof self);
	char *yaml = config_default_yaml(self);
	int rc = config_load_string(yaml, strlen(yaml), "(embedded default)", ".", cfg, err);
	free(yaml);
	return rc;
}

/* ---- notifier self-metrics (aggregated over Alertmanagers) ---- */

typedef struct notif_metric {
	tp_app *app;
	int which;
} notif_metric;

static notif_metric g_notif[6];

static double notif_value(void *ud)
{
	notif_metric *nm = ud;
	rules_notifier_stats st;
	rules_notifier_stats_get(nm->app->notifier, &st);
	switch (nm->which) {
	case 0: return (double)st.sent;
	case 1: return (double)st.errors;
	case 2: return (double)st.dropped;
	case 3: return (double)st.queue_length;
	case 4: return (double)st.queue_capacity;
	default: return (double)st.alertmanagers;
	}
}

static void register_notifier_metrics(tp_app *a, tp_metrics_registry *reg)
{
	static const struct {
		tp_metric_type type;
		const char *name, *help;
	} defs[] = {
		{ TP_METRIC_COUNTER, "prometheus_notifications_sent_total", "Total number of alerts sent." },
		{ TP_METRIC_COUNTER, "prometheus_notifications_errors_total",
		  "Total number of sent alerts affected by errors." },
		{ TP_METRIC_COUNTER, "prometheus_notifications_dropped_total",
		  "Total number of alerts dropped due to errors when sending to Alertmanager." },
		{ TP_METRIC_GAUGE, "prometheus_notifications_queue_length", "The number of alert notifications in the queue." },
		{ TP_METRIC_GAUGE, "prometheus_notifications_queue_capacity", "The capacity of the alert notifications queue." },
		{ TP_METRIC_GAUGE, "prometheus_notifications_alertmanagers_discovered",
		  "The number of alertmanagers discovered and active." },
	};
	for (int i = 0; i < 6; i++) {
		g_notif[i] = (notif_metric){ a, i };
		tp_metrics_func_new(reg, defs[i].type, defs[i].name, defs[i].help, notif_value, &g_notif[i]);
	}
}

static int alert_relabel(void *ud, const tp_labels *in, tp_arena *ar, tp_labels *out)
{
	tp_app *a = ud;
	pthread_mutex_lock(&a->mu);
	bool keep = true;
	const config_relabels *rc = &a->cfg.alerting.alert_relabel_configs;
	if (rc->n)
		keep = relabel_process(rc->v, rc->n, ar, in, out);
	else
		*out = *in;
	pthread_mutex_unlock(&a->mu);
	return keep ? 0 : 1;
}

static void set_external(tp_app *a, const config *cfg)
{
	tp_arena_free(&a->ext_arena);
	tp_arena_init(&a->ext_arena);
	tp_label *lv = tp_arena_alloc(&a->ext_arena, sizeof(tp_label) * (cfg->global.external_labels.n + 1));
	for (size_t i = 0; i < cfg->global.external_labels.n; i++)
		lv[i] = (tp_label){ tp_arena_strdup(&a->ext_arena, cfg->global.external_labels.v[i].name),
				    tp_arena_strdup(&a->ext_arena, cfg->global.external_labels.v[i].value) };
	a->ext = (tp_labels){ lv, (uint32_t)cfg->global.external_labels.n };
	tp_labels_normalize(&a->ext);
}

static rules_group_opts group_opts(tp_app *a, const config *cfg, const tp_labels *ext)
{
	return (rules_group_opts){ .default_interval_ms = cfg->global.evaluation_interval_ms,
				   .default_query_offset_ms = 0,
				   .resend_delay_ms = 60000,
				   .external_labels = ext,
				   .external_url = a->external_url,
				   .notify = rules_notifier_send,
				   .notify_ud = a->notifier };
}

/* Resolves and loads cfg's rule files into the rules manager. */
static int apply_rules(tp_app *a, const config *cfg, const tp_labels *ext, tp_strbuf *err)
{
	config_strs files = { 0 };
	if (config_rule_files_resolve(cfg, &files, err) != 0)
		return -1;
	rules_group_opts go = group_opts(a, cfg, ext);
	rules_manager_set_group_opts(a->rules, &go);
	int rc = rules_manager_update(a->rules, (const char *const *)files.v, files.n, err);
	config_strs_free(&files);
	return rc;
}

int tp_app_start(tp_app *a, const api_options *o, tsdb_head *head, tsdb_wal_head *store, promql_engine *engine,
		 tp_metrics_registry *reg, char *errbuf, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->mu, NULL);
	tp_arena_init(&a->ext_arena);
	a->o = o;
	a->head = head;
	a->store = store;
	a->engine = engine;
	tp_strbuf err = { 0 };
	if (load_config(o, &a->cfg, &err) != 0) {
		snprintf(errbuf, errlen, "%s", tp_sb_cstr(&err));
		tp_sb_free(&err);
		return -1;
	}
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	const char *colon = strrchr(o->listen_address, ':');
	tp_strbuf url = { 0 };
	tp_sb_printf(&url, "http://%s:%s", host, colon ? colon + 1 : "9090");
	a->external_url = tp_sb_steal(&url);
	set_external(a, &a->cfg);

	rules_notifier_opts no = { .external_labels = &a->ext, .relabel = alert_relabel, .relabel_ud = a };
	a->notifier = rules_notifier_new(&no);
	rules_manager_opts mo = { .engine = engine, .head = head, .restore_for_state = true };
	mo.group = group_opts(a, &a->cfg, &a->ext);
	/* rule expressions parse with the same feature flags as queries */
	mo.parse.experimental_functions = api_options_feature(o, "promql-experimental-functions");
	mo.parse.duration_expressions = api_options_feature(o, "promql-duration-expr");
	mo.parse.extended_range_selectors = api_options_feature(o, "promql-extended-range-selectors");
	a->rules = rules_manager_new(&mo);
	if (apply_rules(a, &a->cfg, &a->ext, &err) != 0) {
		snprintf(errbuf, errlen, "error loading rules: %s", tp_sb_cstr(&err));
		tp_sb_free(&err);
		rules_manager_free(a->rules);
		rules_notifier_free(a->notifier);
		config_free(&a->cfg);
		free(a->external_url);
		tp_arena_free(&a->ext_arena);
		return -1;
	}
	tp_sb_free(&err);
	/* remote write queues before anything appends, so they see every commit */
	a->remote = remote_storage_new(head, reg, 0);
	if (remote_storage_apply(a->remote, &a->cfg, &a->ext, errbuf, errlen) != 0)
		tp_log_error("Remote write not started", "err", errbuf);
	if (store)
		tsdb_wal_head_set_observer(store, remote_storage_observe, a->remote);
	a->scrape = scrape_manager_new(head);
	a->sd = sd_manager_new(a->scrape, a->notifier);
	sd_manager_apply(a->sd, &a->cfg);
	scrape_manager_start(a->scrape);
	rules_manager_start(a->rules);
	if (reg) {
		register_notifier_metrics(a, reg);
		a->m_reload_ok = tp_metrics_gauge_new(reg, "prometheus_config_last_reload_successful",
						      "Whether the last configuration reload attempt was successful.");
		a->m_reload_ts = tp_metrics_gauge_new(reg, "prometheus_config_last_reload_success_timestamp_seconds",
						      "Timestamp of the last successful configuration reload.");
		tp_metrics_gauge_set(a->m_reload_ok, 1);
		tp_metrics_gauge_set(a->m_reload_ts, (double)tp_now_ms() / 1000.0);
	}
	tp_log_info("Completed loading of configuration file", "filename",
		    a->cfg.path ? a->cfg.path : "(embedded default)");
	return 0;
}

int tp_app_reload(void *app, char *errbuf, size_t errlen)
{
	tp_app *a = app;
	config ncfg;
	tp_strbuf err = { 0 };
	int rc = -1;
	if (load_config(a->o, &ncfg, &err) != 0) {
		snprintf(errbuf, errlen, "%s", tp_sb_cstr(&err));
		goto done;
	}
	/* external labels of the new generation, kept beside the old ones until the swap */
	tp_app tmp = { 0 };
	tp_arena_init(&tmp.ext_arena);
	set_external(&tmp, &ncfg);
	if (apply_rules(a, &ncfg, &tmp.ext, &err) != 0) {
		snprintf(errbuf, errlen, "error loading rules: %s", tp_sb_cstr(&err));
		/* put the running options back */
		rules_group_opts go = group_opts(a, &a->cfg, &a->ext);
		rules_manager_set_group_opts(a->rules, &go);
		tp_arena_free(&tmp.ext_arena);
		config_free(&ncfg);
		goto done;
	}
	pthread_mutex_lock(&a->mu);
	config old = a->cfg;
	tp_arena oarena = a->ext_arena;
	a->cfg = ncfg;
	a->ext_arena = tmp.ext_arena;
	a->ext = tmp.ext;
	pthread_mutex_unlock(&a->mu);
	sd_manager_apply(a->sd, &a->cfg);
	rules_notifier_set_external_labels(a->notifier, &a->ext);
	char rerr[512];
	if (remote_storage_apply(a->remote, &a->cfg, &a->ext, rerr, sizeof rerr) != 0)
		tp_log_error("Remote write configuration not applied", "err", rerr);
	config_free(&old);
	tp_arena_free(&oarena);
	rc = 0;
	tp_log_info("Completed loading of configuration file", "filename",
		    a->cfg.path ? a->cfg.path : "(embedded default)");
done:
	if (a->m_reload_ok)
		tp_metrics_gauge_set(a->m_reload_ok, rc == 0 ? 1 : 0);
	if (rc == 0 && a->m_reload_ts)
		tp_metrics_gauge_set(a->m_reload_ts, (double)tp_now_ms() / 1000.0);
	if (rc != 0)
		tp_log_error("Error reloading config", "err", errbuf);
	tp_sb_free(&err);
	return rc;
}

static void app_config_yaml(void *ud, tp_strbuf *out)
{
	tp_app *a = ud;
	pthread_mutex_lock(&a->mu);
	api_config_yaml(&a->cfg, out);  /* Prometheus's rendering, defaults filled */
	pthread_mutex_unlock(&a->mu);
}

static void app_external_labels(void *ud, tp_arena *ar, tp_labels *out)
{
	tp_app *a = ud;
	pthread_mutex_lock(&a->mu);
	*out = tp_labels_copy(ar, &a->ext, true);
	pthread_mutex_unlock(&a->mu);
}

api_app tp_app_api(tp_app *a)
{
	return (api_app){ .rules = a->rules,
			  .scrape = a->scrape,
			  .notifier = a->notifier,
			  .reload = tp_app_reload,
			  .config_yaml = app_config_yaml,
			  .external_labels = app_external_labels,
			  .ud = a };
}

void tp_app_stop(tp_app *a)
{
	sd_manager_free(a->sd);
	scrape_manager_free(a->scrape);
	rules_manager_free(a->rules);
	rules_notifier_flush(a->notifier, 2000);
	rules_notifier_free(a->notifier);
	/* nothing appends any more: the last stale markers are queued */
	if (a->store)
		tsdb_wal_head_set_observer(a->store, NULL, NULL);
	remote_storage_free(a->remote);
	config_free(&a->cfg);
	free(a->external_url);
	tp_arena_free(&a->ext_arena);
	pthread_mutex_destroy(&a->mu);
}
