/* SPDX-License-Identifier: Apache-2.0
 * flags.h - command-line flags in the style of Prometheus (kingpin):
 * long flags only, `--name=value` or `--name value`; boolean flags as
 * `--name`, `--no-name` or `--name=true|false`; repeatable list flags whose
 * values may also be comma-separated (`--enable-feature=a,b`).
 *
 * A caller describes its flags in a tp_flag table pointing at its own
 * variables; tp_flags_parse fills them from argv after applying defaults.
 * Invariants: every flag's text is always set (default or given), so the
 * table doubles as the `name -> value` map of /api/v1/status/flags;
 * errors are one line of text, with no "tinyprom: error:" prefix and no
 * newline, for the caller to print. Nothing here prints or exits. */
#ifndef LIB_FLAGS_H
#define LIB_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"

typedef enum tp_flag_type {
	TP_FLAG_STRING,    /* char ** (points into the flag's text) */
	TP_FLAG_BOOL,      /* bool * */
	TP_FLAG_DURATION,  /* int64_t * milliseconds; Prometheus duration ("15d", "2m") */
	TP_FLAG_BYTES,     /* int64_t * bytes; "0", "512MB", "1GB", "100KiB" (base 2, as kingpin) */
	TP_FLAG_INT,       /* int64_t * */
	TP_FLAG_ENUM,      /* char ** ; the value must be one of choices */
	TP_FLAG_LIST,      /* tp_flag_list * ; repeatable, comma-separated */
} tp_flag_type;

typedef struct tp_flag_list {
	char **v;   /* owned strings */
	size_t n;
} tp_flag_list;

typedef struct tp_flag {
	const char *name;               /* without the leading "--" */
	tp_flag_type type;
	const char *def;                /* default as text; NULL means "" / false / empty */
	const char *help;
	const char *placeholder;        /* shown in --help, e.g. "<path>"; may be NULL */
	const char *const *choices;     /* TP_FLAG_ENUM: NULL-terminated */
	int64_t min;                    /* TP_FLAG_INT: smallest accepted value */
	void *dst;                      /* where the parsed value goes (see types) */
	char *text;                     /* owned: the current value as text */
	bool set;                       /* given on the command line */
} tp_flag;

/* Results of tp_flags_parse. */
#define TP_FLAGS_OK 0
#define TP_FLAGS_ERROR (-1)    /* err holds the message */
#define TP_FLAGS_HELP 1        /* -h / --help was given */
#define TP_FLAGS_VERSION 2     /* --version was given */

/* Applies defaults, then parses argv[1..argc). Returns one of the codes
 * above. argv[0] is the program name and is skipped. Defaults must be
 * valid (a bad default is reported like a bad value). */
int tp_flags_parse(tp_flag *flags, size_t n, int argc, char **argv, char *err, size_t errlen);
/* Frees the texts and list values (not the table). */
void tp_flags_free(tp_flag *flags, size_t n);
/* kingpin-like help: usage line, description and one entry per flag. */
void tp_flags_usage(const tp_flag *flags, size_t n, const char *prog, const char *desc, tp_strbuf *sb);

/* Byte sizes as kingpin's units.Base2Bytes: an integer followed by B, KB,
 * MB, GB, TB, PB, EB (or KiB, MiB, ...), all base 2; a bare "0" is zero.
 * Returns 0, or -1 when invalid or overflowing. */
int tp_bytes_parse(const char *s, int64_t *out);

#endif
