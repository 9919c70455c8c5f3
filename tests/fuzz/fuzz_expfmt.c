/* SPDX-License-Identifier: Apache-2.0
 * fuzz_expfmt.c - libFuzzer target for the exposition parsers; built twice,
 * with FUZZ_FORMAT set to the text or the OpenMetrics format.
 * Invariants checked: the parser terminates, never reads outside the input
 * (the input is copied to an exact-size heap block so ASan sees overreads),
 * every series span lies inside the input, labels materialise with a
 * metric name, and an error always carries a message and a line >= 1. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/labels.h"
#include "scrape/expfmt.h"
#include "scrape/metadata.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT SCRAPE_FORMAT_TEXT
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	scrape_parser p;
	scrape_parser_init(&p, FUZZ_FORMAT, buf, size);
	scrape_metadata *md = scrape_metadata_new();
	tp_arena ar;
	tp_arena_init(&ar);
	scrape_entry e;
	size_t guard = 0;
	while ((e = scrape_parser_next(&p)) > SCRAPE_ENTRY_EOF) {
		if (++guard > size + 2)
			abort(); /* every entry consumes input */
		scrape_metadata_observe(md, &p, e);
		if (e == SCRAPE_ENTRY_SERIES) {
			const char *s;
			size_t n;
			double v;
			bool has_ts;
			int64_t ts;
			scrape_parser_series(&p, &s, &n, &v, &has_ts, &ts);
			if (s < buf || s + n > buf + size)
				abort();
			tp_labels l = scrape_parser_labels_arena(&p, &ar);
			if (!tp_labels_get(&l, TP_METRIC_NAME) && l.n != 0 && p.offs[1] != p.offs[0])
				abort();
			scrape_exemplar ex;
			if (scrape_parser_exemplar(&p, &ar, &ex))
				(void)scrape_parser_exemplar_runes(&p);
			tp_arena_reset(&ar);
		} else if (e == SCRAPE_ENTRY_HELP) {
			const char *nm, *t;
			size_t nl, tl;
			scrape_parser_help(&p, &nm, &nl, &t, &tl);
		} else if (e == SCRAPE_ENTRY_COMMENT) {
			const char *t;
			size_t tl;
			scrape_parser_comment(&p, &t, &tl);
		}
	}
	if (e == SCRAPE_ENTRY_INVALID && (p.err_msg[0] == '\0' || p.err_line < 1))
		abort();
	tp_arena_free(&ar);
	scrape_metadata_free(md);
	scrape_parser_free(&p);
	free(buf);
	return 0;
}
