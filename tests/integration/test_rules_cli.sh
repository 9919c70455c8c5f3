#!/usr/bin/env bash
# test_rules_cli.sh - tinyprom check rules / check config / test rules
# against promtool 2.42 on the same files: identical stdout, stderr and
# exit status. The SLO rule tests must pass under both.
. "$(dirname "$0")/lib.sh"
PROMTOOL=$(command -v promtool || true)
[ -n "$PROMTOOL" ] || skip_all "promtool is not installed"
FIX="$TP_SRCDIR/tests/rules/fixtures"
RULES="$TP_SRCDIR/tests/rules"

# same DESC DIR CMD...: runs "tinyprom CMD..." and "promtool CMD..." in DIR
same() {
	local desc=$1 dir=$2; shift 2
	(cd "$dir" && "$TINYPROM" "$@" >"$WORK/t.out" 2>"$WORK/t.err"; echo $? >"$WORK/t.rc")
	(cd "$dir" && "$PROMTOOL" "$@" >"$WORK/p.out" 2>"$WORK/p.err"; echo $? >"$WORK/p.rc")
	sed -i 's/^promtool: /tinyprom: /' "$WORK/p.err"  # the program's own name differs
	if cmp -s "$WORK/t.out" "$WORK/p.out" && cmp -s "$WORK/t.err" "$WORK/p.err" && cmp -s "$WORK/t.rc" "$WORK/p.rc"; then
		ok "$desc (exit $(cat "$WORK/t.rc"))"
	else
		not_ok "$desc" "exit tinyprom $(cat "$WORK/t.rc") promtool $(cat "$WORK/p.rc")" \
			"$(diff "$WORK/t.out" "$WORK/p.out" | head -5)" "$(diff "$WORK/t.err" "$WORK/p.err" | head -8)"
	fi
}

same "check rules: a good file" "$FIX" check rules good.yml
same "check rules: every rulefmt validation error with positions" "$FIX" check rules bad.yml
same "check rules: unknown keys are unmarshal errors" "$FIX" check rules unknown.yml
same "check rules: empty group name" "$FIX" check rules emptyname.yml
same "check rules: a broken annotation template" "$FIX" check rules badtmpl.yml
same "check rules: a bad duration" "$FIX" check rules baddur.yml
same "check rules: a wrong shape" "$FIX" check rules shape.yml
same "check rules: several files, one failing" "$FIX" check rules good.yml bad.yml
same "check rules: a missing file" "$FIX" check rules nonexistent.yml
same "check config: checks the rule files it names" "$FIX" check config config_with_rules.yml
same "check config: good config with good rules" "$FIX" check config config_good.yml
same "test rules: SLO burn-rate, error-ratio and latency alerts pass" "$RULES" test rules slo_test.yml
# the same tests with wrong expectations fail the same way
sed 's/9.091%/9.1%/; s/value: 4$/value: 5/; s/severity: ticket/severity: page/' "$RULES/slo_test.yml" >"$WORK/slo_fail_test.yml"
cp "$RULES/slo.rules.yml" "$WORK/"
same "test rules: failures are reported as promtool reports them" "$WORK" test rules slo_fail_test.yml
finish
