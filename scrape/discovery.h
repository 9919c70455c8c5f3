/* SPDX-License-Identifier: Apache-2.0
 * discovery.h - service discovery (static_configs, file_sd_configs,
 * http_sd_configs) and turning target groups into scrape targets and
 * Alertmanager URLs with Prometheus's label conventions (__address__,
 * __scheme__, __metrics_path__, __param_*, __scrape_interval__,
 * __scrape_timeout__, __meta_filepath, __meta_url) and relabel_configs.
 *
 * The discovery manager owns a thread that re-reads file SD files when
 * they change (and at their refresh interval), polls HTTP SD endpoints,
 * and re-syncs the scrape manager and the notifier when anything changed;
 * unchanged targets keep running. */
#ifndef SCRAPE_DISCOVERY_H
#define SCRAPE_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "lib/arena.h"
#include "lib/labels.h"
#include "lib/strbuf.h"
#include "rules/notifier.h"
#include "scrape/manager.h"

/* A target group: addresses sharing labels. */
typedef struct sd_group {
	const char **targets;
	size_t ntargets;
	tp_labels labels;      /* group labels, including __meta_* */
} sd_group;

/* Parses a file/HTTP SD document: a JSON (json = true) or YAML list of
 * {"targets": [...], "labels": {...}}. Groups and strings live in a.
 * Returns 0, or -1 with the error appended to err. */
int sd_parse_groups(const char *text, size_t len, bool json, tp_arena *a, sd_group **out, size_t *n,
		    tp_strbuf *err);

/* Scrape targets of job sc from its groups, as Prometheus's
 * PopulateLabels does. Dropped targets are skipped; broken ones are
 * reported in errs (one line each) and skipped. Specs live in a. */
size_t sd_scrape_targets(const config_scrape *sc, const sd_group *groups, size_t ng, tp_arena *a,
			 scrape_target_spec **out, tp_strbuf *errs);
/* Alertmanager targets (URLs ending in /api/v2/alerts) of am. */
size_t sd_alertmanager_targets(const config_alertmanager *am, const sd_group *groups, size_t ng, tp_arena *a,
			       rules_am_target **out, tp_strbuf *errs);

typedef struct sd_manager sd_manager;

/* sm and nt may be NULL (then that side is not synced). */
sd_manager *sd_manager_new(scrape_manager *sm, rules_notifier *nt);
/* Switches to cfg (which must stay valid until the next apply or free):
 * discovers synchronously once, syncs, then keeps watching. */
void sd_manager_apply(sd_manager *m, const config *cfg);
/* Re-reads every file and endpoint now and syncs if anything changed
 * (tests; the thread does this by itself). */
void sd_manager_refresh(sd_manager *m);
void sd_manager_free(sd_manager *m);

#endif
