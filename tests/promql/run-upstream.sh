#!/bin/sh
# run-upstream.sh - make check: Prometheus's own promqltest files
# ($srcdir/../shared/promqltest/upstream, when present) against
# tests/promql/known-failures.txt. A failure off the list fails the file;
# listed cases that now pass are named in the log so the list can shrink.
srcdir=${TP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${TP_BUILDDIR:-$srcdir}
up="$srcdir/../shared/promqltest/upstream"
if [ ! -d "$up" ]; then
	echo "1..0 # SKIP $up not found"
	exit 0
fi
exec "$builddir/tinyprom" promqltest --tap \
	--known-failures "$srcdir/tests/promql/known-failures.txt" "$up"/*.test
