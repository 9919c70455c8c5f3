/* SPDX-License-Identifier: Apache-2.0
 * killpoint.c - TINYPROM_TEST_KILL_AT fault injection (see killpoint.h). */
#include "config.h"
#include "tsdb/killpoint.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char point[64];     /* "" when unset */
static long countdown;     /* hits left before the kill */
static atomic_bool armed;

static void arm(const char *s)
{
	atomic_store(&armed, false);
	if (!s || !*s)
		return;
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (n == 0 || n >= sizeof(point))
		return;
	memcpy(point, s, n);
	point[n] = '\0';
	countdown = colon ? strtol(colon + 1, NULL, 10) : 1;
	if (countdown < 1)
		countdown = 1;
	atomic_store(&armed, true);
}

static void load(void)
{
	arm(getenv("TINYPROM_TEST_KILL_AT"));
}

void tsdb_kill_point_arm(const char *spec)
{
	pthread_once(&once, load);
	arm(spec);
}

void tsdb_kill_point(const char *name)
{
	pthread_once(&once, load);
	if (!atomic_load_explicit(&armed, memory_order_relaxed) || strcmp(name, point) != 0)
		return;
	if (__atomic_sub_fetch(&countdown, 1, __ATOMIC_ACQ_REL) == 0)
		kill(getpid(), SIGKILL);
}
