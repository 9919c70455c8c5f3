#!/usr/bin/env bash
# restart-bench.sh - the restart benchmark (issue 7): WAL replay time and
# WAL bytes on disk per sample, median of RUNS (default 3) runs of
# bench/wal-bench for each load:
#   real-1s     the real dataset, every sample (1 s scrapes)
#   real-15s    the real dataset, every 15th sample (15 s scrape shape)
#   synth-1M    1,000,000 synthetic series x 4 samples
# and the whole restart of the real tinyprom binary on the real-1s WAL:
# start to /-/ready, and the replay duration tinyprom logs.
# Prints one line per load with the medians, then the raw JSON lines.
# Usage: bench/restart-bench.sh [BUILDDIR]   (run `make` first)
set -eu
B=${1:-$(cd "$(dirname "$0")/.." && pwd)}
RUNS=${RUNS:-3}
WB="$B/bench/wal-bench"
[ -x "$WB" ] || { echo "build $WB first (make)" >&2; exit 1; }
raw=$(mktemp)
tp_pid= keep=
trap '[ -n "$tp_pid" ] && kill "$tp_pid" 2>/dev/null; rm -rf "$raw" "$keep" "$raw.yml"' EXIT
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

# the real binary restarting on the real-1s WAL (retention wide enough to keep the dataset)
keep=$("$WB" --every 1 --keep | python3 -c 'import json,sys; print(json.load(sys.stdin)["dir"])')
: > "$raw.yml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
for i in $(seq "$RUNS"); do
	t0=$(date +%s.%N)
	"$B/tinyprom" --config.file="$raw.yml" --web.listen-address=127.0.0.1:$port \
		--storage.tsdb.path="$keep" --storage.tsdb.retention.time=10y > "$raw.log.$i" 2>&1 &
	tp_pid=$!
	until curl -fsS -o /dev/null "http://127.0.0.1:$port/-/ready" 2>/dev/null; do sleep 0.01; done
	t1=$(date +%s.%N)
	kill -TERM "$tp_pid"; wait "$tp_pid" || true; tp_pid=
	echo "tinyprom $(python3 -c "print('%.3f' % ($t1 - $t0))") $(sed -n 's/.*msg="WAL replay completed" \(.*\)/\1/p' "$raw.log.$i")" >> "$raw"
	rm -f "$raw.log.$i"
done
grep '^tinyprom ' "$raw" | python3 -c "
import statistics as st, sys, re
rs = [l.split() for l in sys.stdin]
ready = st.median(float(r[1]) for r in rs)
rep = st.median(float(re.search(r'duration=([0-9.]+)s', ' '.join(r)).group(1)) for r in rs)
print('%-9s start to /-/ready %.3fs, logged replay %.3fs (%s) [median of %d]' % ('tinyprom', ready, rep, ' '.join(rs[0][2:4]), len(rs)))"
echo "# raw runs"
cat "$raw"
