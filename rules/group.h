/* SPDX-License-Identifier: Apache-2.0
 * group.h - evaluating rule groups: recording rules append their output,
 * alerting rules run the inactive -> pending -> firing state machine with
 * `for` and `keep_firing_for`, write ALERTS / ALERTS_FOR_STATE, expand
 * templates and hand alerts that need sending to a notify callback.
 *
 * Semantics follow Prometheus's rules package: rules run in order inside a
 * group (a later rule sees an earlier one's output at the same timestamp),
 * series that leave a rule's output get a stale marker, resolved alerts
 * are kept (and re-sent) for 15 minutes. One group is evaluated by one
 * thread at a time; reading its state for the API takes its lock. */
#ifndef RULES_GROUP_H
#define RULES_GROUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/labels.h"
#include "promql/engine.h"
#include "rules/rulefile.h"
#include "tsdb/tsdb.h"

#define RULES_RESOLVED_RETENTION_MS (15 * 60 * 1000)

typedef enum rules_alert_state {
	RULES_ALERT_INACTIVE = 0,
	RULES_ALERT_PENDING,
	RULES_ALERT_FIRING,
} rules_alert_state;
const char *rules_alert_state_str(rules_alert_state s);  /* "inactive", "pending", "firing" */

typedef struct rules_alert {
	tp_labels labels;         /* without __name__, with alertname; owned (malloc) */
	tp_labels annotations;    /* expanded; owned */
	uint64_t hash;
	rules_alert_state state;
	double value;
	int64_t active_at_ms;
	int64_t fired_at_ms;       /* 0: never */
	int64_t resolved_at_ms;    /* 0: not resolved */
	int64_t last_sent_ms;      /* 0: never */
	int64_t valid_until_ms;
	int64_t keep_firing_since_ms;  /* 0: not keeping */
} rules_alert;

typedef enum rules_health {
	RULES_HEALTH_UNKNOWN = 0,
	RULES_HEALTH_OK,
	RULES_HEALTH_ERR,
} rules_health;
const char *rules_health_str(rules_health h);  /* "unknown", "ok", "err" */

typedef struct rules_rule_state {
	const rules_rule *rule;   /* the configuration (owned by the group's file) */
	rules_health health;
	char *last_error;         /* malloc'd, NULL when none */
	int64_t last_eval_ms;
	double eval_seconds;
	/* alerting */
	rules_alert *alerts;      /* active and recently resolved */
	size_t nalerts, capalerts;
	/* series written at the previous evaluation (for stale markers) */
	tp_labels *prev;          /* owned label sets */
	size_t nprev;
} rules_rule_state;

/* An alert handed to the notifier: Alertmanager's fields. */
typedef struct rules_notify_alert {
	const tp_labels *labels;
	const tp_labels *annotations;
	int64_t starts_at_ms;
	int64_t ends_at_ms;
	const char *generator_url;
} rules_notify_alert;
typedef void rules_notify_fn(void *ud, const rules_notify_alert *alerts, size_t n);

typedef struct rules_group_opts {
	int64_t default_interval_ms;     /* global evaluation_interval */
	int64_t default_query_offset_ms; /* global rule_query_offset */
	int64_t resend_delay_ms;         /* --rules.alert.resend-delay (1m) */
	const tp_labels *external_labels;
	const char *external_url;
	rules_notify_fn *notify;         /* may be NULL */
	void *notify_ud;
} rules_group_opts;

typedef struct rules_group_state {
	const rules_group *cfg;
	rules_group_opts opts;
	int64_t interval_ms;
	rules_rule_state *rules;
	size_t nrules;
	int64_t last_eval_ms;
	double eval_seconds;
	bool restored;                   /* false until ALERTS_FOR_STATE was read back (start-up) */
	pthread_mutex_t mu;              /* guards everything above against API readers */
} rules_group_state;

rules_group_state *rules_group_state_new(const rules_group *cfg, const rules_group_opts *opts);
void rules_group_state_free(rules_group_state *g);
/* Carries alert state over from an older state of a group with the same
 * name and file (reload): alerting rules with the same name, expression,
 * for, labels and annotations keep their alerts. */
void rules_group_state_inherit(rules_group_state *g, rules_group_state *old);

/* Evaluates every rule of the group at ts_ms, appending outputs to head.
 * A group that is not `restored` yet (start-up) writes no ALERTS series in
 * this evaluation; afterwards its alerts that are active again take their
 * ActiveAt back from ALERTS_FOR_STATE, as Prometheus's RestoreForState
 * (outage tolerance 1h, grace period 10m, rules with `for` >= 10m). */
void rules_group_eval(rules_group_state *g, promql_engine *e, tsdb_head *head, int64_t ts_ms);

#define RULES_OUTAGE_TOLERANCE_MS (3600 * 1000)
#define RULES_FOR_GRACE_PERIOD_MS (10 * 60 * 1000)

/* The evaluation timestamp of the group's next run after now_ms, aligned as
 * Prometheus aligns it (a stable offset derived from the group's name and
 * file hash within the interval). */
int64_t rules_group_next_eval(const rules_group_state *g, int64_t now_ms);

#endif
