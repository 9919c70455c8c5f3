#!/usr/bin/env python3
# crosscheck-promtool.py FILE.test... - cross-checks the hand-derived
# expectations of our own promqltest files against Prometheus 2.42's
# `promtool test rules` (Debian package prometheus). Not part of make check.
#
# Converts every instant eval into a promql_expr_test of a promtool unit
# test. Skipped: range evals, expect fail, annotations, string results, and
# evals preceded by a comment containing "3.x" (results that depend on 3.x
# semantics such as left-open windows). promtool compares floats exactly,
# so a reported difference in the last digits still needs a look by eye.
import os, re, subprocess, sys, tempfile

def yq(s):
    return "'" + s.replace("'", "''") + "'"

def yval(v):
    low = v.lower()
    if low in ("nan",): return ".nan"
    if low in ("inf", "+inf"): return ".inf"
    if low == "-inf": return "-.inf"
    return v

def split_series(line):
    # metric part ends at the first whitespace outside braces/quotes
    depth, q = 0, None
    for i, c in enumerate(line):
        if q:
            if c == '\\': continue
            if c == q: q = None
        elif c in '"\'`': q = c
        elif c == '{': depth += 1
        elif c == '}': depth -= 1
        elif c.isspace() and depth == 0:
            return line[:i], line[i:].strip()
    return line, ""

def convert(path):
    lines = [l.strip() for l in open(path).read().split("\n")]
    groups, cur, i, skip_next = [], None, 0, False
    while i < len(lines):
        l = lines[i]
        if l.startswith("#"):
            if "3.x" in l: skip_next = True
            i += 1; continue
        if not l:
            i += 1; continue
        w = l.split()[0]
        if w == "clear":
            cur = None; i += 1; continue
        if w.startswith("load"):
            iv = l.split()[1]
            cur = {"interval": iv, "series": [], "tests": []}
            groups.append(cur)
            i += 1
            while i < len(lines) and lines[i] and not lines[i].startswith("#"):
                m, v = split_series(lines[i]); cur["series"].append((m, v)); i += 1
            continue
        if w.startswith("eval"):
            hdr = l; i += 1; body = []
            while i < len(lines) and lines[i] and not lines[i].startswith("#"):
                body.append(lines[i]); i += 1
                if re.fullmatch(r"[-+]?[0-9.eE+-]+|[-+]?(?i:inf|nan)", body[-1]): break
            m = re.match(r"(eval\w*) instant at (\S+) (.*)", hdr)
            bad = (not m or w == "eval_fail" or any(b.startswith("expect") for b in body) or skip_next
                   or cur is None)
            skip_next = False
            if bad: continue
            exp = []
            for b in body:
                if re.fullmatch(r"[-+]?[0-9.eE+-]+|[-+]?(?i:inf|nan)", b):
                    exp.append(("{}", b))
                else:
                    exp.append(split_series(b))
            if any(v.lower().endswith("nan") for _, v in exp): continue
            cur["tests"].append((m.group(2), m.group(3), exp, hdr))
            continue
        i += 1
    out = ["rule_files: []", "evaluation_interval: 1s", "tests:"]
    n = 0
    for g in groups:
        if not g["tests"]: continue
        out.append("  - interval: " + g["interval"])
        out.append("    input_series:")
        for m, v in g["series"]:
            out.append("      - series: " + yq(m))
            out.append("        values: " + yq(v))
        out.append("    promql_expr_test:")
        for t, expr, exp, hdr in g["tests"]:
            n += 1
            out.append("      - expr: " + yq(expr))
            out.append("        eval_time: " + t)
            out.append("        exp_samples:" + ("" if exp else " []"))
            for lab, v in exp:
                out.append("          - labels: " + yq(lab))
                out.append("            value: " + yval(v))
    return "\n".join(out) + "\n", n

rc = 0
for p in sys.argv[1:]:
    y, n = convert(p)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(y)
    r = subprocess.run(["promtool", "test", "rules", f.name], capture_output=True, text=True)
    print("%s: %d instant evals checked with promtool: %s" % (p, n, "OK" if r.returncode == 0 else "DIFFERENCES"))
    if r.returncode != 0:
        print(r.stdout + r.stderr); rc = 1
        print("(yaml kept in %s)" % f.name)
    else:
        os.unlink(f.name)
sys.exit(rc)
