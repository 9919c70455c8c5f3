/* SPDX-License-Identifier: Apache-2.0
 * test_rules.c - rule files, recording and alerting rules over a real head
 * and engine: the state machine with for / keep_firing_for, ALERTS and
 * ALERTS_FOR_STATE, stale markers, notifications, limits, reload, the API
 * documents. Expected rule-file errors are promtool 2.42's output. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/manager.h"
#include "rules/template.h"

#define MIN_MS 60000LL

static char *write_tmp(const char *content)
{
	char *path = strdup("/tmp/tp-rules-XXXXXX.yml");
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

/* up{instance=i, job="node"} = v at t */
static void add_up(tsdb_head *h, const char *inst, int64_t t, double v)
{
	tp_label lv[] = { { "__name__", "up" }, { "instance", inst }, { "job", "node" } };
	tp_labels l = { lv, 3 };
	tsdb_appender *a = tsdb_appender_new(h);
	assert_int_equal(tsdb_appender_add(a, &l, t, v, NULL), TSDB_OK);
	tsdb_appender_commit(a);
	tsdb_appender_free(a);
}

/* Value of the single series selected by query at t, or NAN when none. */
static double query1(promql_engine *e, const char *q, int64_t t, size_t *n)
{
	promql_result r;
	assert_int_equal(promql_query_instant(e, q, t, &r), PROMQL_OK);
	*n = r.nseries;
	double v = r.nseries ? r.series[0].points[0].v : NAN;
	promql_result_free(&r);
	return v;
}

typedef struct captured {
	int calls;
	int n;
	char alertname[64];
	int64_t starts, ends;
	char summary[128];
	char gen[256];
} captured;

static void capture(void *ud, const rules_notify_alert *a, size_t n)
{
	captured *c = ud;
	c->calls++;
	c->n = (int)n;
	const char *an = tp_labels_get(a[0].labels, "alertname");
	snprintf(c->alertname, sizeof(c->alertname), "%s", an ? an : "");
	const char *s = tp_labels_get(a[0].annotations, "summary");
	snprintf(c->summary, sizeof(c->summary), "%s", s ? s : "");
	snprintf(c->gen, sizeof(c->gen), "%s", a[0].generator_url ? a[0].generator_url : "");
	c->starts = a[0].starts_at_ms;
	c->ends = a[0].ends_at_ms;
}

typedef struct fixture {
	tsdb_head *head;
	promql_engine *eng;
	rules_manager *m;
	captured cap;
	char *path;
} fixture;

static void fixture_init(fixture *f, const char *rules_yaml)
{
	memset(f, 0, sizeof(*f));
	f->head = tsdb_head_new(NULL);
	promql_engine_opts eo = { 0 };
	f->eng = promql_engine_new(f->head, &eo);
	rules_manager_opts o = { .engine = f->eng, .head = f->head,
				 .group = { .default_interval_ms = MIN_MS, .resend_delay_ms = MIN_MS,
					    .external_url = "http://prom:9090", .notify = capture,
					    .notify_ud = &f->cap } };
	f->m = rules_manager_new(&o);
	f->path = write_tmp(rules_yaml);
	tp_strbuf errs = { 0 };
	const char *files[] = { f->path };
	int rc = rules_manager_update(f->m, files, 1, &errs);
	if (rc != 0)
		print_error("%s\n", tp_sb_cstr(&errs));
	assert_int_equal(rc, 0);
	tp_sb_free(&errs);
}

static void fixture_free(fixture *f)
{
	rules_manager_free(f->m);
	promql_engine_free(f->eng);
	tsdb_head_free(f->head);
	unlink(f->path);
	free(f->path);
}

static const char alert_rules[] =
	"groups:\n"
	"  - name: node\n"
	"    rules:\n"
	"      - alert: InstanceDown\n"
	"        expr: up == 0\n"
	"        for: 2m\n"
	"        labels:\n"
	"          severity: page\n"
	"        annotations:\n"
	"          summary: \"{{ $labels.instance }} of {{ $labels.job }} down ({{ $value }})\"\n";

static void test_alert_state_machine(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f, alert_rules);
	int64_t t = 1000 * MIN_MS;
	size_t n;
	/* up = 1: nothing */
	add_up(f.head, "a", t, 1);
	rules_manager_eval_all(f.m, t);
	query1(f.eng, "ALERTS", t, &n);
	assert_int_equal(n, 0);
	/* down at t+1m: pending, not sent */
	add_up(f.head, "a", t + MIN_MS, 0);
	rules_manager_eval_all(f.m, t + MIN_MS);
	assert_true(query1(f.eng, "ALERTS{alertstate=\"pending\",alertname=\"InstanceDown\",severity=\"page\"}",
			   t + MIN_MS, &n) == 1);
	assert_int_equal(n, 1);
	assert_true(query1(f.eng, "ALERTS_FOR_STATE", t + MIN_MS, &n) == (double)((t + MIN_MS) / 1000));
	assert_int_equal(f.cap.calls, 0);
	/* still down at t+2m: 1m < for */
	add_up(f.head, "a", t + 2 * MIN_MS, 0);
	rules_manager_eval_all(f.m, t + 2 * MIN_MS);
	assert_int_equal(f.cap.calls, 0);
	/* t+3m: 2m since active -> firing, sent */
	add_up(f.head, "a", t + 3 * MIN_MS, 0);
	rules_manager_eval_all(f.m, t + 3 * MIN_MS);
	query1(f.eng, "ALERTS{alertstate=\"firing\"}", t + 3 * MIN_MS, &n);
	assert_int_equal(n, 1);
	/* the pending series ended with a stale marker */
	query1(f.eng, "ALERTS{alertstate=\"pending\"}", t + 3 * MIN_MS, &n);
	assert_int_equal(n, 0);
	assert_int_equal(f.cap.calls, 1);
	assert_string_equal(f.cap.alertname, "InstanceDown");
	assert_string_equal(f.cap.summary, "a of node down (0)");
	assert_int_equal(f.cap.starts, t + 3 * MIN_MS);
	assert_int_equal(f.cap.ends, t + 3 * MIN_MS + 4 * MIN_MS);
	assert_non_null(strstr(f.cap.gen, "http://prom:9090/graph?g0.expr=up+%3D%3D+0"));

	/* the API documents */
	tp_strbuf sb = { 0 };
	rules_manager_alerts_json(f.m, &sb);
	cJSON *d = cJSON_Parse(tp_sb_cstr(&sb));
	cJSON *al = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "alerts"), 0);
	assert_string_equal(cJSON_GetObjectItem(al, "state")->valuestring, "firing");
	assert_string_equal(cJSON_GetObjectItem(al, "value")->valuestring, "0e+00");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(al, "labels"), "severity")->valuestring, "page");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(al, "labels"), "__name__"));
	cJSON_Delete(d);
	tp_sb_reset(&sb);
	rules_api_filter flt = { 0 };
	assert_int_equal(rules_manager_rules_json(f.m, &flt, &sb), 0);
	d = cJSON_Parse(tp_sb_cstr(&sb));
	cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "groups"), 0);
	assert_string_equal(cJSON_GetObjectItem(g, "name")->valuestring, "node");
	assert_true(cJSON_GetObjectItem(g, "interval")->valuedouble == 60);
	cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "rules"), 0);
	assert_string_equal(cJSON_GetObjectItem(r, "type")->valuestring, "alerting");
	assert_string_equal(cJSON_GetObjectItem(r, "state")->valuestring, "firing");
	assert_string_equal(cJSON_GetObjectItem(r, "query")->valuestring, "up == 0");
	assert_true(cJSON_GetObjectItem(r, "duration")->valuedouble == 120);
	assert_string_equal(cJSON_GetObjectItem(r, "health")->valuestring, "ok");
	cJSON_Delete(d);
	tp_sb_reset(&sb);
	flt.type = "bogus";
	assert_int_equal(rules_manager_rules_json(f.m, &flt, &sb), -1);
	assert_string_equal(tp_sb_cstr(&sb), "invalid parameter \"type\": not supported value \"bogus\"");
	tp_sb_free(&sb);

	/* t+3m30s: no resend before the resend delay */
	rules_manager_eval_all(f.m, t + 3 * MIN_MS + 30000);
	assert_int_equal(f.cap.calls, 1);
	/* recovers at t+5m: resolved and sent with endsAt = resolve time */
	add_up(f.head, "a", t + 5 * MIN_MS, 1);
	rules_manager_eval_all(f.m, t + 5 * MIN_MS);
	assert_int_equal(f.cap.calls, 2);
	assert_int_equal(f.cap.ends, t + 5 * MIN_MS);
	query1(f.eng, "ALERTS", t + 5 * MIN_MS, &n);
	assert_int_equal(n, 0);
	/* resolved alerts are re-sent for 15 minutes, then forgotten */
	rules_manager_eval_all(f.m, t + 7 * MIN_MS);
	assert_int_equal(f.cap.calls, 3);
	rules_manager_eval_all(f.m, t + 22 * MIN_MS);
	int calls = f.cap.calls;
	rules_manager_eval_all(f.m, t + 24 * MIN_MS);
	assert_int_equal(f.cap.calls, calls);
	fixture_free(&f);
}

static void test_keep_firing_for_and_pending_drop(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    keep_firing_for: 3m\n"
			 "  - alert: B\n    expr: up == 0\n    for: 10m\n");
	int64_t t = 2000 * MIN_MS;
	size_t n;
	add_up(f.head, "a", t, 0);
	rules_manager_eval_all(f.m, t);
	/* A fires at once (for: 0); B pending */
	query1(f.eng, "ALERTS{alertname=\"A\",alertstate=\"firing\"}", t, &n);
	assert_int_equal(n, 1);
	query1(f.eng, "ALERTS{alertname=\"B\",alertstate=\"pending\"}", t, &n);
	assert_int_equal(n, 1);
	add_up(f.head, "a", t + MIN_MS, 1);
	rules_manager_eval_all(f.m, t + MIN_MS);
	/* A keeps firing; B's pending alert is gone at once */
	query1(f.eng, "ALERTS{alertname=\"A\",alertstate=\"firing\"}", t + MIN_MS, &n);
	assert_int_equal(n, 1);
	query1(f.eng, "ALERTS{alertname=\"B\"}", t + MIN_MS, &n);
	assert_int_equal(n, 0);
	add_up(f.head, "a", t + 3 * MIN_MS, 1);
	rules_manager_eval_all(f.m, t + 3 * MIN_MS);
	query1(f.eng, "ALERTS{alertname=\"A\"}", t + 3 * MIN_MS, &n);
	assert_int_equal(n, 1);
	add_up(f.head, "a", t + 4 * MIN_MS, 1);
	rules_manager_eval_all(f.m, t + 4 * MIN_MS);
	query1(f.eng, "ALERTS{alertname=\"A\"}", t + 4 * MIN_MS, &n);
	assert_int_equal(n, 0);
	fixture_free(&f);
}

static void test_recording_and_staleness(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f, "groups:\n- name: rec\n  labels:\n    team: infra\n  rules:\n"
			 "  - record: job:up:sum\n    expr: sum by (job) (up)\n    labels:\n      src: rule\n"
			 "  - record: job:up:double\n    expr: job:up:sum * 2\n"
			 "  - record: inst:up\n    expr: up\n");
	int64_t t = 3000 * MIN_MS;
	size_t n;
	add_up(f.head, "a", t, 1);
	add_up(f.head, "b", t, 1);
	rules_manager_eval_all(f.m, t);
	assert_true(query1(f.eng, "job:up:sum{job=\"node\",src=\"rule\",team=\"infra\"}", t, &n) == 2);
	assert_int_equal(n, 1);
	/* a later rule sees the earlier one's output at the same timestamp */
	assert_true(query1(f.eng, "job:up:double", t, &n) == 4);
	query1(f.eng, "inst:up", t, &n);
	assert_int_equal(n, 2);
	/* instance b ends (a stale marker in its source): the rule's copy of it
	 * must end too, although its last sample is still within the lookback */
	add_up(f.head, "a", t + MIN_MS, 1);
	add_up(f.head, "b", t + MIN_MS, tsdb_stale_nan());
	rules_manager_eval_all(f.m, t + MIN_MS);
	query1(f.eng, "inst:up", t + MIN_MS, &n);
	assert_int_equal(n, 1);
	query1(f.eng, "inst:up{instance=\"b\"}", t + MIN_MS, &n);
	assert_int_equal(n, 0);
	fixture_free(&f);
}

static void test_rule_errors_at_eval(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f, "groups:\n- name: g\n  limit: 1\n  rules:\n"
			 "  - record: r\n    expr: up\n"
			 "  - alert: Dup\n    expr: up\n    labels:\n      instance: same\n");
	int64_t t = 4000 * MIN_MS;
	add_up(f.head, "a", t, 1);
	add_up(f.head, "b", t, 1);
	rules_manager_eval_all(f.m, t);
	tp_strbuf sb = { 0 };
	rules_api_filter flt = { 0 };
	rules_manager_rules_json(f.m, &flt, &sb);
	cJSON *d = cJSON_Parse(tp_sb_cstr(&sb));
	cJSON *rules = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "groups"), 0), "rules");
	cJSON *r0 = cJSON_GetArrayItem(rules, 0), *r1 = cJSON_GetArrayItem(rules, 1);
	assert_string_equal(cJSON_GetObjectItem(r0, "health")->valuestring, "err");
	assert_string_equal(cJSON_GetObjectItem(r0, "lastError")->valuestring, "exceeded limit of 1 with 2 series");
	assert_string_equal(cJSON_GetObjectItem(r1, "lastError")->valuestring,
			    "vector contains metrics with the same labelset after applying alert labels");
	cJSON_Delete(d);
	tp_sb_free(&sb);
	fixture_free(&f);
}

static void test_rule_file_errors(void **state)
{
	(void)state;
	/* the texts promtool 2.42 prints for the same file */
	char *p = write_tmp("groups:\n"
			    "  - name: g1\n"
			    "    rules:\n"
			    "      - record: job:up:sum\n"
			    "        expr: sum by (job) (up\n"
			    "      - alert: Down\n"
			    "        record: x\n"
			    "        expr: up == 0\n"
			    "      - record: \"bad name\"\n"
			    "        expr: up\n"
			    "        for: 5m\n"
			    "  - name: g1\n"
			    "    rules:\n"
			    "      - alert: A\n"
			    "        expr: up\n"
			    "        labels:\n"
			    "          \"0bad\": x\n");
	rules_file rf;
	tp_strbuf e = { 0 };
	promql_parse_opts po = { 0 };
	assert_int_equal(rules_file_load(p, &po, &rf, &e), 6);
	const char *want =
		"5:15: group \"g1\", rule 1, \"job:up:sum\": could not parse expression: 1:17: parse error: unclosed left parenthesis\n"
		"7:17: 6:16: group \"g1\", rule 2, \"Down\": only one of 'record' and 'alert' must be set\n"
		"9:17: group \"g1\", rule 3, \"bad name\": invalid field 'for' in recording rule\n"
		"9:17: group \"g1\", rule 3, \"bad name\": invalid recording rule name: bad name\n"
		"12:5: groupname: \"g1\" is repeated in the same file\n"
		"group \"g1\", rule 1, \"A\": invalid label name: 0bad\n";
	assert_string_equal(tp_sb_cstr(&e), want);
	unlink(p);
	free(p);
	tp_sb_reset(&e);

	p = write_tmp("groups:\n  - name: g1\n    rules:\n      - record: a\n        expr: up\n        foo: bar\n");
	assert_int_equal(rules_file_load(p, &po, &rf, &e), 1);
	assert_string_equal(tp_sb_cstr(&e), "yaml: unmarshal errors:\n  line 6: field foo not found in type rulefmt.RuleNode\n");
	unlink(p);
	free(p);
	tp_sb_reset(&e);

	p = write_tmp("groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up\n    for: abc\n");
	assert_int_equal(rules_file_load(p, &po, &rf, &e), 1);
	assert_string_equal(tp_sb_cstr(&e), "not a valid duration string: \"abc\"\n");
	unlink(p);
	free(p);
	tp_sb_reset(&e);

	p = write_tmp("groups:\n- name: a\n  rules:\n  - alert: X\n    labels: [a]\n");
	assert_int_equal(rules_file_load(p, &po, &rf, &e), 1);
	assert_string_equal(tp_sb_cstr(&e), "yaml: unmarshal errors:\n  line 5: cannot unmarshal !!seq into map[string]string\n");
	unlink(p);
	free(p);
	tp_sb_free(&e);
}

static void test_reload_keeps_state(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f, alert_rules);
	int64_t t = 5000 * MIN_MS;
	size_t n;
	add_up(f.head, "a", t, 0);
	rules_manager_eval_all(f.m, t);
	/* reload the same file plus a new group: the pending alert keeps its ActiveAt */
	char *p2 = write_tmp("groups:\n- name: other\n  rules:\n  - record: x\n    expr: vector(1)\n");
	const char *files[] = { f.path, p2 };
	tp_strbuf errs = { 0 };
	assert_int_equal(rules_manager_update(f.m, files, 2, &errs), 0);
	assert_int_equal(rules_manager_group_count(f.m), 2);
	add_up(f.head, "a", t + 2 * MIN_MS, 0);
	rules_manager_eval_all(f.m, t + 2 * MIN_MS);
	query1(f.eng, "ALERTS{alertstate=\"firing\"}", t + 2 * MIN_MS, &n);
	assert_int_equal(n, 1);
	/* a broken reload changes nothing */
	char *bad = write_tmp("groups:\n- name: x\n  rules:\n  - record: y\n    expr: (\n");
	const char *badfiles[] = { bad };
	assert_int_equal(rules_manager_update(f.m, badfiles, 1, &errs), -1);
	assert_non_null(strstr(tp_sb_cstr(&errs), "could not parse expression"));
	assert_int_equal(rules_manager_group_count(f.m), 2);
	tp_sb_free(&errs);
	unlink(p2);
	unlink(bad);
	free(p2);
	free(bad);
	fixture_free(&f);
}

/* A restart in the middle of a pending `for` keeps the progress: the alert
 * fires at ActiveAt + for + downtime, not at restart + for. */
static void test_restore_for_state(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	promql_engine_opts eo = { 0 };
	promql_engine *e = promql_engine_new(h, &eo);
	char *path = write_tmp("groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: up == 0\n    for: 15m\n");
	const char *files[] = { path };
	tp_strbuf errs = { 0 };
	int64_t t = 6000 * MIN_MS;
	rules_manager_opts o = { .engine = e, .head = h, .group = { .default_interval_ms = MIN_MS },
				 .restore_for_state = true };
	rules_manager *m = rules_manager_new(&o);
	assert_int_equal(rules_manager_update(m, files, 1, &errs), 0);
	for (int i = 0; i <= 5; i++) {
		add_up(h, "a", t + i * MIN_MS, 0);
		rules_manager_eval_all(m, t + i * MIN_MS);
	}
	size_t n;
	/* the first evaluation after start-up wrote no ALERTS; the later ones did */
	query1(e, "ALERTS_FOR_STATE", t + 5 * MIN_MS, &n);
	assert_int_equal(n, 1);
	assert_true(query1(e, "ALERTS_FOR_STATE", t + 5 * MIN_MS, &n) == (double)(t / 1000));
	rules_manager_free(m);

	/* down for 3 minutes, then a new manager over the same (replayed) head */
	m = rules_manager_new(&o);
	assert_int_equal(rules_manager_update(m, files, 1, &errs), 0);
	tp_arena a;
	tp_arena_init(&a);
	tp_labels *l, *an;
	for (int i = 8; i <= 18; i++) {
		add_up(h, "a", t + i * MIN_MS, 0);
		rules_manager_eval_all(m, t + i * MIN_MS);
		size_t firing = rules_manager_collect_alerts(m, "Slow", RULES_ALERT_FIRING, &a, &l, &an);
		/* restored ActiveAt = t + 3m (t plus the downtime): fires at t + 18m */
		if (i < 18)
			assert_int_equal(firing, 0);
		else
			assert_int_equal(firing, 1);
	}
	tp_arena_free(&a);
	rules_manager_free(m);
	tp_sb_free(&errs);
	unlink(path);
	free(path);
	promql_engine_free(e);
	tsdb_head_free(h);
}

static void test_float_e(void **state)
{
	(void)state;
	char b[40];
	struct { double v; const char *s; } c[] = { { 1, "1e+00" }, { 0.25, "2.5e-01" }, { 0, "0e+00" },
						    { 123456, "1.23456e+05" }, { -1e-10, "-1e-10" }, { 1e100, "1e+100" } };
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		rules_format_float_e(b, c[i].v);
		assert_string_equal(b, c[i].s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_float_e),
		cmocka_unit_test(test_rule_file_errors),
		cmocka_unit_test(test_alert_state_machine),
		cmocka_unit_test(test_keep_firing_for_and_pending_drop),
		cmocka_unit_test(test_recording_and_staleness),
		cmocka_unit_test(test_rule_errors_at_eval),
		cmocka_unit_test(test_reload_keeps_state),
		cmocka_unit_test(test_restore_for_state),
	};
	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
