/* SPDX-License-Identifier: Apache-2.0
 * test_remote.c - remote write/read codec: snappy framing, protobuf decode
 * of real encoder output, applying writes whole-or-nothing, and reading the
 * samples back through a ReadRequest. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/codec.h"

/* Builds a snappy-compressed WriteRequest with nseries series named
 * name_i{job="j"} and nsamples samples each starting at t0 (step 1000). */
static char *make_write(const char *name, int nseries, int nsamples, int64_t t0, size_t *n)
{
	Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
	Prometheus__TimeSeries *ts = calloc((size_t)nseries, sizeof(*ts));
	Prometheus__TimeSeries **tsp = calloc((size_t)nseries, sizeof(void *));
	Prometheus__Label *lab = calloc((size_t)nseries * 2, sizeof(*lab));
	Prometheus__Label **labp = calloc((size_t)nseries * 2, sizeof(void *));
	Prometheus__Sample *sm = calloc((size_t)(nseries * nsamples), sizeof(*sm));
	Prometheus__Sample **smp = calloc((size_t)(nseries * nsamples), sizeof(void *));
	char (*names)[32] = calloc((size_t)nseries, 32);
	for (int i = 0; i < nseries; i++) {
		prometheus__time_series__init(&ts[i]);
		snprintf(names[i], 32, "%s_%d", name, i);
		/* deliberately unsorted: job before __name__ */
		prometheus__label__init(&lab[2 * i]);
		lab[2 * i].name = "job";
		lab[2 * i].value = "j";
		prometheus__label__init(&lab[2 * i + 1]);
		lab[2 * i + 1].name = "__name__";
		lab[2 * i + 1].value = names[i];
		labp[2 * i] = &lab[2 * i];
		labp[2 * i + 1] = &lab[2 * i + 1];
		ts[i].labels = &labp[2 * i];
		ts[i].n_labels = 2;
		for (int j = 0; j < nsamples; j++) {
			Prometheus__Sample *s = &sm[i * nsamples + j];
			prometheus__sample__init(s);
			s->timestamp = t0 + j * 1000;
			s->value = i * 100 + j;
			smp[i * nsamples + j] = s;
		}
		ts[i].samples = &smp[i * nsamples];
		ts[i].n_samples = (size_t)nsamples;
		tsp[i] = &ts[i];
	}
	wr.timeseries = tsp;
	wr.n_timeseries = (size_t)nseries;
	size_t rawn = prometheus__write_request__get_packed_size(&wr);
	uint8_t *raw = malloc(rawn + 1);
	prometheus__write_request__pack(&wr, raw);
	char *out = remote_snappy_encode(raw, rawn, n);
	free(raw);
	free(ts);
	free(tsp);
	free(lab);
	free(labp);
	free(sm);
	free(smp);
	free(names);
	return out;
}

static void test_snappy_errors(void **state)
{
	(void)state;
	tp_arena a;
	tp_arena_init(&a);
	char err[256];
	const char *out;
	size_t outn;
	const unsigned char framed[] = { 0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y', 0, 0 };
	assert_int_equal(remote_snappy_decode(framed, sizeof(framed), 1 << 20, &a, &out, &outn, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "framed"));
	const char garbage[] = "\x05garbage-not-snappy";
	assert_int_equal(remote_snappy_decode(garbage, sizeof(garbage) - 1, 1 << 20, &a, &out, &outn, err, sizeof(err)),
			 -1);
	/* a declared length over the cap is refused before allocating */
	size_t zn;
	char zeros[4096] = { 0 };
	char *z = remote_snappy_encode(zeros, sizeof(zeros), &zn);
	assert_int_equal(remote_snappy_decode(z, zn, 1024, &a, &out, &outn, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exceeds"));
	assert_int_equal(remote_snappy_decode(z, zn, 1 << 20, &a, &out, &outn, err, sizeof(err)), 0);
	assert_int_equal(outn, sizeof(zeros));
	free(z);
	/* valid snappy around garbage protobuf */
	const char junk[] = "\xff\xff\xff\xff\xff\xff";
	char *j = remote_snappy_encode(junk, sizeof(junk) - 1, &zn);
	assert_null(remote_write_decode(j, zn, &a, err, sizeof(err)));
	assert_non_null(strstr(err, "proto"));
	free(j);
	tp_arena_free(&a);
}

static void test_write_then_read(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	size_t n;
	char *body = make_write("m", 3, 5, 1000, &n);
	tp_arena a;
	tp_arena_init(&a);
	char err[256];
	Prometheus__WriteRequest *wr = remote_write_decode(body, n, &a, err, sizeof(err));
	assert_non_null(wr);
	assert_int_equal(wr->n_timeseries, 3);
	remote_write_result res;
	assert_int_equal(remote_write_apply(h, wr, &res), 0);
	assert_int_equal(res.samples, 15);
	assert_int_equal(res.series, 3);
	free(body);

	/* read back m_1 over [2000, 4000] */
	Prometheus__ReadRequest rr = PROMETHEUS__READ_REQUEST__INIT;
	Prometheus__Query q = PROMETHEUS__QUERY__INIT;
	Prometheus__Query *qp = &q;
	Prometheus__LabelMatcher m = PROMETHEUS__LABEL_MATCHER__INIT;
	Prometheus__LabelMatcher *mp = &m;
	m.type = PROMETHEUS__LABEL_MATCHER__TYPE__RE;
	m.name = "__name__";
	m.value = "m_1|m_2";
	q.matchers = &mp;
	q.n_matchers = 1;
	q.start_timestamp_ms = 2000;
	q.end_timestamp_ms = 4000;
	rr.queries = &qp;
	rr.n_queries = 1;
	size_t respn;
	char *resp = remote_read_samples(h, &rr, &respn, err, sizeof(err));
	assert_non_null(resp);
	const char *raw;
	size_t rawn;
	assert_int_equal(remote_snappy_decode(resp, respn, 1 << 24, &a, &raw, &rawn, err, sizeof(err)), 0);
	Prometheus__ReadResponse *rp = prometheus__read_response__unpack(NULL, rawn, (const uint8_t *)raw);
	assert_non_null(rp);
	assert_int_equal(rp->n_results, 1);
	assert_int_equal(rp->results[0]->n_timeseries, 2);
	Prometheus__TimeSeries *ts = rp->results[0]->timeseries[0];
	assert_int_equal(ts->n_labels, 2);
	assert_string_equal(ts->labels[0]->name, "__name__");
	assert_string_equal(ts->labels[0]->value, "m_1");
	assert_string_equal(ts->labels[1]->name, "job");
	assert_int_equal(ts->n_samples, 3);
	assert_int_equal(ts->samples[0]->timestamp, 2000);
	assert_true(ts->samples[0]->value == 101);
	assert_int_equal(ts->samples[2]->timestamp, 4000);
	prometheus__read_response__free_unpacked(rp, NULL);
	free(resp);

	/* a request with an out-of-order sample lands not at all */
	body = make_write("m", 3, 2, 500, &n); /* t=500 < 5000 for m_0..m_2 */
	wr = remote_write_decode(body, n, &a, err, sizeof(err));
	assert_non_null(wr);
	/* make series m_0 new (so it would have been accepted) */
	wr->timeseries[0]->labels[1]->value = "fresh";
	assert_int_equal(remote_write_apply(h, wr, &res), -1);
	assert_non_null(strstr(res.error, "out of order"));
	assert_int_equal(res.samples, 0);
	free(body);
	tsdb_querier *qq = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	tsdb_matcher fm;
	assert_int_equal(tsdb_matcher_init(&fm, TSDB_MATCH_EQ, "__name__", "fresh", err, sizeof(err)), 0);
	tsdb_series_set *ss = tsdb_querier_select(qq, &fm, 1);
	assert_false(tsdb_series_set_next(ss)); /* nothing from the rolled-back request is visible */
	tsdb_series_set_free(ss);
	tsdb_matcher_free(&fm);
	tsdb_querier_free(qq);

	/* a bad regex in a read request is an error, not a crash */
	m.value = "(";
	assert_null(remote_read_samples(h, &rr, &respn, err, sizeof(err)));

	tp_arena_free(&a);
	tsdb_head_free(h);
}

static void test_labels_from_proto(void **state)
{
	(void)state;
	tp_arena a;
	tp_arena_init(&a);
	Prometheus__Label l[3];
	Prometheus__Label *lp[3] = { &l[0], &l[1], &l[2] };
	for (int i = 0; i < 3; i++)
		prometheus__label__init(&l[i]);
	l[0].name = "b";
	l[0].value = "2";
	l[1].name = "a";
	l[1].value = "";
	l[2].name = "__name__";
	l[2].value = "x";
	tp_labels out;
	char err[128];
	assert_int_equal(remote_labels_from_proto(&a, lp, 3, &out, err, sizeof(err)), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0].name, "__name__");
	assert_string_equal(out.v[1].name, "b");
	l[1].name = "b";
	l[1].value = "3";
	assert_int_equal(remote_labels_from_proto(&a, lp, 3, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate"));
	tp_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snappy_errors),
		cmocka_unit_test(test_write_then_read),
		cmocka_unit_test(test_labels_from_proto),
	};
	return cmocka_run_group_tests_name("remote", tests, NULL, NULL);
}
