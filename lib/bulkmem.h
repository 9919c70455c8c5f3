/* SPDX-License-Identifier: Apache-2.0
 * bulkmem.h - a memory arena backed by transparent huge pages, for bulk
 * loads (the storage open: a million series and their chunk references).
 *
 * A thread that creates millions of small objects in one go spends much
 * of its time in page faults, one per 4 KiB of fresh memory (a fifth of
 * the open's CPU on a VM). Between tp_bulkmem_enter and tp_bulkmem_leave
 * the calling thread's malloc()s come from a jemalloc arena whose extents
 * are mapped with MADV_HUGEPAGE, so the kernel backs them with 2 MiB pages
 * (512 times fewer faults). Everything else keeps the default arenas: huge
 * pages everywhere cost an idle server ~17 MB of RSS.
 *
 * The memory is ordinary heap memory: it may be freed by any thread, at
 * any time; pages the arena no longer uses are returned to the kernel
 * (jemalloc's decay, then MADV_DONTNEED here). Without jemalloc (the
 * sanitizer build) enter and leave do nothing. */
#ifndef TP_BULKMEM_H
#define TP_BULKMEM_H

#include "lib/common.h"

/* Binds the calling thread's allocations to the huge-page arena (created
 * on first use). Returns the arena to give back to tp_bulkmem_leave, or
 * -1 when there is none (no jemalloc, or its creation failed). */
int tp_bulkmem_enter(void);
/* Binds the calling thread back to prev (from tp_bulkmem_enter; -1: no-op). */
void tp_bulkmem_leave(int prev);

#endif
