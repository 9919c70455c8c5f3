#!/usr/bin/env bash
# test_disk_full.sh - a write the WAL cannot take is not acknowledged, and
# nothing acknowledged is lost. tinyprom runs with a 1 MiB file size limit
# (RLIMIT_FSIZE, SIGXFSZ ignored: a write past it fails with EFBIG, as a
# full disk fails with ENOSPC). rw-load writes until the WAL segment is
# full: from then on remote write answers 500 with "write to WAL: ..."
# (Prometheus's wording), so the sender would retry, and the server stays
# up. A second writer creates new series while the log is failing; when
# the limit is lifted (prlimit, as when space is freed) its samples are
# acknowledged again, and its series records, which the failing commits
# could not write, reach the log with them. After an orderly stop and a
# restart without the limit every acknowledged sample of both writers
# reads back bit-exact.
. "$(dirname "$0")/lib.sh"
RWLOAD="$TP_BUILDDIR/tests/integration/rw-load"
[ -x "$RWLOAD" ] || skip_all "rw-load is not built"
command -v prlimit >/dev/null || skip_all "prlimit (util-linux) is not installed"
port=$(free_port)
TP="http://127.0.0.1:$port"
: > "$WORK/empty.yml"
data="$WORK/data"
forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }
acked() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

# the limit applies to the server only: a subshell sets it, then execs
# (a soft limit, which prlimit may lift later without privileges)
bg tp1 bash -c 'trap "" XFSZ; ulimit -S -f 1024; exec "$@"' limited "$TINYPROM" --config.file="$WORK/empty.yml" \
	--web.listen-address=127.0.0.1:$port --storage.tsdb.path="$data" --web.enable-remote-write-receiver
tp=$PID_tp1
if ! wait_http "$TP/-/ready" 120; then
	not_ok "tinyprom starts under a 1 MiB file size limit" "$(tail -5 "$WORK/tp1.log")"
	finish; exit
fi

# 500 series per request: the 1 MiB segment is full after ~350 requests
"$RWLOAD" write --url "$TP" --acked "$WORK/acked-a" --series 500 --requests 700 --step-ms 100 \
	> "$WORK/rw-a.log" 2>&1
rc=$?
a1=$(acked "$WORK/acked-a")
if [ "$rc" -eq 0 ] && [ "$a1" -gt 0 ] && grep -q "failed=[1-9]" "$WORK/rw-a.log" && grep -q "rejected=0" "$WORK/rw-a.log"; then
	ok "requests before the WAL filled up were acknowledged ($a1 samples), later ones failed, none was rejected as bad data"
else
	not_ok "requests were acknowledged, then failed once the WAL filled up" "rc=$rc acked=$a1" "$(tail -3 "$WORK/rw-a.log")"
fi
if grep -q 'msg="Error appending remote write" err="write to WAL: write segment [0-9]*: File too large"' "$WORK/tp1.log"; then
	ok "the failure is logged as Prometheus logs it, with the WAL's error"
else
	not_ok "the failure is logged with the WAL's error" "$(grep -m3 'level=error' "$WORK/tp1.log")"
fi
code=$(printf 'x' | curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H 'Content-Encoding: snappy' \
	-H 'Content-Type: application/x-protobuf' --data-binary @- "$TP/api/v1/write")
# an undecodable body is still a client error, not a storage one
if [ "$code" = 400 ] && curl -fsS -o /dev/null "$TP/-/ready"; then
	ok "the server stays up and still answers 400 to a bad request"
else
	not_ok "the server stays up and still answers 400 to a bad request" "code=$code"
fi

# a writer with new series while the log fails: nothing acknowledged (as
# many series per request as writer a, so no request fits in what is left
# under the limit; the unwritten series records stay pending and go out
# with every later commit)
"$RWLOAD" write --url "$TP" --acked "$WORK/acked-b" --series 500 --requests 20 --step-ms 100 --name fresh_series \
	> "$WORK/rw-b1.log" 2>&1
b1=$(acked "$WORK/acked-b")
if [ "$b1" -eq 0 ] && grep -q "failed=20" "$WORK/rw-b1.log"; then
	ok "new series while the WAL fails: all 20 requests failed, none acknowledged"
else
	not_ok "new series while the WAL fails: all requests failed" "acked=$b1" "$(tail -2 "$WORK/rw-b1.log")"
fi

# space comes back: the same writers are acknowledged again. Writer a
# goes on right after its last acknowledged sample: the failed requests'
# samples were dropped, so these are in order (a leftover sample at one
# of those timestamps would make them duplicates with other values: 400)
prlimit --pid "$tp" --fsize=unlimited
last_a=$(awk '$2 > m { m = $2 } END { print m }' "$WORK/acked-a")
"$RWLOAD" write --url "$TP" --acked "$WORK/acked-b" --series 500 --requests 20 --step-ms 100 --name fresh_series \
	> "$WORK/rw-b2.log" 2>&1
"$RWLOAD" write --url "$TP" --acked "$WORK/acked-a" --series 500 --requests 20 --step-ms 100 \
	--start-ms $((last_a + 100)) > "$WORK/rw-a2.log" 2>&1
b2=$(acked "$WORK/acked-b") a2=$(acked "$WORK/acked-a")
if [ "$b2" -eq 10000 ] && [ "$a2" -eq $((a1 + 10000)) ]; then
	ok "once the limit is lifted every request is acknowledged again (2 x 10000 samples)"
else
	not_ok "once the limit is lifted every request is acknowledged again" "b=$b2 a=$a2 (was $a1)" \
		"$(tail -2 "$WORK/rw-b2.log")"
fi

kill -TERM "$tp"
wait "$tp"
rc=$?
forget "$tp"
if [ "$rc" -eq 0 ]; then
	ok "an orderly stop after the failures exits 0"
else
	not_ok "an orderly stop after the failures exits 0" "rc=$rc" "$(tail -3 "$WORK/tp1.log")"
fi

bg tp2 "$TINYPROM" --config.file="$WORK/empty.yml" --web.listen-address=127.0.0.1:$port \
	--storage.tsdb.path="$data" --web.enable-remote-write-receiver
if wait_http "$TP/-/ready" 120; then
	for w in a b; do
		name=rwload
		[ "$w" = b ] && name=fresh_series
		if "$RWLOAD" verify --url "$TP" --acked "$WORK/acked-$w" --name "$name" > "$WORK/verify-$w.log" 2>&1; then
			ok "after a restart every acknowledged sample of writer $w reads back ($(head -1 "$WORK/verify-$w.log"))"
		else
			not_ok "after a restart every acknowledged sample of writer $w reads back" \
				"$(head -3 "$WORK/verify-$w.log")"
		fi
	done
else
	not_ok "tinyprom restarts without the limit" "$(tail -5 "$WORK/tp2.log")"
fi
finish
