/* SPDX-License-Identifier: Apache-2.0
 * killpoint.h - fault injection for the process-level crash tests: when
 * the environment variable TINYPROM_TEST_KILL_AT is "name" or "name:N",
 * the process kills itself with SIGKILL the first (or N-th) time it
 * reaches the point called name, so a test can crash tinyprom at an exact
 * step of a checkpoint or a chunk write and check that nothing
 * acknowledged is lost. Points:
 *   chunk-write         half of a chunk record written into a chunk file
 *   checkpoint-tmp      a WAL checkpoint written, not yet renamed
 *   checkpoint-renamed  renamed, the segments it covers not yet deleted
 * Invariant: when the variable is unset a point costs two loads. */
#ifndef TSDB_KILLPOINT_H
#define TSDB_KILLPOINT_H

#include "lib/common.h"

void tsdb_kill_point(const char *name) TP_INTERNAL;
/* Arms a point as the variable would ("name" or "name:N"; NULL or ""
 * disarms): for unit tests, in a forked child. */
void tsdb_kill_point_arm(const char *spec) TP_INTERNAL;

#endif
