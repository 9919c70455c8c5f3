/* SPDX-License-Identifier: Apache-2.0
 * bstream.c - MSB-first bit stream writer (the reader is inline in the
 * header). Invariant: bits of buf past nbits are zero in the last byte
 * written; bytes past it are cleared before they are first written. */
#include "config.h"
#include "tsdb/bstream.h"

void tsdb_bstream_init(tsdb_bstream *bs, uint8_t *buf, size_t cap_bytes, size_t nbits)
{
	bs->buf = buf;
	bs->cap_bytes = cap_bytes;
	bs->nbits = nbits;
}

bool tsdb_bstream_write_bits(tsdb_bstream *bs, uint64_t v, unsigned n)
{
	if (n == 0)
		return true;
	if (bs->nbits + n > bs->cap_bytes * 8)
		return false;
	if (n < 64)
		v &= (1ULL << n) - 1;
	while (n) {
		size_t byte = bs->nbits >> 3;
		unsigned used = bs->nbits & 7;
		unsigned room = 8 - used;
		if (used == 0)
			bs->buf[byte] = 0;
		unsigned take = n < room ? n : room;
		uint8_t bits = (uint8_t)((v >> (n - take)) & ((1u << take) - 1));
		bs->buf[byte] |= (uint8_t)(bits << (room - take));
		bs->nbits += take;
		n -= take;
	}
	return true;
}
