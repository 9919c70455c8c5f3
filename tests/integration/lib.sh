# lib.sh - shared helpers for integration tests (sourced): TAP output,
# free ports, waiting for HTTP, starting processes that are always stopped.
# Every test starts its peers on 127.0.0.1 and stops what it started.
set -u
TP_BUILDDIR=${TP_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TP_SRCDIR=${TP_SRCDIR:-$TP_BUILDDIR}
TINYPROM="$TP_BUILDDIR/tinyprom"
WORK=$(mktemp -d /tmp/tp-it.XXXXXX)
PIDS=""
_n=0
_failed=0

cleanup() {
	[ -n "${KEEP_WORK:-}" ] && cp -r "$WORK" /tmp/tp-it-last 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
# INT and TERM end the script (the EXIT trap then cleans up): a script that
# went on after its peers were stopped would spend minutes in its waits
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { _n=$((_n + 1)); echo "ok $_n - $1"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# check DESC CMD...: ok when CMD succeeds
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d" "command failed: $*"; fi; }
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
finish() { echo "1..$_n"; [ "$_failed" -eq 0 ]; }

# free_port: a port nothing listens on, for a server this script starts.
# Not one the kernel hands out by itself (bind to port 0 picks from
# ip_local_port_range, which is also where every outgoing connection on
# the machine takes its source port, so such a port can be taken again
# before our server binds it), and never one this script already got
# (two free_port calls in a row may otherwise return the same port).
free_port() {
	python3 - "$WORK/.ports" <<'PY'
import os, random, socket, sys
try:
    lo = int(open('/proc/sys/net/ipv4/ip_local_port_range').read().split()[0])
except (OSError, ValueError):
    lo = 32768
lo = max(lo, 12000)
used = set(open(sys.argv[1]).read().split()) if os.path.exists(sys.argv[1]) else set()
for _ in range(10000):
    p = random.randrange(10000, lo)
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', p))
    except OSError:
        continue
    finally:
        s.close()
    open(sys.argv[1], 'a').write('%d\n' % p)
    print(p)
    break
else:
    sys.exit('free_port: no free port')
PY
}

# wait_http URL [SECONDS]: until the URL answers 2xx. Waits are generous
# (they end as soon as the condition holds): a loaded machine or a
# sanitizer build may take many times longer than an idle one.
wait_http() {
	local i=0 max=$(( ${2:-120} * 10 ))
	while [ $i -lt $max ]; do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# retry SECONDS CMD...: until CMD succeeds (give it a generous budget:
# it only costs time when CMD never succeeds)
retry() {
	local i=0 max=$(( $1 * 5 )); shift
	while [ $i -lt $max ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2; i=$((i + 1))
	done
	return 1
}

# bg NAME CMD...: starts CMD in the background, logging to $WORK/NAME.log
bg() {
	local name=$1; shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$name=$!"
}

# jq-free JSON checks with python3
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
