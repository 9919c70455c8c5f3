/* SPDX-License-Identifier: Apache-2.0
 * cmd_check_config.c - `tinyprom check config [--syntax-only] FILE...`,
 * output and exit statuses as promtool 2.42's `check config`.
 *
 * Per file: "Checking F" on stdout, then either "  FAILED: <error>" on
 * stderr or the rule-file count and " SUCCESS: F is valid prometheus config
 * file syntax" on stdout, then a blank line; then one block per rule file.
 * Exit status: 0 when every file is valid, 1 otherwise (2 is not used by
 * promtool here; usage errors exit 1 like kingpin's).
 *
 * Beyond loading, the checks promtool adds are made: rule_files globs must
 * resolve (explicit names must exist), authorization / bearer-token files
 * and client cert/key files must exist and come in pairs, file_sd files
 * are read (missing ones warned about), and every static or file target
 * goes through target
 * relabeling and label population as promtool's
 * checkTargetGroupsForScrapeConfig does ("instance 0 in group 0: no
 * address"). Rule files themselves are not parsed yet (the rules module
 * does not exist); each is reported as found, not as valid. */
#include "config.h"
#include "cmd/commands.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "lib/arena.h"
#include "lib/duration.h"
#include "lib/labels.h"
#include "lib/strbuf.h"
#include "scrape/relabel.h"

/* Go's os.Stat error text: "stat x: no such file or directory". */
static int stat_err(const char *path, tp_strbuf *err)
{
	struct stat st;
	if (!path || !*path || stat(path, &st) == 0)
		return 0;
	char msg[128];
	snprintf(msg, sizeof(msg), "%s", strerror(errno));
	msg[0] = (char)(msg[0] >= 'A' && msg[0] <= 'Z' ? msg[0] - 'A' + 'a' : msg[0]);
	tp_sb_printf(err, "stat %s: %s", path, msg);
	return -1;
}

static int check_file_exists(const char *what, const char *path, tp_strbuf *err)
{
	tp_strbuf e = { 0 };
	if (stat_err(path, &e) == 0)
		return 0;
	tp_sb_printf(err, "%s \"%s\": %s", what, path, tp_sb_cstr(&e));
	tp_sb_free(&e);
	return -1;
}

static int check_tls(const config_tls *t, bool syntax_only, tp_strbuf *err)
{
	const char *cert = t->cert_file ? t->cert_file : "", *key = t->key_file ? t->key_file : "";
	if (*cert && !*key) {
		tp_sb_printf(err, "client cert file \"%s\" specified without client key file", cert);
		return -1;
	}
	if (*key && !*cert) {
		tp_sb_printf(err, "client key file \"%s\" specified without client cert file", key);
		return -1;
	}
	if (syntax_only)
		return 0;
	if (check_file_exists("error checking client cert file", cert, err) != 0)
		return -1;
	return check_file_exists("error checking client key file", key, err);
}

/* Go's net.SplitHostPort succeeds on s. */
static bool split_host_port_ok(const char *s)
{
	const char *i = strrchr(s, ':');
	if (!i)
		return false;
	size_t j = 0, k = 0;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end + 1 != i)
			return false;
		j = 1;
		k = (size_t)(end - s) + 1;
	} else {
		for (const char *p = s; p < i; p++)
			if (*p == ':')
				return false;
	}
	return !strchr(s + j, '[') && !strchr(s + k, ']');
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *p < 0xc2))
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* scrape.PopulateLabels (Prometheus 2.42) for one target, reporting only
 * its error. TODO(scrape): use scrape/target.c's population once it exists
 * so this check and the scraper cannot disagree. */
static int populate_check(const config_scrape *s, const config_static *g, size_t ti, tp_arena *a,
			  tp_strbuf *err)
{
	tp_labels_builder lb;
	tp_lb_init(&lb, a, NULL);
	tp_lb_set(&lb, "__address__", g->targets.v[ti]);
	for (size_t k = 0; k < g->labels.n; k++)
		if (strcmp(g->labels.v[k].name, "__address__") != 0)
			tp_lb_set(&lb, g->labels.v[k].name, g->labels.v[k].value);
	char iv[48], to[48];
	tp_duration_format(iv, s->scrape_interval_ms);
	tp_duration_format(to, s->scrape_timeout_ms);
	const char *defaults[][2] = { { "job", s->job_name }, { "__scrape_interval__", iv },
				      { "__scrape_timeout__", to }, { "__metrics_path__", s->metrics_path },
				      { "__scheme__", s->scheme } };
	for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++) {
		const char *cur = NULL;
		for (uint32_t m = 0; m < lb.n; m++)
			if (strcmp(lb.v[m].name, defaults[k][0]) == 0)
				cur = lb.v[m].value;
		if (!cur || !*cur)
			tp_lb_set(&lb, defaults[k][0], tp_arena_strdup(a, defaults[k][1] ? defaults[k][1] : ""));
	}
	for (size_t k = 0; k < s->params.n; k++) {
		if (!s->params.v[k].n_values)
			continue;
		tp_strbuf n = { 0 };
		tp_sb_printf(&n, "__param_%s", s->params.v[k].name);
		tp_lb_set(&lb, tp_arena_strdup(a, n.buf), s->params.v[k].values[0]);
		tp_sb_free(&n);
	}
	tp_labels in = tp_lb_labels(&lb), out;
	if (!relabel_process(s->relabel_configs.v, s->relabel_configs.n, a, &in, &out))
		return 0; /* dropped: fine */
	const char *addr = tp_labels_get(&out, "__address__");
	if (!addr || !*addr) {
		tp_sb_puts(err, "no address");
		return -1;
	}
	const char *scheme = tp_labels_get(&out, "__scheme__");
	if (!split_host_port_ok(addr)) {
		tp_strbuf t = { 0 };
		tp_sb_printf(&t, "%s:1234", addr);
		bool add = split_host_port_ok(t.buf);
		tp_sb_free(&t);
		if (add && scheme && *scheme && strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
			tp_sb_printf(err, "invalid scheme: \"%s\"", s->scheme ? s->scheme : "");
			return -1;
		}
	}
	if (strchr(addr, '/')) {
		tp_sb_printf(err, "\"%s\" is not a valid hostname", addr);
		return -1;
	}
	const char *ivl = tp_labels_get(&out, "__scrape_interval__");
	const char *tol = tp_labels_get(&out, "__scrape_timeout__");
	int64_t ivms, toms;
	if (!ivl) {
		tp_sb_puts(err, "error parsing scrape interval: empty duration string");
		return -1;
	}
	if (tp_duration_parse(ivl, strlen(ivl), &ivms) != 0) {
		tp_sb_printf(err, "error parsing scrape interval: not a valid duration string: \"%s\"", ivl);
		return -1;
	}
	if (ivms == 0) {
		tp_sb_puts(err, "scrape interval cannot be 0");
		return -1;
	}
	if (!tol) {
		tp_sb_puts(err, "error parsing scrape timeout: empty duration string");
		return -1;
	}
	if (tp_duration_parse(tol, strlen(tol), &toms) != 0) {
		tp_sb_printf(err, "error parsing scrape timeout: not a valid duration string: \"%s\"", tol);
		return -1;
	}
	if (toms == 0) {
		tp_sb_puts(err, "scrape timeout cannot be 0");
		return -1;
	}
	if (toms > ivms) {
		tp_sb_printf(err, "scrape timeout cannot be greater than scrape interval (\"%s\" > \"%s\")", tol, ivl);
		return -1;
	}
	for (uint32_t k = 0; k < out.n; k++) {
		if (!utf8_valid(out.v[k].value)) {
			tp_sb_printf(err, "invalid label value for \"%s\"", out.v[k].name);
			return -1;
		}
	}
	return 0;
}

/* promtool's checkTargetGroupsForScrapeConfig: the first failure, as
 * "instance I in group G: <error>" where G is the group's source (its index
 * for static_configs, empty for groups read from a file). */
static int check_target_groups(const config_scrape *s, config_static *const *groups, size_t n, bool indexed,
			       tp_strbuf *err)
{
	tp_arena a;
	tp_arena_init(&a);
	int rc = 0;
	for (size_t g = 0; g < n && rc == 0; g++) {
		const config_static *st = groups[g];
		for (size_t t = 0; st && t < st->targets.n; t++) {
			tp_strbuf e = { 0 };
			if (populate_check(s, st, t, &a, &e) != 0) {
				tp_sb_printf(err, "instance %zu in group ", t);
				if (indexed)
					tp_sb_printf(err, "%zu", g);
				tp_sb_printf(err, ": %s", tp_sb_cstr(&e));
				tp_sb_free(&e);
				rc = -1;
				break;
			}
			tp_sb_free(&e);
			tp_arena_reset(&a);
		}
	}
	tp_arena_free(&a);
	return rc;
}

/* promtool's checkTargetGroupsForAlertmanager: notifier.AlertmanagerFromGroup
 * relabels each static target (with __scheme__ and __alerts_path__ set)
 * and rejects an address that is a URL. */
static int check_alertmanager_targets(const config_alertmanager *am, config_static *const *groups, size_t n,
				      tp_strbuf *err)
{
	tp_arena a;
	tp_arena_init(&a);
	tp_strbuf path = { 0 };
	tp_sb_printf(&path, "/%s/api/%s/alerts", am->path_prefix ? am->path_prefix : "", am->api_version);
	char *alerts_path = config_path_clean(path.buf);
	tp_sb_free(&path);
	int rc = 0;
	for (size_t g = 0; g < n && rc == 0; g++) {
		const config_static *st = groups[g];
		for (size_t t = 0; st && t < st->targets.n; t++) {
			tp_labels_builder lb;
			tp_lb_init(&lb, &a, NULL);
			for (size_t k = 0; k < st->labels.n; k++)
				tp_lb_set(&lb, st->labels.v[k].name, st->labels.v[k].value);
			tp_lb_set(&lb, "__address__", st->targets.v[t]);
			tp_lb_set(&lb, "__scheme__", am->scheme);
			tp_lb_set(&lb, "__alerts_path__", alerts_path);
			tp_labels in = tp_lb_labels(&lb), out;
			if (relabel_process(am->relabel_configs.v, am->relabel_configs.n, &a, &in, &out)) {
				const char *addr = tp_labels_get(&out, "__address__");
				if (addr && strchr(addr, '/')) {
					tp_sb_printf(err, "\"%s\" is not a valid hostname", addr);
					rc = -1;
					break;
				}
			}
			tp_arena_reset(&a);
		}
	}
	free(alerts_path);
	tp_arena_free(&a);
	return rc;
}

/* file_sd in promtool: each existing file is read and its groups checked
 * like static ones; a pattern matching nothing is only a warning. */
static int check_file_sd(config_file_sd *const *v, size_t n, const config_scrape *job,
			 const config_alertmanager *am, tp_strbuf *err)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; v[i] && j < v[i]->files.n; j++) {
			const char *pat = v[i]->files.v[j];
			glob_t g;
			if (glob(pat, 0, NULL, &g) != 0) {
				if (job)
					printf("  WARNING: file \"%s\" for file_sd in scrape job \"%s\" does not exist\n",
					       pat, job->job_name);
				else
					printf("  WARNING: file \"%s\" for file_sd in alertmanager config does not exist\n", pat);
				continue;
			}
			int rc = 0;
			for (size_t k = 0; k < g.gl_pathc && rc == 0; k++) {
				config_target_groups tg = { 0 };
				tp_strbuf e = { 0 };
				if (config_target_groups_load(g.gl_pathv[k], &tg, &e) != 0) {
					tp_sb_printf(err, "checking SD file \"%s\": %s", pat, tp_sb_cstr(&e));
					rc = -1;
				} else if (job) {
					rc = check_target_groups(job, tg.v, tg.n, false, err);
				} else {
					rc = check_alertmanager_targets(am, tg.v, tg.n, err);
				}
				tp_sb_free(&e);
				config_target_groups_free(&tg);
			}
			globfree(&g);
			if (rc != 0)
				return -1;
		}
	}
	return 0;
}

/* promtool's checkConfig: load, then the file checks. */
static int check_one(const char *path, bool syntax_only, bool agent, config_strs *rule_files, tp_strbuf *err)
{
	config cfg;
	if (config_load_file(path, &cfg, err) != 0)
		return -1;
	int rc = 0;
	/* config.LoadFile in agent mode */
	const char *not_allowed = NULL;
	if (agent && (cfg.alerting.alertmanagers.n || cfg.alerting.alert_relabel_configs.n))
		not_allowed = "alerting";
	else if (agent && cfg.rule_files.n)
		not_allowed = "rule_files";
	else if (agent && cfg.remote_read.n)
		not_allowed = "remote_read";
	if (not_allowed) {
		tp_sb_printf(err, "field %s is not allowed in agent mode", not_allowed);
		rc = -1;
		goto out;
	}
	if (!syntax_only && config_rule_files_resolve(&cfg, rule_files, err) != 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < cfg.scrape_configs.n; i++) {
		config_scrape *s = cfg.scrape_configs.v[i];
		if (!syntax_only && s->http.authorization.set &&
		    check_file_exists("error checking authorization credentials or bearer token file",
				      s->http.authorization.credentials_file, err) != 0) {
			rc = -1;
			goto out;
		}
		if (check_tls(&s->http.tls, syntax_only, err) != 0) {
			rc = -1;
			goto out;
		}
		if (!syntax_only && check_file_sd(s->file_sd_configs.v, s->file_sd_configs.n, s, NULL, err) != 0) {
			rc = -1;
			goto out;
		}
		if (check_target_groups(s, s->static_configs.v, s->static_configs.n, true, err) != 0) {
			rc = -1;
			goto out;
		}
	}
	for (size_t i = 0; i < cfg.alerting.alertmanagers.n; i++) {
		config_alertmanager *a = cfg.alerting.alertmanagers.v[i];
		if (!syntax_only && check_file_sd(a->file_sd_configs.v, a->file_sd_configs.n, NULL, a, err) != 0) {
			rc = -1;
			goto out;
		}
		if (check_alertmanager_targets(a, a->static_configs.v, a->static_configs.n, err) != 0) {
			rc = -1;
			goto out;
		}
	}
out:
	if (rc != 0)
		config_strs_free(rule_files);
	config_free(&cfg);
	return rc;
}

int cmd_check_config(int argc, char **argv)
{
	bool syntax_only = false, agent = false;
	int nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--syntax-only") == 0) {
			syntax_only = true;
		} else if (strcmp(argv[i], "--agent") == 0) {
			agent = true;
		} else if (strncmp(argv[i], "--lint", 6) == 0) {
			/* accepted; linting applies to rule files */
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "tinyprom: error: unknown long flag '%s', try --help\n", argv[i]);
			return 1;
		} else {
			struct stat st;
			if (stat(argv[i], &st) != 0) {
				fprintf(stderr, "tinyprom: error: path '%s' does not exist, try --help\n", argv[i]);
				return 1;
			}
			nfiles++;
		}
	}
	if (nfiles == 0) {
		fprintf(stderr, "tinyprom: error: required argument 'config-files' not provided, try --help\n");
		return 1;
	}
	bool failed = false;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		const char *f = argv[i];
		printf("Checking %s\n", f);
		fflush(stdout);
		config_strs rules = { 0 };
		tp_strbuf err = { 0 };
		if (check_one(f, syntax_only, agent, &rules, &err) != 0) {
			fprintf(stderr, "  FAILED: %s\n", tp_sb_cstr(&err));
			fflush(stderr);
			failed = true;
		} else {
			if (rules.n > 0)
				printf("  SUCCESS: %zu rule files found\n", rules.n);
			printf(" SUCCESS: %s is valid prometheus config file syntax\n", f);
		}
		printf("\n");
		for (size_t j = 0; j < rules.n; j++)
			if (cmd_check_rules_file(rules.v[j], "     ") < 0)
				failed = true;
		fflush(stdout);
		config_strs_free(&rules);
		tp_sb_free(&err);
	}
	return failed ? 1 : 0;
}
