#!/usr/bin/env python3
# promql-compare.py A.json B.json - compares two Prometheus HTTP API query
# answers (tinyprom's and Prometheus's) for promql-compare.sh: the same
# result type, the same series (by label set), the same timestamps, and
# values equal within a relative 1e-6 (the promqltest tolerance: sums
# over series in another order, or Kahan vs exact summation, may differ
# in the last bits). Prints one verdict; exits 1 on a mismatch.
import json, math, sys

def load(path):
    with open(path) as f:
        d = json.load(f)
    if d.get("status") != "success":
        raise SystemExit("error: %s" % d.get("error"))
    return d["data"]["resultType"], d["data"]["result"]

def points(rtype, result):
    out = {}
    for s in result:
        key = tuple(sorted(s["metric"].items()))
        pts = s.get("values") or [s["value"]]
        out[key] = [(float(t), v) for t, v in pts]
    return out

def close(a, b):
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if x == y:
        return True
    return abs(x - y) <= 1e-6 * max(abs(x), abs(y))

def main():
    ta, ra = load(sys.argv[1])
    tb, rb = load(sys.argv[2])
    if ta != tb:
        print("MISMATCH: result types %s / %s" % (ta, tb))
        return 1
    pa, pb = points(ta, ra), points(tb, rb)
    if set(pa) != set(pb):
        only_a, only_b = set(pa) - set(pb), set(pb) - set(pa)
        print("MISMATCH: %d series only in the first, %d only in the second (e.g. %s)"
              % (len(only_a), len(only_b), dict(next(iter(only_a or only_b)))))
        return 1
    n = maxrel = 0
    for k in pa:
        a, b = pa[k], pb[k]
        if [t for t, _ in a] != [t for t, _ in b]:
            print("MISMATCH: timestamps of %s differ (%d / %d points)" % (dict(k), len(a), len(b)))
            return 1
        for (t, x), (_, y) in zip(a, b):
            n += 1
            if not close(x, y):
                print("MISMATCH: %s at %s: %s / %s" % (dict(k), t, x, y))
                return 1
            fx, fy = float(x), float(y)
            if fx != fy and not (math.isnan(fx) and math.isnan(fy)):
                maxrel = max(maxrel, abs(fx - fy) / max(abs(fx), abs(fy)))
    print("agree: %d series, %d points, max rel diff %.1e" % (len(pa), n, maxrel))
    return 0

sys.exit(main())
