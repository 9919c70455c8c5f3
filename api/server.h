/* SPDX-License-Identifier: Apache-2.0
 * server.h - the HTTP server as cmd/ sees it: start it over a head and an
 * engine, mark it ready, stop it.
 *
 * Invariants: the server borrows everything in api_server_config (none of
 * it may be freed before api_server_stop returns); api_server_stop waits
 * for in-flight requests and is the only way the listening socket closes.
 * on_quit is called from a request thread (for POST /-/quit) and must only
 * signal the main thread, never stop the server itself. */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/options.h"
#include "lib/labels.h"
#include "lib/metrics.h"
#include "lib/strbuf.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"

typedef struct api_server api_server;
typedef void api_quit_fn(void *ud);
struct rules_manager;
struct scrape_manager;
struct rules_notifier;
struct tp_arena;

/* What cmd/ runs besides the head and the engine, for the endpoints of
 * v1_ext.c. Every member may be NULL (the endpoint then answers empty). */
typedef struct api_app {
	struct rules_manager *rules;       /* /api/v1/rules, /api/v1/alerts */
	struct scrape_manager *scrape;     /* /api/v1/targets, /api/v1/metadata */
	struct rules_notifier *notifier;   /* /api/v1/alertmanagers */
	/* POST /-/reload: 0, or -1 with the reason in err */
	int (*reload)(void *ud, char *err, size_t errlen);
	/* the loaded configuration as YAML (/api/v1/status/config) */
	void (*config_yaml)(void *ud, tp_strbuf *out);
	/* the current external labels, copied into a (/federate) */
	void (*external_labels)(void *ud, struct tp_arena *a, tp_labels *out);
	void *ud;
} api_app;

typedef struct api_server_config {
	const api_options *opts;        /* flags: listen address, limits, lifecycle, ... */
	tsdb_head *head;                /* label/series endpoints */
	promql_engine *engine;          /* query endpoints */
	tp_metrics_registry *metrics;   /* rendered on /metrics; request metrics registered here */
	api_quit_fn *on_quit;           /* POST /-/quit with --web.enable-lifecycle */
	void *quit_ud;
	int64_t start_time_ms;          /* for runtimeinfo */
	unsigned threads;               /* request threads; 0: a default from the CPU count */
	api_app app;                    /* rules, targets, reload, remote write/read, federation */
} api_server_config;

/* Binds and starts serving. Returns NULL with a one-line reason in err
 * (e.g. "listen tcp 0.0.0.0:9090: bind: Address already in use"). */
api_server *api_server_start(const api_server_config *cfg, char *err, size_t errlen);
/* /-/ready answers 200 only after this is called with true. */
void api_server_set_ready(api_server *s, bool ready);
/* The bound port (useful with port 0). */
uint16_t api_server_port(const api_server *s);
void api_server_stop(api_server *s);  /* NULL is a no-op */

#endif
