/* SPDX-License-Identifier: Apache-2.0
 * params.h - request parameters merged from a form-encoded POST body and
 * the URL query string, as Go's http.Request.Form does (COMPAT.md 1.1).
 *
 * Invariants: body parameters are added before query-string parameters,
 * so api_params_get (the first value) gives a body value precedence for
 * single-valued parameters, while repeated keys such as match[] collect
 * the values of both sources (body first). Keys and values are decoded
 * ('+' is a space, %XX escapes) and owned by the set. */
#ifndef API_PARAMS_H
#define API_PARAMS_H

#include <stddef.h>

typedef struct api_param {
	char *key;
	char *value;
} api_param;

typedef struct api_params {
	api_param *v;
	size_t n, cap;
} api_params;

/* Adds one already-decoded pair (copies both). */
void api_params_add(api_params *p, const char *key, size_t kn, const char *value, size_t vn);
/* Parses application/x-www-form-urlencoded text ("a=1&b=x+y&match%5B%5D=up").
 * Returns 0, or -1 on an invalid %-escape; then err holds Go's text
 * (invalid URL escape "%zz") and nothing was added. */
int api_params_parse_form(api_params *p, const char *s, size_t n, char *err, size_t errlen);
/* First value of key, or NULL when absent. */
const char *api_params_get(const api_params *p, const char *key);
/* All values of key in order: fills up to max pointers, returns the count. */
size_t api_params_get_all(const api_params *p, const char *key, const char **out, size_t max);
size_t api_params_count(const api_params *p, const char *key);
void api_params_free(api_params *p);

/* Decodes %XX and '+' in s[0..n) into out (at least n+1 bytes). Returns
 * the decoded length, or -1 on a bad escape. */
long api_url_decode(const char *s, size_t n, char *out);

#endif
