/* SPDX-License-Identifier: Apache-2.0
 * labels.c - label set comparison, hashing, formatting and building. */
#include "config.h"
#include "lib/labels.h"
#include "lib/common.h"
#include "lib/hash.h"

#include <stdlib.h>
#include <string.h>

int tp_labels_cmp(const tp_labels *a, const tp_labels *b)
{
	uint32_t n = a->n < b->n ? a->n : b->n;
	for (uint32_t i = 0; i < n; i++) {
		int c;
		if (a->v[i].name != b->v[i].name && (c = strcmp(a->v[i].name, b->v[i].name)))
			return c;
		if (a->v[i].value != b->v[i].value && (c = strcmp(a->v[i].value, b->v[i].value)))
			return c;
	}
	return (a->n > b->n) - (a->n < b->n);
}

bool tp_labels_equal(const tp_labels *a, const tp_labels *b)
{
	return a->n == b->n && tp_labels_cmp(a, b) == 0;
}

static uint64_t hash_pair(uint64_t h, const tp_label *l)
{
	size_t nn = strlen(l->name), nv = strlen(l->value);
	h = tp_hash_mix(h, tp_hash(l->name, nn, 0x1f));
	return tp_hash_mix(h, tp_hash(l->value, nv, 0x2f));
}

uint64_t tp_labels_hash(const tp_labels *l)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (uint32_t i = 0; i < l->n; i++)
		h = hash_pair(h, &l->v[i]);
	return h;
}

static bool name_in(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

uint64_t tp_labels_hash_for(const tp_labels *l, const char *const *names, size_t n, bool include)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (uint32_t i = 0; i < l->n; i++)
		if (name_in(l->v[i].name, names, n) == include)
			h = hash_pair(h, &l->v[i]);
	return h;
}

const char *tp_labels_get(const tp_labels *l, const char *name)
{
	/* Sets are small: a linear scan with pointer fast path beats bsearch. */
	for (uint32_t i = 0; i < l->n; i++)
		if (l->v[i].name == name || strcmp(l->v[i].name, name) == 0)
			return l->v[i].value;
	return NULL;
}

static int cmp_label_name(const void *a, const void *b)
{
	const tp_label *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	/* stable for "last wins": compare addresses */
	return (x > y) - (x < y);
}

void tp_labels_normalize(tp_labels *l)
{
	qsort(l->v, l->n, sizeof(tp_label), cmp_label_name);
	uint32_t o = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		if (i + 1 < l->n && strcmp(l->v[i].name, l->v[i + 1].name) == 0)
			continue; /* a later duplicate wins */
		if (l->v[i].value[0] == '\0')
			continue;
		l->v[o++] = l->v[i];
	}
	l->n = o;
}

tp_labels tp_labels_copy(tp_arena *a, const tp_labels *l, bool strings_too)
{
	tp_labels r = { .v = tp_arena_alloc(a, sizeof(tp_label) * (l->n ? l->n : 1)), .n = l->n };
	for (uint32_t i = 0; i < l->n; i++) {
		r.v[i] = l->v[i];
		if (strings_too) {
			r.v[i].name = tp_arena_strdup(a, l->v[i].name);
			r.v[i].value = tp_arena_strdup(a, l->v[i].value);
		}
	}
	return r;
}

void tp_labels_format(tp_strbuf *sb, const tp_labels *l, bool name_first)
{
	const char *name = name_first ? tp_labels_get(l, TP_METRIC_NAME) : NULL;
	if (name)
		tp_sb_puts(sb, name);
	bool any = false;
	for (uint32_t i = 0; i < l->n; i++) {
		if (name && strcmp(l->v[i].name, TP_METRIC_NAME) == 0)
			continue;
		tp_sb_puts(sb, any ? ", " : "{");
		any = true;
		tp_sb_puts(sb, l->v[i].name);
		tp_sb_puts(sb, "=\"");
		tp_sb_escape_label(sb, l->v[i].value);
		tp_sb_putc(sb, '"');
	}
	if (any)
		tp_sb_putc(sb, '}');
	else if (!name)
		tp_sb_puts(sb, "{}");
}

static bool name_valid(const char *s, size_t n, bool colon)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

bool tp_label_name_valid(const char *s, size_t n)
{
	return name_valid(s, n, false);
}

bool tp_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
		if (n < 0)
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

bool tp_metric_name_valid(const char *s, size_t n)
{
	return name_valid(s, n, true);
}

/* ---- builder ---- */

void tp_lb_init(tp_labels_builder *b, tp_arena *a, const tp_labels *base)
{
	b->arena = a;
	b->n = base ? base->n : 0;
	b->cap = b->n + 4;
	b->v = tp_arena_alloc(a, sizeof(tp_label) * b->cap);
	if (b->n)
		memcpy(b->v, base->v, sizeof(tp_label) * b->n);
}

void tp_lb_del(tp_labels_builder *b, const char *name)
{
	for (uint32_t i = 0; i < b->n; i++) {
		if (strcmp(b->v[i].name, name) == 0) {
			memmove(&b->v[i], &b->v[i + 1], sizeof(tp_label) * (b->n - i - 1));
			b->n--;
			return;
		}
	}
}

void tp_lb_set(tp_labels_builder *b, const char *name, const char *value)
{
	if (!value || !value[0]) {
		tp_lb_del(b, name);
		return;
	}
	uint32_t i = 0;
	while (i < b->n) {
		int c = strcmp(b->v[i].name, name);
		if (c == 0) {
			b->v[i].value = value;
			return;
		}
		if (c > 0)
			break;
		i++;
	}
	if (b->n == b->cap) {
		uint32_t nc = b->cap * 2;
		b->v = tp_arena_realloc(b->arena, b->v, sizeof(tp_label) * b->cap, sizeof(tp_label) * nc);
		b->cap = nc;
	}
	memmove(&b->v[i + 1], &b->v[i], sizeof(tp_label) * (b->n - i));
	b->v[i] = (tp_label){ name, value };
	b->n++;
}

void tp_lb_filter(tp_labels_builder *b, const char *const *names, size_t n, bool keep)
{
	uint32_t o = 0;
	for (uint32_t i = 0; i < b->n; i++)
		if (name_in(b->v[i].name, names, n) == keep)
			b->v[o++] = b->v[i];
	b->n = o;
}

tp_labels tp_lb_labels(tp_labels_builder *b)
{
	return (tp_labels){ .v = b->v, .n = b->n };
}
