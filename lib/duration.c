/* SPDX-License-Identifier: Apache-2.0
 * duration.c - Prometheus duration and timestamp parsing/formatting. */
#include "config.h"
#include "lib/duration.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ORDER DURATION_UNITS: largest first, as model.ParseDuration requires. */
static const struct {
	const char *name;
	int64_t ms;
} units[] = {
	{ "y", 365LL * 24 * 3600 * 1000 },
	{ "w", 7LL * 24 * 3600 * 1000 },
	{ "d", 24LL * 3600 * 1000 },
	{ "h", 3600LL * 1000 },
	{ "m", 60LL * 1000 },
	{ "s", 1000 },
	{ "ms", 1 },
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

int tp_duration_parse(const char *s, size_t n, int64_t *ms)
{
	if (n == 0)
		return -1;
	if (n == 1 && s[0] == '0') {
		*ms = 0;
		return 0;
	}
	size_t i = 0;
	int next_unit = 0;  /* units must appear in order, each at most once */
	int64_t total = 0;
	while (i < n) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		int64_t v = 0;
		while (i < n && isdigit((unsigned char)s[i])) {
			if (v > (INT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (s[i++] - '0');
		}
		size_t us = i;
		while (i < n && isalpha((unsigned char)s[i]))
			i++;
		size_t ul = i - us;
		int u = -1;
		for (int k = next_unit; k < (int)NUNITS; k++) {
			if (strlen(units[k].name) == ul && memcmp(units[k].name, s + us, ul) == 0) {
				u = k;
				break;
			}
		}
		if (u < 0)
			return -1;
		if (v > INT64_MAX / units[u].ms)
			return -1;
		v *= units[u].ms;
		if (total > INT64_MAX - v)
			return -1;
		total += v;
		next_unit = u + 1;
	}
	*ms = total;
	return 0;
}

size_t tp_duration_format(char *buf, int64_t ms)
{
	char *o = buf;
	if (ms == 0)
		return (size_t)sprintf(buf, "0s");
	if (ms < 0) {
		*o++ = '-';
		ms = -ms;
	}
	for (size_t k = 0; k < NUNITS; k++) {
		/* years and weeks only when exact, as model.Duration.String: 15d, not 2w1d */
		if (k < 2 && ms % units[k].ms != 0)
			continue;
		if (ms >= units[k].ms) {
			int64_t q = ms / units[k].ms;
			ms -= q * units[k].ms;
			o += sprintf(o, "%lld%s", (long long)q, units[k].name);
		}
	}
	*o = '\0';
	return (size_t)(o - buf);
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int parse_rfc3339(const char *s, int64_t *ms)
{
	int Y, M, D, h, m, sec;
	const char *p = s;
	if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
	    digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	double frac = 0;
	if (*p == '.') {
		p++;
		double scale = 0.1;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	int64_t off_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
			return -1;
		off_s = sign * (oh * 3600 + om * 60);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
			 .tm_hour = h, .tm_min = m, .tm_sec = sec };
	int64_t t = (int64_t)timegm(&tm) - off_s;
	*ms = t * 1000 + (int64_t)llround(frac * 1000);
	return 0;
}

int tp_time_parse(const char *s, int64_t *ms)
{
	if (!s || !*s)
		return -1;
	char *end;
	double v = strtod(s, &end);
	if (*end == '\0' && !isspace((unsigned char)s[0])) {
		if (isnan(v) || isinf(v))
			return -1;
		/* Prometheus clamps to its min/max time; we reject beyond int64 ms. */
		if (v > 9.2e15 || v < -9.2e15)
			return -1;
		double ip;
		double fp = modf(v, &ip);
		*ms = (int64_t)ip * 1000 + (int64_t)llround(fp * 1000);
		return 0;
	}
	return parse_rfc3339(s, ms);
}

size_t tp_time_format_rfc3339(char *buf, int64_t ms)
{
	int64_t sec = ms / 1000, frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac) {
		n += (size_t)sprintf(buf + n, ".%03lld", (long long)frac);
		while (buf[n - 1] == '0')
			n--;
	}
	buf[n++] = 'Z';
	buf[n] = '\0';
	return n;
}
