/* SPDX-License-Identifier: Apache-2.0
 * fuzz_remote_write.c - libFuzzer target for the remote-write receiver:
 * arbitrary bytes as a request body go through snappy, protobuf decoding
 * and the apply step into a head, as /api/v1/write does. Any input must
 * be rejected or applied without a crash, a leak or undefined behaviour.
 * Build: ./configure --enable-fuzzing --enable-sanitizers CC=clang
 * Run:   tests/fuzz/fuzz_remote_write tests/fuzz/corpus-remote-write */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "remote/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tsdb_head *h;
	if (!h)
		h = tsdb_head_new(NULL);
	tp_arena a;
	tp_arena_init(&a);
	char err[256];
	/* the body as sent (snappy framing included) */
	Prometheus__WriteRequest *wr = remote_write_decode(data, size, &a, err, sizeof err);
	if (wr) {
		remote_write_result res;
		remote_write_apply(h, wr, &res);
	}
	/* and the same bytes as a raw protobuf inside valid snappy */
	size_t n;
	char *z = remote_snappy_encode(data, size, &n);
	if (z) {
		tp_arena_reset(&a);
		wr = remote_write_decode(z, n, &a, err, sizeof err);
		if (wr) {
			remote_write_result res;
			remote_write_apply(h, wr, &res);
		}
		free(z);
	}
	tp_arena_free(&a);
	return 0;
}
