/* SPDX-License-Identifier: Apache-2.0
 * options.c - the server's flag table (Prometheus names and defaults),
 * parsing into api_options, and build/version information.
 * Invariants: the table order is the --help order; defaults are texts in
 * the flag syntax, so `--help` prints exactly what parsing applies. */
#include "config.h"
#include "api/options.h"
#include "tsdb/wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/buildinfo.h"
#include "lib/common.h"

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_formats[] = { "logfmt", "json", NULL };

/* Feature names accepted by --enable-feature (Prometheus's spellings). */
static const char *const known_features[] = {
	"promql-experimental-functions",
	"promql-duration-expr",
	"promql-extended-range-selectors",
	"promql-delayed-name-removal",
	"promql-binop-fill-modifiers",
	"promql-at-modifier",        /* default-on in Prometheus; accepted for old configs */
	"promql-negative-offset",    /* idem */
	"exemplar-storage",
	"memory-snapshot-on-shutdown",
	"extra-scrape-metrics",
	"auto-gomaxprocs",
	"auto-gomemlimit",
	"concurrent-rule-eval",
	"created-timestamp-zero-ingestion",
	"native-histograms",
	NULL,
};

static void add(api_options *o, const char *name, tp_flag_type type, const char *def, void *dst,
		const char *placeholder, const char *help)
{
	tp_flag *f = &o->flags[o->nflags++];
	memset(f, 0, sizeof *f);
	f->name = name;
	f->type = type;
	f->def = def;
	f->dst = dst;
	f->placeholder = placeholder;
	f->help = help;
}

static void build_table(api_options *o)
{
	o->nflags = 0;
	add(o, "config.file", TP_FLAG_STRING, "prometheus.yml", &o->config_file, NULL,
	    "Prometheus configuration file path (the embedded default is used when it does not exist).");
	add(o, "web.listen-address", TP_FLAG_STRING, "0.0.0.0:9090", &o->listen_address, NULL,
	    "Address to listen on for UI, API, and telemetry.");
	add(o, "web.enable-lifecycle", TP_FLAG_BOOL, NULL, &o->enable_lifecycle, NULL,
	    "Enable shutdown and reload via HTTP request.");
	add(o, "web.enable-remote-write-receiver", TP_FLAG_BOOL, NULL, &o->enable_remote_write, NULL,
	    "Enable API endpoint accepting remote write requests.");
	add(o, "web.max-connections", TP_FLAG_INT, "512", &o->max_connections, NULL,
	    "Maximum number of simultaneous connections.");
	o->flags[o->nflags - 1].min = 1;
	add(o, "web.max-request-body-size", TP_FLAG_BYTES, "10MB", &o->max_body_bytes, "<size>",
	    "Maximum size of an HTTP request body (tinyprom).");
	add(o, "web.remote-write-receiver.concurrent-limit", TP_FLAG_INT, "16", &o->write_concurrent_limit, NULL,
	    "Maximum number of remote write requests received at once; more are answered 503 with Retry-After (tinyprom).");
	o->flags[o->nflags - 1].min = 1;
	add(o, "storage.tsdb.path", TP_FLAG_STRING, "data/", &o->tsdb_path, NULL,
	    "Base path for metrics storage.");
	add(o, "storage.tsdb.retention.time", TP_FLAG_DURATION, "15d", &o->retention_ms, NULL,
	    "How long to retain samples in storage. Units: y, w, d, h, m, s, ms.");
	add(o, "storage.tsdb.retention.size", TP_FLAG_BYTES, "0", &o->retention_bytes, NULL,
	    "Maximum number of bytes that can be stored for blocks (0 = off). Units: B, KB, MB, GB, TB, PB, EB.");
	add(o, "storage.tsdb.wal-fsync", TP_FLAG_STRING, "1s", &o->wal_fsync, "<when>",
	    "When the write-ahead log is fsynced: 'always' (every commit), 'never', or a period (e.g. 1s) (tinyprom).");
	add(o, "storage.remote.read-max-bytes-in-frame", TP_FLAG_INT, "1048576", &o->read_frame_bytes, NULL,
	    "Maximum number of bytes in a single frame for streaming remote read response types before marshalling. Note that client might have limit on frame size as well. 1MB as recommended by protocol buffers by default.");
	o->flags[o->nflags - 1].min = 1;
	add(o, "storage.tsdb.min-block-duration", TP_FLAG_DURATION, "2h", &o->min_block_ms, NULL,
	    "Minimum duration of a data block before being persisted. For use in testing. (tinyprom: the longest interval between WAL checkpoints.)");
	add(o, "query.lookback-delta", TP_FLAG_DURATION, "5m", &o->lookback_ms, NULL,
	    "The maximum lookback duration for retrieving metrics during expression evaluations and federation.");
	add(o, "query.timeout", TP_FLAG_DURATION, "2m", &o->query_timeout_ms, NULL,
	    "Maximum time a query may take before being aborted.");
	add(o, "query.max-concurrency", TP_FLAG_INT, "20", &o->max_concurrency, NULL,
	    "Maximum number of queries executed concurrently.");
	o->flags[o->nflags - 1].min = 1;
	add(o, "query.max-samples", TP_FLAG_INT, "50000000", &o->max_samples, NULL,
	    "Maximum number of samples a single query can load into memory.");
	o->flags[o->nflags - 1].min = 1;
	add(o, "enable-feature", TP_FLAG_LIST, NULL, &o->features, "<name>",
	    "Comma separated feature names to enable (repeatable), e.g. promql-experimental-functions.");
	add(o, "log.level", TP_FLAG_ENUM, "info", &o->log_level_text, NULL,
	    "Only log messages with the given severity or above.");
	o->flags[o->nflags - 1].choices = log_levels;
	add(o, "log.format", TP_FLAG_ENUM, "logfmt", &o->log_format_text, NULL,
	    "Output format of log messages.");
	o->flags[o->nflags - 1].choices = log_formats;
}

api_options_rc api_options_parse(api_options *o, int argc, char **argv, char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	build_table(o);
	int rc = tp_flags_parse(o->flags, o->nflags, argc, argv, err, errlen);
	if (rc == TP_FLAGS_ERROR)
		return API_OPTIONS_ERROR;
	if (rc == TP_FLAGS_HELP)
		return API_OPTIONS_HELP;
	if (rc == TP_FLAGS_VERSION)
		return API_OPTIONS_VERSION;
	/* As Prometheus: with neither time nor size retention, keep 15 days. */
	o->retention_text = api_options_flag_text(o, "storage.tsdb.retention.time");
	if (o->retention_ms == 0 && o->retention_bytes == 0) {
		o->retention_ms = 15 * 86400000LL;
		o->retention_text = "15d";
	}
	{
		tsdb_wal_opts w;
		if (tsdb_wal_fsync_parse(o->wal_fsync, &w) != 0) {
			snprintf(err, errlen,
				 "invalid value \"%s\" for flag --storage.tsdb.wal-fsync: expected always, never or a duration",
				 o->wal_fsync);
			return API_OPTIONS_ERROR;
		}
	}
	/* enums were validated by the table */
	tp_log_level_parse(o->log_level_text, &o->log_level);
	tp_log_format_parse(o->log_format_text, &o->log_format);
	if (!o->listen_address[0] || !strrchr(o->listen_address, ':')) {
		snprintf(err, errlen,
			 "invalid value \"%s\" for flag --web.listen-address: expected host:port",
			 o->listen_address);
		return API_OPTIONS_ERROR;
	}
	const char *port = strrchr(o->listen_address, ':') + 1;
	char *end;
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 0 || p > 65535) {
		snprintf(err, errlen, "invalid value \"%s\" for flag --web.listen-address: bad port \"%s\"",
			 o->listen_address, port);
		return API_OPTIONS_ERROR;
	}
	return API_OPTIONS_RUN;
}

void api_options_free(api_options *o)
{
	tp_flags_free(o->flags, o->nflags);
	o->nflags = 0;
}

bool api_options_feature(const api_options *o, const char *name)
{
	for (size_t i = 0; i < o->features.n; i++)
		if (strcmp(o->features.v[i], name) == 0)
			return true;
	return false;
}

const char *api_options_flag_text(const api_options *o, const char *name)
{
	for (size_t i = 0; i < o->nflags; i++)
		if (strcmp(o->flags[i].name, name) == 0)
			return o->flags[i].text;
	return NULL;
}

bool api_options_feature_known(const char *name)
{
	for (const char *const *k = known_features; *k; k++)
		if (strcmp(*k, name) == 0)
			return true;
	return false;
}

void api_options_usage(const api_options *o, tp_strbuf *sb)
{
	tp_flags_usage(o->flags, o->nflags, "tinyprom", "The tinyprom monitoring server (Prometheus-compatible).",
		       sb);
	tp_sb_puts(sb, "\nCommands (as the first argument):\n"
		       "  tinyprom check config FILE...\n"
		       "  tinyprom check metrics < exposition\n"
		       "  tinyprom promqltest FILE...\n");
}

/* ---- build information ---- */

#if defined(__x86_64__)
#define TP_ARCH "amd64"
#elif defined(__aarch64__)
#define TP_ARCH "arm64"
#elif defined(__arm__)
#define TP_ARCH "arm"
#elif defined(__i386__)
#define TP_ARCH "386"
#elif defined(__riscv)
#define TP_ARCH "riscv64"
#else
#define TP_ARCH "unknown"
#endif

#if defined(__clang__)
#define TP_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define TP_COMPILER "gcc " __VERSION__
#else
#define TP_COMPILER "unknown"
#endif

static const api_build_info g_build = {
	.version = PACKAGE_VERSION,
	.revision = TP_REVISION,
	.branch = TP_BRANCH,
	.build_user = TP_BUILD_USER,
	.build_date = TP_BUILD_DATE,
	.compiler = TP_COMPILER,
	.platform = "linux/" TP_ARCH,
};

const api_build_info *api_build_info_get(void)
{
	return &g_build;
}

void api_version_text(tp_strbuf *sb)
{
	const api_build_info *b = &g_build;
	tp_sb_printf(sb, "tinyprom, version %s (branch: %s, revision: %s)\n", b->version, b->branch,
		     b->revision);
	tp_sb_printf(sb, "  build user:       %s\n", b->build_user);
	tp_sb_printf(sb, "  build date:       %s\n", b->build_date);
	tp_sb_printf(sb, "  compiler:         %s\n", b->compiler);
	tp_sb_printf(sb, "  platform:         %s\n", b->platform);
}
