/* SPDX-License-Identifier: Apache-2.0
 * test_template.c - rule templates: Go text/template semantics and
 * Prometheus's functions; expected outputs are Prometheus's own (its
 * template tests and documentation), adapted to the rule prelude. */
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

#include "rules/template.h"

static tp_label lab_v[] = { { "__name__", "up" }, { "instance", "h1:9100" }, { "job", "node" } };
static tp_labels lab = { lab_v, 3 };
static tp_label ext_v[] = { { "cluster", "eu1" } };
static tp_labels ext = { ext_v, 1 };

/* The query callback returns two fixed samples, in "b", "a" order. */
static int fake_query(void *ud, const char *q, int64_t t_ms, rules_tmpl_sample **out, size_t *n, char **err)
{
	(void)ud;
	(void)t_ms;
	if (strcmp(q, "missing") == 0) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (strcmp(q, "bad") == 0) {
		*err = strdup("1:4: parse error: unexpected end of input");
		return -1;
	}
	static tp_label b[] = { { "__name__", "metric" }, { "instance", "b" } };
	static tp_label a[] = { { "__name__", "metric" }, { "instance", "a" } };
	rules_tmpl_sample *s = calloc(2, sizeof(*s));
	s[0] = (rules_tmpl_sample){ { b, 2 }, 21 };
	s[1] = (rules_tmpl_sample){ { a, 2 }, 11 };
	*out = s;
	*n = 2;
	return 0;
}

static void fake_free(void *ud, rules_tmpl_sample *s, size_t n)
{
	(void)ud;
	(void)n;
	free(s);
}

static char *run(const char *text, double value, int *rc)
{
	rules_tmpl_data d = { .labels = &lab, .value = value, .external_labels = &ext,
			      .external_url = "http://testhost:9090/path/prefix", .query = fake_query,
			      .query_free = fake_free };
	tp_strbuf sb = { 0 };
	*rc = rules_template_run("test", text, &d, &sb);
	return tp_sb_steal(&sb);
}

static void check(const char *text, double value, const char *want)
{
	int rc;
	char *got = run(text, value, &rc);
	if (rc != 0 || strcmp(got, want) != 0)
		print_error("template %s\n  want: %s\n  got:  %s (rc %d)\n", text, want, got, rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	free(got);
}

static void check_err(const char *text, const char *want_substr)
{
	int rc;
	char *got = run(text, 0, &rc);
	if (rc == 0 || !strstr(got, want_substr))
		print_error("template %s\n  want error containing: %s\n  got: %s (rc %d)\n", text, want_substr, got, rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(got, want_substr));
	free(got);
}

static void test_basics(void **state)
{
	(void)state;
	check("plain text", 0, "plain text");
	check("{{ 1 }}", 0, "1");
	check("{{ $labels.instance }} of {{ .Labels.job }} is down", 0, "h1:9100 of node is down");
	check("{{ $value }}", 1.5, "1.5");
	check("{{ $value }}", 1e6, "1e+06");
	check("{{ .Value }}", 0.25, "0.25");
	check("{{ $externalLabels.cluster }}/{{ $externalURL }}", 0, "eu1/http://testhost:9090/path/prefix");
	check("{{ $labels.nothere }}", 0, "");
	check("a {{- \"  b  \" -}} c", 0, "a  b  c");
	check("a  {{- 1 -}}  \n c", 0, "a1c");
	check("x{{/* a comment */}}y", 0, "xy");
	check("{{ \"<b>\" }}", 0, "<b>");
	check("{{ `raw\\n` }}", 0, "raw\\n");
	check("{{ \"esc\\n\" }}", 0, "esc\n");
}

static void test_control(void **state)
{
	(void)state;
	check("{{ if gt $value 80.0 }}high{{ else if gt $value 50.0 }}mid{{ else }}low{{ end }}", 90, "high");
	check("{{ if gt $value 80.0 }}high{{ else if gt $value 50.0 }}mid{{ else }}low{{ end }}", 60, "mid");
	check("{{ if gt $value 80.0 }}high{{ else if gt $value 50.0 }}mid{{ else }}low{{ end }}", 1, "low");
	check("{{ if $labels.nothere }}yes{{ else }}no{{ end }}", 0, "no");
	check("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 0,
	      "__name__=up;instance=h1:9100;job=node;");
	check("{{ range $labels }}[{{ . }}]{{ end }}", 0, "[up][h1:9100][node]");
	check("{{ with $labels.job }}job {{ . }}{{ end }}", 0, "job node");
	check("{{ with $labels.nothere }}x{{ else }}none{{ end }}", 0, "none");
	check("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", 0, "2");
	check("{{ and 1 0 }} {{ or 0 \"b\" }} {{ not true }}", 0, "0 b false");
	check("{{ eq $labels.job \"node\" \"x\" }} {{ ne 1 2 }} {{ le 2 2 }}", 0, "true true true");
	check("{{ len $labels }} {{ len \"abc\" }}", 0, "3 3");
	check("{{ index $labels \"job\" }}", 0, "node");
	check("{{ (index $labels \"job\") | toUpper }}", 0, "NODE");
}

static void test_functions(void **state)
{
	(void)state;
	/* outputs from Prometheus's template tests */
	check("{{ humanize 0 }}:{{ humanize 1 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}", 0, "0:1:1.235M:120m");
	check("{{ humanize \"1234567.0\" }}", 0, "1.235M");
	check("{{ humanize1024 0 }}:{{ humanize1024 1 }}:{{ humanize1024 1048576.0 }}:{{ humanize1024 .12 }}", 0,
	      "0:1:1Mi:0.12");
	check("{{ humanize1024 1234567 }}", 0, "1.177Mi");
	check("{{ humanizeDuration 0 }}:{{ humanizeDuration 1 }}:{{ humanizeDuration 60 }}:{{ humanizeDuration 3600 }}", 0,
	      "0s:1s:1m 0s:1h 0m 0s");
	check("{{ humanizeDuration 90000 }}:{{ humanizeDuration -183845 }}:{{ humanizeDuration 899.99 }}", 0,
	      "1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s");
	check("{{ humanizeDuration .1 }}:{{ humanizeDuration .0001 }}:{{ humanizeDuration .12345 }}:"
	      "{{ humanizeDuration 1.2345 }}:{{ humanizeDuration 12.345 }}",
	      0, "100ms:100us:123.5ms:1.234s:12.35s");
	check("{{ humanize $value }}:{{ humanize1024 $value }}:{{ humanizeDuration $value }}:{{ humanizeTimestamp $value }}",
	      INFINITY, "+Inf:+Inf:+Inf:+Inf");
	check("{{ humanize $value }}:{{ humanizeDuration $value }}", NAN, "NaN:NaN");
	check("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:"
	      "{{ 1.23456 | humanizePercentage }}",
	      0, "-22.22%:0%:12.35%:123.5%");
	check("{{ 1234567 | humanizePercentage }}", 0, "1.235e+08%");
	check("{{ 0 | humanizeTimestamp }}:{{ 1234567 | humanizeTimestamp }}", 0,
	      "1970-01-01 00:00:00 +0000 UTC:1970-01-15 06:56:07 +0000 UTC");
	check("{{ 1435065584.128 | humanizeTimestamp }}", 0, "2015-06-23 13:19:44.128 +0000 UTC");
	check("{{ \"aa bb CC\" | title }}|{{ \"aa bb CC\" | toUpper }}|{{ \"aA bB CC\" | toLower }}", 0,
	      "Aa Bb CC|AA BB CC|aa bb cc");
	check("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}", 0, "true false");
	check("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", 0, "xa");
	check("{{ reReplaceAll \":[0-9]+\" \"\" $labels.instance }}", 0, "h1");
	check("{{ reReplaceAll \"(?P<h>[a-z0-9]+):(?P<p>\\\\d+)\" \"${p}@${h}\" $labels.instance }}", 0, "9100@h1");
	check("{{ graphLink \"up\" }}", 0, "http://testhost:9090/path/prefix/graph?g0.expr=up&g0.tab=0");
	check("{{ tableLink \"rate(x[5m])\" }}", 0,
	      "http://testhost:9090/path/prefix/graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1");
	check("{{ pathPrefix }}|{{ externalURL }}", 0, "/path/prefix|http://testhost:9090/path/prefix");
	check("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", 0, "3720.01");
	check("{{ printf \"%.1f%% of %s\" $value $labels.job }}", 42.25, "42.2% of node");
	check("{{ printf \"%d items\" 3 }}|{{ printf \"%s\" 1.5 }}|{{ printf \"%q\" \"a\" }}", 0, "3 items|1.5|\"a\"");
	check("{{ \"foo.example.com:12345\" | stripPort }}|{{ \"192.0.2.1:12345\" | stripPort }}|"
	      "{{ \"2001:0DB8::1\" | stripPort }}|{{ \"[2001:0DB8::1]:12345\" | stripPort }}|"
	      "{{ \"[2001:0DB8::1]::12345\" | stripPort }}",
	      0, "foo.example.com|192.0.2.1|2001:0DB8::1|2001:0DB8::1|[2001:0DB8::1]::12345");
	check("{{ \"foo.example.com\" | stripDomain }}|{{ \"foo.example.com:12345\" | stripDomain }}|"
	      "{{ \"192.0.2.1:12345\" | stripDomain }}|{{ \"[2001:0DB8::1]:12345\" | stripDomain }}|"
	      "{{ \"[2001:0DB8::1]::12345\" | stripDomain }}",
	      0, "foo|foo:12345|192.0.2.1:12345|[2001:0DB8::1]:12345|[2001:0DB8::1]::12345");
}

static void test_query(void **state)
{
	(void)state;
	check("{{ query \"metric\" | first | value }}", 0, "21");
	check("{{ query \"metric\" | first | label \"instance\" }}", 0, "b");
	check("{{ query \"metric\" | first | label \"foo\" }}", 0, "");
	check("{{ $x := query \"metric\" | first }}{{ $x.Labels.instance }}:{{ $x.Value }}", 0, "b:21");
	check("{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}", 0,
	      "a:11: b:21: ");
	check("{{ with query \"missing\" }}some{{ else }}none{{ end }}", 0, "none");
	check_err("{{ query \"missing\" | first }}", "first() called on vector with no elements");
	check_err("{{ query \"bad\" }}", "parse error");
}

static void test_errors(void **state)
{
	(void)state;
	check_err("{{", "unclosed action");
	check_err("{{ nosuchfunc 1 }}", "function \"nosuchfunc\" not defined");
	check_err("{{ if true }}x", "unexpected EOF");
	check_err("x{{ end }}", "unexpected {{end}}");
	check_err("{{ humanize \"one\" }}", "strconv.ParseFloat: parsing \"one\": invalid syntax");
	check_err("{{ $nope }}", "undefined variable \"$nope\"");
	check_err("{{ .Foo }}", "can't evaluate field Foo");
	check_err("{{ \"unterminated }}", "unterminated quoted string");
	/* error names carry the template's name, as Prometheus's rule names do */
	int rc;
	char *got = run("{{", 0, &rc);
	assert_string_equal(got, "template: test:1: unclosed action");
	free(got);

	/* expand never fails: it yields Prometheus's error text */
	rules_tmpl_data d = { .labels = &lab };
	tp_strbuf sb = { 0 };
	rules_template_expand("__alert_X", "{{ .Foo ", &d, &sb);
	assert_string_equal(tp_sb_cstr(&sb), "<error expanding template: template: __alert_X:1: unclosed action>");
	tp_sb_free(&sb);

	tp_strbuf e = { 0 };
	assert_int_equal(rules_template_check("t", "{{ $labels.a }} ok", &e), 0);
	assert_int_equal(rules_template_check("t", "{{ if }}", &e), -1);
	tp_sb_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basics),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
