#!/usr/bin/env bash
# restart-bench.sh - the restart benchmark (issue 7): bytes on disk and
# bytes written per sample, restart time after an orderly stop, and WAL
# replay after kill -9, with bench/wal-bench for each load:
#   real-1s     the real dataset, every sample (1 s scrapes)
#   real-15s    the real dataset, every 15th sample (15 s scrape shape)
#   synth-1M    1,000,000 synthetic series x 4 samples (15 s apart)
#   synth-1M-2h 1,000,000 synthetic series x 480 samples: 2 h at 15 s
# (RUNS runs each, default 3, medians; synth-1M-2h runs once, its restart
# being the median of 3 reopens), and the whole restart of the real
# tinyprom binary on the real-1s data: start to /-/ready, and the replay
# duration tinyprom logs. Prints one line per load, then the raw JSON.
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
	local name=$1 runs=$2; shift 2
	for _ in $(seq "$runs"); do
		echo "$name $("$WB" "$@")" >> "$raw"
	done
	grep "^$name " "$raw" | sed "s/^$name //" | python3 -c "
import json, statistics as st, sys
rs = [json.loads(l) for l in sys.stdin]
m = lambda k: st.median(r[k] for r in rs)
r = rs[0]
assert all(x['mismatches'] == 0 and x['samples_restored'] == x['samples'] for x in rs), rs
line = '%-11s series=%d samples=%d disk=%d B (%.3f B/sample: wal %d, chunks %d) written=%.2f B/sample append=%.2fM/s close=%.3fs restart=%.3fs (cpu %.3fs, %.0fM samples/s)' % (
    '$name', r['series'], r['samples'], m('disk_bytes'), m('disk_bytes_per_sample'), m('wal_bytes'), m('chunk_bytes'),
    m('io_bytes_per_sample'), m('append_samples_per_sec') / 1e6, m('close_s'), m('restart_s'), m('restart_cpu_s'),
    m('restart_samples_per_sec') / 1e6)
if r['crash_replay_s'] > 0:
    line += ' kill-9 replay=%.3fs (cpu %.3fs) of %d WAL samples (%.2fM/s, %d skipped as in chunk files), decode only %.3fs' % (
        m('crash_replay_s'), m('crash_replay_cpu_s'), r['crash_wal_samples'], m('crash_wal_samples_per_sec') / 1e6,
        r['crash_wal_samples_skipped'], m('crash_decode_only_s'))
print(line + ' [median of %d: $*]' % len(rs))"
}
bench real-1s "$RUNS" --every 1 --crash
bench real-15s "$RUNS" --every 15 --crash
bench synth-1M "$RUNS" --synthetic 1000000 --per 4 --crash
bench synth-1M-2h 1 --synthetic 1000000 --per 480 --reopens 3

# real_restart NAME DIR: the real binary restarting RUNS times on DIR
# (retention wide enough to keep the data): exec until it logs that it is
# ready (then /-/ready must answer), and from its log start to ready and
# the open's phases
real_restart() {
	local name=$1 dir=$2
	: > "$raw.yml"
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
	for i in $(seq "$RUNS"); do
		: > "$raw.log.$i"
		t0=$(date +%s.%N)
		"$B/tinyprom" --config.file="$raw.yml" --web.listen-address=127.0.0.1:$port \
			--storage.tsdb.path="$dir" --storage.tsdb.retention.time=10y > "$raw.log.$i" 2>&1 &
		tp_pid=$!
		# the ready line, read as it is written (tail -f sleeps on
		# inotify): polling with curl every 10 ms would take CPU from the
		# open on a 2-core machine
		while IFS= read -r line; do
			[[ $line == *'msg="Server is ready'* ]] && break
		done < <(tail -n +1 -f "$raw.log.$i")
		t1=$(date +%s.%N)
		curl -fsS -o /dev/null "http://127.0.0.1:$port/-/ready" || { echo "not ready after its ready line" >&2; exit 1; }
		kill -TERM "$tp_pid"; wait "$tp_pid" || true; tp_pid=
		# also from the log: first line to "Server is ready" (no process start or curl polling)
		logged=$(python3 - "$raw.log.$i" <<'PY'
import re, sys, datetime
ts = [datetime.datetime.fromisoformat(m.group(1).replace('Z', '+00:00'))
      for l in open(sys.argv[1]) for m in [re.match(r'ts=(\S+) .*msg="(Starting tinyprom|Server is ready)', l)] if m]
print('%.3f' % (ts[1] - ts[0]).total_seconds())
PY
)
		echo "bin-$name $(python3 -c "print('%.3f' % ($t1 - $t0))") $logged $(sed -n 's/.*msg="WAL replay completed" \(.*\)/\1/p' "$raw.log.$i")" >> "$raw"
		rm -f "$raw.log.$i"
	done
	grep "^bin-$name " "$raw" | python3 -c "
import statistics as st, sys, re
rs = [l.split() for l in sys.stdin]
ready = st.median(float(r[1]) for r in rs)
logged = st.median(float(r[2]) for r in rs)
def med(k):
    return st.median(float(re.search(k + r'=([0-9.]+)s', ' '.join(r)).group(1)) for r in rs)
print('%-11s tinyprom exec to its ready line %.3fs; in the log, start to ready %.3fs, open %.3fs (main thread cpu %.3fs, helper cpu %.3fs) [%s; median of %d]' % (
    '$name', ready, logged, med('duration'), med('main_cpu'), med('helper_cpu'), ' '.join(rs[0][3:7]), len(rs)))"
}

keep=$("$WB" --every 1 --keep --reopens 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["dir"])')
real_restart real-1s "$keep"
rm -rf "$keep"
keep=$("$WB" --synthetic 1000000 --per 480 --keep --reopens 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["dir"])')
real_restart synth-1M-2h "$keep"
echo "# raw runs"
cat "$raw"
