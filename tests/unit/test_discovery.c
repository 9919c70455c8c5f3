/* SPDX-License-Identifier: Apache-2.0
 * test_discovery.c - target groups from file/HTTP SD documents, target
 * label population with relabeling, and file SD reacting to file changes
 * through the discovery manager into the scrape manager. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scrape/discovery.h"

static void load_cfg(const char *yaml, config *cfg)
{
	tp_strbuf err = { 0 };
	int rc = config_load_string(yaml, strlen(yaml), "test.yml", "/tmp", cfg, &err);
	if (rc != 0)
		print_error("%s\n", tp_sb_cstr(&err));
	assert_int_equal(rc, 0);
	tp_sb_free(&err);
}

static void test_parse_groups(void **state)
{
	(void)state;
	tp_arena a;
	tp_arena_init(&a);
	tp_strbuf err = { 0 };
	sd_group *g;
	size_t n;
	const char js[] = "[{\"targets\":[\"a:1\",\"b:2\"],\"labels\":{\"env\":\"prod\"}},{\"targets\":[\"c:3\"]}]";
	assert_int_equal(sd_parse_groups(js, strlen(js), true, &a, &g, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(g[0].ntargets, 2);
	assert_string_equal(g[0].targets[1], "b:2");
	assert_string_equal(tp_labels_get(&g[0].labels, "env"), "prod");
	assert_int_equal(g[1].labels.n, 0);
	const char ym[] = "- targets: ['x:9']\n  labels:\n    team: a\n";
	assert_int_equal(sd_parse_groups(ym, strlen(ym), false, &a, &g, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(g[0].targets[0], "x:9");
	/* broken documents are errors, not crashes */
	const char *bad[] = { "{", "{\"targets\":[]}", "[{\"targets\":[1]}]", "[{\"labels\":{\"0x\":\"v\"}}]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tp_sb_reset(&err);
		assert_int_equal(sd_parse_groups(bad[i], strlen(bad[i]), true, &a, &g, &n, &err), -1);
		assert_true(err.len > 0);
	}
	tp_sb_reset(&err);
	const char ybad[] = "- targets: [a]\n  extra: 1\n";
	assert_int_equal(sd_parse_groups(ybad, strlen(ybad), false, &a, &g, &n, &err), -1);
	tp_sb_free(&err);
	tp_arena_free(&a);
}

static void test_populate_labels(void **state)
{
	(void)state;
	config cfg;
	load_cfg("global:\n  scrape_interval: 30s\n"
		 "scrape_configs:\n"
		 "  - job_name: node\n"
		 "    params:\n      module: [http_2xx]\n"
		 "    static_configs:\n"
		 "      - targets: ['h1:9100', 'h2:9100', 'skip:1']\n"
		 "        labels: {env: prod}\n"
		 "    relabel_configs:\n"
		 "      - source_labels: [__address__]\n        regex: 'skip:.*'\n        action: drop\n"
		 "      - source_labels: [__address__]\n        regex: '(.*):9100'\n        target_label: host\n"
		 "      - target_label: __param_target\n        replacement: probe\n",
		 &cfg);
	const config_scrape *sc = cfg.scrape_configs.v[0];
	tp_arena a;
	tp_arena_init(&a);
	tp_label lv[] = { { "env", "prod" }, { "__meta_x", "m" } };
	const char *targets[] = { "h1:9100", "h2:9100", "skip:1" };
	sd_group g = { .targets = targets, .ntargets = 3, .labels = { lv, 2 } };
	tp_labels_normalize(&g.labels);
	scrape_target_spec *t;
	tp_strbuf errs = { 0 };
	size_t n = sd_scrape_targets(sc, &g, 1, &a, &t, &errs);
	assert_int_equal(n, 2);
	assert_int_equal(errs.len, 0);
	assert_string_equal(t[0].url, "http://h1:9100/metrics?module=http_2xx&target=probe");
	assert_string_equal(tp_labels_get(&t[0].labels, "job"), "node");
	assert_string_equal(tp_labels_get(&t[0].labels, "instance"), "h1:9100");
	assert_string_equal(tp_labels_get(&t[0].labels, "host"), "h1");
	assert_string_equal(tp_labels_get(&t[0].labels, "env"), "prod");
	assert_null(tp_labels_get(&t[0].labels, "__meta_x"));       /* meta labels go */
	assert_null(tp_labels_get(&t[0].labels, "__address__"));
	assert_string_equal(tp_labels_get(&t[0].discovered, "__meta_x"), "m"); /* but stay discovered */
	assert_string_equal(tp_labels_get(&t[0].discovered, "__scrape_interval__"), "30s");
	assert_int_equal(t[0].interval_ms, 30000);
	assert_int_equal(t[0].timeout_ms, 10000);
	tp_arena_free(&a);
	tp_sb_free(&errs);
	config_free(&cfg);

	/* relabeling may set interval/timeout; a timeout above the interval is refused */
	load_cfg("scrape_configs:\n  - job_name: j\n    static_configs: [{targets: ['a:1']}]\n"
		 "    relabel_configs:\n      - target_label: __scrape_timeout__\n        replacement: 2m\n",
		 &cfg);
	tp_arena_init(&a);
	const char *ta[] = { "a:1" };
	sd_group g2 = { .targets = ta, .ntargets = 1 };
	n = sd_scrape_targets(cfg.scrape_configs.v[0], &g2, 1, &a, &t, &errs);
	assert_int_equal(n, 0);
	assert_non_null(strstr(tp_sb_cstr(&errs), "scrape timeout cannot be greater than scrape interval (\"2m\" > \"1m\")"));
	tp_arena_free(&a);
	tp_sb_free(&errs);
	config_free(&cfg);
}

static void test_alertmanager_targets(void **state)
{
	(void)state;
	config cfg;
	load_cfg("alerting:\n  alertmanagers:\n    - path_prefix: /am/\n      static_configs: [{targets: ['am1:9093']}]\n",
		 &cfg);
	tp_arena a;
	tp_arena_init(&a);
	const char *ta[] = { "am1:9093" };
	sd_group g = { .targets = ta, .ntargets = 1 };
	rules_am_target *t;
	tp_strbuf errs = { 0 };
	assert_int_equal(sd_alertmanager_targets(cfg.alerting.alertmanagers.v[0], &g, 1, &a, &t, &errs), 1);
	assert_string_equal(t[0].url, "http://am1:9093/am/api/v2/alerts");
	tp_arena_free(&a);
	tp_sb_free(&errs);
	config_free(&cfg);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_file_sd_manager(void **state)
{
	(void)state;
	char dir[] = "/tmp/tp-sd-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], yaml[512];
	snprintf(path, sizeof(path), "%s/targets.json", dir);
	write_file(path, "[{\"targets\":[\"127.0.0.1:1\"],\"labels\":{\"team\":\"a\"}}]");
	snprintf(yaml, sizeof(yaml),
		 "scrape_configs:\n  - job_name: f\n    scrape_interval: 1h\n    file_sd_configs:\n      - files: ['%s/*.json']\n",
		 dir);
	config cfg;
	load_cfg(yaml, &cfg);
	tsdb_head *h = tsdb_head_new(NULL);
	scrape_manager *sm = scrape_manager_new(h);
	sd_manager *sd = sd_manager_new(sm, NULL);
	sd_manager_apply(sd, &cfg);
	tp_arena a;
	tp_arena_init(&a);
	scrape_target_status *st;
	assert_int_equal(scrape_manager_status(sm, &a, &st), 1);
	assert_string_equal(tp_labels_get(&st[0].labels, "team"), "a");
	assert_string_equal(tp_labels_get(&st[0].discovered, "__meta_filepath"), path);
	/* the file changes: the targets follow */
	usleep(20 * 1000);
	write_file(path, "[{\"targets\":[\"127.0.0.1:1\",\"127.0.0.1:2\"],\"labels\":{\"team\":\"a\"}}]");
	sd_manager_refresh(sd);
	assert_int_equal(scrape_manager_status(sm, &a, &st), 2);
	/* a broken file keeps the last good targets */
	usleep(20 * 1000);
	write_file(path, "[{\"targets\":");
	sd_manager_refresh(sd);
	assert_int_equal(scrape_manager_status(sm, &a, &st), 2);
	/* and a new file joins in */
	char p2[128];
	snprintf(p2, sizeof(p2), "%s/more.json", dir);
	write_file(p2, "[{\"targets\":[\"127.0.0.1:3\"]}]");
	write_file(path, "[]");
	sd_manager_refresh(sd);
	assert_int_equal(scrape_manager_status(sm, &a, &st), 1);
	tp_arena_free(&a);
	sd_manager_free(sd);
	scrape_manager_free(sm);
	tsdb_head_free(h);
	config_free(&cfg);
	unlink(path);
	unlink(p2);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_groups),
		cmocka_unit_test(test_populate_labels),
		cmocka_unit_test(test_alertmanager_targets),
		cmocka_unit_test(test_file_sd_manager),
	};
	return cmocka_run_group_tests_name("discovery", tests, NULL, NULL);
}
