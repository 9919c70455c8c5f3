/* SPDX-License-Identifier: Apache-2.0
 * manager.h - the scrape manager: one thread drives every target with
 * libcurl's multi interface, parses each response with the zero-copy
 * exposition parser and appends it to the head in one appender commit.
 *
 * Per target: a stable offset inside its interval spreads scrapes out; a
 * cache from the raw series bytes (`name{labels}` as exposed) to the
 * series ref means a steady-state scrape does no label parsing, relabeling
 * or hashing for series it has seen; series that vanish, and all series of
 * a failed scrape or a removed target, get stale markers; the synthetic
 * series up, scrape_duration_seconds, scrape_samples_scraped,
 * scrape_samples_post_metric_relabeling and scrape_series_added are
 * written with the target's labels at the scrape's start time. */
#ifndef SCRAPE_MANAGER_H
#define SCRAPE_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/labels.h"
#include "lib/strbuf.h"
#include "scrape/metadata.h"
#include "scrape/relabel.h"
#include "tsdb/tsdb.h"

/* One target, after service discovery and target relabeling. */
typedef struct scrape_target_spec {
	const char *pool;              /* job name (scrape pool) */
	tp_labels labels;              /* final target labels: job, instance, ... */
	tp_labels discovered;          /* labels before relabeling (for the API) */
	const char *url;               /* scheme://address/path?params */
	int64_t interval_ms, timeout_ms;
	bool honor_labels;
	bool honor_timestamps;         /* default true */
	bool track_timestamps_staleness;
	uint64_t sample_limit;         /* 0: none */
	uint64_t label_limit, label_name_length_limit, label_value_length_limit;
	uint64_t body_size_limit;      /* bytes; 0: none */
	const relabel_config *metric_relabel;  /* finished configs; the target copies them */
	size_t n_metric_relabel;
	const char *basic_user, *basic_password, *bearer_token;
	const char *ca_file, *cert_file, *key_file, *server_name;
	bool insecure_skip_verify;
} scrape_target_spec;

typedef struct scrape_manager scrape_manager;

scrape_manager *scrape_manager_new(tsdb_head *head);
/* Stops scraping; every target's series get stale markers. */
void scrape_manager_free(scrape_manager *m);
/* Replaces the target set. Targets equal to a running one (same pool,
 * labels, URL and settings) keep running undisturbed; new ones start;
 * gone ones stop and their series get stale markers. The specs are copied
 * (metric relabel rules deeply), so the caller's may go away. */
void scrape_manager_sync(scrape_manager *m, const scrape_target_spec *t, size_t n);
void scrape_manager_start(scrape_manager *m);

/* A snapshot of one target's state (for /api/v1/targets). */
typedef struct scrape_target_status {
	char *pool, *url;
	tp_labels labels, discovered;  /* copies in the snapshot's arena */
	const char *health;            /* "up", "down", "unknown" */
	char *last_error;              /* "" when none */
	int64_t last_scrape_ms;        /* 0: never */
	double last_duration_s;
	int64_t interval_ms, timeout_ms;
} scrape_target_status;
/* Returns the number of targets; *out lives in arena a. */
size_t scrape_manager_status(scrape_manager *m, tp_arena *a, scrape_target_status **out);
/* Metric metadata seen across all targets (for /api/v1/metadata): calls fn
 * for each target's store while holding its lock. */
void scrape_manager_each_metadata(scrape_manager *m, void (*fn)(void *ud, const scrape_metadata *md), void *ud);

/* Processes one scraped body for a target as the loop does (exposed for
 * tests and benchmarks): returns 0, or -1 with the error in err. */
typedef struct scrape_target scrape_target;
scrape_target *scrape_target_new(scrape_manager *m, const scrape_target_spec *spec);
void scrape_target_free(scrape_target *t);
int scrape_target_ingest(scrape_target *t, const char *body, size_t len, const char *content_type,
			 int64_t start_ms, double duration_s, char *err, size_t errlen);
/* A failed scrape: stale markers for everything seen, up = 0. */
void scrape_target_fail(scrape_target *t, int64_t start_ms, double duration_s, const char *err);

#endif
