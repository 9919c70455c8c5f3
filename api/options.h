/* SPDX-License-Identifier: Apache-2.0
 * options.h - the server's command-line options (Prometheus's flag names
 * and defaults) and their parsing.
 *
 * Invariants: after api_options_parse returns API_OPTIONS_RUN, every field
 * holds a validated value, and the flag table keeps each flag's value as
 * text, which /api/v1/status/flags serves (Prometheus's map of name ->
 * string). api_options_free releases both. */
#ifndef API_OPTIONS_H
#define API_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/flags.h"
#include "lib/log.h"

#define API_OPTIONS_NFLAGS 24

typedef struct api_options {
	char *config_file;             /* --config.file */
	char *listen_address;          /* --web.listen-address ("host:port", host may be empty or [v6]) */
	char *tsdb_path;               /* --storage.tsdb.path */
	int64_t retention_ms;          /* --storage.tsdb.retention.time */
	int64_t retention_bytes;       /* --storage.tsdb.retention.size; 0 = off */
	char *wal_fsync;               /* --storage.tsdb.wal-fsync: always, never or a period */
	int64_t min_block_ms;          /* --storage.tsdb.min-block-duration: checkpoint/retention cadence */
	const char *retention_text;    /* retention as runtimeinfo shows it ("15d", "15d or 1GB") */
	int64_t lookback_ms;           /* --query.lookback-delta */
	int64_t query_timeout_ms;      /* --query.timeout */
	int64_t max_samples;           /* --query.max-samples */
	int64_t max_concurrency;       /* --query.max-concurrency */
	bool enable_lifecycle;         /* --web.enable-lifecycle */
	bool enable_remote_write;      /* --web.enable-remote-write-receiver */
	char *log_level_text;          /* --log.level */
	char *log_format_text;         /* --log.format */
	tp_log_level log_level;        /* parsed log_level_text */
	tp_log_format log_format;      /* parsed log_format_text */
	tp_flag_list features;         /* --enable-feature, split at commas */
	int64_t max_body_bytes;        /* --web.max-request-body-size (tinyprom extension) */
	int64_t max_connections;       /* --web.max-connections */
	int64_t write_concurrent_limit; /* --web.remote-write-receiver.concurrent-limit (tinyprom) */
	int64_t read_frame_bytes;      /* --storage.remote.read-max-bytes-in-frame */
	tp_flag flags[API_OPTIONS_NFLAGS]; /* the table; text of each value */
	size_t nflags;
} api_options;

/* Results of api_options_parse. */
typedef enum api_options_rc {
	API_OPTIONS_RUN = 0,       /* start the server */
	API_OPTIONS_HELP,          /* print api_options_usage, exit 0 */
	API_OPTIONS_VERSION,       /* print api_version_text, exit 0 */
	API_OPTIONS_ERROR,         /* print "tinyprom: error: <err>" on stderr, exit 2 */
} api_options_rc;

/* Fills o (which need not be initialised) from argv. On API_OPTIONS_ERROR
 * err holds one line without newline. Always call api_options_free after. */
api_options_rc api_options_parse(api_options *o, int argc, char **argv, char *err, size_t errlen);
void api_options_free(api_options *o);
bool api_options_feature(const api_options *o, const char *name);
/* The current text of flag name (without "--"), or NULL when unknown. */
const char *api_options_flag_text(const api_options *o, const char *name);
/* Whether a --enable-feature value is one tinyprom knows. */
bool api_options_feature_known(const char *name);
void api_options_usage(const api_options *o, tp_strbuf *sb);

/* Build information, as Prometheus's version package reports it. */
typedef struct api_build_info {
	const char *version;     /* "0.1.0" */
	const char *revision;    /* git short hash at configure time */
	const char *branch;
	const char *build_user;  /* user@host */
	const char *build_date;  /* 20261123-12:00:00 */
	const char *compiler;    /* "gcc 12.2.0"; stands in for goVersion */
	const char *platform;    /* "linux/amd64" */
} api_build_info;
const api_build_info *api_build_info_get(void);
/* `tinyprom --version` text (several lines, trailing newline). */
void api_version_text(tp_strbuf *sb);

#endif
