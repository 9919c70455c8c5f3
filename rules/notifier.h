/* SPDX-License-Identifier: Apache-2.0
 * notifier.h - sends alerts to Alertmanagers: POST /api/v2/alerts with a
 * JSON array of {labels, annotations, startsAt, endsAt, generatorURL}.
 *
 * As Prometheus's notifier: a bounded queue (oldest dropped when full,
 * counted), batches of at most max_batch alerts, each batch sent to every
 * configured Alertmanager concurrently with a per-request timeout, any 2xx
 * is success, no retry (the rule engine's resend delay heals failures).
 * External labels are added when absent, then the relabel hook runs (an
 * alert it drops is not sent). A sender thread does the I/O. */
#ifndef RULES_NOTIFIER_H
#define RULES_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/labels.h"
#include "rules/group.h"

typedef struct rules_notifier rules_notifier;

typedef struct rules_am_target {
	char *url;             /* full URL ending in /api/v2/alerts */
	char *basic_user;      /* NULL: no basic auth */
	char *basic_password;
	char *bearer_token;    /* NULL: no Authorization: Bearer */
	int64_t timeout_ms;    /* 0: 10 s */
	char *ca_file;         /* TLS; NULL: system CAs */
	int insecure_skip_verify;
} rules_am_target;

/* Relabels an alert's labels into *out (arena); returns 0 to keep, 1 to
 * drop. NULL hook: keep all. */
typedef int rules_relabel_fn(void *ud, const tp_labels *in, tp_arena *a, tp_labels *out);

typedef struct rules_notifier_opts {
	size_t queue_capacity;        /* 0: 10000 */
	size_t max_batch;             /* 0: 256 */
	const tp_labels *external_labels;
	rules_relabel_fn *relabel;
	void *relabel_ud;
	const char *user_agent;       /* 0: "tinyprom/<version>" */
} rules_notifier_opts;

typedef struct rules_notifier_stats {
	uint64_t sent;          /* alerts delivered (per Alertmanager) */
	uint64_t errors;        /* alerts in batches that failed (per Alertmanager) */
	uint64_t dropped;       /* alerts dropped: queue full, or not sent because every AM failed */
	uint64_t queue_length;
	uint64_t queue_capacity;
	uint64_t alertmanagers;
} rules_notifier_stats;

rules_notifier *rules_notifier_new(const rules_notifier_opts *opts);
/* Stops the sender after one last attempt to send what is queued. */
void rules_notifier_free(rules_notifier *n);
/* Replaces the Alertmanagers (copies them). */
void rules_notifier_set_targets(rules_notifier *n, const rules_am_target *t, size_t count);
/* Replaces the external labels (a reload); batches cut later use them. */
void rules_notifier_set_external_labels(rules_notifier *n, const tp_labels *l);
/* Enqueues alerts (copied); a rules_notify_fn with ud = the notifier. */
void rules_notifier_send(void *notifier, const rules_notify_alert *alerts, size_t count);
void rules_notifier_stats_get(rules_notifier *n, rules_notifier_stats *out);
/* Blocks until the queue is empty and nothing is in flight, or timeout_ms
 * passed. Returns 0 when drained. For tests and shutdown. */
int rules_notifier_flush(rules_notifier *n, int64_t timeout_ms);

/* The URLs of the current Alertmanagers, copied into a. Returns the count. */
size_t rules_notifier_urls(rules_notifier *n, tp_arena *a, const char ***out);

/* The JSON body for a batch (exposed for tests). malloc'd. */
char *rules_notifier_encode(const rules_notify_alert *alerts, size_t count);

#endif
