#!/bin/sh
# test-cli.sh - make check: the promqltest command line itself (exit
# status, the known-failures gate, TAP output), on a small script with one
# passing and one failing eval. TAP.
builddir=${TP_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tp="$builddir/tinyprom"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/t.test" <<'T'
load 1m
  m 1 2 3

eval instant at 2m m
  m 3

eval instant at 2m m
  m 4

load 1m
  h {{schema:0 sum:1 count:1}}

eval instant at 1m h
  h 1
T
n=0
check() { # description, then a command that must succeed
	n=$((n + 1)); d=$1; shift
	if "$@" > "$tmp/out" 2>&1; then echo "ok $n - $d"; else echo "not ok $n - $d"; sed 's/^/# /' "$tmp/out"; fi
}
echo 1..9
check "a failing eval fails the run" sh -c "! '$tp' promqltest '$tmp/t.test'"
check "the summary line counts evals" sh -c "'$tp' promqltest '$tmp/t.test' | tail -1 | grep -qx '1 passed, 1 failed, 1 skipped'"
check "the failure names file:line, the expectation and the result" \
	sh -c "'$tp' promqltest '$tmp/t.test' | grep -q 't.test:7: eval instant at 2m m' && '$tp' promqltest '$tmp/t.test' | grep -q '    m 4' && '$tp' promqltest '$tmp/t.test' | grep -q 'problem: expected 4 for m but got 3'"
echo "t.test:7 deliberately wrong" > "$tmp/kf"
check "a listed failure passes the gate" "$tp" promqltest --known-failures "$tmp/kf" "$tmp/t.test"
echo "t.test:4 passes in fact" > "$tmp/kf2"
check "an unlisted failure fails the gate" sh -c "! '$tp' promqltest --known-failures '$tmp/kf2' '$tmp/t.test'"
check "a listed case that passes is named" sh -c "'$tp' promqltest --known-failures '$tmp/kf2' '$tmp/t.test' | grep -q 't.test:4 passes in fact'"
check "TAP: not ok for the file with an unlisted failure" sh -c "'$tp' promqltest --tap '$tmp/t.test' | grep -q '^not ok 1 - t.test: 1 passed, 1 failed, 1 skipped'"
check "TAP: ok with the list" sh -c "'$tp' promqltest --tap --known-failures '$tmp/kf' '$tmp/t.test' | grep -q '^ok 1 - t.test'"
printf 'load 1m\n  m 1\n\nbogus\n' > "$tmp/bad.test"
check "a file that does not parse fails" sh -c "! '$tp' promqltest '$tmp/bad.test' && '$tp' promqltest '$tmp/bad.test' | grep -q 'line 4: unknown command'"
