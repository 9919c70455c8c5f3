/* SPDX-License-Identifier: Apache-2.0
 * arena.h - bump allocator for per-query and per-request memory.
 * Everything allocated from an arena is freed at once by tp_arena_free or
 * reused after tp_arena_reset. Allocations are 16-byte aligned. Blocks grow
 * geometrically, so a query that touches N samples makes O(log N) mallocs.
 * Freed blocks of 64 KiB and more go to a process-wide cache (at most
 * 16 MiB) that later arenas take them from, already faulted in. */
#ifndef LIB_ARENA_H
#define LIB_ARENA_H

#include <stddef.h>

typedef struct tp_arena_block tp_arena_block;
typedef struct tp_arena {
	tp_arena_block *head;  /* current block; older ones chain behind it */
	size_t used_bytes;     /* bytes handed out since the last reset */
	size_t block_bytes;    /* size of the next block to allocate */
} tp_arena;

void tp_arena_init(tp_arena *a);
void *tp_arena_alloc(tp_arena *a, size_t n);            /* uninitialised */
void *tp_arena_zalloc(tp_arena *a, size_t n);           /* zeroed */
char *tp_arena_strndup(tp_arena *a, const char *s, size_t n);
char *tp_arena_strdup(tp_arena *a, const char *s);
/* Grow an arena array: returns a new array of new_n elements with the
 * first old_n copied (the old one stays allocated until reset). */
void *tp_arena_realloc(tp_arena *a, void *old, size_t old_bytes, size_t new_bytes);
void tp_arena_reset(tp_arena *a);  /* keeps the largest block for reuse */
void tp_arena_free(tp_arena *a);   /* releases everything (big blocks to the cache); a is reusable after init */

#endif
