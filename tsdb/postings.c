/* SPDX-License-Identifier: Apache-2.0
 * postings.c - the postings index: name=value -> sorted series refs, the
 * distinct values of each name, and the list of all series.
 * Invariants: keys are interned string pointers, so lookups compare
 * pointers; every list is sorted ascending without duplicates; the caller
 * (head.c) serialises writers against readers with post_lock. */
#include "config.h"
#include "tsdb/head_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/intern.h"

/* Keys hash by content so that lookups work with any (not interned)
 * strings: queries must not grow the symbol table. */
static inline uint64_t ptr_hash(const char *a, const char *b)
{
	uint64_t h = tp_hash(a, strlen(a), 0x51);
	return b ? tp_hash_mix(h, tp_hash(b, strlen(b), 0x52)) : h;
}

static inline bool same(const char *a, const char *b)
{
	return a == b || strcmp(a, b) == 0;
}

void tsdb_pindex_init(pindex *p)
{
	memset(p, 0, sizeof(*p));
	p->cap = 1024;
	p->tab = tp_xcalloc(p->cap, sizeof(*p->tab));
	p->ncap = 64;
	p->names = tp_xcalloc(p->ncap, sizeof(*p->names));
	p->bytes = p->cap * sizeof(*p->tab) + p->ncap * sizeof(*p->names);
}

void tsdb_pindex_free(pindex *p)
{
	for (size_t i = 0; i < p->cap; i++) {
		if (p->tab[i]) {
			free(p->tab[i]->refs);
			free(p->tab[i]);
		}
	}
	for (size_t i = 0; i < p->ncap; i++) {
		if (p->names[i]) {
			free(p->names[i]->vals);
			free(p->names[i]);
		}
	}
	free(p->tab);
	free(p->names);
	free(p->all.refs);
	memset(p, 0, sizeof(*p));
}

static size_t plist_add(plist *l, uint32_t ref)
{
	size_t grown = 0;
	if (l->n == l->cap) {
		uint32_t ncap = l->cap ? l->cap + (l->cap >> 1) + 1 : 1;
		l->refs = tp_xrealloc(l->refs, ncap * sizeof(uint32_t));
		grown = (ncap - l->cap) * sizeof(uint32_t);
		l->cap = ncap;
	}
	uint32_t i = l->n;
	/* refs arrive almost sorted: shift the few larger ones */
	while (i > 0 && l->refs[i - 1] > ref) {
		l->refs[i] = l->refs[i - 1];
		i--;
	}
	l->refs[i] = ref;
	l->n++;
	return grown;
}

static pname *name_get(const pindex *p, const char *name)
{
	size_t mask = p->ncap - 1;
	for (size_t i = ptr_hash(name, NULL) & mask;; i = (i + 1) & mask) {
		pname *n = p->names[i];
		if (!n || same(n->name, name))
			return n;
	}
}

static pname *name_add(pindex *p, const char *name)
{
	pname *n = name_get(p, name);
	if (n)
		return n;
	if ((p->ncount + 1) * 2 > p->ncap) {
		size_t ncap = p->ncap * 2;
		pname **nt = tp_xcalloc(ncap, sizeof(*nt));
		for (size_t i = 0; i < p->ncap; i++) {
			if (!p->names[i])
				continue;
			size_t j = ptr_hash(p->names[i]->name, NULL) & (ncap - 1);
			while (nt[j])
				j = (j + 1) & (ncap - 1);
			nt[j] = p->names[i];
		}
		free(p->names);
		p->bytes += (ncap - p->ncap) * sizeof(*nt);
		p->names = nt;
		p->ncap = ncap;
	}
	n = tp_xcalloc(1, sizeof(*n));
	n->name = name;
	p->bytes += sizeof(*n);
	size_t j = ptr_hash(name, NULL) & (p->ncap - 1);
	while (p->names[j])
		j = (j + 1) & (p->ncap - 1);
	p->names[j] = n;
	p->ncount++;
	return n;
}

const plist *tsdb_pindex_get(const pindex *p, const char *name, const char *value)
{
	size_t mask = p->cap - 1;
	for (size_t i = ptr_hash(name, value) & mask;; i = (i + 1) & mask) {
		plist *l = p->tab[i];
		if (!l || (same(l->name, name) && same(l->value, value)))
			return l;
	}
}

const pname *tsdb_pindex_name(const pindex *p, const char *name)
{
	return name_get(p, name);
}

static plist *list_add(pindex *p, const char *name, const char *value)
{
	plist *l = (plist *)tsdb_pindex_get(p, name, value);
	if (l)
		return l;
	if ((p->count + 1) * 4 > p->cap * 3) {
		size_t ncap = p->cap * 2;
		plist **nt = tp_xcalloc(ncap, sizeof(*nt));
		for (size_t i = 0; i < p->cap; i++) {
			plist *o = p->tab[i];
			if (!o)
				continue;
			size_t j = ptr_hash(o->name, o->value) & (ncap - 1);
			while (nt[j])
				j = (j + 1) & (ncap - 1);
			nt[j] = o;
		}
		free(p->tab);
		p->bytes += (ncap - p->cap) * sizeof(*nt);
		p->tab = nt;
		p->cap = ncap;
	}
	l = tp_xcalloc(1, sizeof(*l));
	l->name = name;
	l->value = value;
	p->bytes += sizeof(*l);
	size_t j = ptr_hash(name, value) & (p->cap - 1);
	while (p->tab[j])
		j = (j + 1) & (p->cap - 1);
	p->tab[j] = l;
	p->count++;
	pname *n = name_add(p, name);
	if (n->n == n->cap) {
		uint32_t ncap = n->cap ? n->cap * 2 : 4;
		n->vals = tp_xrealloc(n->vals, ncap * sizeof(*n->vals));
		p->bytes += (ncap - n->cap) * sizeof(*n->vals);
		n->cap = ncap;
	}
	n->vals[n->n++] = l;
	return l;
}

void tsdb_pindex_add(pindex *p, uint32_t ref, const tp_labels *l)
{
	for (uint32_t i = 0; i < l->n; i++)
		p->bytes += plist_add(list_add(p, l->v[i].name, l->v[i].value), ref);
	p->bytes += plist_add(&p->all, ref);
}
