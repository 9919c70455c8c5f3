#!/usr/bin/env python3
# draft-known-failures.py DRAFT UPSTREAM_DIR > known-failures.txt
# Turns the raw list written by `tinyprom promqltest --write-failures DRAFT`
# into known-failures.txt lines with grouped reasons. The rules below were
# written after reading samples of each group's failure reports; anything
# no rule explains keeps the runner's first problem as its reason ("engine:
# wrong result: ..."), to be looked at by hand. Not part of make check.
import os, re, sys
from collections import OrderedDict

draft, updir = sys.argv[1], sys.argv[2]
files = {}

def eval_line(f, n):
    if f not in files:
        files[f] = open(os.path.join(updir, f)).read().split("\n")
    return files[f][n - 1].strip() if n > 0 else ""

def reason(f, n, raw):
    q = eval_line(f, n)
    m = re.search(r'unknown function with name "(\w+)"', raw)
    if m:
        fn = m.group(1)
        if fn in ("fill", "fill_left", "fill_right"):
            return "parser: binary-operator fill modifiers (fill/fill_left/fill_right) not supported"
        if fn in ("start", "end", "range", "step", "min_of", "max_of"):
            return "parser: function %s() not implemented (new in 3.x)" % fn
        return "parser: function %s() not implemented" % fn
    if re.search(r'unexpected identifier "(anchored|smoothed)"', raw):
        return "parser: extended range selectors (anchored/smoothed) not supported"
    if "experimental duration expression is not enabled" in raw or (
            f == "duration_expression.test" and "parse error" in raw):
        # the parser refuses them whatever the option says (parse.c)
        return "parser: duration expressions (promql-duration-expr) not implemented"
    if f == "start_timestamps.test":
        return "start timestamps (@st lines) not modelled by the runner or tsdb"
    if f == "type_and_unit.test":
        return "engine: __type__/__unit__ labels not handled (type-and-unit-labels feature)"
    if f == "info.test":
        if "expected an error" in raw:
            return "engine: info() does not fail on conflicting info-metric labels"
        return "engine: info() does not add the info metric's data labels"
    if f == "name_label_dropping.test":
        return "engine: delayed __name__ removal not implemented (%s)" % raw
    if "label_join(" in q:
        return "engine: label_join drops the first source label"
    if 'label_replace(' in q and "\\xff" in q and "expected an error" in raw:
        return "engine: label_replace accepts an invalid UTF-8 destination label name"
    if raw.startswith("expected error \"found duplicate series"):
        return "engine: duplicate-series error text differs from Prometheus's"
    if re.search(r"(topk|limitk|bottomk|limit_ratio)\(NaN", q) and "expected an error" in raw:
        return "engine: k = NaN over an empty vector does not fail with 'Parameter value is NaN'"
    if re.search(r"on\(\w+\) one_side", q) and "expected an error" in raw:
        return "engine: many-to-one matching error missed when a comparison filters the many side"
    if "histogram_fraction(" in q and "got NaN" in raw:
        return "engine: histogram_fraction over classic buckets with negative bounds returns NaN"
    if "expected warning annotations, got none" in raw or "expected info annotations, got none" in raw:
        return "engine: missing annotation (%s)" % raw
    return "engine: wrong result: %s" % raw

out = OrderedDict()
for line in open(draft):
    line = line.rstrip("\n")
    if not line:
        continue
    key, raw = line.split(" ", 1)
    f, n = key.rsplit(":", 1)
    out[key] = reason(f, int(n), raw)

print("# known-failures.txt - upstream promqltest cases tinyprom does not pass yet.")
print("# One line per case: \"<file>:<line> <reason>\" (file is the base name in")
print("# shared/promqltest/upstream; line 0 = the whole file does not parse).")
print("# Native-histogram cases are skipped by the runner, not listed here.")
print("# The list may only shrink: `make check` names listed cases that now pass.")
print("# Drafted with tinyprom promqltest --write-failures and")
print("# tests/promql/draft-known-failures.py, reasons checked against samples.")
groups = {}
for r in out.values():
    groups[r] = groups.get(r, 0) + 1
print("#")
print("# %d cases:" % len(out))
for r, c in sorted(groups.items(), key=lambda x: -x[1]):
    print("#   %4d  %s" % (c, r))
cur = None
for k, r in out.items():
    f = k.rsplit(":", 1)[0]
    if f != cur:
        print("\n# %s" % f)
        cur = f
    print("%s %s" % (k, r))
