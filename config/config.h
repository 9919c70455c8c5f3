/* SPDX-License-Identifier: Apache-2.0
 * config.h - prometheus.yml as plain C structs (libyaml document API).
 *
 * Loading follows Prometheus 2.42's config.LoadFile: yaml.v2 strict
 * decoding (unknown keys, repeated keys and type mismatches are collected as
 * "yaml: unmarshal errors:\n  line N: ..."), Prometheus's defaults and
 * validations with its wording, every error prefixed with
 * "parsing YAML file <path>: ". Relative file paths (rule_files, file_sd
 * files, TLS/credential files, query_log_file) are joined to the config
 * file's directory, as SetDirectory does.
 *
 * Invariants:
 *  - A config returned by config_load_* is fully validated and owns all of
 *    its memory; nothing points into the YAML document.
 *  - On failure the output config is left untouched, so a reload can keep
 *    the running config.
 *  - Strings are NULL or NUL-terminated heap copies; NULL reads as "".
 *  - Durations are int64 milliseconds (_ms), sizes bytes (_bytes); limits
 *    of 0 mean "no limit" as in Prometheus. */
#ifndef CONFIG_CONFIG_H
#define CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"
#include "scrape/relabel.h"

typedef struct config_kv {
	char *name;
	char *value;
} config_kv;

/* A map of string to string, kept in document order. */
typedef struct config_kvs {
	config_kv *v;
	size_t n;
} config_kvs;

/* url.Values: a name with several values (scrape `params`). */
typedef struct config_param {
	char *name;
	char **values;
	size_t n_values;
} config_param;

typedef struct config_params {
	config_param *v;
	size_t n;
} config_params;

typedef struct config_strs {
	char **v;
	size_t n;
} config_strs;

typedef struct config_relabels {
	relabel_config *v;
	size_t n;
} config_relabels;

typedef struct config_basic_auth {
	bool set;             /* the key was present */
	char *username;
	char *password;       /* secret */
	char *password_file;  /* joined to the config directory */
} config_basic_auth;

typedef struct config_authorization {
	bool set;
	char *type;              /* default "Bearer" */
	char *credentials;       /* secret */
	char *credentials_file;
} config_authorization;

typedef struct config_tls {
	bool set;
	char *ca_file;
	char *cert_file;
	char *key_file;
	char *server_name;
	bool insecure_skip_verify;
	char *min_version;  /* "", TLS10, TLS11, TLS12, TLS13 */
} config_tls;

/* common/config.HTTPClientConfig. bearer_token(_file) are folded into
 * authorization (type Bearer) after validation, as Prometheus does. */
typedef struct config_http_client {
	config_basic_auth basic_auth;
	config_authorization authorization;
	bool oauth2_set;        /* accepted, not implemented by the scraper yet */
	char *bearer_token;
	char *bearer_token_file;
	config_tls tls;
	char *proxy_url;
	char *no_proxy;
	bool proxy_from_environment;
	bool follow_redirects;  /* default true */
	bool enable_http2;      /* default true */
} config_http_client;

typedef struct config_static {
	config_strs targets;   /* "host:port" */
	config_kvs labels;
} config_static;

typedef struct config_file_sd {
	config_strs files;     /* globs, joined to the config directory */
	int64_t refresh_interval_ms;  /* default 5m */
} config_file_sd;

typedef struct config_http_sd {
	char *url;
	int64_t refresh_interval_ms;  /* default 60s */
	config_http_client http;
} config_http_sd;

typedef struct config_scrape {
	char *job_name;
	bool honor_labels;
	bool honor_timestamps;        /* default true */
	config_params params;
	int64_t scrape_interval_ms;   /* default: global */
	int64_t scrape_timeout_ms;    /* default: min(global timeout, interval) */
	char *metrics_path;           /* default "/metrics" */
	char *scheme;                 /* default "http" */
	int64_t body_size_limit_bytes;
	uint64_t sample_limit;
	uint64_t target_limit;
	uint64_t label_limit;
	uint64_t label_name_length_limit;
	uint64_t label_value_length_limit;
	config_http_client http;
	struct { config_static **v; size_t n; } static_configs;
	struct { config_file_sd **v; size_t n; } file_sd_configs;
	struct { config_http_sd **v; size_t n; } http_sd_configs;
	config_relabels relabel_configs;
	config_relabels metric_relabel_configs;
} config_scrape;

typedef struct config_alertmanager {
	char *scheme;        /* default "http" */
	char *path_prefix;
	int64_t timeout_ms;  /* default 10s */
	char *api_version;   /* "v1" or "v2" (default) */
	config_http_client http;
	struct { config_static **v; size_t n; } static_configs;
	struct { config_file_sd **v; size_t n; } file_sd_configs;
	struct { config_http_sd **v; size_t n; } http_sd_configs;
	config_relabels relabel_configs;
} config_alertmanager;

typedef struct config_alerting {
	config_relabels alert_relabel_configs;
	struct { config_alertmanager **v; size_t n; } alertmanagers;
} config_alerting;

typedef struct config_queue {
	int64_t capacity;              /* 2500 */
	int64_t max_shards;            /* 200 */
	int64_t min_shards;            /* 1 */
	int64_t max_samples_per_send;  /* 500 */
	int64_t batch_send_deadline_ms; /* 5s */
	int64_t min_backoff_ms;        /* 30ms */
	int64_t max_backoff_ms;        /* 5s */
	bool retry_on_http_429;
} config_queue;

typedef struct config_metadata {
	bool send;                     /* true */
	int64_t send_interval_ms;      /* 1m */
	int64_t max_samples_per_send;  /* 500 */
} config_metadata;

typedef struct config_remote_write {
	char *url;
	char *name;
	int64_t remote_timeout_ms;  /* 30s */
	config_kvs headers;
	config_relabels write_relabel_configs;
	bool send_exemplars;
	bool send_native_histograms;
	config_http_client http;
	config_queue queue_config;
	config_metadata metadata_config;
	bool sigv4_set;   /* accepted, not implemented by the sender yet */
} config_remote_write;

typedef struct config_remote_read {
	char *url;
	char *name;
	int64_t remote_timeout_ms;  /* 1m */
	config_kvs headers;
	config_kvs required_matchers;
	bool read_recent;
	bool filter_external_labels;  /* true */
	config_http_client http;
} config_remote_read;

typedef struct config_global {
	int64_t scrape_interval_ms;      /* 1m */
	int64_t scrape_timeout_ms;       /* 10s, capped at the interval */
	int64_t evaluation_interval_ms;  /* 1m */
	char *query_log_file;            /* accepted; joined to the directory */
	config_kvs external_labels;
} config_global;

typedef struct config {
	config_global global;
	config_alerting alerting;
	config_strs rule_files;  /* globs joined to the config directory */
	struct { config_scrape **v; size_t n; } scrape_configs;
	struct { config_remote_write **v; size_t n; } remote_write;
	struct { config_remote_read **v; size_t n; } remote_read;
	bool storage_set;  /* `storage:` accepted and ignored (flags configure the TSDB) */
	bool tracing_set;  /* `tracing:` accepted and ignored */
	char *dir;   /* directory of the loaded file ("." for a bare name) */
	char *path;  /* the file as given; NULL for the embedded default */
} config;

/* Loads and validates path into a fresh config. Returns 0 and fills *out
 * (free with config_free), or -1 with the message appended to err, e.g.
 * `parsing YAML file prometheus.yml: found multiple scrape configs with job
 * name "x"` or `open x.yml: no such file or directory`. *out is untouched
 * on failure. */
int config_load_file(const char *path, config *out, tp_strbuf *err);
/* Same for YAML text in memory; name is used in messages (the file name),
 * dir for relative paths (NULL = "."). */
int config_load_string(const char *yaml, size_t len, const char *name, const char *dir,
		       config *out, tp_strbuf *err);
/* Releases everything cfg owns and zeroes it. NULL-safe, idempotent. */
void config_free(config *cfg);

/* The embedded default configuration, used without --config.file: scrape
 * tinyprom itself (job "tinyprom") every 15s at listen_addr (host:port;
 * NULL = "localhost:9090"). Returns a malloc'd YAML text. */
char *config_default_yaml(const char *listen_addr);
/* The content of a secret file (password_file, credentials_file) as the
 * HTTP clients send it: at most 4 KiB, trailing newlines, CRs and spaces
 * trimmed. Read at use, so a rotated secret is picked up. malloc'd; NULL
 * when the file cannot be read. */
char *config_read_secret_file(const char *path);
/* config_default_yaml + config_load_string. */
int config_load_default(const char *listen_addr, config *out, tp_strbuf *err);

/* Deep equality of two scrape configs (every field, including relabel
 * rules and discovery), so a reload can keep unchanged scrape pools. */
bool config_scrape_equal(const config_scrape *a, const config_scrape *b);

/* Expands the rule_files globs (sorted within each glob, in config order).
 * A pattern without '*' that matches nothing is an error:
 * `"x.yml" does not point to an existing file` (promtool's wording).
 * Returns 0 and a list the caller frees with config_strs_free, or -1. */
int config_rule_files_resolve(const config *cfg, config_strs *out, tp_strbuf *err);
void config_strs_free(config_strs *s);

/* The target groups of a file_sd file, as discovery/file reads them:
 * a YAML (.yml/.yaml, strict, yaml.v2 messages) or JSON (.json) list of
 * {targets: [...], labels: {...}}. Returns 0 and the groups (free with
 * config_target_groups_free), or -1 with the error appended to err, e.g.
 * `nil target group item found (index 1)` or `json: unknown field "foo"`. */
typedef struct config_target_groups {
	config_static **v;
	size_t n;
} config_target_groups;
int config_target_groups_load(const char *path, config_target_groups *out, tp_strbuf *err);
/* The same for a document in memory (text NUL-terminated; JSON or YAML),
 * as an http_sd endpoint answers it. */
int config_target_groups_parse(const char *text, size_t len, bool json, config_target_groups *out, tp_strbuf *err);
void config_target_groups_free(config_target_groups *g);

/* Go's filepath.Join(dir, p) (with Clean) unless p is empty or absolute.
 * Returns a malloc'd string. */
char *config_join_dir(const char *dir, const char *p);
/* Go's path.Clean. Returns a malloc'd string. */
char *config_path_clean(const char *p);

#endif
