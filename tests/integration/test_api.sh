#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# test_api.sh - TAP integration test of the tinyprom server process and its
# HTTP API: flags (--help, --version, exit status 2 on bad flags), start-up
# on a free 127.0.0.1 port with a temporary data directory, the /api/v1
# endpoints with queries needing no data, error types and status codes,
# CORS, gzip, body limit, /metrics, lifecycle, and clean stops on SIGTERM
# and POST /-/quit.
# Invariant: every process this script starts is killed by the EXIT trap,
# whatever happens; the temporary directory is removed likewise.
# Needs curl and gzip. TP_BUILDDIR points at the build directory.

BUILDDIR=${TP_BUILDDIR:-.}
BIN="$BUILDDIR/tinyprom"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp-api-test.XXXXXX") || exit 1
pid=""

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); failed=1
	echo "not ok $n - $1"
	[ -n "$2" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}
# check DESC COMMAND...: passes when COMMAND succeeds.
check() { d=$1; shift; if "$@"; then ok "$d"; else notok "$d" "code=$code body=$(head -c 400 "$tmp/body" 2>/dev/null)"; fi; }

if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP curl not installed"
	exit 0
fi

# ---- flags ----

"$BIN" --help >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--help exits 0" test "$rc" -eq 0
check "--help lists Prometheus flag names and defaults" \
	grep -q -- '--web.listen-address="0.0.0.0:9090"' "$tmp/out"
check "--help shows --storage.tsdb.retention.time default 15d" \
	grep -q -- '--storage.tsdb.retention.time="15d"' "$tmp/out"

"$BIN" --version >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--version exits 0" test "$rc" -eq 0
check "--version prints Prometheus-style version line" \
	grep -Eq '^tinyprom, version [0-9.]+ \(branch: .*, revision: .*\)$' "$tmp/out"
check "--version prints build user and date" grep -q 'build date:' "$tmp/out"

for bad in --bogus --query.timeout=abc --log.level=verbose --storage.tsdb.retention.size=12XB \
	--query.max-samples=many stray-argument; do
	"$BIN" "$bad" >"$tmp/out" 2>"$tmp/err"; rc=$?
	check "bad flag $bad exits 2" test "$rc" -eq 2
	check "bad flag $bad: one line on stderr" test "$(wc -l <"$tmp/err")" -eq 1
done
"$BIN" --bogus 2>"$tmp/err"
check "unknown flag message names the flag" grep -q "^tinyprom: error: unknown long flag '--bogus', try --help$" "$tmp/err"

# ---- start a server ----

# start_server LOGFILE ARGS...: starts tinyprom on 127.0.0.1:0, waits (up
# to 2 min: a loaded machine or a sanitizer build starts slowly) for the
# port in the log and for the line that follows marking it ready (the port
# is logged just before /-/ready turns 200), sets $pid and $base.
start_server() {
	log=$1; shift
	[ -f "$tmp/none.yml" ] || : >"$tmp/none.yml"  # an empty configuration: all defaults
	"$BIN" --web.listen-address=127.0.0.1:0 --storage.tsdb.path="$tmp/data" \
		--config.file="$tmp/none.yml" "$@" >"$log" 2>&1 &
	pid=$!
	port=""
	i=0
	while [ $i -lt 1200 ]; do
		if grep -q 'Server is ready to receive web requests' "$log"; then
			port=$(sed -n 's/.*msg="Start listening for connections".* port=\([0-9]*\).*/\1/p;s/.*"msg":"Start listening for connections".*"port":"\([0-9]*\)".*/\1/p' "$log" | head -1)
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	base="http://127.0.0.1:$port"
	[ -n "$port" ]
}

# wait_exit PID: waits (up to 2 min) for PID to end by itself
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
}

# req METHOD PATH [curl args...]: sets $code; body in $tmp/body, headers in $tmp/hdr.
req() {
	m=$1; p=$2; shift 2
	code=$(curl -s -X "$m" -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' "$@" "$base$p")
}
body_is() { [ "$(cat "$tmp/body")" = "$1" ]; }
body_has() { grep -qF -- "$1" "$tmp/body"; }
hdr_has() { tr -d '\r' <"$tmp/hdr" | grep -qi -- "$1"; }

"$BIN" --config.file="$tmp/missing.yml" --web.listen-address=127.0.0.1:0 \
	--storage.tsdb.path="$tmp/dm" >"$tmp/log_missing" 2>&1
rc=$?
check "a missing --config.file: exit status 1" test "$rc" -eq 1
check "a missing --config.file: the error names it" grep -q 'msg="Error loading config".*no such file or directory' "$tmp/log_missing"
check "server starts and logs its port" start_server "$tmp/log1"
check "logfmt start-up line" grep -q '^ts=[0-9T:.-]*Z caller=server.c:[0-9]* level=info msg="Starting tinyprom"' "$tmp/log1"

req GET /-/healthy; check "/-/healthy 200" test "$code" = 200
req GET /-/ready; check "/-/ready 200" test "$code" = 200
code=$(curl -s -I -o /dev/null -w '%{http_code}' "$base/-/healthy")
check "HEAD /-/healthy 200" test "$code" = 200
req GET /; check "/ answers 2xx (prometheus-api-client connection check)" test "$code" = 200

# instant queries without data
req GET '/api/v1/query?query=1%2B1&time=4'
check "query 1+1 at time=4 (Grafana health check) 200" test "$code" = 200
check "query 1+1 scalar result" body_is '{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}'
check "query Content-Type application/json" hdr_has '^Content-Type: application/json'
req GET '/api/v1/query?query=time()&time=100.5'
check "query time() keeps milliseconds" body_is '{"status":"success","data":{"resultType":"scalar","result":[100.500,"100.5"]}}'
req GET '/api/v1/query?query=vector(1)&time=1435781451.781'
check "query vector(1) is a vector" body_is '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1435781451.781,"1"]}]}}'
req GET '/api/v1/query' --data-urlencode 'query="hello"' --data-urlencode 'time=4' -G
check "query string literal" body_is '{"status":"success","data":{"resultType":"string","result":[4,"hello"]}}'
req GET '/api/v1/query?query=1e-7&time=4'
check "small values use Go exponent form" body_is '{"status":"success","data":{"resultType":"scalar","result":[4,"1e-07"]}}'
req GET '/api/v1/query?query=-1/0&time=4'
check "-Inf spelled as Prometheus" body_is '{"status":"success","data":{"resultType":"scalar","result":[4,"-Inf"]}}'
req POST '/api/v1/query' --data 'query=1%2B2&time=4'
check "query via form POST" body_is '{"status":"success","data":{"resultType":"scalar","result":[4,"3"]}}'
req POST '/api/v1/query?time=100&query=5' --data 'query=7&time=4'
check "POST body wins over the query string" body_is '{"status":"success","data":{"resultType":"scalar","result":[4,"7"]}}'
req POST '/api/v1/query?time=4' --data 'query=8'
check "body and query string parameters merge" body_is '{"status":"success","data":{"resultType":"scalar","result":[4,"8"]}}'
req GET '/api/v1/query?query=sum(&time=4'
check "parse error is 400" test "$code" = 400
check "parse error is bad_data with invalid parameter \"query\"" \
	body_has '{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": '
req GET '/api/v1/query?query=1&time=abc'
check "bad time is 400 bad_data" test "$code" = 400
check "bad time message" body_has 'invalid parameter \"time\": Invalid time value for '"'"'time'"'"': cannot parse \"abc\" to a valid timestamp'
req GET '/api/v1/query?query=1&timeout=xyz'
check "bad timeout is 400" test "$code" = 400
req GET '/api/v1/query?query=1'
check "missing time means now" test "$code" = 200

# range queries
req GET '/api/v1/query_range?query=vector(1)&start=0&end=10&step=5'
check "query_range matrix" body_is '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[5,"1"],[10,"1"]]}]}}'
req GET '/api/v1/query_range?query=vector(1)&start=0&end=10&step=5s'
check "query_range step as duration" body_is '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[5,"1"],[10,"1"]]}]}}'
req POST '/api/v1/query_range' --data 'query=time()&start=1&end=2&step=0.5'
check "query_range via POST, fractional step" body_is '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[1.500,"1.5"],[2,"2"]]}]}}'
req GET '/api/v1/query_range?query=1&start=0&end=11000&step=1'
check "11,001 points still pass" test "$code" = 200
req GET '/api/v1/query_range?query=1&start=0&end=11001&step=1'
check "more than 11,000 points is 400" test "$code" = 400
check "11,000 points message" body_is '{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}'
req GET '/api/v1/query_range?query=1&start=10&end=1&step=1'
check "end before start" body_is '{"status":"error","errorType":"bad_data","error":"invalid parameter \"end\": end timestamp must not be before start time"}'
req GET '/api/v1/query_range?query=1&start=0&end=1&step=0'
check "zero step" body_is '{"status":"error","errorType":"bad_data","error":"invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"}'
req GET '/api/v1/query_range?query=1&start=0&end=1&step=x'
check "bad step" body_is '{"status":"error","errorType":"bad_data","error":"invalid parameter \"step\": cannot parse \"x\" to a valid duration"}'
req GET '/api/v1/query_range?query=1'
check "missing start" body_is '{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\": cannot parse \"\" to a valid timestamp"}'
check "missing start is 400" test "$code" = 400

# metadata endpoints over the empty head
req GET '/api/v1/series'
check "series without match[]" body_is '{"status":"error","errorType":"bad_data","error":"no match[] parameter provided"}'
req GET '/api/v1/series?match[]=up'
check "series empty list" body_is '{"status":"success","data":[]}'
req GET '/api/v1/series?match%5B%5D=up'
check "percent-escaped key match%5B%5D in the query string" body_is '{"status":"success","data":[]}'
req POST '/api/v1/series' --data 'match%5B%5D=up&start=0&end=100'
check "series via POST with escaped match[]" body_is '{"status":"success","data":[]}'
req GET '/api/v1/series' -G --data-urlencode 'match[]={job=~".*"}'
check "series empty-matching selector is 400" test "$code" = 400
# Prometheus: "match[] must contain at least one non-empty matcher"; our
# selector parser already rejects it as "vector selector must contain ...".
check "series empty-matching selector message" body_has 'must contain at least one non-empty matcher'
req GET '/api/v1/series?match[]=up&limit=-1'
check "negative limit" body_is '{"status":"error","errorType":"bad_data","error":"invalid parameter \"limit\": limit must be non-negative"}'
req GET '/api/v1/series' -G --data-urlencode 'match[]=sum('
check "series bad selector is 400 bad_data" test "$code" = 400
req GET '/api/v1/labels'
check "labels empty list" body_is '{"status":"success","data":[]}'
req POST '/api/v1/labels' --data 'match[]=up'
check "labels POST with match[]" body_is '{"status":"success","data":[]}'
req GET '/api/v1/label/__name__/values?limit=40000'
check "label values empty list" body_is '{"status":"success","data":[]}'
req GET '/api/v1/label/foo-bar/values'
check "invalid label name" body_is '{"status":"error","errorType":"bad_data","error":"invalid label name: \"foo-bar\""}'
req GET '/api/v1/label/U__foo_2e_bar/values'
check "U__-escaped label name accepted" test "$code" = 200
req GET '/api/v1/query_exemplars?query=test&start=1700000000000&end=1700000100000'
check "query_exemplars probe (Grafana, ms times) succeeds" body_is '{"status":"success","data":[]}'
req GET '/api/v1/format_query' -G --data-urlencode 'query=sum(foo)by(job)'
check "format_query" body_is '{"status":"success","data":"sum by (job) (foo)"}'

# status
req GET /api/v1/status/buildinfo
check "buildinfo" body_has '{"status":"success","data":{"version":"0.1.0","revision":"'
check "buildinfo has goVersion and no features" sh -c "grep -q goVersion '$tmp/body' && ! grep -q features '$tmp/body'"
req GET /api/v1/status/flags
check "flags map" body_has '"web.listen-address":"127.0.0.1:0"'
check "flags defaults" body_has '"query.lookback-delta":"5m"'
req GET /api/v1/status/runtimeinfo
check "runtimeinfo" body_has '"storageRetention":"15d"'
req GET /api/v1/status/tsdb
check "status/tsdb on the empty head" body_has '{"status":"success","data":{"headStats":{"numSeries":0,"numLabelPairs":0,'

# a second server on the same port fails to start: status 1, error logged
"$BIN" --web.listen-address="127.0.0.1:$port" --storage.tsdb.path="$tmp/data2" >"$tmp/log_busy" 2>&1 &
busy=$!
wait_exit "$busy"
kill -KILL "$busy" 2>/dev/null
wait "$busy"; rc=$?
check "port in use: exit status 1" test "$rc" -eq 1
check "port in use: error logged" grep -q 'level=error msg="Error starting web server, exiting gracefully..." err="listen tcp 127.0.0.1:' "$tmp/log_busy"

# HTTP behaviour
req DELETE /api/v1/query
check "unsupported method is 405" test "$code" = 405
check "405 has an Allow header" hdr_has '^Allow: .*POST'
req PUT /api/v1/labels
check "PUT labels is 405" test "$code" = 405
req POST /api/v1/label/job/values
check "POST label values is 405" test "$code" = 405
req OPTIONS /api/v1/query_range -H 'Origin: http://grafana.example'
check "CORS preflight is 204" test "$code" = 204
check "CORS allow origin" hdr_has '^Access-Control-Allow-Origin: \*'
check "CORS allow methods" hdr_has '^Access-Control-Allow-Methods: GET, POST, OPTIONS'
req GET /api/v1/nope
check "unknown path is 404" test "$code" = 404
req GET '/api/v1/labels' -H 'Accept-Encoding: gzip'
check "gzip when accepted" hdr_has '^Content-Encoding: gzip'
check "gzip body decodes" sh -c "gzip -dc <'$tmp/body' | grep -qF '{\"status\":\"success\",\"data\":[]}'"
req GET '/api/v1/labels'
check "no gzip unless accepted" sh -c "! tr -d '\r' <'$tmp/hdr' | grep -qi '^Content-Encoding'"
head -c 11000000 /dev/zero | tr '\0' 'q' >"$tmp/big"
req POST /api/v1/query --data-binary "@$tmp/big"
check "oversized body is 413" test "$code" = 413
req GET /metrics
check "/metrics 200" test "$code" = 200
check "/metrics content type" hdr_has '^Content-Type: text/plain; version=0.0.4; charset=utf-8'
check "/metrics has request counters" body_has 'prometheus_http_requests_total{code="200",handler="/api/v1/query"}'
check "/metrics has process metrics" body_has '# TYPE process_resident_memory_bytes gauge'
check "/metrics has build info" body_has 'prometheus_build_info{branch="'
check "/metrics has head series" body_has 'prometheus_tsdb_head_series 0'
check "/metrics has the engine's query duration summary" \
	body_has 'prometheus_engine_query_duration_seconds{slice="inner_eval",quantile="0.99"} '
"$BIN" check metrics <"$tmp/body" >"$tmp/cm" 2>&1; rc=$?
check "/metrics passes tinyprom check metrics" test "$rc" -eq 0
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$tmp/body" >"$tmp/cm" 2>&1; rc=$?
	check "/metrics passes promtool check metrics" test "$rc" -eq 0
fi
req POST /-/quit
check "/-/quit without --web.enable-lifecycle is 403" test "$code" = 403
req GET /-/quit
check "GET /-/quit is 405" test "$code" = 405

kill -TERM "$pid"
wait "$pid"; rc=$?
check "SIGTERM stops the server with status 0" test "$rc" -eq 0
pid=""
check "SIGTERM is logged" grep -q 'level=warn msg="Received SIGTERM, exiting gracefully..."' "$tmp/log1"
check "clean stop is logged" grep -q 'msg="See you next time!"' "$tmp/log1"

# ---- lifecycle and JSON logs ----

check "second server starts (json logs, lifecycle)" start_server "$tmp/log2" --web.enable-lifecycle --log.format=json --log.level=debug
check "JSON log records" grep -q '^{"ts":"[0-9T:.-]*Z","caller":"server.c:[0-9]*","level":"info","msg":"Starting tinyprom"' "$tmp/log2"
req POST /-/quit
check "/-/quit with lifecycle is 200" test "$code" = 200
wait "$pid"; rc=$?
check "/-/quit stops the server with status 0" test "$rc" -eq 0
pid=""
check "web termination is logged" grep -q 'Received termination request via web service' "$tmp/log2"

echo "1..$n"
exit $failed
