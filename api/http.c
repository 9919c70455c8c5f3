/* SPDX-License-Identifier: Apache-2.0
 * http.c - the libmicrohttpd server: listening, request bodies, routing,
 * parameter merging, 404/405/413, CORS, gzip, request metrics.
 *
 * Invariants:
 *  - one conn_state per request, created on MHD's first callback and freed
 *    in the completion callback whatever happened in between;
 *  - request bodies are capped at --web.max-request-body-size: a declared
 *    Content-Length over the cap is answered 413 before any body byte is
 *    read; an undeclared (chunked) body over the cap is discarded while
 *    reading and answered 413 at the end;
 *  - every response body is a malloc'd buffer handed to MHD with a free
 *    callback that keeps big ones (>= BODY_CACHE_MIN, BODY_CACHE_SLOTS of
 *    them) for api_response_reserve, or a static string with
 *    MHD_RESPMEM_PERSISTENT;
 *  - handlers never see MHD types except through api_request_header. */
#include "config.h"
#include "api/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "api/json.h"
#include "lib/common.h"
#include "lib/log.h"
#include "remote/codec.h"

#define STOP_GRACE_MS 5000

/* ---- per-request state ---- */

typedef struct conn_state {
	tp_strbuf body;        /* request body so far */
	bool too_large;        /* the body passed the cap */
	bool write_slot;       /* holds one of --web.remote-write-receiver.concurrent-limit */
	int64_t start_ns;      /* monotonic, for the duration histogram */
} conn_state;

/* ---- helpers used by handlers ---- */

const char *api_request_header(const api_request *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_HEADER_KIND, name);
}

void api_respond_error(api_response *resp, int err_type, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tp_sb_reset(&resp->body);
	api_json_error(&resp->body, (api_err)err_type, msg);
	resp->status = api_json_error_status((api_err)err_type);
	resp->content_type = "application/json";
}

void api_respond_text(api_response *resp, int status, const char *text)
{
	tp_sb_reset(&resp->body);
	tp_sb_puts(&resp->body, text);
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
}

/* ---- big response bodies ----
 * A matrix of 345,000 points is 12 MB of JSON. Writing it into fresh
 * memory costs a page fault per 4 KiB and, grown by doubling, a copy per
 * doubling; so bodies are sized once (api_response_reserve) and the big
 * ones come back here when MHD is done sending them. */

#define BODY_CACHE_MIN ((size_t)1 << 20)
#define BODY_CACHE_SLOTS 4
#define BODY_CACHE_MAX_BYTES ((size_t)16 << 20)  /* likewise: at most 16 MiB kept */

static struct {
	pthread_mutex_t mu;
	char *buf[BODY_CACHE_SLOTS];   /* NULL: free slot */
	size_t cap[BODY_CACHE_SLOTS];  /* malloc_usable_size of buf */
	size_t bytes;                  /* sum of cap */
} body_cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* MHD's free callback for every body (and ours for discarded ones). */
static void body_release(void *buf)
{
	if (!buf)
		return;
	size_t cap = malloc_usable_size(buf);
	if (cap >= BODY_CACHE_MIN) {
		pthread_mutex_lock(&body_cache.mu);
		for (int i = 0; i < BODY_CACHE_SLOTS; i++) {
			if (!body_cache.buf[i] && body_cache.bytes + cap <= BODY_CACHE_MAX_BYTES) {
				body_cache.buf[i] = buf;
				body_cache.cap[i] = cap;
				body_cache.bytes += cap;
				buf = NULL;
				break;
			}
		}
		pthread_mutex_unlock(&body_cache.mu);
	}
	free(buf);
}

void api_response_reserve(api_response *resp, size_t n)
{
	tp_strbuf *sb = &resp->body;
	size_t need = sb->len + n + 1;
	if (need <= sb->cap)
		return;
	char *got = NULL;
	size_t cap = 0;
	if (need >= BODY_CACHE_MIN / 2) {
		/* the smallest cached body that fits */
		pthread_mutex_lock(&body_cache.mu);
		int best = -1;
		for (int i = 0; i < BODY_CACHE_SLOTS; i++)
			if (body_cache.buf[i] && body_cache.cap[i] >= need &&
			    (best < 0 || body_cache.cap[i] < body_cache.cap[best]))
				best = i;
		if (best >= 0) {
			got = body_cache.buf[best];
			cap = body_cache.cap[best];
			body_cache.buf[best] = NULL;
			body_cache.bytes -= cap;
		}
		pthread_mutex_unlock(&body_cache.mu);
	}
	if (!got) {
		got = tp_xmalloc(need);
		cap = need;
	}
	if (sb->len)
		memcpy(got, sb->buf, sb->len);
	got[sb->len] = '\0';
	body_release(sb->buf);
	sb->buf = got;
	sb->cap = cap;
}

int api_query_begin(api_server *s, int64_t deadline_ns)
{
	if (!deadline_ns) {
		while (sem_wait(&s->query_slots) != 0 && errno == EINTR)
			;
	} else if (sem_trywait(&s->query_slots) != 0) {
		/* sem_timedwait takes a CLOCK_REALTIME time */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t left = deadline_ns - tp_mono_ns();
		if (left <= 0)
			return -1;
		int64_t ns = ts.tv_nsec + left % 1000000000;
		ts.tv_sec += (time_t)(left / 1000000000 + ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		int rc;
		while ((rc = sem_timedwait(&s->query_slots, &ts)) != 0 && errno == EINTR)
			;
		if (rc != 0)
			return -1;
	}
	int n = atomic_fetch_add(&s->queries_running, 1) + 1;
	tp_metrics_gauge_set(s->m_queries, n);
	return 0;
}

void api_query_end(api_server *s)
{
	int n = atomic_fetch_sub(&s->queries_running, 1) - 1;
	tp_metrics_gauge_set(s->m_queries, n);
	sem_post(&s->query_slots);
}

char *api_gzip(const char *in, size_t n, size_t *out_n)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	/* windowBits 15 + 16: a gzip header and trailer instead of zlib's */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&zs, (uLong)n) + 32;
	char *out = malloc(cap);
	if (!out) {
		deflateEnd(&zs);
		return NULL;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	int rc = deflate(&zs, Z_FINISH);
	*out_n = zs.total_out;
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- routing ---- */

static unsigned method_bit(const char *m)
{
	static const struct { const char *name; unsigned bit; } t[] = {
		{ "GET", API_GET }, { "HEAD", API_HEAD }, { "POST", API_POST },
		{ "PUT", API_PUT }, { "DELETE", API_DELETE }, { "OPTIONS", API_OPTIONS },
	};
	for (size_t i = 0; i < TP_ARRAY_LEN(t); i++)
		if (strcmp(m, t[i].name) == 0)
			return t[i].bit;
	return 0;
}

/* Matches path against pattern; a ":x" segment matches one non-empty
 * segment, whose bounds go to *arg, *arg_n. */
static bool route_match(const char *pattern, const char *path, const char **arg, size_t *arg_n)
{
	const char *p = pattern, *s = path;
	while (*p && *s) {
		if (*p == ':') {
			const char *seg_end = strchr(s, '/');
			size_t n = seg_end ? (size_t)(seg_end - s) : strlen(s);
			if (n == 0)
				return false;
			*arg = s;
			*arg_n = n;
			s += n;
			while (*p && *p != '/')
				p++;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

static const char *allow_header(unsigned m)
{
	/* the combinations our routes use */
	if (m == (API_GET | API_HEAD))
		return "GET, HEAD, OPTIONS";
	if (m == (API_GET | API_HEAD | API_POST))
		return "GET, HEAD, POST, OPTIONS";
	if (m == (API_POST | API_PUT))
		return "POST, PUT";
	return "GET, POST, OPTIONS";
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	api_params *p = cls;
	if (key)
		api_params_add(p, key, strlen(key), value ? value : "", value ? strlen(value) : 0);
	return MHD_YES;
}

static bool accepts_gzip(struct MHD_Connection *c)
{
	const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (!ae)
		return false;
	/* a token "gzip" not followed by ";q=0" */
	for (const char *p = ae; (p = strstr(p, "gzip")) != NULL; p += 4) {
		bool start_ok = p == ae || p[-1] == ' ' || p[-1] == ',';
		const char *e = p + 4;
		if (!start_ok || (*e && *e != ',' && *e != ';' && *e != ' '))
			continue;
		while (*e == ' ')
			e++;
		if (strncmp(e, ";q=0", 4) == 0 && (e[4] == '\0' || e[4] == ',' || strncmp(e + 4, ".0", 2) == 0))
			return false;
		return true;
	}
	return false;
}

static void set_cors(struct MHD_Response *r, struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (!origin)
		return;
	MHD_add_response_header(r, "Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, Origin");
	MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
	MHD_add_response_header(r, "Access-Control-Expose-Headers", "Date");
	/* the default --web.cors.origin is ".*", which Prometheus answers with "*" */
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
}

static void observe(api_server *s, const char *handler, int status, int64_t start_ns, size_t bytes)
{
	char code[8];
	snprintf(code, sizeof code, "%d", status);
	const char *rv[] = { code, handler };  /* label order: code, handler */
	tp_metrics_counter_inc(tp_metrics_child(s->m_requests, rv));
	const char *hv[] = { handler };
	double secs = (double)(tp_mono_ns() - start_ns) / 1e9;
	tp_metrics_histogram_observe(tp_metrics_child(s->m_duration, hv), secs);
	tp_metrics_histogram_observe(tp_metrics_child(s->m_resp_size, hv), (double)bytes);
}

/* Sends resp; takes over resp->body. */
static enum MHD_Result send_response(api_server *s, struct MHD_Connection *c, api_response *resp, bool cors,
				     bool may_gzip, const char *handler, int64_t start_ns)
{
	struct MHD_Response *r;
	size_t len = resp->body.len;
	bool gz = false;
	char *body = tp_sb_steal(&resp->body);
	if (may_gzip && len > 0 && !resp->content_encoding && !resp->no_compress && accepts_gzip(c)) {
		size_t zn;
		char *z = api_gzip(body, len, &zn);
		if (z) {
			body_release(body);
			body = z;
			len = zn;
			gz = true;
		}
	}
	if (len == 0) {
		free(body);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_buffer_with_free_callback_cls(len, body, body_release, body);
	}
	if (!r) {
		if (len)
			body_release(body);
		return MHD_NO;
	}
	if (resp->content_type && resp->status != 204)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	if (gz)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	else if (resp->content_encoding)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, resp->content_encoding);
	if (may_gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (resp->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	if (resp->retry_after)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, resp->retry_after);
	if (cors)
		set_cors(r, c);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	if (handler && s)
		observe(s, handler, resp->status, start_ns, len);
	return ret;
}

static const char *content_type_base(struct MHD_Connection *c, char *buf, size_t n)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!ct)
		return "";
	size_t i = 0;
	while (ct[i] && ct[i] != ';' && ct[i] != ' ' && i + 1 < n) {
		char ch = ct[i];
		buf[i++] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
	}
	buf[i] = '\0';
	return buf;
}

static enum MHD_Result dispatch(api_server *s, struct MHD_Connection *c, const char *url, const char *method,
				conn_state *st)
{
	api_response resp = { .status = 200, .content_type = "application/json" };
	api_request req = { .method = method_bit(method), .method_str = method, .path = url, .conn = c,
			    .start_ns = st->start_ns };
	const api_route *route = NULL;
	const char *arg = NULL;
	size_t arg_n = 0;
	for (const api_route *r = api_v1_routes; r->pattern && !route; r++)
		if (route_match(r->pattern, url, &arg, &arg_n))
			route = r;
	for (const api_route *r = api_ext_routes; r->pattern && !route; r++)
		if (route_match(r->pattern, url, &arg, &arg_n))
			route = r;
	bool is_api = strncmp(url, "/api/v1/", 8) == 0;
	if (req.method == API_OPTIONS && is_api) {
		/* CORS preflight for any API path */
		resp.status = 204;
		return send_response(s, c, &resp, true, false, NULL, st->start_ns);
	}
	if (!route) {
		api_respond_text(&resp, 404, "404 page not found\n");
		return send_response(s, c, &resp, is_api, false, NULL, st->start_ns);
	}
	unsigned allowed = route->methods;
	if (allowed & API_GET)
		allowed |= API_HEAD;
	if (!(req.method & allowed)) {
		resp.allow = allow_header(allowed);
		api_respond_text(&resp, 405, "Method Not Allowed\n");
		return send_response(s, c, &resp, route->api, false, route->pattern, st->start_ns);
	}
	if (st->too_large) {
		api_respond_text(&resp, 413, "request body too large\n");
		return send_response(s, c, &resp, route->api, false, route->pattern, st->start_ns);
	}
	char ctb[64];
	if (st->body.len && strcmp(content_type_base(c, ctb, sizeof ctb), "application/x-www-form-urlencoded") == 0) {
		char err[128];
		if (api_params_parse_form(&req.params, st->body.buf, st->body.len, err, sizeof err) != 0) {
			api_respond_error(&resp, API_ERR_BAD_DATA, "error parsing form values: %s", err);
			enum MHD_Result r = send_response(s, c, &resp, route->api, true, route->pattern, st->start_ns);
			api_params_free(&req.params);
			return r;
		}
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &req.params);
	req.body = st->body.len ? st->body.buf : NULL;
	req.body_len = st->body.len;
	/* MHD has already %-decoded the path: copy the segment as is */
	char *decoded_arg = arg ? tp_xstrndup(arg, arg_n) : NULL;
	req.path_arg = decoded_arg;
	route->fn(s, &req, &resp);
	enum MHD_Result r = send_response(s, c, &resp, route->api, true, route->pattern, st->start_ns);
	free(decoded_arg);
	api_params_free(&req.params);
	tp_sb_free(&resp.body);
	return r;
}

/* A remote write request the receiver will take (it is enabled). */
static bool is_remote_write(const api_server *s, const char *url, const char *method)
{
	return s->cfg.opts->enable_remote_write && strcmp(method, "POST") == 0 && strcmp(url, "/api/v1/write") == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	api_server *s = cls;
	conn_state *st = *con_cls;
	if (!st) {
		st = calloc(1, sizeof *st);
		if (!st)
			return MHD_NO;
		st->start_ns = tp_mono_ns();
		*con_cls = st;
		atomic_fetch_add(&s->inflight, 1);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && s->cfg.opts->max_body_bytes > 0 &&
		    strtoull(cl, NULL, 10) > (unsigned long long)s->cfg.opts->max_body_bytes) {
			st->too_large = true;
			api_response resp = { 0 };
			api_respond_text(&resp, 413, "request body too large\n");
			return send_response(s, c, &resp, false, false, NULL, st->start_ns);
		}
		if (is_remote_write(s, url, method)) {
			/* Back-pressure: a bounded number of write requests
			 * are read and applied at once (their bodies are held
			 * in memory); more are told to come back, before their
			 * body is read. 503 with Retry-After is what
			 * Prometheus's sender retries (COMPAT.md 2.2). */
			int n = atomic_fetch_add(&s->writes_inflight, 1) + 1;
			if (n > s->cfg.opts->write_concurrent_limit) {
				atomic_fetch_sub(&s->writes_inflight, 1);
				api_response resp = { 0 };
				api_respond_text(&resp, 503,
						 "too many concurrent remote write requests "
						 "(--web.remote-write-receiver.concurrent-limit), retry later\n");
				resp.retry_after = "1";
				return send_response(s, c, &resp, false, false, "/api/v1/write", st->start_ns);
			}
			st->write_slot = true;
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!st->too_large) {
			if (s->cfg.opts->max_body_bytes > 0 &&
			    st->body.len + *upload_data_size > (size_t)s->cfg.opts->max_body_bytes) {
				st->too_large = true;
				tp_sb_free(&st->body);
			} else {
				tp_sb_append(&st->body, upload_data, *upload_data_size);
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(s, c, url, method, st);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	api_server *s = cls;
	conn_state *st = *con_cls;
	if (!st)
		return;
	tp_sb_free(&st->body);
	if (st->write_slot)
		atomic_fetch_sub(&s->writes_inflight, 1);
	free(st);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof buf, fmt, ap);
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	tp_log_debug("HTTP server message", "err", buf);
}

/* ---- listening ---- */

/* Splits "host:port" / "[v6]:port" and resolves it. */
static int resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *sl, bool *dual, char *err,
		   size_t errlen)
{
	const char *colon = strrchr(addr, ':');
	if (!colon) {
		snprintf(err, errlen, "address %s: missing port in address", addr);
		return -1;
	}
	char host[256];
	size_t hn = (size_t)(colon - addr);
	if (hn >= sizeof host) {
		snprintf(err, errlen, "address %s: host too long", addr);
		return -1;
	}
	memcpy(host, addr, hn);
	host[hn] = '\0';
	if (hn >= 2 && host[0] == '[' && host[hn - 1] == ']') {
		memmove(host, host + 1, hn - 2);
		host[hn - 2] = '\0';
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "listen tcp %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	/* An empty host means all addresses: IPv6 dual stack when available.
	 * A name prefers IPv4, as Go's net.Listen does ("localhost:9090"
	 * listens on 127.0.0.1). */
	int want = host[0] ? AF_INET : AF_INET6;
	struct addrinfo *pick = res;
	for (struct addrinfo *a = res; a; a = a->ai_next)
		if (a->ai_family == want) {
			pick = a;
			break;
		}
	memcpy(ss, pick->ai_addr, pick->ai_addrlen);
	*sl = pick->ai_addrlen;
	*dual = !host[0] && pick->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

static const double duration_buckets[] = { .1, .2, .4, 1, 3, 8, 20, 60, 120 };
static const double size_buckets[] = { 100, 1000, 10000, 100000, 1e6, 1e7, 1e8, 1e9 };

static void register_metrics(api_server *s)
{
	tp_metrics_registry *r = s->cfg.metrics;
	static const char *const rl[] = { "code", "handler" };
	static const char *const hl[] = { "handler" };
	s->m_requests = tp_metrics_family_new(r, TP_METRIC_COUNTER, "prometheus_http_requests_total",
					      "Counter of HTTP requests.", rl, 2, NULL, 0);
	s->m_duration = tp_metrics_family_new(r, TP_METRIC_HISTOGRAM, "prometheus_http_request_duration_seconds",
					      "Histogram of latencies for HTTP requests.", hl, 1, duration_buckets,
					      TP_ARRAY_LEN(duration_buckets));
	s->m_resp_size = tp_metrics_family_new(r, TP_METRIC_HISTOGRAM, "prometheus_http_response_size_bytes",
					       "Histogram of response size for HTTP requests.", hl, 1, size_buckets,
					       TP_ARRAY_LEN(size_buckets));
	static const char *const tl[] = { "type" };
	s->m_read_responses = tp_metrics_family_new(r, TP_METRIC_COUNTER, "tinyprom_remote_read_responses_total",
						    "Remote read requests answered, by response type (samples, streamed_xor_chunks).",
						    tl, 1, NULL, 0);
	/* Prometheus's engine summary (objectives .5, .9, .99; 10m window) */
	static const double objectives[] = { 0.5, 0.9, 0.99 };
	static const char *const sl[] = { "slice" };
	static const char *const slices[] = { "inner_eval", "prepare_time", "queue_time", "result_sort" };
	tp_metric_family *qd = tp_metrics_summary_family_new(r, "prometheus_engine_query_duration_seconds",
							     "Query timings", sl, 1, objectives, 3);
	for (size_t i = 0; i < TP_ARRAY_LEN(slices); i++)
		s->m_query_slice[i] = tp_metrics_child(qd, &slices[i]);
	s->m_queries = tp_metrics_gauge_new(r, "prometheus_engine_queries",
					    "The current number of queries being executed or waiting.");
	tp_metrics_gauge_set(tp_metrics_gauge_new(r, "prometheus_engine_queries_concurrent_max",
						  "The max number of concurrent queries."),
			     (double)s->cfg.opts->max_concurrency);
}

api_server *api_server_start(const api_server_config *cfg, char *err, size_t errlen)
{
	api_server *s = tp_xcalloc(1, sizeof *s);
	s->cfg = *cfg;
	sem_init(&s->query_slots, 0, (unsigned)TP_MAX(1, cfg->opts->max_concurrency));
	s->rw_cache = remote_series_cache_new(0);
	register_metrics(s);
	struct sockaddr_storage ss;
	socklen_t sl;
	bool dual = false;
	if (resolve(cfg->opts->listen_address, &ss, &sl, &dual, err, errlen) != 0)
		goto err;
	unsigned threads = cfg->threads;
	if (!threads) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = (unsigned)TP_MIN(16, TP_MAX(4, 2 * (ncpu > 0 ? ncpu : 1)));
	}
	/* ITC lets api_server_stop quiesce (stop accepting) before stopping */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (ss.ss_family == AF_INET6)
		flags |= dual ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	uint16_t port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	/* MHD mmaps a connection's memory pool above 32 KiB and zeroes it, a
	 * page fault per 4 KiB on every new connection (256 KiB cost 1.8 ms
	 * of CPU per request); up to 32 KiB it comes from malloc. The pool
	 * bounds the request line and headers: GET URLs up to about 30 KB
	 * (longer ones get 414; POST bodies are not bounded by it). */
	s->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, s,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_THREAD_POOL_SIZE, threads,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->opts->max_connections,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				     MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "listen tcp %s: bind: %s", cfg->opts->listen_address,
			 errno ? strerror(errno) : "cannot start the HTTP server");
		goto err;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	return s;
err:
	sem_destroy(&s->query_slots);
	remote_series_cache_free(s->rw_cache);
	free(s);
	return NULL;
}

void api_server_set_ready(api_server *s, bool ready)
{
	atomic_store(&s->ready, ready);
}

uint16_t api_server_port(const api_server *s)
{
	return s->port;
}

void api_server_stop(api_server *s)
{
	if (!s)
		return;
	/* Graceful: stop accepting, let requests in flight (e.g. the /-/quit
	 * that asked for this) finish sending for up to STOP_GRACE_MS, then
	 * close everything, idle keep-alive connections included. */
	MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	int64_t deadline = tp_mono_ns() + (int64_t)STOP_GRACE_MS * 1000000;
	while (atomic_load(&s->inflight) > 0 && tp_mono_ns() < deadline)
		usleep(10000);
	MHD_stop_daemon(s->daemon);
	sem_destroy(&s->query_slots);
	remote_series_cache_free(s->rw_cache);
	free(s);
}
