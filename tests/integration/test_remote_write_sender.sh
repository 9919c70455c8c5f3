#!/usr/bin/env bash
# test_remote_write_sender.sh - tinyprom remote-writes its scrapes to a real
# Prometheus 2.42 (the long-term storage of the full monitoring setup):
# what was scraped while Prometheus was still down arrives once it is up
# (retries), external labels are added, write_relabel_configs drop what
# they match, the raw samples Prometheus stores equal tinyprom's, the
# queue's self-metrics count it, and a reload without remote_write stops it.
. "$(dirname "$0")/lib.sh"
PROM=$(command -v prometheus || true)
[ -n "$PROM" ] || skip_all "prometheus is not installed"

tp_port=$(free_port); prom_port=$(free_port)
mkdir -p "$WORK/tp" "$WORK/prom"
TP="http://127.0.0.1:$tp_port"
PR="http://127.0.0.1:$prom_port"

write_config() {
	cat > "$WORK/tp.yml" <<YML
global:
  scrape_interval: 1s
  external_labels: {site: edge-7}
scrape_configs:
  - job_name: tinyprom
    static_configs: [{targets: ['127.0.0.1:$tp_port']}]
YML
	[ "$1" = with ] && cat >> "$WORK/tp.yml" <<YML
remote_write:
  - url: $PR/api/v1/write
    name: lts
    queue_config: {batch_send_deadline: 500ms, min_backoff: 50ms, max_backoff: 500ms}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: 'scrape_.*'
        action: drop
YML
	return 0
}

# tinyprom first: Prometheus is not listening yet, so the first batches fail
write_config with
bg tp "$TINYPROM" --config.file="$WORK/tp.yml" --web.listen-address=127.0.0.1:$tp_port \
	--storage.tsdb.path="$WORK/tp" --web.enable-lifecycle
if ! wait_http "$TP/-/ready" 120; then
	not_ok "tinyprom starts" "$(tail -5 "$WORK/tp.log")"; finish; exit 1
fi
ok "tinyprom starts with a remote_write to a receiver that is down"

metric() { curl -fsS "$TP/metrics" | awk -v m="$1" 'index($0, m) == 1 { print $NF; exit }'; }
retried_positive() { v=$(metric 'prometheus_remote_storage_samples_retried_total{remote_name="lts"'); [ -n "$v" ] && python3 -c "import sys; sys.exit(0 if float('$v') > 0 else 1)"; }
if retry 120 retried_positive; then ok "failed sends are retried (samples_retried_total > 0)"; else not_ok "failed sends are retried" "$(curl -fsS "$TP/metrics" | grep remote_storage)" "$(tail -5 "$WORK/tp.log")"; fi
sleep 2

bg prom "$PROM" --config.file=/dev/null --web.listen-address=127.0.0.1:$prom_port \
	--storage.tsdb.path="$WORK/prom" --web.enable-remote-write-receiver
if ! wait_http "$PR/-/ready" 120; then
	not_ok "Prometheus starts" "$(tail -5 "$WORK/prom.log")"; finish; exit 1
fi
t_prom=$(date +%s)

q() { curl -fsS --data-urlencode "query=$2" ${3:+--data-urlencode "time=$3"} "$1/api/v1/query"; }
has_result() { q "$1" "$2" | json 'assert d["status"]=="success" and len(d["data"]["result"])>0'; }

if retry 120 has_result "$PR" 'up{job="tinyprom",site="edge-7"}'; then
	ok "tinyprom's scrapes arrive in Prometheus with the external label"
else
	not_ok "tinyprom's scrapes arrive in Prometheus with the external label" "$(tail -5 "$WORK/tp.log")" "$(tail -5 "$WORK/prom.log")"
fi

# samples scraped before Prometheus was up were kept and delivered
early() {
	q "$PR" "min_over_time(timestamp(up{job=\"tinyprom\"})[5m:1s])" | json "
r = d['data']['result']
assert r and float(r[0]['value'][1]) < $t_prom - 1, r"
}
if retry 120 early; then ok "samples from the outage are delivered after it"; else not_ok "samples from the outage are delivered after it" "$(q "$PR" 'up{job="tinyprom"}[5m]')"; fi

if q "$PR" '{__name__=~"scrape_.*"}' | json 'assert d["data"]["result"] == []' && has_result "$TP" 'scrape_duration_seconds'; then
	ok "write_relabel_configs drop scrape_* on the way out, not locally"
else
	not_ok "write_relabel_configs drop scrape_* on the way out, not locally" "$(q "$PR" '{__name__=~"scrape_.*"}')"
fi

# the raw samples are identical: a 20 s window ending 2 s ago, which
# tinyprom holds complete; Prometheus gets it by remote write (batches at
# 500 ms, plus however long a loaded machine takes), so the two are
# compared until they agree (up to 2 min): a wrong copy never does
t=$(( $(date +%s) - 2 ))
raw() { q "$1" "$2[20s]" "$t" | json '
r = d["data"]["result"]
for s in sorted(r, key=lambda s: sorted(s["metric"].items())):
    m = dict(s["metric"]); m.pop("site", None)
    print(sorted(m.items()), s["values"])'; }
same() { a=$(raw "$TP" "$1"); b=$(raw "$PR" "$1"); [ -n "$a" ] && [ "$a" = "$b" ]; }
for expr in 'up{job="tinyprom"}' 'prometheus_tsdb_head_series{job="tinyprom"}' \
	'prometheus_http_requests_total{job="tinyprom",handler="/metrics"}'; do
	if retry 120 same "$expr"; then ok "raw samples of $expr are identical in both"; else same "$expr"; not_ok "raw samples of $expr are identical in both" "tinyprom: $a" "prometheus: $b"; fi
done

sent=$(metric 'prometheus_remote_storage_samples_total{remote_name="lts"')
dropped=$(metric 'prometheus_remote_storage_samples_dropped_total{remote_name="lts"')
if python3 -c "import sys; sys.exit(0 if float('${sent:-0}') > 100 and float('${dropped:-0}') > 0 else 1)"; then
	ok "self-metrics count sent ($sent) and relabel-dropped ($dropped) samples"
else
	not_ok "self-metrics count sent and relabel-dropped samples" "sent=$sent dropped=$dropped"
fi
check "prometheus_remote_storage_* metrics pass promtool-style lint" bash -c "curl -fsS '$TP/metrics' | '$TINYPROM' check metrics"

# a reload without remote_write stops the queue: nothing new reaches Prometheus
write_config without
curl -fsS -X POST "$TP/-/reload" >/dev/null
if retry 120 grep -q 'Remote write queue stopped' "$WORK/tp.log"; then ok "a reload without remote_write stops the queue"; else not_ok "a reload without remote_write stops the queue" "$(tail -5 "$WORK/tp.log")"; fi
sleep 1
n1=$(q "$PR" 'count_over_time(up{job="tinyprom"}[10m])' | json 'print(d["data"]["result"][0]["value"][1])')
sleep 3
n2=$(q "$PR" 'count_over_time(up{job="tinyprom"}[10m])' | json 'print(d["data"]["result"][0]["value"][1])')
if [ -n "$n1" ] && [ "$n1" = "$n2" ]; then ok "after the reload no samples are sent ($n1 stays $n2)"; else not_ok "after the reload no samples are sent" "$n1 -> $n2"; fi
finish
