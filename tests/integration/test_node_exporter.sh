#!/usr/bin/env bash
# test_node_exporter.sh - tinyprom scrapes a real prometheus-node-exporter:
# target health, synthetic series, node metrics and rates over them, the
# metadata of what was scraped, and a failed scrape when it goes away.
. "$(dirname "$0")/lib.sh"
NE=$(command -v prometheus-node-exporter || true)
[ -n "$NE" ] || skip_all "prometheus-node-exporter is not installed"

ne_port=$(free_port); tp_port=$(free_port)
TP="http://127.0.0.1:$tp_port"
mkdir -p "$WORK/data"
bg ne "$NE" --web.listen-address=127.0.0.1:$ne_port
cat > "$WORK/prometheus.yml" <<YML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$ne_port'], labels: {env: it}}]
YML
bg tp "$TINYPROM" --config.file="$WORK/prometheus.yml" --web.listen-address=127.0.0.1:$tp_port \
	--storage.tsdb.path="$WORK/data"
if ! wait_http "$TP/-/ready" 120 || ! wait_http "http://127.0.0.1:$ne_port/metrics" 120; then
	not_ok "node_exporter and tinyprom start" "$(tail -5 "$WORK/tp.log")" "$(tail -5 "$WORK/ne.log")"
	finish; exit 1
fi
ok "node_exporter and tinyprom start"

q() { curl -fsS --data-urlencode "query=$1" "$TP/api/v1/query"; }
val() { q "$1" | json 'r=d["data"]["result"]; print(r[0]["value"][1] if r else "none")'; }
up_is_1() { [ "$(val 'up{job="node",env="it"}')" = "1" ]; }
if retry 120 up_is_1; then ok "up{job=\"node\"} is 1"; else not_ok "up{job=\"node\"} is 1" "$(q up)"; fi
check "scrape_samples_scraped counts hundreds of samples" bash -c "[ \"\$(curl -fsS --data-urlencode 'query=scrape_samples_scraped{job=\"node\"} > 200' $TP/api/v1/query | grep -c value)\" -ge 1 ]"
n=$(val 'count({job="node"})')
check "hundreds of node series stored ($n)" python3 -c "assert float('$n') > 200"
# the exporter counts its own /metrics requests: one per scrape, so the
# counter's rate is the scrape rate, one a second. Rather than sleep and
# hope for enough scrapes in the window, wait until four samples lie in
# the last 4 s, then evaluate rate() at that same instant: the window then
# holds four increments of one, about a second apart (a scrape delayed by
# load only stretches its gap, the check allows 0.5 s to 2 s on average).
c='promhttp_metric_handler_requests_total{code="200"}'
enough() {
	t_rate=$(python3 -c 'import time; print("%.3f" % time.time())')
	[ "$(curl -fsS --data-urlencode "query=count_over_time(${c}[4s])" --data-urlencode "time=$t_rate" "$TP/api/v1/query" |
		json 'r=d["data"]["result"]; print(r[0]["value"][1] if r else 0)')" -ge 4 ] 2>/dev/null
}
retry 120 enough
check "rate() over a scraped counter is about one per second" bash -c "
curl -fsS --data-urlencode 'query=rate(${c}[4s])' --data-urlencode 'time=$t_rate' $TP/api/v1/query |
python3 -c 'import json,sys; d=json.load(sys.stdin); r=d[\"data\"][\"result\"]; assert r and 0.5<float(r[0][\"value\"][1])<2, d'"
check "the target is up in /api/v1/targets" bash -c "curl -fsS $TP/api/v1/targets | python3 -c '
import json,sys; d=json.load(sys.stdin)[\"data\"][\"activeTargets\"]
assert len(d)==1 and d[0][\"health\"]==\"up\" and d[0][\"labels\"][\"env\"]==\"it\" and d[0][\"scrapePool\"]==\"node\", d'"
check "/api/v1/metadata has node_cpu_seconds_total as a counter" bash -c "curl -fsS '$TP/api/v1/metadata?metric=node_cpu_seconds_total' | python3 -c '
import json,sys; d=json.load(sys.stdin)[\"data\"]; assert d[\"node_cpu_seconds_total\"][0][\"type\"]==\"counter\", d'"
# the exporter goes away: the scrape fails, up becomes 0, its series go stale
kill "$PID_ne"
down() { [ "$(val 'up{job="node"}')" = "0" ]; }
if retry 120 down; then ok "up becomes 0 when the target is gone"; else not_ok "up becomes 0 when the target is gone" "$(q up)"; fi
check "the target's series are stale once it is down" bash -c "[ \"\$(curl -fsS --data-urlencode 'query=count(node_cpu_seconds_total)' $TP/api/v1/query | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"data\"][\"result\"]))')\" = 0 ]"
check "lastError names the failed request" bash -c "curl -fsS $TP/api/v1/targets | grep -q 'Get \\\\\"http://127.0.0.1:$ne_port/metrics\\\\\"'"
finish
