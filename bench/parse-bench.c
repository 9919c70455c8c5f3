/* SPDX-License-Identifier: Apache-2.0
 * parse-bench.c - exposition parse throughput: parses one exposition file
 * (default: the node_exporter dataset) N times with the zero-copy parser,
 * materialising nothing, then again materialising labels into an arena
 * reset per scrape, and prints series/s for both.
 * Usage: bench/parse-bench [FILE] [ITERATIONS] */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/common.h"
#include "scrape/expfmt.h"

/* CPU time of this process: less sensitive than wall time to other load. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = tp_xmalloc(cap);
	size_t r;
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			b = tp_xrealloc(b, cap *= 2);
	}
	fclose(f);
	*len = n;
	return b;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "../shared/datasets/expositions/node_exporter-1.5.0.prom";
	long iters = argc > 2 ? atol(argv[2]) : 2000;
	size_t len;
	char *buf = slurp(path, &len);
	if (!buf) {
		fprintf(stderr, "parse-bench: cannot read %s\n", path);
		return 1;
	}
	/* By content, not name: the datasets' *.openmetrics bodies of
	 * node_exporter and Prometheus 2.42 are text format. */
	bool om = (len >= 5 && memcmp(buf + len - 5, "# EOF", 5) == 0) ||
		  (len >= 6 && memcmp(buf + len - 6, "# EOF\n", 6) == 0);
	scrape_format f = om ? SCRAPE_FORMAT_OPENMETRICS : SCRAPE_FORMAT_TEXT;
	scrape_parser p;
	scrape_parser_init(&p, f, buf, len);
	tp_arena ar;
	tp_arena_init(&ar);
	for (int mode = 0; mode < 2; mode++) {
		long series = 0;
		double sum = 0;
		int64_t t0 = tp_mono_ns();
		double c0 = cpu_s();
		for (long it = 0; it < iters; it++) {
			scrape_parser_reset(&p, f, buf, len);
			scrape_entry e;
			while ((e = scrape_parser_next(&p)) > SCRAPE_ENTRY_EOF) {
				if (e != SCRAPE_ENTRY_SERIES)
					continue;
				series++;
				sum += p.value;
				if (mode == 1) {
					tp_labels l = scrape_parser_labels_arena(&p, &ar);
					sum += l.n;
				}
			}
			if (e == SCRAPE_ENTRY_INVALID) {
				fprintf(stderr, "parse-bench: line %u: %s\n", p.err_line, p.err_msg);
				return 1;
			}
			tp_arena_reset(&ar);
		}
		double s = (double)(tp_mono_ns() - t0) / 1e9;
		double c = cpu_s() - c0;
		printf("%s: %ld series in %.3f s wall = %.0f series/s, %.1f MB/s; %.3f s CPU = %.0f series/CPU-s "
		       "(%s, checksum %g)\n",
		       mode ? "parse+labels" : "parse", series, s, (double)series / s,
		       (double)len * (double)iters / s / 1e6, c, (double)series / c, path, sum);
	}
	scrape_parser_free(&p);
	tp_arena_free(&ar);
	free(buf);
	return 0;
}
