/* SPDX-License-Identifier: Apache-2.0
 * test_config.c - unit tests for config/: every fixture in
 * tests/data/config/bad must fail with exactly the text in its .err sidecar
 * (recorded from promtool 2.42 by hand, see compare_promtool.sh), every
 * fixture in good/ must load; defaults, parsed values, path joining, the
 * embedded default config, scrape-config equality, reload safety, and
 * `check config` output (stdout/stderr captured) against .check sidecars. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "config/config.h"
#include "lib/arena.h"
#include "lib/labels.h"
#include "scrape/relabel.h"

static char datadir[PATH_MAX];

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	tp_strbuf sb = { 0 };
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		tp_sb_append(&sb, buf, n);
	fclose(f);
	tp_sb_puts(&sb, "");
	return tp_sb_steal(&sb);
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
}

static int setup(void **state)
{
	(void)state;
	const char *src = getenv("TP_SRCDIR");
	snprintf(datadir, sizeof(datadir), "%s/tests/data/config", src ? src : ".");
	return 0;
}

static int load_str(const char *yaml, config *c, tp_strbuf *err)
{
	return config_load_string(yaml, strlen(yaml), "t.yml", ".", c, err);
}

/* Every bad fixture with a .err sidecar fails with exactly that text, and
 * the output config is left untouched. */
static void test_bad_fixtures(void **state)
{
	(void)state;
	char dir[PATH_MAX + 8], cwd[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/bad", datadir);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	DIR *dp = opendir(".");
	assert_non_null(dp);
	int checked = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".err") != 0)
			continue;
		char yml[300];
		snprintf(yml, sizeof(yml), "%.*s.yml", (int)(n - 4), de->d_name);
		char *want = slurp(de->d_name);
		assert_non_null(want);
		chomp(want);
		config c;
		memset(&c, 0x5a, sizeof(c));
		tp_strbuf err = { 0 };
		int rc = config_load_file(yml, &c, &err);
		if (rc == 0 || strcmp(tp_sb_cstr(&err), want) != 0)
			print_error("%s:\n got: %s\nwant: %s\n", yml, rc == 0 ? "(loaded)" : tp_sb_cstr(&err), want);
		assert_int_equal(rc, -1);
		assert_string_equal(tp_sb_cstr(&err), want);
		unsigned char *b = (unsigned char *)&c;
		for (size_t i = 0; i < sizeof(c); i++)
			assert_int_equal(b[i], 0x5a);
		tp_sb_free(&err);
		free(want);
		checked++;
	}
	closedir(dp);
	assert_int_equal(chdir(cwd), 0);
	assert_true(checked >= 90);
}

static void test_good_fixtures(void **state)
{
	(void)state;
	char dir[PATH_MAX + 8];
	snprintf(dir, sizeof(dir), "%s/good", datadir);
	DIR *dp = opendir(dir);
	assert_non_null(dp);
	int checked = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".yml") != 0)
			continue;
		char path[PATH_MAX * 2];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		config c;
		tp_strbuf err = { 0 };
		int rc = config_load_file(path, &c, &err);
		if (rc != 0)
			print_error("%s: %s\n", path, tp_sb_cstr(&err));
		assert_int_equal(rc, 0);
		config_free(&c);
		config_free(&c); /* idempotent */
		tp_sb_free(&err);
		checked++;
	}
	closedir(dp);
	assert_true(checked >= 15);
}

static void test_defaults(void **state)
{
	(void)state;
	config c;
	tp_strbuf err = { 0 };
	assert_int_equal(load_str("", &c, &err), 0);
	assert_int_equal(c.global.scrape_interval_ms, 60000);
	assert_int_equal(c.global.scrape_timeout_ms, 10000);
	assert_int_equal(c.global.evaluation_interval_ms, 60000);
	assert_int_equal(c.scrape_configs.n, 0);
	config_free(&c);

	const char *y =
		"global:\n  scrape_interval: 5s\n"
		"scrape_configs:\n- job_name: a\n- job_name: b\n  scrape_interval: 1m\n"
		"- job_name: c\n  scrape_interval: 2s\n  scrape_timeout: 1s\n"
		"alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: [am:9093]\n"
		"remote_write:\n- url: http://rw\n  queue_config:\n    max_shards: 7\n"
		"remote_read:\n- url: http://rr\n";
	assert_int_equal(load_str(y, &c, &err), 0);
	/* global timeout is min(10s, interval) */
	assert_int_equal(c.global.scrape_interval_ms, 5000);
	assert_int_equal(c.global.scrape_timeout_ms, 5000);
	config_scrape *a = c.scrape_configs.v[0], *b = c.scrape_configs.v[1], *cc = c.scrape_configs.v[2];
	assert_string_equal(a->job_name, "a");
	assert_int_equal(a->scrape_interval_ms, 5000);
	assert_int_equal(a->scrape_timeout_ms, 5000);
	assert_string_equal(a->metrics_path, "/metrics");
	assert_string_equal(a->scheme, "http");
	assert_true(a->honor_timestamps);
	assert_false(a->honor_labels);
	assert_true(a->http.follow_redirects);
	assert_true(a->http.enable_http2);
	assert_int_equal(a->sample_limit, 0);
	assert_int_equal(b->scrape_interval_ms, 60000);
	assert_int_equal(b->scrape_timeout_ms, 5000); /* the global timeout, below the interval */
	assert_int_equal(cc->scrape_timeout_ms, 1000);
	config_alertmanager *am = c.alerting.alertmanagers.v[0];
	assert_string_equal(am->scheme, "http");
	assert_string_equal(am->api_version, "v2");
	assert_int_equal(am->timeout_ms, 10000);
	assert_string_equal(am->static_configs.v[0]->targets.v[0], "am:9093");
	config_remote_write *rw = c.remote_write.v[0];
	assert_int_equal(rw->remote_timeout_ms, 30000);
	assert_int_equal(rw->queue_config.max_shards, 7);
	assert_int_equal(rw->queue_config.capacity, 2500); /* untouched keys keep defaults */
	assert_int_equal(rw->queue_config.max_samples_per_send, 500);
	assert_int_equal(rw->queue_config.min_backoff_ms, 30);
	assert_true(rw->metadata_config.send);
	assert_int_equal(rw->metadata_config.send_interval_ms, 60000);
	assert_int_equal(c.remote_read.v[0]->remote_timeout_ms, 60000);
	assert_true(c.remote_read.v[0]->filter_external_labels);
	config_free(&c);
	tp_sb_free(&err);
}

static void test_full_values(void **state)
{
	(void)state;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/good/full.yml", datadir);
	config c;
	tp_strbuf err = { 0 };
	assert_int_equal(config_load_file(path, &c, &err), 0);
	char want[PATH_MAX * 2];
	/* SetDirectory: relative paths joined to the file's directory */
	snprintf(want, sizeof(want), "%s/good/rules/*.yml", datadir);
	assert_int_equal(c.rule_files.n, 1);
	char *clean = config_path_clean(want); /* datadir may contain "./" or ".." */
	assert_string_equal(c.rule_files.v[0], clean);
	free(clean);
	assert_non_null(strstr(c.global.query_log_file, "/good/query.log"));
	/* external labels sorted by name */
	assert_int_equal(c.global.external_labels.n, 2);
	assert_string_equal(c.global.external_labels.v[0].name, "dc");
	assert_string_equal(c.global.external_labels.v[1].value, "eu-west");
	assert_int_equal(c.global.evaluation_interval_ms, 30000);

	config_scrape *n = c.scrape_configs.v[1];
	assert_string_equal(n->job_name, "node");
	assert_true(n->honor_labels);
	assert_false(n->honor_timestamps);
	assert_int_equal(n->scrape_interval_ms, 30000);
	assert_int_equal(n->scrape_timeout_ms, 20000);
	assert_string_equal(n->metrics_path, "/probe");
	assert_string_equal(n->scheme, "https");
	assert_int_equal(n->params.n, 1);
	assert_string_equal(n->params.v[0].name, "module");
	assert_int_equal(n->params.v[0].n_values, 2);
	assert_string_equal(n->params.v[0].values[1], "tcp");
	assert_int_equal(n->body_size_limit_bytes, 10 * 1024 * 1024);
	assert_int_equal(n->sample_limit, 1000);
	assert_int_equal(n->target_limit, 10);
	assert_int_equal(n->label_limit, 30);
	assert_int_equal(n->label_name_length_limit, 100);
	assert_int_equal(n->label_value_length_limit, 200);
	assert_true(n->http.authorization.set);
	assert_string_equal(n->http.authorization.credentials, "secret");
	assert_true(n->http.tls.insecure_skip_verify);
	assert_string_equal(n->http.tls.server_name, "node.example");
	assert_non_null(strstr(n->http.tls.ca_file, "/good/ca.pem"));
	assert_false(n->http.follow_redirects);
	assert_false(n->http.enable_http2);
	assert_int_equal(n->static_configs.n, 1);
	assert_int_equal(n->static_configs.v[0]->targets.n, 2);
	assert_string_equal(n->static_configs.v[0]->labels.v[0].name, "env");
	assert_int_equal(n->file_sd_configs.v[0]->refresh_interval_ms, 60000);
	assert_non_null(strstr(n->file_sd_configs.v[0]->files.v[0], "/good/sd/*.json"));
	assert_string_equal(n->http_sd_configs.v[0]->url, "http://sd.example/targets");
	assert_int_equal(n->http_sd_configs.v[0]->refresh_interval_ms, 120000);
	assert_int_equal(n->relabel_configs.n, 6);
	assert_int_equal(n->relabel_configs.v[0].action, RELABEL_HASHMOD);
	assert_int_equal(n->relabel_configs.v[0].modulus, 4);
	assert_int_equal(n->relabel_configs.v[5].action, RELABEL_KEEPEQUAL);
	assert_int_equal(n->metric_relabel_configs.n, 1);
	/* bearer_token_file becomes authorization credentials_file, type Bearer */
	config_scrape *br = c.scrape_configs.v[2];
	assert_true(br->http.authorization.set);
	assert_string_equal(br->http.authorization.type, "Bearer");
	assert_non_null(strstr(br->http.authorization.credentials_file, "/good/rules/a.yml"));
	assert_null(br->http.bearer_token_file);

	config_alertmanager *am = c.alerting.alertmanagers.v[0];
	assert_string_equal(am->scheme, "https");
	assert_string_equal(am->path_prefix, "/am");
	assert_int_equal(am->timeout_ms, 5000);
	assert_true(am->http.basic_auth.set);
	assert_string_equal(am->http.basic_auth.username, "u");
	assert_int_equal(c.alerting.alert_relabel_configs.n, 1);

	config_remote_write *rw = c.remote_write.v[0];
	assert_string_equal(rw->name, "mimir");
	assert_int_equal(rw->remote_timeout_ms, 10000);
	assert_string_equal(rw->headers.v[0].name, "X-Scope-OrgID");
	assert_true(rw->send_exemplars);
	assert_int_equal(rw->queue_config.capacity, 10000);
	assert_int_equal(rw->queue_config.batch_send_deadline_ms, 10000);
	assert_false(rw->metadata_config.send);
	assert_int_equal(rw->write_relabel_configs.n, 1);
	config_remote_read *rr = c.remote_read.v[0];
	assert_true(rr->read_recent);
	assert_false(rr->filter_external_labels);
	assert_string_equal(rr->required_matchers.v[0].value, "node");

	/* rule globs resolve, sorted */
	config_strs rf;
	assert_int_equal(config_rule_files_resolve(&c, &rf, &err), 0);
	assert_int_equal(rf.n, 2);
	assert_non_null(strstr(rf.v[0], "/rules/a.yml"));
	assert_non_null(strstr(rf.v[1], "/rules/b.yml"));
	config_strs_free(&rf);
	config_free(&c);
	tp_sb_free(&err);
}

static void test_rule_files_missing(void **state)
{
	(void)state;
	config c;
	tp_strbuf err = { 0 };
	assert_int_equal(config_load_string("rule_files: [nope.yml, 'none/*.yml']", 36, "t.yml", "/nonexistent",
					    &c, &err), 0);
	assert_string_equal(c.rule_files.v[0], "/nonexistent/nope.yml");
	config_strs rf = { 0 };
	assert_int_equal(config_rule_files_resolve(&c, &rf, &err), -1);
	assert_string_equal(tp_sb_cstr(&err), "\"/nonexistent/nope.yml\" does not point to an existing file");
	config_free(&c);
	tp_sb_free(&err);
}

static void test_join_dir(void **state)
{
	(void)state;
	static const struct { const char *dir, *p, *want; } v[] = {
		{ ".", "rules/a.yml", "rules/a.yml" }, { ".", "./a.yml", "a.yml" },
		{ "/etc/prom", "a.yml", "/etc/prom/a.yml" }, { "/etc/prom", "/abs.yml", "/abs.yml" },
		{ "/etc/prom", "../x/a.yml", "/etc/x/a.yml" }, { "conf", "../../a", "../a" },
		{ "/", "../a", "/a" }, { "a//b/", "c/./d/", "a/b/c/d" }, { "x", "", "" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *j = config_join_dir(v[i].dir, v[i].p);
		assert_string_equal(j, v[i].want);
		free(j);
	}
}

static void test_default_config(void **state)
{
	(void)state;
	config c;
	tp_strbuf err = { 0 };
	assert_int_equal(config_load_default("127.0.0.1:9999", &c, &err), 0);
	assert_int_equal(c.scrape_configs.n, 1);
	config_scrape *s = c.scrape_configs.v[0];
	assert_string_equal(s->job_name, "tinyprom");
	assert_int_equal(s->scrape_interval_ms, 15000);
	assert_int_equal(s->scrape_timeout_ms, 10000);
	assert_string_equal(s->static_configs.v[0]->targets.v[0], "127.0.0.1:9999");
	assert_null(c.path);
	config_free(&c);
	assert_int_equal(config_load_default(NULL, &c, &err), 0);
	assert_string_equal(c.scrape_configs.v[0]->static_configs.v[0]->targets.v[0], "localhost:9090");
	config_free(&c);
	/* an IPv6 listen address stays one scalar */
	assert_int_equal(config_load_default("[::1]:9090", &c, &err), 0);
	assert_string_equal(c.scrape_configs.v[0]->static_configs.v[0]->targets.v[0], "[::1]:9090");
	config_free(&c);
	tp_sb_free(&err);
}

static void test_scrape_equal(void **state)
{
	(void)state;
	const char *base =
		"scrape_configs:\n- job_name: a\n  params: {m: [x]}\n  static_configs:\n  - targets: [h:1]\n"
		"  relabel_configs:\n  - {source_labels: [x], target_label: y}\n";
	static const char *const variants[] = {
		"scrape_configs:\n- job_name: a\n  params: {m: [y]}\n  static_configs:\n  - targets: [h:1]\n"
		"  relabel_configs:\n  - {source_labels: [x], target_label: y}\n",
		"scrape_configs:\n- job_name: a\n  params: {m: [x]}\n  static_configs:\n  - targets: [h:2]\n"
		"  relabel_configs:\n  - {source_labels: [x], target_label: y}\n",
		"scrape_configs:\n- job_name: a\n  params: {m: [x]}\n  static_configs:\n  - targets: [h:1]\n"
		"  relabel_configs:\n  - {source_labels: [x], target_label: z}\n",
		"scrape_configs:\n- job_name: a\n  params: {m: [x]}\n  static_configs:\n  - targets: [h:1]\n"
		"  relabel_configs:\n  - {source_labels: [x], target_label: y}\n  scrape_interval: 30s\n",
		"scrape_configs:\n- job_name: a\n  params: {m: [x]}\n  static_configs:\n  - targets: [h:1]\n"
		"  relabel_configs:\n  - {source_labels: [x], target_label: y}\n  basic_auth: {username: u}\n",
	};
	config a, b;
	tp_strbuf err = { 0 };
	assert_int_equal(load_str(base, &a, &err), 0);
	assert_int_equal(load_str(base, &b, &err), 0);
	assert_true(config_scrape_equal(a.scrape_configs.v[0], b.scrape_configs.v[0]));
	config_free(&b);
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		assert_int_equal(load_str(variants[i], &b, &err), 0);
		if (config_scrape_equal(a.scrape_configs.v[0], b.scrape_configs.v[0]))
			print_error("variant %zu compares equal\n", i);
		assert_false(config_scrape_equal(a.scrape_configs.v[0], b.scrape_configs.v[0]));
		config_free(&b);
	}
	/* a changed global interval changes an inheriting job */
	assert_int_equal(load_str("global: {scrape_interval: 30s}\n" "scrape_configs:\n- job_name: a\n  params: {m: [x]}\n"
				  "  static_configs:\n  - targets: [h:1]\n  relabel_configs:\n"
				  "  - {source_labels: [x], target_label: y}\n", &b, &err), 0);
	assert_false(config_scrape_equal(a.scrape_configs.v[0], b.scrape_configs.v[0]));
	config_free(&b);
	config_free(&a);
	tp_sb_free(&err);
}

/* A failed reload leaves the running config as it was. */
static void test_reload_keeps_running(void **state)
{
	(void)state;
	config running;
	tp_strbuf err = { 0 };
	assert_int_equal(load_str("scrape_configs:\n- job_name: a\n", &running, &err), 0);
	assert_int_equal(load_str("scrape_configs:\n- job_name: a\n- job_name: a\n", &running, &err), -1);
	assert_string_equal(tp_sb_cstr(&err), "parsing YAML file t.yml: found multiple scrape configs with job name \"a\"");
	assert_int_equal(running.scrape_configs.n, 1);
	assert_string_equal(running.scrape_configs.v[0]->job_name, "a");
	config_free(&running);
	/* unreadable file: Go's os error text, no "parsing YAML file" prefix */
	tp_sb_reset(&err);
	assert_int_equal(config_load_file("/nonexistent/prometheus.yml", &running, &err), -1);
	assert_string_equal(tp_sb_cstr(&err), "open /nonexistent/prometheus.yml: no such file or directory");
	tp_sb_free(&err);
}

/* Relabel rules from YAML applied to a target label set. */
static void test_relabel_from_yaml(void **state)
{
	(void)state;
	const char *y =
		"scrape_configs:\n- job_name: a\n  relabel_configs:\n"
		"  - source_labels: [__address__]\n    regex: '([^:]+):\\d+'\n    target_label: host\n"
		"  - source_labels: [__address__]\n    modulus: 1000\n    target_label: __tmp_hash\n    action: hashmod\n"
		"  - action: labelmap\n    regex: __meta_(.+)\n"
		"  - action: labeldrop\n    regex: __meta_.*\n";
	config c;
	tp_strbuf err = { 0 };
	assert_int_equal(load_str(y, &c, &err), 0);
	tp_arena a;
	tp_arena_init(&a);
	tp_label in_v[] = { { "__address__", "10.0.0.1:9100" }, { "__meta_zone", "z1" } };
	tp_labels in = { in_v, 2 }, out;
	const config_relabels *r = &c.scrape_configs.v[0]->relabel_configs;
	assert_true(relabel_process(r->v, r->n, &a, &in, &out));
	assert_int_equal(out.n, 4);
	assert_string_equal(tp_labels_get(&out, "host"), "10.0.0.1");
	assert_string_equal(tp_labels_get(&out, "__tmp_hash"), "645");
	assert_string_equal(tp_labels_get(&out, "zone"), "z1");
	assert_null(tp_labels_get(&out, "__meta_zone"));
	tp_arena_free(&a);
	config_free(&c);
	tp_sb_free(&err);
}

/* The target labels a real Prometheus 2.42 produced for
 * good/relabel_prom242.yml (read from its /api/v1/targets): hashmod over
 * one and two source labels, Unicode upper/lower case, labelmap with
 * reordered groups, named groups in target and replacement ($vx is the
 * missing group "vx"), and "$$". Target population is simulated the way
 * scrape.PopulateLabels does it (job, __scheme__, __metrics_path__,
 * __scrape_*__ set before relabeling; "__" labels dropped and instance
 * defaulted from __address__ after). */
static void test_relabel_matches_prometheus(void **state)
{
	(void)state;
	static const struct { const char *addr, *h1000, *h7, *up, *port; } want[] = {
		{ "10.0.0.1:9100", "645", "4", "10.0.0.1:9100", "9100$1" },
		{ "10.0.0.2:9100", "841", "4", "10.0.0.2:9100", "9100$1" },
		{ "host-a:80", "135", "2", "HOST-A:80", "80$1" },
		{ "baz:1", "889", "6", "BAZ:1", "1$1" },
		{ "\xc3\x9cn\xc3\xaf" "code-Stra\xc3\x9f" "e:1", "8", "2", "\xc3\x9cN\xc3\x8f" "CODE-STRA\xc3\x9f" "E:1", "1$1" },
		{ "a;b:2", "208", "4", "A;B:2", "2$1" },
	};
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/good/relabel_prom242.yml", datadir);
	config c;
	tp_strbuf err = { 0 };
	assert_int_equal(config_load_file(path, &c, &err), 0);
	config_scrape *s = c.scrape_configs.v[0];
	config_static *g = s->static_configs.v[0];
	assert_int_equal(g->targets.n, sizeof(want) / sizeof(want[0]));
	tp_arena a;
	tp_arena_init(&a);
	for (size_t i = 0; i < g->targets.n; i++) {
		tp_labels_builder lb;
		tp_lb_init(&lb, &a, NULL);
		for (size_t j = 0; j < g->labels.n; j++)
			tp_lb_set(&lb, g->labels.v[j].name, g->labels.v[j].value);
		tp_lb_set(&lb, "__address__", g->targets.v[i]);
		tp_lb_set(&lb, "job", s->job_name);
		tp_lb_set(&lb, "__scheme__", s->scheme);
		tp_lb_set(&lb, "__metrics_path__", s->metrics_path);
		tp_lb_set(&lb, "__scrape_interval__", "1h");
		tp_lb_set(&lb, "__scrape_timeout__", "10s");
		tp_labels in = tp_lb_labels(&lb), out;
		assert_true(relabel_process(s->relabel_configs.v, s->relabel_configs.n, &a, &in, &out));
		assert_string_equal(tp_labels_get(&out, "__address__"), want[i].addr);
		assert_string_equal(tp_labels_get(&out, "h1000"), want[i].h1000);
		assert_string_equal(tp_labels_get(&out, "h7"), want[i].h7);
		assert_string_equal(tp_labels_get(&out, "up_addr"), want[i].up);
		assert_string_equal(tp_labels_get(&out, "port"), want[i].port);
		assert_string_equal(tp_labels_get(&out, "zone_lower"), "zone\xc3\xa4");
		assert_string_equal(tp_labels_get(&out, "m_name_zone"), "Zone\xc3\x84");
		assert_string_equal(tp_labels_get(&out, "foo"), "bar-barx");
		/* Prometheus's final set: 10 labels once "__" ones are gone and
		 * instance is added. */
		uint32_t visible = 0;
		for (uint32_t k = 0; k < out.n; k++)
			visible += strncmp(out.v[k].name, "__", 2) != 0;
		assert_int_equal(visible + 1, 10);
	}
	tp_arena_free(&a);
	config_free(&c);
	tp_sb_free(&err);
}

/* yaml.v2 scalar resolution: YAML 1.1 booleans, Go integer syntax, floats
 * truncated into integers. */
static void test_yaml_scalars(void **state)
{
	(void)state;
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/good/yaml_scalars.yml", datadir);
	config c;
	tp_strbuf err = { 0 };
	assert_int_equal(config_load_file(path, &c, &err), 0);
	config_scrape *s = c.scrape_configs.v[0];
	assert_int_equal(s->sample_limit, 1);
	assert_int_equal(s->target_limit, 0);
	assert_int_equal(s->label_limit, 1000);
	assert_int_equal(s->label_name_length_limit, 16);
	assert_true(s->honor_labels);
	assert_false(s->honor_timestamps);
	config_free(&c);
	tp_sb_free(&err);
}

/* file_sd target files, JSON and YAML. */
static void test_target_groups(void **state)
{
	(void)state;
	char path[PATH_MAX + 64];
	config_target_groups g;
	tp_strbuf err = { 0 };
	snprintf(path, sizeof(path), "%s/good/sd/nodes.json", datadir);
	assert_int_equal(config_target_groups_load(path, &g, &err), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.v[0]->targets.v[0], "localhost:9100");
	config_target_groups_free(&g);
	snprintf(path, sizeof(path), "%s/good/sd/groups.yml", datadir);
	assert_int_equal(config_target_groups_load(path, &g, &err), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.v[0]->targets.n, 2);
	assert_string_equal(g.v[0]->labels.v[1].name, "team");
	assert_string_equal(g.v[0]->labels.v[1].value, "y");
	assert_int_equal(g.v[1]->targets.n, 0);
	config_target_groups_free(&g);
	snprintf(path, sizeof(path), "%s/bad/sd/unknown_field.json", datadir);
	assert_int_equal(config_target_groups_load(path, &g, &err), -1);
	assert_string_equal(tp_sb_cstr(&err), "json: unknown field \"foo\"");
	tp_sb_reset(&err);
	assert_int_equal(config_target_groups_load("x.txt", &g, &err), -1);
	assert_string_equal(tp_sb_cstr(&err), "invalid file extension: \".txt\"");
	tp_sb_free(&err);
}

/* yaml.v2 merge keys: "<<: *anchor" and "<<: [a, b]" (first map wins,
 * explicit keys override). */
static void test_merge_keys(void **state)
{
	(void)state;
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/good/merge_anchors.yml", datadir);
	config c;
	tp_strbuf err = { 0 };
	assert_int_equal(config_load_file(path, &c, &err), 0);
	assert_int_equal(c.scrape_configs.n, 3);
	config_scrape *b = c.scrape_configs.v[1], *cc = c.scrape_configs.v[2];
	assert_string_equal(b->job_name, "b");
	assert_int_equal(b->scrape_interval_ms, 30000);
	assert_string_equal(b->metrics_path, "/x");
	assert_string_equal(b->static_configs.v[0]->targets.v[0], "a:1");
	assert_int_equal(cc->scrape_interval_ms, 20000);
	assert_string_equal(cc->metrics_path, "/y");
	assert_string_equal(cc->static_configs.v[0]->targets.v[0], "a:1");
	config_free(&c);
	/* merges into label maps and relabel rules */
	snprintf(path, sizeof(path), "%s/good/merge_labels_relabel.yml", datadir);
	assert_int_equal(config_load_file(path, &c, &err), 0);
	config_static *g = c.scrape_configs.v[0]->static_configs.v[1];
	assert_int_equal(g->labels.n, 2);
	assert_string_equal(g->labels.v[0].name, "a");
	assert_string_equal(g->labels.v[0].value, "1");
	assert_string_equal(g->labels.v[1].value, "3");
	config_relabels *r = &c.scrape_configs.v[0]->relabel_configs;
	assert_int_equal(r->n, 2);
	assert_string_equal(r->v[1].target_label, "x");
	assert_string_equal(r->v[1].replacement, "y");
	config_free(&c);
	tp_sb_free(&err);
}

/* Runs cmd_check_config with stdout/stderr captured into one buffer. */
static char *run_check(int argc, char **argv, int *rc)
{
	char tmpl[] = "/tmp/tp_check_XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	*rc = cmd_check_config(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fd);
	char *out = slurp(tmpl);
	unlink(tmpl);
	return out;
}

static void test_check_config_cmd(void **state)
{
	(void)state;
	char dir[PATH_MAX + 8], cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(dir, sizeof(dir), "%s/bad", datadir);
	assert_int_equal(chdir(dir), 0);
	/* promtool-level checks after loading (files, TLS pairs, target
	 * population): each .check sidecar holds promtool 2.42's stderr. */
	DIR *dp = opendir(".");
	assert_non_null(dp);
	int checked = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		size_t n = strlen(de->d_name);
		if (n < 7 || strcmp(de->d_name + n - 6, ".check") != 0)
			continue;
		char yml[300];
		snprintf(yml, sizeof(yml), "%.*s.yml", (int)(n - 6), de->d_name);
		char *want_err = slurp(de->d_name);
		assert_non_null(want_err);
		tp_strbuf want = { 0 };
		tp_sb_printf(&want, "Checking %s\n%s\n", yml, want_err);
		int rc;
		char *argv[] = { "config", yml, NULL };
		char *got = run_check(2, argv, &rc);
		if (strcmp(got, tp_sb_cstr(&want)) != 0)
			print_error("%s:\n got: %s\nwant: %s\n", yml, got, tp_sb_cstr(&want));
		assert_int_equal(rc, 1);
		assert_string_equal(got, tp_sb_cstr(&want));
		free(got);
		free(want_err);
		tp_sb_free(&want);
		checked++;
	}
	closedir(dp);
	assert_true(checked >= 10);
	/* a load error */
	int rc;
	char *argv1[] = { "config", "dup_job.yml", NULL };
	char *got = run_check(2, argv1, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(got, "Checking dup_job.yml\n  FAILED: parsing YAML file dup_job.yml: found multiple "
				 "scrape configs with job name \"a\"\n\n");
	free(got);
	/* success, with rule files and a file_sd warning */
	snprintf(dir, sizeof(dir), "%s/good", datadir);
	assert_int_equal(chdir(dir), 0);
	char *argv2[] = { "config", "file_sd_missing.yml", NULL };
	got = run_check(2, argv2, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "Checking file_sd_missing.yml\n"
				 "  WARNING: file \"nofile.json\" for file_sd in scrape job \"a\" does not exist\n"
				 "  WARNING: file \"sd/none-*.yml\" for file_sd in scrape job \"a\" does not exist\n"
				 " SUCCESS: file_sd_missing.yml is valid prometheus config file syntax\n\n");
	free(got);
	char *argv3[] = { "config", "--syntax-only", "full.yml", NULL };
	got = run_check(3, argv3, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "Checking full.yml\n SUCCESS: full.yml is valid prometheus config file syntax\n\n");
	free(got);
	char *argv4[] = { "config", "full.yml", NULL };
	got = run_check(2, argv4, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(got, "  SUCCESS: 2 rule files found\n SUCCESS: full.yml is valid"));
	assert_non_null(strstr(got, "Checking rules/a.yml\n"));
	free(got);
	/* agent mode (config.LoadFile's agentMode checks) */
	char *argv7[] = { "config", "--agent", "full.yml", NULL };
	got = run_check(3, argv7, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(got, "Checking full.yml\n  FAILED: field alerting is not allowed in agent mode\n\n");
	free(got);
	char *argv8[] = { "config", "--agent", "merge_anchors.yml", NULL };
	got = run_check(3, argv8, &rc);
	assert_int_equal(rc, 0);
	free(got);
	/* usage errors */
	char *argv5[] = { "config", NULL };
	got = run_check(1, argv5, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(got, "tinyprom: error: required argument 'config-files' not provided, try --help\n");
	free(got);
	char *argv6[] = { "config", "nonexist.yml", NULL };
	got = run_check(2, argv6, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(got, "tinyprom: error: path 'nonexist.yml' does not exist, try --help\n");
	free(got);
	assert_int_equal(chdir(cwd), 0);
}

static void test_read_secret_file(void **state)
{
	(void)state;
	char path[] = "/tmp/tp-secret-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3 cret\r\n \n", 11), 11);
	close(fd);
	char *s = config_read_secret_file(path);
	assert_non_null(s);
	assert_string_equal(s, "s3 cret"); /* trailing newline, CR and spaces trimmed, inner space kept */
	free(s);
	unlink(path);
	assert_null(config_read_secret_file(path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_fixtures),
		cmocka_unit_test(test_good_fixtures),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_values),
		cmocka_unit_test(test_rule_files_missing),
		cmocka_unit_test(test_join_dir),
		cmocka_unit_test(test_default_config),
		cmocka_unit_test(test_scrape_equal),
		cmocka_unit_test(test_reload_keeps_running),
		cmocka_unit_test(test_relabel_from_yaml),
		cmocka_unit_test(test_relabel_matches_prometheus),
		cmocka_unit_test(test_yaml_scalars),
		cmocka_unit_test(test_merge_keys),
		cmocka_unit_test(test_target_groups),
		cmocka_unit_test(test_check_config_cmd),
		cmocka_unit_test(test_read_secret_file),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
