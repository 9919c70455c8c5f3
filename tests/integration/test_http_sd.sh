#!/usr/bin/env bash
# test_http_sd.sh - http_sd_configs end to end: targets come from an HTTP
# endpoint (a python server here), carry __meta_url, are scraped, follow
# changes of the endpoint at the refresh interval, and a reload (SIGHUP)
# with a changed job keeps serving.
. "$(dirname "$0")/lib.sh"
tp_port=$(free_port); sd_port=$(free_port)
TP="http://127.0.0.1:$tp_port"
mkdir -p "$WORK/sd" "$WORK/data"
echo "[{\"targets\":[\"127.0.0.1:$tp_port\"],\"labels\":{\"team\":\"a\"}}]" >"$WORK/sd/targets.json"
bg sd python3 -m http.server "$sd_port" --bind 127.0.0.1 --directory "$WORK/sd"
retry 120 curl -fsS "http://127.0.0.1:$sd_port/targets.json"
cat >"$WORK/prometheus.yml" <<YML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: fromhttp
    http_sd_configs:
      - url: http://127.0.0.1:$sd_port/targets.json
        refresh_interval: 1s
YML
bg tp "$TINYPROM" --config.file="$WORK/prometheus.yml" --web.listen-address=127.0.0.1:$tp_port \
	--storage.tsdb.path="$WORK/data"
if ! wait_http "$TP/-/ready" 120; then not_ok "tinyprom starts" "$(tail -5 "$WORK/tp.log")"; finish; exit 1; fi
ok "tinyprom starts"

targets() { curl -fsS "$TP/api/v1/targets"; }
one_up() {
	targets | json "
t=d['data']['activeTargets']
assert len(t)==1 and t[0]['health']=='up', t
assert t[0]['labels']['team']=='a' and t[0]['scrapePool']=='fromhttp'
assert t[0]['discoveredLabels']['__meta_url']=='http://127.0.0.1:$sd_port/targets.json'"
}
if retry 120 one_up; then ok "the HTTP-discovered target is scraped, with __meta_url"; else not_ok "the HTTP-discovered target is scraped, with __meta_url" "$(targets)"; fi
check "its samples carry the group's labels" bash -c "curl -fsS --data-urlencode 'query=up{job=\"fromhttp\",team=\"a\"}' $TP/api/v1/query | grep -q '\"1\"'"

# the endpoint changes: a second target appears (and is down: nothing listens there)
echo "[{\"targets\":[\"127.0.0.1:$tp_port\",\"127.0.0.1:1\"],\"labels\":{\"team\":\"a\"}}]" >"$WORK/sd/targets.json"
two() { targets | json "assert len(d['data']['activeTargets'])==2"; }
if retry 120 two; then ok "a change of the endpoint adds the target"; else not_ok "a change of the endpoint adds the target" "$(targets)"; fi

# a reload that renames the job keeps the server up and applies it
sed -i 's/job_name: fromhttp/job_name: renamed/' "$WORK/prometheus.yml"
kill -HUP "$PID_tp"
renamed() { targets | json "assert all(t['scrapePool']=='renamed' for t in d['data']['activeTargets']) and d['data']['activeTargets']"; }
if retry 120 renamed; then ok "SIGHUP reloads the configuration"; else not_ok "SIGHUP reloads the configuration" "$(targets)" "$(tail -3 "$WORK/tp.log")"; fi
# a broken configuration on reload keeps the running one
echo "scrape_configs: [{job_name: x, bogus: 1}]" >"$WORK/prometheus.yml"
kill -HUP "$PID_tp"
# until the reload has been tried (however long the signal takes to be
# handled), then the running configuration must still be there
check "a broken reload is logged and counted" retry 120 bash -c "grep -q 'Error reloading config' '$WORK/tp.log' && curl -fsS $TP/metrics | grep -q '^prometheus_config_last_reload_successful 0'"
check "a broken reload keeps the running configuration" bash -c "curl -fsS $TP/api/v1/targets | grep -q renamed"
finish
