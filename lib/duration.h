/* SPDX-License-Identifier: Apache-2.0
 * duration.h - Prometheus durations and timestamps.
 * Durations follow model.ParseDuration: an ordered sequence of units
 * y(365d) w d h m s ms, each at most once, e.g. "1h30m", "90s", "500ms";
 * "0" alone is zero. Timestamps are int64 milliseconds since the epoch. */
#ifndef LIB_DURATION_H
#define LIB_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parses s[0..n) into *ms. Returns 0, or -1 when invalid (empty, unknown
 * unit, units out of order or repeated, overflow). */
int tp_duration_parse(const char *s, size_t n, int64_t *ms);
/* Formats as model.Duration.String(): "0s", "1m30s", "1d", "1w", "1y",
 * "500ms". buf needs 48 bytes. Returns the length. Negative durations get
 * a leading '-'. */
size_t tp_duration_format(char *buf, int64_t ms);

/* Parses an API time: a Unix timestamp in seconds with an optional
 * fraction ("1700000000.123"), or RFC 3339 ("2023-11-14T22:13:20.5Z",
 * "...+01:00"). Returns 0 or -1. Sub-millisecond parts are rounded as
 * Prometheus does (to the nearest millisecond). */
int tp_time_parse(const char *s, int64_t *ms);
/* Formats ms as RFC 3339 with millisecond precision in UTC, the shape of
 * Prometheus's JSON timestamps ("2023-11-14T22:13:20.123Z"; fraction
 * omitted when zero). buf needs 40 bytes. */
size_t tp_time_format_rfc3339(char *buf, int64_t ms);

#endif
