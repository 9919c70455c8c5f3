/* SPDX-License-Identifier: Apache-2.0
 * test_api_options.c - unit tests for lib/flags and api/options: the
 * server's flags with Prometheus's names and defaults, both value syntaxes,
 * booleans and their negation, units, and the usage-error path (one line,
 * API_OPTIONS_ERROR, which cmd_server turns into exit status 2). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/options.h"
#include "lib/flags.h"

#define ARGV(...) ((char *[]){ "tinyprom", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "tinyprom", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...) api_options_parse((o), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (err), sizeof(err))

static void test_defaults(void **state)
{
	(void)state;
	api_options o;
	char err[256];
	char *argv[] = { "tinyprom", NULL };
	assert_int_equal(api_options_parse(&o, 1, argv, err, sizeof err), API_OPTIONS_RUN);
	assert_string_equal(o.config_file, "prometheus.yml");
	assert_string_equal(o.listen_address, "0.0.0.0:9090");
	assert_string_equal(o.tsdb_path, "data/");
	assert_int_equal(o.retention_ms, 15 * 86400000LL);
	assert_int_equal(o.retention_bytes, 0);
	assert_int_equal(o.lookback_ms, 300000);
	assert_int_equal(o.query_timeout_ms, 120000);
	assert_int_equal(o.max_samples, 50000000);
	assert_int_equal(o.max_concurrency, 20);
	assert_int_equal(o.max_connections, 512);
	assert_int_equal(o.max_body_bytes, 10LL << 20);
	assert_false(o.enable_lifecycle);
	assert_false(o.enable_remote_write);
	assert_int_equal(o.log_level, TP_LOG_INFO);
	assert_int_equal(o.log_format, TP_LOG_LOGFMT);
	assert_int_equal(o.features.n, 0);
	/* texts for /api/v1/status/flags */
	assert_string_equal(api_options_flag_text(&o, "storage.tsdb.retention.time"), "15d");
	assert_string_equal(api_options_flag_text(&o, "query.timeout"), "2m");
	assert_string_equal(api_options_flag_text(&o, "web.enable-lifecycle"), "false");
	assert_string_equal(api_options_flag_text(&o, "enable-feature"), "");
	assert_null(api_options_flag_text(&o, "nope"));
	api_options_free(&o);
}

static void test_values_both_syntaxes(void **state)
{
	(void)state;
	api_options o;
	char err[256];
	assert_int_equal(PARSE(&o, err, "--config.file=/etc/p.yml", "--web.listen-address", "127.0.0.1:19090",
			       "--storage.tsdb.retention.time", "90m", "--storage.tsdb.retention.size=512MB",
			       "--query.lookback-delta=1m30s", "--query.timeout", "10s", "--query.max-samples=1000",
			       "--query.max-concurrency", "4", "--web.enable-lifecycle",
			       "--web.enable-remote-write-receiver=true", "--log.level=debug", "--log.format",
			       "json", "--enable-feature=promql-experimental-functions,exemplar-storage",
			       "--enable-feature", "promql-duration-expr", "--storage.tsdb.path=/tmp/x"),
			 API_OPTIONS_RUN);
	assert_string_equal(o.config_file, "/etc/p.yml");
	assert_string_equal(o.listen_address, "127.0.0.1:19090");
	assert_int_equal(o.retention_ms, 90 * 60000);
	assert_int_equal(o.retention_bytes, 512LL << 20);
	assert_int_equal(o.lookback_ms, 90000);
	assert_int_equal(o.query_timeout_ms, 10000);
	assert_int_equal(o.max_samples, 1000);
	assert_int_equal(o.max_concurrency, 4);
	assert_true(o.enable_lifecycle);
	assert_true(o.enable_remote_write);
	assert_int_equal(o.log_level, TP_LOG_DEBUG);
	assert_int_equal(o.log_format, TP_LOG_JSON);
	assert_string_equal(o.tsdb_path, "/tmp/x");
	assert_int_equal(o.features.n, 3);
	assert_true(api_options_feature(&o, "exemplar-storage"));
	assert_true(api_options_feature(&o, "promql-duration-expr"));
	assert_false(api_options_feature(&o, "native-histograms"));
	assert_true(api_options_feature_known("promql-extended-range-selectors"));
	assert_false(api_options_feature_known("promql-extended-range-selector"));
	/* durations are shown as given */
	assert_string_equal(api_options_flag_text(&o, "storage.tsdb.retention.time"), "90m");
	assert_string_equal(api_options_flag_text(&o, "enable-feature"),
			    "promql-experimental-functions,exemplar-storage,promql-duration-expr");
	api_options_free(&o);
}

static void test_bool_negation_and_last_wins(void **state)
{
	(void)state;
	api_options o;
	char err[256];
	assert_int_equal(PARSE(&o, err, "--web.enable-lifecycle", "--no-web.enable-lifecycle", "--log.level=warn",
			       "--log.level=error"),
			 API_OPTIONS_RUN);
	assert_false(o.enable_lifecycle);
	assert_int_equal(o.log_level, TP_LOG_ERROR);
	api_options_free(&o);
	assert_int_equal(PARSE(&o, err, "--web.enable-lifecycle=false", "--web.enable-remote-write-receiver=1"),
			 API_OPTIONS_RUN);
	assert_false(o.enable_lifecycle);
	assert_true(o.enable_remote_write);
	api_options_free(&o);
	/* a bool flag does not swallow the next argument */
	assert_int_equal(PARSE(&o, err, "--web.enable-lifecycle", "stray"), API_OPTIONS_ERROR);
	assert_string_equal(err, "unexpected argument 'stray', try --help");
	api_options_free(&o);
}

static void test_retention_default(void **state)
{
	(void)state;
	api_options o;
	char err[256];
	/* neither time nor size retention: 15d, as Prometheus */
	assert_int_equal(PARSE(&o, err, "--storage.tsdb.retention.time=0s"), API_OPTIONS_RUN);
	assert_int_equal(o.retention_ms, 15 * 86400000LL);
	assert_string_equal(o.retention_text, "15d");
	api_options_free(&o);
	/* size only: no time retention */
	assert_int_equal(PARSE(&o, err, "--storage.tsdb.retention.time=0s", "--storage.tsdb.retention.size=1GB"),
			 API_OPTIONS_RUN);
	assert_int_equal(o.retention_ms, 0);
	assert_int_equal(o.retention_bytes, 1LL << 30);
	api_options_free(&o);
	assert_int_equal(PARSE(&o, err, "--storage.tsdb.retention.time=30d"), API_OPTIONS_RUN);
	assert_string_equal(o.retention_text, "30d");
	api_options_free(&o);
}

static void test_help_version(void **state)
{
	(void)state;
	api_options o;
	char err[256];
	assert_int_equal(PARSE(&o, err, "--help"), API_OPTIONS_HELP);
	tp_strbuf sb = { 0 };
	api_options_usage(&o, &sb);
	assert_non_null(strstr(sb.buf, "usage: tinyprom [<flags>]"));
	assert_non_null(strstr(sb.buf, "--config.file=\"prometheus.yml\""));
	assert_non_null(strstr(sb.buf, "--web.listen-address=\"0.0.0.0:9090\""));
	assert_non_null(strstr(sb.buf, "--storage.tsdb.retention.time=\"15d\""));
	assert_non_null(strstr(sb.buf, "--query.max-samples=\"50000000\""));
	assert_non_null(strstr(sb.buf, "--[no-]web.enable-lifecycle"));
	assert_non_null(strstr(sb.buf, "One of: [debug, info, warn, error]"));
	tp_sb_free(&sb);
	api_options_free(&o);
	assert_int_equal(PARSE(&o, err, "-h"), API_OPTIONS_HELP);
	api_options_free(&o);
	assert_int_equal(PARSE(&o, err, "--version"), API_OPTIONS_VERSION);
	api_options_free(&o);
	api_version_text(&sb);
	assert_true(strncmp(sb.buf, "tinyprom, version 0.1.0 (branch: ", 33) == 0);
	assert_non_null(strstr(sb.buf, ", revision: "));
	assert_non_null(strstr(sb.buf, "\n  build user:       "));
	assert_non_null(strstr(sb.buf, "\n  build date:       "));
	assert_non_null(strstr(sb.buf, "\n  compiler:         "));
	tp_sb_free(&sb);
}

/* Every bad input gives API_OPTIONS_ERROR and exactly one line. */
static void expect_error(const char *want, int argc, char **argv)
{
	api_options o;
	char err[256];
	assert_int_equal(api_options_parse(&o, argc, argv, err, sizeof err), API_OPTIONS_ERROR);
	assert_null(strchr(err, '\n'));
	assert_string_equal(err, want);
	api_options_free(&o);
}
#define EXPECT_ERROR(want, ...) expect_error((want), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_bad_values(void **state)
{
	(void)state;
	EXPECT_ERROR("unknown long flag '--bogus', try --help", "--bogus");
	EXPECT_ERROR("unknown long flag '--bogus', try --help", "--bogus=1");
	EXPECT_ERROR("unknown long flag '--no-config.file', try --help", "--no-config.file");
	EXPECT_ERROR("unknown short flag '-x', try --help", "-x");
	EXPECT_ERROR("unexpected argument 'serve', try --help", "serve");
	EXPECT_ERROR("expected argument for flag '--query.timeout'", "--query.timeout");
	EXPECT_ERROR("invalid value \"abc\" for flag --query.timeout: not a valid duration string: \"abc\"",
		     "--query.timeout=abc");
	EXPECT_ERROR("invalid value \"5\" for flag --query.lookback-delta: not a valid duration string: \"5\"",
		     "--query.lookback-delta", "5");
	EXPECT_ERROR("invalid value \"12XB\" for flag --storage.tsdb.retention.size: expected a byte size such as 0, 512MB, 1GB",
		     "--storage.tsdb.retention.size=12XB");
	EXPECT_ERROR("invalid value \"1000\" for flag --storage.tsdb.retention.size: expected a byte size such as 0, 512MB, 1GB",
		     "--storage.tsdb.retention.size=1000");
	EXPECT_ERROR("invalid value \"1e3\" for flag --query.max-samples: expected an integer",
		     "--query.max-samples=1e3");
	EXPECT_ERROR("invalid value \"0\" for flag --query.max-concurrency: must be at least 1",
		     "--query.max-concurrency=0");
	EXPECT_ERROR("invalid value \"verbose\" for flag --log.level: expected one of debug, info, warn, error",
		     "--log.level=verbose");
	EXPECT_ERROR("invalid value \"xml\" for flag --log.format: expected one of logfmt, json",
		     "--log.format", "xml");
	EXPECT_ERROR("invalid value \"maybe\" for flag --web.enable-lifecycle: expected true or false",
		     "--web.enable-lifecycle=maybe");
	EXPECT_ERROR("invalid value \"localhost\" for flag --web.listen-address: expected host:port",
		     "--web.listen-address=localhost");
	EXPECT_ERROR("invalid value \":99999\" for flag --web.listen-address: bad port \"99999\"",
		     "--web.listen-address=:99999");
}

static void test_bytes_parse(void **state)
{
	(void)state;
	int64_t b = -1;
	assert_int_equal(tp_bytes_parse("0", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(tp_bytes_parse("1GB", &b), 0);
	assert_int_equal(b, 1LL << 30);
	assert_int_equal(tp_bytes_parse("100KiB", &b), 0);
	assert_int_equal(b, 100 * 1024);
	assert_int_equal(tp_bytes_parse("7B", &b), 0);
	assert_int_equal(b, 7);
	assert_int_equal(tp_bytes_parse("1EB", &b), 0);
	assert_int_equal(b, 1LL << 60);
	assert_int_equal(tp_bytes_parse("8EB", &b), -1);  /* overflows int64 */
	assert_int_equal(tp_bytes_parse("", &b), -1);
	assert_int_equal(tp_bytes_parse("MB", &b), -1);
	assert_int_equal(tp_bytes_parse("-1MB", &b), -1);
	assert_int_equal(tp_bytes_parse("1.5GB", &b), -1);
	assert_int_equal(tp_bytes_parse("1gb", &b), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values_both_syntaxes),
		cmocka_unit_test(test_bool_negation_and_last_wins),
		cmocka_unit_test(test_retention_default),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bytes_parse),
	};
	return cmocka_run_group_tests_name("api_options", tests, NULL, NULL);
}
