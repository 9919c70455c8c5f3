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
 * and client cert/key files must exist and come in pairs, missing file_sd
 * files are warned about. Rule files themselves are not parsed yet (the
 * rules module does not exist); each is reported as found, not as valid. */
#include "config.h"
#include "cmd/commands.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "lib/strbuf.h"

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

static void warn_file_sd(config_file_sd **v, size_t n, const char *job)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; v[i] && j < v[i]->files.n; j++) {
			glob_t g;
			int rc = glob(v[i]->files.v[j], 0, NULL, &g);
			if (rc == 0) {
				globfree(&g);
				continue;  /* TODO(sd): parse and check the target files */
			}
			if (job)
				printf("  WARNING: file \"%s\" for file_sd in scrape job \"%s\" does not exist\n",
				       v[i]->files.v[j], job);
			else
				printf("  WARNING: file \"%s\" for file_sd in alertmanager config does not exist\n",
				       v[i]->files.v[j]);
		}
	}
}

/* promtool's checkConfig: load, then the file checks. */
static int check_one(const char *path, bool syntax_only, config_strs *rule_files, tp_strbuf *err)
{
	config cfg;
	if (config_load_file(path, &cfg, err) != 0)
		return -1;
	int rc = 0;
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
		if (!syntax_only)
			warn_file_sd(s->file_sd_configs.v, s->file_sd_configs.n, s->job_name);
	}
	for (size_t i = 0; i < cfg.alerting.alertmanagers.n && !syntax_only; i++) {
		config_alertmanager *a = cfg.alerting.alertmanagers.v[i];
		warn_file_sd(a->file_sd_configs.v, a->file_sd_configs.n, NULL);
	}
out:
	if (rc != 0)
		config_strs_free(rule_files);
	config_free(&cfg);
	return rc;
}

int cmd_check_config(int argc, char **argv)
{
	bool syntax_only = false;
	int nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--syntax-only") == 0) {
			syntax_only = true;
		} else if (strncmp(argv[i], "--lint", 6) == 0 || strcmp(argv[i], "--agent") == 0) {
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
		if (check_one(f, syntax_only, &rules, &err) != 0) {
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
