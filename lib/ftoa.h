/* SPDX-License-Identifier: Apache-2.0
 * ftoa.h - the shortest decimal digits that read back as a given double,
 * the closest such when there are several (what Go's strconv 'g' -1 and
 * Prometheus print), without printf/strtod round trips. */
#ifndef LIB_FTOA_H
#define LIB_FTOA_H

/* For a finite v > 0: writes the digits (no leading or trailing zeros, at
 * most 17, not NUL-terminated) to digits and returns their count n; then
 * v reads back from 0.d1..dn * 10^(*exp10 + 1), i.e. d1.d2..dn x 10^exp10. */
int tp_ftoa_shortest(double v, char *digits, int *exp10);

#endif
