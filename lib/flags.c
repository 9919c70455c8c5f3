/* SPDX-License-Identifier: Apache-2.0
 * flags.c - kingpin-style long-flag parsing (see flags.h).
 * Invariants: parsing is two-phase per flag - the text is validated and
 * converted first, and only then stored in dst and flag->text - so a
 * failed parse never leaves a half-written value. */
#include "config.h"
#include "lib/flags.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/duration.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...) TP_PRINTF(3, 4);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int tp_bytes_parse(const char *s, int64_t *out)
{
	static const struct { const char *unit; int shift; } units[] = {
		{ "B", 0 },   { "KB", 10 }, { "MB", 20 }, { "GB", 30 },  { "TB", 40 },  { "PB", 50 },
		{ "EB", 60 }, { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 }, { "PiB", 50 },
		{ "EiB", 60 },
	};
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	uint64_t v = 0;
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	for (size_t i = 0; i < TP_ARRAY_LEN(units); i++) {
		if (strcmp(p, units[i].unit) == 0) {
			int sh = units[i].shift;
			if (sh && v > ((uint64_t)INT64_MAX >> sh))
				return -1;
			if (v << sh > (uint64_t)INT64_MAX)
				return -1;
			*out = (int64_t)(v << sh);
			return 0;
		}
	}
	return -1;
}

static tp_flag *find(tp_flag *flags, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(flags[i].name) == len && memcmp(flags[i].name, name, len) == 0)
			return &flags[i];
	return NULL;
}

static int parse_bool(const char *s, bool *out)
{
	/* strconv.ParseBool's accepted spellings */
	static const char *const t[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const f[] = { "0", "f", "F", "false", "FALSE", "False" };
	for (size_t i = 0; i < TP_ARRAY_LEN(t); i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static void list_add(tp_flag_list *l, const char *s)
{
	/* comma-separated, empty pieces dropped */
	while (*s) {
		const char *c = strchr(s, ',');
		size_t len = c ? (size_t)(c - s) : strlen(s);
		if (len) {
			l->v = tp_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
			l->v[l->n++] = tp_xstrndup(s, len);
		}
		if (!c)
			break;
		s = c + 1;
	}
}

static void set_text(tp_flag *f, const char *s)
{
	free(f->text);
	f->text = tp_xstrdup(s);
}

/* Converts and stores one value; on failure writes the reason. */
static int apply(tp_flag *f, const char *v, char *err, size_t errlen)
{
	switch (f->type) {
	case TP_FLAG_STRING:
		set_text(f, v);
		*(char **)f->dst = f->text;
		return 0;
	case TP_FLAG_ENUM:
		for (const char *const *c = f->choices; c && *c; c++) {
			if (strcmp(*c, v) == 0) {
				set_text(f, v);
				*(char **)f->dst = f->text;
				return 0;
			}
		}
		{
			tp_strbuf sb = { 0 };
			for (const char *const *c = f->choices; c && *c; c++)
				tp_sb_printf(&sb, "%s%s", c == f->choices ? "" : ", ", *c);
			set_err(err, errlen, "invalid value \"%s\" for flag --%s: expected one of %s", v,
				f->name, tp_sb_cstr(&sb));
			tp_sb_free(&sb);
		}
		return -1;
	case TP_FLAG_BOOL: {
		bool b;
		if (parse_bool(v, &b) != 0) {
			set_err(err, errlen, "invalid value \"%s\" for flag --%s: expected true or false", v,
				f->name);
			return -1;
		}
		*(bool *)f->dst = b;
		set_text(f, b ? "true" : "false");
		return 0;
	}
	case TP_FLAG_DURATION: {
		int64_t ms;
		if (tp_duration_parse(v, strlen(v), &ms) != 0) {
			set_err(err, errlen,
				"invalid value \"%s\" for flag --%s: not a valid duration string: \"%s\"", v,
				f->name, v);
			return -1;
		}
		/* keep the text as given: tp_duration_format spells 15d as
		 * "2w1d" where model.Duration.String() says "15d" */
		*(int64_t *)f->dst = ms;
		set_text(f, v);
		return 0;
	}
	case TP_FLAG_BYTES: {
		int64_t b;
		if (tp_bytes_parse(v, &b) != 0) {
			set_err(err, errlen,
				"invalid value \"%s\" for flag --%s: expected a byte size such as 0, 512MB, 1GB",
				v, f->name);
			return -1;
		}
		*(int64_t *)f->dst = b;
		set_text(f, v);
		return 0;
	}
	case TP_FLAG_INT: {
		char *end;
		errno = 0;
		long long x = strtoll(v, &end, 10);
		if (!*v || *end || errno == ERANGE) {
			set_err(err, errlen, "invalid value \"%s\" for flag --%s: expected an integer", v,
				f->name);
			return -1;
		}
		if (x < f->min) {
			set_err(err, errlen, "invalid value \"%s\" for flag --%s: must be at least %" PRId64, v,
				f->name, f->min);
			return -1;
		}
		*(int64_t *)f->dst = x;
		set_text(f, v);
		return 0;
	}
	case TP_FLAG_LIST: {
		tp_flag_list *l = f->dst;
		list_add(l, v);
		/* text: all values joined with commas */
		tp_strbuf sb = { 0 };
		for (size_t i = 0; i < l->n; i++)
			tp_sb_printf(&sb, "%s%s", i ? "," : "", l->v[i]);
		free(f->text);
		f->text = tp_xstrdup(tp_sb_cstr(&sb));
		tp_sb_free(&sb);
		return 0;
	}
	}
	return -1;
}

static int apply_defaults(tp_flag *flags, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		tp_flag *f = &flags[i];
		f->set = false;
		if (f->type == TP_FLAG_LIST) {
			tp_flag_list *l = f->dst;
			l->v = NULL;
			l->n = 0;
			set_text(f, "");
			if (f->def && apply(f, f->def, err, errlen) != 0)
				return -1;
			continue;
		}
		const char *d = f->def;
		if (!d)
			d = f->type == TP_FLAG_BOOL ? "false" : (f->type == TP_FLAG_STRING ? "" : "0");
		if (apply(f, d, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int tp_flags_parse(tp_flag *flags, size_t n, int argc, char **argv, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (apply_defaults(flags, n, err, errlen) != 0)
		return TP_FLAGS_ERROR;
	int want = TP_FLAGS_OK;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			want = TP_FLAGS_HELP;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			if (want == TP_FLAGS_OK)
				want = TP_FLAGS_VERSION;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (a[0] == '-' && a[1] && a[1] != '-')
				set_err(err, errlen, "unknown short flag '%.2s', try --help", a);
			else
				set_err(err, errlen, "unexpected argument '%s', try --help", a);
			return TP_FLAGS_ERROR;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		tp_flag *f = find(flags, n, name, len);
		bool negated = false;
		if (!f && len > 3 && strncmp(name, "no-", 3) == 0) {
			tp_flag *g = find(flags, n, name + 3, len - 3);
			if (g && g->type == TP_FLAG_BOOL && !eq) {
				f = g;
				negated = true;
			}
		}
		if (!f) {
			set_err(err, errlen, "unknown long flag '--%.*s', try --help", (int)len, name);
			return TP_FLAGS_ERROR;
		}
		const char *v;
		if (f->type == TP_FLAG_BOOL && !eq) {
			v = negated ? "false" : "true";
		} else if (eq) {
			v = eq + 1;
		} else {
			if (i + 1 >= argc) {
				set_err(err, errlen, "expected argument for flag '--%s'", f->name);
				return TP_FLAGS_ERROR;
			}
			v = argv[++i];
		}
		if (apply(f, v, err, errlen) != 0)
			return TP_FLAGS_ERROR;
		f->set = true;
	}
	return want;
}

void tp_flags_free(tp_flag *flags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		tp_flag *f = &flags[i];
		if (f->type == TP_FLAG_LIST && f->dst) {
			tp_flag_list *l = f->dst;
			for (size_t j = 0; j < l->n; j++)
				free(l->v[j]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
		}
		if (f->type == TP_FLAG_STRING || f->type == TP_FLAG_ENUM)
			*(char **)f->dst = NULL;
		free(f->text);
		f->text = NULL;
	}
}

void tp_flags_usage(const tp_flag *flags, size_t n, const char *prog, const char *desc, tp_strbuf *sb)
{
	tp_sb_printf(sb, "usage: %s [<flags>]\n\n", prog);
	if (desc)
		tp_sb_printf(sb, "%s\n\n", desc);
	tp_sb_puts(sb, "Flags:\n");
	tp_sb_puts(sb, "  -h, --help                     Show context-sensitive help.\n");
	tp_sb_puts(sb, "      --version                  Show application version.\n");
	for (size_t i = 0; i < n; i++) {
		const tp_flag *f = &flags[i];
		tp_strbuf left = { 0 };
		if (f->type == TP_FLAG_BOOL)
			tp_sb_printf(&left, "--[no-]%s", f->name);
		else if (f->def && *f->def)
			tp_sb_printf(&left, "--%s=\"%s\"", f->name, f->def);
		else
			tp_sb_printf(&left, "--%s=%s", f->name, f->placeholder ? f->placeholder : "<value>");
		if (left.len <= 30)
			tp_sb_printf(sb, "      %-31s%s", tp_sb_cstr(&left), f->help ? f->help : "");
		else
			tp_sb_printf(sb, "      %s\n%37s%s", tp_sb_cstr(&left), "", f->help ? f->help : "");
		if (f->type == TP_FLAG_ENUM && f->choices) {
			tp_sb_puts(sb, " One of: [");
			for (const char *const *c = f->choices; *c; c++)
				tp_sb_printf(sb, "%s%s", c == f->choices ? "" : ", ", *c);
			tp_sb_puts(sb, "]");
		}
		tp_sb_putc(sb, '\n');
		tp_sb_free(&left);
	}
}
