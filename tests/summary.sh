#!/bin/sh
# summary.sh LOG... - adds up automake test-suite logs into one line
# "N passed, N failed" (TAP: per test case). XFAIL counts as passed,
# ERROR and XPASS as failed.
pass=0; fail=0; skip=0
for log in "$@"; do
	[ -f "$log" ] || continue
	p=$(sed -n 's/^# PASS: *//p' "$log" | head -1); x=$(sed -n 's/^# XFAIL: *//p' "$log" | head -1)
	f=$(sed -n 's/^# FAIL: *//p' "$log" | head -1); e=$(sed -n 's/^# ERROR: *//p' "$log" | head -1)
	xp=$(sed -n 's/^# XPASS: *//p' "$log" | head -1); s=$(sed -n 's/^# SKIP: *//p' "$log" | head -1)
	pass=$((pass + ${p:-0} + ${x:-0})); fail=$((fail + ${f:-0} + ${e:-0} + ${xp:-0})); skip=$((skip + ${s:-0}))
done
if [ "$skip" -gt 0 ]; then echo "$pass passed, $fail failed, $skip skipped"; else echo "$pass passed, $fail failed"; fi
[ "$fail" -eq 0 ]
