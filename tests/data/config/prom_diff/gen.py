# gen.py SEED JOBS - a prometheus.yml with random relabel chains over fixed
# static targets, for run.py.
import random, sys
random.seed(int(sys.argv[1]))
addrs = ["10.0.0.%d:9100" % i for i in range(1, 5)] + ["host-a:80", "web-01.prod:8080", "Ünï:1"]
labels = {"env": ["prod", "dev", "Prod"], "team": ["a", "b-c", "x_y"], "__meta_zone": ["eu-1", "us-2"], "__meta_rack": ["r1", "r22"]}
regexes = ["(.*)", "(.+)", "([^:]+):(\\d+)", "(?P<h>[a-z0-9.-]+):(?P<p>\\d+)", "prod|dev", "(?i)PROD", ".*-(\\d+).*", "10\\.0\\.0\\.[12]:.*", "__meta_(.+)", "(.)(.)(.*)", "", "x", "(a|b)?(c)?"]
repls = ["$1", "${1}", "$2", "${2}-$1", "lit", "", "$1x", "${1}x", "${h}", "$p/${h}", "$$1", "$0", "${3}"]
targets = ["t1", "t2", "env", "team", "instance", "${1}", "t_${2}", "$1", "up_$1"]
srcs = [["__address__"], ["env"], ["team", "env"], ["__meta_zone"], ["nope"], ["__address__", "team"], ["t1"]]
def rule():
    act = random.choice(["replace"]*6 + ["keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase", "keepequal", "dropequal"])
    r = {"action": act}
    if act in ("replace", "keep", "drop"):
        r["source_labels"] = random.choice(srcs)
        r["regex"] = random.choice(regexes)
        if random.random() < 0.3: r["separator"] = random.choice([";", "", "--"])
        if act == "replace":
            r["target_label"] = random.choice(targets)
            r["replacement"] = random.choice(repls)
            if act == "keep" and r["regex"] == "": r["regex"] = ".*"
    elif act == "hashmod":
        r["source_labels"] = random.choice(srcs); r["target_label"] = random.choice(["t1", "t2", "h"]); r["modulus"] = random.choice([1, 2, 7, 1000, 18446744073709551615])
    elif act == "labelmap":
        r["regex"] = random.choice(["__meta_(.+)", "(e.*)", "(t)(.*)", "(?P<x>te)am"]); r["replacement"] = random.choice(["$1", "m_${1}", "${2}_$1", "${x}z", "lbl"])
    elif act == "labeldrop":
        r["regex"] = random.choice(["__meta_.*", "t.*", "env|team", "job|instance|t.*"])
    elif act == "labelkeep":
        r["regex"] = random.choice(["__.*|t.*|job", "__.*|env|job", "__.*"])
    elif act in ("lowercase", "uppercase"):
        r["source_labels"] = random.choice(srcs); r["target_label"] = random.choice(["t1", "t2", "env"])
    else:
        r["source_labels"] = random.choice(srcs); r["target_label"] = random.choice(["t1", "env", "team", "__address__"])
    return r
def q(s): return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
out = ["global:", "  scrape_interval: 1h", "scrape_configs:"]
for j in range(int(sys.argv[2])):
    out.append("- job_name: j%d" % j)
    out.append("  static_configs:")
    out.append("  - targets: [%s]" % ", ".join(q(a) for a in addrs))
    out.append("    labels:")
    for k, vs in labels.items():
        out.append("      %s: %s" % (k, q(random.choice(vs))))
    out.append("  relabel_configs:")
    for _ in range(random.randint(1, 4)):
        r = rule()
        first = True
        for k, v in r.items():
            pre = "  - " if first else "    "
            first = False
            if isinstance(v, list): v = "[" + ", ".join(v) + "]"
            elif isinstance(v, int): v = str(v)
            else: v = q(v)
            out.append(pre + "%s: %s" % (k, v))
print("\n".join(out))
