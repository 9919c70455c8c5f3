#!/usr/bin/env bash
# test_prometheus_peer.sh - a real Prometheus 2.42 as tinyprom's peer:
# it remote-writes its own scrapes into tinyprom, uses tinyprom as its
# remote_read backend, and federates from it; promtool queries tinyprom
# as a client and gets the same answers as from Prometheus.
. "$(dirname "$0")/lib.sh"
PROM=$(command -v prometheus || true)
PROMTOOL=$(command -v promtool || true)
[ -n "$PROM" ] && [ -n "$PROMTOOL" ] || skip_all "prometheus/promtool are not installed"

tp_port=$(free_port); prom_port=$(free_port)
mkdir -p "$WORK/tp" "$WORK/prom"
TP="http://127.0.0.1:$tp_port"
PR="http://127.0.0.1:$prom_port"

cat > "$WORK/tp.yml" <<YML
global:
  scrape_interval: 1s
  external_labels: {source: tinyprom}
scrape_configs:
  - job_name: tinyprom
    static_configs: [{targets: ['127.0.0.1:$tp_port']}]
YML
bg tp "$TINYPROM" --config.file="$WORK/tp.yml" --web.listen-address=127.0.0.1:$tp_port \
	--storage.tsdb.path="$WORK/tp" --web.enable-remote-write-receiver

cat > "$WORK/prom.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$prom_port']}]
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]': ['{job="tinyprom"}']
    static_configs: [{targets: ['127.0.0.1:$tp_port']}]
remote_write:
  - url: $TP/api/v1/write
    queue_config: {batch_send_deadline: 1s}
    write_relabel_configs:   # federated copies stay out of the write path
      - source_labels: [job]
        regex: tinyprom
        action: drop
remote_read:   # only queries that ask for tinyprom's external label go to it
  - url: $TP/api/v1/read
    read_recent: true
    required_matchers: {source: tinyprom}
YML
bg prom "$PROM" --config.file="$WORK/prom.yml" --web.listen-address=127.0.0.1:$prom_port \
	--storage.tsdb.path="$WORK/prom"

if ! wait_http "$TP/-/ready" 120 || ! wait_http "$PR/-/ready" 120; then
	not_ok "tinyprom and Prometheus start" "$(tail -5 "$WORK/tp.log")" "$(tail -5 "$WORK/prom.log")"
	finish; exit 1
fi
ok "tinyprom and Prometheus start"

q() { curl -fsS --data-urlencode "query=$2" "$1/api/v1/query"; }
has_result() { q "$1" "$2" | json 'assert d["status"]=="success" and len(d["data"]["result"])>0'; }

# 1. remote write: Prometheus's own series arrive in tinyprom
if retry 120 has_result "$TP" 'up{job="prometheus"}'; then ok "remote write: Prometheus's scrapes arrive in tinyprom"; else not_ok "remote write: Prometheus's scrapes arrive in tinyprom" "$(tail -5 "$WORK/prom.log")"; fi
# (its first scrape comes in several batches, over several shards)
check "remote write: many of Prometheus's series arrive" retry 120 bash -c "
curl -fsS --data-urlencode 'query=count({job=\"prometheus\"})' $TP/api/v1/query | python3 -c 'import json,sys; d=json.load(sys.stdin); assert float(d[\"data\"][\"result\"][0][\"value\"][1])>100'"

# 2. promtool as a client of tinyprom, compared with the same query against Prometheus
# a time both have data for: a second after a scrape of Prometheus that
# tinyprom has received. Prometheus holds its samples up to t at once;
# tinyprom gets them by remote write, in batches of up to 1 s plus however
# long a loaded machine takes, so the answers are compared until they agree
# (up to 2 min): a wrong answer never does.
t=$(q "$TP" 'max(timestamp(up{job="prometheus"}))' | json 'print(int(float(d["data"]["result"][0]["value"][1])) + 1)')
agree() {
	a=$("$PROMTOOL" query instant --time="$t" "$TP" "$1" 2>&1 | sort)
	b=$("$PROMTOOL" query instant --time="$t" "$PR" "$1" 2>&1 | sort)
	[ -n "$a" ] && [ "$a" = "$b" ]
}
for expr in 'prometheus_build_info{job="prometheus"}' 'count by (job) (up{job="prometheus"})' \
	'sum(prometheus_tsdb_head_series{job="prometheus"}) > 0'; do
	if retry 120 agree "$expr"; then ok "promtool query instant '$expr' agrees"; else agree "$expr"; not_ok "promtool query instant '$expr' agrees" "tinyprom: $a" "prometheus: $b"; fi
done
# range functions are not compared: 2.42 uses closed windows [t-r, t], tinyprom
# Prometheus 3's left-open (t-r, t], so a sample on the boundary may differ
check "promtool: rate over remote-written data answers" retry 120 bash -c "
'$PROMTOOL' query instant $TP 'rate(prometheus_http_requests_total{job=\"prometheus\",handler=\"/metrics\"}[10s]) > 0' | grep -Eq '=> [0-9.e+-]+ @'"
check "promtool query labels against tinyprom" bash -c "'$PROMTOOL' query labels $TP job | grep -qx prometheus"
check "promtool query series against tinyprom" bash -c "'$PROMTOOL' query series --match='up{job=\"prometheus\"}' $TP | grep -q 'job=\"prometheus\"'"
check "promtool query range against tinyprom" bash -c "
s=\$(( \$(date +%s) - 10 )); e=\$(date +%s)
'$PROMTOOL' query range --start=\$s --end=\$e --step=1s $TP 'up{job=\"prometheus\"}' | grep -q ' @\['"

# 3. federation: Prometheus scrapes tinyprom's /federate
if retry 120 has_result "$PR" 'prometheus_tsdb_head_series{job="tinyprom",source="tinyprom"}'; then ok "federation: Prometheus federates tinyprom's series, with external labels"; else not_ok "federation: Prometheus federates tinyprom's series, with external labels" "$(curl -s "$TP/federate?match[]=%7Bjob%3D%22tinyprom%22%7D" | head -3)"; fi

# 4. remote read. tinyprom answers with the external labels it lacks
# (source="tinyprom") and drops a matcher on them, as Prometheus's read
# handler does; Prometheus sends only queries with that matcher.
# 4a. Prometheus reads series only tinyprom holds (written by rw-load) and
# gets exactly tinyprom's values
RWLOAD="$TP_BUILDDIR/tests/integration/rw-load"
RRCLIENT="$TP_BUILDDIR/tests/integration/rr-client"
rr_start=$(( $(date +%s) - 120 ))
"$RWLOAD" write --url "$TP" --acked "$WORK/acked" --name rr_only --series 3 --requests 40 \
	--start-ms $(( rr_start * 1000 )) --step-ms 1000 >"$WORK/rw-load.log" 2>&1
metric() { curl -fsS "$TP/metrics" | awk -v m="$1" '$1==m {print $2}'; }
reads_before=$(metric 'tinyprom_remote_read_responses_total{type="samples"}')
qr() { curl -fsS --data-urlencode "query=$2" --data-urlencode "start=$rr_start" \
	--data-urlencode "end=$(( rr_start + 39 ))" --data-urlencode step=1 "$1/api/v1/query_range"; }
# series as "labels without source: values", sorted
canon() { json '
out = []
for r in d["data"]["result"]:
    m = {k: v for k, v in r["metric"].items() if k != "source"}
    out.append(repr(sorted(m.items())) + " " + repr(r["values"]))
print("\n".join(sorted(out)))'; }
a=$(qr "$TP" rr_only | canon); b=$(qr "$PR" 'rr_only{source="tinyprom"}' | canon)
if [ -n "$a" ] && [ "$(echo "$a" | wc -l)" = 3 ] && [ "$a" = "$b" ]; then
	ok "remote read: Prometheus reads tinyprom-only series with identical values"
else
	not_ok "remote read: Prometheus reads tinyprom-only series with identical values" "tinyprom: ${a:0:300}" "prometheus: ${b:0:300}"
fi
check "remote read: the series carry tinyprom's external labels" bash -c "
curl -fsS --data-urlencode 'query=count(rr_only{source=\"tinyprom\"})' '$PR/api/v1/query' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"data\"][\"result\"][0][\"value\"][1]==\"3\"'"
reads_after=$(metric 'tinyprom_remote_read_responses_total{type="samples"}')
streamed=$(metric 'tinyprom_remote_read_responses_total{type="streamed_xor_chunks"}')
echo "# Prometheus 2.42's remote reads answered: samples ${reads_before:-0} -> ${reads_after:-0}, streamed_xor_chunks ${streamed:-0}"
check "remote read: tinyprom answered Prometheus's reads (counted by response type)" \
	test "${reads_after:-0}" -gt "${reads_before:-0}" -o "${streamed:-0}" -gt 0

# 4b. STREAMED_XOR_CHUNKS, compared with Prometheus 2.42's own streamed
# answer: the same request to both servers (the data came by remote
# write), decoded by rr-client's own XOR decoder, gives the same samples,
# bit for bit. Prometheus's answer checks the decoder; the decoder checks
# tinyprom's encoder.
# The window ends at a fixed time in the past (not 6 s before each try):
# Prometheus has all of it, and tinyprom gets all of it however long
# remote write lags behind on a loaded machine.
# The window must also lie after Prometheus has been scraping itself for
# 20 s, or it holds too few samples to compare (a run that got here fast
# compared 2 per series): wait for that first.
prom_scraped_20s() {
	curl -fsS --data-urlencode 'query=count_over_time(up{job="prometheus"}[21s]) >= 20' "$PR/api/v1/query" |
		json 'assert len(d["data"]["result"]) == 1'
}
retry 120 prom_scraped_20s || echo "# Prometheus has not scraped itself for 20 s yet"
rr_end=$(( $(date +%s) * 1000 - 2000 ))
rr_cmp() {
	local e=$rr_end
	local s=$(( e - 20000 ))
	local sel='__name__=~up|prometheus_tsdb_head_series|prometheus_http_requests_total|prometheus_engine_query_duration_seconds'
	"$RRCLIENT" --url "$TP/api/v1/read" --start $s --end $e --accept "$1" "$sel" job=prometheus \
		>"$WORK/rr-tp" 2>>"$WORK/rr.err" || return 1
	"$RRCLIENT" --url "$PR/api/v1/read" --start $s --end $e --accept "$1" "$sel" job=prometheus \
		>"$WORK/rr-prom" 2>>"$WORK/rr.err" || return 1
	sed -i 's/,source="tinyprom"//' "$WORK/rr-tp"
	[ "$(head -1 "$WORK/rr-tp")" = "$2" ] && [ "$(head -1 "$WORK/rr-prom")" = "$2" ] &&
		[ "$(wc -l <"$WORK/rr-tp")" -gt 100 ] && cmp -s "$WORK/rr-tp" "$WORK/rr-prom"
}
streamed_before=$(metric 'tinyprom_remote_read_responses_total{type="streamed_xor_chunks"}')
if retry 120 rr_cmp both type=chunks; then
	ok "remote read STREAMED_XOR_CHUNKS: tinyprom and Prometheus 2.42 stream identical samples ($(($(wc -l <"$WORK/rr-tp") - 1)))"
else
	not_ok "remote read STREAMED_XOR_CHUNKS: tinyprom and Prometheus 2.42 stream identical samples" \
		"$(tail -3 "$WORK/rr.err")" "$(diff "$WORK/rr-tp" "$WORK/rr-prom" | head -5)"
fi
streamed_after=$(metric 'tinyprom_remote_read_responses_total{type="streamed_xor_chunks"}')
check "remote read: tinyprom counted the streamed answers" test "${streamed_after:-0}" -gt "${streamed_before:-0}"
if retry 120 rr_cmp samples type=samples; then
	ok "remote read SAMPLES: tinyprom and Prometheus 2.42 answer identical samples"
else
	not_ok "remote read SAMPLES: tinyprom and Prometheus 2.42 answer identical samples" \
		"$(tail -3 "$WORK/rr.err")" "$(diff "$WORK/rr-tp" "$WORK/rr-prom" | head -5)"
fi
check "remote read: Prometheus logged no remote read error" bash -c "! grep -i 'remote_read\|remote read' '$WORK/prom.log' | grep -qi err"
check "remote write: Prometheus logged no send failure" bash -c "! grep -qi 'non-recoverable\|Failed to send batch' '$WORK/prom.log'"
finish
