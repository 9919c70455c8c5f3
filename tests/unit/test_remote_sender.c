/* SPDX-License-Identifier: Apache-2.0
 * test_remote_sender.c - the remote write sender end to end inside one
 * process: a head whose commits feed remote_storage_observe, and a
 * receiver (libmicrohttpd + the project's remote write decoder, applying
 * into a second head) that can be told to fail. Checks what arrives
 * (labels after external labels and write relabelling, every sample once,
 * in order, stale markers bit-exact), retries of 5xx, dropping on 4xx, the
 * bounded buffer, and that a reload keeps an unchanged queue. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/arena.h"
#include "lib/common.h"
#include "lib/labels.h"
#include "remote/codec.h"
#include "remote/sender.h"
#include "tsdb/tsdb.h"

/* ---- the receiver ---- */

typedef struct receiver {
	struct MHD_Daemon *d;
	unsigned port;
	tsdb_head *head;               /* what arrived */
	pthread_mutex_t mu;
	atomic_int fail_next;          /* answer this many requests with fail_status */
	atomic_int fail_status;
	atomic_int requests, accepted;
	char last_content_type[64], last_encoding[32], last_version[16];
} receiver;

typedef struct body {
	char *p;
	size_t n;
} body;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *data, size_t *size, void **ctx)
{
	(void)url;
	(void)method;
	(void)version;
	receiver *rv = cls;
	body *b = *ctx;
	if (!b) {
		*ctx = calloc(1, sizeof(body));
		return MHD_YES;
	}
	if (*size) {
		b->p = realloc(b->p, b->n + *size);
		memcpy(b->p + b->n, data, *size);
		b->n += *size;
		*size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&rv->requests, 1);
	pthread_mutex_lock(&rv->mu);
	const char *h;
	if ((h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type")))
		snprintf(rv->last_content_type, sizeof rv->last_content_type, "%s", h);
	if ((h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding")))
		snprintf(rv->last_encoding, sizeof rv->last_encoding, "%s", h);
	if ((h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Prometheus-Remote-Write-Version")))
		snprintf(rv->last_version, sizeof rv->last_version, "%s", h);
	unsigned status = 204;
	if (atomic_load(&rv->fail_next) > 0) {
		atomic_fetch_sub(&rv->fail_next, 1);
		status = (unsigned)atomic_load(&rv->fail_status);
	} else {
		tp_arena a;
		tp_arena_init(&a);
		char err[256];
		Prometheus__WriteRequest *wr = remote_write_decode(b->p, b->n, &a, err, sizeof err);
		remote_write_result res;
		if (!wr || remote_write_apply(rv->head, wr, &res) != 0)
			status = 400;
		else
			atomic_fetch_add(&rv->accepted, 1);
		tp_arena_free(&a);
	}
	pthread_mutex_unlock(&rv->mu);
	return reply(c, status);
}

static void on_done(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	(void)t;
	body *b = *ctx;
	if (b) {
		free(b->p);
		free(b);
	}
}

static receiver *receiver_start(void)
{
	receiver *rv = calloc(1, sizeof(*rv));
	pthread_mutex_init(&rv->mu, NULL);
	rv->head = tsdb_head_new(NULL);
	rv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
				 on_req, rv, MHD_OPTION_NOTIFY_COMPLETED, on_done, rv, MHD_OPTION_END);
	assert_non_null(rv->d);
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(rv->d, MHD_DAEMON_INFO_BIND_PORT);
	rv->port = di->port;
	return rv;
}

static void receiver_stop(receiver *rv)
{
	MHD_stop_daemon(rv->d);
	tsdb_head_free(rv->head);
	pthread_mutex_destroy(&rv->mu);
	free(rv);
}

/* Samples of the series with exactly __name__=name and the labels kv
 * (name, value pairs); 0 when there is none. */
static size_t received(receiver *rv, const char *name, const char *const *kv, size_t nkv, int64_t *ts, double *vs,
		       size_t max)
{
	tsdb_matcher m[8];
	size_t nm = 0;
	char err[128];
	assert_int_equal(tsdb_matcher_init(&m[nm++], TSDB_MATCH_EQ, "__name__", name, err, sizeof err), 0);
	for (size_t i = 0; i < nkv; i += 2)
		assert_int_equal(tsdb_matcher_init(&m[nm++], TSDB_MATCH_EQ, kv[i], kv[i + 1], err, sizeof err), 0);
	pthread_mutex_lock(&rv->mu);
	tsdb_querier *q = tsdb_querier_new(rv->head, INT64_MIN, INT64_MAX);
	tsdb_series_set *ss = tsdb_querier_select(q, m, nm);
	size_t n = 0, nseries = 0;
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	while (tsdb_series_set_next(ss)) {
		nseries++;
		assert_int_equal(tsdb_series_set_labels(ss)->n, nkv / 2 + 1);
		n = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, &buf, &cap);
		assert_true(n <= max);
		for (size_t i = 0; i < n; i++) {
			ts[i] = buf[i].t;
			vs[i] = buf[i].v;
		}
	}
	free(buf);
	tsdb_series_set_free(ss);
	tsdb_querier_free(q);
	pthread_mutex_unlock(&rv->mu);
	for (size_t i = 0; i < nm; i++)
		tsdb_matcher_free(&m[i]);
	assert_true(nseries <= 1);
	return n;
}

/* ---- the sending side ---- */

typedef struct fixture {
	receiver *rv;
	tsdb_head *head;
	remote_storage *rs;
	config cfg;
	tp_arena ext_arena;
	tp_labels ext;
} fixture;

static void load_config(fixture *f, const char *extra)
{
	char yaml[2048];
	snprintf(yaml, sizeof yaml,
		 "remote_write:\n"
		 "  - url: http://127.0.0.1:%u/api/v1/write\n"
		 "    name: test\n"
		 "%s",
		 f->rv->port, extra);
	tp_strbuf err = { 0 };
	int rc = config_load_string(yaml, strlen(yaml), "test.yml", ".", &f->cfg, &err);
	if (rc != 0)
		fprintf(stderr, "config: %s\n", tp_sb_cstr(&err));
	assert_int_equal(rc, 0);
	tp_sb_free(&err);
}

/* The head's commit hook, as the WAL-backed head calls the observer after
 * logging. */
static int observe_hook(void *ctx, const tsdb_ref_sample *s, size_t n, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	remote_storage_observe(ctx, s, n);
	return 0;
}

static fixture *fixture_new(const char *extra, int64_t flush_ms)
{
	fixture *f = calloc(1, sizeof(*f));
	f->rv = receiver_start();
	f->head = tsdb_head_new(NULL);
	f->rs = remote_storage_new(f->head, NULL, flush_ms);
	tp_arena_init(&f->ext_arena);
	tp_labels_builder b;
	tp_lb_init(&b, &f->ext_arena, NULL);
	tp_lb_set(&b, "cluster", "edge-1");
	tp_lb_set(&b, "env", "prod");
	f->ext = tp_lb_labels(&b);
	load_config(f, extra);
	char err[256];
	assert_int_equal(remote_storage_apply(f->rs, &f->cfg, &f->ext, err, sizeof err), 0);
	tsdb_head_hooks hk = { .samples_committed = observe_hook, .ctx = f->rs };
	tsdb_head_set_hooks(f->head, &hk);
	return f;
}

static void fixture_free(fixture *f)
{
	tsdb_head_set_hooks(f->head, NULL);
	remote_storage_free(f->rs);
	config_free(&f->cfg);
	tsdb_head_free(f->head);
	receiver_stop(f->rv);
	tp_arena_free(&f->ext_arena);
	free(f);
}

static void append(fixture *f, const char *name, const char *job, const char *env, int64_t t, double v)
{
	tp_arena a;
	tp_arena_init(&a);
	tp_labels_builder b;
	tp_lb_init(&b, &a, NULL);
	tp_lb_set(&b, "__name__", name);
	tp_lb_set(&b, "job", job);
	if (env)
		tp_lb_set(&b, "env", env);
	tp_labels l = tp_lb_labels(&b);
	tsdb_appender *ap = tsdb_appender_new(f->head);
	assert_int_equal(tsdb_appender_add(ap, &l, t, v, NULL), TSDB_OK);
	tsdb_appender_commit(ap);
	tsdb_appender_free(ap);
	tp_arena_free(&a);
}

/* Samples t = 1000 * i, v = i of {__name__=name, job} for i in [from, to),
 * in one commit: the queue sees them all at once, so a batch of
 * max_samples_per_send is cut from them whatever the machine's speed. */
static void append_range(fixture *f, const char *name, const char *job, int from, int to)
{
	tp_arena a;
	tp_arena_init(&a);
	tp_labels_builder b;
	tp_lb_init(&b, &a, NULL);
	tp_lb_set(&b, "__name__", name);
	tp_lb_set(&b, "job", job);
	tp_labels l = tp_lb_labels(&b);
	tsdb_appender *ap = tsdb_appender_new(f->head);
	for (int i = from; i < to; i++)
		assert_int_equal(tsdb_appender_add(ap, &l, 1000 * (int64_t)i, i, NULL), TSDB_OK);
	assert_int_equal(tsdb_appender_commit(ap), to - from);
	tsdb_appender_free(ap);
	tp_arena_free(&a);
}

/* Waits (up to 60 s) until nothing is pending. */
static void drain(fixture *f)
{
	remote_storage_stats st;
	for (int i = 0; i < 6000; i++) {
		remote_storage_get_stats(f->rs, &st);
		if (st.samples_pending == 0)
			return;
		usleep(10000);
	}
	fail_msg("remote write did not drain: %llu pending", (unsigned long long)st.samples_pending);
}

/* ---- tests ---- */

static void test_encode_roundtrip(void **state)
{
	(void)state;
	tp_arena a;
	tp_arena_init(&a);
	tp_labels_builder b;
	tp_lb_init(&b, &a, NULL);
	tp_lb_set(&b, "__name__", "up");
	tp_lb_set(&b, "job", "a");
	tp_labels l1 = tp_lb_labels(&b);
	tp_lb_init(&b, &a, NULL);
	tp_lb_set(&b, "__name__", "up");
	tp_lb_set(&b, "job", "b");
	tp_labels l2 = tp_lb_labels(&b);
	remote_send_sample s[4] = {
		{ &l1, 1000, 1 }, { &l1, 2000, tsdb_stale_nan() }, { &l2, 1000, -0.5 }, { &l2, 3000, INFINITY },
	};
	size_t n;
	char *enc = remote_write_encode(s, 4, &n);
	char err[128];
	Prometheus__WriteRequest *wr = remote_write_decode(enc, n, &a, err, sizeof err);
	assert_non_null(wr);
	assert_int_equal(wr->n_timeseries, 2);
	assert_int_equal(wr->timeseries[0]->n_samples, 2);
	assert_string_equal(wr->timeseries[0]->labels[1]->value, "a");
	assert_true(tsdb_is_stale_nan(wr->timeseries[0]->samples[1]->value));
	assert_int_equal(wr->timeseries[1]->samples[1]->timestamp, 3000);
	assert_true(isinf(wr->timeseries[1]->samples[1]->value));
	free(enc);
	tp_arena_free(&a);
}

/* The receiver's label check (remote/codec.c), here beside the encoder
 * whose output it reads: sorted input takes the one-pass path, unsorted
 * is sorted, duplicates are found either way. */
static void test_labels_from_proto(void **state)
{
	(void)state;
	static const char *const cases[][6] = {
		{ "__name__", "up", "a", "1", "b", "2" },   /* sorted */
		{ "b", "2", "__name__", "up", "a", "1" },   /* unsorted */
		{ "__name__", "up", "a", "1", "a", "2" },   /* sorted duplicate */
		{ "a", "1", "__name__", "up", "a", "2" },   /* unsorted duplicate */
	};
	for (size_t c = 0; c < 4; c++) {
		Prometheus__Label lab[3], *pl[3];
		for (int i = 0; i < 3; i++) {
			prometheus__label__init(&lab[i]);
			lab[i].name = (char *)cases[c][2 * i];
			lab[i].value = (char *)cases[c][2 * i + 1];
			pl[i] = &lab[i];
		}
		tp_arena a;
		tp_arena_init(&a);
		tp_labels l;
		char err[128] = "";
		int rc = remote_labels_from_proto(&a, pl, 3, &l, err, sizeof err);
		if (c < 2) {
			assert_int_equal(rc, 0);
			assert_int_equal(l.n, 3);
			assert_string_equal(l.v[0].name, "__name__");
			assert_string_equal(l.v[1].name, "a");
			assert_string_equal(l.v[2].value, "2");
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(err, "invalid labels: duplicate label name a");
		}
		tp_arena_free(&a);
	}
}

static void test_sends_relabelled_with_external_labels(void **state)
{
	(void)state;
	fixture *f = fixture_new("    write_relabel_configs:\n"
				 "      - source_labels: [job]\n"
				 "        regex: drop.*\n"
				 "        action: drop\n"
				 "    queue_config:\n"
				 "      max_samples_per_send: 7\n"
				 "      batch_send_deadline: 50ms\n",
				 0);
	for (int i = 0; i < 50; i++) {
		append(f, "m", "keep", NULL, 1000 * i, i);
		append(f, "m", "dropme", NULL, 1000 * i, i);
		append(f, "m", "own", "staging", 1000 * i, i == 49 ? tsdb_stale_nan() : -i);
	}
	drain(f);
	remote_storage_stats st;
	remote_storage_get_stats(f->rs, &st);
	assert_int_equal(st.samples_sent, 100);
	assert_int_equal(st.samples_dropped, 50);
	assert_int_equal(st.samples_failed, 0);
	int64_t ts[64];
	double vs[64];
	static const char *const keep[] = { "job", "keep", "cluster", "edge-1", "env", "prod" };
	assert_int_equal(received(f->rv, "m", keep, 6, ts, vs, 64), 50);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(ts[i], 1000 * i);
		assert_true(vs[i] == i);
	}
	/* the series' own env wins over the external label */
	static const char *const own[] = { "job", "own", "env", "staging", "cluster", "edge-1" };
	assert_int_equal(received(f->rv, "m", own, 6, ts, vs, 64), 50);
	assert_true(vs[48] == -48);
	assert_true(tsdb_is_stale_nan(vs[49]));
	static const char *const dropped[] = { "job", "dropme" };
	assert_int_equal(received(f->rv, "m", dropped, 2, ts, vs, 64), 0);
	assert_string_equal(f->rv->last_content_type, "application/x-protobuf");
	assert_string_equal(f->rv->last_encoding, "snappy");
	assert_string_equal(f->rv->last_version, "0.1.0");
	/* 100 samples in batches of at most 7 */
	assert_true(atomic_load(&f->rv->accepted) >= 15);
	fixture_free(f);
}

static void test_retries_5xx_and_drops_4xx(void **state)
{
	(void)state;
	fixture *f = fixture_new("    queue_config:\n"
				 "      max_samples_per_send: 10\n"
				 "      batch_send_deadline: 20ms\n"
				 "      min_backoff: 10ms\n"
				 "      max_backoff: 40ms\n",
				 0);
	atomic_store(&f->rv->fail_status, 503);
	atomic_store(&f->rv->fail_next, 3);
	append_range(f, "r", "a", 0, 10); /* one batch of 10, failing 3 times */
	drain(f);
	remote_storage_stats st;
	remote_storage_get_stats(f->rs, &st);
	assert_int_equal(st.samples_sent, 10);
	assert_int_equal(st.samples_retried, 30);
	assert_int_equal(st.samples_failed, 0);
	int64_t ts[16];
	double vs[16];
	static const char *const a[] = { "job", "a", "cluster", "edge-1", "env", "prod" };
	assert_int_equal(received(f->rv, "r", a, 6, ts, vs, 16), 10);

	/* 400: the batch is dropped, not retried, and later batches still go */
	atomic_store(&f->rv->fail_status, 400);
	atomic_store(&f->rv->fail_next, 1);
	append_range(f, "r", "a", 10, 20);
	drain(f);
	append_range(f, "r", "a", 20, 25);
	drain(f);
	remote_storage_get_stats(f->rs, &st);
	assert_int_equal(st.samples_failed, 10);
	assert_int_equal(st.samples_retried, 30);
	assert_int_equal(st.samples_sent, 15);
	assert_int_equal(received(f->rv, "r", a, 6, ts, vs, 16), 15);
	assert_int_equal(ts[10], 20000);
	fixture_free(f);
}

static void test_full_buffer_drops_and_stop_gives_up(void **state)
{
	(void)state;
	fixture *f = fixture_new("    queue_config:\n"
				 "      capacity: 20\n"
				 "      max_shards: 1\n"
				 "      max_samples_per_send: 10\n"
				 "      batch_send_deadline: 10ms\n"
				 "      min_backoff: 10ms\n"
				 "      max_backoff: 20ms\n",
				 100);
	atomic_store(&f->rv->fail_status, 500);
	atomic_store(&f->rv->fail_next, 1000000);
	for (int i = 0; i < 100; i++)
		append(f, "b", "a", NULL, 1000 * i, i);
	remote_storage_stats st;
	remote_storage_get_stats(f->rs, &st);
	/* at most 20 buffered plus one batch of 10 in flight */
	assert_true(st.samples_dropped >= 70);
	assert_true(st.samples_pending <= 30);
	assert_int_equal(st.samples_dropped + st.samples_pending, 100);
	uint64_t pending = st.samples_pending;
	/* stopping (here: a reload without remote_write) keeps trying for the
	 * storage's 100 ms flush deadline (the receiver keeps failing, so the
	 * stop cannot end sooner), then counts what is left as failed; it
	 * does not wait out the default deadline of 10 s (100 times longer:
	 * a margin no machine's slowness eats up) */
	config none;
	tp_strbuf err = { 0 };
	assert_int_equal(config_load_string("global: {}\n", 11, "n.yml", ".", &none, &err), 0);
	char e[256];
	int64_t t0 = tp_mono_ns();
	assert_int_equal(remote_storage_apply(f->rs, &none, &f->ext, e, sizeof e), 0);
	int64_t took = tp_mono_ns() - t0;
	assert_true(took >= INT64_C(100000000));
	assert_true(took < INT64_C(10000000000));
	remote_storage_get_stats(f->rs, &st);
	assert_int_equal(st.queues, 0);
	assert_int_equal(st.samples_failed, pending);
	assert_int_equal(st.samples_pending, 0);
	config_free(&none);
	tp_sb_free(&err);
	assert_int_equal(atomic_load(&f->rv->accepted), 0);
	fixture_free(f);
}

static void test_reload_keeps_unchanged_queue(void **state)
{
	(void)state;
	/* batches are cut at 10 samples, never by the deadline (an hour):
	 * what is sent does not depend on how long the steps below take */
	fixture *f = fixture_new("    queue_config:\n"
				 "      max_samples_per_send: 10\n"
				 "      batch_send_deadline: 1h\n",
				 0);
	for (int i = 0; i < 5; i++)
		append(f, "k", "a", NULL, 1000 * i, i);
	/* same configuration again: the queue and its 5 pending samples stay */
	config again;
	tp_strbuf err = { 0 };
	char yaml[512];
	snprintf(yaml, sizeof yaml,
		 "remote_write:\n  - url: http://127.0.0.1:%u/api/v1/write\n    name: test\n"
		 "    queue_config:\n      max_samples_per_send: 10\n      batch_send_deadline: 1h\n",
		 f->rv->port);
	assert_int_equal(config_load_string(yaml, strlen(yaml), "t.yml", ".", &again, &err), 0);
	char e[256];
	assert_int_equal(remote_storage_apply(f->rs, &again, &f->ext, e, sizeof e), 0);
	remote_storage_stats st;
	remote_storage_get_stats(f->rs, &st);
	assert_int_equal(st.queues, 1);
	assert_int_equal(atomic_load(&f->rv->requests), 0); /* not flushed by a restart */
	/* 5 more make the kept 5 a full batch of 10: one request */
	for (int i = 5; i < 10; i++)
		append(f, "k", "a", NULL, 1000 * i, i);
	drain(f);
	assert_int_equal(atomic_load(&f->rv->requests), 1);
	remote_storage_get_stats(f->rs, &st);
	assert_int_equal(st.samples_sent, 10);
	/* no remote_write at all: the queue stops after flushing */
	config none;
	assert_int_equal(config_load_string("global: {}\n", 11, "n.yml", ".", &none, &err), 0);
	for (int i = 10; i < 13; i++)
		append(f, "k", "a", NULL, 1000 * i, i);
	assert_int_equal(remote_storage_apply(f->rs, &none, &f->ext, e, sizeof e), 0);
	remote_storage_get_stats(f->rs, &st);
	assert_int_equal(st.queues, 0);
	assert_int_equal(st.samples_sent, 13);
	assert_int_equal(atomic_load(&f->rv->requests), 2);
	int64_t ts[16];
	double vs[16];
	static const char *const a[] = { "job", "a", "cluster", "edge-1", "env", "prod" };
	assert_int_equal(received(f->rv, "k", a, 6, ts, vs, 16), 13);
	config_free(&again);
	config_free(&none);
	tp_sb_free(&err);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_labels_from_proto),
		cmocka_unit_test(test_sends_relabelled_with_external_labels),
		cmocka_unit_test(test_retries_5xx_and_drops_4xx),
		cmocka_unit_test(test_full_buffer_drops_and_stop_gives_up),
		cmocka_unit_test(test_reload_keeps_unchanged_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
