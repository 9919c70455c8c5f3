#!/usr/bin/env bash
# restart-bench.sh - the restart benchmark (issue 7): WAL replay time and
# WAL bytes on disk per sample, median of RUNS (default 3) runs of
# bench/wal-bench for each load:
#   real-1s     the real dataset, every sample (1 s scrapes)
#   real-15s    the real dataset, every 15th sample (15 s scrape shape)
#   synth-1M    1,000,000 synthetic series x 4 samples
# Prints one line per load with the medians, then the raw JSON lines.
# Usage: bench/restart-bench.sh [BUILDDIR]   (run `make` first)
set -eu
B=${1:-$(cd "$(dirname "$0")/.." && pwd)}
RUNS=${RUNS:-3}
WB="$B/bench/wal-bench"
[ -x "$WB" ] || { echo "build $WB first (make)" >&2; exit 1; }
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
bench() {
	local name=$1; shift
	for _ in $(seq "$RUNS"); do
		echo "$name $("$WB" "$@")" >> "$raw"
	done
	grep "^$name " "$raw" | sed "s/^$name //" | python3 -c "
import json, statistics as st, sys
rs = [json.loads(l) for l in sys.stdin]
m = lambda k: st.median(r[k] for r in rs)
r = rs[0]
assert all(x['mismatches'] == 0 and x['samples_restored'] == x['samples'] for x in rs), rs
print('%-9s series=%d samples=%d wal_bytes=%d bytes/sample=%.3f append=%.2fM/s replay=%.3fs (%.2fM samples/s) decode_only=%.3fs [median of %d: $*]' % (
    '$name', r['series'], r['samples'], m('wal_bytes'), m('wal_bytes_per_sample'),
    m('append_samples_per_sec') / 1e6, m('replay_s'), m('replay_samples_per_sec') / 1e6,
    m('decode_only_s'), len(rs)))"
}
bench real-1s --every 1
bench real-15s --every 15
bench synth-1M --synthetic 1000000 --per 4
echo "# raw runs"
cat "$raw"
