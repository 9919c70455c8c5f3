/* SPDX-License-Identifier: Apache-2.0
 * test_relabel.c - unit tests for scrape/relabel.c: the cases of
 * Prometheus's model/relabel/relabel_test.go (TestRelabel,
 * TestRelabelValidate, TestTargetLabelValidity) restated as tables, plus
 * MD5 (RFC 1321 suite), hashmod values cross-checked with md5sum(1), and
 * Go regexp.Expand corner cases. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/labels.h"
#include "lib/strbuf.h"
#include "scrape/relabel.h"

/* A rule as a test writes it: NULL fields keep Prometheus's defaults. */
typedef struct rule {
	const char *action;
	const char *src;     /* comma-separated source labels */
	const char *regex;
	const char *target;
	const char *repl;
	uint64_t mod;
	const char *sep;
} rule;

#define MAXL 12
typedef struct rcase {
	const char *name;
	const char *in[MAXL * 2 + 1];  /* name, value, ..., NULL */
	rule rules[4];                 /* terminated by a rule with all-NULL fields */
	bool drop;
	const char *out[MAXL * 2 + 1];
} rcase;

static bool rule_empty(const rule *r)
{
	return !r->action && !r->src && !r->regex && !r->target && !r->repl && !r->mod && !r->sep;
}

static void rule_to_config(const rule *r, relabel_config *c)
{
	relabel_config_init(c);
	if (r->action)
		relabel_config_set_str(&c->action_text, r->action);
	if (r->src) {
		c->source_labels_set = true;
		char *copy = strdup(r->src);
		for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
			c->source_labels = realloc(c->source_labels, sizeof(char *) * (c->n_source_labels + 1));
			c->source_labels[c->n_source_labels++] = strdup(tok);
		}
		free(copy);
	}
	if (r->regex) {
		relabel_config_set_str(&c->regex, r->regex);
		c->regex_set = true;
	}
	if (r->target)
		relabel_config_set_str(&c->target_label, r->target);
	if (r->repl)
		relabel_config_set_str(&c->replacement, r->repl);
	if (r->sep)
		relabel_config_set_str(&c->separator, r->sep);
	c->modulus = r->mod;
}

static tp_labels make_labels(tp_arena *a, const char *const *kv)
{
	uint32_t n = 0;
	while (kv[2 * n])
		n++;
	tp_labels l = { tp_arena_alloc(a, sizeof(tp_label) * (n ? n : 1)), n };
	for (uint32_t i = 0; i < n; i++)
		l.v[i] = (tp_label){ kv[2 * i], kv[2 * i + 1] };
	tp_labels_normalize(&l);
	return l;
}

static void check_case(const rcase *tc)
{
	tp_arena a;
	tp_arena_init(&a);
	relabel_config cfg[4];
	size_t n = 0;
	char err[256];
	for (; n < 4 && !rule_empty(&tc->rules[n]); n++) {
		rule_to_config(&tc->rules[n], &cfg[n]);
		if (relabel_config_finish(&cfg[n], err, sizeof(err)) != 0) {
			print_error("%s: rule %zu: %s\n", tc->name, n, err);
			fail();
		}
	}
	tp_labels in = make_labels(&a, tc->in), out;
	bool keep = relabel_process(cfg, n, &a, &in, &out);
	if (keep == tc->drop) {
		print_error("%s: keep=%d, want %d\n", tc->name, keep, !tc->drop);
		fail();
	}
	if (keep) {
		tp_labels want = make_labels(&a, tc->out);
		if (!tp_labels_equal(&out, &want)) {
			tp_strbuf g = { 0 }, w = { 0 };
			tp_labels_format(&g, &out, false);
			tp_labels_format(&w, &want, false);
			print_error("%s: got %s want %s\n", tc->name, tp_sb_cstr(&g), tp_sb_cstr(&w));
			fail();
		}
	}
	for (size_t i = 0; i < n; i++)
		relabel_config_clear(&cfg[i]);
	tp_arena_free(&a);
}

static void test_relabel_table(void **state)
{
	(void)state;
	static const rcase cases[] = {
		{ "replace ${1}", { "a", "foo", "b", "bar", "c", "baz", NULL },
		  { { .src = "a", .regex = "f(.*)", .target = "d", .repl = "ch${1}-ch${1}" } }, false,
		  { "a", "foo", "b", "bar", "c", "baz", "d", "choo-choo", NULL } },
		{ "two replaces", { "a", "foo", "b", "bar", "c", "baz", NULL },
		  { { .src = "a,b", .regex = "f(.*);(.*)r", .target = "a", .repl = "b${1}${2}m" },
		    { .src = "c,a", .regex = "(b).*b(.*)ba(.*)", .target = "d", .repl = "$1$2$2$3" } }, false,
		  { "a", "boobam", "b", "bar", "c", "baz", "d", "boooom", NULL } },
		{ "drop then replace", { "a", "foo", NULL },
		  { { .action = "drop", .src = "a", .regex = ".*o.*" },
		    { .src = "a", .regex = "f(.*)", .target = "d", .repl = "ch$1-ch$1" } }, true, { NULL } },
		{ "drop", { "a", "foo", "b", "bar", NULL },
		  { { .action = "drop", .src = "a", .regex = ".*o.*" } }, true, { NULL } },
		{ "replace group", { "a", "abc", NULL },
		  { { .src = "a", .regex = ".*(b).*", .target = "d", .repl = "$1" } }, false,
		  { "a", "abc", "d", "b", NULL } },
		{ "drop no-match", { "a", "foo", NULL },
		  { { .action = "drop", .src = "a", .regex = "no-match" } }, false, { "a", "foo", NULL } },
		{ "drop anchored f|o", { "a", "foo", NULL },
		  { { .action = "drop", .src = "a", .regex = "f|o" } }, false, { "a", "foo", NULL } },
		{ "keep no-match", { "a", "foo", NULL },
		  { { .action = "keep", .src = "a", .regex = "no-match" } }, true, { NULL } },
		{ "keep match", { "a", "foo", NULL },
		  { { .action = "keep", .src = "a", .regex = "f.*" } }, false, { "a", "foo", NULL } },
		{ "no replacement without match", { "a", "boo", NULL },
		  { { .src = "a", .regex = "f", .target = "b", .repl = "bar" } }, false, { "a", "boo", NULL } },
		{ "hashmod baz", { "a", "foo", "b", "bar", "c", "baz", NULL },
		  { { .action = "hashmod", .src = "c", .target = "d", .mod = 1000 } }, false,
		  { "a", "foo", "b", "bar", "c", "baz", "d", "976", NULL } },
		{ "hashmod newline", { "a", "foo\nbar", NULL },
		  { { .action = "hashmod", .src = "a", .target = "b", .mod = 1000 } }, false,
		  { "a", "foo\nbar", "b", "734", NULL } },
		{ "labelmap", { "a", "foo", "b1", "bar", "b2", "baz", NULL },
		  { { .action = "labelmap", .regex = "(b.*)", .repl = "bar_${1}" } }, false,
		  { "a", "foo", "b1", "bar", "b2", "baz", "bar_b1", "bar", "bar_b2", "baz", NULL } },
		{ "labelmap meta", { "a", "foo", "__meta_my_bar", "aaa", "__meta_my_baz", "bbb", "__meta_other", "ccc", NULL },
		  { { .action = "labelmap", .regex = "__meta_(my.*)", .repl = "${1}" } }, false,
		  { "a", "foo", "__meta_my_bar", "aaa", "__meta_my_baz", "bbb", "__meta_other", "ccc",
		    "my_bar", "aaa", "my_baz", "bbb", NULL } },
		{ "target from group", { "a", "some-name-value", NULL },
		  { { .src = "a", .regex = "some-([^-]+)-([^,]+)", .repl = "${2}", .target = "${1}" } }, false,
		  { "a", "some-name-value", "name", "value", NULL } },
		{ "empty replacement", { "a", "some-name-value", NULL },
		  { { .src = "a", .regex = "some-([^-]+)-([^,]+)", .repl = "${3}", .target = "${1}" } }, false,
		  { "a", "some-name-value", NULL } },
		{ "invalid expanded targets", { "a", "some-name-0", NULL },
		  { { .src = "a", .regex = "some-([^-]+)-([^,]+)", .repl = "${1}", .target = "${3}" },
		    { .src = "a", .regex = "some-([^-]+)-([^,]+)", .repl = "${1}", .target = "${3}" },
		    { .src = "a", .regex = "some-([^-]+)(-[^,]+)", .repl = "${1}", .target = "${3}" } }, false,
		  { "a", "some-name-0", NULL } },
		{ "real-life sd tags", { "__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar", NULL },
		  { { .src = "__meta_sd_tags", .regex = "(?:.+,|^)path:(/[^,]+).*", .repl = "${1}", .target = "__metrics_path__" },
		    { .src = "__meta_sd_tags", .regex = "(?:.+,|^)job:([^,]+).*", .repl = "${1}", .target = "job" },
		    { .src = "__meta_sd_tags", .regex = "(?:.+,|^)label:([^=]+)=([^,]+).*", .repl = "${2}", .target = "${1}" } },
		  false,
		  { "__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar", "__metrics_path__", "/secret",
		    "job", "some-job", "foo", "bar", NULL } },
		{ "issue 12283", { "__meta_kubernetes_pod_container_port_name", "foo",
				   "__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091", NULL },
		  { { .action = "labeldrop", .regex = "^__meta_kubernetes_pod_container_port_name$" },
		    { .src = "__meta_kubernetes_pod_annotation_XXX_metrics_port", .regex = "(.+)", .repl = "metrics",
		      .target = "__meta_kubernetes_pod_container_port_name" },
		    { .action = "keep", .src = "__meta_kubernetes_pod_container_port_name", .regex = "^metrics$" } },
		  false,
		  { "__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091",
		    "__meta_kubernetes_pod_container_port_name", "metrics", NULL } },
		{ "labelkeep", { "a", "foo", "b1", "bar", "b2", "baz", NULL },
		  { { .action = "labelkeep", .regex = "(b.*)" } }, false, { "b1", "bar", "b2", "baz", NULL } },
		{ "labeldrop", { "a", "foo", "b1", "bar", "b2", "baz", NULL },
		  { { .action = "labeldrop", .regex = "(b.*)" } }, false, { "a", "foo", NULL } },
		{ "upper/lower", { "foo", "bAr123Foo", NULL },
		  { { .action = "uppercase", .src = "foo", .target = "foo_uppercase" },
		    { .action = "lowercase", .src = "foo", .target = "foo_lowercase" } }, false,
		  { "foo", "bAr123Foo", "foo_lowercase", "bar123foo", "foo_uppercase", "BAR123FOO", NULL } },
		{ "keepequal keeps", { "__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL },
		  { { .action = "keepequal", .src = "__tmp_port", .target = "__port1" } }, false,
		  { "__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL } },
		{ "dropequal drops", { "__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL },
		  { { .action = "dropequal", .src = "__tmp_port", .target = "__port1" } }, true, { NULL } },
		{ "dropequal keeps", { "__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL },
		  { { .action = "dropequal", .src = "__tmp_port", .target = "__port2" } }, false,
		  { "__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL } },
		{ "keepequal drops", { "__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL },
		  { { .action = "keepequal", .src = "__tmp_port", .target = "__port2" } }, true, { NULL } },
		/* Beyond relabel_test.go: */
		{ "action is case-insensitive", { "a", "x", NULL },
		  { { .action = "DROP", .src = "a", .regex = "x" } }, true, { NULL } },
		{ "missing source is empty; default rule sets constant", { "a", "x", NULL },
		  { { .src = "nope", .target = "b", .repl = "const" } }, false, { "a", "x", "b", "const", NULL } },
		{ "separator", { "a", "x", "b", "y", NULL },
		  { { .src = "a,b", .sep = "--", .target = "c" } }, false, { "a", "x", "b", "y", "c", "x--y", NULL } },
		{ "replace with empty deletes", { "a", "x", "b", "y", NULL },
		  { { .src = "a", .target = "b", .repl = "" } }, false, { "a", "x", NULL } },
		{ "$ is end of text only", { "a", "x\n", NULL },
		  { { .action = "keep", .src = "a", .regex = "x" } }, true, { NULL } },
		{ "dot does not match newline", { "a", "x\ny", NULL },
		  { { .action = "keep", .src = "a", .regex = ".*" } }, true, { NULL } },
		{ "named groups", { "a", "host:9100", NULL },
		  { { .src = "a", .regex = "(?P<h>[^:]+):(?P<p>\\d+)", .target = "port", .repl = "${p}/$h" } }, false,
		  { "a", "host:9100", "port", "9100/host", NULL } },
		{ "$1x is group named 1x (empty)", { "a", "foo", NULL },
		  { { .src = "a", .regex = "(f)oo", .target = "b", .repl = "$1x-${1}x" } }, false,
		  { "a", "foo", "b", "-fx", NULL } },
		{ "labelmap to invalid name is kept (as Prometheus)", { "a_b", "v", NULL },
		  { { .action = "labelmap", .regex = "a_(.*)", .repl = "${1}" } }, false,
		  { "a_b", "v", "b", "v", NULL } },
		{ "unicode case mapping (Go strings.ToUpper/ToLower)", { "a", "stra\xc3\x9f" "e-\xc3\xa4\xc3\x98", NULL },
		  { { .action = "uppercase", .src = "a", .target = "u" },
		    { .action = "lowercase", .src = "u", .target = "l" } }, false,
		  { "a", "stra\xc3\x9f" "e-\xc3\xa4\xc3\x98", "u", "STRA\xc3\x9f" "E-\xc3\x84\xc3\x98",
		    "l", "stra\xc3\x9f" "e-\xc3\xa4\xc3\xb8", NULL } },
		{ "case mapping turns invalid bytes into U+FFFD", { "a", "A\xff", NULL },
		  { { .action = "lowercase", .src = "a", .target = "l" } }, false,
		  { "a", "A\xff", "l", "a\xef\xbf\xbd", NULL } },
		/* Go RE2 semantics where PCRE2 differs (see go_to_pcre). */
		{ "\\12 is octal (newline), not a backreference", { "a", "x\ny", NULL },
		  { { .action = "keep", .src = "a", .regex = "x\\12y" } }, false, { "a", "x\ny", NULL } },
		{ "\\v is only vertical tab", { "a", "\n", NULL },
		  { { .action = "keep", .src = "a", .regex = "\\v" } }, true, { NULL } },
		{ "\\s excludes vertical tab", { "a", "\v", NULL },
		  { { .action = "keep", .src = "a", .regex = "\\s" } }, true, { NULL } },
		{ "\\s matches tab", { "a", "\t", NULL },
		  { { .action = "keep", .src = "a", .regex = "[\\s]" } }, false, { "a", "\t", NULL } },
		{ "group name starting with a digit", { "a", "xy", NULL },
		  { { .src = "a", .regex = "(?P<1a>x)(y)", .target = "b", .repl = "${1a}$2" } }, false,
		  { "a", "xy", "b", "xy", NULL } },
		{ "repeated group name: first that matched", { "a", "z", NULL },
		  { { .src = "a", .regex = "(?P<n>y)?(?P<n>z)?", .target = "b", .repl = "<$n>" } }, false,
		  { "a", "z", "b", "<z>", NULL } },
		{ "literal brace", { "a", "b{", NULL },
		  { { .action = "keep", .src = "a", .regex = "b{" } }, false, { "a", "b{", NULL } },
		{ "hashmod 7 of joined value", { "a", "a", "b", "b", NULL },
		  { { .action = "hashmod", .src = "a,b", .target = "h", .mod = 7 } }, false,
		  { "a", "a", "b", "b", "h", "2", NULL } },
		{ "hashmod address", { "__address__", "10.0.0.1:9100", NULL },
		  { { .action = "hashmod", .src = "__address__", .target = "__tmp_hash", .mod = 1000 } }, false,
		  { "__address__", "10.0.0.1:9100", "__tmp_hash", "645", NULL } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* Validation: rule -> expected error ("" = valid). */
static void test_relabel_validate(void **state)
{
	(void)state;
	static const struct {
		rule r;
		const char *err;
	} cases[] = {
		{ { .action = "replace" }, "relabel configuration for replace action requires 'target_label' value" },
		{ { .action = "lowercase" }, "relabel configuration for lowercase action requires 'target_label' value" },
		{ { .action = "lowercase", .target = "${3}" }, "\"${3}\" is invalid 'target_label' for lowercase action" },
		{ { .src = "a", .regex = "some-([^-]+)-([^,]+)", .repl = "${1}", .target = "${3}" }, "" },
		{ { .src = "a", .regex = "some-([^-]+)-([^,]+)", .repl = "${1}", .target = "0${3}" },
		  "\"0${3}\" is invalid 'target_label' for replace action" },
		{ { .src = "a", .regex = "some-([^-]+)-([^,]+)", .repl = "${1}", .target = "-${3}" },
		  "\"-${3}\" is invalid 'target_label' for replace action" },
		{ { .action = "hashmod", .target = "x" }, "relabel configuration for hashmod requires non-zero modulus" },
		{ { .action = "hashmod", .target = "x-y", .mod = 2 }, "\"x-y\" is invalid 'target_label' for hashmod action" },
		{ { .action = "Foo" }, "unknown relabel action \"Foo\"" },
		{ { .action = "" }, "unknown relabel action \"\"" },
		{ { .target = "foo" }, "" },
		{ { .target = "1x" }, "\"1x\" is invalid 'target_label' for replace action" },
		{ { .action = "labeldrop", .sep = "," }, "labeldrop action requires only 'regex', and no other fields" },
		{ { .action = "labelkeep", .src = "a" }, "labelkeep action requires only 'regex', and no other fields" },
		{ { .action = "keepequal", .target = "x", .regex = "(.*)" },
		  "keepequal action requires only 'source_labels' and `target_label`, and no other fields" },
		{ { .action = "lowercase", .target = "x", .repl = "y" }, "'replacement' can not be set for lowercase action" },
		{ { .action = "labelmap", .repl = "-x" }, "\"-x\" is invalid 'replacement' for labelmap action" },
		{ { .src = "a-b", .target = "x" }, "\"a-b\" is not a valid label name" },
		{ { .regex = "(?=x)", .target = "x" }, "error parsing regexp: invalid or unsupported Perl syntax: `(?=`" },
		{ { .regex = "(a)\\1", .target = "x" }, "error parsing regexp: invalid escape sequence: `\\1`" },
		{ { .regex = "a**", .target = "x" }, "error parsing regexp: invalid nested repetition operator: `**`" },
		{ { .regex = "a{1001}", .target = "x" }, "error parsing regexp: invalid repeat count: `{1001}`" },
		{ { .regex = "\\Z", .target = "x" }, "error parsing regexp: invalid escape sequence: `\\Z`" },
		{ { .regex = "(?<n>a)", .target = "x" }, "error parsing regexp: invalid or unsupported Perl syntax: `(?<`" },
		{ { .regex = "[[:foo:]]", .target = "x" }, "error parsing regexp: invalid character class range: `[:foo:]`" },
		{ { .regex = "(", .target = "x" }, "error parsing regexp: missing closing ): `^(?:()$`" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		relabel_config c;
		rule_to_config(&cases[i].r, &c);
		char err[256] = "";
		int rc = relabel_config_finish(&c, err, sizeof(err));
		if (cases[i].err[0] == '\0') {
			if (rc != 0)
				print_error("case %zu: unexpected error %s\n", i, err);
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(err, cases[i].err);
		}
		relabel_config_clear(&c);
	}
	/* An unset action (YAML null) is Go's empty Action. */
	relabel_config e;
	rule_to_config(&(rule){ .target = "x" }, &e);
	e.action = RELABEL_ACTION_INVALID;
	char eerr[256];
	assert_int_equal(relabel_config_finish(&e, eerr, sizeof(eerr)), -1);
	assert_string_equal(eerr, "relabel action cannot be empty");
	relabel_config_clear(&e);
	/* A bad pattern fails to compile; the message starts like Go's. */
	relabel_config c;
	rule_to_config(&(rule){ .regex = "(", .target = "x" }, &c);
	char err[256];
	assert_int_equal(relabel_config_finish(&c, err, sizeof(err)), -1);
	assert_true(strncmp(err, "error parsing regexp: ", 22) == 0);
	relabel_config_clear(&c);
}

static void test_relabel_target_validity(void **state)
{
	(void)state;
	static const struct { const char *s; bool valid; } cases[] = {
		{ "-label", false }, { "label", true }, { "label${1}", true }, { "${1}label", true },
		{ "${1}", true }, { "${", false }, { "$", false }, { "${}", false }, { "foo${", false },
		{ "$1", true }, { "asd$2asd", true }, { "-foo${1}bar-", false }, { "_${1}_", true },
		{ "foo${bar}foo", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		relabel_config c;
		rule_to_config(&(rule){ .target = cases[i].s }, &c);
		char err[256];
		int rc = relabel_config_finish(&c, err, sizeof(err));
		if ((rc == 0) != cases[i].valid)
			print_error("%s: rc=%d\n", cases[i].s, rc);
		assert_int_equal(rc == 0, cases[i].valid);
		relabel_config_clear(&c);
	}
}

static void test_md5(void **state)
{
	(void)state;
	static const struct { const char *in, *hex; } v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t h[16];
		char hex[33];
		relabel_md5(v[i].in, strlen(v[i].in), h);
		for (int j = 0; j < 16; j++)
			snprintf(hex + 2 * j, 3, "%02x", h[j]);
		assert_string_equal(hex, v[i].hex);
	}
	/* 55/56/64-byte boundaries of the padding. */
	char buf[200];
	memset(buf, 'x', sizeof(buf));
	uint8_t h[16];
	relabel_md5(buf, 56, h);
	assert_int_equal(h[0], 0x66); /* md5sum of 56 x: 668a72d5... */
	/* hashmod against values computed with md5sum | python. */
	assert_int_equal(relabel_hashmod("baz", 3, 1000), 976);
	assert_int_equal(relabel_hashmod("", 0, 1000), 958);
	assert_int_equal(relabel_hashmod("a;b", 3, 7), 2);
	assert_true(relabel_hashmod("baz", 3, UINT64_MAX) == 16450797887570275976ULL);
}

static void test_expand(void **state)
{
	(void)state;
	relabel_config c;
	rule_to_config(&(rule){ .regex = "(?P<first>a)(b)?(c)", .target = "x" }, &c);
	char err[256];
	assert_int_equal(relabel_config_finish(&c, err, sizeof(err)), 0);
	tp_arena a;
	tp_arena_init(&a);
	tp_labels in = make_labels(&a, (const char *const[]){ "s", "ac", NULL }), out;
	static const struct { const char *tmpl, *want; } v[] = {
		{ "$1", "a" }, { "${1}", "a" }, { "$2", "" }, { "$3", "c" }, { "$$1", "$1" },
		{ "${first}", "a" }, { "$first", "a" }, { "$firstx", "" }, { "$", "$" }, { "${", "${" },
		{ "${1", "${1" }, { "$-", "$-" }, { "x$0y", "x" }, { "x${0}y", "xacy" }, { "$01", "" }, { "$9", "" },
		{ "${}", "${}" }, { "a$$$1", "a$a" }, { "$1\xc3\xa9", "" }, { "${1}\xc3\xa9", "a\xc3\xa9" },
		{ "$1\xe2\x82\xac", "a\xe2\x82\xac" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		relabel_config r;
		rule_to_config(&(rule){ .src = "s", .regex = "(?P<first>a)(b)?(c)", .target = "t", .repl = v[i].tmpl }, &r);
		assert_int_equal(relabel_config_finish(&r, err, sizeof(err)), 0);
		assert_true(relabel_process(&r, 1, &a, &in, &out));
		const char *got = tp_labels_get(&out, "t");
		if (strcmp(got ? got : "", v[i].want) != 0)
			print_error("template %s: got %s want %s\n", v[i].tmpl, got ? got : "", v[i].want);
		assert_string_equal(got ? got : "", v[i].want);
		relabel_config_clear(&r);
	}
	/* equality and copy */
	relabel_config d;
	assert_int_equal(relabel_config_copy(&d, &c), 0);
	assert_true(relabel_config_equal(&c, &d));
	relabel_config_set_str(&d.target_label, "y");
	assert_false(relabel_config_equal(&c, &d));
	relabel_config_clear(&d);
	relabel_config_clear(&c);
	tp_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relabel_table),
		cmocka_unit_test(test_relabel_validate),
		cmocka_unit_test(test_relabel_target_validity),
		cmocka_unit_test(test_md5),
		cmocka_unit_test(test_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
