# run.py - differential test of target relabeling against a real Prometheus
# (2.42 on Debian 12): gen.py writes a config with random relabel chains,
# `promtool check config` and `tinyprom check config` must agree, then
# Prometheus's /api/v1/targets (active and dropped) must equal what driver.c
# computes with scrape/relabel.c. Manual tool, not part of `make check`:
#   cc -std=c11 -D_GNU_SOURCE -I$TOP driver.c $TOP/libtinyprom.a \
#      $(pkg-config --libs yaml-0.1 libpcre2-8 libcjson) -lm -o driver
#   TP_BUILDDIR=$TOP python3 run.py FIRST_SEED LAST_SEED
# Run from this directory; it writes f.yml, prom.log and a TSDB under /tmp.
import subprocess, sys, json, time, urllib.request, os, signal, tempfile
TOP = os.environ.get("TP_BUILDDIR", "../../../..")
TINYPROM = os.path.join(TOP, "tinyprom")
DRIVER = "./driver"
DATA = tempfile.mkdtemp(prefix="tp_prom_diff_")
def run(seed, jobs=25):
    cfg = subprocess.run(["python3", "gen.py", str(seed), str(jobs)], capture_output=True, text=True).stdout
    open("f.yml", "w").write(cfg)
    a = subprocess.run(["promtool", "check", "config", "f.yml"], capture_output=True, text=True)
    b = subprocess.run([TINYPROM, "check", "config", "f.yml"], capture_output=True, text=True)
    if (a.returncode, a.stdout, a.stderr) != (b.returncode, b.stdout, b.stderr):
        print("seed %d: check config differs:\n promtool: %s%s\n tinyprom: %s%s" % (seed, a.stdout, a.stderr, b.stdout, b.stderr))
        return False
    if a.returncode != 0:
        print("seed %d: both reject: %s" % (seed, a.stderr.strip().splitlines()[0][:150]))
        return True
    ours = {}
    for line in subprocess.run([DRIVER, "f.yml"], capture_output=True, text=True).stdout.splitlines():
        job, addr, res = line.split(" ", 2)
        ours.setdefault(job, {})[addr] = res
    p = subprocess.Popen(["prometheus", "--config.file=f.yml", "--web.listen-address=127.0.0.1:19091",
                          "--storage.tsdb.path=" + DATA], stdout=subprocess.DEVNULL, stderr=open("prom.log", "w"))
    try:
        d = None
        for _ in range(40):
            time.sleep(0.5)
            try:
                d = json.load(urllib.request.urlopen("http://127.0.0.1:19091/api/v1/targets"))["data"]
                if len(d["activeTargets"]) + len(d["droppedTargets"]) > 0:
                    time.sleep(1)
                    d = json.load(urllib.request.urlopen("http://127.0.0.1:19091/api/v1/targets"))["data"]
                    break
            except Exception:
                pass
    finally:
        p.send_signal(signal.SIGTERM); p.wait()
    theirs_active = {}
    for t in d["activeTargets"]:
        lab = t["labels"]
        s = "{" + ",".join("%s=%s" % (k, lab[k]) for k in sorted(lab)) + "}"
        theirs_active.setdefault(lab["job"] if "job" in lab else t["scrapePool"], set()).add((t["scrapePool"], s))
    pools_active = {}
    for t in d["activeTargets"]:
        lab = t["labels"]
        s = "{" + ",".join("%s=%s" % (k, lab[k]) for k in sorted(lab)) + "}"
        pools_active.setdefault(t["scrapePool"], set()).add(s)
    dropped = {}
    for t in d["droppedTargets"]:
        dl = t["discoveredLabels"]
        dropped.setdefault(dl["job"], set()).add(dl["__address__"])
    ok = True
    for job, m in ours.items():
        our_sets = set(v for v in m.values() if v.startswith("{"))
        their_sets = pools_active.get(job, set())
        our_drop = set(a for a, v in m.items() if v in ("DROP", "NOADDR"))
        if our_sets != their_sets or our_drop != dropped.get(job, set()) - set():
            # NOADDR targets are failures in Prometheus, neither active nor dropped
            if our_sets == their_sets and set(a for a, v in m.items() if v == "DROP") == dropped.get(job, set()):
                continue
            ok = False
            print("seed %d job %s differs:\n ours   %s\n theirs %s\n our drops %s\n their drops %s" % (seed, job, sorted(our_sets), sorted(their_sets), sorted(our_drop), sorted(dropped.get(job, set()))))
            os.system("awk '/job_name: %s$/,/job_name: j[0-9]+$/' f.yml | head -40" % job)
    print("seed %d: %s (%d jobs, %d active, %d dropped)" % (seed, "same" if ok else "DIFFERENT", len(ours), len(d["activeTargets"]), len(d["droppedTargets"])))
    return ok
for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    run(seed)
