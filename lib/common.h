/* SPDX-License-Identifier: Apache-2.0
 * common.h - small macros and the aborting allocators every module uses.
 * Invariant: tp_xmalloc and friends never return NULL; they abort on OOM,
 * because a time-series server that runs out of memory cannot recover
 * meaningfully mid-append. Code that must survive OOM uses plain malloc. */
#ifndef LIB_COMMON_H
#define LIB_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TP_INTERNAL __attribute__((visibility("hidden")))
#define TP_LIKELY(x) __builtin_expect(!!(x), 1)
#define TP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TP_MAX(a, b) ((a) > (b) ? (a) : (b))
#define TP_PRINTF(f, a) __attribute__((format(printf, f, a)))

void *tp_xmalloc(size_t n);
void *tp_xcalloc(size_t n, size_t size);
void *tp_xrealloc(void *p, size_t n);
char *tp_xstrdup(const char *s);
char *tp_xstrndup(const char *s, size_t n);

/* Grow *arr (element size elem) so it holds at least need elements;
 * *cap is updated. Doubling growth. */
void tp_grow(void **arr, size_t *cap, size_t need, size_t elem);
#define TP_GROW(arr, cap, need) tp_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* Milliseconds since the Unix epoch, wall clock and monotonic. */
int64_t tp_now_ms(void);
int64_t tp_mono_ns(void);

#endif
