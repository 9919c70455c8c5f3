/* SPDX-License-Identifier: Apache-2.0
 * intern.h - process-wide symbol table for label names and values.
 * tp_intern returns a NUL-terminated copy that lives for the whole process;
 * two calls with equal bytes return the same pointer, so interned strings
 * compare by pointer. Thread-safe (sharded locks). Interned strings are never
 * freed: the table grows with the number of distinct strings ever seen. */
#ifndef LIB_INTERN_H
#define LIB_INTERN_H

#include <stddef.h>

const char *tp_intern(const char *s, size_t n);
const char *tp_intern_cstr(const char *s);
/* Bytes held by the table (strings and buckets), for self-metrics. */
size_t tp_intern_bytes(void);
size_t tp_intern_count(void);

#endif
