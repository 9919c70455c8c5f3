/* SPDX-License-Identifier: Apache-2.0
 * cmd_promqltest.c - `tinyprom promqltest [options] FILE...`: runs
 * promqltest script files (promql/promqltest.h) and reports per eval.
 *
 *   --known-failures LIST  LIST has one line per known failing case,
 *                          "file:line reason" (file is the base name; line 0
 *                          stands for "the file does not parse"; # comments).
 *                          The run fails only on failures not on the list,
 *                          and names listed cases that now pass.
 *   --tap                  TAP output, one test point per file, details as
 *                          `#` diagnostics (for automake's tap-driver).
 *   --no-at-reruns, --no-range-check   switch off FORMAT.md §9.1 / §9.2.
 *   --dialect v2.42        compare as the v2.42 harness did (for the files
 *                          of shared/promqltest/upstream-v2.42).
 *   --write-failures OUT   write every failing eval to OUT in the
 *                          known-failures format, the reason being the
 *                          first problem found (a draft to edit by hand).
 *   -v                     also print known failures and skips.
 *
 * Invariants: counts are eval commands (never the implicit re-runs); the
 * last line is always "N passed, N failed, N skipped"; the exit status is
 * 0 only when no eval failed (or, with a list, none failed off the list)
 * and every file parsed; with --tap it is 0 and the "not ok" lines say it. */
#include "config.h"
#include "cmd/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/strbuf.h"
#include "promql/promqltest.h"

typedef struct known_case {
	char *file;   /* base name */
	int line;
	char *reason;
	bool failed;  /* seen failing in this run */
	bool passed;  /* seen passing or skipped: the entry is stale */
	bool file_run;/* its file was run: no outcome at all means no eval there */
} known_case;

typedef struct pt_state {
	known_case *known;
	size_t nknown, cap_known;
	bool have_list;
	bool tap;
	int verbose;
	FILE *failures_out;  /* --write-failures */
	/* per file */
	unsigned f_known_failed, f_unexpected;
	/* totals */
	unsigned known_failed, unexpected;
	tp_strbuf out;  /* this file's diagnostics */
} pt_state;

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int load_known(pt_state *st, const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		fprintf(stderr, "tinyprom promqltest: cannot open %s\n", path);
		return -1;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, fp)) {
		lineno++;
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strcspn(s, "\r\n");
		s[n] = '\0';
		if (!*s || *s == '#')
			continue;
		char *sp = s + strcspn(s, " \t");
		char *reason = sp;
		if (*sp) {
			*sp = '\0';
			reason = sp + 1;
			while (*reason == ' ' || *reason == '\t')
				reason++;
		}
		char *colon = strrchr(s, ':');
		char *end = NULL;
		long ln = colon ? strtol(colon + 1, &end, 10) : -1;
		if (!colon || !end || *end || ln < 0) {
			fprintf(stderr, "%s:%d: expected 'file:line reason'\n", path, lineno);
			rc = -1;
			continue;
		}
		*colon = '\0';
		TP_GROW(st->known, st->cap_known, st->nknown + 1);
		known_case *k = &st->known[st->nknown++];
		memset(k, 0, sizeof *k);
		k->file = tp_xstrdup(base_name(s));
		k->line = (int)ln;
		k->reason = tp_xstrdup(reason);
	}
	fclose(fp);
	return rc;
}

static known_case *find_known(pt_state *st, const char *path, int line)
{
	const char *b = base_name(path);
	for (size_t i = 0; i < st->nknown; i++)
		if (st->known[i].line == line && strcmp(st->known[i].file, b) == 0)
			return &st->known[i];
	return NULL;
}

/* Appends text to the file's output, every line prefixed in TAP mode. */
static void emit(pt_state *st, const char *text)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (st->tap)
			tp_sb_puts(&st->out, "# ");
		tp_sb_append(&st->out, p, n);
		tp_sb_putc(&st->out, '\n');
		p += n + (nl ? 1 : 0);
	}
}

/* The first "problem:" of a failure report, on one line, with a note
 * when only an implicit re-run (FORMAT.md §9) failed. */
static void write_failure(pt_state *st, const promql_test_file *f, const promql_test_cmd *c, const char *detail)
{
	const char *p = strstr(detail, "  problem: ");
	const char *run = strstr(detail, "  run: ");
	char reason[200];
	size_t n = 0;
	if (p) {
		p += strlen("  problem: ");
		while (p[n] && p[n] != '\n' && n < sizeof reason - 1) {
			reason[n] = p[n];
			n++;
		}
	}
	reason[n] = '\0';
	const char *where = "";
	if (run && strstr(run, "range-mode check") && strstr(run, "range-mode check") < strchr(run, '\n'))
		where = " [range-mode re-run]";
	else if (run && strstr(run, "step-invariance") && strstr(run, "step-invariance") < strchr(run, '\n'))
		where = " [@ re-run]";
	fprintf(st->failures_out, "%s:%d %s%s\n", base_name(f->path), c->line, n ? reason : "failed", where);
}

static void on_eval(void *ud, const promql_test_file *f, const promql_test_cmd *c, promql_test_outcome o,
		    const char *detail)
{
	pt_state *st = ud;
	known_case *k = st->have_list ? find_known(st, f->path, c->line) : NULL;
	tp_strbuf sb = { 0 };
	switch (o) {
	case PROMQL_TEST_PASS:
	case PROMQL_TEST_SKIP:
		if (k)
			k->passed = true;
		if (o == PROMQL_TEST_SKIP && st->verbose) {
			tp_sb_printf(&sb, "skipped %s:%d: %s", f->path, c->line, detail);
			emit(st, tp_sb_cstr(&sb));
		}
		break;
	case PROMQL_TEST_FAIL:
		if (st->failures_out)
			write_failure(st, f, c, detail);
		if (k) {
			k->failed = true;
			st->f_known_failed++;
			if (st->verbose) {
				tp_sb_printf(&sb, "known failure (%s):\n%s", k->reason, detail);
				emit(st, tp_sb_cstr(&sb));
			}
		} else {
			st->f_unexpected++;
			if (st->have_list)
				tp_sb_puts(&sb, "FAILED, not on the known-failures list:\n");
			tp_sb_puts(&sb, detail);
			emit(st, tp_sb_cstr(&sb));
		}
		break;
	}
	tp_sb_free(&sb);
}

static int usage(void)
{
	fprintf(stderr, "usage: tinyprom promqltest [--known-failures LIST] [--tap] [--no-at-reruns] "
			"[--no-range-check] [--dialect main|v2.42] [--write-failures OUT] [-v] FILE...\n");
	return 2;
}

int cmd_promqltest(int argc, char **argv)
{
	pt_state st = { 0 };
	promql_test_opts opts = { .report = on_eval, .ud = &st };
	const char *list = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--known-failures") == 0 && i + 1 < argc)
			list = argv[++i];
		else if (strncmp(argv[i], "--known-failures=", 17) == 0)
			list = argv[i] + 17;
		else if (strcmp(argv[i], "--tap") == 0)
			st.tap = true;
		else if (strcmp(argv[i], "--no-at-reruns") == 0)
			opts.no_at_reruns = true;
		else if (strcmp(argv[i], "--no-range-check") == 0)
			opts.no_range_check = true;
		else if (strcmp(argv[i], "--dialect") == 0 && i + 1 < argc &&
			 (strcmp(argv[i + 1], "v2.42") == 0 || strcmp(argv[i + 1], "main") == 0))
			opts.v242 = strcmp(argv[++i], "v2.42") == 0;
		else if (strcmp(argv[i], "--write-failures") == 0 && i + 1 < argc) {
			if (st.failures_out)
				fclose(st.failures_out);
			st.failures_out = fopen(argv[++i], "w");
			if (!st.failures_out) {
				fprintf(stderr, "tinyprom promqltest: cannot write %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "-v") == 0)
			st.verbose++;
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			return usage();
	}
	if (i >= argc)
		return usage();
	if (list) {
		st.have_list = true;
		if (load_known(&st, list) != 0)
			return 2;
	}
	int nfiles = argc - i, tapno = 0;
	bool bad = false;
	promql_test_counts total = { 0 };
	if (st.tap)
		printf("1..%d\n", nfiles);
	for (; i < argc; i++) {
		const char *path = argv[i];
		promql_test_file f;
		char err[512];
		promql_test_counts cnt = { 0 };
		bool file_ok = true;
		st.f_known_failed = st.f_unexpected = 0;
		tp_sb_reset(&st.out);
		if (promql_test_file_load(&f, path, err, sizeof err) != 0) {
			known_case *k = st.have_list ? find_known(&st, path, 0) : NULL;
			tp_strbuf sb = { 0 };
			tp_sb_printf(&sb, "%s: cannot parse the file: %s%s", path, err, k ? " (known)" : "");
			emit(&st, tp_sb_cstr(&sb));
			tp_sb_free(&sb);
			if (k)
				k->failed = true;
			else
				file_ok = false;
			if (st.failures_out)
				fprintf(st.failures_out, "%s:0 file does not parse: %s\n", base_name(path), err);
		} else {
			if (st.have_list) {
				known_case *k = find_known(&st, path, 0);
				if (k)
					k->passed = true;
				for (size_t j = 0; j < st.nknown; j++)
					if (strcmp(st.known[j].file, base_name(path)) == 0)
						st.known[j].file_run = true;
			}
			if (promql_test_run(&f, &opts, &cnt, err, sizeof err) != 0) {
				tp_strbuf sb = { 0 };
				tp_sb_printf(&sb, "%s: cannot run: %s", path, err);
				emit(&st, tp_sb_cstr(&sb));
				tp_sb_free(&sb);
				file_ok = false;
			}
			promql_test_file_free(&f);
		}
		if (st.f_unexpected)
			file_ok = false;
		if (cnt.load_errors) {
			tp_strbuf sb = { 0 };
			tp_sb_printf(&sb, "%s: %u samples could not be loaded (see the messages above)", path,
				     cnt.load_errors);
			emit(&st, tp_sb_cstr(&sb));
			tp_sb_free(&sb);
			file_ok = false;
		}
		total.passed += cnt.passed;
		total.failed += cnt.failed;
		total.skipped += cnt.skipped;
		total.queries += cnt.queries;
		total.failed_errtext += cnt.failed_errtext;
		total.failed_annos += cnt.failed_annos;
		st.known_failed += st.f_known_failed;
		st.unexpected += st.f_unexpected;
		bad |= !file_ok;
		if (st.tap) {
			fputs(tp_sb_cstr(&st.out), stdout);
			printf("%s %d - %s: %u passed, %u failed", file_ok ? "ok" : "not ok", ++tapno, base_name(path),
			       cnt.passed, cnt.failed);
			if (st.have_list)
				printf(" (%u known, %u unexpected)", st.f_known_failed, st.f_unexpected);
			printf(", %u skipped\n", cnt.skipped);
		} else {
			fputs(tp_sb_cstr(&st.out), stdout);
			if (nfiles > 1)
				printf("%s: %u passed, %u failed, %u skipped\n", path, cnt.passed, cnt.failed, cnt.skipped);
		}
		fflush(stdout);
	}
	const char *pfx = st.tap ? "# " : "";
	if (st.have_list) {
		/* listed cases that passed or were skipped: the list can shrink */
		unsigned stale = 0;
		for (size_t k = 0; k < st.nknown; k++) {
			known_case *kc = &st.known[k];
			if (kc->passed && !kc->failed) {
				if (!stale++)
					printf("%sknown failures that no longer fail (remove them from the list):\n", pfx);
				printf("%s  %s:%d %s\n", pfx, kc->file, kc->line, kc->reason);
			}
		}
		unsigned nowhere = 0;
		for (size_t k = 0; k < st.nknown; k++) {
			known_case *kc = &st.known[k];
			if (kc->file_run && kc->line > 0 && !kc->passed && !kc->failed) {
				if (!nowhere++)
					printf("%sknown-failures entries that name no eval command (remove or fix them):\n", pfx);
				printf("%s  %s:%d %s\n", pfx, kc->file, kc->line, kc->reason);
			}
		}
		printf("%s%u failed on the known-failures list, %u failed NOT on it, %u listed cases now pass\n", pfx,
		       st.known_failed, st.unexpected, stale + nowhere);
	}
	if (total.failed_errtext || total.failed_annos)
		printf("%sof the failed: %u got an error whose text differs from the expected one, %u failed an annotation check\n", pfx,
		       total.failed_errtext, total.failed_annos);
	if (st.verbose)
		printf("%s%lu queries run (the implicit re-runs of FORMAT.md section 9 included)\n", pfx, total.queries);
	printf("%s%u passed, %u failed, %u skipped\n", pfx, total.passed, total.failed, total.skipped);
	for (size_t k = 0; k < st.nknown; k++) {
		free(st.known[k].file);
		free(st.known[k].reason);
	}
	free(st.known);
	tp_sb_free(&st.out);
	if (st.failures_out)
		fclose(st.failures_out);
	if (st.tap)
		return 0; /* the TAP lines carry the verdict; a status would add an ERROR */
	if (bad)
		return 1;
	return (!st.have_list && total.failed) ? 1 : 0;
}
