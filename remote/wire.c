/* SPDX-License-Identifier: Apache-2.0
 * wire.c - zero-copy decoder of a remote-write 1.0 WriteRequest.
 *
 * Why not protobuf-c here: the project decodes protobuf with protobuf-c,
 * and still does for everything else (remote read, the sender, exemplars
 * and metadata below). But a write request is one small message shape sent
 * at high rates, one sample per TimeSeries, and protobuf-c's unpack was the
 * largest cost of the receiver (about 20% of its CPU): it allocates every
 * TimeSeries, Label, Sample and string and copies each string, where the
 * receiver only needs to walk the bytes once. This walker borrows the label
 * strings from the buffer, stores samples in flat arrays, and hands the
 * label fields' raw bytes to the receiver's series cache.
 *
 * It follows protobuf-c 1.4's acceptance rules exactly (the fuzzer
 * tests/fuzz/fuzz_remote_write.c and tests/unit/test_remote.c compare the
 * two on every input): tags of at most 5 bytes whose first byte carries a
 * non-zero field number, varints of at most 10 bytes, length prefixes of at
 * most 5 bytes and at most INT_MAX, wire types 0, 1, 2 and 5 only (groups
 * are rejected), unknown fields skipped, a known field with another wire
 * type rejected, the last occurrence of a scalar field winning. Exemplars
 * and metadata are rare and their contents unused, so protobuf-c itself
 * validates them. */
#include "config.h"
#include "remote/wire.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "remote/remote.pb-c.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

void remote_wire_init(remote_wire_request *r)
{
	memset(r, 0, sizeof(*r));
}

void remote_wire_free(remote_wire_request *r)
{
	free(r->series);
	free(r->labels);
	free(r->samples);
	memset(r, 0, sizeof(*r));
}

/* A field's tag: returns the bytes it takes, 0 when malformed. */
static size_t read_tag(const uint8_t *p, size_t n, uint32_t *tag, unsigned *wt)
{
	if ((p[0] & 0xf8) == 0)
		return 0;  /* field number 0 in the first byte */
	*wt = p[0] & 7;
	uint32_t t = (p[0] & 0x7f) >> 3;
	if (!(p[0] & 0x80)) {
		*tag = t;
		return 1;
	}
	size_t max = n < 5 ? n : 5;
	unsigned shift = 4;
	for (size_t i = 1; i < max; i++) {
		t |= (uint32_t)(p[i] & 0x7f) << shift;
		if (!(p[i] & 0x80)) {
			*tag = t;
			return i + 1;
		}
		shift += 7;
	}
	return 0;
}

/* One field's value after its tag. Sets *used to the bytes it takes, and
 * for WT_LEN *pl and *pn to the payload, for WT_VARINT and WT_I64 *u to the
 * value. Returns 0, or -1 when malformed or of an unsupported wire type. */
static int read_value(const uint8_t *p, size_t n, unsigned wt, size_t *used, const uint8_t **pl, size_t *pn,
		      uint64_t *u)
{
	switch (wt) {
	case WT_VARINT: {
		size_t max = n < 10 ? n : 10;
		uint64_t v = 0;
		for (size_t i = 0; i < max; i++) {
			v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
			if (!(p[i] & 0x80)) {
				*u = v;
				*used = i + 1;
				return 0;
			}
		}
		return -1;
	}
	case WT_I64:
		if (n < 8)
			return -1;
		*u = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
		     (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
		*used = 8;
		return 0;
	case WT_I32:
		if (n < 4)
			return -1;
		*used = 4;
		return 0;
	case WT_LEN: {
		size_t max = n < 5 ? n : 5, len = 0, i;
		for (i = 0; i < max; i++) {
			len |= (size_t)(p[i] & 0x7f) << (7 * i);
			if (!(p[i] & 0x80))
				break;
		}
		if (i == max || len > INT_MAX || i + 1 + len > n)
			return -1;
		*pl = p + i + 1;
		*pn = len;
		*used = i + 1 + len;
		return 0;
	}
	}
	return -1;
}

/* Runs BODY for each field of the message in buf[0..n), with tag, wt, the
 * field's first byte (start) and end (fend), its payload (pl, pn) for WT_LEN
 * and value (u) for WT_VARINT and WT_I64 in scope. The enclosing function
 * returns -1 on malformed input. */
#define FOR_EACH_FIELD(buf, n, BODY)                                                                              \
	do {                                                                                                      \
		const uint8_t *p_ = (buf), *end_ = p_ + (n);                                                      \
		while (p_ < end_) {                                                                               \
			uint32_t tag;                                                                             \
			unsigned wt;                                                                              \
			const uint8_t *start = p_, *pl = NULL;                                                    \
			size_t pn = 0, used;                                                                      \
			uint64_t u = 0;                                                                           \
			size_t tl = read_tag(p_, (size_t)(end_ - p_), &tag, &wt);                                 \
			if (!tl || read_value(p_ + tl, (size_t)(end_ - p_) - tl, wt, &used, &pl, &pn, &u) != 0) \
				return -1;                                                                        \
			p_ += tl + used;                                                                          \
			const uint8_t *fend = p_;                                                                 \
			(void)start;                                                                              \
			(void)fend;                                                                               \
			(void)pl;                                                                                 \
			(void)pn;                                                                                 \
			(void)u;                                                                                  \
			BODY                                                                                      \
		}                                                                                                 \
	} while (0)

static int decode_label(const uint8_t *buf, size_t n, remote_wire_label *l)
{
	l->name = l->value = "";
	l->name_len = l->value_len = 0;
	FOR_EACH_FIELD(buf, n, {
		if (tag == 1 || tag == 2) {
			if (wt != WT_LEN)
				return -1;
			if (tag == 1) {
				l->name = (const char *)pl;
				l->name_len = (uint32_t)pn;
			} else {
				l->value = (const char *)pl;
				l->value_len = (uint32_t)pn;
			}
		}
	});
	return 0;
}

static int decode_sample(const uint8_t *buf, size_t n, remote_wire_sample *s)
{
	s->t = 0;
	s->v = 0;
	FOR_EACH_FIELD(buf, n, {
		if (tag == 1) {
			if (wt != WT_I64)
				return -1;
			memcpy(&s->v, &u, 8);
		} else if (tag == 2) {
			if (wt != WT_VARINT)
				return -1;
			s->t = (int64_t)u;
		}
	});
	return 0;
}

/* protobuf-c decides whether a nested message it would unpack is valid. */
static int valid_by_protobuf_c(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t n)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, buf);
	if (!m)
		return -1;
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

#define GROW(arr, count, cap)                                                     \
	do {                                                                      \
		if ((count) == (cap)) {                                           \
			(cap) = (cap) ? (cap) * 2 : 64;                           \
			(arr) = tp_xrealloc((arr), (cap) * sizeof(*(arr)));       \
		}                                                                 \
	} while (0)

/* Fast paths for what every sender writes, one-byte lengths and fields in
 * order: Label{1: name, 2: value} as 0a L 0a N name 12 V value, and
 * Sample{1: value, 2: timestamp} as 12 L 09 value(8) 10 varint. They take
 * the field at p (end: the end of the TimeSeries) and return its length, or
 * 0 to leave it to the general walk, which gives the same result. */
static size_t fast_label(const uint8_t *p, const uint8_t *end, remote_wire_label *l)
{
	if (end - p < 6 || p[0] != 0x0a || p[1] >= 0x80 || p[2] != 0x0a || p[3] >= 0x80)
		return 0;
	size_t len = p[1], nl = p[3];
	if ((size_t)(end - p) < 2 + len || len < 4 + nl || p[4 + nl] != 0x12 || p[5 + nl] >= 0x80 ||
	    4 + nl + p[5 + nl] != len)
		return 0;
	l->name = (const char *)p + 4;
	l->name_len = (uint32_t)nl;
	l->value = (const char *)p + 6 + nl;
	l->value_len = p[5 + nl];
	return 2 + len;
}

static size_t fast_sample(const uint8_t *p, const uint8_t *end, remote_wire_sample *s)
{
	if (end - p < 13 || p[0] != 0x12 || p[1] >= 0x80 || p[2] != 0x09 || p[11] != 0x10)
		return 0;
	size_t len = p[1];
	if (len < 11 || len > 20 || (size_t)(end - p) < 2 + len)
		return 0;
	uint64_t u = 0;
	size_t i = 12, stop = 2 + len;
	for (unsigned shift = 0;; shift += 7, i++) {
		u |= (uint64_t)(p[i] & 0x7f) << shift;
		if (!(p[i] & 0x80))
			break;
		if (i + 1 == stop)
			return 0;
	}
	if (i + 1 != stop)
		return 0;
	uint64_t v = (uint64_t)p[3] | (uint64_t)p[4] << 8 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 24 |
		     (uint64_t)p[7] << 32 | (uint64_t)p[8] << 40 | (uint64_t)p[9] << 48 | (uint64_t)p[10] << 56;
	memcpy(&s->v, &v, 8);
	s->t = (int64_t)u;
	return stop;
}

/* Pushes the labels of a key span (Label fields, already validated). */
static void push_key_labels(remote_wire_request *r, const uint8_t *key, size_t n)
{
	const uint8_t *end = key + n;
	while (key < end) {
		GROW(r->labels, r->n_labels, r->cap_labels);
		size_t k = fast_label(key, end, &r->labels[r->n_labels]);
		if (!k) {
			uint32_t tag;
			unsigned wt;
			const uint8_t *pl = NULL;
			size_t pn = 0, used;
			uint64_t u;
			size_t tl = read_tag(key, (size_t)(end - key), &tag, &wt);
			read_value(key + tl, (size_t)(end - key) - tl, wt, &used, &pl, &pn, &u);
			decode_label(pl, pn, &r->labels[r->n_labels]);
			k = tl + used;
		}
		r->n_labels++;
		key += k;
	}
}

static int decode_series(remote_wire_request *r, const uint8_t *buf, size_t n)
{
	remote_wire_series s = { .sample0 = r->n_samples };
	const uint8_t *kend = NULL, *end = buf + n;
	int contiguous = 1;
	remote_wire_label l;
	/* the labels, then the samples, as senders write them; contiguous
	 * labels are kept as their key span only (remote_wire_series_labels) */
	while (buf < end) {
		size_t k = fast_label(buf, end, &l);
		if (!k)
			break;
		s.n_labels++;
		if (!s.key)
			s.key = buf;
		buf += k;
		kend = buf;
	}
	while (buf < end) {
		if (r->n_samples == r->cap_samples)
			GROW(r->samples, r->n_samples, r->cap_samples);
		size_t k = fast_sample(buf, end, &r->samples[r->n_samples]);
		if (!k)
			break;
		r->n_samples++;
		buf += k;
	}
	n = (size_t)(end - buf);
	/* anything else, in any order */
	FOR_EACH_FIELD(buf, n, {
		if (tag >= 1 && tag <= 3 && wt != WT_LEN)
			return -1;
		if (tag == 1) {
			if (decode_label(pl, pn, &l) != 0)
				return -1;
			s.n_labels++;
			if (contiguous && s.key && start != kend) {
				/* labels apart: from now on they are stored */
				contiguous = 0;
				s.label0 = r->n_labels;
				push_key_labels(r, s.key, (size_t)(kend - s.key));
			}
			if (contiguous) {
				if (!s.key)
					s.key = start;
				kend = fend;
			} else {
				GROW(r->labels, r->n_labels, r->cap_labels);
				r->labels[r->n_labels++] = l;
			}
		} else if (tag == 2) {
			GROW(r->samples, r->n_samples, r->cap_samples);
			if (decode_sample(pl, pn, &r->samples[r->n_samples]) != 0)
				return -1;
			r->n_samples++;
		} else if (tag == 3) {
			if (valid_by_protobuf_c(&prometheus__exemplar__descriptor, pl, pn) != 0)
				return -1;
			s.n_exemplars++;
		}
	});
	s.n_samples = r->n_samples - s.sample0;
	if (s.key && contiguous)
		s.key_len = (size_t)(kend - s.key);
	else
		s.key = NULL;
	GROW(r->series, r->n_series, r->cap_series);
	r->series[r->n_series++] = s;
	return 0;
}

/* The number of TimeSeries fields at the top level (a guess when the
 * message is malformed: the decoder rejects it then). */
static size_t count_series(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	size_t k = 0;
	while (p < end) {
		uint32_t tag;
		unsigned wt;
		const uint8_t *pl;
		size_t pn, used;
		uint64_t u;
		size_t tl = read_tag(p, (size_t)(end - p), &tag, &wt);
		if (!tl || read_value(p + tl, (size_t)(end - p) - tl, wt, &used, &pl, &pn, &u) != 0)
			break;
		k += tag == 1;
		p += tl + used;
	}
	return k;
}

size_t remote_wire_series_labels(const remote_wire_request *r, const remote_wire_series *s, remote_wire_label *out)
{
	if (!s->key) {
		if (s->n_labels)
			memcpy(out, r->labels + s->label0, s->n_labels * sizeof(*out));
		return s->n_labels;
	}
	remote_wire_request tmp = { .labels = out, .cap_labels = s->n_labels };
	push_key_labels(&tmp, s->key, s->key_len);
	return tmp.n_labels;
}

int remote_wire_decode(remote_wire_request *r, const void *buf, size_t n)
{
	r->n_series = r->n_labels = r->n_samples = r->n_metadata = 0;
	/* one allocation each for what a request usually holds: its series
	 * with a sample each */
	size_t ns = count_series(buf, n);
	if (ns > r->cap_series) {
		free(r->series);
		r->series = tp_xmalloc(ns * sizeof(*r->series));
		r->cap_series = ns;
	}
	if (ns > r->cap_samples) {
		free(r->samples);
		r->samples = tp_xmalloc(ns * sizeof(*r->samples));
		r->cap_samples = ns;
	}
	FOR_EACH_FIELD((const uint8_t *)buf, n, {
		if (tag == 1) {
			if (wt != WT_LEN || decode_series(r, pl, pn) != 0)
				return -1;
		} else if (tag == 3) {
			if (wt != WT_LEN ||
			    valid_by_protobuf_c(&prometheus__metric_metadata__descriptor, pl, pn) != 0)
				return -1;
			r->n_metadata++;
		}
	});
	return 0;
}

/* ---- checking against protobuf-c (tests and the fuzzer) ---- */

static int wire_str_equal(const char *w, uint32_t wn, const char *c)
{
	size_t n = remote_wire_strlen(w, wn);
	return strlen(c) == n && memcmp(w, c, n) == 0;
}

int remote_wire_equal_proto(const remote_wire_request *r, const Prometheus__WriteRequest *m)
{
	if (r->n_series != m->n_timeseries || r->n_metadata != m->n_metadata)
		return 0;
	for (size_t i = 0; i < r->n_series; i++) {
		const remote_wire_series *s = &r->series[i];
		const Prometheus__TimeSeries *ts = m->timeseries[i];
		if (s->n_labels != ts->n_labels || s->n_samples != ts->n_samples || s->n_exemplars != ts->n_exemplars)
			return 0;
		remote_wire_label *lv = tp_xmalloc(sizeof(*lv) * (s->n_labels ? s->n_labels : 1));
		int same = remote_wire_series_labels(r, s, lv) == s->n_labels;
		for (size_t j = 0; same && j < s->n_labels; j++)
			same = wire_str_equal(lv[j].name, lv[j].name_len, ts->labels[j]->name) &&
			       wire_str_equal(lv[j].value, lv[j].value_len, ts->labels[j]->value);
		free(lv);
		if (!same)
			return 0;
		for (size_t j = 0; j < s->n_samples; j++) {
			const remote_wire_sample *w = &r->samples[s->sample0 + j];
			const Prometheus__Sample *p = ts->samples[j];
			if (w->t != p->timestamp || memcmp(&w->v, &p->value, sizeof(double)) != 0)
				return 0;
		}
	}
	return 1;
}
