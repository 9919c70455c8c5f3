#!/usr/bin/env bash
# test_retention.sh - --storage.tsdb.retention.time drops old samples:
# 1. samples written 2h ago under the default retention are no longer
#    served right after a restart with --storage.tsdb.retention.time=1h
#    (replay brings them back from the WAL; start-up applies retention),
#    samples within the hour are, and new samples older than the
#    retention boundary are rejected (out of bounds, as Prometheus).
# 2. while running, samples that age past a 5s retention are gone after
#    the first retention tick (the server runs it every 60 s, so this part
#    takes about a minute; there is no Prometheus flag to shorten it).
# 3. --storage.tsdb.retention.size=512KB: once the WAL and the chunk files
#    together exceed it, the oldest chunk files are deleted (with the
#    chunks they hold): the oldest samples go, the newest stay, the
#    storage fits the limit, the prometheus_tsdb_* retention metrics say
#    so, and a restart brings nothing back. --storage.tsdb.min-block-duration=1s
#    makes the retention check run every second (as in Prometheus, a
#    testing flag).
. "$(dirname "$0")/lib.sh"
RWLOAD="$TP_BUILDDIR/tests/integration/rw-load"
[ -x "$RWLOAD" ] || skip_all "rw-load is not built"
port=$(free_port)
TP="http://127.0.0.1:$port"
: > "$WORK/empty.yml"
run=0
# forget PID: a process we waited for is gone; drop it from lib.sh's
# cleanup list so the trap never signals a recycled PID
forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }
now=$(( $(date +%s) * 1000 ))

# start_tp DATA [FLAGS...]
start_tp() {
	local d=$1; shift
	run=$((run + 1)); cur=tp$run
	bg "$cur" "$TINYPROM" --config.file="$WORK/empty.yml" --web.listen-address=127.0.0.1:$port \
		--storage.tsdb.path="$d" --web.enable-remote-write-receiver "$@"
	eval "curpid=\$PID_$cur"
	wait_http "$TP/-/ready" 120
}
stop_tp() { kill -TERM "$curpid"; wait "$curpid" 2>/dev/null; forget "$curpid"; }
verify() {
	vout=$("$RWLOAD" verify --url "$TP" --acked "$1" --name "$2")
	local l; l=$(grep '^acked=' <<<"$vout")
	eval "$(tr ' ' '\n' <<<"$l" | grep -E '^(found|missing)=[0-9]+$')"
}

# ---- 1. retention at start-up
d="$WORK/d1"
start_tp "$d"
"$RWLOAD" write --url "$TP" --acked "$WORK/old" --name rt_old --series 10 --requests 100 --start-ms $((now - 7200000)) 2>/dev/null
"$RWLOAD" write --url "$TP" --acked "$WORK/new" --name rt_new --series 10 --requests 100 --start-ms $((now - 600000)) 2>/dev/null
verify "$WORK/old" rt_old; o=$missing
verify "$WORK/new" rt_new
check "samples from 2h ago and 10 min ago are stored under the default retention (15d)" test "$o" -eq 0 -a "$missing" -eq 0
stop_tp
if start_tp "$d" --storage.tsdb.retention.time=1h; then ok "restart with --storage.tsdb.retention.time=1h"
else not_ok "restart with --storage.tsdb.retention.time=1h" "$(tail -3 "$WORK/$cur.log")"; fi
verify "$WORK/old" rt_old
check "samples older than the retention are not served right after the restart" test "$found" -eq 0
verify "$WORK/new" rt_new
check "samples within the retention are still served" test "$missing" -eq 0
if "$RWLOAD" write --url "$TP" --acked "$WORK/old2" --name rt_old --series 10 --requests 1 \
	--start-ms $((now - 7200000 + 1000)) 2>"$WORK/old2.err"; then
	not_ok "a new sample older than the retention is rejected" "it was acknowledged"
else
	check "a new sample older than the retention is rejected (out of bounds)" grep -q "out of bounds" "$WORK/old2.err"
fi
stop_tp

# ---- 2. the retention tick while running
d="$WORK/d2"
start_tp "$d" --storage.tsdb.retention.time=5s
t0=$(date +%s)
"$RWLOAD" write --url "$TP" --acked "$WORK/tick" --name rt_tick --series 10 --requests 100 2>/dev/null
verify "$WORK/tick" rt_tick
check "fresh samples are served before the retention tick" test "$missing" -eq 0
gone() { verify "$WORK/tick" rt_tick; [ "$found" -eq 0 ]; }
if retry 180 gone; then ok "samples older than 5s are gone after the first retention tick ($(( $(date +%s) - t0 ))s)"
else not_ok "samples older than 5s are gone after the first retention tick" "$vout"; fi
stop_tp

# ---- 3. retention by size
d="$WORK/d3"
start_tp "$d" --storage.tsdb.retention.size=512KB --storage.tsdb.min-block-duration=1s
# 50 series x 3000 samples of values that compress poorly (~1 MB of chunks),
# then the newest 100 samples per series in a log of their own
"$RWLOAD" write --url "$TP" --acked "$WORK/size_old" --name rt_size --series 50 --requests 3000 \
	--start-ms $((now - 3600000)) 2>/dev/null
"$RWLOAD" write --url "$TP" --acked "$WORK/size_new" --name rt_size --series 50 --requests 100 \
	--start-ms $((now - 3600000 + 3000)) 2>/dev/null
sized() { grep -q 'msg="Deleting chunk files: size retention"' "$WORK/$cur.log"; }
if retry 120 sized; then ok "size retention deleted chunk files: $(grep -o 'files=[0-9]*' "$WORK/$cur.log" | head -1)"
else not_ok "size retention deleted chunk files" "$(tail -3 "$WORK/$cur.log")"; fi
metric() { curl -fsS "$TP/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
check "prometheus_tsdb_retention_limit_bytes is 524288" test "$(metric prometheus_tsdb_retention_limit_bytes)" = 524288
check "prometheus_tsdb_size_retentions_total counts the deletions" test "$(metric prometheus_tsdb_size_retentions_total)" -ge 1
# the next retention check (every second here) after the last write brings it under
stored() { python3 -c "print(int(float('$(metric prometheus_tsdb_storage_blocks_bytes)') + float('$(metric prometheus_tsdb_wal_storage_size_bytes)')))"; }
fits() { [ "$(stored)" -le 524288 ]; }
if retry 120 fits; then ok "chunk files and WAL fit the limit ($(stored) bytes)"
else not_ok "chunk files and WAL fit the limit" "$(stored) bytes"; fi
# the WAL and chunk file self-metrics (a checkpoint every second here; the
# WAL's periodic fsync comes 1 s after the first write, which may be after
# the size retention on a fast machine: each is waited for, up to 2 min)
positive() { python3 -c "assert float('$(metric "$1")') > 0"; }
for m in prometheus_tsdb_checkpoint_creations_total prometheus_tsdb_wal_truncations_total \
	prometheus_tsdb_wal_page_flushes_total prometheus_tsdb_wal_fsync_duration_seconds_count \
	prometheus_tsdb_head_chunks_storage_size_bytes prometheus_tsdb_head_chunks; do
	retry 120 positive "$m"
	check "$m is positive ($(metric "$m"))" positive "$m"
done
for m in prometheus_tsdb_wal_writes_failed_total prometheus_tsdb_wal_corruptions_total \
	prometheus_tsdb_checkpoint_creations_failed_total prometheus_tsdb_mmap_chunk_corruptions_total; do
	check "$m is 0" test "$(metric "$m")" = 0
done
verify "$WORK/size_old" rt_size; old_found=$found
check "the oldest samples are gone ($missing of $((found + missing)) missing)" test "$missing" -gt 0
verify "$WORK/size_new" rt_size
check "the newest samples are all served" test "$missing" -eq 0
stop_tp
start_tp "$d" --storage.tsdb.retention.size=512KB --storage.tsdb.min-block-duration=1s
verify "$WORK/size_old" rt_size
check "after a restart nothing deleted comes back ($found served, $old_found before)" test "$found" -le "$old_found"
verify "$WORK/size_new" rt_size
check "after a restart the newest samples are still served" test "$missing" -eq 0
stop_tp
finish
