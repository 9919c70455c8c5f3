#!/usr/bin/env bash
# test_crash.sh - kill -9 loses nothing tinyprom acknowledged. Two
# concurrent rw-loads (their commits share WAL batches) send remote-write
# requests without pause and log every sample that got a 2xx;
# tinyprom is SIGKILLed at random points (0.2-1.5 s after each run has had
# requests acknowledged) and restarted on
# the same data directory, with the default --storage.tsdb.wal-fsync (1s)
# and with "always"; at the end every acknowledged sample must be readable
# through remote read with its exact value. Also: an orderly SIGTERM then a
# restart loses nothing and the log says the WAL replay completed. "never"
# gets a shorter run: kill -9 loses nothing acknowledged in any mode.
# Then kill -9 at exact points (tinyprom kills itself there, see
# tsdb/killpoint.h): halfway through writing a chunk into a chunk file,
# and in a WAL checkpoint before and after its rename, with a checkpoint
# every second (--storage.tsdb.min-block-duration=1s).
. "$(dirname "$0")/lib.sh"
RWLOAD="$TP_BUILDDIR/tests/integration/rw-load"
[ -x "$RWLOAD" ] || skip_all "rw-load is not built"
KILLS=${KILLS:-8}
port=$(free_port)
TP="http://127.0.0.1:$port"
: > "$WORK/empty.yml"
run=0
# forget PID: a process we waited for is gone; drop it from lib.sh's
# cleanup list so the trap never signals a recycled PID
forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }

# start_tp DATA FSYNC: starts tinyprom as $cur (log $WORK/$cur.log), waits for /-/ready
start_tp() {
	run=$((run + 1)); cur=tp$run
	bg "$cur" "$TINYPROM" --config.file="$WORK/empty.yml" --web.listen-address=127.0.0.1:$port \
		--storage.tsdb.path="$1" --storage.tsdb.wal-fsync="$2" --web.enable-remote-write-receiver
	eval "curpid=\$PID_$cur"
	wait_http "$TP/-/ready" 120
}
kill9() { kill -9 "$curpid"; wait "$curpid" 2>/dev/null; forget "$curpid"; }
acked() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
acked_more() { [ "$(acked "$1")" -gt "$2" ]; }

# crash_cycle NAME FSYNC KILLS
crash_cycle() {
	local name=$1 fsync=$2 KILLS=$3 data="$WORK/data-$1" acked_f="$WORK/acked-$1" first=$((run + 1))
	local restarts_ok=0 replay_ok=0 grew=0 before after ms
	start_tp "$data" "$fsync" || { not_ok "$name: tinyprom starts" "$(tail -5 "$WORK/$cur.log")"; return; }
	bg "rw_$name" "$RWLOAD" write --url "$TP" --acked "$acked_f" --series 20
	eval "local rwpid=\$PID_rw_$name"
	# a second, concurrent writer (as remote-write shards are): its commits
	# share WAL batches with the first one's (group commit)
	bg "rw2_$name" "$RWLOAD" write --url "$TP" --acked "$acked_f.2" --series 7 --name rwload_b
	eval "local rwpid2=\$PID_rw2_$name"
	for i in $(seq "$KILLS"); do
		before=$(acked "$acked_f")
		# each run must acknowledge something before it is killed: wait
		# for that (up to 2 min; rw-load needs a moment to notice the
		# restart, more on a loaded machine), then kill at a random point
		retry 120 acked_more "$acked_f" "$before"
		ms=$((RANDOM % 1300 + 200))
		sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
		kill9
		after=$(acked "$acked_f")
		[ "$after" -gt "$before" ] && grew=$((grew + 1))
		start_tp "$data" "$fsync" && restarts_ok=$((restarts_ok + 1))
		grep -q 'msg="WAL replay completed"' "$WORK/$cur.log" && replay_ok=$((replay_ok + 1))
	done
	kill -TERM "$rwpid" "$rwpid2"
	wait "$rwpid"; local rwrc=$?; forget "$rwpid"
	wait "$rwpid2"; rwrc=$((rwrc + $?)); forget "$rwpid2"
	# the last acknowledged samples go through one more kill -9 as well
	kill9
	start_tp "$data" "$fsync" && restarts_ok=$((restarts_ok + 1))
	grep -q 'msg="WAL replay completed"' "$WORK/$cur.log" && replay_ok=$((replay_ok + 1))
	local want=$((KILLS + 1))
	if [ "$restarts_ok" -eq "$want" ] && [ "$replay_ok" -eq "$want" ]; then
		ok "$name: tinyprom restarted $want times after kill -9, each log says the WAL replay completed"
	else
		not_ok "$name: tinyprom restarted $want times after kill -9" "restarts=$restarts_ok replays=$replay_ok" \
			"$(tail -5 "$WORK/$cur.log")"
	fi
	if [ "$rwrc" -eq 0 ] && [ "$grew" -ge $((KILLS / 2)) ]; then
		ok "$name: rw-load had requests acknowledged between kills ($grew of $KILLS intervals, $(acked "$acked_f") samples)"
	else
		not_ok "$name: rw-load had requests acknowledged between kills" "rc=$rwrc grew=$grew" \
			"$(tail -3 "$WORK/rw_$name.log")"
	fi
	local out out2
	if out=$("$RWLOAD" verify --url "$TP" --acked "$acked_f") &&
		out2=$("$RWLOAD" verify --url "$TP" --acked "$acked_f.2" --name rwload_b); then
		ok "$name: every acknowledged sample of both writers is readable with its exact value ($(tail -1 <<<"$out"); $(tail -1 <<<"$out2"))"
	else
		not_ok "$name: every acknowledged sample of both writers is readable with its exact value" "$out" "${out2:-}"
	fi
	local repaired=0 r
	for r in $(seq "$first" "$run"); do grep -q 'WAL was repaired' "$WORK/tp$r.log" && repaired=$((repaired + 1)); done
	echo "# $name: $repaired of $KILLS restarts repaired a torn WAL tail"
	kill9
}

crash_cycle default 1s "$KILLS"
crash_cycle always always "$KILLS"
crash_cycle never never $(( (KILLS + 1) / 2 ))

# kill_point POINT: tinyprom runs with TINYPROM_TEST_KILL_AT=POINT under
# remote-write load until it kills itself there; it is restarted and every
# acknowledged sample must read back.
kill_point() {
	local point=$1 data="$WORK/data-kp-$1" acked_f="$WORK/acked-kp-$1" rc i=0
	run=$((run + 1)); cur=tp$run
	export TINYPROM_TEST_KILL_AT=$point
	bg "$cur" "$TINYPROM" --config.file="$WORK/empty.yml" --web.listen-address=127.0.0.1:$port \
		--storage.tsdb.path="$data" --web.enable-remote-write-receiver --storage.tsdb.min-block-duration=1s
	unset TINYPROM_TEST_KILL_AT
	eval "curpid=\$PID_$cur"
	wait_http "$TP/-/ready" 120 || { not_ok "kill at $point: tinyprom starts" "$(tail -5 "$WORK/$cur.log")"; return; }
	bg "rw_kp" "$RWLOAD" write --url "$TP" --acked "$acked_f" --series 20
	local rwpid=$PID_rw_kp
	while kill -0 "$curpid" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	wait "$curpid"; rc=$?; forget "$curpid"
	local before; before=$(acked "$acked_f")
	if start_tp "$data" 1s && [ "$rc" -eq 137 ]; then
		ok "kill at $point: tinyprom killed itself there (after $before acknowledged samples) and restarted"
	else
		not_ok "kill at $point: tinyprom killed itself there and restarted" "rc=$rc" "$(tail -3 "$WORK/$cur.log")"
	fi
	sleep 0.5
	kill -TERM "$rwpid"; wait "$rwpid"; forget "$rwpid"
	local out
	if out=$("$RWLOAD" verify --url "$TP" --acked "$acked_f"); then
		ok "kill at $point: every acknowledged sample is readable with its exact value ($(tail -1 <<<"$out"))"
	else
		not_ok "kill at $point: every acknowledged sample is readable with its exact value" "$out"
	fi
	grep -h 'repaired' "$WORK/$cur.log" | sed 's/^/# /'
	kill9
}
for p in chunk-write chunk-write:30 checkpoint-tmp checkpoint-tmp:3 checkpoint-renamed checkpoint-renamed:2; do
	kill_point "$p"
done

# orderly shutdown: SIGTERM, restart, nothing lost, replay completed, no repair
data="$WORK/data-term"; acked_f="$WORK/acked-term"
start_tp "$data" 1s
"$RWLOAD" write --url "$TP" --acked "$acked_f" --series 50 --requests 300 2>/dev/null
kill -TERM "$curpid"; wait "$curpid"; rc=$?; forget "$curpid"
termlog="$WORK/$cur.log"
if [ "$rc" -eq 0 ] && grep -q 'See you next time' "$termlog"; then
	ok "SIGTERM: tinyprom exits 0 after an orderly shutdown"
else
	not_ok "SIGTERM: tinyprom exits 0 after an orderly shutdown" "rc=$rc" "$(tail -3 "$termlog")"
fi
start_tp "$data" 1s
check "SIGTERM: the restart logs the WAL replay of all 15000 samples" \
	grep -q 'msg="WAL replay completed" series=50 samples=15000 ' "$WORK/$cur.log"
check "SIGTERM: the WAL needed no repair after an orderly shutdown" bash -c "! grep -q 'WAL was repaired' '$WORK/$cur.log'"
if out=$("$RWLOAD" verify --url "$TP" --acked "$acked_f"); then
	ok "SIGTERM: every acknowledged sample is readable after the restart ($(tail -1 <<<"$out"))"
else
	not_ok "SIGTERM: every acknowledged sample is readable after the restart" "$out"
fi
finish
