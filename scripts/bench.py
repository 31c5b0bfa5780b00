#!/usr/bin/python3
"""The benchmark behind `make bench`: engine vs Python baseline vs raw-read roofline.

    bench.py [--sizes 500,1000,2000,4000] [--out out/bench] [--data DIR] [--seed 1]
             [--repeats 3] [--repeat-max 1000] [--all-variants-limit N] [--agree-size N]
             [--bin bin] [--quick] [--no-agreement]

--sizes       target counts of the generated inputs (scripts/bench_data.py: K=512, 14x14 maps,
              224x224 frames, 1-3 targets per image, float32, ~0.6 MB per target)
--out         output directory: bench.json, bench.png, bench.svg, README-snippet.md, runs/
--data        where the inputs go (default OUT/data; a file is reused when its parameters match)
--seed        data seed
--repeats R   timings are the best of R runs for sizes <= --repeat-max (default 3 and 1000);
              larger sizes run once
--all-variants-limit N
              the baseline with all variants runs on the smallest size only (it is slow);
              with N it runs on the first N targets and its per-target time is extrapolated
              (labelled as such)
--agree-size  the size used for the agreement check (default the smallest)
--bin         where gradcam-study and gradcam-bench are (default bin; copied to OUT/bin at the
              start, so that a rebuild during the run cannot mix two builds)
--quick       smoke test: sizes 100,200, no repeats (about two minutes)
--no-agreement  skip the agreement check

For every size, on the same file, in this run (each under `/usr/bin/time -v` for the peak RSS):
  * engine, all variants, both norms, full sweep, default end-to-end run, --threads 1 and 2;
  * engine --variants gradcam --threads 1 (the headline against the baseline's Grad-CAM);
  * engine --features-only (maps and sign tables only) at 1 and 2 threads, against the roofline
    `gradcam-bench read FILE` (A and G read with the HDF5 C library, nothing else);
  * scripts/bench_baseline.py --variants gradcam (pytorch-grad-cam + wsolevaluation in numpy
    and OpenCV, one thread), and on the smallest size all variants.
Then `gradcam-bench kernels` on the smallest file (threshold sweep vs one upsampling pass, ns
per pixel). Every file is read once before its timings, so every contender sees a warm page
cache. The agreement check (issue item 3) runs the engine with --save-maps and the baseline with
`--thresholding exact --save-maps` on one size: maps must agree to 1e-5 of each map's max |.|,
box hits at the threshold on >= 98% of the targets with a box, per variant and norm.

Exit status: 0 when everything ran and the agreement holds; 1 when the agreement fails; 3 when
a piece of the engine's interface is missing (the output says which); 2 on bad usage. The
performance targets are reported (PASS / MISS and by how much), not enforced. No number is
typed in: everything printed is measured in this run.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_data  # noqa: E402

PY = "/usr/bin/python3"
TIME = "/usr/bin/time"
MAP_RTOL = 1e-5
HIT_AGREE = 0.98


class Missing(Exception):
    """A piece of the engine's benchmark interface is not there."""


def log(msg=""):
    print(msg, flush=True)


# ============================================================================ running things
def timed(cmd, tfile, env=None):
    """Run cmd under /usr/bin/time -v. -> dict(wall, user, sys, rss_kb, rc, stdout, stderr)."""
    full = [TIME, "-v", "-o", tfile] + cmd
    t = time.perf_counter()
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t
    r = {"wall": wall, "rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr,
         "user": None, "sys": None, "rss_kb": None}
    try:
        txt = open(tfile).read()
        for key, pat in (("user", r"User time \(seconds\): ([\d.]+)"),
                         ("sys", r"System time \(seconds\): ([\d.]+)"),
                         ("rss_kb", r"Maximum resident set size \(kbytes\): (\d+)")):
            m = re.search(pat, txt)
            if m:
                r[key] = float(m.group(1))
    except OSError:
        pass
    return r


def best_of(n, fn):
    """Run fn() n times; -> the run with the smallest wall, with rss_kb = the max over runs."""
    runs = [fn() for _ in range(n)]
    best = min(runs, key=lambda r: r["wall"])
    rss = [r["rss_kb"] for r in runs if r.get("rss_kb") is not None]
    best = dict(best)
    best["rss_kb"] = max(rss) if rss else None
    best["repeats"] = n
    best["walls"] = [r["wall"] for r in runs]
    return best


def check_rc(r, what):
    if r["rc"] != 0:
        err = r["stderr"].strip().splitlines()
        raise RuntimeError("%s failed (exit %d): %s" % (what, r["rc"], err[-1] if err else ""))


def warm(path):
    """Read the whole file once (page cache). -> seconds."""
    t = time.perf_counter()
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass
    return time.perf_counter() - t


class Runner:
    def __init__(self, a):
        self.a = a
        self.study = os.path.join(a.bin, "gradcam-study")
        self.gbench = os.path.join(a.bin, "gradcam-bench")
        self.missing = []

    def miss(self, what):
        if what not in self.missing:
            self.missing.append(what)
            log("   MISSING: %s" % what)

    def engine(self, path, outdir, threads, extra=(), what="engine"):
        cmd = [self.study, "run", "-o", outdir, "--threads", str(threads)] + list(extra) + [path]
        r = timed(cmd, outdir.rstrip("/") + ".time")
        if r["rc"] == 2 and "--features-only" in extra and "features-only" in r["stderr"]:
            raise Missing("gradcam-study run --features-only (engine says: %s)"
                          % r["stderr"].strip().splitlines()[0])
        check_rc(r, what + " " + " ".join(cmd))
        try:
            s = json.load(open(os.path.join(outdir, "summary.json")))
            st = s["run"]["stages"][0]
        except (OSError, KeyError, IndexError, ValueError) as e:
            raise RuntimeError("%s: cannot read run.stages from %s/summary.json: %s"
                               % (what, outdir, e))
        r["stages"] = st
        r["engine_wall"] = s["run"].get("wall_seconds")
        for k in ("read_seconds", "features_seconds", "localization_seconds"):
            if k not in st:
                self.miss("summary.json run.stages[].%s" % k)
        return r

    def baseline(self, path, outdir, variants, extra=()):
        cmd = [PY, os.path.join(HERE, "bench_baseline.py"), path, "-o", outdir, "--quiet",
               "--variants", variants] + list(extra)
        r = timed(cmd, outdir.rstrip("/") + ".time")
        check_rc(r, "baseline " + " ".join(cmd))
        r["summary"] = json.load(open(os.path.join(outdir, "summary.json")))
        return r

    def gb(self, args, keys):
        if not os.access(self.gbench, os.X_OK):
            raise Missing("%s (needed for: gradcam-bench %s)" % (self.gbench, args[0]))
        tf = os.path.join(self.a.out, "runs", "gradcam-bench-%s.time" % args[0])
        r = timed([self.gbench] + args, tf)
        check_rc(r, "gradcam-bench " + " ".join(args))
        try:
            j = json.loads(r["stdout"])
        except ValueError:
            raise RuntimeError("gradcam-bench %s: stdout is not one JSON object: %r"
                               % (args[0], r["stdout"][:200]))
        gone = [k for k in keys if k not in j]
        if gone:
            raise Missing("gradcam-bench %s: keys %s missing from its JSON (has: %s)"
                          % (args[0], ", ".join(gone), ", ".join(sorted(j))))
        r["json"] = j
        return r


# ============================================================================ agreement
def read_csv(path, key_has_input):
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            rows[(int(r["target"]), r["variant"])] = r
    return rows


def agreement(path, eng_dir, base_dir, variants):
    """Engine --save-maps outputs vs baseline (exact thresholding) outputs on one file."""
    import h5py
    res = {"file": path, "variants": {}, "ok": True}
    er = read_csv(os.path.join(eng_dir, "targets.csv"), True)
    br = read_csv(os.path.join(base_dir, "targets.csv"), False)
    with h5py.File(os.path.join(eng_dir, "maps.h5"), "r") as f:
        for v in variants:
            d = {}
            em = f["maps/" + v][()].astype(np.float64)
            bm = np.load(os.path.join(base_dir, "maps-%s.npy" % v)).astype(np.float64)
            if em.shape != bm.shape:
                raise RuntimeError("maps of %s: engine %s vs baseline %s"
                                   % (v, em.shape, bm.shape))
            scale = np.abs(bm).reshape(len(bm), -1).max(axis=1)
            diff = np.abs(em - bm).reshape(len(bm), -1).max(axis=1)
            rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1), diff)
            d["map_max_rel_diff"] = float(rel.max())
            d["map_worst_target"] = int(rel.argmax())
            d["maps_ok"] = bool(rel.max() <= MAP_RTOL)
            T = len(bm)
            for norm in ("max", "minmax"):
                n = agree = 0
                dis = []
                for t in range(T):
                    e, b = er.get((t, v)), br.get((t, v))
                    if e is None or b is None:
                        raise RuntimeError("target %d variant %s missing from a targets.csv"
                                           % (t, v))
                    if e["has_box"] != "1":
                        continue
                    n += 1
                    if e["hit_" + norm] == b["hit_" + norm]:
                        agree += 1
                    else:
                        dis.append(t)
                d["hits_" + norm] = {"targets": n, "agree": agree,
                                     "share": agree / n if n else 1.0,
                                     "disagree_targets": dis[:20]}
            d["hits_ok"] = all(d["hits_" + nm]["share"] >= HIT_AGREE for nm in ("max", "minmax"))
            res["variants"][v] = d
            res["ok"] = res["ok"] and d["maps_ok"] and d["hits_ok"]
    return res


def hit_agreement(eng_dir, base_dir, variant):
    """Hits at the threshold, engine vs a baseline run (any thresholding), one variant."""
    er = read_csv(os.path.join(eng_dir, "targets.csv"), True)
    br = read_csv(os.path.join(base_dir, "targets.csv"), False)
    out = {}
    for norm in ("max", "minmax"):
        n = agree = 0
        for (t, v), b in br.items():
            e = er.get((t, v))
            if v != variant or e is None or e["has_box"] != "1":
                continue
            n += 1
            agree += e["hit_" + norm] == b["hit_" + norm]
        out[norm] = agree / n if n else None
    return out


# ============================================================================ report
def fit_line(xs, ys):
    """Least squares y = a + b x. -> (a, b, r2)."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if len(x) < 2:
        return None
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    ss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - pred) ** 2).sum()) / ss if ss > 0 else 1.0
    return float(a), float(b), r2


def ms(x):
    return "-" if x is None else "%.3f" % (1e3 * x)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fx(x, f="%.2f"):
    return "-" if x is None else f % x


def machine():
    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def plot(out, sizes, series, rss_series):
    """Time per target vs N and peak RSS vs N, PNG and SVG, gnuplot through a pipe."""
    if not shutil.which("gnuplot"):
        log("  gnuplot not found: no figure")
        return []

    def block(name, rows):
        s = "$%s << EOD\n" % name
        for r in rows:
            s += " ".join("%.9g" % v for v in r) + "\n"
        return s + "EOD\n"

    data, p1, p2 = "", [], []
    for i, (label, ys) in enumerate(series):
        rows = [(n, 1e3 * y) for n, y in zip(sizes, ys) if y is not None]
        if not rows:
            continue
        data += block("t%d" % i, rows)
        p1.append("$t%d using 1:2 with linespoints lw 2 title '%s'" % (i, label))
    for i, (label, ys) in enumerate(rss_series):
        rows = [(n, y / 1024.0) for n, y in zip(sizes, ys) if y is not None]
        if not rows:
            continue
        data += block("r%d" % i, rows)
        p2.append("$r%d using 1:2 with linespoints lw 2 title '%s'" % (i, label))
    body = data + """
set multiplot layout 1,2
set grid
set key top left font ',9'
set xlabel 'targets N'
set logscale y
set ylabel 'ms per target (wall, end to end)'
set title 'time per target vs N (warm page cache)'
plot %s
unset logscale y
set yrange [0:*]
set ylabel 'peak RSS (MiB)'
set title 'peak memory vs N (/usr/bin/time -v)'
plot %s
unset multiplot
""" % (", ".join(p1) or "1/0 notitle", ", ".join(p2) or "1/0 notitle")
    files = []
    for term, ext in (("pngcairo size 1400,560", "png"), ("svg size 1400,560", "svg")):
        path = os.path.join(out, "bench.%s" % ext)
        script = "set terminal %s\nset output '%s'\n%s" % (term, path, body)
        p = subprocess.run(["gnuplot"], input=script, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            log("  gnuplot failed (%s): %s" % (ext, p.stderr.strip()[:300]))
        else:
            files.append(path)
    return files


# ============================================================================ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=None)
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--data", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--repeat-max", type=int, default=1000)
    ap.add_argument("--all-variants-limit", type=int, default=None)
    ap.add_argument("--agree-size", type=int, default=None)
    ap.add_argument("--bin", default="bin")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-agreement", action="store_true")
    a = ap.parse_args(argv)
    if a.sizes is None:
        a.sizes = "100,200" if a.quick else "500,1000,2000,4000"
    try:
        sizes = sorted(set(int(s) for s in a.sizes.split(",")))
    except ValueError:
        ap.error("--sizes takes a comma list of target counts")
    if not sizes or sizes[0] < 1:
        ap.error("--sizes: target counts must be >= 1")
    if a.repeats is None:
        a.repeats = 1 if a.quick else 3
    if a.repeats < 1:
        ap.error("--repeats must be >= 1")
    a.data = a.data or os.path.join(a.out, "data")
    agree_size = a.agree_size or sizes[0]
    if agree_size not in sizes:
        ap.error("--agree-size must be one of --sizes")
    for tool in (TIME,):
        if not os.access(tool, os.X_OK):
            log("bench.py: %s is missing (apt-get install time)" % tool)
            return 2
    study = os.path.join(a.bin, "gradcam-study")
    if not os.access(study, os.X_OK):
        log("bench.py: %s is missing: run make first" % study)
        return 2
    os.makedirs(os.path.join(a.out, "runs"), exist_ok=True)
    # one build for the whole run: a rebuild of bin/ while the benchmark runs must not mix
    snap = os.path.join(a.out, "bin")
    os.makedirs(snap, exist_ok=True)
    for exe in ("gradcam-study", "gradcam-bench"):
        src = os.path.join(a.bin, exe)
        if os.access(src, os.X_OK):
            shutil.copy2(src, os.path.join(snap, exe + ".tmp"))
            os.replace(os.path.join(snap, exe + ".tmp"), os.path.join(snap, exe))
        elif os.path.exists(os.path.join(snap, exe)):
            os.unlink(os.path.join(snap, exe))
    a.bin = snap
    R = Runner(a)
    t_bench = time.perf_counter()
    mach = machine()
    log("== gradcam-study benchmark: sizes %s, seed %d, best of %d for N <= %d, %s, %d cores"
        % (",".join(map(str, sizes)), a.seed, a.repeats, a.repeat_max, mach["cpu"],
           mach["cores"]))
    log("   every file is read once before its timings: all contenders see a warm page cache")

    res = {"schema": "gradcam-bench/1", "date_utc": datetime.datetime.utcnow().strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "machine": mach, "command": " ".join(sys.argv),
        "seed": a.seed, "sizes": sizes, "repeats": a.repeats, "repeat_max": a.repeat_max,
        "page_cache": "warm (each file read once before its timings)", "per_size": {},
        "missing": R.missing}

    # ---- data
    files = {}
    for n in sizes:
        path = os.path.join(a.data, "bench-T%d-s%d.h5" % (n, a.seed))
        gen, dt = bench_data.ensure(path, n, seed=a.seed)
        files[n] = path
        res["per_size"][str(n)] = {"file": path, "bytes": os.path.getsize(path),
                                   "generated": gen, "generate_seconds": dt}
    with_base_all = sizes[0]

    # ---- timings
    for n in sizes:
        path = files[n]
        P = res["per_size"][str(n)]
        rep = a.repeats if n <= a.repeat_max else 1
        rd = os.path.join(a.out, "runs", "T%d" % n)
        os.makedirs(rd, exist_ok=True)
        log("-- N = %d targets (%s, %.0f MB), best of %d" % (n, path, P["bytes"] / 1e6, rep))
        P["warm_read_seconds"] = warm(path)
        runs = {}

        def keep(name, r, extra=None):
            d = {k: r.get(k) for k in ("wall", "user", "sys", "rss_kb", "repeats", "walls")}
            d["per_target"] = r["wall"] / n
            if "stages" in r:
                d["stages"] = r["stages"]
            if extra:
                d.update(extra)
            runs[name] = d
            log("   %-24s %8.3f s  %8s ms/target  peak RSS %7.1f MiB"
                % (name, r["wall"], ms(d["per_target"]), (r["rss_kb"] or 0) / 1024.0))

        for th in (1, 2):
            keep("engine_all_t%d" % th, best_of(rep, lambda: R.engine(
                path, os.path.join(rd, "engine-all-t%d" % th), th)))
        keep("engine_gradcam_t1", best_of(rep, lambda: R.engine(
            path, os.path.join(rd, "engine-gradcam-t1"), 1, ["--variants", "gradcam"])))
        for th in (1, 2):
            try:
                keep("engine_features_t%d" % th, best_of(rep, lambda: R.engine(
                    path, os.path.join(rd, "engine-features-t%d" % th), th,
                    ["--features-only", "--bootstrap", "0"])))
            except Missing as e:
                R.miss(str(e))
                break
        try:
            r = best_of(rep, lambda: R.gb(["read", path], ["bytes", "seconds", "mib_per_s"]))
            keep("roofline_read", r, {"read_seconds": r["json"]["seconds"],
                                      "read_bytes": r["json"]["bytes"],
                                      "mib_per_s": r["json"]["mib_per_s"]})
        except Missing as e:
            R.miss(str(e))
        r = best_of(rep, lambda: R.baseline(path, os.path.join(rd, "baseline-gradcam"),
                                            "gradcam"))
        keep("baseline_gradcam", r, {"inner": {k: r["summary"][k] for k in (
            "read_seconds", "compute_seconds", "total_seconds")}})
        hm = hit_agreement(os.path.join(rd, "engine-all-t1"), os.path.join(rd, "baseline-gradcam"),
                           "gradcam")
        P["gradcam_hits_vs_wsol_baseline"] = hm
        if n == with_base_all:
            extra = []
            if a.all_variants_limit:
                extra = ["--limit", str(min(a.all_variants_limit, n))]
            r = R.baseline(path, os.path.join(rd, "baseline-all"), "all", extra)
            nt = r["summary"]["targets"]
            keep("baseline_all", r, {"targets_run": nt, "extrapolated": nt < n})
            runs["baseline_all"]["per_target"] = r["wall"] / nt
            if nt < n:
                log("   (baseline_all ran on the first %d targets; per-target time extrapolated)"
                    % nt)
        P["runs"] = runs

    # ---- kernels: at 224x224 (the smallest bench file) and at 96x96 (a file shaped like
    # data/default: 12x12 maps, 96x96 frames), Grad-CAM and signed maps
    kern = None
    kern96 = None
    kfields = ["pixels", "upsample_ns_per_px", "sweep_ns_per_px", "sweep_ref_ns_per_px",
               "norms_gradcam_ns_per_px", "norms_signed_ns_per_px",
               "pair_prev_gradcam_ns_per_px", "pair_prev_signed_ns_per_px"]
    try:
        r = R.gb(["kernels", files[sizes[0]]], kfields)
        kern = r["json"]
        p96 = os.path.join(a.data, "bench-96-T300-s%d.h5" % a.seed)
        bench_data.ensure(p96, 300, seed=a.seed, fh=12, fw=12, frame=96)
        warm(p96)
        r = R.gb(["kernels", p96, "--targets", "300"], kfields)
        kern96 = r["json"]
    except Missing as e:
        R.miss(str(e))
    res["kernels"] = kern
    res["kernels_96"] = kern96

    # ---- agreement
    agree = None
    if not a.no_agreement:
        path = files[agree_size]
        rd = os.path.join(a.out, "runs", "agree-T%d" % agree_size)
        os.makedirs(rd, exist_ok=True)
        log("-- agreement on N = %d: engine --save-maps vs baseline --thresholding exact"
            % agree_size)
        re_ = R.engine(path, os.path.join(rd, "engine"), 2, ["--save-maps", "--bootstrap", "0"])
        rb = R.baseline(path, os.path.join(rd, "baseline"), "all",
                        ["--thresholding", "exact", "--save-maps"])
        variants = rb["summary"]["variants"]
        agree = agreement(path, os.path.join(rd, "engine"), os.path.join(rd, "baseline"),
                          variants)
        agree["N"] = agree_size
        agree["engine_wall"] = re_["wall"]
        agree["baseline_wall"] = rb["wall"]
    res["agreement"] = agree

    # ---- derived figures
    def run(n, name):
        return res["per_size"][str(n)]["runs"].get(name)

    def pt(n, name):
        r = run(n, name)
        return r["per_target"] if r else None

    rows = []
    for n in sizes:
        P = res["per_size"][str(n)]
        e1, e2, eg = pt(n, "engine_all_t1"), pt(n, "engine_all_t2"), pt(n, "engine_gradcam_t1")
        f1, f2 = run(n, "engine_features_t1"), run(n, "engine_features_t2")
        rf = run(n, "roofline_read")
        bg = pt(n, "baseline_gradcam")
        d = {"N": n,
             "speedup_gradcam_t1_vs_baseline": ratio(bg, eg),
             "scaling_all_1to2": ratio(e1, e2),
             "scaling_features_1to2": ratio(f1["wall"], f2["wall"]) if f1 and f2 else None,
             "features_t2_vs_roofline": (rf["read_seconds"] / f2["wall"]) if rf and f2 else None,
             "features_t2_main_vs_roofline": None}
        if rf and f2 and "read_seconds" in f2.get("stages", {}) \
                and "features_seconds" in f2["stages"]:
            st = f2["stages"]
            d["features_t2_main_vs_roofline"] = rf["read_seconds"] / (st["read_seconds"] +
                                                                      st["features_seconds"])
        ba = run(n, "baseline_all")
        if ba:
            d["speedup_all_t1_vs_baseline_all"] = ratio(ba["per_target"], e1)
        P["derived"] = d
        rows.append(d)
    fits = {}
    for name in ("engine_all_t1", "engine_all_t2", "engine_gradcam_t1", "engine_features_t2",
                 "baseline_gradcam", "roofline_read"):
        pts = [(n, run(n, name)["wall"]) for n in sizes if run(n, name)]
        f = fit_line([p[0] for p in pts], [p[1] for p in pts]) if len(pts) >= 2 else None
        if f:
            fits[name] = {"intercept_s": f[0], "slope_s_per_target": f[1], "r2": f[2]}
    res["linear_fits"] = fits

    def rss(n, name):
        r = run(n, name)
        return r["rss_kb"] if r else None

    rss_flat = {}
    for name in ("engine_all_t1", "engine_all_t2", "engine_gradcam_t1", "baseline_gradcam"):
        v = [rss(n, name) for n in sizes if rss(n, name)]
        if v:
            rss_flat[name] = {"min_kb": min(v), "max_kb": max(v), "max_over_min": max(v) / min(v)}
    res["rss_flatness"] = rss_flat

    # ---- targets of the issue
    big = sizes[-1]
    tg = []

    def target(name, value, goal, fmtv, note=""):
        ok = None if value is None else value >= goal
        tg.append({"target": name, "value": value, "goal": goal, "pass": ok, "note": note})

    sp = [r["speedup_gradcam_t1_vs_baseline"] for r in rows
          if r["speedup_gradcam_t1_vs_baseline"]]
    target("end-to-end Grad-CAM, engine 1 thread vs baseline, min over N (x)",
           min(sp) if sp else None, 10.0, "%.1f", "goal 30x")
    sa = [r["speedup_all_t1_vs_baseline_all"] for r in rows
          if r.get("speedup_all_t1_vs_baseline_all")]
    target("all variants, engine 1 thread vs baseline, min over N measured (x)",
           min(sa) if sa else None, 10.0, "%.1f", "baseline of all variants at N = %s"
           % ",".join(str(r["N"]) for r in rows if r.get("speedup_all_t1_vs_baseline_all")))
    # per core, counted in CPU seconds: --threads 1 is one worker plus the reader and the
    # digest threads, so the wall-clock ratio above is not a per-core figure on its own
    sc_cpu = []
    for n in sizes:
        e, b = cpu(run(n, "engine_gradcam_t1"), n), cpu(run(n, "baseline_gradcam"), n)
        if e and b:
            sc_cpu.append(b / e)
    target("end-to-end Grad-CAM, CPU seconds (user + sys), baseline / engine, min over N (x)",
           min(sc_cpu) if sc_cpu else None, 10.0, "%.1f",
           "engine CPU includes its reader and digest threads")
    fr = [r["features_t2_vs_roofline"] for r in rows if r["features_t2_vs_roofline"]]
    target("features-only at 2 threads, share of roofline read speed, min over N",
           min(fr) if fr else None, 0.5, "%.2f", "roofline s / features-only wall s")
    sc = [r["scaling_all_1to2"] for r in rows if r["scaling_all_1to2"]]
    target("1 -> 2 threads, all variants, min over N (x)", min(sc) if sc else None, 1.7, "%.2f")
    if "engine_all_t2" in rss_flat:
        v = rss_flat["engine_all_t2"]["max_over_min"]
        tg.append({"target": "peak RSS flat in N (engine, 2 threads): max/min over N",
                   "value": v, "goal": 1.25, "pass": v <= 1.25,
                   "note": "<= 1.25 counts as flat"})
    if "engine_all_t1" in fits and len(sizes) >= 3:
        v = fits["engine_all_t1"]["r2"]
        tg.append({"target": "time linear in N (engine, 1 thread): R^2 of the line fit",
                   "value": v, "goal": 0.99, "pass": v >= 0.99, "note": ""})
    for kk, side in ((kern, 224), (kern96, 96)):
        if not kk:
            continue
        for kind in ("gradcam", "signed"):
            v = kk["norms_%s_ns_per_px" % kind] / kk["upsample_ns_per_px"]
            tg.append({"target": "sweep (both norms, %s maps, %dx%d) / one upsampling pass"
                       % (kind, side, side), "value": v, "goal": 10.0, "pass": v <= 10.0,
                       "note": "at most: %.2f vs %.2f ns/px" % (
                           kk["norms_%s_ns_per_px" % kind], kk["upsample_ns_per_px"])})
    res["targets"] = tg

    # ---- print
    log()
    log("== per-target wall time, ms (end to end, process start to exit; warm page cache)")
    hdr = ("%7s %10s %10s %10s %10s %10s %10s %10s %10s" %
           ("N", "eng all 1t", "eng all 2t", "eng gc 1t", "feat 1t", "feat 2t", "roofline",
            "base gc", "base all"))
    log(hdr)
    for n in sizes:
        def w(name):
            return ms(pt(n, name))
        ba = run(n, "baseline_all")
        ball = ms(ba["per_target"]) + ("*" if ba and ba.get("extrapolated") else "") \
            if ba else "-"
        log("%7d %10s %10s %10s %10s %10s %10s %10s %10s" %
            (n, w("engine_all_t1"), w("engine_all_t2"), w("engine_gradcam_t1"),
             w("engine_features_t1"), w("engine_features_t2"), w("roofline_read"),
             w("baseline_gradcam"), ball))
    log("  (roofline = gradcam-bench read process wall; * = baseline on a subset, extrapolated)")
    log()
    log("== ratios")
    log("%7s %14s %14s %14s %14s %14s %14s" %
        ("N", "gc base/eng", "all base/eng", "scale all", "scale feat", "feat2t/roof",
         "main/roof"))
    for d in rows:
        log("%7d %14s %14s %14s %14s %14s %14s" %
            (d["N"], fx(d["speedup_gradcam_t1_vs_baseline"], "%.1fx"),
             fx(d.get("speedup_all_t1_vs_baseline_all"), "%.1fx"),
             fx(d["scaling_all_1to2"], "%.2fx"), fx(d["scaling_features_1to2"], "%.2fx"),
             fx(d["features_t2_vs_roofline"], "%.2f"),
             fx(d["features_t2_main_vs_roofline"], "%.2f")))
    log("  gc base/eng: baseline Grad-CAM per target / engine --variants gradcam 1 thread;")
    log("  all base/eng: baseline all variants / engine all variants, 1 thread;")
    log("  feat2t/roof: roofline read seconds / features-only wall at 2 threads (main/roof: its")
    log("  read+features stages only)")
    log()
    log("== peak RSS, MiB")
    log("%7s %12s %12s %12s %12s %12s" % ("N", "eng all 1t", "eng all 2t", "eng gc 1t",
                                          "feat 2t", "base gc"))
    for n in sizes:
        def m_(name):
            v = rss(n, name)
            return "-" if v is None else "%.1f" % (v / 1024.0)
        log("%7d %12s %12s %12s %12s %12s" % (n, m_("engine_all_t1"), m_("engine_all_t2"),
                                               m_("engine_gradcam_t1"),
                                               m_("engine_features_t2"), m_("baseline_gradcam")))
    log()
    log("== time vs N, least squares wall = a + b N")
    for name, f in fits.items():
        log("   %-20s a = %7.3f s  b = %8.3f ms/target  R^2 = %s"
            % (name, f["intercept_s"], 1e3 * f["slope_s_per_target"],
               "%.4f" % f["r2"] if len(sizes) >= 3 else "- (2 sizes)"))
    for n in sizes:
        st = (run(n, "engine_all_t2") or {}).get("stages")
        if st:
            log("   engine all 2t stages at N=%d: %s" % (n, ", ".join(
                "%s %.3f" % (k.replace("_seconds", ""), v) for k, v in st.items())))
    for kk, side in ((kern, 224), (kern96, 96)):
        if not kk:
            continue
        log()
        log("== kernels at %dx%d (gradcam-bench kernels, %s pixels), ns/px: upsample %.3f; "
            "sweep of both norms %.3f (Grad-CAM maps), %.3f (signed); the previous sweep "
            "%.3f / %.3f; one norm, pixel union-find %.3f; naive %.3f"
            % (side, side, kk["pixels"], kk["upsample_ns_per_px"],
               kk["norms_gradcam_ns_per_px"], kk["norms_signed_ns_per_px"],
               kk["pair_prev_gradcam_ns_per_px"], kk["pair_prev_signed_ns_per_px"],
               kk["sweep_ns_per_px"], kk["sweep_ref_ns_per_px"]))
    log()
    log("== agreement with the wsol-faithful baseline (uint8 map, '> int(t*255)', contours), "
        "Grad-CAM hits at the threshold")
    for n in sizes:
        h = res["per_size"][str(n)]["gradcam_hits_vs_wsol_baseline"]
        log("   N=%d: max %s, minmax %s (information: the thresholding rules differ)"
            % (n, fx(h["max"], "%.4f"), fx(h["minmax"], "%.4f")))
    ok_agree = True
    if agree:
        log()
        log("== agreement check on N = %d (engine --save-maps vs baseline --thresholding exact)"
            % agree_size)
        log("   %-18s %14s %22s %22s %s" % ("variant", "map max rel", "hits max", "hits minmax",
                                           ""))
        for v, d in agree["variants"].items():
            hm, hn = d["hits_max"], d["hits_minmax"]
            log("   %-18s %14.3g %10d/%-5d %5.1f%% %10d/%-5d %5.1f%% %s"
                % (v, d["map_max_rel_diff"], hm["agree"], hm["targets"], 100 * hm["share"],
                   hn["agree"], hn["targets"], 100 * hn["share"],
                   "ok" if d["maps_ok"] and d["hits_ok"] else "FAIL"))
        log("   maps: <= %g of each map's max |.|; hits: >= %.0f%% of targets with a box. "
            "Disagreeing hits are expected from contour area (OpenCV) vs pixel count (engine) "
            "and float32 vs double upsampling at ties." % (MAP_RTOL, 100 * HIT_AGREE))
        ok_agree = agree["ok"]
    log()
    log("== targets (issue), at N up to %d" % big)
    for t in tg:
        st = "n/a" if t["pass"] is None else ("PASS" if t["pass"] else "MISS")
        val = "-" if t["value"] is None else "%.3g" % t["value"]
        goal = "" if t["goal"] is None else " (goal %s)" % t["goal"]
        log("   %-4s %-72s %s%s %s" % (st, t["target"], val, goal, t["note"]))

    # ---- files
    res["bench_seconds"] = time.perf_counter() - t_bench
    res["figures"] = plot(a.out, sizes, [
        ("engine, all variants, 1 thread", [pt(n, "engine_all_t1") for n in sizes]),
        ("engine, all variants, 2 threads", [pt(n, "engine_all_t2") for n in sizes]),
        ("engine, Grad-CAM, 1 thread", [pt(n, "engine_gradcam_t1") for n in sizes]),
        ("engine, features only, 2 threads", [pt(n, "engine_features_t2") for n in sizes]),
        ("roofline read (HDF5 C)", [pt(n, "roofline_read") for n in sizes]),
        ("baseline, Grad-CAM (numpy+OpenCV, 1 thread)", [pt(n, "baseline_gradcam")
                                                         for n in sizes]),
    ], [
        ("engine, all variants, 1 thread", [rss(n, "engine_all_t1") for n in sizes]),
        ("engine, all variants, 2 threads", [rss(n, "engine_all_t2") for n in sizes]),
        ("engine, features only, 2 threads", [rss(n, "engine_features_t2") for n in sizes]),
        ("baseline, Grad-CAM", [rss(n, "baseline_gradcam") for n in sizes]),
    ])
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump(res, f, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist")
                  else str(o))
    write_snippet(a, res, sizes, pt, rss, tg, agree, kern, kern96, run)
    log()
    log("wrote %s/bench.json, %s/README-snippet.md%s (%.0f s)"
        % (a.out, a.out, "".join(", " + f for f in res["figures"]), res["bench_seconds"]))
    rc = 0
    if agree and not ok_agree:
        log("bench.py: AGREEMENT FAILED (see the agreement table)")
        rc = 1
    if R.missing:
        log("bench.py: incomplete, missing from the engine's benchmark interface:")
        for m in R.missing:
            log("   - %s" % m)
        rc = rc or 3
    return rc


def cpu(r, n):
    """CPU seconds (user + system) per target of a kept run, or None."""
    if not r or r.get("user") is None or r.get("sys") is None:
        return None
    return (r["user"] + r["sys"]) / n


def write_snippet(a, res, sizes, pt, rss, tg, agree, kern, kern96, run):
    m = res["machine"]
    L = ["<!-- generated by scripts/bench.py on %s; do not edit -->" % res["date_utc"], "",
         "`make bench` (`%s`), %s, %d cores, warm page cache, best of %d for N <= %d. "
         "Milliseconds per target, wall clock end to end (process start to exit):"
         % (res["command"], m["cpu"], m["cores"], res["repeats"], res["repeat_max"]), "",
         "| targets N | engine, all variants, 1 thread | 2 threads | engine, Grad-CAM, 1 thread "
         "| baseline, Grad-CAM | speed-up | features only, 2 threads | roofline read | "
         "peak RSS, engine 2 threads |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        d = res["per_size"][str(n)]["derived"]
        r2 = rss(n, "engine_all_t2")
        L.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            n, ms(pt(n, "engine_all_t1")), ms(pt(n, "engine_all_t2")),
            ms(pt(n, "engine_gradcam_t1")), ms(pt(n, "baseline_gradcam")),
            fx(d["speedup_gradcam_t1_vs_baseline"], "%.1fx"),
            ms(pt(n, "engine_features_t2")), ms(pt(n, "roofline_read")),
            "-" if r2 is None else "%.0f MiB" % (r2 / 1024.0)))
    ba = res["per_size"][str(sizes[0])]["runs"].get("baseline_all")
    if ba:
        L += ["", "All feature-resolution variants at N = %d: baseline %s ms per target%s, "
              "engine %s ms (1 thread)." % (sizes[0], ms(ba["per_target"]),
                               " (extrapolated from %d targets)" % ba["targets_run"]
                               if ba.get("extrapolated") else "",
                               ms(pt(sizes[0], "engine_all_t1")))]
    # CPU time: the engine runs a reader thread and a digest thread beside its workers
    L += ["", "CPU seconds (user + system) per target, same runs: engine Grad-CAM `--threads 1` "
          + ", ".join("%s ms at N = %d" % (ms(cpu(run(n, "engine_gradcam_t1"), n)), n)
                      for n in sizes)
          + "; baseline " + ", ".join("%s ms" % ms(cpu(run(n, "baseline_gradcam"), n))
                                      for n in sizes) + "."]
    # where the time goes: the engine's own stage timings (summary.json), Grad-CAM, 1 thread
    stn = [n for n in sizes if (run(n, "engine_gradcam_t1") or {}).get("stages")]
    if stn:
        keys = [k for k in run(stn[0], "engine_gradcam_t1")["stages"]
                if k.endswith("_seconds")]
        L += ["", "Where the time goes: the engine's stage timings (`summary.json`, Grad-CAM, "
              "1 thread), ms per target. `read` runs on the reader thread and `hash` on the "
              "digest thread, beside the workers; `read_wait` is what the workers waited for "
              "the reader; `main` is the whole read-and-compute loop:", "",
              "| N | " + " | ".join(k.replace("_seconds", "") for k in keys) + " | wall |",
              "|---:|" + "---:|" * (len(keys) + 1)]
        for n in stn:
            st = run(n, "engine_gradcam_t1")["stages"]
            L.append("| %d | " % n + " | ".join(ms(st[k] / n) for k in keys)
                     + " | %s |" % ms(pt(n, "engine_gradcam_t1")))
    for kk, side in ((kern, 224), (kern96, 96)):
        if kk:
            L += ["", "Kernels at %dx%d, ns per pixel: one bilinear upsampling pass %.2f; the "
                  "threshold sweep of both normalisations (100 thresholds each) %.2f on Grad-CAM "
                  "maps and %.2f on signed maps (the previous union-find sweep: %.2f and %.2f)."
                  % (side, side, kk["upsample_ns_per_px"], kk["norms_gradcam_ns_per_px"],
                     kk["norms_signed_ns_per_px"], kk["pair_prev_gradcam_ns_per_px"],
                     kk["pair_prev_signed_ns_per_px"])]
    if agree:
        worst = max(d["map_max_rel_diff"] for d in agree["variants"].values())
        hs = min(min(d["hits_max"]["share"], d["hits_minmax"]["share"])
                 for d in agree["variants"].values())
        L += ["", "Agreement with the baseline (N = %d, all variants): maps within %.2g of "
              "each map's max (bound %g), box hits at the threshold agree on >= %.1f%% of "
              "targets per variant and norm (bound %.0f%%): %s." %
              (agree["N"], worst, MAP_RTOL, 100 * hs, 100 * HIT_AGREE,
               "holds" if agree["ok"] else "FAILS")]
    L += ["", "| target | measured | goal | |", "|---|---:|---:|---|"]
    for t in tg:
        L.append("| %s | %s | %s | %s |" % (
            t["target"], "-" if t["value"] is None else "%.3g" % t["value"],
            "-" if t["goal"] is None else "%g" % t["goal"],
            "n/a" if t["pass"] is None else ("pass" if t["pass"] else "**miss**")))
    if res["missing"]:
        L += ["", "Not measured (missing from the engine): " + "; ".join(res["missing"]) + "."]
    with open(os.path.join(a.out, "README-snippet.md"), "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("bench.py: %s" % e, file=sys.stderr)
        sys.exit(1)
