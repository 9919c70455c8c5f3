/* SPDX-License-Identifier: Apache-2.0
 * codec.c - remote write/read codec: snappy, protobuf-c over an arena,
 * applying writes to the head and answering reads with samples. */
#include "config.h"
#include "remote/codec.h"

#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/strbuf.h"

/* ---- snappy ---- */

static const unsigned char snappy_framed_magic[] = { 0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y' };

int remote_snappy_decode(const void *in, size_t n, size_t max_bytes, tp_arena *a, const char **out,
			 size_t *outn, char *err, size_t errlen)
{
	if (n >= sizeof(snappy_framed_magic) && memcmp(in, snappy_framed_magic, sizeof(snappy_framed_magic)) == 0) {
		snprintf(err, errlen, "snappy: framed format is not supported, send the block format");
		return -1;
	}
	size_t len;
	if (snappy_uncompressed_length(in, n, &len) != SNAPPY_OK) {
		snprintf(err, errlen, "snappy: corrupt input");
		return -1;
	}
	if (len > max_bytes) {
		snprintf(err, errlen, "snappy: decoded length %zu exceeds the limit of %zu bytes", len, max_bytes);
		return -1;
	}
	char *buf = tp_arena_alloc(a, len ? len : 1);
	size_t got = len;
	if (snappy_uncompress(in, n, buf, &got) != SNAPPY_OK || got != len) {
		snprintf(err, errlen, "snappy: corrupt input");
		return -1;
	}
	*out = buf;
	*outn = len;
	return 0;
}

char *remote_snappy_encode(const void *in, size_t n, size_t *outn)
{
	size_t cap = snappy_max_compressed_length(n);
	char *buf = tp_xmalloc(cap);
	*outn = cap;
	if (snappy_compress(in, n, buf, outn) != SNAPPY_OK) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- protobuf over an arena ---- */

static void *pb_alloc(void *data, size_t size)
{
	return tp_arena_alloc(data, size);
}

static void pb_free(void *data, void *p)
{
	(void)data;
	(void)p; /* the arena frees everything at once */
}

static void *decode(const ProtobufCMessageDescriptor *d, const void *body, size_t n, tp_arena *a, char *err,
		    size_t errlen)
{
	const char *raw;
	size_t rawn;
	if (remote_snappy_decode(body, n, REMOTE_MAX_DECODED_BYTES, a, &raw, &rawn, err, errlen) != 0)
		return NULL;
	ProtobufCAllocator al = { .alloc = pb_alloc, .free = pb_free, .allocator_data = a };
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &al, rawn, (const uint8_t *)raw);
	if (!m)
		snprintf(err, errlen, "proto: cannot decode %s", d->short_name);
	return m;
}

Prometheus__WriteRequest *remote_write_decode(const void *body, size_t n, tp_arena *a, char *err, size_t errlen)
{
	return decode(&prometheus__write_request__descriptor, body, n, a, err, errlen);
}

Prometheus__ReadRequest *remote_read_decode(const void *body, size_t n, tp_arena *a, char *err, size_t errlen)
{
	return decode(&prometheus__read_request__descriptor, body, n, a, err, errlen);
}

/* ---- write ---- */

static int cmp_label(const void *x, const void *y)
{
	return strcmp(((const tp_label *)x)->name, ((const tp_label *)y)->name);
}

int remote_labels_from_proto(tp_arena *a, Prometheus__Label *const *pl, size_t n, tp_labels *out, char *err,
			     size_t errlen)
{
	tp_label *v = tp_arena_alloc(a, sizeof(tp_label) * (n ? n : 1));
	uint32_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = pl[i]->name ? pl[i]->name : "";
		const char *value = pl[i]->value ? pl[i]->value : "";
		if (!name[0]) {
			snprintf(err, errlen, "invalid label: empty label name");
			return -1;
		}
		if (value[0])
			v[m++] = (tp_label){ name, value };
	}
	/* senders send labels sorted (the spec requires it): check that in one
	 * pass, and sort only when they are not */
	uint32_t k = 1;
	while (k < m && strcmp(v[k - 1].name, v[k].name) < 0)
		k++;
	if (k >= m)
		goto done;
	qsort(v, m, sizeof(tp_label), cmp_label);
	for (uint32_t i = 1; i < m; i++) {
		if (strcmp(v[i - 1].name, v[i].name) == 0) {
			snprintf(err, errlen, "invalid labels: duplicate label name %s", v[i].name);
			return -1;
		}
	}
done:
	*out = (tp_labels){ .v = v, .n = m };
	return 0;
}

int remote_write_apply(tsdb_head *h, const Prometheus__WriteRequest *req, remote_write_result *res)
{
	memset(res, 0, sizeof(*res));
	res->metadata = req->n_metadata;
	tp_arena a;
	tp_arena_init(&a);
	tsdb_appender *app = tsdb_appender_new(h);
	int rc = 0;
	for (size_t i = 0; i < req->n_timeseries && rc == 0; i++) {
		const Prometheus__TimeSeries *ts = req->timeseries[i];
		res->exemplars += ts->n_exemplars;
		if (ts->n_samples == 0) {
			res->series_no_samples++;
			continue;
		}
		tp_labels l;
		char lerr[160];
		tp_arena_reset(&a);
		if (remote_labels_from_proto(&a, ts->labels, ts->n_labels, &l, lerr, sizeof(lerr)) != 0 ||
		    !tp_labels_get(&l, TP_METRIC_NAME)) {
			/* Lenient as Prometheus v1: skip the series, keep the request. */
			res->series_skipped++;
			continue;
		}
		uint32_t ref = 0;
		for (size_t j = 0; j < ts->n_samples; j++) {
			const Prometheus__Sample *s = ts->samples[j];
			int r = ref ? tsdb_appender_add_ref(app, ref, s->timestamp, s->value)
				    : tsdb_appender_add(app, &l, s->timestamp, s->value, &ref);
			if (r == TSDB_ENOTFOUND) /* removed by retention meanwhile */
				r = tsdb_appender_add(app, &l, s->timestamp, s->value, &ref);
			if (r != TSDB_OK) {
				tp_strbuf sb = { 0 };
				tp_labels_format(&sb, &l, true);
				snprintf(res->error, sizeof(res->error), "%s: series=%s timestamp=%lld",
					 tsdb_rc_str(r), tp_sb_cstr(&sb), (long long)s->timestamp);
				tp_sb_free(&sb);
				rc = -1;
				break;
			}
		}
		res->series++;
	}
	if (rc == 0) {
		res->samples = tsdb_appender_commit(app);
	} else {
		tsdb_appender_rollback(app);
		res->series = 0;
	}
	tsdb_appender_free(app);
	tp_arena_free(&a);
	return rc;
}

/* ---- read (SAMPLES) ---- */

static int matchers_from_proto(const Prometheus__Query *q, tsdb_matcher *ms, char *err, size_t errlen)
{
	static const tsdb_match_type types[] = { TSDB_MATCH_EQ, TSDB_MATCH_NEQ, TSDB_MATCH_RE, TSDB_MATCH_NRE };
	for (size_t i = 0; i < q->n_matchers; i++) {
		const Prometheus__LabelMatcher *pm = q->matchers[i];
		bool bad_type = (unsigned)pm->type >= TP_ARRAY_LEN(types);
		if (bad_type)
			snprintf(err, errlen, "invalid matcher type %d", (int)pm->type);
		if (bad_type || tsdb_matcher_init(&ms[i], types[bad_type ? 0 : pm->type], pm->name ? pm->name : "",
						  pm->value ? pm->value : "", err, errlen) != 0) {
			while (i--)
				tsdb_matcher_free(&ms[i]);
			return -1;
		}
	}
	return 0;
}

char *remote_read_samples(tsdb_head *h, const Prometheus__ReadRequest *req, size_t *outn, char *err, size_t errlen)
{
	tp_arena a;
	tp_arena_init(&a);
	Prometheus__ReadResponse resp = PROMETHEUS__READ_RESPONSE__INIT;
	resp.n_results = req->n_queries;
	resp.results = tp_arena_zalloc(&a, sizeof(void *) * (req->n_queries ? req->n_queries : 1));
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	char *out = NULL;
	for (size_t qi = 0; qi < req->n_queries; qi++) {
		const Prometheus__Query *q = req->queries[qi];
		Prometheus__QueryResult *qr = tp_arena_alloc(&a, sizeof(*qr));
		prometheus__query_result__init(qr);
		resp.results[qi] = qr;
		if (q->n_matchers == 0) {
			snprintf(err, errlen, "no matchers specified");
			goto done;
		}
		tsdb_matcher *ms = tp_arena_zalloc(&a, sizeof(tsdb_matcher) * q->n_matchers);
		if (matchers_from_proto(q, ms, err, errlen) != 0)
			goto done;
		tsdb_querier *qq = tsdb_querier_new(h, q->start_timestamp_ms, q->end_timestamp_ms);
		tsdb_series_set *ss = tsdb_querier_select(qq, ms, q->n_matchers);
		size_t nser = tsdb_series_set_count(ss), k = 0;
		qr->timeseries = tp_arena_alloc(&a, sizeof(void *) * (nser ? nser : 1));
		while (tsdb_series_set_next(ss) && k < nser) {
			size_t ns = tsdb_series_set_samples(ss, q->start_timestamp_ms, q->end_timestamp_ms, &buf, &cap);
			if (ns == 0)
				continue;
			const tp_labels *l = tsdb_series_set_labels(ss);
			Prometheus__TimeSeries *ts = tp_arena_alloc(&a, sizeof(*ts));
			prometheus__time_series__init(ts);
			ts->n_labels = l->n;
			ts->labels = tp_arena_alloc(&a, sizeof(void *) * (l->n ? l->n : 1));
			Prometheus__Label *lv = tp_arena_alloc(&a, sizeof(*lv) * (l->n ? l->n : 1));
			for (uint32_t i = 0; i < l->n; i++) {
				prometheus__label__init(&lv[i]);
				lv[i].name = (char *)l->v[i].name;
				lv[i].value = (char *)l->v[i].value;
				ts->labels[i] = &lv[i];
			}
			ts->n_samples = ns;
			ts->samples = tp_arena_alloc(&a, sizeof(void *) * ns);
			Prometheus__Sample *sv = tp_arena_alloc(&a, sizeof(*sv) * ns);
			for (size_t i = 0; i < ns; i++) {
				prometheus__sample__init(&sv[i]);
				sv[i].timestamp = buf[i].t;
				sv[i].value = buf[i].v;
				ts->samples[i] = &sv[i];
			}
			qr->timeseries[k++] = ts;
		}
		qr->n_timeseries = k;
		tsdb_series_set_free(ss);
		tsdb_querier_free(qq);
		for (size_t i = 0; i < q->n_matchers; i++)
			tsdb_matcher_free(&ms[i]);
	}
	size_t rawn = prometheus__read_response__get_packed_size(&resp);
	uint8_t *raw = tp_xmalloc(rawn ? rawn : 1);
	prometheus__read_response__pack(&resp, raw);
	out = remote_snappy_encode(raw, rawn, outn);
	free(raw);
	if (!out)
		snprintf(err, errlen, "snappy: cannot compress the response");
done:
	free(buf);
	tp_arena_free(&a);
	return out;
}
