/* SPDX-License-Identifier: Apache-2.0
 * xor_decode.c - test-only Prometheus XOR chunk decoder (see the header). */
#include "config.h"
#include "tests/support/xor_decode.h"

#include <stdbool.h>

typedef struct reader {
	const uint8_t *b;
	size_t nbits;  /* bits available */
	size_t pos;    /* next bit */
	bool bad;
} reader;

static uint64_t bits(reader *r, unsigned n)
{
	uint64_t u = 0;
	if (r->pos + n > r->nbits) {
		r->bad = true;
		return 0;
	}
	for (unsigned i = 0; i < n; i++, r->pos++)
		u = (u << 1) | ((r->b[r->pos / 8] >> (7 - r->pos % 8)) & 1u);
	return u;
}

static uint64_t uvarint(reader *r)
{
	uint64_t u = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		uint64_t byte = bits(r, 8);
		if (r->bad)
			return 0;
		u |= (byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return u;
	}
	r->bad = true;
	return 0;
}

long test_xor_decode(const uint8_t *b, size_t n, int64_t *ts, uint64_t *vbits, size_t max, size_t *bits_used)
{
	if (n < 2)
		return -1;
	size_t count = ((size_t)b[0] << 8) | b[1];
	if (count > max)
		return -1;
	reader r = { .b = b + 2, .nbits = (n - 2) * 8 };
	int64_t t = 0, delta = 0;
	uint64_t v = 0;
	unsigned lead = 0, trail = 0;
	bool window = false;  /* a leading/trailing window was set */
	for (size_t i = 0; i < count; i++) {
		if (i == 0) {
			uint64_t z = uvarint(&r);
			t = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
			v = bits(&r, 64);
		} else {
			if (i == 1) {
				delta = (int64_t)uvarint(&r);
			} else {
				unsigned prefix = 0, k = 0;
				while (k < 4 && bits(&r, 1)) {
					prefix++;
					k++;
				}
				int64_t dod = 0;
				static const unsigned width[] = { 0, 14, 17, 20, 64 };
				unsigned w = width[prefix];
				if (w == 64) {
					dod = (int64_t)bits(&r, 64);
				} else if (w) {
					uint64_t u = bits(&r, w);
					if (u > (1ull << (w - 1)))
						u -= 1ull << w;  /* negative, as Prometheus reads it */
					dod = (int64_t)u;
				}
				delta += dod;
			}
			t += delta;
			if (bits(&r, 1)) {
				if (bits(&r, 1)) {
					lead = (unsigned)bits(&r, 5);
					unsigned sig = (unsigned)bits(&r, 6);
					if (sig == 0)
						sig = 64;
					if (lead + sig > 64) {
						r.bad = true;
						break;
					}
					trail = 64 - lead - sig;
					window = true;
				} else if (!window) {
					r.bad = true;  /* no window yet to reuse */
					break;
				}
				unsigned sig = 64 - lead - trail;
				v ^= bits(&r, sig) << trail;
			}
		}
		if (r.bad)
			return -1;
		ts[i] = t;
		vbits[i] = v;
	}
	if (r.bad)
		return -1;
	if (bits_used)
		*bits_used = r.pos;
	return (long)count;
}
