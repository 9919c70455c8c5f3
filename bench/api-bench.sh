#!/usr/bin/env bash
# api-bench.sh - issue 5's HTTP API benchmark: starts a server on a free
# port with an empty data directory, then from a second process
# (bench/api-bench):
#   1. remote write: 10,000 series x 1 hour at 15 s (2.4 M samples) from
#      4 writers, each request carrying one timestamp of 2,500 series;
#   2. query_range: a fixed query over those 10,000 series for the last
#      hour at a 15 s step (241 points), 4 clients back to back for 10 s,
#      then 1 client (the latency of one query on an idle server);
#   3. the same for one series of them, where the HTTP path dominates.
# RUNS times (default 3), a fresh server each time; prints every run's
# lines. SERVER=prometheus runs the same against Debian's Prometheus 2.42.
# Usage: [SERVER=tinyprom|prometheus] bench/api-bench.sh [RUNS] [QUERY]
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-3}
QUERY=${2:-'sum by (job) (rate(bench_metric[5m]))'}
SERVER=${SERVER:-tinyprom}
BENCH=bench/api-bench
[ -x ./tinyprom ] && [ -x "$BENCH" ] || { echo "build first: make -j2" >&2; exit 1; }
work=$(mktemp -d /tmp/tp-api-bench.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
: >"$work/empty.yml"
for run in $(seq "$RUNS"); do
	rm -rf "$work/data"
	if [ "$SERVER" = prometheus ]; then
		prometheus --config.file="$work/empty.yml" --web.listen-address=127.0.0.1:$port \
			--storage.tsdb.path="$work/data" --web.enable-remote-write-receiver --log.level=warn \
			>"$work/server.log" 2>&1 &
	else
		./tinyprom --config.file="$work/empty.yml" --web.listen-address=127.0.0.1:$port \
			--storage.tsdb.path="$work/data" --web.enable-remote-write-receiver --log.level=warn \
			>"$work/server.log" 2>&1 &
	fi
	pid=$!
	for _ in $(seq 300); do curl -fsS -o /dev/null "$url/-/ready" 2>/dev/null && break; sleep 0.1; done
	echo "run $run: $("$BENCH" write --url "$url" --series 10000 --writers 4 --hours 1 --step-ms 15000)"
	for clients in 4 1; do
		echo "run $run: $("$BENCH" query --url "$url" --query "$QUERY" --range-s 3600 --step-s 15 \
			--clients $clients --seconds 10)"
	done
	echo "run $run: $("$BENCH" query --url "$url" --query 'bench_metric{instance="inst-42"}' \
		--range-s 3600 --step-s 15 --clients 4 --seconds 10)"
	echo "run $run: rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
