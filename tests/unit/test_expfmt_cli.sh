#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# test_expfmt_cli.sh - `tinyprom check metrics` end to end (TAP): exit
# codes and messages of the real binary, and, when Debian's promtool 2.42
# is installed, a differential run against it on the same inputs
# (stderr and exit code must be identical; inputs where tinyprom knowingly
# differs are not in the list).
TP=${TP_BUILDDIR:-.}/tinyprom
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

check() { # name input want_rc want_stderr
	out=$(printf "$2" | "$TP" check metrics 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = "$3" ] && [ "$out" = "$4" ]; then ok "$1"; else
		notok "$1"; echo "# rc=$rc want $3"; echo "# got:  $out"; echo "# want: $4"; fi
}

echo "1..14"
check "clean exposition exits 0" '# HELP a_total x\n# TYPE a_total counter\na_total 1\n' 0 ""
check "lint problem exits 3" 'x 1\n' 3 "x no help text"
check "parse error exits 1" 'a 1\nb INVALID\n' 1 \
	'error while linting: text format parsing error in line 2: expected float as value, got "INVALID"'
check "histogram without +Inf" '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n' 3 \
	'h histogram has no bucket with le="+Inf"'
printf 'x 1\n' | "$TP" check metrics --bogus >/dev/null 2>&1
if [ $? = 2 ]; then ok "unknown flag is a usage error (2)"; else notok "unknown flag is a usage error (2)"; fi
ext=$(printf '# HELP a x\n# TYPE a gauge\na{b="1"} 1\na{b="2"} 1\n' | "$TP" check metrics --extended)
want=$(printf 'Metric    Cardinality    Percentage    \na         2              100.00%%       \nTotal     2              100%%          ')
if [ "$ext" = "$want" ]; then ok "--extended table"; else notok "--extended table"; echo "# got: $ext"; fi

# Differential run against promtool 2.42 (skipped when absent).
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
if [ -x "$PROMTOOL" ] && "$PROMTOOL" --version 2>&1 | grep -q 'version 2\.42'; then
	i=0
	for input in \
		'# HELP fooBar x\n# TYPE fooBar gauge\nfooBar{someLabel="1"} 1\n' \
		'# HELP a_milliseconds x\n# TYPE a_milliseconds gauge\na_milliseconds 1\n' \
		'# TYPE a gauge\n# TYPE a gauge\na 1\n' \
		'a{b="1",b="2"} 1\n' \
		'a 1 2 3\n' \
		'a{x="\\q"} 1\n' \
		'# HELP a:b_count x\n# TYPE a:b_count counter\na:b_count{le="1"} 1\n' \
		'a 1'; do
		i=$((i + 1))
		printf "$input" > "$$.in"
		"$PROMTOOL" check metrics < "$$.in" > /dev/null 2> "$$.pe"; prc=$?
		"$TP" check metrics < "$$.in" > /dev/null 2> "$$.te"; trc=$?
		if [ "$prc" = "$trc" ] && cmp -s "$$.pe" "$$.te"; then ok "same as promtool: input $i"; else
			notok "same as promtool: input $i"; sed 's/^/# promtool: /' "$$.pe"; sed 's/^/# tinyprom: /' "$$.te"; fi
	done
	rm -f "$$.in" "$$.pe" "$$.te"
else
	for i in 1 2 3 4 5 6 7 8; do ok "same as promtool: input $i # SKIP promtool 2.42 not installed"; done
fi
exit $fail
