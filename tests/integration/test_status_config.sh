#!/usr/bin/env bash
# test_status_config.sh - /api/v1/status/config renders the loaded
# configuration as Prometheus 2.42 does (defaults filled, secrets hidden,
# yaml.v2 quoting and folding): tinyprom and a real Prometheus load the same
# files (tests/integration/status-config/*.yml, swapped in by /-/reload)
# and must answer byte-identical YAML.
. "$(dirname "$0")/lib.sh"
PROM=$(command -v prometheus || true)
[ -n "$PROM" ] || skip_all "prometheus is not installed"
FIXTURES="$TP_SRCDIR/tests/integration/status-config"

tp_port=$(free_port); prom_port=$(free_port)
TP="http://127.0.0.1:$tp_port"
PR="http://127.0.0.1:$prom_port"
mkdir -p "$WORK/tp" "$WORK/prom"
printf 'groups: []\n' >"$WORK/rules.yml"
printf '[]\n' >"$WORK/sd.json"
printf 'token\n' >"$WORK/tok"
cp "$FIXTURES/minimal.yml" "$WORK/cfg.yml"
bg tp "$TINYPROM" --config.file="$WORK/cfg.yml" --web.listen-address=127.0.0.1:$tp_port \
	--storage.tsdb.path="$WORK/tp" --web.enable-lifecycle
bg prom "$PROM" --config.file="$WORK/cfg.yml" --web.listen-address=127.0.0.1:$prom_port \
	--storage.tsdb.path="$WORK/prom" --web.enable-lifecycle
if ! wait_http "$TP/-/ready" 120 || ! wait_http "$PR/-/ready" 120; then
	not_ok "tinyprom and Prometheus start" "$(tail -3 "$WORK/tp.log")" "$(tail -3 "$WORK/prom.log")"
	finish; exit 1
fi
ok "tinyprom and Prometheus start"

yaml_of() { curl -fsS "$1/api/v1/status/config" | json 'sys.stdout.write(d["data"]["yaml"])'; }
for f in "$FIXTURES"/*.yml; do
	name=$(basename "$f")
	cp "$f" "$WORK/cfg.yml"
	if ! curl -fsS -X POST -o /dev/null "$TP/-/reload" || ! curl -fsS -X POST -o /dev/null "$PR/-/reload"; then
		not_ok "$name: both reload it" "$(tail -2 "$WORK/tp.log")" "$(tail -2 "$WORK/prom.log")"
		continue
	fi
	yaml_of "$TP" >"$WORK/tp.out"; yaml_of "$PR" >"$WORK/prom.out"
	if [ -s "$WORK/prom.out" ] && cmp -s "$WORK/tp.out" "$WORK/prom.out"; then
		ok "$name: /api/v1/status/config is byte-identical to Prometheus 2.42's"
	else
		not_ok "$name: /api/v1/status/config is byte-identical to Prometheus 2.42's" \
			"$(diff "$WORK/tp.out" "$WORK/prom.out" | head -20)"
	fi
	[ "$name" = full.yml ] && cp "$WORK/tp.out" "$WORK/full.out"
done
# full.yml has basic_auth password "p" and bearer_token "secret"
check "secrets are shown as <secret>, never in clear" bash -c "
grep -q '^    password: <secret>\$' '$WORK/full.out' && grep -q '^    credentials: <secret>\$' '$WORK/full.out' &&
! grep -Eq 'password: p\$|credentials: secret' '$WORK/full.out'"
finish
