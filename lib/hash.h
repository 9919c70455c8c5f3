/* SPDX-License-Identifier: Apache-2.0
 * hash.h - 64-bit non-cryptographic hashing for label sets and symbols.
 * Stable across runs and platforms of the same endianness; seed 0 is the
 * default. Not suitable against adversarial input floods. */
#ifndef LIB_HASH_H
#define LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t tp_hash(const void *data, size_t n, uint64_t seed);

/* Mix one 64-bit value into a running hash. */
static inline uint64_t tp_hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

#endif
