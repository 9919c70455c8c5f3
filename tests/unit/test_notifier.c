/* SPDX-License-Identifier: Apache-2.0
 * test_notifier.c - the Alertmanager client against a small HTTP listener
 * on 127.0.0.1 run by the test: bodies, batching, headers, external
 * labels, relabel drops, errors and queue overflow. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rules/notifier.h"

/* ---- a tiny HTTP server: records request bodies, answers `status` ---- */

typedef struct server {
	int fd;
	int port;
	int status;
	int hold;      /* answer nothing until server_release() */
	int received;  /* requests read in full */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *bodies[64];
	char *headers[64];
	int nbodies;
	int stop;
} server;

static void *serve(void *arg)
{
	server *s = arg;
	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		if (s->stop) {
			close(c);
			return NULL;
		}
		char *buf = malloc(1 << 20);
		size_t len = 0;
		char *hdr_end = NULL;
		while (!hdr_end && len < (1 << 20) - 1) {
			ssize_t r = read(c, buf + len, (1 << 20) - 1 - len);
			if (r <= 0)
				break;
			len += (size_t)r;
			buf[len] = '\0';
			hdr_end = strstr(buf, "\r\n\r\n");
		}
		size_t clen = 0;
		char *cl = strcasestr(buf, "Content-Length:");
		if (cl)
			clen = (size_t)atol(cl + 15);
		size_t have = hdr_end ? len - (size_t)(hdr_end + 4 - buf) : 0;
		while (hdr_end && have < clen) {
			ssize_t r = read(c, buf + len, (1 << 20) - 1 - len);
			if (r <= 0)
				break;
			len += (size_t)r;
			have += (size_t)r;
		}
		buf[len] = '\0';
		pthread_mutex_lock(&s->mu);
		if (hdr_end && s->nbodies < 64) {
			*hdr_end = '\0';
			s->headers[s->nbodies] = strdup(buf);
			s->bodies[s->nbodies++] = strdup(hdr_end + 4);
		}
		s->received++;
		pthread_cond_broadcast(&s->cv);
		while (s->hold)
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
		char resp[128];
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
				 s->status);
		if (write(c, resp, (size_t)n) < 0) {
			/* the client may have timed out */
		}
		close(c);
		free(buf);
	}
}

static server *server_start(int status, int hold)
{
	server *s = calloc(1, sizeof(*s));
	s->status = status;
	s->hold = hold;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	listen(s->fd, 16);
	pthread_create(&s->th, NULL, serve, s);
	return s;
}

/* Waits (up to a minute) until n requests have been read in full. */
static void server_wait_received(server *s, int n)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 60;
	pthread_mutex_lock(&s->mu);
	while (s->received < n && pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0)
		;
	int got = s->received;
	pthread_mutex_unlock(&s->mu);
	assert_true(got >= n);
}

/* A held server answers what it holds and everything after. */
static void server_release(server *s)
{
	pthread_mutex_lock(&s->mu);
	s->hold = 0;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void server_stop(server *s)
{
	server_release(s);
	s->stop = 1;
	/* wake accept() */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	connect(c, (struct sockaddr *)&a, sizeof(a));
	close(c);
	pthread_join(s->th, NULL);
	close(s->fd);
	for (int i = 0; i < s->nbodies; i++) {
		free(s->bodies[i]);
		free(s->headers[i]);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static rules_am_target target_for(server *s, char *urlbuf)
{
	sprintf(urlbuf, "http://127.0.0.1:%d/api/v2/alerts", s->port);
	/* no test here times a request out: a minute, so a loaded machine's
	 * slow answer is never taken for a failure */
	return (rules_am_target){ .url = urlbuf, .timeout_ms = 60000 };
}

/* ---- helpers ---- */

static tp_label ext_v[] = { { "cluster", "eu1" }, { "job", "ext-job-ignored" } };
static tp_labels ext = { ext_v, 2 };

static void make_alerts(rules_notify_alert *na, tp_labels *ls, tp_label (*lv)[3], tp_labels *ann, size_t n)
{
	static tp_label annv[] = { { "summary", "it broke" } };
	for (size_t i = 0; i < n; i++) {
		char *v = malloc(16);
		snprintf(v, 16, "h%zu", i);
		lv[i][0] = (tp_label){ "alertname", "Down" };
		lv[i][1] = (tp_label){ "instance", v };
		lv[i][2] = (tp_label){ "job", i % 10 == 0 ? "drop" : "node" };
		ls[i] = (tp_labels){ lv[i], 3 };
		ann[i] = (tp_labels){ annv, 1 };
		na[i] = (rules_notify_alert){ .labels = &ls[i], .annotations = &ann[i], .starts_at_ms = 1700000000123LL,
					      .ends_at_ms = 1700000300000LL, .generator_url = "http://x/graph?g0.expr=up" };
	}
}

static void free_alerts(tp_label (*lv)[3], size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)lv[i][1].value);
}

static void test_encode(void **state)
{
	(void)state;
	rules_notify_alert na[1];
	tp_labels ls[1], ann[1];
	tp_label lv[1][3];
	make_alerts(na, ls, lv, ann, 1);
	na[0].starts_at_ms = 0; /* never fired: omitted */
	char *s = rules_notifier_encode(na, 1);
	assert_string_equal(s, "[{\"labels\":{\"alertname\":\"Down\",\"instance\":\"h0\",\"job\":\"drop\"},"
			       "\"annotations\":{\"summary\":\"it broke\"},\"endsAt\":\"2023-11-14T22:18:20Z\","
			       "\"generatorURL\":\"http://x/graph?g0.expr=up\"}]");
	free(s);
	free_alerts(lv, 1);
}

static void test_batches_headers_external_labels(void **state)
{
	(void)state;
	server *s = server_start(200, 0);
	char url[128];
	rules_am_target t = target_for(s, url);
	t.basic_user = "u";
	t.basic_password = "p";
	rules_notifier_opts o = { .external_labels = &ext };
	rules_notifier *n = rules_notifier_new(&o);
	rules_notifier_set_targets(n, &t, 1);
	enum { N = 300 };
	static rules_notify_alert na[N];
	static tp_labels ls[N], ann[N];
	static tp_label lv[N][3];
	make_alerts(na, ls, lv, ann, N);
	rules_notifier_send(n, na, N);
	assert_int_equal(rules_notifier_flush(n, 60000), 0);
	rules_notifier_stats st;
	rules_notifier_stats_get(n, &st);
	assert_int_equal(st.sent, N);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.dropped, 0);
	/* at most 256 per request, all 300 delivered */
	int total = 0;
	for (int i = 0; i < s->nbodies; i++) {
		cJSON *arr = cJSON_Parse(s->bodies[i]);
		assert_non_null(arr);
		int sz = cJSON_GetArraySize(arr);
		assert_true(sz <= 256);
		total += sz;
		cJSON *first = cJSON_GetArrayItem(arr, 0);
		cJSON *labels = cJSON_GetObjectItem(first, "labels");
		/* external labels added when absent, never overriding */
		assert_string_equal(cJSON_GetObjectItem(labels, "cluster")->valuestring, "eu1");
		assert_string_not_equal(cJSON_GetObjectItem(labels, "job")->valuestring, "ext-job-ignored");
		assert_string_equal(cJSON_GetObjectItem(first, "startsAt")->valuestring, "2023-11-14T22:13:20.123Z");
		cJSON_Delete(arr);
		assert_non_null(strstr(s->headers[i], "POST /api/v2/alerts"));
		assert_non_null(strcasestr(s->headers[i], "Content-Type: application/json"));
		assert_non_null(strcasestr(s->headers[i], "Authorization: Basic dTpw")); /* u:p */
	}
	assert_int_equal(total, N);
	assert_true(s->nbodies >= 2);

	/* a reload replaces the external labels: later batches carry the new ones */
	tp_label nv[1] = { { "cluster", "us2" } };
	tp_labels next = { nv, 1 };
	rules_notifier_set_external_labels(n, &next);
	int before = s->nbodies;
	rules_notifier_send(n, na, 1);
	assert_int_equal(rules_notifier_flush(n, 60000), 0);
	assert_int_equal(s->nbodies, before + 1);
	cJSON *arr = cJSON_Parse(s->bodies[before]);
	cJSON *labels = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "labels");
	assert_string_equal(cJSON_GetObjectItem(labels, "cluster")->valuestring, "us2");
	cJSON_Delete(arr);
	rules_notifier_free(n);
	server_stop(s);
	free_alerts(lv, N);
}

static int drop_job_drop(void *ud, const tp_labels *in, tp_arena *a, tp_labels *out)
{
	(void)ud;
	(void)a;
	const char *j = tp_labels_get(in, "job");
	*out = *in;
	return j && strcmp(j, "drop") == 0;
}

static void test_relabel_and_two_targets(void **state)
{
	(void)state;
	server *s1 = server_start(200, 0), *s2 = server_start(500, 0);
	char u1[128], u2[128];
	rules_am_target t[2] = { target_for(s1, u1), target_for(s2, u2) };
	t[1].bearer_token = "secret";
	rules_notifier_opts o = { .relabel = drop_job_drop };
	rules_notifier *n = rules_notifier_new(&o);
	rules_notifier_set_targets(n, t, 2);
	rules_notify_alert na[20];
	tp_labels ls[20], ann[20];
	tp_label lv[20][3];
	make_alerts(na, ls, lv, ann, 20); /* alerts 0 and 10 have job=drop */
	rules_notifier_send(n, na, 20);
	assert_int_equal(rules_notifier_flush(n, 60000), 0);
	rules_notifier_stats st;
	rules_notifier_stats_get(n, &st);
	assert_int_equal(st.sent, 18);   /* to the healthy one */
	assert_int_equal(st.errors, 18); /* to the failing one */
	assert_int_equal(st.dropped, 0); /* one Alertmanager took them */
	assert_int_equal(s1->nbodies, 1);
	cJSON *arr = cJSON_Parse(s1->bodies[0]);
	assert_int_equal(cJSON_GetArraySize(arr), 18);
	cJSON_Delete(arr);
	assert_non_null(strcasestr(s2->headers[0], "Authorization: Bearer secret"));
	rules_notifier_free(n);
	server_stop(s1);
	server_stop(s2);
	free_alerts(lv, 20);
}

static void test_overflow_and_unreachable(void **state)
{
	(void)state;
	server *slow = server_start(200, 1);
	char u[128];
	rules_am_target t = target_for(slow, u);
	t.timeout_ms = 600000; /* held as long as the test needs, never timed out */
	rules_notifier_opts o = { .queue_capacity = 5 };
	rules_notifier *n = rules_notifier_new(&o);
	rules_notifier_set_targets(n, &t, 1);
	rules_notify_alert na[11];
	tp_labels ls[11], ann[11];
	tp_label lv[11][3];
	make_alerts(na, ls, lv, ann, 11);
	rules_notifier_send(n, na, 1);
	server_wait_received(slow, 1); /* the sender is now blocked on the held POST */
	rules_notifier_send(n, na + 1, 10);
	rules_notifier_stats st;
	rules_notifier_stats_get(n, &st);
	assert_int_equal(st.queue_length, 5);
	assert_int_equal(st.dropped, 5);
	server_release(slow);
	assert_int_equal(rules_notifier_flush(n, 60000), 0);
	rules_notifier_stats_get(n, &st);
	assert_int_equal(st.sent, 6);

	/* an Alertmanager that is not listening: errors and dropped, no hang */
	server_stop(slow);
	rules_notifier_send(n, na, 3);
	assert_int_equal(rules_notifier_flush(n, 60000), 0);
	rules_notifier_stats_get(n, &st);
	assert_int_equal(st.errors, 3);
	assert_int_equal(st.dropped, 8);
	rules_notifier_free(n);
	free_alerts(lv, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_batches_headers_external_labels),
		cmocka_unit_test(test_relabel_and_two_targets),
		cmocka_unit_test(test_overflow_and_unreachable),
	};
	return cmocka_run_group_tests_name("notifier", tests, NULL, NULL);
}
