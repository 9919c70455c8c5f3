/* SPDX-License-Identifier: Apache-2.0
 * hash.c - a 64-bit multiply-xorshift hash over bytes, eight at a time. */
#include "config.h"
#include "lib/hash.h"

#include <string.h>

#define P1 0x9e3779b185ebca87ULL
#define P2 0xc2b2ae3d27d4eb4fULL
#define P3 0x165667b19e3779f9ULL

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

uint64_t tp_hash(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ (P1 * (uint64_t)(n + 1));
	while (n >= 8) {
		uint64_t k;
		memcpy(&k, p, 8);
		k *= P2;
		k = rotl(k, 31);
		k *= P1;
		h ^= k;
		h = rotl(h, 27) * P1 + P3;
		p += 8;
		n -= 8;
	}
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k |= (uint64_t)p[i] << (8 * i);
	h ^= rotl(k * P3, 23) * P2;
	return fmix(h);
}
