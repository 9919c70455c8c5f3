/* SPDX-License-Identifier: Apache-2.0
 * driver.c - for run.py: apply each job's relabel_configs to its static targets the way
 * PopulateLabels does and print the final label sets (or DROP). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "config/config.h"
#include "lib/labels.h"
#include "lib/strbuf.h"
int main(int argc, char **argv)
{
	config c; tp_strbuf err = {0};
	if (config_load_file(argv[1], &c, &err)) { fprintf(stderr, "%s\n", tp_sb_cstr(&err)); return 1; }
	tp_arena a; tp_arena_init(&a);
	for (size_t j = 0; j < c.scrape_configs.n; j++) {
		config_scrape *s = c.scrape_configs.v[j];
		for (size_t g = 0; g < s->static_configs.n; g++) {
			config_static *st = s->static_configs.v[g];
			for (size_t t = 0; t < st->targets.n; t++) {
				tp_labels_builder lb; tp_lb_init(&lb, &a, NULL);
				for (size_t k = 0; k < st->labels.n; k++) tp_lb_set(&lb, st->labels.v[k].name, st->labels.v[k].value);
				tp_lb_set(&lb, "__address__", st->targets.v[t]);
				tp_lb_set(&lb, "job", s->job_name);
				tp_lb_set(&lb, "__scheme__", s->scheme);
				tp_lb_set(&lb, "__metrics_path__", s->metrics_path);
				tp_lb_set(&lb, "__scrape_interval__", "1h");
				tp_lb_set(&lb, "__scrape_timeout__", "10s");
				tp_labels in = tp_lb_labels(&lb), out;
				printf("%s %s ", s->job_name, st->targets.v[t]);
				if (!relabel_process(s->relabel_configs.v, s->relabel_configs.n, &a, &in, &out)) { printf("DROP\n"); continue; }
				tp_labels_builder ob; tp_lb_init(&ob, &a, &out);
				const char *addr = tp_labels_get(&out, "__address__");
				if (!addr) { printf("NOADDR\n"); continue; }
				if (!tp_labels_get(&out, "instance")) tp_lb_set(&ob, "instance", addr);
				tp_labels o2 = tp_lb_labels(&ob);
				printf("{");
				int first = 1;
				for (uint32_t k = 0; k < o2.n; k++) {
					if (!strncmp(o2.v[k].name, "__", 2)) continue;
					printf("%s%s=%s", first ? "" : ",", o2.v[k].name, o2.v[k].value); first = 0;
				}
				printf("}\n");
			}
		}
	}
	return 0;
}
