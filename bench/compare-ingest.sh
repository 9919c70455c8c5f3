#!/usr/bin/env bash
# compare-ingest.sh - tinyprom and Prometheus 2.42 side by side on the same
# machine and the same data: idle memory, remote-write ingest of the real
# dataset, memory after holding it, and a check that both hold every sample.
#
#   bench/compare-ingest.sh [RUNS] [CONNS]      (defaults: 3 runs, 2 connections)
#
# Each run starts each server fresh (empty storage, the same config with no
# scrape jobs, remote-write receiver on), waits 10 s and reads VmRSS (idle),
# pushes ../shared/datasets/real-1s.prom.gz with bench/rw-push
# (timestamps shifted so the newest is a minute old, 2000 samples per
# request), then reads VmRSS and VmHWM, and the samples it appended
# (prometheus_tsdb_head_samples_appended_total, which must equal the dataset),
# and the server's CPU time (user + system, from /proc/PID/stat just before
# and after the push) divided by the samples pushed: CPU per sample is
# robust on a loaded machine where wall-clock rates are not.
# Prints the median of the runs per figure.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
runs=${1:-3}
conns=${2:-2}
data=${DATA:-$top/../shared/datasets/real-1s.prom.gz}
TINYPROM=${TINYPROM:-$top/tinyprom}
PROM=${PROM:-$(command -v prometheus)}
work=$(mktemp -d /tmp/tp-compare.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
wait_ready() {
	for _ in $(seq 300); do curl -fsS -o /dev/null "$1/-/ready" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

one_run() { # server run -> prints "idle_kb ingest_s samples_per_s rss_kb hwm_kb held cpu_ns_per_sample"
	local which=$1 port dir
	port=$(free_port)
	dir="$work/$which-$2"
	mkdir -p "$dir/data"
	echo 'global: {scrape_interval: 15s}' > "$dir/cfg.yml"
	if [ "$which" = tinyprom ]; then
		"$TINYPROM" --config.file="$dir/cfg.yml" --storage.tsdb.path="$dir/data" \
			--web.listen-address=127.0.0.1:$port --web.enable-remote-write-receiver >"$dir/log" 2>&1 &
	else
		"$PROM" --config.file="$dir/cfg.yml" --storage.tsdb.path="$dir/data" \
			--web.listen-address=127.0.0.1:$port --web.enable-remote-write-receiver >"$dir/log" 2>&1 &
	fi
	pid=$!
	wait_ready "http://127.0.0.1:$port" || { echo "$which did not start" >&2; tail -5 "$dir/log" >&2; exit 1; }
	sleep 10
	local idle out held c0 c1
	idle=$(rss_kb $pid VmRSS)
	c0=$(cpu_ticks $pid)
	out=$("$top/bench/rw-push" "http://127.0.0.1:$port/api/v1/write" --data "$data" --conns "$conns" --shift-to-now)
	c1=$(cpu_ticks $pid)
	local secs rate samples
	samples=$(echo "$out" | sed -E 's/.*samples=([0-9]+).*/\1/')
	secs=$(echo "$out" | sed -E 's/.*seconds=([0-9.]+).*/\1/')
	rate=$(echo "$out" | sed -E 's/.*samples_per_s=([0-9]+).*/\1/')
	held=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '$1 == "prometheus_tsdb_head_samples_appended_total" || $1 ~ /^prometheus_tsdb_head_samples_appended_total[{]type="float"/ { s += $2 } END { printf "%d", s }')
	echo "$idle $secs $rate $(rss_kb $pid VmRSS) $(rss_kb $pid VmHWM) $held" \
		"$(awk -v c=$((c1 - c0)) -v hz=$hz -v n=$samples 'BEGIN { printf "%.1f", c / hz * 1e9 / n }')"
	kill $pid; wait $pid 2>/dev/null || true; pid=
}

servers=${SERVERS:-tinyprom prometheus}
for which in $servers; do
	: > "$work/$which.txt"
	for r in $(seq "$runs"); do
		one_run "$which" "$r" >> "$work/$which.txt"
	done
done

python3 - "$work" $servers <<'PY'
import statistics, sys
w = sys.argv[1]
rows = {}
for which in sys.argv[2:]:
    runs = [list(map(float, l.split())) for l in open(f"{w}/{which}.txt") if l.strip()]
    rows[which] = [statistics.median(c) for c in zip(*runs)]
names = ["idle RSS (MB)", "ingest time (s)", "ingest (samples/s)", "RSS holding the data (MB)",
         "peak RSS (MB)", "samples appended", "server CPU per sample (ns)"]
scale = [1/1024, 1, 1, 1/1024, 1/1024, 1, 1]
print("| figure | tinyprom | Prometheus 2.42 | tinyprom better by |")
print("|---|---|---|---|")
for i, n in enumerate(names):
    a, b = (rows.get(k, [float("nan")] * len(names))[i] * scale[i] for k in ("tinyprom", "prometheus"))
    def f(v):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}"
    # how many times better tinyprom is: higher rate, lower time and memory
    ratio = (a / b if n.startswith("ingest (") else b / a) if a and b else float("nan")
    print(f"| {n} | {f(a)} | {f(b)} | {ratio:.2f}x |")
PY
