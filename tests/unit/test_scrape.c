/* SPDX-License-Identifier: Apache-2.0
 * test_scrape.c - scrape ingestion into a real head: target labels and
 * honor_labels, metric relabeling, synthetic series, staleness on vanished
 * series and failed scrapes, limits; and the manager scraping a small HTTP
 * server on 127.0.0.1 run by the test. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scrape/manager.h"

static tp_label tl_v[] = { { "instance", "h:9100" }, { "job", "node" } };

static scrape_target_spec spec(void)
{
	return (scrape_target_spec){ .pool = "node", .labels = { tl_v, 2 }, .url = "http://127.0.0.1:1/metrics",
				     .interval_ms = 15000, .timeout_ms = 10000, .honor_timestamps = true };
}

/* Samples of the series matching name=value (plus extra EQ matchers), all time. */
static size_t samples_of(tsdb_head *h, const char *name, const char *lname, const char *lval, tsdb_sample **buf,
			 size_t *cap)
{
	char err[128];
	tsdb_matcher m[2];
	size_t nm = 1;
	assert_int_equal(tsdb_matcher_init(&m[0], TSDB_MATCH_EQ, "__name__", name, err, sizeof(err)), 0);
	if (lname) {
		assert_int_equal(tsdb_matcher_init(&m[1], TSDB_MATCH_EQ, lname, lval, err, sizeof(err)), 0);
		nm = 2;
	}
	tsdb_querier *q = tsdb_querier_new(h, INT64_MIN, INT64_MAX);
	tsdb_series_set *ss = tsdb_querier_select(q, m, nm);
	size_t n = 0;
	if (tsdb_series_set_next(ss))
		n = tsdb_series_set_samples(ss, INT64_MIN, INT64_MAX, buf, cap);
	assert_false(n && tsdb_series_set_next(ss)); /* exactly one series */
	tsdb_series_set_free(ss);
	tsdb_querier_free(q);
	for (size_t i = 0; i < nm; i++)
		tsdb_matcher_free(&m[i]);
	return n;
}

static const char body1[] = "# HELP a_total A counter.\n"
			    "# TYPE a_total counter\n"
			    "a_total{job=\"app\",x=\"1\"} 10\n"
			    "a_total{x=\"2\"} 20\n"
			    "drop_me 1\n"
			    "with_ts 5 1000\n";
static const char body2[] = "a_total{job=\"app\",x=\"1\"} 11\n"
			    "drop_me 1\n";

static void test_ingest_labels_staleness(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	scrape_manager *m = scrape_manager_new(h);
	scrape_target_spec s = spec();
	relabel_config rc;
	relabel_config_init(&rc);
	relabel_config_set_str(&rc.regex, "drop_me");
	rc.regex_set = true;
	rc.source_labels = calloc(1, sizeof(char *));
	rc.source_labels[0] = strdup("__name__");
	rc.n_source_labels = 1;
	rc.source_labels_set = true;
	rc.action = RELABEL_DROP;
	char err[256];
	assert_int_equal(relabel_config_finish(&rc, err, sizeof(err)), 0);
	s.metric_relabel = &rc;
	s.n_metric_relabel = 1;
	scrape_target *t = scrape_target_new(m, &s);

	assert_int_equal(scrape_target_ingest(t, body1, strlen(body1), "text/plain; version=0.0.4", 100000, 0.01, err,
					      sizeof(err)),
			 0);
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	/* scraped job clashes with the target's: exported_job keeps it */
	assert_int_equal(samples_of(h, "a_total", "exported_job", "app", &buf, &cap), 1);
	assert_true(buf[0].v == 10 && buf[0].t == 100000);
	assert_int_equal(samples_of(h, "a_total", "x", "2", &buf, &cap), 1);
	assert_int_equal(samples_of(h, "drop_me", NULL, NULL, &buf, &cap), 0);
	/* explicit timestamps are honoured */
	assert_int_equal(samples_of(h, "with_ts", NULL, NULL, &buf, &cap), 1);
	assert_int_equal(buf[0].t, 1000);
	/* synthetic series with the target labels */
	assert_int_equal(samples_of(h, "up", "instance", "h:9100", &buf, &cap), 1);
	assert_true(buf[0].v == 1);
	assert_int_equal(samples_of(h, "scrape_samples_scraped", NULL, NULL, &buf, &cap), 1);
	assert_true(buf[0].v == 4);
	assert_int_equal(samples_of(h, "scrape_samples_post_metric_relabeling", NULL, NULL, &buf, &cap), 1);
	assert_true(buf[0].v == 3);
	assert_int_equal(samples_of(h, "scrape_series_added", NULL, NULL, &buf, &cap), 1);
	assert_true(buf[0].v == 4);

	/* second scrape: x=2 vanished -> stale marker; with_ts vanished -> no marker */
	assert_int_equal(scrape_target_ingest(t, body2, strlen(body2), NULL, 115000, 0.01, err, sizeof(err)), 0);
	assert_int_equal(samples_of(h, "a_total", "x", "2", &buf, &cap), 2);
	assert_true(tsdb_is_stale_nan(buf[1].v));
	assert_int_equal(buf[1].t, 115000);
	assert_int_equal(samples_of(h, "with_ts", NULL, NULL, &buf, &cap), 1);
	assert_int_equal(samples_of(h, "a_total", "x", "1", &buf, &cap), 2);
	assert_true(buf[1].v == 11);
	assert_int_equal(samples_of(h, "scrape_series_added", NULL, NULL, &buf, &cap), 2);
	assert_true(buf[1].v == 0); /* all from the cache */

	/* a failed scrape: stale markers for everything, up = 0 */
	scrape_target_fail(t, 130000, 0.5, "server returned HTTP status 500 Internal Server Error");
	assert_int_equal(samples_of(h, "a_total", "x", "1", &buf, &cap), 3);
	assert_true(tsdb_is_stale_nan(buf[2].v));
	assert_int_equal(samples_of(h, "up", NULL, NULL, &buf, &cap), 3);
	assert_true(buf[2].v == 0);
	/* and the next good scrape brings the series back */
	assert_int_equal(scrape_target_ingest(t, body2, strlen(body2), NULL, 145000, 0.01, err, sizeof(err)), 0);
	assert_int_equal(samples_of(h, "a_total", "x", "1", &buf, &cap), 4);
	assert_true(buf[3].v == 11);

	/* a parse error fails the whole scrape: nothing of it lands */
	const char bad[] = "ok_metric 1\nbroken{ 2\n";
	assert_int_equal(scrape_target_ingest(t, bad, strlen(bad), NULL, 160000, 0.01, err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);
	assert_int_equal(samples_of(h, "ok_metric", NULL, NULL, &buf, &cap), 0);

	free(buf);
	scrape_target_free(t);
	relabel_config_clear(&rc);
	scrape_manager_free(m);
	tsdb_head_free(h);
}

static void test_honor_labels_and_limits(void **state)
{
	(void)state;
	tsdb_head *h = tsdb_head_new(NULL);
	scrape_manager *m = scrape_manager_new(h);
	scrape_target_spec s = spec();
	s.honor_labels = true;
	s.sample_limit = 2;
	scrape_target *t = scrape_target_new(m, &s);
	char err[256];
	const char b[] = "a{job=\"mine\"} 1\nb 2\n";
	assert_int_equal(scrape_target_ingest(t, b, strlen(b), NULL, 1000, 0, err, sizeof(err)), 0);
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	assert_int_equal(samples_of(h, "a", "job", "mine", &buf, &cap), 1);
	assert_int_equal(samples_of(h, "b", "job", "node", &buf, &cap), 1);
	const char b3[] = "a 1\nb 2\nc 3\n";
	assert_int_equal(scrape_target_ingest(t, b3, strlen(b3), NULL, 2000, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "sample limit exceeded");
	assert_int_equal(samples_of(h, "c", NULL, NULL, &buf, &cap), 0);
	scrape_target_free(t);

	s.honor_labels = false;
	s.sample_limit = 0;
	s.label_limit = 2;
	t = scrape_target_new(m, &s);
	const char b4[] = "many{a=\"1\",b=\"2\",c=\"3\"} 1\n";
	assert_int_equal(scrape_target_ingest(t, b4, strlen(b4), NULL, 3000, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "label_limit exceeded"));
	free(buf);
	scrape_target_free(t);
	scrape_manager_free(m);
	tsdb_head_free(h);
}

/* ---- the manager against a real socket ---- */

typedef struct srv {
	int fd, port, hits;
	volatile int stop;
	pthread_t th;
} srv;

static void *serve(void *arg)
{
	srv *s = arg;
	while (!s->stop) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			break;
		char req[4096];
		ssize_t r = read(c, req, sizeof(req) - 1);
		(void)r;
		const char body[] = "# TYPE served gauge\nserved{k=\"v\"} 42\n";
		char resp[512];
		int n = snprintf(resp, sizeof(resp),
				 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s",
				 strlen(body), body);
		if (write(c, resp, (size_t)n) < 0)
			break;
		close(c);
		s->hits++;
	}
	return NULL;
}

static void test_manager_scrapes_http(void **state)
{
	(void)state;
	srv s = { 0 };
	s.fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	getsockname(s.fd, (struct sockaddr *)&a, &al);
	s.port = ntohs(a.sin_port);
	listen(s.fd, 8);
	pthread_create(&s.th, NULL, serve, &s);

	tsdb_head *h = tsdb_head_new(NULL);
	scrape_manager *m = scrape_manager_new(h);
	char url[64], inst[32];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", s.port);
	snprintf(inst, sizeof(inst), "127.0.0.1:%d", s.port);
	tp_label lv[] = { { "instance", inst }, { "job", "t" } };
	/* the timeout is the whole interval: a slow machine may delay a
	 * scrape, and the checks below wait for what must happen (up to a
	 * minute each) instead of assuming it has happened after a sleep */
	scrape_target_spec sp = { .pool = "t", .labels = { lv, 2 }, .url = url, .interval_ms = 200, .timeout_ms = 200,
				  .honor_timestamps = true };
	/* and one target nobody listens on */
	tp_label lv2[] = { { "instance", "127.0.0.1:1" }, { "job", "down" } };
	scrape_target_spec sp2 = { .pool = "down", .labels = { lv2, 2 }, .url = "http://127.0.0.1:1/metrics",
				   .interval_ms = 200, .timeout_ms = 200 };
	scrape_target_spec both[2] = { sp, sp2 };
	scrape_manager_sync(m, both, 2);
	scrape_manager_start(m);
	tsdb_sample *buf = NULL;
	size_t cap = 0;
	size_t n = 0;
	for (int i = 0; i < 1200 && n < 2; i++) {
		usleep(50 * 1000);
		n = samples_of(h, "served", "job", "t", &buf, &cap);
	}
	assert_true(n >= 2);
	assert_true(buf[0].v == 42);
	tp_arena ar;
	tp_arena_init(&ar);
	scrape_target_status *st;
	size_t nt = 0;
	/* the status of the latest scrape of each: until both have one (a
	 * scrape of the served target may also time out on a loaded machine;
	 * the next one succeeds) */
	for (int i = 0; i < 1200; i++) {
		tp_arena_reset(&ar);
		nt = scrape_manager_status(m, &ar, &st);
		if (nt == 2 && strcmp(st[0].health, "up") == 0 && strcmp(st[1].health, "down") == 0)
			break;
		usleep(50 * 1000);
	}
	assert_int_equal(nt, 2);
	assert_string_equal(st[0].health, "up");
	assert_string_equal(st[1].health, "down");
	assert_non_null(strstr(st[1].last_error, "Get \"http://127.0.0.1:1/metrics\""));
	tp_arena_free(&ar);
	/* the target goes away: its series end with stale markers (written by
	 * the scrape thread once the target has no transfer in flight) */
	scrape_manager_sync(m, &sp2, 1);
	bool stale = false;
	for (int i = 0; i < 1200 && !stale; i++) {
		usleep(50 * 1000);
		n = samples_of(h, "served", "job", "t", &buf, &cap);
		stale = n > 0 && tsdb_is_stale_nan(buf[n - 1].v);
	}
	assert_true(stale);
	scrape_manager_free(m);
	tsdb_head_free(h);
	free(buf);
	s.stop = 1;
	shutdown(s.fd, SHUT_RDWR);
	close(s.fd);
	pthread_join(s.th, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ingest_labels_staleness),
		cmocka_unit_test(test_honor_labels_and_limits),
		cmocka_unit_test(test_manager_scrapes_http),
	};
	return cmocka_run_group_tests_name("scrape", tests, NULL, NULL);
}
