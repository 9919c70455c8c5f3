/* SPDX-License-Identifier: Apache-2.0
 * discovery.c - static, file and HTTP service discovery, target label
 * population and the discovery thread.
 * Invariants: a source keeps its last good groups when a re-read fails (as
 * Prometheus does); targets are rebuilt and synced only when some source's
 * content hash changed, so an unchanged file touches nothing. */
#include "config.h"
#include "scrape/discovery.h"

#include <curl/curl.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/common.h"
#include "lib/duration.h"
#include "lib/hash.h"
#include "lib/log.h"

/* ---- parsing target group documents ---- */

typedef struct gbuild {
	sd_group *v;
	size_t n, cap;
} gbuild;

static sd_group *gb_add(gbuild *b, tp_arena *a)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 8;
		b->v = tp_arena_realloc(a, b->v, b->cap * sizeof(sd_group), nc * sizeof(sd_group));
		b->cap = nc;
	}
	sd_group *g = &b->v[b->n++];
	memset(g, 0, sizeof(*g));
	return g;
}

int sd_parse_groups(const char *text, size_t len, bool json, tp_arena *a, sd_group **out, size_t *n, tp_strbuf *err)
{
	config_target_groups cg = { 0 };
	*out = NULL;
	*n = 0;
	if (config_target_groups_parse(text, len, json, &cg, err) != 0)
		return -1;
	/* copied into the arena: the discovery keeps them beyond cg */
	sd_group *g = tp_arena_zalloc(a, sizeof(sd_group) * (cg.n ? cg.n : 1));
	for (size_t i = 0; i < cg.n; i++) {
		const config_static *st = cg.v[i];
		g[i].targets = tp_arena_alloc(a, sizeof(char *) * (st->targets.n ? st->targets.n : 1));
		for (size_t k = 0; k < st->targets.n; k++)
			g[i].targets[k] = tp_arena_strdup(a, st->targets.v[k]);
		g[i].ntargets = st->targets.n;
		tp_label *lv = tp_arena_alloc(a, sizeof(tp_label) * (st->labels.n ? st->labels.n : 1));
		for (size_t k = 0; k < st->labels.n; k++)
			lv[k] = (tp_label){ tp_arena_strdup(a, st->labels.v[k].name), tp_arena_strdup(a, st->labels.v[k].value) };
		g[i].labels = (tp_labels){ lv, (uint32_t)st->labels.n };
		tp_labels_normalize(&g[i].labels);
	}
	*out = g;
	*n = cg.n;
	config_target_groups_free(&cg);
	return 0;
}

/* ---- target label population ---- */

static const char *dur_str(tp_arena *a, int64_t ms)
{
	char b[48];
	tp_duration_format(b, ms);
	return tp_arena_strdup(a, b);
}

/* The group's labels under the target's own (__address__ wins). */
static void base_labels(tp_labels_builder *b, const sd_group *g, const char *addr)
{
	for (uint32_t i = 0; i < g->labels.n; i++)
		if (strcmp(g->labels.v[i].name, "__address__") != 0)
			tp_lb_set(b, g->labels.v[i].name, g->labels.v[i].value);
	tp_lb_set(b, "__address__", addr);
}

static void set_if_absent(tp_labels_builder *b, const char *name, const char *value)
{
	tp_labels cur = tp_lb_labels(b);
	if (!tp_labels_get(&cur, name))
		tp_lb_set(b, name, value);
}

static void url_append_escaped(tp_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			tp_sb_putc(sb, (char)c);
		else
			tp_sb_printf(sb, "%%%02X", c);
	}
}

static const char *secret(tp_arena *a, const char *inline_value, const char *file)
{
	if (inline_value && inline_value[0])
		return inline_value;
	if (!file || !file[0])
		return NULL;
	char *s = config_read_secret_file(file);
	if (!s)
		return NULL;
	const char *r = tp_arena_strdup(a, s);
	free(s);
	return r;
}

static void http_auth(tp_arena *a, const config_http_client *h, const char **user, const char **pass,
		      const char **bearer)
{
	*user = *pass = *bearer = NULL;
	if (h->basic_auth.set) {
		*user = h->basic_auth.username ? h->basic_auth.username : "";
		*pass = secret(a, h->basic_auth.password, h->basic_auth.password_file);
	}
	if (h->authorization.set)
		*bearer = secret(a, h->authorization.credentials, h->authorization.credentials_file);
	if (!*bearer && (h->bearer_token || h->bearer_token_file))
		*bearer = secret(a, h->bearer_token, h->bearer_token_file);
}

size_t sd_scrape_targets(const config_scrape *sc, const sd_group *groups, size_t ng, tp_arena *a,
			 scrape_target_spec **out, tp_strbuf *errs)
{
	size_t cap = 0, n = 0;
	for (size_t i = 0; i < ng; i++)
		cap += groups[i].ntargets;
	scrape_target_spec *v = tp_arena_zalloc(a, sizeof(*v) * (cap ? cap : 1));
	const char *user, *pass, *bearer;
	http_auth(a, &sc->http, &user, &pass, &bearer);
	for (size_t gi = 0; gi < ng; gi++) {
		for (size_t ti = 0; ti < groups[gi].ntargets; ti++) {
			tp_labels_builder b;
			tp_lb_init(&b, a, NULL);
			base_labels(&b, &groups[gi], groups[gi].targets[ti]);
			set_if_absent(&b, "job", sc->job_name);
			set_if_absent(&b, "__scrape_interval__", dur_str(a, sc->scrape_interval_ms));
			set_if_absent(&b, "__scrape_timeout__", dur_str(a, sc->scrape_timeout_ms));
			set_if_absent(&b, "__metrics_path__", sc->metrics_path ? sc->metrics_path : "/metrics");
			set_if_absent(&b, "__scheme__", sc->scheme ? sc->scheme : "http");
			for (size_t p = 0; p < sc->params.n; p++) {
				if (!sc->params.v[p].n_values)
					continue;
				tp_strbuf pn = { 0 };
				tp_sb_printf(&pn, "__param_%s", sc->params.v[p].name);
				set_if_absent(&b, tp_arena_strdup(a, tp_sb_cstr(&pn)), sc->params.v[p].values[0]);
				tp_sb_free(&pn);
			}
			tp_labels pre = tp_lb_labels(&b);
			tp_labels post = pre;
			if (sc->relabel_configs.n &&
			    !relabel_process(sc->relabel_configs.v, sc->relabel_configs.n, a, &pre, &post))
				continue; /* dropped */
			const char *addr = tp_labels_get(&post, "__address__");
			if (!addr || !addr[0]) {
				tp_sb_printf(errs, "instance %zu in group %zu: no address\n", ti, gi);
				continue;
			}
			if (strchr(addr, '/')) {
				tp_sb_printf(errs, "%s is not a valid hostname\n", addr);
				continue;
			}
			const char *iv = tp_labels_get(&post, "__scrape_interval__");
			const char *to = tp_labels_get(&post, "__scrape_timeout__");
			int64_t iv_ms = 0, to_ms = 0;
			if (!iv || tp_duration_parse(iv, strlen(iv), &iv_ms) != 0) {
				tp_sb_printf(errs, "error parsing scrape interval: not a valid duration string: \"%s\"\n",
					     iv ? iv : "");
				continue;
			}
			if (!to || tp_duration_parse(to, strlen(to), &to_ms) != 0) {
				tp_sb_printf(errs, "error parsing scrape timeout: not a valid duration string: \"%s\"\n",
					     to ? to : "");
				continue;
			}
			if (iv_ms == 0 || to_ms == 0) {
				tp_sb_printf(errs, "scrape %s cannot be 0\n", iv_ms == 0 ? "interval" : "timeout");
				continue;
			}
			if (to_ms > iv_ms) {
				tp_sb_printf(errs, "scrape timeout cannot be greater than scrape interval (\"%s\" > \"%s\")\n",
					     to, iv);
				continue;
			}
			/* URL: scheme://address path ?params (config params, overridden by __param_) */
			tp_strbuf url = { 0 };
			const char *scheme = tp_labels_get(&post, "__scheme__");
			const char *path = tp_labels_get(&post, "__metrics_path__");
			tp_sb_printf(&url, "%s://%s%s", scheme ? scheme : "http", addr, path ? path : "");
			char sep = '?';
			for (size_t p = 0; p < sc->params.n; p++) {
				tp_strbuf pn = { 0 };
				tp_sb_printf(&pn, "__param_%s", sc->params.v[p].name);
				const char *over = tp_labels_get(&post, tp_sb_cstr(&pn));
				tp_sb_free(&pn);
				for (size_t k = 0; k < sc->params.v[p].n_values; k++) {
					const char *val = over && k == 0 ? over : sc->params.v[p].values[k];
					tp_sb_putc(&url, sep);
					sep = '&';
					url_append_escaped(&url, sc->params.v[p].name);
					tp_sb_putc(&url, '=');
					url_append_escaped(&url, val);
				}
			}
			for (uint32_t k = 0; k < post.n; k++) { /* __param_ labels for params the config lacks */
				const char *ln = post.v[k].name;
				if (strncmp(ln, "__param_", 8) != 0)
					continue;
				bool known = false;
				for (size_t p = 0; p < sc->params.n && !known; p++)
					known = strcmp(sc->params.v[p].name, ln + 8) == 0;
				if (known)
					continue;
				tp_sb_putc(&url, sep);
				sep = '&';
				url_append_escaped(&url, ln + 8);
				tp_sb_putc(&url, '=');
				url_append_escaped(&url, post.v[k].value);
			}
			/* final labels: no __ labels, instance defaults to the address */
			tp_labels_builder fb;
			tp_lb_init(&fb, a, NULL);
			bool bad = false;
			for (uint32_t k = 0; k < post.n; k++) {
				if (strncmp(post.v[k].name, "__", 2) == 0)
					continue;
				if (!tp_utf8_valid(post.v[k].value)) {
					tp_sb_printf(errs, "invalid label value for \"%s\": \"%s\"\n", post.v[k].name, post.v[k].value);
					bad = true;
					break;
				}
				tp_lb_set(&fb, post.v[k].name, post.v[k].value);
			}
			if (bad) {
				tp_sb_free(&url);
				continue;
			}
			set_if_absent(&fb, "instance", addr);
			scrape_target_spec *s = &v[n++];
			s->pool = sc->job_name;
			s->labels = tp_lb_labels(&fb);
			s->discovered = pre;
			s->url = tp_arena_strdup(a, tp_sb_cstr(&url));
			tp_sb_free(&url);
			s->interval_ms = iv_ms;
			s->timeout_ms = to_ms;
			s->honor_labels = sc->honor_labels;
			s->honor_timestamps = sc->honor_timestamps;
			s->sample_limit = sc->sample_limit;
			s->label_limit = sc->label_limit;
			s->label_name_length_limit = sc->label_name_length_limit;
			s->label_value_length_limit = sc->label_value_length_limit;
			s->body_size_limit = sc->body_size_limit_bytes > 0 ? (uint64_t)sc->body_size_limit_bytes : 0;
			s->metric_relabel = sc->metric_relabel_configs.v;
			s->n_metric_relabel = sc->metric_relabel_configs.n;
			s->basic_user = user;
			s->basic_password = pass;
			s->bearer_token = bearer;
			s->ca_file = sc->http.tls.ca_file;
			s->cert_file = sc->http.tls.cert_file;
			s->key_file = sc->http.tls.key_file;
			s->server_name = sc->http.tls.server_name;
			s->insecure_skip_verify = sc->http.tls.insecure_skip_verify;
		}
	}
	if (sc->target_limit && n > sc->target_limit) {
		tp_sb_printf(errs, "target_limit exceeded (number of targets: %zu, limit: %llu)\n", n,
			     (unsigned long long)sc->target_limit);
		n = 0;
	}
	*out = v;
	return n;
}

size_t sd_alertmanager_targets(const config_alertmanager *am, const sd_group *groups, size_t ng, tp_arena *a,
			       rules_am_target **out, tp_strbuf *errs)
{
	size_t cap = 0, n = 0;
	for (size_t i = 0; i < ng; i++)
		cap += groups[i].ntargets;
	rules_am_target *v = tp_arena_zalloc(a, sizeof(*v) * (cap ? cap : 1));
	const char *user, *pass, *bearer;
	http_auth(a, &am->http, &user, &pass, &bearer);
	/* path.Join("/", prefix, "/api/v2/alerts") */
	tp_strbuf path = { 0 };
	const char *pp = am->path_prefix ? am->path_prefix : "";
	while (*pp == '/')
		pp++;
	size_t pl = strlen(pp);
	while (pl && pp[pl - 1] == '/')
		pl--;
	tp_sb_putc(&path, '/');
	if (pl) {
		tp_sb_append(&path, pp, pl);
		tp_sb_putc(&path, '/');
	}
	tp_sb_puts(&path, "api/v2/alerts");
	const char *apath = tp_arena_strdup(a, tp_sb_cstr(&path));
	tp_sb_free(&path);
	for (size_t gi = 0; gi < ng; gi++) {
		for (size_t ti = 0; ti < groups[gi].ntargets; ti++) {
			tp_labels_builder b;
			tp_lb_init(&b, a, NULL);
			base_labels(&b, &groups[gi], groups[gi].targets[ti]);
			tp_lb_set(&b, "__scheme__", am->scheme ? am->scheme : "http");
			tp_lb_set(&b, "__alerts_path__", apath);
			tp_labels pre = tp_lb_labels(&b), post = pre;
			if (am->relabel_configs.n &&
			    !relabel_process(am->relabel_configs.v, am->relabel_configs.n, a, &pre, &post))
				continue;
			const char *addr = tp_labels_get(&post, "__address__");
			if (!addr || !addr[0] || strchr(addr, '/')) {
				tp_sb_printf(errs, "%s is not a valid hostname\n", addr ? addr : "");
				continue;
			}
			tp_strbuf url = { 0 };
			tp_sb_printf(&url, "%s://%s%s", tp_labels_get(&post, "__scheme__"), addr,
				     tp_labels_get(&post, "__alerts_path__"));
			rules_am_target *t = &v[n++];
			t->url = tp_arena_strdup(a, tp_sb_cstr(&url));
			tp_sb_free(&url);
			t->basic_user = (char *)user;
			t->basic_password = (char *)pass;
			t->bearer_token = (char *)bearer;
			t->timeout_ms = am->timeout_ms;
			t->ca_file = am->http.tls.ca_file;
			t->insecure_skip_verify = am->http.tls.insecure_skip_verify;
		}
	}
	*out = v;
	return n;
}

/* ---- sources and the manager ---- */

typedef struct sd_source {
	const config_file_sd *file;   /* exactly one of file / http */
	const config_http_sd *http;
	uint64_t sig;                 /* file set + mtimes + sizes */
	int64_t last_refresh_ms;
	bool loaded;
	tp_arena arena;               /* owns groups */
	sd_group *groups;
	size_t ngroups;
	uint64_t hash;                /* content hash of groups */
} sd_source;

typedef struct sd_job {
	const config_scrape *sc;      /* scrape job, or */
	const config_alertmanager *am;
	sd_source *src;
	size_t nsrc;
} sd_job;

struct sd_manager {
	scrape_manager *sm;
	rules_notifier *nt;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	const config *cfg;
	sd_job *jobs;
	size_t njobs;
	bool stop;
	pthread_t th;
	bool started;
};

static uint64_t groups_hash(const sd_group *g, size_t n)
{
	uint64_t h = 0x12345;
	for (size_t i = 0; i < n; i++) {
		h = tp_hash_mix(h, tp_labels_hash(&g[i].labels));
		for (size_t k = 0; k < g[i].ntargets; k++)
			h = tp_hash_mix(h, tp_hash(g[i].targets[k], strlen(g[i].targets[k]), 3));
	}
	return h;
}

/* Adds `name`=value to every group of a source (its __meta_ label). */
static void add_meta(tp_arena *a, sd_group *g, size_t n, const char *name, const char *value)
{
	for (size_t i = 0; i < n; i++) {
		tp_labels_builder b;
		tp_lb_init(&b, a, &g[i].labels);
		tp_lb_set(&b, name, tp_arena_strdup(a, value));
		g[i].labels = tp_lb_labels(&b);
	}
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Re-reads a file SD source when its files changed or its refresh came. */
static bool refresh_file(sd_source *s, int64_t now)
{
	glob_t gl = { 0 };
	uint64_t sig = 0x9;
	size_t nfiles = 0;
	char **files = NULL;
	for (size_t i = 0; i < s->file->files.n; i++) {
		if (glob(s->file->files.v[i], 0, NULL, &gl) != 0)
			continue;
		for (size_t k = 0; k < gl.gl_pathc; k++) {
			struct stat st;
			if (stat(gl.gl_pathv[k], &st) != 0)
				continue;
			sig = tp_hash_mix(sig, tp_hash(gl.gl_pathv[k], strlen(gl.gl_pathv[k]), 1));
			sig = tp_hash_mix(sig, (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec);
			sig = tp_hash_mix(sig, (uint64_t)st.st_size);
			files = tp_xrealloc(files, sizeof(char *) * (nfiles + 1));
			files[nfiles++] = tp_xstrdup(gl.gl_pathv[k]);
		}
		globfree(&gl);
	}
	bool due = !s->loaded || sig != s->sig ||
		   (s->file->refresh_interval_ms > 0 && now - s->last_refresh_ms >= s->file->refresh_interval_ms);
	bool changed = false;
	if (due) {
		tp_arena na;
		tp_arena_init(&na);
		gbuild all = { 0 };
		bool ok = true;
		for (size_t i = 0; i < nfiles; i++) {
			FILE *f = fopen(files[i], "rb");
			if (!f)
				continue;
			tp_strbuf text = { 0 };
			char buf[8192];
			size_t r;
			while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
				tp_sb_append(&text, buf, r);
			fclose(f);
			bool json = has_suffix(files[i], ".json");
			tp_strbuf err = { 0 };
			sd_group *g;
			size_t ng;
			if (!json && !has_suffix(files[i], ".yml") && !has_suffix(files[i], ".yaml")) {
				tp_sb_printf(&err, "retrieved invalid file extension for %s", files[i]);
				ok = false;
			} else if (sd_parse_groups(tp_sb_cstr(&text), text.len, json, &na, &g, &ng, &err) != 0) {
				ok = false;
			} else {
				add_meta(&na, g, ng, "__meta_filepath", files[i]);
				for (size_t k = 0; k < ng; k++)
					*gb_add(&all, &na) = g[k];
			}
			if (!ok)
				tp_log_error("Error reading file", "component", "discovery manager", "path", files[i], "err",
					     tp_sb_cstr(&err));
			tp_sb_free(&err);
			tp_sb_free(&text);
			if (!ok)
				break;
		}
		if (ok) {
			uint64_t h = groups_hash(all.v, all.n);
			changed = !s->loaded || h != s->hash;
			tp_arena_free(&s->arena);
			s->arena = na;
			s->groups = all.v;
			s->ngroups = all.n;
			s->hash = h;
			s->loaded = true;
		} else {
			tp_arena_free(&na); /* keep the last good groups */
		}
		s->sig = sig;
		s->last_refresh_ms = now;
	}
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return changed;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	tp_sb_append(ud, p, size * nmemb);
	return size * nmemb;
}

static bool refresh_http(sd_source *s, int64_t now)
{
	int64_t iv = s->http->refresh_interval_ms > 0 ? s->http->refresh_interval_ms : 60000;
	if (s->loaded && now - s->last_refresh_ms < iv)
		return false;
	s->last_refresh_ms = now;
	CURL *e = curl_easy_init();
	tp_strbuf body = { 0 };
	tp_arena tmp;
	tp_arena_init(&tmp);
	const char *user, *pass, *bearer;
	http_auth(&tmp, &s->http->http, &user, &pass, &bearer);
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	if (bearer) {
		tp_strbuf ah = { 0 };
		tp_sb_printf(&ah, "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, tp_sb_cstr(&ah));
		tp_sb_free(&ah);
	}
	curl_easy_setopt(e, CURLOPT_URL, s->http->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
	if (user) {
		curl_easy_setopt(e, CURLOPT_USERNAME, user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, pass ? pass : "");
	}
	CURLcode rc = curl_easy_perform(e);
	long code = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	bool changed = false;
	tp_strbuf err = { 0 };
	if (rc != CURLE_OK || code != 200) {
		if (rc != CURLE_OK)
			tp_sb_printf(&err, "%s", curl_easy_strerror(rc));
		else
			tp_sb_printf(&err, "server returned HTTP status %ld", code);
	} else {
		tp_arena na;
		tp_arena_init(&na);
		sd_group *g;
		size_t ng;
		if (sd_parse_groups(tp_sb_cstr(&body), body.len, true, &na, &g, &ng, &err) == 0) {
			add_meta(&na, g, ng, "__meta_url", s->http->url);
			uint64_t hh = groups_hash(g, ng);
			changed = !s->loaded || hh != s->hash;
			tp_arena_free(&s->arena);
			s->arena = na;
			s->groups = g;
			s->ngroups = ng;
			s->hash = hh;
			s->loaded = true;
		} else {
			tp_arena_free(&na);
		}
	}
	if (err.len)
		tp_log_error("Error refreshing targets", "component", "discovery manager", "url", s->http->url, "err",
			     tp_sb_cstr(&err));
	tp_sb_free(&err);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	tp_sb_free(&body);
	tp_arena_free(&tmp);
	return changed;
}

/* Static groups of a job (rebuilt on every sync: cheap). */
static size_t static_groups(tp_arena *a, config_static *const *sv, size_t n, sd_group **out)
{
	sd_group *g = tp_arena_zalloc(a, sizeof(sd_group) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		g[i].targets = (const char **)sv[i]->targets.v;
		g[i].ntargets = sv[i]->targets.n;
		tp_label *lv = tp_arena_alloc(a, sizeof(tp_label) * (sv[i]->labels.n ? sv[i]->labels.n : 1));
		for (size_t k = 0; k < sv[i]->labels.n; k++)
			lv[k] = (tp_label){ sv[i]->labels.v[k].name, sv[i]->labels.v[k].value };
		g[i].labels = (tp_labels){ lv, (uint32_t)sv[i]->labels.n };
		tp_labels_normalize(&g[i].labels);
	}
	*out = g;
	return n;
}

/* All groups of a job: static, then each source's. */
static size_t job_groups(tp_arena *a, const sd_job *j, sd_group **out)
{
	sd_group *st;
	size_t ns = j->sc ? static_groups(a, j->sc->static_configs.v, j->sc->static_configs.n, &st)
			  : static_groups(a, j->am->static_configs.v, j->am->static_configs.n, &st);
	size_t total = ns;
	for (size_t i = 0; i < j->nsrc; i++)
		total += j->src[i].ngroups;
	sd_group *g = tp_arena_alloc(a, sizeof(sd_group) * (total ? total : 1));
	if (ns)  /* st and a failed source's groups may be NULL: memcpy needs non-NULL even for 0 bytes */
		memcpy(g, st, sizeof(sd_group) * ns);
	size_t k = ns;
	for (size_t i = 0; i < j->nsrc; i++) {
		if (j->src[i].ngroups)
			memcpy(g + k, j->src[i].groups, sizeof(sd_group) * j->src[i].ngroups);
		k += j->src[i].ngroups;
	}
	*out = g;
	return total;
}

static void sync_all(sd_manager *m)
{
	tp_arena a;
	tp_arena_init(&a);
	scrape_target_spec *all = NULL;
	size_t nall = 0, capall = 0;
	rules_am_target *ams = NULL;
	size_t nams = 0, capams = 0;
	for (size_t i = 0; i < m->njobs; i++) {
		sd_group *g;
		size_t ng = job_groups(&a, &m->jobs[i], &g);
		tp_strbuf errs = { 0 };
		if (m->jobs[i].sc) {
			scrape_target_spec *t;
			size_t n = sd_scrape_targets(m->jobs[i].sc, g, ng, &a, &t, &errs);
			if (nall + n > capall) {
				size_t nc = TP_MAX(capall * 2, nall + n);
				all = tp_arena_realloc(&a, all, capall * sizeof(*all), nc * sizeof(*all));
				capall = nc;
			}
			memcpy(all + nall, t, sizeof(*t) * n);
			nall += n;
		} else {
			rules_am_target *t;
			size_t n = sd_alertmanager_targets(m->jobs[i].am, g, ng, &a, &t, &errs);
			if (nams + n > capams) {
				size_t nc = TP_MAX(capams * 2, nams + n);
				ams = tp_arena_realloc(&a, ams, capams * sizeof(*ams), nc * sizeof(*ams));
				capams = nc;
			}
			memcpy(ams + nams, t, sizeof(*t) * n);
			nams += n;
		}
		if (errs.len)
			tp_log_error("Creating target failed", "component", "discovery manager", "err", tp_sb_cstr(&errs));
		tp_sb_free(&errs);
	}
	if (m->sm)
		scrape_manager_sync(m->sm, all, nall);
	if (m->nt)
		rules_notifier_set_targets(m->nt, ams, nams);
	tp_arena_free(&a);
}

static bool refresh_sources(sd_manager *m)
{
	int64_t now = tp_now_ms();
	bool changed = false;
	for (size_t i = 0; i < m->njobs; i++)
		for (size_t k = 0; k < m->jobs[i].nsrc; k++) {
			sd_source *s = &m->jobs[i].src[k];
			changed |= s->file ? refresh_file(s, now) : refresh_http(s, now);
		}
	return changed;
}

static void free_jobs(sd_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < jobs[i].nsrc; k++)
			tp_arena_free(&jobs[i].src[k].arena);
		free(jobs[i].src);
	}
	free(jobs);
}

static void add_sources(sd_job *j, config_file_sd *const *f, size_t nf, config_http_sd *const *h, size_t nh)
{
	j->nsrc = nf + nh;
	j->src = tp_xcalloc(j->nsrc ? j->nsrc : 1, sizeof(sd_source));
	for (size_t i = 0; i < nf; i++) {
		j->src[i].file = f[i];
		tp_arena_init(&j->src[i].arena);
	}
	for (size_t i = 0; i < nh; i++) {
		j->src[nf + i].http = h[i];
		tp_arena_init(&j->src[nf + i].arena);
	}
}

static void *sd_thread(void *arg)
{
	sd_manager *m = arg;
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		if (refresh_sources(m))
			sync_all(m);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1; /* file changes are noticed within a second */
		pthread_cond_timedwait(&m->cond, &m->mu, &ts);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

sd_manager *sd_manager_new(scrape_manager *sm, rules_notifier *nt)
{
	sd_manager *m = tp_xcalloc(1, sizeof(*m));
	m->sm = sm;
	m->nt = nt;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cond, NULL);
	return m;
}

void sd_manager_apply(sd_manager *m, const config *cfg)
{
	size_t nj = cfg->scrape_configs.n + cfg->alerting.alertmanagers.n;
	sd_job *jobs = tp_xcalloc(nj ? nj : 1, sizeof(sd_job));
	for (size_t i = 0; i < cfg->scrape_configs.n; i++) {
		const config_scrape *sc = cfg->scrape_configs.v[i];
		jobs[i].sc = sc;
		add_sources(&jobs[i], sc->file_sd_configs.v, sc->file_sd_configs.n, sc->http_sd_configs.v,
			    sc->http_sd_configs.n);
	}
	for (size_t i = 0; i < cfg->alerting.alertmanagers.n; i++) {
		const config_alertmanager *am = cfg->alerting.alertmanagers.v[i];
		sd_job *j = &jobs[cfg->scrape_configs.n + i];
		j->am = am;
		add_sources(j, am->file_sd_configs.v, am->file_sd_configs.n, am->http_sd_configs.v, am->http_sd_configs.n);
	}
	pthread_mutex_lock(&m->mu);
	free_jobs(m->jobs, m->njobs);
	m->cfg = cfg;
	m->jobs = jobs;
	m->njobs = nj;
	refresh_sources(m);
	sync_all(m);
	if (!m->started) {
		m->started = true;
		pthread_create(&m->th, NULL, sd_thread, m);
	}
	pthread_mutex_unlock(&m->mu);
}

void sd_manager_refresh(sd_manager *m)
{
	pthread_mutex_lock(&m->mu);
	if (refresh_sources(m))
		sync_all(m);
	pthread_mutex_unlock(&m->mu);
}

void sd_manager_free(sd_manager *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	if (m->started)
		pthread_join(m->th, NULL);
	free_jobs(m->jobs, m->njobs);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
