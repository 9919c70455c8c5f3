/* SPDX-License-Identifier: Apache-2.0
 * metadata.c - per-target metric metadata store (see metadata.h).
 * An entries array in insertion order plus an open-addressing index of
 * entry numbers (power-of-two size, at most half full, linear probing). */
#include "config.h"
#include "scrape/metadata.h"

#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/hash.h"

struct scrape_metadata {
	scrape_metadata_entry *v; /* entries, insertion order */
	size_t n, cap;
	uint32_t *index;          /* entry number + 1; 0 = empty slot */
	size_t index_size;        /* power of two */
};

scrape_metadata *scrape_metadata_new(void)
{
	return tp_xcalloc(1, sizeof(scrape_metadata));
}

void scrape_metadata_clear(scrape_metadata *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].help);
		free(m->v[i].unit);
	}
	m->n = 0;
	if (m->index)
		memset(m->index, 0, m->index_size * sizeof(*m->index));
}

void scrape_metadata_free(scrape_metadata *m)
{
	if (!m)
		return;
	scrape_metadata_clear(m);
	free(m->v);
	free(m->index);
	free(m);
}

static size_t slot_of(const scrape_metadata *m, const char *name, size_t nlen, bool *found)
{
	size_t mask = m->index_size - 1;
	size_t s = (size_t)tp_hash(name, nlen, 0) & mask;
	for (;;) {
		uint32_t e = m->index[s];
		if (!e) {
			*found = false;
			return s;
		}
		const char *en = m->v[e - 1].name;
		if (strlen(en) == nlen && memcmp(en, name, nlen) == 0) {
			*found = true;
			return s;
		}
		s = (s + 1) & mask;
	}
}

static void rehash(scrape_metadata *m)
{
	size_t ns = m->index_size ? m->index_size * 2 : 16;
	free(m->index);
	m->index = tp_xcalloc(ns, sizeof(*m->index));
	m->index_size = ns;
	for (size_t i = 0; i < m->n; i++) {
		bool found;
		size_t s = slot_of(m, m->v[i].name, strlen(m->v[i].name), &found);
		m->index[s] = (uint32_t)(i + 1);
	}
}

const scrape_metadata_entry *scrape_metadata_get(const scrape_metadata *m, const char *name, size_t nlen)
{
	if (!m->index_size)
		return NULL;
	bool found;
	size_t s = slot_of(m, name, nlen, &found);
	return found ? &m->v[m->index[s] - 1] : NULL;
}

scrape_metadata_entry *scrape_metadata_upsert(scrape_metadata *m, const char *name, size_t nlen)
{
	if ((m->n + 1) * 2 > m->index_size)
		rehash(m);
	bool found;
	size_t s = slot_of(m, name, nlen, &found);
	if (found)
		return &m->v[m->index[s] - 1];
	TP_GROW(m->v, m->cap, m->n + 1);
	scrape_metadata_entry *e = &m->v[m->n];
	memset(e, 0, sizeof(*e));
	e->name = tp_xstrndup(name, nlen);
	m->index[s] = (uint32_t)(++m->n);
	return e;
}

size_t scrape_metadata_count(const scrape_metadata *m)
{
	return m->n;
}

const scrape_metadata_entry *scrape_metadata_at(const scrape_metadata *m, size_t i)
{
	return i < m->n ? &m->v[i] : NULL;
}

scrape_metadata_entry *scrape_metadata_observe(scrape_metadata *m, scrape_parser *p, scrape_entry e)
{
	const char *name, *text;
	size_t nlen, tlen;
	scrape_metadata_entry *me;
	switch (e) {
	case SCRAPE_ENTRY_TYPE: {
		scrape_metric_type t;
		scrape_parser_type(p, &name, &nlen, &t);
		me = scrape_metadata_upsert(m, name, nlen);
		me->type = t;
		me->has_type = true;
		me->type_count++;
		return me;
	}
	case SCRAPE_ENTRY_HELP:
		scrape_parser_help(p, &name, &nlen, &text, &tlen);
		me = scrape_metadata_upsert(m, name, nlen);
		free(me->help);
		/* OpenMetrics: an empty HELP counts as absent */
		me->help = tlen || p->format == SCRAPE_FORMAT_TEXT ? tp_xstrndup(text, tlen) : NULL;
		me->help_count++;
		return me;
	case SCRAPE_ENTRY_UNIT:
		scrape_parser_unit(p, &name, &nlen, &text, &tlen);
		me = scrape_metadata_upsert(m, name, nlen);
		free(me->unit);
		me->unit = tlen ? tp_xstrndup(text, tlen) : NULL; /* empty UNIT = absent */
		return me;
	default:
		return NULL;
	}
}
