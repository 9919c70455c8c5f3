/* SPDX-License-Identifier: Apache-2.0
 * test_api_server.c - the server's usage-error path end to end through
 * cmd_server: bad flags return exit status 2 with exactly one line on
 * stderr and nothing on stdout; --help and --version return 0. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "lib/strbuf.h"

/* Runs cmd_server with fd 1 and 2 redirected to files; returns its status. */
static int run(char **argv, int argc, char **out, char **err)
{
	char on[] = "/tmp/tp-test-out.XXXXXX", en[] = "/tmp/tp-test-err.XXXXXX";
	int ofd = mkstemp(on), efd = mkstemp(en);
	assert_true(ofd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(ofd, 1);
	dup2(efd, 2);
	int rc = cmd_server(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	char *bufs[2];
	int fds[2] = { ofd, efd };
	for (int i = 0; i < 2; i++) {
		tp_strbuf sb = { 0 };
		char b[4096];
		ssize_t n;
		lseek(fds[i], 0, SEEK_SET);
		while ((n = read(fds[i], b, sizeof b)) > 0)
			tp_sb_append(&sb, b, (size_t)n);
		close(fds[i]);
		bufs[i] = sb.buf ? tp_sb_steal(&sb) : strdup("");
	}
	unlink(on);
	unlink(en);
	*out = bufs[0];
	*err = bufs[1];
	return rc;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void expect_usage_error(const char *arg, const char *want)
{
	char *argv[] = { "tinyprom", (char *)arg, NULL };
	char *out, *err;
	assert_int_equal(run(argv, 2, &out, &err), 2);
	assert_string_equal(out, "");
	assert_int_equal(count_lines(err), 1);
	assert_string_equal(err, want);
	free(out);
	free(err);
}

static void test_bad_flags_exit_2(void **state)
{
	(void)state;
	expect_usage_error("--bogus", "tinyprom: error: unknown long flag '--bogus', try --help\n");
	expect_usage_error("--query.timeout=1x",
			   "tinyprom: error: invalid value \"1x\" for flag --query.timeout: not a valid duration string: \"1x\"\n");
	expect_usage_error("--log.format=xml",
			   "tinyprom: error: invalid value \"xml\" for flag --log.format: expected one of logfmt, json\n");
	expect_usage_error("--web.listen-address=nope",
			   "tinyprom: error: invalid value \"nope\" for flag --web.listen-address: expected host:port\n");
	expect_usage_error("--storage.tsdb.retention.size=-1GB",
			   "tinyprom: error: invalid value \"-1GB\" for flag --storage.tsdb.retention.size: expected a byte size such as 0, 512MB, 1GB\n");
}

static void test_help_version_exit_0(void **state)
{
	(void)state;
	char *argv[] = { "tinyprom", "--help", NULL };
	char *out, *err;
	assert_int_equal(run(argv, 2, &out, &err), 0);
	assert_non_null(strstr(out, "--query.max-concurrency=\"20\""));
	assert_string_equal(err, "");
	free(out);
	free(err);
	argv[1] = "--version";
	assert_int_equal(run(argv, 2, &out, &err), 0);
	assert_true(strncmp(out, "tinyprom, version ", 18) == 0);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_flags_exit_2),
		cmocka_unit_test(test_help_version_exit_0),
	};
	return cmocka_run_group_tests_name("api_server", tests, NULL, NULL);
}
