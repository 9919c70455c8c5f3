/* SPDX-License-Identifier: Apache-2.0
 * server.c - `tinyprom` without a subcommand: parse flags, start storage,
 * run until SIGINT/SIGTERM (or /-/quit), stop cleanly.
 *
 * Start-up order: flags -> logging -> data directory -> signal mask ->
 * self-metrics -> TSDB head -> query engine -> HTTP API -> ready. Shutdown runs it
 * backwards. Invariants: SIGINT, SIGTERM, SIGHUP and SIGUSR1 are blocked
 * in every thread (the mask is set before any thread exists) and received
 * only by the main thread's sigtimedwait loop, so no work happens in a
 * signal handler. Exit status: 0 after a clean stop, 1 when start-up
 * fails, 2 for a usage error (one line on stderr). */
#include "config.h"
#include "cmd/commands.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/options.h"
#include "cmd/app.h"
#include "api/server.h"
#include "lib/common.h"
#include "lib/duration.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"
#include "tsdb/wal_head.h"

#define RETENTION_INTERVAL_MS 60000
/* A WAL checkpoint rewrites everything still live, so it runs rarely. */
#define CHECKPOINT_INTERVAL_MS (2 * 3600 * 1000)

/* mkdir -p; returns 0 or -1 with errno set. */
static int make_dirs(const char *path)
{
	char *p = tp_xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (p[0] && mkdir(p, 0777) != 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

/* ---- self-metrics over the head ---- */

enum head_stat { HS_SERIES, HS_CHUNKS, HS_MINT, HS_MAXT, HS_APPENDED, HS_CREATED, HS_REMOVED, HS_OOO };

typedef struct head_metric {
	tsdb_head *head;
	enum head_stat which;
} head_metric;

static double head_stat_value(void *ud)
{
	const head_metric *hm = ud;
	tsdb_stats st;
	tsdb_head_stats(hm->head, &st);
	switch (hm->which) {
	case HS_SERIES: return (double)st.num_series;
	case HS_CHUNKS: return (double)st.num_chunks;
	/* Prometheus reports the empty head as min=MaxInt64, max=MinInt64 */
	case HS_MINT: return (double)st.min_time_ms;
	case HS_MAXT: return (double)st.max_time_ms;
	case HS_APPENDED: return (double)st.samples_appended;
	case HS_CREATED: return (double)st.series_created;
	case HS_REMOVED: return (double)st.series_removed;
	case HS_OOO: return (double)st.out_of_order_samples;
	}
	return 0;
}

static head_metric g_head_metrics[8];

static void register_head_metrics(tp_metrics_registry *r, tsdb_head *h)
{
	static const struct {
		enum head_stat which;
		tp_metric_type type;
		const char *name, *help;
	} defs[] = {
		{ HS_SERIES, TP_METRIC_GAUGE, "prometheus_tsdb_head_series", "Total number of series in the head block." },
		{ HS_CHUNKS, TP_METRIC_GAUGE, "prometheus_tsdb_head_chunks", "Total number of chunks in the head block." },
		{ HS_MINT, TP_METRIC_GAUGE, "prometheus_tsdb_head_min_time", "Minimum time bound of the head block." },
		{ HS_MAXT, TP_METRIC_GAUGE, "prometheus_tsdb_head_max_time", "Maximum timestamp of the head block." },
		{ HS_APPENDED, TP_METRIC_COUNTER, "prometheus_tsdb_head_samples_appended_total", "Total number of appended samples." },
		{ HS_CREATED, TP_METRIC_COUNTER, "prometheus_tsdb_head_series_created_total", "Total number of series created in the head" },
		{ HS_REMOVED, TP_METRIC_COUNTER, "prometheus_tsdb_head_series_removed_total", "Total number of series removed in the head" },
		{ HS_OOO, TP_METRIC_COUNTER, "prometheus_tsdb_out_of_order_samples_total", "Total number of out of order samples ingestion failed attempts due to OOO support being disabled." },
	};
	for (size_t i = 0; i < TP_ARRAY_LEN(defs); i++) {
		g_head_metrics[i].head = h;
		g_head_metrics[i].which = defs[i].which;
		if (defs[i].which == HS_APPENDED) {
			/* Prometheus labels this one by sample type */
			static const char *const lbl[] = { "type" };
			static const char *const val[] = { "float" };
			tp_metric_family *f = tp_metrics_family_new(r, TP_METRIC_COUNTER, defs[i].name,
								    defs[i].help, lbl, 1, NULL, 0);
			tp_metrics_child_set_fn(tp_metrics_child(f, val), head_stat_value, &g_head_metrics[i]);
			continue;
		}
		tp_metrics_func_new(r, defs[i].type, defs[i].name, defs[i].help, head_stat_value,
				    &g_head_metrics[i]);
	}
}

static void register_build_metrics(tp_metrics_registry *r)
{
	const api_build_info *b = api_build_info_get();
	static const char *const names[] = { "branch", "goversion", "revision", "version" };
	const char *vals[] = { b->branch, b->compiler, b->revision, b->version };
	tp_metric_family *f = tp_metrics_family_new(
		r, TP_METRIC_GAUGE, "prometheus_build_info",
		"A metric with a constant '1' value labeled by version, revision, branch, and goversion from which prometheus was built.",
		names, 4, NULL, 0);
	tp_metrics_gauge_set(tp_metrics_child(f, vals), 1);
	/* the reload gauges belong to cmd/app.c, which reloads */
}

/* ---- run loop ---- */

/* Drops what retention no longer keeps; with checkpoint, also compacts
 * the WAL down to what is live. */
static void retention_tick(tsdb_wal_head *store, int64_t retention_ms, bool checkpoint)
{
	int64_t mint = retention_ms > 0 ? tp_now_ms() - retention_ms : INT64_MIN;
	char buf[32], mt[40], err[256];
	long removed;
	if (checkpoint) {
		removed = tsdb_wal_head_truncate(store, mint, err, sizeof err);
		if (removed < 0)
			tp_log_error("WAL checkpoint failed", "err", err);
	} else if (retention_ms > 0) {
		removed = (long)tsdb_head_truncate(tsdb_wal_head_head(store), mint);
	} else {
		return;
	}
	snprintf(buf, sizeof buf, "%ld", removed);
	tp_time_format_rfc3339(mt, mint == INT64_MIN ? 0 : mint);
	tp_log_debug(checkpoint ? "Head truncated and WAL checkpointed" : "Retention truncation done", "mint", mt,
		     "series_removed", buf);
}

/* /-/quit: runs on a request thread; only wakes the main loop. */
static void request_quit(void *ud)
{
	(void)ud;
	kill(getpid(), SIGUSR1);
}

/* Waits for a stop request, doing periodic work meanwhile. Returns the
 * name of what stopped us, for the log. */
static const char *run_loop(const sigset_t *set, tsdb_wal_head *store, int64_t retention_ms, tp_app *app)
{
	int64_t next_retention = tp_mono_ns() / 1000000 + RETENTION_INTERVAL_MS;
	int64_t next_checkpoint = tp_mono_ns() / 1000000 + CHECKPOINT_INTERVAL_MS;
	for (;;) {
		struct timespec to = { 1, 0 };
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &to);
		if (sig == SIGINT)
			return "SIGINT";
		if (sig == SIGTERM)
			return "SIGTERM";
		if (sig == SIGUSR1)
			return "web";
		if (sig == SIGHUP) {
			char err[1024];
			tp_log_info("Received SIGHUP, reloading configuration");
			tp_app_reload(app, err, sizeof err);
		}
		int64_t now = tp_mono_ns() / 1000000;
		if (now >= next_retention) {
			bool cp = now >= next_checkpoint;
			retention_tick(store, retention_ms, cp);
			next_retention = now + RETENTION_INTERVAL_MS;
			if (cp)
				next_checkpoint = now + CHECKPOINT_INTERVAL_MS;
		}
	}
}

int cmd_server(int argc, char **argv)
{
	api_options o;
	char err[512];
	tp_strbuf sb = { 0 };
	int status = 1;
	switch (api_options_parse(&o, argc, argv, err, sizeof err)) {
	case API_OPTIONS_ERROR:
		fprintf(stderr, "tinyprom: error: %s\n", err);
		api_options_free(&o);
		return 2;
	case API_OPTIONS_HELP:
		api_options_usage(&o, &sb);
		fputs(tp_sb_cstr(&sb), stdout);
		tp_sb_free(&sb);
		api_options_free(&o);
		return 0;
	case API_OPTIONS_VERSION:
		api_version_text(&sb);
		fputs(tp_sb_cstr(&sb), stdout);
		tp_sb_free(&sb);
		api_options_free(&o);
		return 0;
	case API_OPTIONS_RUN:
		break;
	}
	tp_log_set_level(o.log_level);
	tp_log_set_format(o.log_format);

	const api_build_info *b = api_build_info_get();
	tp_sb_printf(&sb, "(version=%s, branch=%s, revision=%s)", b->version, b->branch, b->revision);
	tp_log_info("Starting tinyprom", "mode", "server", "version", tp_sb_cstr(&sb));
	tp_sb_reset(&sb);
	tp_sb_printf(&sb, "(compiler=%s, platform=%s, user=%s, date=%s)", b->compiler, b->platform,
		     b->build_user, b->build_date);
	tp_log_info("Build context", "build_context", tp_sb_cstr(&sb));
	tp_sb_free(&sb);
	for (size_t i = 0; i < o.features.n; i++) {
		if (api_options_feature_known(o.features.v[i]))
			tp_log_info("Experimental feature enabled", "feature", o.features.v[i]);
		else
			tp_log_warn("Unknown option for --enable-feature", "option", o.features.v[i]);
	}
	if (o.retention_bytes > 0)
		tp_log_warn("Size-based retention is not enforced yet; only time-based retention applies",
			    "retention.size", api_options_flag_text(&o, "storage.tsdb.retention.size"));

	if (make_dirs(o.tsdb_path) != 0) {
		tp_log_error("Opening storage failed", "path", o.tsdb_path, "err", strerror(errno));
		api_options_free(&o);
		return 1;
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	tp_metrics_registry *reg = tp_metrics_default();
	tp_metrics_register_process(reg);
	register_build_metrics(reg);
	tp_metric *ready = tp_metrics_gauge_new(reg, "prometheus_ready",
						"Whether Prometheus startup was fully completed and the server is ready for normal operation.");

	tsdb_options topts = { .retention_ms = o.retention_ms };
	tsdb_wal_opts wopts;
	tsdb_wal_opts_default(&wopts);
	tsdb_wal_fsync_parse(o.wal_fsync, &wopts); /* validated with the flags */
	tsdb_wal_head_stats wst;
	int64_t replay_start = tp_mono_ns();
	tsdb_wal_head *store = tsdb_wal_head_open(o.tsdb_path, &topts, &wopts, &wst, err, sizeof err);
	if (!store) {
		tp_log_error("Opening storage failed", "path", o.tsdb_path, "err", err);
		goto out;
	}
	tsdb_head *head = tsdb_wal_head_head(store);
	{
		char series[32], samples[32], dur[32];
		snprintf(series, sizeof series, "%llu", (unsigned long long)wst.series_restored);
		snprintf(samples, sizeof samples, "%llu", (unsigned long long)wst.samples_restored);
		snprintf(dur, sizeof dur, "%.3fs", (double)(tp_mono_ns() - replay_start) / 1e9);
		tp_log_info("WAL replay completed", "series", series, "samples", samples, "duration", dur);
		if (wst.replay.corruption[0])
			tp_log_warn("WAL was repaired", "dropped", wst.replay.corruption);
		else if (wst.replay.torn_tail)
			tp_log_warn("WAL ended in a partial record (a crash mid-write); it was truncated");
	}
	/* Retention applies from the start: the replay brought back whatever
	 * the WAL held, including samples a lowered retention no longer keeps,
	 * and they must not be served (or accepted again) until the first tick. */
	retention_tick(store, o.retention_ms, false);
	register_head_metrics(reg, head);
	tp_log_info("TSDB started", "path", o.tsdb_path, "retention",
		    api_options_flag_text(&o, "storage.tsdb.retention.time"));

	promql_engine_opts eopts = {
		.lookback_ms = o.lookback_ms,
		.timeout_ms = o.query_timeout_ms,
		.max_samples = o.max_samples,
		.experimental_functions = api_options_feature(&o, "promql-experimental-functions"),
		.duration_expressions = api_options_feature(&o, "promql-duration-expr"),
		.extended_range_selectors = api_options_feature(&o, "promql-extended-range-selectors"),
		.delayed_name_removal = api_options_feature(&o, "promql-delayed-name-removal"),
		.binop_fill_modifiers = api_options_feature(&o, "promql-binop-fill-modifiers"),
	};
	promql_engine *engine = promql_engine_new(head, &eopts);
	if (!engine) {
		tp_log_error("Creating the query engine failed");
		tsdb_wal_head_close(store);
		goto out;
	}

	tp_app app;
	if (tp_app_start(&app, &o, head, store, engine, reg, err, sizeof err) != 0) {
		tp_log_error("Error loading config", "file", o.config_file, "err", err);
		promql_engine_free(engine);
		tsdb_wal_head_close(store);
		goto out;
	}

	api_server_config acfg = {
		.opts = &o,
		.head = head,
		.engine = engine,
		.metrics = reg,
		.on_quit = request_quit,
		.start_time_ms = tp_now_ms(),
		.app = tp_app_api(&app),
	};
	api_server *web = api_server_start(&acfg, err, sizeof err);
	if (!web) {
		tp_log_error("Error starting web server, exiting gracefully...", "err", err);
		tp_app_stop(&app);
		promql_engine_free(engine);
		tsdb_wal_head_close(store);
		goto out;
	}
	{
		char addr[64];
		snprintf(addr, sizeof addr, "%u", (unsigned)api_server_port(web));
		tp_log_info("Start listening for connections", "address", o.listen_address, "port", addr);
	}

	api_server_set_ready(web, true);
	tp_metrics_gauge_set(ready, 1);
	tp_log_info("Server is ready to receive web requests.");
	const char *why = run_loop(&set, store, o.retention_ms, &app);
	tp_metrics_gauge_set(ready, 0);
	api_server_set_ready(web, false);
	if (strcmp(why, "web") == 0)
		tp_log_warn("Received termination request via web service, exiting gracefully...");
	else if (strcmp(why, "SIGTERM") == 0)
		tp_log_warn("Received SIGTERM, exiting gracefully...");
	else
		tp_log_warn("Received SIGINT, exiting gracefully...");

	api_server_stop(web);
	tp_log_info("HTTP server stopped");
	tp_app_stop(&app);
	tp_log_info("Scrape, rule and notification managers stopped");
	promql_engine_free(engine);
	if (tsdb_wal_head_close(store) != 0)
		tp_log_error("Closing the WAL failed: the last commits may not be synced");
	tp_log_info("See you next time!");
	status = 0;
out:
	api_options_free(&o);
	return status;
}
