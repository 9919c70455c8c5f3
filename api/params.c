/* SPDX-License-Identifier: Apache-2.0
 * params.c - form/query parameter set (see params.h).
 * Invariants: parsing validates the whole input before adding anything. */
#include "config.h"
#include "api/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"

void api_params_add(api_params *p, const char *key, size_t kn, const char *value, size_t vn)
{
	TP_GROW(p->v, p->cap, p->n + 1);
	p->v[p->n].key = tp_xstrndup(key, kn);
	p->v[p->n].value = tp_xstrndup(value ? value : "", value ? vn : 0);
	p->n++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long api_url_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return (long)o;
}

int api_params_parse_form(api_params *p, const char *s, size_t n, char *err, size_t errlen)
{
	/* pass 1 validates, pass 2 adds */
	for (int pass = 0; pass < 2; pass++) {
		size_t i = 0;
		while (i < n) {
			size_t j = i;
			while (j < n && s[j] != '&')
				j++;
			/* Go also splits at ';' historically; modern Go rejects it. We
			 * treat ';' as an ordinary byte. */
			if (j > i) {
				const char *eq = memchr(s + i, '=', j - i);
				size_t kn = eq ? (size_t)(eq - (s + i)) : j - i;
				const char *v = eq ? eq + 1 : s + j;
				size_t vn = eq ? (size_t)(s + j - v) : 0;
				char *kb = tp_xmalloc(kn + 1), *vb = tp_xmalloc(vn + 1);
				long kl = api_url_decode(s + i, kn, kb);
				long vl = api_url_decode(v, vn, vb);
				if (kl < 0 || vl < 0) {
					const char *bad = kl < 0 ? s + i : v;
					size_t bn = kl < 0 ? kn : vn;
					const char *pct = NULL;
					for (size_t k = 0; k < bn; k++) {
						if (bad[k] != '%')
							continue;
						if (k + 2 >= bn || hexval(bad[k + 1]) < 0 || hexval(bad[k + 2]) < 0) {
							pct = bad + k;
							break;
						}
						k += 2;
					}
					if (!pct)
						pct = bad;
					size_t avail = (size_t)(bad + bn - pct);
					snprintf(err, errlen, "invalid URL escape \"%.*s\"", (int)TP_MIN(avail, 3),
						 pct);
					free(kb);
					free(vb);
					return -1;
				}
				if (pass == 1)
					api_params_add(p, kb, (size_t)kl, vb, (size_t)vl);
				free(kb);
				free(vb);
			}
			i = j + 1;
		}
	}
	return 0;
}

const char *api_params_get(const api_params *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].key, key) == 0)
			return p->v[i].value;
	return NULL;
}

size_t api_params_get_all(const api_params *p, const char *key, const char **out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].key, key) == 0) {
			if (k < max)
				out[k] = p->v[i].value;
			k++;
		}
	return TP_MIN(k, max);
}

size_t api_params_count(const api_params *p, const char *key)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].key, key) == 0)
			k++;
	return k;
}

void api_params_free(api_params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].value);
	}
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}
