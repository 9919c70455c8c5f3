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
/* A WAL checkpoint rewrites the series records and the samples of open
 * head chunks; it runs every --storage.tsdb.min-block-duration (2h), or
 * sooner once the WAL has grown past this and four times the last
 * checkpoint (tsdb_wal_head_checkpoint_due). */
#define CHECKPOINT_MIN_BYTES (64u * 1024 * 1024)

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

/* ---- self-metrics over the WAL, chunk files and retention ---- */

enum store_stat {
	SS_WAL_FLUSHES, SS_WAL_WRITES_FAILED, SS_WAL_TRUNCATIONS, SS_WAL_TRUNCATIONS_FAILED, SS_WAL_CORRUPTIONS,
	SS_WAL_SEGMENT, SS_WAL_BYTES, SS_CKPT_CREATIONS, SS_CKPT_FAILED, SS_CHUNK_BYTES, SS_BLOCK_BYTES,
	SS_MMAP_CORRUPTIONS, SS_SIZE_RETENTIONS, SS_TIME_RETENTIONS, SS_LIMIT_BYTES, SS_LIMIT_SECONDS,
	SS_COUNT
};

typedef struct store_metric {
	tsdb_wal_head *store;
	enum store_stat which;
	int64_t retention_bytes, retention_ms;
	uint64_t open_corruptions;    /* WAL damage found by the replay at start-up */
} store_metric;

static store_metric g_store_metrics[SS_COUNT];

static double store_stat_value(void *ud)
{
	const store_metric *m = ud;
	tsdb_wal_head_stats hs;
	tsdb_wal_stats ws;
	tsdb_wal_head_get_stats(m->store, &hs);
	tsdb_wal_get_stats(tsdb_wal_head_wal(m->store), &ws);
	switch (m->which) {
	case SS_WAL_FLUSHES: return (double)ws.commits;
	case SS_WAL_WRITES_FAILED: return (double)ws.write_failures;
	case SS_WAL_TRUNCATIONS: return (double)ws.checkpoints;
	case SS_WAL_TRUNCATIONS_FAILED: return (double)ws.checkpoint_failures;
	case SS_WAL_CORRUPTIONS: return (double)(m->open_corruptions + ws.corruptions);
	case SS_WAL_SEGMENT: return (double)ws.segment_current;
	case SS_WAL_BYTES: return (double)(ws.segments_bytes + ws.checkpoint_bytes);
	case SS_CKPT_CREATIONS: return (double)ws.checkpoints;
	case SS_CKPT_FAILED: return (double)hs.checkpoint_errors;
	case SS_CHUNK_BYTES:
	case SS_BLOCK_BYTES: return (double)hs.chunks.bytes;
	case SS_MMAP_CORRUPTIONS: return (double)hs.chunks.corruptions;
	case SS_SIZE_RETENTIONS: return (double)hs.size_retentions;
	case SS_TIME_RETENTIONS: return (double)hs.time_retentions;
	case SS_LIMIT_BYTES: return (double)m->retention_bytes;
	case SS_LIMIT_SECONDS: return (double)m->retention_ms / 1000.0;
	case SS_COUNT: break;
	}
	return 0;
}

/* Prometheus's names, so its dashboards work. Differences: the chunk
 * files are tinyprom's only persistent "blocks", so storage_blocks_bytes
 * is their size; wal_fsync_duration_seconds is a histogram (Prometheus:
 * a summary; _sum and _count mean the same). */
static void register_store_metrics(tp_metrics_registry *r, tsdb_wal_head *store, int64_t retention_bytes,
				   int64_t retention_ms, uint64_t open_corruptions)
{
	static const struct {
		enum store_stat which;
		tp_metric_type type;
		const char *name, *help;
	} defs[] = {
		{ SS_WAL_FLUSHES, TP_METRIC_COUNTER, "prometheus_tsdb_wal_page_flushes_total", "Total number of page flushes." },
		{ SS_WAL_WRITES_FAILED, TP_METRIC_COUNTER, "prometheus_tsdb_wal_writes_failed_total", "Total number of write log writes that failed." },
		{ SS_WAL_TRUNCATIONS, TP_METRIC_COUNTER, "prometheus_tsdb_wal_truncations_total", "Total number of write log truncations attempted." },
		{ SS_WAL_TRUNCATIONS_FAILED, TP_METRIC_COUNTER, "prometheus_tsdb_wal_truncations_failed_total", "Total number of write log truncations that failed." },
		{ SS_WAL_CORRUPTIONS, TP_METRIC_COUNTER, "prometheus_tsdb_wal_corruptions_total", "Total number of WAL corruptions." },
		{ SS_WAL_SEGMENT, TP_METRIC_GAUGE, "prometheus_tsdb_wal_segment_current", "Write log segment index that TSDB is currently writing to." },
		{ SS_WAL_BYTES, TP_METRIC_GAUGE, "prometheus_tsdb_wal_storage_size_bytes", "Size of the write log directory." },
		{ SS_CKPT_CREATIONS, TP_METRIC_COUNTER, "prometheus_tsdb_checkpoint_creations_total", "Total number of checkpoint creations attempted." },
		{ SS_CKPT_FAILED, TP_METRIC_COUNTER, "prometheus_tsdb_checkpoint_creations_failed_total", "Total number of checkpoint creations that failed." },
		{ SS_CHUNK_BYTES, TP_METRIC_GAUGE, "prometheus_tsdb_head_chunks_storage_size_bytes", "Size of the chunks_head directory." },
		{ SS_BLOCK_BYTES, TP_METRIC_GAUGE, "prometheus_tsdb_storage_blocks_bytes", "The number of bytes that are currently used for local storage by all blocks." },
		{ SS_MMAP_CORRUPTIONS, TP_METRIC_COUNTER, "prometheus_tsdb_mmap_chunk_corruptions_total", "Total number of memory-mapped chunk corruptions." },
		{ SS_SIZE_RETENTIONS, TP_METRIC_COUNTER, "prometheus_tsdb_size_retentions_total", "The number of times that blocks were deleted because the maximum number of bytes was exceeded." },
		{ SS_TIME_RETENTIONS, TP_METRIC_COUNTER, "prometheus_tsdb_time_retentions_total", "The number of times that blocks were deleted because the maximum time limit was exceeded." },
		{ SS_LIMIT_BYTES, TP_METRIC_GAUGE, "prometheus_tsdb_retention_limit_bytes", "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled" },
		{ SS_LIMIT_SECONDS, TP_METRIC_GAUGE, "prometheus_tsdb_retention_limit_seconds", "How long to retain samples in storage." },
	};
	_Static_assert(TP_ARRAY_LEN(defs) == SS_COUNT, "one definition per store_stat");
	for (size_t i = 0; i < TP_ARRAY_LEN(defs); i++) {
		g_store_metrics[i] = (store_metric){ store, defs[i].which, retention_bytes, retention_ms, open_corruptions };
		tp_metrics_func_new(r, defs[i].type, defs[i].name, defs[i].help, store_stat_value, &g_store_metrics[i]);
	}
}

static const double fsync_buckets[] = { 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5 };

static void observe_fsync(void *ud, double seconds)
{
	tp_metrics_histogram_observe(ud, seconds);
}

/* Size of a chunk file: retention by size removes whole files, so they
 * are small against the limit (a sixteenth, 128 MiB at most). */
static uint64_t chunk_file_bytes(int64_t retention_bytes)
{
	if (retention_bytes <= 0)
		return 0;
	return TP_MIN(TP_MAX((uint64_t)retention_bytes / 16, TSDB_CHUNKFILE_BYTES_MIN), TSDB_CHUNKFILE_BYTES_DEFAULT);
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
 * the WAL down to what is live and not yet in synced chunk files. */
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

/* --storage.tsdb.retention.size: the oldest chunk files go first. */
static void size_retention(tsdb_wal_head *store, int64_t retention_bytes)
{
	if (retention_bytes <= 0)
		return;
	char err[256], files[32], size[32], limit[32];
	uint64_t before = tsdb_wal_head_disk_bytes(store);
	long n = tsdb_wal_head_enforce_size(store, (uint64_t)retention_bytes, err, sizeof err);
	if (n < 0) {
		tp_log_error("WAL checkpoint after size retention failed", "err", err);
		return;
	}
	if (n == 0)
		return;
	snprintf(files, sizeof files, "%ld", n);
	snprintf(size, sizeof size, "%llu", (unsigned long long)before);
	snprintf(limit, sizeof limit, "%lld", (long long)retention_bytes);
	tp_log_info("Deleting chunk files: size retention", "files", files, "bytes", size, "limit", limit);
}

/* /-/quit: runs on a request thread; only wakes the main loop. */
static void request_quit(void *ud)
{
	(void)ud;
	kill(getpid(), SIGUSR1);
}

/* Waits for a stop request, doing periodic work meanwhile. Returns the
 * name of what stopped us, for the log. */
static const char *run_loop(const sigset_t *set, tsdb_wal_head *store, const api_options *o, tp_app *app)
{
	/* a short --storage.tsdb.min-block-duration (tests) also shortens
	 * the retention interval */
	int64_t block_ms = o->min_block_ms > 0 ? o->min_block_ms : RETENTION_INTERVAL_MS;
	int64_t tick_ms = TP_MIN(RETENTION_INTERVAL_MS, block_ms);
	int64_t next_retention = tp_mono_ns() / 1000000 + tick_ms;
	int64_t next_checkpoint = tp_mono_ns() / 1000000 + block_ms;
	for (;;) {
		struct timespec to = { tick_ms >= 1000 ? 1 : 0, tick_ms >= 1000 ? 0 : tick_ms * 1000000 };
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
			bool cp = now >= next_checkpoint || tsdb_wal_head_checkpoint_due(store, CHECKPOINT_MIN_BYTES);
			retention_tick(store, o->retention_ms, cp);
			size_retention(store, o->retention_bytes);
			next_retention = now + tick_ms;
			if (cp)
				next_checkpoint = now + block_ms;
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
	wopts.fsync_observe = observe_fsync;
	wopts.fsync_observe_ud = tp_metrics_histogram_new(reg, "prometheus_tsdb_wal_fsync_duration_seconds",
							  "Duration of write log fsync.", fsync_buckets,
							  TP_ARRAY_LEN(fsync_buckets));
	tsdb_chunkfiles_opts copts = { .file_bytes = chunk_file_bytes(o.retention_bytes) };
	tsdb_wal_head_stats wst;
	int64_t replay_start = tp_mono_ns();
	tsdb_wal_head *store = tsdb_wal_head_open_ex(o.tsdb_path, &topts, &wopts, &copts, &wst, err, sizeof err);
	if (!store) {
		tp_log_error("Opening storage failed", "path", o.tsdb_path, "err", err);
		goto out;
	}
	tsdb_head *head = tsdb_wal_head_head(store);
	{
		char series[32], samples[32], chunks[32], wal_samples[32], dur[32], scan[32], replay[32], attach[32],
			postings[32], main_cpu[32], helper_cpu[32];
		snprintf(series, sizeof series, "%llu", (unsigned long long)wst.series_restored);
		snprintf(samples, sizeof samples, "%llu",
			 (unsigned long long)(wst.samples_restored + wst.chunk_samples_restored));
		snprintf(chunks, sizeof chunks, "%llu", (unsigned long long)wst.chunks_restored);
		snprintf(wal_samples, sizeof wal_samples, "%llu", (unsigned long long)wst.samples_restored);
		snprintf(dur, sizeof dur, "%.3fs", (double)(tp_mono_ns() - replay_start) / 1e9);
		snprintf(scan, sizeof scan, "%.3fs", wst.open_scan_s);
		snprintf(replay, sizeof replay, "%.3fs", wst.open_replay_s);
		snprintf(attach, sizeof attach, "%.3fs", wst.open_attach_s);
		snprintf(postings, sizeof postings, "%.3fs", wst.open_postings_s);
		snprintf(main_cpu, sizeof main_cpu, "%.3fs", wst.open_main_cpu_s);
		snprintf(helper_cpu, sizeof helper_cpu, "%.3fs", wst.open_helper_cpu_s);
		tp_log_info("WAL replay completed", "series", series, "samples", samples, "chunks", chunks,
			    "wal_samples", wal_samples, "duration", dur, "chunk_scan", scan, "series_replay", replay,
			    "chunk_attach", attach, "postings", postings, "main_cpu", main_cpu, "helper_cpu", helper_cpu);
		if (wst.replay.corruption[0])
			tp_log_warn("WAL was repaired", "dropped", wst.replay.corruption);
		else if (wst.replay.torn_tail)
			tp_log_warn("WAL ended in a partial record (a crash mid-write); it was truncated");
		if (wst.chunks.problems[0])
			tp_log_warn("Chunk files were repaired", "dropped", wst.chunks.problems);
	}
	/* Retention applies from the start: the replay brought back whatever
	 * the WAL held, including samples a lowered retention no longer keeps,
	 * and they must not be served (or accepted again) until the first tick. */
	retention_tick(store, o.retention_ms, false);
	size_retention(store, o.retention_bytes);
	register_head_metrics(reg, head);
	register_store_metrics(reg, store, o.retention_bytes, o.retention_ms, wst.replay.corruptions);
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
	const char *why = run_loop(&set, store, &o, &app);
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
