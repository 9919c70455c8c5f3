#!/usr/bin/env bash
# test_grafana.sh - Grafana's calls to a Prometheus data source, replayed
# against tinyprom with the methods, parameters and headers Grafana 10's
# backend sends (COMPAT.md 1.5-1.6), with checks on what Grafana parses:
# the "Save & test" health check (1+1 at time=4, then buildinfo), the
# exemplars availability probe (start/end in milliseconds), panel queries
# (POST form-encoded query_range, with timeout and gzip), the metrics
# browser (label names, __name__ values and series with limit=40000, also
# with match[]), template variables, metadata for the query editor, and a
# query error as Grafana shows it ("<errorType>: <error>").
# The data: tinyprom scrapes itself, and rw-load writes rr_grafana series.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is not installed"

port=$(free_port)
TP="http://127.0.0.1:$port"
mkdir -p "$WORK/data"
cat >"$WORK/tp.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: tinyprom
    static_configs: [{targets: ['127.0.0.1:$port']}]
YML
bg tp "$TINYPROM" --config.file="$WORK/tp.yml" --web.listen-address=127.0.0.1:$port \
	--storage.tsdb.path="$WORK/data" --web.enable-remote-write-receiver
if ! wait_http "$TP/-/ready" 120; then
	not_ok "tinyprom starts" "$(tail -5 "$WORK/tp.log")"
	finish; exit 1
fi
ok "tinyprom starts"

now=$(date +%s)
start=$(( (now - 120) / 15 * 15 ))
"$TP_BUILDDIR/tests/integration/rw-load" write --url "$TP" --acked "$WORK/acked" --name rr_grafana \
	--series 3 --requests 120 --start-ms $(( start * 1000 )) --step-ms 1000 >"$WORK/rw.log" 2>&1
check "rw-load wrote the rr_grafana series" grep -q 'rejected=0' "$WORK/rw.log"
# until the self-scrape has produced samples and metadata
retry 120 bash -c "curl -fsS '$TP/api/v1/metadata' | grep -q prometheus_http_requests_total"
# a scrape records metadata while parsing, before its samples commit: wait for up itself
retry 120 bash -c "curl -fsS '$TP/api/v1/query?query=up' | grep -q '\"job\":\"tinyprom\"'"

# The replay. Each call: name, method, path, form body (POST) and checks.
# It continues this script's TAP numbering and prints the plan.
python3 - "$TP" "$start" "$(( start + 120 ))" "$_n" "$_failed" <<'PY'
import gzip, json, sys, time, urllib.error, urllib.parse, urllib.request
base, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n, failed = int(sys.argv[4]), int(sys.argv[5])

# Headers of Grafana 10's backend data source proxy and query path
GRAFANA = {
    "User-Agent": "Grafana/10.4.1",
    "Accept-Encoding": "gzip",
    "X-Grafana-Org-Id": "1",
    "X-Dashboard-Uid": "abc123",
    "X-Panel-Id": "2",
    "X-Grafana-Cache": "skip",
}

def call(method, path, form=None):
    data = None
    headers = dict(GRAFANA)
    if form is not None:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        r = urllib.request.urlopen(req, timeout=30)
    except urllib.error.HTTPError as e:
        r = e
    raw = r.read()
    gz = r.headers.get("Content-Encoding") == "gzip"
    if gz:
        raw = gzip.decompress(raw)
    return r.status, r.headers, raw.decode(), gz

def check(name, cond, detail=""):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} - {name}")
    else:
        failed += 1
        print(f"not ok {n} - {name}")
        for line in str(detail)[:600].splitlines():
            print(f"# {line}")

def success(name, method, path, form=None):
    """A call Grafana needs to succeed; returns data (or None)."""
    status, headers, text, gz = call(method, path, form)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = {}
    ok = status == 200 and headers.get("Content-Type", "").startswith("application/json") and doc.get("status") == "success"
    check(f"{name}: 200, JSON, status success", ok, f"{status} {text[:300]}")
    if len(text) > 1024:  # Go's client asks for gzip; tinyprom compresses
        check(f"{name}: gzip-encoded", gz)
    return doc.get("data"), text

# 1. "Save & test": instant 1+1 at time=4 (POST, the default httpMethod), then buildinfo
data, text = success("health check 1+1 at time=4", "POST", "/api/v1/query", {"query": "1+1", "time": "4"})
check("health check result is scalar [4,\"2\"]", data == {"resultType": "scalar", "result": [4, "2"]}, text)
data, text = success("health check via GET", "GET", "/api/v1/query?query=1%2B1&time=4")
data, text = success("buildinfo", "GET", "/api/v1/status/buildinfo")
check("buildinfo: version is a string, no features (not taken for Mimir)",
      isinstance((data or {}).get("version"), str) and "features" not in (data or {}), text)

# 2. the exemplars probe at start-up: query=test, start/end in milliseconds
data, text = success("exemplars probe (ms timestamps)", "GET",
                     f"/api/v1/query_exemplars?query=test&start={start * 1000}&end={end * 1000}")
check("exemplars probe: data is a list", isinstance(data, list), text)

# 3. a panel: POST form-encoded query_range, step aligned, with Grafana's timeout
form = {"query": 'rate(rr_grafana{series=~"0|1"}[1m])', "start": str(start + 60), "end": str(end),
        "step": "15", "timeout": "60s"}
data, text = success("panel query_range (POST, form)", "POST", "/api/v1/query_range", form)
res = (data or {}).get("result", [])
check("panel: resultType precedes result in the body", text.find('"resultType"') < text.find('"result"'), text)
check("panel: matrix of 2 series", (data or {}).get("resultType") == "matrix" and len(res) == 2, text)
pts = res[0]["values"] if res else []
check("panel: one point per 15 s step, times aligned, values as strings",
      len(pts) == 5 and all(p[0] == start + 60 + 15 * i for i, p in enumerate(pts)) and
      all(isinstance(p[1], str) for p in pts), pts)
check("panel: series labels without __name__ after rate", res and "__name__" not in res[0]["metric"], res[:1])
# annotations use a 60 s step; an instant query at the range's end for the table view
data, text = success("annotation query_range (step 60)", "POST", "/api/v1/query_range",
                     {"query": "rr_grafana", "start": str(start), "end": str(end), "step": "60"})
check("annotation: 3 series", len((data or {}).get("result", [])) == 3, text)
data, text = success("instant query at the range end", "POST", "/api/v1/query",
                     {"query": "sum(rr_grafana)", "time": str(end)})
check("instant: a one-element vector", (data or {}).get("resultType") == "vector" and
      len(data["result"]) == 1 and isinstance(data["result"][0]["value"][1], str), text)

# 4. the metrics browser and autocomplete
data, text = success("label names", "GET", f"/api/v1/labels?start={start}&end={end}")
check("label names: sorted, with __name__, job, series", data == sorted(data or []) and
      {"__name__", "job", "series"} <= set(data or []), text)
data, text = success("metric names (__name__ values, limit=40000)", "GET",
                     f"/api/v1/label/__name__/values?start={start}&end={end}&limit=40000")
check("metric names: sorted, rr_grafana and up among them",
      data == sorted(data or []) and "rr_grafana" in data and "up" in data, text)
q = urllib.parse.urlencode({"match[]": 'rr_grafana{series!="2"}', "start": start, "end": end, "limit": 40000})
data, text = success("label values with match[] (ad-hoc filter)", "GET", f"/api/v1/label/series/values?{q}")
check("label values with match[]: [\"0\",\"1\"]", data == ["0", "1"], text)
data, text = success("label values limit=2", "GET", f"/api/v1/label/__name__/values?limit=2")
check("label values limit=2: truncated with the warning",
      len(data or []) == 2 and "results truncated due to limit" in text, text)
form = {"match[]": '{__name__="rr_grafana"}', "start": str(start), "end": str(end), "limit": "40000"}
data, text = success("series (POST, limit=40000)", "POST", "/api/v1/series", form)
check("series: 3 label sets", len(data or []) == 3 and all(d["__name__"] == "rr_grafana" for d in data), text)
data, text = success("labels with match[] (POST)", "POST", "/api/v1/labels",
                     {"match[]": "rr_grafana", "start": str(start), "end": str(end)})
check("labels with match[]: [__name__, series]", data == ["__name__", "series"], text)

# 5. template variables: label_values(up, job) and query_result(...)
# (the self-scrape began after end: this dashboard's range is the last 10 minutes)
# end one second ahead: the first scrape's sample may lie in the current second,
# after a truncated now, and series are matched by samples in [start, end]
now = int(time.time()) + 1
q = urllib.parse.urlencode({"match[]": "up", "start": now - 600, "end": now})
data, text = success("label_values(up, job)", "GET", f"/api/v1/label/job/values?{q}")
check("label_values(up, job): [tinyprom]", data == ["tinyprom"], text)
data, text = success("query_result(count(rr_grafana))", "POST", "/api/v1/query",
                     {"query": "count(rr_grafana)", "time": str(end)})
check("query_result: 3", data and data["result"][0]["value"][1] == "3", text)

# 6. metadata for the query editor (GET, no parameters) and per metric
data, text = success("metadata", "GET", "/api/v1/metadata")
md = (data or {}).get("prometheus_http_requests_total", [{}])[0]
check("metadata: type, help and unit strings", md.get("type") == "counter" and
      isinstance(md.get("help"), str) and md.get("unit") == "", text[:300])
data, text = success("metadata for one metric", "GET", "/api/v1/metadata?metric=process_cpu_seconds_total")
check("metadata for one metric: only it", list((data or {}).keys()) == ["process_cpu_seconds_total"], text)

# 7. errors Grafana shows as "<errorType>: <error>"
status, headers, text, gz = call("POST", "/api/v1/query_range",
                                 {"query": "rate(rr_grafana[1m]", "start": str(start), "end": str(end), "step": "15"})
doc = json.loads(text)
check("a syntax error: 400 bad_data with invalid parameter \"query\"",
      status == 400 and doc.get("status") == "error" and doc.get("errorType") == "bad_data" and
      doc.get("error", "").startswith('invalid parameter "query": '), text)
status, headers, text, gz = call("POST", "/api/v1/query_range",
                                 {"query": "up", "start": str(start), "end": str(start + 20000), "step": "1"})
check("too many points: 400 with Prometheus's text", status == 400 and
      "exceeded maximum resolution of 11,000 points" in text, text)

print(f"1..{n}")
sys.exit(1 if failed else 0)
PY
