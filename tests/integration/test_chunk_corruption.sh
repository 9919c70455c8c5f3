#!/usr/bin/env bash
# test_chunk_corruption.sh - tinyprom never refuses to start over damaged
# chunk files (chunks_head/): it truncates a file at its first bad record
# or reports a missing file by name, logs a warning with file and offset,
# and serves everything else. Each case writes 400 samples for each of 20
# series (chunks are cut at 120 samples, so every series has chunks in the
# chunk files), stops tinyprom, damages a file and restarts. After an
# orderly stop the WAL holds no samples (they are all in chunk files), so
# exactly the samples of the damaged chunks are lost, and the test checks
# that number against the records it parsed from the file; after kill -9
# the WAL still holds every sample and nothing is lost. What is served is
# checked sample by sample against rw-load's log of acknowledged writes.
# --storage.tsdb.retention.size=256KB makes the chunk files 16 KiB (so
# there are several), far above what these writes store.
. "$(dirname "$0")/lib.sh"
RWLOAD="$TP_BUILDDIR/tests/integration/rw-load"
[ -x "$RWLOAD" ] || skip_all "rw-load is not built"
port=$(free_port)
TP="http://127.0.0.1:$port"
: > "$WORK/empty.yml"
run=0
forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /"); }
base=$(( $(date +%s) * 1000 - 600000 ))
SERIES=20

start_tp() {
	run=$((run + 1)); cur=tp$run
	bg "$cur" "$TINYPROM" --config.file="$WORK/empty.yml" --web.listen-address=127.0.0.1:$port \
		--storage.tsdb.path="$1" --web.enable-remote-write-receiver --storage.tsdb.retention.size=256KB
	eval "curpid=\$PID_$cur"
	wait_http "$TP/-/ready" 120
}
stop_tp() { kill -TERM "$curpid"; wait "$curpid" 2>/dev/null; forget "$curpid"; }
kill9() { kill -9 "$curpid"; wait "$curpid" 2>/dev/null; forget "$curpid"; }
write() { "$RWLOAD" write --url "$TP" --acked "$1" --series $SERIES --start-ms "$base" --requests 400 2>/dev/null; }
# verify ACKED: sets found, missing, min_missing_t (and vout)
verify() {
	vout=$("$RWLOAD" verify --url "$TP" --acked "$1")
	local l; l=$(grep '^acked=' <<<"$vout")
	eval "$(tr ' ' '\n' <<<"$l" | grep -E '^(found|missing|min_missing_t)=[0-9]+$')"
}
starts() {
	if start_tp "$2"; then ok "$1: tinyprom starts"; else not_ok "$1: tinyprom starts" "$(tail -5 "$WORK/$cur.log")"; fi
}
warned() { grep 'msg="Chunk files were repaired"' "$WORK/$cur.log"; }
# records FILE: one line per record: offset ref mint maxt data_offset len samples
records() {
	python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
def uv(o):
    x = s = 0
    while True:
        c = b[o]; o += 1; x |= (c & 0x7f) << s; s += 7
        if c < 0x80:
            return x, o
o = 8
while o < len(b) and b[o]:
    st = o
    ref, o = uv(o); zm, o = uv(o); d, o = uv(o); o += 1; ln, o = uv(o)
    mint = (zm >> 1) ^ -(zm & 1)
    print(st, ref, mint, mint + d, o, ln, ((b[o] << 8) | b[o + 1]) & 0x7fff)
    o += ln + 4
PY
}
# a data directory with the 400 samples of 20 series; STOP is stop_tp or kill9
fresh() {
	d="$WORK/$1"
	start_tp "$d" && write "$WORK/$1.acked"
	$2
	ls "$d/chunks_head" | grep -E '^[0-9]{6}$' > "$WORK/$1.files"
}

# ---- 1. torn tail of the last chunk file after kill -9: the WAL has it all
fresh k1 kill9
last=$(tail -1 "$WORK/k1.files")
read -r off _ _ _ _ len _ < <(records "$d/chunks_head/$last" | tail -1)
truncate -s $((off + len / 2)) "$d/chunks_head/$last"
starts "torn chunk file after kill -9" "$d"
check "torn chunk file after kill -9: a warning names the file and the record's offset ($off)" \
	grep -q "chunks_head/$last: torn tail (partial record) at offset $off;" <<<"$(warned)"
verify "$WORK/k1.acked"
check "torn chunk file after kill -9: every acknowledged sample is served (the WAL replays the chunk) ($found)" \
	test "$missing" -eq 0 -a "$found" -eq $((400 * SERIES))
stop_tp

# ---- 2. torn tail after an orderly stop: exactly that chunk's samples are lost
fresh t2 stop_tp
last=$(tail -1 "$WORK/t2.files")
read -r off _ mint _ _ len ns < <(records "$d/chunks_head/$last" | tail -1)
truncate -s $((off + len / 2)) "$d/chunks_head/$last"
starts "torn chunk file after an orderly stop" "$d"
check "torn chunk file after an orderly stop: a warning names the file and the record's offset ($off)" \
	grep -q "chunks_head/$last: torn tail (partial record) at offset $off;" <<<"$(warned)"
verify "$WORK/t2.acked"
if [ "$missing" -eq "$ns" ] && [ "$min_missing_t" -eq "$mint" ] && [ "$found" -eq $((400 * SERIES - ns)) ]; then
	ok "torn chunk file after an orderly stop: only the $ns samples of the torn chunk are lost"
else
	not_ok "torn chunk file after an orderly stop: only the torn chunk's samples are lost" "ns=$ns mint=$mint" "$vout"
fi
stop_tp
start_tp "$d"
check "torn chunk file: the next start needs no repair" test -z "$(warned)"
stop_tp

# ---- 3. a bit flipped in a record in the middle of the first chunk file
fresh c3 stop_tp
check "several chunk files were written ($(wc -l < "$WORK/c3.files"))" test "$(wc -l < "$WORK/c3.files")" -ge 3
first=$(head -1 "$WORK/c3.files")
records "$d/chunks_head/$first" > "$WORK/c3.recs"
n=$(wc -l < "$WORK/c3.recs")
k=$((n / 2 + 1))
read -r off _ _ _ doff len _ < <(sed -n "${k}p" "$WORK/c3.recs")
lost=$(tail -n +"$k" "$WORK/c3.recs" | awk '{s += $7} END {print s}')
python3 - "$d/chunks_head/$first" "$((doff + len / 2))" <<'PY'
import sys
p, at = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read()); b[at] ^= 0x10; open(p, 'wb').write(b)
PY
starts "bit flip in a chunk file" "$d"
check "bit flip in a chunk file: a warning names the file, a CRC mismatch and the record's offset ($off)" \
	grep -q "chunks_head/$first: CRC mismatch at offset $off; truncated there" <<<"$(warned)"
verify "$WORK/c3.acked"
if [ "$missing" -eq "$lost" ] && [ "$found" -eq $((400 * SERIES - lost)) ]; then
	ok "bit flip in a chunk file: only the $lost samples of the chunks from the damaged record to the end of that file are lost"
else
	not_ok "bit flip in a chunk file: only the chunks from the damaged record on are lost" "lost=$lost" "$vout"
fi
check "bit flip in a chunk file: prometheus_tsdb_mmap_chunk_corruptions_total is 1" \
	grep -q '^prometheus_tsdb_mmap_chunk_corruptions_total 1$' <<<"$(curl -fsS "$TP/metrics")"
stop_tp

# ---- 4. a chunk file missing from the middle
fresh m4 stop_tp
second=$(sed -n 2p "$WORK/m4.files")
lost=$(records "$d/chunks_head/$second" | awk '{s += $7} END {print s}')
rm -f "$d/chunks_head/$second"
starts "missing chunk file" "$d"
check "missing chunk file: a warning names the file ($second)" \
	grep -q "chunks_head/$second: chunk file missing; its chunks are lost" <<<"$(warned)"
verify "$WORK/m4.acked"
if [ "$missing" -eq "$lost" ] && [ "$found" -eq $((400 * SERIES - lost)) ]; then
	ok "missing chunk file: only its $lost samples are lost, the other files are served"
else
	not_ok "missing chunk file: only its samples are lost" "lost=$lost" "$vout"
fi
stop_tp
start_tp "$d"
check "missing chunk file: the next start needs no repair (an empty file took its place)" test -z "$(warned)"
verify "$WORK/m4.acked"
check "missing chunk file: the same samples are served after that restart" test "$found" -eq $((400 * SERIES - lost))
finish
