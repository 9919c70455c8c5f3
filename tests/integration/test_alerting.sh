#!/usr/bin/env bash
# test_alerting.sh - alerting end to end against real peers: a rule fires
# in tinyprom and the alert reaches (a) a real Alertmanager 0.25 with its
# labels, annotations and startsAt, and is resolved there when the
# condition clears; (b) a plain HTTP endpoint configured as an
# Alertmanager receives exactly Alertmanager's v2 JSON.
. "$(dirname "$0")/lib.sh"
AM=$(command -v prometheus-alertmanager || true)
[ -n "$AM" ] || skip_all "prometheus-alertmanager is not installed"

am_port=$(free_port); hook_port=$(free_port); tp_port=$(free_port); files_port=$(free_port)
mkdir -p "$WORK/am" "$WORK/files" "$WORK/hook" "$WORK/data"

# a metric we control: flag 1 fires the alert, flag 0 clears it
echo "flag 1" > "$WORK/files/flag.prom"
bg files python3 -m http.server "$files_port" --bind 127.0.0.1 --directory "$WORK/files"

# the webhook: records every POST body
cat > "$WORK/hook.py" <<PY
import http.server, sys, os
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        n += 1
        # headers first, each file renamed into place once complete: the
        # test polls for req-*.json and must never see a partial one
        base = os.path.join(sys.argv[2], 'req-%03d' % n)
        with open(base + '.hdr.tmp', 'w') as f:
            f.write(self.path + '\n' + str(self.headers))
        os.rename(base + '.hdr.tmp', base + '.hdr')
        with open(base + '.json.tmp', 'wb') as f:
            f.write(body)
        os.rename(base + '.json.tmp', base + '.json')
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
bg hook python3 "$WORK/hook.py" "$hook_port" "$WORK/hook"

cat > "$WORK/am.yml" <<YML
route:
  receiver: blackhole
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: blackhole
YML
bg am "$AM" --config.file="$WORK/am.yml" --storage.path="$WORK/am" \
	--web.listen-address=127.0.0.1:$am_port --cluster.listen-address=

cat > "$WORK/rules.yml" <<YML
groups:
  - name: it
    interval: 1s
    rules:
      - alert: FlagRaised
        expr: flag == 1
        labels:
          severity: page
        annotations:
          summary: "flag on {{ \$labels.instance }} is {{ \$value }}"
YML
cat > "$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels:
    site: lab
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$am_port', '127.0.0.1:$hook_port']}]
scrape_configs:
  - job_name: flag
    metrics_path: /flag.prom
    static_configs: [{targets: ['127.0.0.1:$files_port']}]
YML
# the peers must listen before the first notification goes out (no retry,
# as Prometheus: a missed one is resent only after resend_delay, 1 min), so
# tinyprom starts only once all three answer, however long they take
tcp_up() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
retry 120 tcp_up "$hook_port"; retry 120 tcp_up "$files_port"
am_ready=0
wait_http "http://127.0.0.1:$am_port/-/ready" 120 && am_ready=1
bg tp "$TINYPROM" --config.file="$WORK/prometheus.yml" --web.listen-address=127.0.0.1:$tp_port \
	--storage.tsdb.path="$WORK/data"

if [ "$am_ready" -ne 1 ] || ! wait_http "http://127.0.0.1:$tp_port/-/ready" 120; then
	not_ok "tinyprom and Alertmanager start" "$(tail -5 "$WORK/tp.log")" "$(tail -5 "$WORK/am.log")"
	finish; exit 1
fi
ok "tinyprom and Alertmanager start"

am_alerts() { curl -fsS "http://127.0.0.1:$am_port/api/v2/alerts"; }
firing_in_am() {
	am_alerts | json 'a=[x for x in d if x["labels"].get("alertname")=="FlagRaised"]; assert len(a)==1'
}
if retry 120 firing_in_am; then ok "the alert reaches Alertmanager"; else not_ok "the alert reaches Alertmanager" "$(am_alerts)"; fi

got=$(am_alerts)
check "labels: alertname, severity, job, instance and the external label" json "
a=[x for x in d if x['labels'].get('alertname')=='FlagRaised'][0]
l=a['labels']
assert l['severity']=='page' and l['job']=='flag' and l['instance']=='127.0.0.1:$files_port' and l['site']=='lab', l
assert '__name__' not in l" <<<"$got"
check "annotations are expanded templates" json "
a=[x for x in d if x['labels'].get('alertname')=='FlagRaised'][0]
assert a['annotations']['summary']=='flag on 127.0.0.1:$files_port is 1', a['annotations']" <<<"$got"
# startsAt is when it started firing: the same instant tinyprom reports as activeAt (for: 0)
tp_active=$(curl -fsS "http://127.0.0.1:$tp_port/api/v1/alerts" | json 'print(d["data"]["alerts"][0]["activeAt"])')
check "startsAt equals tinyprom's activeAt ($tp_active)" json "
import datetime
a=[x for x in d if x['labels'].get('alertname')=='FlagRaised'][0]
p=lambda s: datetime.datetime.fromisoformat(s.replace('Z','+00:00'))
assert abs((p(a['startsAt'])-p('$tp_active')).total_seconds())<0.002, (a['startsAt'], '$tp_active')" <<<"$got"
check "generatorURL links to the expression" json "
a=[x for x in d if x['labels'].get('alertname')=='FlagRaised'][0]
assert '/graph?g0.expr=flag+%3D%3D+1' in a['generatorURL'], a['generatorURL']" <<<"$got"
# (the counter goes up once Alertmanager has answered, which may be just
# after the alert shows in its API: wait for it)
check "notification self-metrics: two Alertmanagers, alerts sent" retry 120 bash -c "
m=\$(curl -fsS http://127.0.0.1:$tp_port/metrics)
echo \"\$m\" | grep -qx 'prometheus_notifications_alertmanagers_discovered 2' &&
echo \"\$m\" | awk '/^prometheus_notifications_sent_total /{exit !(\$2 > 0)}'"
check "ALERTS series is written" bash -c "curl -fsS 'http://127.0.0.1:$tp_port/api/v1/query?query=ALERTS%7Balertstate%3D%22firing%22%7D' | grep -q FlagRaised"

# the webhook saw Alertmanager v2 requests
hook_ok() { ls "$WORK/hook"/req-*.json >/dev/null 2>&1; }
if retry 120 hook_ok; then ok "the webhook configured as an Alertmanager receives the alert"; else not_ok "the webhook configured as an Alertmanager receives the alert"; fi
first=$(ls "$WORK/hook"/req-*.json | head -1)
check "the webhook got POST /api/v2/alerts with Content-Type application/json" bash -c "
head -1 '${first%.json}.hdr' | grep -qx /api/v2/alerts && grep -qi '^Content-Type: application/json' '${first%.json}.hdr'"
check "the webhook body is Alertmanager's v2 alert array" json "
assert isinstance(d, list) and len(d)==1
a=d[0]
assert set(a)=={'labels','annotations','startsAt','endsAt','generatorURL'}, set(a)
assert a['labels']['alertname']=='FlagRaised' and a['labels']['site']=='lab'
import datetime
p=lambda s: datetime.datetime.fromisoformat(s.replace('Z','+00:00'))
assert p(a['endsAt'])>p(a['startsAt'])" <"$first"

# clear the condition: the alert is resolved in Alertmanager
echo "flag 0" > "$WORK/files/flag.prom"
resolved_in_am() {
	am_alerts | json 'a=[x for x in d if x["labels"].get("alertname")=="FlagRaised"]; assert len(a)==0'
}
if retry 120 resolved_in_am; then ok "the alert is resolved in Alertmanager when the condition clears"; else not_ok "the alert is resolved in Alertmanager when the condition clears" "$(am_alerts)"; fi
resolved_hook() {
	for f in "$WORK/hook"/req-*.json; do
		json "
import datetime
a=d[0]
p=lambda s: datetime.datetime.fromisoformat(s.replace('Z','+00:00'))
assert p(a['endsAt'])<=datetime.datetime.now(datetime.timezone.utc)" <"$f" && return 0
	done
	return 1
}
if retry 120 resolved_hook; then ok "the webhook receives the resolved alert (endsAt in the past)"; else not_ok "the webhook receives the resolved alert (endsAt in the past)"; fi
check "/api/v1/alerts lists no alert after resolution" bash -c "curl -fsS 'http://127.0.0.1:$tp_port/api/v1/alerts' | grep -q '\"alerts\":\[\]'"
finish
