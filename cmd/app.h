/* SPDX-License-Identifier: Apache-2.0
 * app.h - what the server runs around the head and the engine: the loaded
 * configuration, service discovery and scraping, rule evaluation and the
 * Alertmanager notifier, and reloading all of it (SIGHUP, /-/reload). */
#ifndef CMD_APP_H
#define CMD_APP_H

#include <pthread.h>
#include <stdbool.h>

#include "api/options.h"
#include "api/server.h"
#include "config/config.h"
#include "lib/metrics.h"
#include "promql/engine.h"
#include "remote/sender.h"
#include "rules/manager.h"
#include "rules/notifier.h"
#include "scrape/discovery.h"
#include "scrape/manager.h"
#include "tsdb/wal_head.h"

typedef struct tp_app {
	pthread_mutex_t mu;          /* guards cfg and ext against reloads */
	const api_options *o;
	tsdb_head *head;
	promql_engine *engine;
	config cfg;                  /* the running configuration */
	tp_arena ext_arena;          /* external labels of the running configuration */
	tp_labels ext;
	char *external_url;
	scrape_manager *scrape;
	sd_manager *sd;
	rules_manager *rules;
	rules_notifier *notifier;
	tsdb_wal_head *store;        /* NULL: no commit observer (no remote write) */
	remote_storage *remote;      /* remote_write queues */
	tp_metric *m_reload_ok, *m_reload_ts;
} tp_app;

/* Loads the configuration (the file, or the embedded default when
 * --config.file was not given and ./prometheus.yml does not exist) and
 * starts everything. Returns 0, or -1 with the reason in err. */
int tp_app_start(tp_app *a, const api_options *o, tsdb_head *head, tsdb_wal_head *store,
		 promql_engine *engine, tp_metrics_registry *reg, char *err, size_t errlen);
/* Reloads the configuration file; on any error the running one stays.
 * Matches api_app.reload. */
int tp_app_reload(void *app, char *err, size_t errlen);
/* The hooks the HTTP API uses. */
api_app tp_app_api(tp_app *a);
/* Stops discovery, scraping (stale markers), rules and the notifier, then
 * flushes and stops the remote write queues. */
void tp_app_stop(tp_app *a);

#endif
