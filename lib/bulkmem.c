/* SPDX-License-Identifier: Apache-2.0
 * bulkmem.c - the huge-page arena of bulkmem.h: a jemalloc arena created
 * with extent hooks that map memory 2 MiB-aligned and advise
 * MADV_HUGEPAGE (the kernel's THP mode "madvise", Debian's default, then
 * backs it with huge pages). Extents are never unmapped (dalloc opts out,
 * jemalloc retains and reuses the address space); pages the arena stops
 * using are purged with MADV_DONTNEED (forced) or MADV_FREE (lazy), so
 * freed memory still goes back to the kernel. Split and merge succeed
 * without doing anything: on Linux one mapping can be handled in pieces
 * and adjacent ones together, as jemalloc's own default hooks assume. */
#include "config.h"
#include "lib/bulkmem.h"

#ifdef TP_JEMALLOC

#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

/* A mapping of size bytes at a multiple of align (a power of two). */
static void *map_aligned(size_t size, size_t align)
{
	void *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = (uintptr_t)p, b = (a + align - 1) & ~(uintptr_t)(align - 1);
	if (b > a)
		munmap(p, b - a);
	if (b + size < a + size + align)
		munmap((void *)(b + size), a + size + align - (b + size));
	return (void *)b;
}

static void *hk_alloc(extent_hooks_t *hooks, void *new_addr, size_t size, size_t alignment, bool *zero,
		      bool *commit, unsigned arena_ind)
{
	(void)hooks, (void)arena_ind;
	void *p;
	if (new_addr) {
		/* growing in place: only exactly there */
		p = mmap(new_addr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (p != new_addr) {
			munmap(p, size);
			return NULL;
		}
	} else {
		size_t align = size >= HUGE_PAGE && alignment < HUGE_PAGE ? HUGE_PAGE : alignment;
		p = map_aligned(size, align);
		if (!p)
			return NULL;
	}
	madvise(p, size, MADV_HUGEPAGE);
	*zero = true;   /* fresh anonymous memory */
	*commit = true; /* Linux overcommits: mapped is committed */
	return p;
}

static void hk_destroy(extent_hooks_t *hooks, void *addr, size_t size, bool committed, unsigned arena_ind)
{
	(void)hooks, (void)committed, (void)arena_ind;
	munmap(addr, size);
}

static bool hk_purge_forced(extent_hooks_t *hooks, void *addr, size_t size, size_t offset, size_t length,
			    unsigned arena_ind)
{
	(void)hooks, (void)size, (void)arena_ind;
	return madvise((char *)addr + offset, length, MADV_DONTNEED) != 0;
}

static bool hk_purge_lazy(extent_hooks_t *hooks, void *addr, size_t size, size_t offset, size_t length,
			  unsigned arena_ind)
{
	(void)hooks, (void)size, (void)arena_ind;
	return madvise((char *)addr + offset, length, MADV_FREE) != 0;
}

static bool hk_split(extent_hooks_t *hooks, void *addr, size_t size, size_t size_a, size_t size_b, bool committed,
		     unsigned arena_ind)
{
	(void)hooks, (void)addr, (void)size, (void)size_a, (void)size_b, (void)committed, (void)arena_ind;
	return false;
}

static bool hk_merge(extent_hooks_t *hooks, void *addr_a, size_t size_a, void *addr_b, size_t size_b, bool committed,
		     unsigned arena_ind)
{
	(void)hooks, (void)addr_a, (void)size_a, (void)addr_b, (void)size_b, (void)committed, (void)arena_ind;
	return false;
}

static extent_hooks_t hooks = {
	.alloc = hk_alloc,
	.dalloc = NULL,     /* opt out: retained, reused, purged */
	.destroy = hk_destroy,
	.commit = NULL,     /* never decommitted, so never committed again */
	.decommit = NULL,
	.purge_lazy = hk_purge_lazy,
	.purge_forced = hk_purge_forced,
	.split = hk_split,
	.merge = hk_merge,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int arena = -1;

static void create_arena(void)
{
	unsigned ind;
	size_t len = sizeof(ind);
	extent_hooks_t *h = &hooks;
	if (mallctl("arenas.create", &ind, &len, &h, sizeof(h)) == 0)
		arena = (int)ind;
}

int tp_bulkmem_enter(void)
{
	pthread_once(&once, create_arena);
	if (arena < 0)
		return -1;
	unsigned prev, want = (unsigned)arena;
	size_t len = sizeof(prev);
	if (mallctl("thread.arena", &prev, &len, &want, sizeof(want)) != 0)
		return -1;
	return (int)prev;
}

void tp_bulkmem_leave(int prev)
{
	if (prev < 0)
		return;
	unsigned p = (unsigned)prev;
	mallctl("thread.arena", NULL, NULL, &p, sizeof(p));
}

#else /* no jemalloc: the sanitizer build */

int tp_bulkmem_enter(void)
{
	return -1;
}

void tp_bulkmem_leave(int prev)
{
	(void)prev;
}

#endif
