#!/usr/bin/env bash
# promql-compare.sh - tinyprom against Prometheus 2.42 on the same machine
# and the same data: starts both on 127.0.0.1 with a temporary storage
# directory, sends them the promql-bench data (bench/promql-load: 10,008
# series, the last 2 h at 15 s, by remote write), then times the
# promql-bench query suite over HTTP (range and instant, median of RUNS
# runs each, the two servers taking turns) and checks that the answers
# agree (bench/promql-compare.py). Stops both servers and removes the
# directory at the end.
#
# Usage: bench/promql-compare.sh [RUNS]     (from the build directory)
# Environment: TP_PORT (19190), PROM_PORT (19191), PROMETHEUS
# (/usr/bin/prometheus), SCALE (100), KEEP=1 keeps the directory.
#
# Query times sit 7 s off the 15 s sample grid, so no sample lies on a
# window edge: there Prometheus 2.42 (closed windows [t-r, t]) and
# tinyprom (3.x, left-open (t-r, t]) would differ by design.
set -euo pipefail

RUNS=${1:-5}
TP_PORT=${TP_PORT:-19190}
PROM_PORT=${PROM_PORT:-19191}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
SCALE=${SCALE:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(pwd)
TINYPROM=$BUILD/tinyprom
LOADER=$BUILD/bench/promql-load
for f in "$TINYPROM" "$LOADER" "$PROMETHEUS"; do
	[ -x "$f" ] || { echo "promql-compare: $f not found (run make first, from the build directory)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/promql-compare.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

TP=http://127.0.0.1:$TP_PORT
PR=http://127.0.0.1:$PROM_PORT
printf 'global:\n  scrape_interval: 1m\n' > "$WORK/config.yml"
mkdir -p "$WORK/tp" "$WORK/prom"
"$TINYPROM" --config.file="$WORK/config.yml" --web.listen-address=127.0.0.1:$TP_PORT \
	--storage.tsdb.path="$WORK/tp" --web.enable-remote-write-receiver --log.level=warn \
	>"$WORK/tp.log" 2>&1 &
PIDS+=($!)
"$PROMETHEUS" --config.file="$WORK/config.yml" --web.listen-address=127.0.0.1:$PROM_PORT \
	--storage.tsdb.path="$WORK/prom" --web.enable-remote-write-receiver --log.level=warn \
	>"$WORK/prom.log" 2>&1 &
PIDS+=($!)

wait_ready() {
	for _ in $(seq 1 100); do
		curl -fs -o /dev/null "$1/-/ready" && return 0
		sleep 0.2
	done
	echo "promql-compare: $1 did not become ready" >&2
	tail -5 "$WORK"/*.log >&2
	exit 1
}
wait_ready "$TP"
wait_ready "$PR"

# The last 2 h, ending now (Prometheus's head accepts them in time order).
now_ms=$(( $(date +%s) * 1000 ))
load=$("$LOADER" --scale "$SCALE" --end-ms "$now_ms" --duration-s 7200 "$TP/api/v1/write" "$PR/api/v1/write")
echo "load: $load"
start_ms=$(sed -E 's/.* start_ms=([0-9]+).*/\1/' <<<"$load")
end_ms=$(sed -E 's/.* end_ms=([0-9]+).*/\1/' <<<"$load")
# range: from 5 m 7 s after the first sample (full 5 m windows) to the end,
# step 60 s; instant: 8 s before the last sample
qstart=$(python3 -c "print(($start_ms + 307000) / 1000)")
qend=$(python3 -c "s=$start_ms+307000; e=$end_ms; print((s + (e - s) // 60000 * 60000) / 1000)")
qinst=$(python3 -c "print(($end_ms - 8000) / 1000)")

QUERIES=(
	'rate(http_requests_total[5m])'
	'sum by (job) (rate(http_requests_total[5m]))'
	'histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))'
	'topk(5, cpu_usage)'
	'count by (job) (cpu_usage)'
	'cpu_usage{instance=~"host-1.*"}'
	'avg_over_time(cpu_usage[1h])'
	'cpu_usage * on(job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))'
)

# seconds for one query (curl's total: request, evaluation, JSON, transfer)
timed() { # url mode query out
	if [ "$2" = range ]; then
		curl -fsS -o "$4" -w '%{time_total}' "$1/api/v1/query_range" --data-urlencode "query=$3" \
			--data-urlencode "start=$qstart" --data-urlencode "end=$qend" --data-urlencode "step=60"
	else
		curl -fsS -o "$4" -w '%{time_total}' "$1/api/v1/query" --data-urlencode "query=$3" \
			--data-urlencode "time=$qinst"
	fi
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "runs=$RUNS range: start=$qstart end=$qend step=60 instant: time=$qinst"
printf '%-8s %-100s %12s %12s %8s  %s\n' mode query tinyprom_ms prom_ms speedup answers
status=0
for mode in range instant; do
	for i in "${!QUERIES[@]}"; do
		q=${QUERIES[$i]}
		# one untimed run each (first touch of the data), whose answers are compared
		timed "$TP" "$mode" "$q" "$WORK/tp-$mode-$i.json" >/dev/null
		timed "$PR" "$mode" "$q" "$WORK/prom-$mode-$i.json" >/dev/null
		a="" b=""
		for _ in $(seq 1 "$RUNS"); do
			a+=" $(timed "$TP" "$mode" "$q" /dev/null)"
			b+=" $(timed "$PR" "$mode" "$q" /dev/null)"
		done
		ma=$(median <<<"$a") mb=$(median <<<"$b")
		if verdict=$(python3 "$HERE/promql-compare.py" "$WORK/tp-$mode-$i.json" "$WORK/prom-$mode-$i.json"); then :; else status=1; fi
		printf '%-8s %-100s %12.1f %12.1f %7.1fx  %s\n' "$mode" "$q" \
			"$(python3 -c "print($ma*1000)")" "$(python3 -c "print($mb*1000)")" \
			"$(python3 -c "print($mb/$ma)")" "$verdict"
	done
done
exit $status
