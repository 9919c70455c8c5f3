/* SPDX-License-Identifier: Apache-2.0
 * arena.c - bump allocator. */
#include "config.h"
#include "lib/arena.h"
#include "lib/common.h"

#include <stdlib.h>
#include <string.h>

struct tp_arena_block {
	tp_arena_block *next;  /* older block */
	size_t size;           /* usable bytes in data */
	size_t off;            /* bytes used */
	_Alignas(16) unsigned char data[];
};

#define ARENA_MIN_BLOCK 4096

void tp_arena_init(tp_arena *a)
{
	a->head = NULL;
	a->used_bytes = 0;
	a->block_bytes = ARENA_MIN_BLOCK;
}

void *tp_arena_alloc(tp_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	tp_arena_block *b = a->head;
	if (!b || b->size - b->off < n) {
		size_t sz = a->block_bytes;
		while (sz < n)
			sz *= 2;
		b = tp_xmalloc(sizeof(*b) + sz);
		b->size = sz;
		b->off = 0;
		b->next = a->head;
		a->head = b;
		if (a->block_bytes < (64u << 20))
			a->block_bytes = sz * 2;
	}
	void *p = b->data + b->off;
	b->off += n;
	a->used_bytes += n;
	return p;
}

void *tp_arena_zalloc(tp_arena *a, size_t n)
{
	void *p = tp_arena_alloc(a, n);
	memset(p, 0, n);
	return p;
}

char *tp_arena_strndup(tp_arena *a, const char *s, size_t n)
{
	char *p = tp_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *tp_arena_strdup(tp_arena *a, const char *s)
{
	return tp_arena_strndup(a, s, strlen(s));
}

void *tp_arena_realloc(tp_arena *a, void *old, size_t old_bytes, size_t new_bytes)
{
	if (new_bytes <= old_bytes)
		return old;
	void *p = tp_arena_alloc(a, new_bytes);
	if (old_bytes)
		memcpy(p, old, old_bytes);
	return p;
}

void tp_arena_reset(tp_arena *a)
{
	tp_arena_block *keep = a->head;
	if (!keep)
		return;
	tp_arena_block *b = keep->next;
	while (b) {
		tp_arena_block *n = b->next;
		free(b);
		b = n;
	}
	keep->next = NULL;
	keep->off = 0;
	a->used_bytes = 0;
}

void tp_arena_free(tp_arena *a)
{
	tp_arena_block *b = a->head;
	while (b) {
		tp_arena_block *n = b->next;
		free(b);
		b = n;
	}
	tp_arena_init(a);
}
