/* SPDX-License-Identifier: Apache-2.0
 * manager.h - the set of loaded rule groups: loading and reloading rule
 * files (a failed load keeps the running set; a successful one carries the
 * alert state of unchanged rules over), the evaluation thread that runs
 * each group at its aligned interval, and the JSON documents of
 * /api/v1/rules and /api/v1/alerts in Prometheus's shapes. */
#ifndef RULES_MANAGER_H
#define RULES_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"
#include "promql/engine.h"
#include "rules/group.h"
#include "tsdb/tsdb.h"

typedef struct rules_manager rules_manager;

typedef struct rules_manager_opts {
	promql_engine *engine;
	tsdb_head *head;
	rules_group_opts group;       /* intervals, resend delay, external labels/URL, notify */
	promql_parse_opts parse;
	bool restore_for_state;       /* the server: groups of the first load restore `for` state */
} rules_manager_opts;

rules_manager *rules_manager_new(const rules_manager_opts *o);
void rules_manager_free(rules_manager *m);  /* stops the thread first */
/* Replaces the rule files (paths already glob-resolved). On any error
 * nothing changes, errs gets "file: error" lines and -1 is returned. */
int rules_manager_update(rules_manager *m, const char *const *files, size_t n, tp_strbuf *errs);
/* Updates the options that come from the configuration (reload). */
void rules_manager_set_group_opts(rules_manager *m, const rules_group_opts *g);
void rules_manager_start(rules_manager *m);
void rules_manager_stop(rules_manager *m);
/* Evaluates every group once at ts_ms, synchronously (tests, `test rules`). */
void rules_manager_eval_all(rules_manager *m, int64_t ts_ms);
size_t rules_manager_group_count(rules_manager *m);

/* Copies (into a) the labels and annotations of every alert in `state`
 * of the alerting rules named alertname. Returns the count. */
size_t rules_manager_collect_alerts(rules_manager *m, const char *alertname, rules_alert_state state, tp_arena *a,
				    tp_labels **labels, tp_labels **annotations);
/* Orders groups by their position in names (unlisted groups count as
 * position 0, as promtool's group_eval_order does); stable. */
void rules_manager_order_groups(rules_manager *m, const char *const *names, size_t n);
/* Appends "    rule: NAME, time: T, err: E" lines for rules whose last
 * evaluation failed (promtool's format; T as Go's time.Duration). */
void rules_manager_rule_errors(rules_manager *m, int64_t ts_ms, tp_strbuf *out);
/* Go's time.Duration.String() of a millisecond count: "0s", "1m30s",
 * "1h0m0s", "1.5s", "500ms". */
size_t rules_format_go_duration(char *buf, int64_t ms);

/* Filters of /api/v1/rules. NULL lists mean no filter. */
typedef struct rules_api_filter {
	const char *type;                 /* NULL, "alert" or "record" */
	const char *const *rule_names;
	size_t nrule_names;
	const char *const *group_names;
	size_t ngroup_names;
	const char *const *files;
	size_t nfiles;
	bool exclude_alerts;
} rules_api_filter;

/* The `data` object of /api/v1/rules. Returns 0 and appends JSON to out,
 * or -1 with a bad_data error text appended to out instead. */
int rules_manager_rules_json(rules_manager *m, const rules_api_filter *f, tp_strbuf *out);
/* The `data` object of /api/v1/alerts: {"alerts":[...]} (active only). */
void rules_manager_alerts_json(rules_manager *m, tp_strbuf *out);

/* Go's strconv.FormatFloat(v, 'e', -1, 64): "1e+00", "2.5e-01". */
size_t rules_format_float_e(char *buf, double v);

#endif
