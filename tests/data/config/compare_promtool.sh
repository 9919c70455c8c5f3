#!/bin/sh
# compare_promtool.sh - runs `promtool check config` (Prometheus 2.42) and
# `tinyprom check config` on every fixture here and shows the differences
# in combined output and exit status. Not part of `make check` (it needs
# promtool): run as tests/data/config/compare_promtool.sh [TINYPROM].
# Fixtures are checked from their own directory so relative paths resolve.
here=$(cd "$(dirname "$0")" && pwd)
tp=${1:-$here/../../../tinyprom}
tp=$(cd "$(dirname "$tp")" && pwd)/$(basename "$tp")
same=0; diff=0
for dir in good bad; do
	cd "$here/$dir" || exit 2
	for f in *.yml; do
		a=$(promtool check config "$f" 2>&1; echo "rc=$?")
		b=$("$tp" check config "$f" 2>&1; echo "rc=$?")
		if [ "$a" = "$b" ]; then
			same=$((same + 1))
		else
			diff=$((diff + 1))
			echo "=== $dir/$f"
			printf '%s\n' "$a" > /tmp/promtool.$$; printf '%s\n' "$b" > /tmp/tinyprom.$$
			diff -u /tmp/promtool.$$ /tmp/tinyprom.$$ | tail -n +3
		fi
	done
done
rm -f /tmp/promtool.$$ /tmp/tinyprom.$$
echo "same: $same, different: $diff"
