/* SPDX-License-Identifier: Apache-2.0
 * test_log.c - unit tests for lib/log: logfmt and JSON record shapes,
 * go-logfmt quoting, level parsing and filtering, concurrent writers. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

/* 2026-11-23T12:00:00.007Z */
#define TS 1795435200007LL

static char *fmt(tp_log_format f, tp_log_level l, const char *msg, ...)
{
	tp_strbuf sb = { 0 };
	va_list ap;
	va_start(ap, msg);
	tp_log_format_record(&sb, f, TS, l, "/src/cmd/server.c", 42, msg, ap);
	va_end(ap);
	return tp_sb_steal(&sb);
}

static void test_logfmt_shape(void **state)
{
	(void)state;
	char *s = fmt(TP_LOG_LOGFMT, TP_LOG_INFO, "Server is ready", "addr", "0.0.0.0:9090", NULL);
	assert_string_equal(s, "ts=2026-11-23T12:00:00.007Z caller=server.c:42 level=info "
			       "msg=\"Server is ready\" addr=0.0.0.0:9090\n");
	free(s);
	s = fmt(TP_LOG_LOGFMT, TP_LOG_WARN, "x", NULL);
	assert_string_equal(s, "ts=2026-11-23T12:00:00.007Z caller=server.c:42 level=warn msg=x\n");
	free(s);
}

static void test_logfmt_quoting(void **state)
{
	(void)state;
	/* empty value: key= ; '=' and '"' and control chars force quotes */
	char *s = fmt(TP_LOG_LOGFMT, TP_LOG_ERROR, "m", "empty", "", "eq", "a=b", "q", "say \"hi\"", "nl",
		      "a\nb\tc\\", "ctl", "\x01", "utf8", "h\xc3\xa9llo", "bad", "\xff", NULL);
	assert_string_equal(s, "ts=2026-11-23T12:00:00.007Z caller=server.c:42 level=error msg=m empty= "
			       "eq=\"a=b\" q=\"say \\\"hi\\\"\" nl=\"a\\nb\\tc\\\\\" ctl=\"\\u0001\" "
			       "utf8=h\xc3\xa9llo bad=\"\\ufffd\"\n");
	free(s);
	/* a key with a space cannot be quoted in logfmt; it is made safe */
	s = fmt(TP_LOG_LOGFMT, TP_LOG_DEBUG, "m", "a key", "v", NULL);
	assert_non_null(strstr(s, " a_key=v\n"));
	free(s);
	/* dangling key (odd number of arguments) */
	s = fmt(TP_LOG_LOGFMT, TP_LOG_DEBUG, "m", "k", NULL);
	assert_non_null(strstr(s, " k=\n"));
	free(s);
}

static void test_json_shape(void **state)
{
	(void)state;
	char *s = fmt(TP_LOG_JSON, TP_LOG_INFO, "Starting \"tinyprom\"", "version", "0.1.0", "n", "a\nb",
		      NULL);
	assert_string_equal(s, "{\"ts\":\"2026-11-23T12:00:00.007Z\",\"caller\":\"server.c:42\","
			       "\"level\":\"info\",\"msg\":\"Starting \\\"tinyprom\\\"\","
			       "\"version\":\"0.1.0\",\"n\":\"a\\nb\"}\n");
	free(s);
}

static void test_levels(void **state)
{
	(void)state;
	tp_log_level l = TP_LOG_ERROR;
	assert_int_equal(tp_log_level_parse("debug", &l), 0);
	assert_int_equal(l, TP_LOG_DEBUG);
	assert_int_equal(tp_log_level_parse("warn", &l), 0);
	assert_int_equal(l, TP_LOG_WARN);
	assert_int_equal(tp_log_level_parse("warning", &l), -1);
	assert_int_equal(tp_log_level_parse("INFO", &l), -1);
	assert_int_equal(l, TP_LOG_WARN);
	tp_log_format f = TP_LOG_JSON;
	assert_int_equal(tp_log_format_parse("logfmt", &f), 0);
	assert_int_equal(f, TP_LOG_LOGFMT);
	assert_int_equal(tp_log_format_parse("text", &f), -1);
	assert_string_equal(tp_log_level_str(TP_LOG_ERROR), "error");
}

/* Writes through a pipe, reads everything back. */
static char *capture_begin(int p[2])
{
	assert_int_equal(pipe(p), 0);
	tp_log_set_fd(p[1]);
	return NULL;
}

static char *capture_end(int p[2])
{
	tp_log_set_fd(2);
	close(p[1]);
	tp_strbuf sb = { 0 };
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		tp_sb_append(&sb, buf, (size_t)n);
	close(p[0]);
	return tp_sb_steal(&sb);
}

static void test_filtering(void **state)
{
	(void)state;
	int p[2];
	capture_begin(p);
	tp_log_set_format(TP_LOG_LOGFMT);
	tp_log_set_level(TP_LOG_WARN);
	tp_log_debug("dropped debug");
	tp_log_info("dropped info");
	tp_log_warn("kept warn", "k", "v");
	tp_log_error("kept error");
	tp_log_set_level(TP_LOG_INFO);
	char *out = capture_end(p);
	assert_null(strstr(out, "dropped"));
	assert_non_null(strstr(out, "level=warn msg=\"kept warn\" k=v\n"));
	assert_non_null(strstr(out, "level=error msg=\"kept error\"\n"));
	assert_non_null(strstr(out, "caller=test_log.c:"));
	free(out);
}

#define NTHREADS 4
#define NLINES 500

static void *writer(void *arg)
{
	const char *id = arg;
	for (int i = 0; i < NLINES; i++)
		tp_log_info("concurrent record with a reasonably long message to detect tearing", "thread",
			    id, "pad", "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz");
	return NULL;
}

static void *drain(void *arg)
{
	int fd = *(int *)arg;
	tp_strbuf *sb = calloc(1, sizeof *sb);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		tp_sb_append(sb, buf, (size_t)n);
	return sb;
}

static void test_concurrent_lines_intact(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pthread_t rd;
	pthread_create(&rd, NULL, drain, &p[0]);
	tp_log_set_fd(p[1]);
	pthread_t t[NTHREADS];
	static const char *ids[NTHREADS] = { "a", "b", "c", "d" };
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, writer, (void *)ids[i]);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	tp_log_set_fd(2);
	close(p[1]);
	tp_strbuf *sb;
	pthread_join(rd, (void **)&sb);
	close(p[0]);
	/* every line is complete: starts with ts= and ends with the pad */
	int lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(sb->buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(strncmp(l, "ts=", 3) == 0);
		size_t n = strlen(l);
		assert_true(n > 20 && strcmp(l + n - 6, "uvwxyz") == 0);
		assert_non_null(strstr(l, "pad=0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"));
		lines++;
	}
	assert_int_equal(lines, NTHREADS * NLINES);
	tp_sb_free(sb);
	free(sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logfmt_shape),
		cmocka_unit_test(test_logfmt_quoting),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_filtering),
		cmocka_unit_test(test_concurrent_lines_intact),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
