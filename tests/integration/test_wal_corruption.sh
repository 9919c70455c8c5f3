#!/usr/bin/env bash
# test_wal_corruption.sh - tinyprom never refuses to start over a damaged
# WAL: it keeps the longest consistent prefix, logs a warning naming the
# file and offset of what it dropped, and serves what was recoverable.
# Damage done between runs that end with kill -9 (an orderly shutdown
# moves every sample into the chunk files and checkpoints the WAL down to
# series records, so there would be nothing to damage), with fewer than
# 120 samples per series where the test needs the WAL to be the only copy
# (no chunk is cut into a chunk file): the last segment truncated in the
# middle of its last record, a bit flipped in the middle of a segment, a
# middle segment deleted (segments are cut by hand by creating the next,
# empty segment file: tinyprom continues writing in the newest segment),
# and the whole wal directory removed. What is served is checked sample by
# sample against rw-load's log of acknowledged writes. Damaged chunk files
# are tested in test_chunk_corruption.sh.
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
base=$(( $(date +%s) * 1000 - 600000 ))
SERIES=20

start_tp() {
	run=$((run + 1)); cur=tp$run
	bg "$cur" "$TINYPROM" --config.file="$WORK/empty.yml" --web.listen-address=127.0.0.1:$port \
		--storage.tsdb.path="$1" --web.enable-remote-write-receiver
	eval "curpid=\$PID_$cur"
	wait_http "$TP/-/ready" 120
}
stop_tp() { kill -TERM "$curpid"; wait "$curpid" 2>/dev/null; forget "$curpid"; }
kill9() { kill -9 "$curpid"; wait "$curpid" 2>/dev/null; forget "$curpid"; }
# write ACKED K REQUESTS [NAME]: requests start at base + K minutes, 1 ms apart
write() { "$RWLOAD" write --url "$TP" --acked "$1" --series $SERIES --start-ms $((base + $2 * 60000)) --requests "$3" --name "${4:-rwload}" 2>/dev/null; }
# verify ACKED [NAME]: sets found, missing, max_found_t, min_missing_t (and vout)
verify() {
	vout=$("$RWLOAD" verify --url "$TP" --acked "$1" --name "${2:-rwload}")
	local l; l=$(grep '^acked=' <<<"$vout")
	eval "$(tr ' ' '\n' <<<"$l" | grep -E '^(found|missing|max_found_t|min_missing_t)=[0-9]+$')"
}
# starts DESC DATA: tinyprom must start on the damaged directory
starts() {
	if start_tp "$2"; then ok "$1: tinyprom starts"; else not_ok "$1: tinyprom starts" "$(tail -5 "$WORK/$cur.log")"; fi
}
warned() { grep 'msg="WAL was repaired"' "$WORK/$cur.log"; }
# offset of the last record of a segment, and its total length
last_record() {
	python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read(); off = 0; last = None
while off + 9 <= len(b):
    n = struct.unpack_from('<I', b, off + 1)[0]
    last = (off, 9 + n); off += 9 + n
print(*last)
PY
}

# ---- 1. the last segment truncated in the middle of its last record
d="$WORK/d1"
start_tp "$d" && write "$WORK/a1" 0 200; kill9
read -r off len < <(last_record "$d/wal/00000000")
truncate -s $((off + len / 2)) "$d/wal/00000000"
starts "torn last record" "$d"
w=$(warned)
check "torn last record: a warning names the segment and the record's offset ($off)" \
	grep -q "wal/00000000: torn tail .* at offset $off;" <<<"$w"
verify "$WORK/a1"
if [ "$missing" -eq $SERIES ] && [ "$found" -eq $((199 * SERIES)) ] && [ "$max_found_t" -lt "$min_missing_t" ]; then
	ok "torn last record: only the last request's $SERIES samples are lost, everything before it is served"
else
	not_ok "torn last record: only the last request's samples are lost" "$vout"
fi
write "$WORK/a1b" 1 50
verify "$WORK/a1b"
check "torn last record: new writes are accepted and served after the repair" test "$missing" -eq 0
stop_tp

# ---- 2. a bit flipped in the middle of a segment
d="$WORK/d2"
start_tp "$d" && write "$WORK/a2" 0 110; kill9
seg="$d/wal/00000000"
# flip one bit in the payload of the record holding the segment's middle byte
# (a payload byte, so the damage is a CRC mismatch whatever the data)
# and count the sample records (type 2, one per request) before it
read -r rec before < <(python3 - "$seg" <<'PY'
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); mid = len(b) // 2; off = 0; k = 0
while True:
    n = struct.unpack_from('<I', b, off + 1)[0]
    if off + 9 + n > mid:
        break
    k += (b[off] & 0x0f) == 2
    off += 9 + n
b[off + 9 + n // 2] ^= 0x10
open(p, 'wb').write(b)
print(off, k)
PY
)
starts "bit flip mid-segment" "$d"
w=$(warned)
check "bit flip mid-segment: a warning names the segment, the damage and the record's offset ($rec)" \
	python3 -c "
import re, sys; m = re.search(r'wal/00000000: (.*) at offset (\d+); truncated there', sys.argv[1])
assert m and 'torn tail' not in m.group(1) and int(m.group(2)) == $rec, sys.argv[1]" "$w"
verify "$WORK/a2"
if [ "$found" -eq $((before * SERIES)) ] && [ "$missing" -gt 0 ] && [ "$max_found_t" -lt "$min_missing_t" ]; then
	ok "bit flip mid-segment: exactly the $before requests before the damaged record are served ($found of $((found + missing)) samples)"
else
	not_ok "bit flip mid-segment: the prefix before the damage is served" "$vout"
fi
stop_tp

# ---- 3. a middle segment deleted
d="$WORK/d3"
start_tp "$d" && write "$WORK/a3a" 0 100 rw3a; kill9
: > "$d/wal/00000001"
start_tp "$d" && write "$WORK/a3b" 1 100 rw3b; kill9
: > "$d/wal/00000002"
start_tp "$d" && write "$WORK/a3c" 2 100 rw3c; kill9
check "middle segment: three non-empty segments were written" \
	test -s "$d/wal/00000000" -a -s "$d/wal/00000001" -a -s "$d/wal/00000002"
rm -f "$d/wal/00000001"
starts "middle segment deleted" "$d"
check "middle segment deleted: a warning names the missing segment" \
	grep -q "wal/00000001: segment missing; dropped segment 00000002 and later" <<<"$(warned)"
verify "$WORK/a3a" rw3a; m1=$missing
verify "$WORK/a3b" rw3b; f2=$found
verify "$WORK/a3c" rw3c; f3=$found
if [ "$m1" -eq 0 ] && [ "$f2" -eq 0 ] && [ "$f3" -eq 0 ]; then
	ok "middle segment deleted: everything before the gap is served, nothing after it"
else
	not_ok "middle segment deleted: everything before the gap is served" "missing before=$m1 found in gap=$f2 after=$f3"
fi
check "middle segment deleted: the segments after the gap were removed" test ! -e "$d/wal/00000002"
kill9

# ---- 4. the whole wal directory removed (the chunk files hold nothing:
# no series reached 120 samples)
rm -rf "$d/wal"
starts "wal directory removed" "$d"
verify "$WORK/a3a" rw3a
check "wal directory removed: the head starts empty" test "$found" -eq 0
write "$WORK/a4" 3 50
verify "$WORK/a4"
check "wal directory removed: new writes are accepted and served" test "$missing" -eq 0
stop_tp
start_tp "$d"
verify "$WORK/a4"
check "wal directory removed: the new WAL replays after a restart" test "$missing" -eq 0
finish
