#!/bin/sh
# test_causal.sh: `run --curves` end to end (README "summary.json", `causal`).
# Usage: PY=/usr/bin/python3 sh tests/test_causal.sh BIN DIR
#  1. planted answers: tests/causal_fixture.py plants curves whose every statistic is known
#     (linear curves: exact trapezoid AUCs; y = 2 x: r = 1, slope = 2, degenerate intervals;
#     constant claim differences); summary.json must give them;
#  2. without --curves there is no `causal` key, and targets.csv / signs.csv are the same bytes;
#  3. bad curves files (schema, sha, T, class, NaN, cells, orders, references, rank, shape,
#     range, truncated, missing dataset): one line naming the file and the dataset, exit 1, no
#     OUTDIR; usage errors (count, --features-only) exit 2;
#  4. two inputs, --curves once each: the same bytes at 1, 2 and 7 threads.
set -u
BIN=$1
D=$2
PY=${PY:-/usr/bin/python3}
rm -rf "$D" && mkdir -p "$D" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

$PY tests/make_fixture.py "$D/a.h5" --seed 5 --images 12 --channels 8 --fh 4 --fw 4 >/dev/null &&
$PY tests/make_fixture.py "$D/b.h5" --seed 6 --images 9 --channels 5 --fh 3 --fw 5 \
    --activation pre-activation >/dev/null &&
$PY tests/causal_fixture.py "$D/a.h5" "$D/ca.h5" --expected "$D/ea.json" --bad-dir "$D/bad" &&
$PY tests/causal_fixture.py "$D/b.h5" "$D/cb.h5" --expected "$D/eb.json" --steps 7 ||
    fail "fixtures"

# 1. planted answers
"$BIN" run -o "$D/o1" --quiet --curves "$D/ca.h5" "$D/a.h5" || fail "run with --curves"
check() { # check SUMMARY INDEX EXPECTED CURVES
    $PY - "$@" <<'PYEOF'
import hashlib, json, math, sys
s, i, e, cfile = json.load(open(sys.argv[1])), int(sys.argv[2]), json.load(open(sys.argv[3])), sys.argv[4]
c = s["inputs"][i]["causal"]
bad, n = [], [0]
def near(what, got, want, tol=1e-8):
    n[0] += 1
    if not math.isclose(got, want, rel_tol=tol, abs_tol=tol):
        bad.append("%s: %r, expected %r" % (what, got, want))
def same(what, got, want):
    n[0] += 1
    if got != want:
        bad.append("%s: %r, expected %r" % (what, got, want))
same("keys", list(c), ["curves_file", "curves_sha256", "network", "layer", "steps", "cells",
     "targets", "seed", "references", "orders", "scale", "scale_degenerate", "deletion",
     "insertion", "best", "paired", "claim", "completeness"])
same("curves_file", c["curves_file"], cfile)
same("curves_sha256", c["curves_sha256"], hashlib.sha256(open(cfile, "rb").read()).hexdigest())
for k in ("steps", "cells", "targets", "references", "orders"):
    same(k, c[k], e[k])
same("seed", c["seed"], 1)
for r in e["references"]:
    near("scale." + r, c["scale"][r], e["scale"][r], 1e-9)
    same("scale_degenerate." + r, c["scale_degenerate"][r], False)
    for mode in ("deletion", "insertion"):
        same("best.%s.%s" % (mode, r), c["best"][mode][r], e["best"][mode])
        for o in e["orders"]:
            x = c[mode][r][o]
            near("%s.%s.%s.auc" % (mode, r, o), x["auc"], e["auc"][mode][o])
            lo, hi = x["auc_ci95"]
            if not lo <= x["auc"] <= hi:
                bad.append("%s.%s.%s: auc outside its interval" % (mode, r, o))
            for k, (g, w) in enumerate(zip(x["curve"], e["curve"][mode][o])):
                near("%s.%s.%s.curve[%d]" % (mode, r, o, k), g, w)
            same("raw_curve length", len(x["raw_curve"]), e["steps"] + 1)
    cl = c["claim"][r]
    for k, v in e["claim"][r].items():
        near("claim.%s.%s" % (r, k), cl[k], v)
    for k in ("target", "others"):
        for b in cl[k + "_diff_ci95"]:
            near("claim.%s.%s_diff_ci95" % (r, k), b, cl[k + "_diff"])
    for m in ("gradcam", "hirescam"):
        f, w = c["completeness"][r][m], e["completeness"][r][m]
        same("completeness n", f["n"], e["targets"])
        near("completeness.%s.%s.r" % (r, m), f["r"], w["r"], 1e-7)
        near("completeness.%s.%s.slope" % (r, m), f["slope"], w["slope"], 1e-7)
        if m == "gradcam":   # y = k x exactly: every resample gives r = 1, slope = k
            for b in f["r_ci95"]:
                near("completeness.%s.gradcam.r_ci95" % r, b, 1.0, 1e-7)
            for b in f["slope_ci95"]:
                near("completeness.%s.gradcam.slope_ci95" % r, b, w["slope"], 1e-7)
pairs = [(p["mode"], p["reference"], p["b"]) for p in c["paired"]]
same("paired", pairs, [(m, r, b) for m in ("deletion", "insertion") for r in e["references"]
                       for b in e["orders"][1:]])
for p in c["paired"]:
    same("paired a", p["a"], "gradcam")
    same("paired targets", p["targets"], e["targets"])
    near("paired %s %s %s diff" % (p["mode"], p["reference"], p["b"]), p["diff"],
         e["paired_diff"][p["b"]])
    near("paired diff = a - b", p["diff"], p["value_a"] - p["value_b"], 1e-9)
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
print("input %d: %d checks of the causal block hold" % (i, n[0]))
PYEOF
}
check "$D/o1/summary.json" 0 "$D/ea.json" "$D/ca.h5" || fail "planted answers, input a"

# 2. absent without --curves; the other outputs unchanged
"$BIN" run -o "$D/o0" --quiet "$D/a.h5" || fail "run without --curves"
! grep -q '"causal"' "$D/o0/summary.json" || fail "causal key without --curves"
cmp "$D/o0/targets.csv" "$D/o1/targets.csv" && cmp "$D/o0/signs.csv" "$D/o1/signs.csv" ||
    fail "--curves changed targets.csv or signs.csv"
$PY -c 'import json,sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b): d.pop("run")
b["inputs"][0].pop("causal")
sys.exit(a != b)' "$D/o0/summary.json" "$D/o1/summary.json" ||
    fail "--curves changed summary.json outside causal"

# 3. bad curves files and usage errors
expect() { # expect STATUS PATTERN COMMAND...
    want=$1; pat=$2; shift 2
    "$@" >"$D/out.txt" 2>"$D/err.txt"; got=$?
    [ "$got" -eq "$want" ] || { echo "exit $got, expected $want: $*"; cat "$D/err.txt"; return 1; }
    grep -q -- "$pat" "$D/err.txt" || { echo "stderr lacks '$pat':"; cat "$D/err.txt"; return 1; }
}
tab=$(printf '\t')
while IFS="$tab" read -r f ds pat; do
    rm -rf "$D/bo"
    expect 1 "^gradcam-study: $f: $ds: .*$pat" "$BIN" run -o "$D/bo" --quiet --curves "$f" \
        "$D/a.h5" || fail "bad curves $f"
    [ "$(wc -l <"$D/err.txt")" -eq 1 ] || fail "$f: more than one line"
    [ ! -e "$D/bo" ] || fail "$f: OUTDIR left behind"
    [ -z "$(ls -A "$D" | grep staging)" ] || fail "$f: staging directory left behind"
    echo "refused: $(cat "$D/err.txt")"
done <"$D/bad/list.tsv"
# a failed run leaves the previous outputs as they were
cp "$D/o1/summary.json" "$D/keep.json"
expect 1 "nan.h5: /deletion: non-finite" "$BIN" run -o "$D/o1" --quiet \
    --curves "$D/bad/nan.h5" "$D/a.h5" && cmp "$D/keep.json" "$D/o1/summary.json" ||
    fail "previous outputs changed by a refused run"
# the curves of another input (right shape, wrong file): input b's curves for a
expect 1 "cb.h5: /" "$BIN" run -o "$D/bo" --quiet --curves "$D/cb.h5" "$D/a.h5" ||
    fail "curves of another input"
expect 2 "1 --curves for 2 inputs" "$BIN" run -o "$D/bo" --curves "$D/ca.h5" "$D/a.h5" \
    "$D/b.h5" || fail "count"
expect 2 "features-only" "$BIN" run -o "$D/bo" --features-only --curves "$D/ca.h5" "$D/a.h5" ||
    fail "--features-only"
[ ! -e "$D/bo" ] || fail "usage error left OUTDIR"

# 4. two inputs, thread-count invariance (summary.json outside "run")
for n in 1 2 7; do
    "$BIN" run -o "$D/t$n" --quiet --threads $n --curves "$D/ca.h5" --curves "$D/cb.h5" \
        "$D/a.h5" "$D/b.h5" || fail "run at $n threads"
    sed '/^  "run": {/,$d' "$D/t$n/summary.json" >"$D/t$n.json"
done
cmp "$D/t1.json" "$D/t2.json" && cmp "$D/t1.json" "$D/t7.json" || fail "thread count changed bytes"
check "$D/t2/summary.json" 0 "$D/ea.json" "$D/ca.h5" &&
    check "$D/t2/summary.json" 1 "$D/eb.json" "$D/cb.h5" || fail "planted answers, two inputs"
echo "causal: planted answers, absent without --curves, bad files refused, same bytes at 1/2/7 threads"
