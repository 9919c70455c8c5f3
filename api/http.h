/* SPDX-License-Identifier: Apache-2.0
 * http.h - internals shared by the HTTP plumbing (http.c) and the endpoint
 * handlers (v1.c, lifecycle.c): requests, responses and the route table.
 *
 * Invariants: a handler fills an api_response and never touches the
 * connection; the plumbing owns compression, CORS headers, metrics and
 * freeing. A handler runs on one of the daemon's pool threads and may block
 * (queries do), bounded by --query.max-concurrency. */
#ifndef API_HTTP_H
#define API_HTTP_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/params.h"
#include "api/server.h"
#include "lib/strbuf.h"

/* Methods as a bit set. */
enum {
	API_GET = 1 << 0,
	API_HEAD = 1 << 1,
	API_POST = 1 << 2,
	API_PUT = 1 << 3,
	API_DELETE = 1 << 4,
	API_OPTIONS = 1 << 5,
};

typedef struct api_request {
	unsigned method;         /* one API_* bit; 0 for methods we do not know */
	const char *method_str;
	const char *path;        /* %-decoded by MHD, without the query string */
	const char *path_arg;    /* the :name segment of a pattern route (MHD decoded the path), or NULL */
	api_params params;       /* body (form) then query-string parameters */
	const char *body;        /* the raw request body (remote write/read), or NULL */
	size_t body_len;
	void *conn;              /* struct MHD_Connection *, for header lookups */
	int64_t start_ns;        /* tp_mono_ns() when the request's headers arrived */
} api_request;

typedef struct api_response {
	int status;
	const char *content_type;  /* static string */
	tp_strbuf body;
	const char *allow;         /* Allow header for 405, static */
	const char *content_encoding;  /* static; set when the body is already encoded (no gzip then) */
	bool no_compress;          /* never gzip (remote read: Prometheus does not) */
	const char *retry_after;   /* Retry-After header (seconds), static, or NULL */
} api_response;

/* ORDER API_SLICE: the slices of prometheus_engine_query_duration_seconds */
enum { API_SLICE_INNER_EVAL, API_SLICE_PREPARE_TIME, API_SLICE_QUEUE_TIME, API_SLICE_RESULT_SORT };

typedef void api_handler_fn(api_server *s, api_request *req, api_response *resp);

typedef struct api_route {
	const char *pattern;     /* "/api/v1/query"; a segment ":x" matches one segment */
	unsigned methods;
	api_handler_fn *fn;
	bool api;                /* /api/v1: CORS headers, JSON envelope for 405 */
} api_route;

struct api_server {
	api_server_config cfg;
	void *daemon;                 /* struct MHD_Daemon * */
	uint16_t port;
	atomic_bool ready;
	sem_t query_slots;            /* --query.max-concurrency */
	atomic_int queries_running;
	atomic_int inflight;          /* requests between first callback and completion */
	tp_metric *m_queries;         /* prometheus_engine_queries */
	tp_metric_family *m_requests;  /* prometheus_http_requests_total{handler,code} */
	tp_metric_family *m_duration;  /* prometheus_http_request_duration_seconds{handler} */
	tp_metric_family *m_resp_size; /* prometheus_http_response_size_bytes{handler} */
	tp_metric_family *m_read_responses; /* tinyprom_remote_read_responses_total{type} */
	tp_metric *m_query_slice[4];  /* prometheus_engine_query_duration_seconds{slice}: ORDER API_SLICE */
	atomic_int writes_inflight;   /* remote write requests between headers and completion */
	struct remote_series_cache *rw_cache; /* remote write: series as sent -> head ref */
};

/* A request header value, or NULL. */
const char *api_request_header(const api_request *req, const char *name);

/* Writes a JSON error envelope with the matching status code. */
void api_respond_error(api_response *resp, int err_type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Plain-text body with a status. */
void api_respond_text(api_response *resp, int status, const char *text);
/* Makes room for n more body bytes at once; big bodies reuse the memory of
 * earlier responses. */
void api_response_reserve(api_response *resp, size_t n);

/* Routes of v1.c and lifecycle.c, terminated by a NULL pattern. */
extern const api_route api_v1_routes[];
/* Routes of v1_ext.c (rules, alerts, targets, remote write/read,
 * federation, reload), consulted after api_v1_routes. */
extern const api_route api_ext_routes[];

/* Query admission: waits for a slot (--query.max-concurrency) until
 * deadline_ns (a tp_mono_ns() time; 0: no deadline). Returns 0 with the
 * slot taken, or -1 when the deadline passed first (Prometheus: "query
 * timed out in query queue"). */
int api_query_begin(api_server *s, int64_t deadline_ns);
void api_query_end(api_server *s);

/* Shared by handlers and tests: gzip-compresses in[0..n) into a malloc'd
 * buffer; returns NULL on failure. */
char *api_gzip(const char *in, size_t n, size_t *out_n);

#endif
