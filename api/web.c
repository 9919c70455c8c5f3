/* SPDX-License-Identifier: Apache-2.0
 * web.c - /metrics (self-metrics, text format 0.0.4) and the lifecycle
 * endpoints. Texts follow Prometheus's web.go so scripts grepping for
 * them keep working. Invariant: /-/quit only asks the main thread to stop
 * (cfg.on_quit); it never tears the server down from a request thread. */
#include "config.h"
#include "api/web.h"

#include "lib/metrics.h"

void api_web_metrics(api_server *s, api_request *req, api_response *resp)
{
	tp_metrics_render(s->cfg.metrics, &resp->body);
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void api_web_healthy(api_server *s, api_request *req, api_response *resp)
{
	api_respond_text(resp, 200, "tinyprom Server is Healthy.\n");
}

void api_web_ready(api_server *s, api_request *req, api_response *resp)
{
	if (atomic_load(&s->ready))
		api_respond_text(resp, 200, "tinyprom Server is Ready.\n");
	else
		api_respond_text(resp, 503, "Service Unavailable");
}

void api_web_quit(api_server *s, api_request *req, api_response *resp)
{
	if (!s->cfg.opts->enable_lifecycle) {
		api_respond_text(resp, 403, "Lifecycle API is not enabled.");
		return;
	}
	api_respond_text(resp, 200, "Requesting termination... Goodbye!");
	if (s->cfg.on_quit)
		s->cfg.on_quit(s->cfg.quit_ud);
}

void api_web_root(api_server *s, api_request *req, api_response *resp)
{
	api_respond_text(resp, 200,
			 "tinyprom - a Prometheus-compatible time-series engine.\n"
			 "API: /api/v1/query, /api/v1/query_range, /api/v1/series, /api/v1/labels, /metrics\n");
}
