/* SPDX-License-Identifier: Apache-2.0
 * config_yaml.c - the configuration rendered as Prometheus 2.42's
 * Config.String() (see config_yaml.h). Key order, omitempty rules and
 * value forms follow the Go structs (config.Config, common/config's
 * HTTPClientConfig, relabel.Config, discovery's inline configs sorted by
 * key), checked against a running Prometheus 2.42. */
#include "config.h"
#include "api/config_yaml.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/duration.h"
#include "scrape/relabel.h"

/* ---- emitter ---- */

typedef struct emit {
	yaml_emitter_t em;
	bool failed;
} emit;

static int write_sb(void *ud, unsigned char *buf, size_t n)
{
	tp_sb_append(ud, (const char *)buf, n);
	return 1;
}

static void ev(emit *e, yaml_event_t *event)
{
	if (!e->failed && !yaml_emitter_emit(&e->em, event))
		e->failed = true;
}

static void map_begin(emit *e)
{
	yaml_event_t event;
	yaml_mapping_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	ev(e, &event);
}

static void map_end(emit *e)
{
	yaml_event_t event;
	yaml_mapping_end_event_initialize(&event);
	ev(e, &event);
}

static void seq_begin(emit *e, bool flow)
{
	yaml_event_t event;
	yaml_sequence_start_event_initialize(&event, NULL, NULL, 1,
					     flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
	ev(e, &event);
}

static void seq_end(emit *e)
{
	yaml_event_t event;
	yaml_sequence_end_event_initialize(&event);
	ev(e, &event);
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Go's strconv.ParseInt(s, 0, 64) / ParseFloat(s, 64) acceptance, after
 * yaml.v2 dropped underscores: enough to tell "would read as a number". */
static bool looks_numeric(const char *s)
{
	char buf[128];
	size_t n = 0;
	for (const char *p = s; *p && n + 1 < sizeof(buf); p++)
		if (*p != '_')
			buf[n++] = *p;
	buf[n] = '\0';
	const char *p = buf;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X' || p[1] == 'b' || p[1] == 'B' || p[1] == 'o' || p[1] == 'O')) {
		char *end;
		strtoull(p + 2, &end, p[1] == 'x' || p[1] == 'X' ? 16 : p[1] == 'b' || p[1] == 'B' ? 2 : 8);
		return end != p + 2 && *end == '\0';
	}
	/* decimal integer or float: digits, one '.', an exponent */
	bool digits = false, dot = false;
	for (; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			digits = true;
		} else if (*p == '.' && !dot) {
			dot = true;
		} else if ((*p == 'e' || *p == 'E') && digits) {
			p++;
			if (*p == '+' || *p == '-')
				p++;
			return all_digits(p, strlen(p));
		} else {
			return false;
		}
	}
	return digits;
}

/* yaml.v2's isBase60Float: [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)? */
static bool base60(const char *s)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p) || *p == '_')
		p++;
	int groups = 0;
	while (*p == ':') {
		p++;
		if (p[0] >= '0' && p[0] <= '5' && isdigit((unsigned char)p[1]))
			p += 2;
		else if (isdigit((unsigned char)p[0]))
			p++;
		else
			return false;
		groups++;
	}
	if (!groups)
		return false;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p) || *p == '_')
			p++;
	}
	return *p == '\0';
}

/* yaml.v2's timestamp forms: YYYY-M-D, optionally followed by a time. */
static bool timestamp(const char *s)
{
	size_t y = 0;
	while (isdigit((unsigned char)s[y]))
		y++;
	if (y != 4 || s[y] != '-')
		return false;
	const char *p = s + 5;
	size_t m = 0;
	while (isdigit((unsigned char)p[m]))
		m++;
	if (m < 1 || m > 2 || p[m] != '-')
		return false;
	p += m + 1;
	size_t d = 0;
	while (isdigit((unsigned char)p[d]))
		d++;
	if (d < 1 || d > 2)
		return false;
	p += d;
	return *p == '\0' || *p == 'T' || *p == 't' || *p == ' ';
}

/* Whether s, written plain, would read back as something other than a
 * string (yaml.v2's resolve): then it is double-quoted. */
static bool resolves_to_non_string(const char *s)
{
	static const char *const words[] = {
		"~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
		".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
		".nan", ".NaN", ".NAN", "<<", NULL,
	};
	if (!*s)
		return true;
	for (size_t i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	char c = s[0];
	if (isdigit((unsigned char)c) || c == '+' || c == '-' || c == '.')
		return looks_numeric(s) || base60(s) || timestamp(s);
	return false;
}

static void str(emit *e, const char *s)
{
	s = s ? s : "";
	yaml_event_t event;
	bool quoted = resolves_to_non_string(s);
	yaml_scalar_style_t style = strchr(s, '\n')   ? YAML_LITERAL_SCALAR_STYLE
				    : quoted            ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
							: YAML_PLAIN_SCALAR_STYLE;
	yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), !quoted, 1, style);
	ev(e, &event);
}

/* A number or bool: always plain. */
static void raw(emit *e, const char *s)
{
	yaml_event_t event;
	yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
				     YAML_PLAIN_SCALAR_STYLE);
	ev(e, &event);
}

/* ---- key: value helpers ---- */

static void kstr(emit *e, const char *k, const char *v)
{
	str(e, k);
	str(e, v);
}

/* omitempty string */
static void kstr_opt(emit *e, const char *k, const char *v)
{
	if (v && *v)
		kstr(e, k, v);
}

static void kbool(emit *e, const char *k, bool v)
{
	str(e, k);
	raw(e, v ? "true" : "false");
}

static void kuint(emit *e, const char *k, uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	str(e, k);
	raw(e, b);
}

static void kuint_opt(emit *e, const char *k, uint64_t v)
{
	if (v)
		kuint(e, k, v);
}

static void kdur(emit *e, const char *k, int64_t ms)
{
	char b[48];
	tp_duration_format(b, ms);
	kstr(e, k, b);
}

static void kdur_opt(emit *e, const char *k, int64_t ms)
{
	if (ms)
		kdur(e, k, ms);
}

static void ksecret_opt(emit *e, const char *k, const char *v)
{
	if (v && *v)
		kstr(e, k, "<secret>");
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const config_kv *)a)->name, ((const config_kv *)b)->name);
}

/* A string map, keys sorted as yaml.v2 sorts them (omitempty). */
static void kmap_opt(emit *e, const char *k, const config_kvs *m)
{
	if (!m->n)
		return;
	config_kv *v = malloc(m->n * sizeof(*v));
	if (!v) {
		e->failed = true;
		return;
	}
	memcpy(v, m->v, m->n * sizeof(*v));
	qsort(v, m->n, sizeof(*v), cmp_kv);
	str(e, k);
	map_begin(e);
	for (size_t i = 0; i < m->n; i++)
		kstr(e, v[i].name, v[i].value);
	map_end(e);
	free(v);
}

static void kstrs_opt(emit *e, const char *k, const config_strs *s)
{
	if (!s->n)
		return;
	str(e, k);
	seq_begin(e, false);
	for (size_t i = 0; i < s->n; i++)
		str(e, s->v[i]);
	seq_end(e);
}

/* A URL with its password shown as xxxxx (Go's URL.Redacted). */
static void kurl(emit *e, const char *k, const char *url)
{
	url = url ? url : "";
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *at = strchr(host, '@');
	const char *slash = strchr(host, '/');
	const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
	if (!at || (slash && slash < at) || !colon) {
		kstr(e, k, url);
		return;
	}
	tp_strbuf sb = { 0 };
	tp_sb_append(&sb, url, (size_t)(colon - url) + 1);
	tp_sb_puts(&sb, "xxxxx");
	tp_sb_puts(&sb, at);
	kstr(e, k, tp_sb_cstr(&sb));
	tp_sb_free(&sb);
}

/* units.Base2Bytes.String(): 10MiB, 1KiB512B */
static void kbytes_opt(emit *e, const char *k, int64_t n)
{
	static const char *const units[] = { "", "K", "M", "G", "T", "P", "E" };
	if (n <= 0)
		return;
	char parts[7][32];
	int np = 0;
	for (int i = 0; i < 7 && n; i++) {
		if (n % 1024)
			snprintf(parts[np++], sizeof(parts[0]), "%" PRId64 "%s%s", n % 1024, units[i], i ? "iB" : "B");
		n /= 1024;
	}
	char b[256] = "";
	while (np--)
		strcat(b, parts[np]);
	kstr(e, k, b);
}

/* ---- sections ---- */

static void relabels_opt(emit *e, const char *k, const config_relabels *r)
{
	if (!r->n)
		return;
	str(e, k);
	seq_begin(e, false);
	for (size_t i = 0; i < r->n; i++) {
		const relabel_config *c = &r->v[i];
		map_begin(e);
		if (c->n_source_labels) {
			str(e, "source_labels");
			seq_begin(e, true);
			for (size_t j = 0; j < c->n_source_labels; j++)
				str(e, c->source_labels[j]);
			seq_end(e);
		}
		kstr_opt(e, "separator", c->separator);
		kstr_opt(e, "regex", c->regex);
		kuint_opt(e, "modulus", c->modulus);
		kstr_opt(e, "target_label", c->target_label);
		kstr_opt(e, "replacement", c->replacement);
		kstr_opt(e, "action", relabel_action_name(c->action));
		map_end(e);
	}
	seq_end(e);
}

static bool tls_zero(const config_tls *t)
{
	return !(t->ca_file && *t->ca_file) && !(t->cert_file && *t->cert_file) && !(t->key_file && *t->key_file) &&
	       !(t->server_name && *t->server_name) && !t->insecure_skip_verify && !(t->min_version && *t->min_version);
}

/* common/config.HTTPClientConfig, inlined in its parent */
static void http_client(emit *e, const config_http_client *h)
{
	const config_basic_auth *ba = &h->basic_auth;
	if (ba->set) {
		str(e, "basic_auth");
		map_begin(e);
		kstr(e, "username", ba->username);
		ksecret_opt(e, "password", ba->password);
		kstr_opt(e, "password_file", ba->password_file);
		map_end(e);
	}
	const config_authorization *au = &h->authorization;
	bool bearer = (h->bearer_token && *h->bearer_token) || (h->bearer_token_file && *h->bearer_token_file);
	if (au->set || bearer) {
		/* bearer_token(_file) were folded into authorization, as Prometheus does */
		str(e, "authorization");
		map_begin(e);
		kstr_opt(e, "type", au->type && *au->type ? au->type : "Bearer");
		ksecret_opt(e, "credentials", au->credentials && *au->credentials ? au->credentials : h->bearer_token);
		kstr_opt(e, "credentials_file",
			 au->credentials_file && *au->credentials_file ? au->credentials_file : h->bearer_token_file);
		map_end(e);
	}
	if (h->proxy_url && *h->proxy_url)
		kurl(e, "proxy_url", h->proxy_url);
	kstr_opt(e, "no_proxy", h->no_proxy);
	if (h->proxy_from_environment)
		kbool(e, "proxy_from_environment", true);
	const config_tls *t = &h->tls;
	if (!tls_zero(t)) {
		str(e, "tls_config");
		map_begin(e);
		kstr_opt(e, "ca_file", t->ca_file);
		kstr_opt(e, "cert_file", t->cert_file);
		kstr_opt(e, "key_file", t->key_file);
		kstr_opt(e, "server_name", t->server_name);
		kbool(e, "insecure_skip_verify", t->insecure_skip_verify);
		if (t->min_version && strncmp(t->min_version, "TLS1", 4) == 0 && t->min_version[4] >= '0' &&
		    t->min_version[4] <= '3') {
			char v[8];  /* Go's tls.VersionTLS1x: 0x0301 + x */
			snprintf(v, sizeof(v), "%d", 0x0301 + (t->min_version[4] - '0'));
			str(e, "min_version");
			raw(e, v);
		}
		map_end(e);
	}
	kbool(e, "follow_redirects", h->follow_redirects);
	kbool(e, "enable_http2", h->enable_http2);
}

static void statics(emit *e, config_static *const *v, size_t n)
{
	str(e, "static_configs");
	seq_begin(e, false);
	for (size_t i = 0; i < n; i++) {
		map_begin(e);
		str(e, "targets");
		seq_begin(e, false);
		for (size_t j = 0; j < v[i]->targets.n; j++)
			str(e, v[i]->targets.v[j]);
		seq_end(e);
		kmap_opt(e, "labels", &v[i]->labels);
		map_end(e);
	}
	seq_end(e);
}

/* discovery configs after the parent's own keys, sorted by key */
static void discovery(emit *e, config_file_sd *const *fv, size_t fn, config_http_sd *const *hv, size_t hn,
		      config_static *const *sv, size_t sn)
{
	if (fn) {
		str(e, "file_sd_configs");
		seq_begin(e, false);
		for (size_t i = 0; i < fn; i++) {
			map_begin(e);
			kstrs_opt(e, "files", &fv[i]->files);
			kdur(e, "refresh_interval", fv[i]->refresh_interval_ms);
			map_end(e);
		}
		seq_end(e);
	}
	if (hn) {
		str(e, "http_sd_configs");
		seq_begin(e, false);
		for (size_t i = 0; i < hn; i++) {
			map_begin(e);
			http_client(e, &hv[i]->http);
			kdur(e, "refresh_interval", hv[i]->refresh_interval_ms);
			kurl(e, "url", hv[i]->url);
			map_end(e);
		}
		seq_end(e);
	}
	if (sn)
		statics(e, sv, sn);
}

static void global(emit *e, const config_global *g)
{
	str(e, "global");
	map_begin(e);
	kdur(e, "scrape_interval", g->scrape_interval_ms);
	kdur(e, "scrape_timeout", g->scrape_timeout_ms);
	kdur(e, "evaluation_interval", g->evaluation_interval_ms);
	kstr_opt(e, "query_log_file", g->query_log_file);
	kmap_opt(e, "external_labels", &g->external_labels);
	map_end(e);
}

static void alerting(emit *e, const config_alerting *a)
{
	if (!a->alert_relabel_configs.n && !a->alertmanagers.n)
		return;
	str(e, "alerting");
	map_begin(e);
	relabels_opt(e, "alert_relabel_configs", &a->alert_relabel_configs);
	if (a->alertmanagers.n) {
		str(e, "alertmanagers");
		seq_begin(e, false);
		for (size_t i = 0; i < a->alertmanagers.n; i++) {
			const config_alertmanager *am = a->alertmanagers.v[i];
			map_begin(e);
			http_client(e, &am->http);
			kstr_opt(e, "scheme", am->scheme);
			kstr_opt(e, "path_prefix", am->path_prefix);
			kdur_opt(e, "timeout", am->timeout_ms);
			kstr(e, "api_version", am->api_version && *am->api_version ? am->api_version : "v2");
			relabels_opt(e, "relabel_configs", &am->relabel_configs);
			discovery(e, am->file_sd_configs.v, am->file_sd_configs.n, am->http_sd_configs.v,
				  am->http_sd_configs.n, am->static_configs.v, am->static_configs.n);
			map_end(e);
		}
		seq_end(e);
	}
	map_end(e);
}

static void scrape(emit *e, const config_scrape *s)
{
	map_begin(e);
	kstr(e, "job_name", s->job_name);
	if (s->honor_labels)
		kbool(e, "honor_labels", true);
	kbool(e, "honor_timestamps", s->honor_timestamps);
	if (s->params.n) {
		str(e, "params");
		map_begin(e);
		/* url.Values is a Go map: keys sorted */
		size_t n = s->params.n;
		const config_param **p = malloc(n * sizeof(*p));
		if (!p) {
			e->failed = true;
			return;
		}
		for (size_t i = 0; i < n; i++)
			p[i] = &s->params.v[i];
		for (size_t i = 1; i < n; i++)  /* a handful: insertion sort */
			for (size_t j = i; j > 0 && strcmp(p[j - 1]->name, p[j]->name) > 0; j--) {
				const config_param *t = p[j];
				p[j] = p[j - 1];
				p[j - 1] = t;
			}
		for (size_t i = 0; i < n; i++) {
			str(e, p[i]->name);
			seq_begin(e, false);
			for (size_t j = 0; j < p[i]->n_values; j++)
				str(e, p[i]->values[j]);
			seq_end(e);
		}
		free(p);
		map_end(e);
	}
	kdur_opt(e, "scrape_interval", s->scrape_interval_ms);
	kdur_opt(e, "scrape_timeout", s->scrape_timeout_ms);
	kstr_opt(e, "metrics_path", s->metrics_path);
	kstr_opt(e, "scheme", s->scheme);
	kbytes_opt(e, "body_size_limit", s->body_size_limit_bytes);
	kuint_opt(e, "sample_limit", s->sample_limit);
	kuint_opt(e, "target_limit", s->target_limit);
	kuint_opt(e, "label_limit", s->label_limit);
	kuint_opt(e, "label_name_length_limit", s->label_name_length_limit);
	kuint_opt(e, "label_value_length_limit", s->label_value_length_limit);
	http_client(e, &s->http);
	relabels_opt(e, "relabel_configs", &s->relabel_configs);
	relabels_opt(e, "metric_relabel_configs", &s->metric_relabel_configs);
	discovery(e, s->file_sd_configs.v, s->file_sd_configs.n, s->http_sd_configs.v, s->http_sd_configs.n,
		  s->static_configs.v, s->static_configs.n);
	map_end(e);
}

static void remote_write(emit *e, const config_remote_write *w)
{
	map_begin(e);
	kurl(e, "url", w->url);
	kdur_opt(e, "remote_timeout", w->remote_timeout_ms);
	kmap_opt(e, "headers", &w->headers);
	relabels_opt(e, "write_relabel_configs", &w->write_relabel_configs);
	kstr_opt(e, "name", w->name);
	if (w->send_exemplars)
		kbool(e, "send_exemplars", true);
	if (w->send_native_histograms)
		kbool(e, "send_native_histograms", true);
	http_client(e, &w->http);
	const config_queue *q = &w->queue_config;
	str(e, "queue_config");
	map_begin(e);
	kuint(e, "capacity", (uint64_t)q->capacity);
	kuint(e, "max_shards", (uint64_t)q->max_shards);
	kuint(e, "min_shards", (uint64_t)q->min_shards);
	kuint(e, "max_samples_per_send", (uint64_t)q->max_samples_per_send);
	kdur(e, "batch_send_deadline", q->batch_send_deadline_ms);
	kdur(e, "min_backoff", q->min_backoff_ms);
	kdur(e, "max_backoff", q->max_backoff_ms);
	if (q->retry_on_http_429)
		kbool(e, "retry_on_http_429", true);
	map_end(e);
	const config_metadata *m = &w->metadata_config;
	str(e, "metadata_config");
	map_begin(e);
	kbool(e, "send", m->send);
	kdur(e, "send_interval", m->send_interval_ms);
	kuint(e, "max_samples_per_send", (uint64_t)m->max_samples_per_send);
	map_end(e);
	map_end(e);
}

static void remote_read(emit *e, const config_remote_read *r)
{
	map_begin(e);
	kurl(e, "url", r->url);
	kdur_opt(e, "remote_timeout", r->remote_timeout_ms);
	kmap_opt(e, "headers", &r->headers);
	if (r->read_recent)
		kbool(e, "read_recent", true);
	kstr_opt(e, "name", r->name);
	http_client(e, &r->http);
	kmap_opt(e, "required_matchers", &r->required_matchers);
	if (r->filter_external_labels)
		kbool(e, "filter_external_labels", true);
	map_end(e);
}

void api_config_yaml(const config *cfg, tp_strbuf *out)
{
	emit e = { 0 };
	tp_strbuf sb = { 0 };
	yaml_event_t event;
	if (!yaml_emitter_initialize(&e.em))
		return;
	yaml_emitter_set_output(&e.em, write_sb, &sb);
	yaml_emitter_set_unicode(&e.em, 1);
	yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING);
	ev(&e, &event);
	yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1);
	ev(&e, &event);
	map_begin(&e);
	global(&e, &cfg->global);
	alerting(&e, &cfg->alerting);
	kstrs_opt(&e, "rule_files", &cfg->rule_files);
	if (cfg->scrape_configs.n) {
		str(&e, "scrape_configs");
		seq_begin(&e, false);
		for (size_t i = 0; i < cfg->scrape_configs.n; i++)
			scrape(&e, cfg->scrape_configs.v[i]);
		seq_end(&e);
	}
	if (cfg->remote_write.n) {
		str(&e, "remote_write");
		seq_begin(&e, false);
		for (size_t i = 0; i < cfg->remote_write.n; i++)
			remote_write(&e, cfg->remote_write.v[i]);
		seq_end(&e);
	}
	if (cfg->remote_read.n) {
		str(&e, "remote_read");
		seq_begin(&e, false);
		for (size_t i = 0; i < cfg->remote_read.n; i++)
			remote_read(&e, cfg->remote_read.v[i]);
		seq_end(&e);
	}
	map_end(&e);
	yaml_document_end_event_initialize(&event, 1);
	ev(&e, &event);
	yaml_stream_end_event_initialize(&event);
	ev(&e, &event);
	yaml_emitter_flush(&e.em);
	yaml_emitter_delete(&e.em);
	if (!e.failed)
		tp_sb_append(out, sb.buf ? sb.buf : "", sb.len);
	tp_sb_free(&sb);
}
