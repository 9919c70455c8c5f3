/* SPDX-License-Identifier: Apache-2.0
 * fuzz_remote_write.c - libFuzzer target for the remote-write receiver:
 * arbitrary bytes as a request body go through snappy, protobuf decoding
 * and the apply step into a head, as /api/v1/write does. Any input must
 * be rejected or applied without a crash, a leak or undefined behaviour.
 * The receiver's own decoder (remote/wire.c) must also agree with
 * protobuf-c on every input: the same verdict, the same series, labels and
 * samples, and the same apply result (applied to two heads in lockstep, the
 * second through the series cache); a disagreement aborts.
 * Build: ./configure --enable-fuzzing --enable-sanitizers CC=clang
 * Run:   tests/fuzz/fuzz_remote_write tests/fuzz/corpus-remote-write */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/codec.h"
#include "remote/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tsdb_head *h, *hw;  /* protobuf-c path; wire path with the cache */
static remote_series_cache *cache;

static void agree(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_remote_write: remote/wire.c and protobuf-c disagree: %s\n", what);
		abort();
	}
}

/* raw: an uncompressed WriteRequest candidate. */
static void both(const uint8_t *raw, size_t n, tp_arena *a)
{
	size_t zn;
	char *z = remote_snappy_encode(raw, n, &zn);
	if (!z)
		return;
	char err[256];
	tp_arena_reset(a);
	Prometheus__WriteRequest *wr = remote_write_decode(z, zn, a, err, sizeof err);
	free(z);
	remote_wire_request r;
	remote_wire_init(&r);
	int wrc = remote_wire_decode(&r, raw, n);
	agree((wr != NULL) == (wrc == 0), "verdict");
	if (wr) {
		agree(remote_wire_equal_proto(&r, wr), "content");
		remote_write_result res, resw;
		int rc = remote_write_apply(h, wr, &res);
		int rcw = remote_write_apply_wire(hw, cache, &r, &resw);
		agree(rc == rcw, "apply verdict");
		agree(res.samples == resw.samples && res.series == resw.series &&
			      res.series_skipped == resw.series_skipped && res.exemplars == resw.exemplars &&
			      res.metadata == resw.metadata && res.series_no_samples == resw.series_no_samples,
		      "apply counts");
		agree(strcmp(res.error, resw.error) == 0, "apply error");
	}
	remote_wire_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!h) {
		h = tsdb_head_new(NULL);
		hw = tsdb_head_new(NULL);
		cache = remote_series_cache_new(1024);
	}
	tp_arena a;
	tp_arena_init(&a);
	char err[256];
	/* the body as sent (snappy framing included) */
	Prometheus__WriteRequest *wr = remote_write_decode(data, size, &a, err, sizeof err);
	if (wr) {
		remote_write_result res;
		remote_write_apply(h, wr, &res);
		/* keep the two heads in step: the wire path gets the same request */
		const char *raw;
		size_t rawn;
		remote_wire_request r;
		remote_wire_init(&r);
		if (remote_snappy_decode(data, size, REMOTE_MAX_DECODED_BYTES, &a, &raw, &rawn, err, sizeof err) == 0 &&
		    remote_wire_decode(&r, raw, rawn) == 0)
			remote_write_apply_wire(hw, cache, &r, &res);
		else
			agree(0, "verdict on a snappy body");
		remote_wire_free(&r);
	}
	/* and the same bytes as a raw protobuf inside valid snappy */
	both(data, size, &a);
	tp_arena_free(&a);
	return 0;
}
