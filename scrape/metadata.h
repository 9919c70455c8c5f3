/* SPDX-License-Identifier: Apache-2.0
 * metadata.h - per-target metric metadata (TYPE, HELP, UNIT per metric
 * family), the store behind /api/v1/metadata and `check metrics`.
 * Invariants: entries keep insertion order (first TYPE/HELP/UNIT seen for a
 * family); strings are owned by the store (NUL-terminated copies); a family
 * appears once however often it is described; lookups are O(1) on average. */
#ifndef SCRAPE_METADATA_H
#define SCRAPE_METADATA_H

#include <stdbool.h>
#include <stddef.h>

#include "scrape/expfmt.h"

typedef struct scrape_metadata_entry {
	char *name;               /* metric family name */
	scrape_metric_type type;  /* SCRAPE_TYPE_UNKNOWN when no TYPE */
	char *help;               /* NULL when no HELP */
	char *unit;               /* NULL when no UNIT */
	bool has_type;
	unsigned type_count;      /* TYPE lines seen for this name */
	unsigned help_count;      /* HELP lines seen for this name */
} scrape_metadata_entry;

typedef struct scrape_metadata scrape_metadata;

scrape_metadata *scrape_metadata_new(void);
void scrape_metadata_free(scrape_metadata *m); /* NULL is a no-op */
void scrape_metadata_clear(scrape_metadata *m);

/* Finds or adds the entry for name. */
scrape_metadata_entry *scrape_metadata_upsert(scrape_metadata *m, const char *name, size_t nlen);
/* NULL when the family is unknown. */
const scrape_metadata_entry *scrape_metadata_get(const scrape_metadata *m, const char *name, size_t nlen);
size_t scrape_metadata_count(const scrape_metadata *m);
const scrape_metadata_entry *scrape_metadata_at(const scrape_metadata *m, size_t i);

/* Records the parser's current TYPE, HELP or UNIT entry (other entries are
 * ignored); returns the entry touched or NULL. A later HELP/UNIT replaces an
 * earlier one, as Prometheus's scrape cache does. */
scrape_metadata_entry *scrape_metadata_observe(scrape_metadata *m, scrape_parser *p, scrape_entry e);

#endif
