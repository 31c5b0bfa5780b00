#!/bin/sh
# tests/test_report.sh: end-to-end checks of `gradcam-study report`.
# Usage (from anywhere): BIN=bin/gradcam-study PY=/usr/bin/python3 sh tests/test_report.sh
# Makes two small inputs (post-ReLU with saliency, pre-activation), runs the
# engine, writes the report and checks: the five question headings, every
# linked figure exists as PNG and SVG, a gallery image is linked, two runs
# give the same bytes (report and figures), numbers of summary.json appear
# as the report formats them (Question 3's shares with their intervals), bad summaries exit 1 with one line on stderr
# and leave no REPORT.md and no temporaries, a missing gnuplot fails the same
# way, and usage errors exit 2. Question 6 (issue 13): summaries given `causal`
# blocks with known numbers (tests/causal_summary_fixture.py) must give the
# brief as the first section with those numbers, the Question 6 section, its
# figure and the appendix; an input without `causal` the "not run" sentence;
# a causal block missing any member a one-line error naming it.
# Exit status: non-zero on the first failure.
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-bin/gradcam-study}
PY=${PY:-/usr/bin/python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/gcs-report.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# --- inputs, engine, report --------------------------------------------------
$PY tests/make_fixture.py "$T/f.h5" --seed 21 --images 25 --saliency >/dev/null ||
    fail "make_fixture (post-relu)"
$PY tests/make_fixture.py "$T/f2.h5" --seed 22 --images 25 --activation pre-activation \
    >/dev/null || fail "make_fixture (pre-activation)"
"$BIN" run -o "$T/out" --bootstrap 200 "$T/f.h5" "$T/f2.h5" >/dev/null 2>"$T/err" ||
    { cat "$T/err"; fail "gradcam-study run"; }
S=$T/out/summary.json
mkdir -p "$T/rep/fig" || fail "mkdir"
# a gallery image made by another command: must be linked, left alone
printf '\211PNG\r\n\032\n' >"$T/rep/fig/gallery-f2.png" || fail "gallery stand-in"

"$BIN" report --out "$T/rep/REPORT.md" --figures "$T/rep/fig" "$S" 2>"$T/err" ||
    { cat "$T/err"; fail "report exited $?"; }
R=$T/rep/REPORT.md
[ -s "$R" ] || fail "no REPORT.md"
[ ! -s "$T/err" ] || { cat "$T/err"; fail "report wrote to stderr on success"; }

for q in "## The answer in brief" "## Appendix" \
         "## Question 1: Does the ReLU help localization?" \
         "## Question 2: Do negative pixels belong to other categories?" \
         "## Question 3: Why activation strength?" \
         "## Question 4: Is Grad-CAM invariant to a function-preserving shift of A?" \
         "## Question 5: Where does Grad-CAM stand among the variants?" \
         "## Question 6: What does removing the map's cells do to the score?" \
         "## Limitations" "## Running the same study on ImageNet or VOC"; do
    grep -qxF "$q" "$R" || fail "heading missing: $q"
done

# --- every linked figure exists as PNG and SVG ------------------------------------
grep -o '](fig/[^)]*)' "$R" | sed 's/^](//; s/)$//' | sort -u >"$T/links"
n=$(grep -c '\.png$' "$T/links")
[ "$n" -ge 12 ] || fail "only $n PNG links"
while IFS= read -r l; do
    case $l in
    *gallery-*) continue ;;
    *.png) [ -s "$T/rep/${l%.png}.svg" ] || fail "no SVG beside $l"
           grep -qF "](${l%.png}.svg)" "$R" || fail "SVG of $l not linked" ;;
    *.svg) [ -s "$T/rep/${l%.svg}.png" ] || fail "no PNG beside $l" ;;
    *) fail "unexpected link $l" ;;
    esac
    [ -s "$T/rep/$l" ] || fail "linked figure missing: $l"
done <"$T/links"
head -c 8 "$T/rep/fig/q1-relu-diff.png" | od -An -c | grep -q 'P   N   G' ||
    fail "q1-relu-diff.png is not a PNG"
grep -q '<svg' "$T/rep/fig/q1-relu-diff.svg" || fail "q1-relu-diff.svg is not an SVG"
grep -qF '](fig/gallery-f2.png)' "$R" || fail "gallery-f2.png not linked"
grep -qF 'gallery-f.png' "$R" && fail "a gallery that does not exist is linked"
ls -a "$T/rep" "$T/rep/fig" | grep -q '\.tmp$' && fail "temporary files left behind"

# --- same bytes twice ------------------------------------------------------------
cp -r "$T/rep" "$T/rep1" || fail "cp"
"$BIN" report --out "$T/rep/REPORT.md" --figures "$T/rep/fig" "$S" || fail "second report"
cmp "$T/rep/REPORT.md" "$T/rep1/REPORT.md" || fail "REPORT.md differs between runs"
for f in "$T"/rep1/fig/*; do
    cmp "$f" "$T/rep/fig/$(basename "$f")" || fail "$(basename "$f") differs between runs"
done
# the run block (timings) does not matter: a second engine run, same report
"$BIN" run -o "$T/out2" --bootstrap 200 "$T/f.h5" "$T/f2.h5" >/dev/null 2>&1 || fail "run 2"
cmp -s "$S" "$T/out2/summary.json" && fail "the two runs' summaries are identical (no test)"
mv "$T/out" "$T/out1" && mv "$T/out2" "$T/out" || fail "mv"
mkdir -p "$T/rep3/fig" && cp "$T/rep/fig/gallery-f2.png" "$T/rep3/fig/" || fail "cp"
"$BIN" report --out "$T/rep3/REPORT.md" --figures "$T/rep3/fig" "$S" || fail "report of run 2"
cmp "$T/rep3/REPORT.md" "$R" || fail "the report depends on the run block"

# --- numbers of summary.json, formatted as the report formats them ----------------
$PY - "$S" "$R" <<'EOF' || fail "numbers of summary.json not found in the report"
import json, sys
s = json.load(open(sys.argv[1]))
r = open(sys.argv[2]).read()
def pct(x): return "%.1f" % (100 * x)
ok = True
for i in s["inputs"]:
    stem = i["file"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
    g = i["variants"]["gradcam"]
    lo, hi = g["boxacc_ci95"]["max"]
    row = "| `gradcam` | %d | %s [%s, %s] |" % (g["degenerate"], pct(g["boxacc"]["max"]),
                                              pct(lo), pct(hi))
    e = i["variants"]["gradcam-signed"]["evidence"]
    enr = "%.2f [%.2f, %.2f]" % (e["neg_enrichment"], *e["neg_enrichment_ci95"])
    for want in (row, enr, "| `%s` | `%s` |" % (stem, i["attributes"]["model"])):
        if want not in r:
            print("missing:", want); ok = False
    # Question 3: each sign-table row's shares with their intervals
    for tb in ("alphaA", "GA"):
        for rg in ("target", "other", "background", "all"):
            sh = i["sign_tables"][tb][rg]
            cells = ["%s [%s, %s]" % (pct(sh[k]), pct(sh[k + "_ci95"][0]), pct(sh[k + "_ci95"][1]))
                     if k in sh else "-" for k in ("nn_share", "np_share")]
            want = "| `%s` | %s | %s | " % (stem, i["attributes"]["activation"], rg)
            rows = [l for l in r.splitlines() if l.startswith(want)
                    and "| %s |" % cells[0] in l and "| %s |" % cells[1] in l]
            if not rows:
                print("missing: Q3 row", tb, stem, rg, cells); ok = False
tol = "Pointing tolerance **%g px**" % s["inputs"][0]["protocol"]["tolerance"]
if tol not in r:
    print("missing:", tol); ok = False
sys.exit(0 if ok else 1)
EOF

# --- Question 6 and the brief ---------------------------------------------------
[ "$(grep -m1 '^## ' "$R")" = "## The answer in brief" ] || fail "the brief is not the first section"
grep -qF '`f`: Grad-CAM minus `activation`' "$R" || fail "brief: no sentence for f"
grep -qF 'Question 6 was not run for any input (`f`, `f2`)' "$R" || fail "no causal: 'not run' missing"
grep -qF 'Question 6 was not run.' "$R" || fail "no causal: Question 6 section does not say so"
ls "$T/rep/fig" | grep -q '^q6-' && fail "a Question 6 figure without a causal block"
$PY tests/causal_summary_fixture.py "$S" "$T/causal.json" --skip 1 || fail "causal fixture"
$PY tests/causal_summary_fixture.py "$S" "$T/causal1.json" --refs zero --steps 5 ||
    fail "causal fixture (zero only)"
for c in causal causal1; do
    rm -rf "$T/$c"
    "$BIN" report --out "$T/$c/REPORT.md" --figures "$T/$c/fig" "$T/$c.json" 2>"$T/err" ||
        { cat "$T/err"; fail "$c.json: report exited $?"; }
    [ ! -s "$T/err" ] || { cat "$T/err"; fail "$c.json: stderr on success"; }
    C=$T/$c/REPORT.md
    [ "$(grep -m1 '^## ' "$C")" = "## The answer in brief" ] || fail "$c: brief not first"
    # title and at most a two-line intro before it
    [ "$(sed '/^## The answer in brief$/q' "$C" | grep -c .)" -le 4 ] || fail "$c: long intro"
    [ "$(grep '^## ' "$C" | tail -n 1)" = "## Appendix" ] || fail "$c: appendix not last"
    grep -qxF '### Question 6: every order' "$C" || fail "$c: no Q6 appendix"
    [ -s "$T/$c/fig/q6-curves-f.png" ] && [ -s "$T/$c/fig/q6-curves-f.svg" ] ||
        fail "$c: no q6-curves-f figure"
    grep -qF '](fig/q6-curves-f.png)' "$C" || fail "$c: q6 figure not linked"
done
[ -e "$T/causal/fig/q6-curves-f2.png" ] && fail "a Q6 figure for the input without causal"
grep -qF '`f2`: Grad-CAM minus `activation`' "$T/causal/REPORT.md" || fail "f2 missing from the brief"
[ "$(grep -c 'Question 6 was not run for it' "$T/causal/REPORT.md")" -ge 3 ] ||
    fail "f2 (no causal): 'Question 6 was not run for it' missing from the brief"
$PY - "$T/causal.json" "$T/causal/REPORT.md" "$T/causal1.json" "$T/causal1/REPORT.md" <<'EOF2' ||
import json, sys
def g3(x, plus): return "0" if ("%.3g" % x) in ("0", "-0") else ("%+.3g" if plus else "%.3g") % x
def ci(v, lohi, f): return "%s [%s, %s]" % (f(v), f(lohi[0]), f(lohi[1]))
ok = True
for sj, rp in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    s, r = json.load(open(sj)), open(rp).read()
    brief = r.split("## The answer in brief", 1)[1].split("\n## ", 1)[0]
    q6 = r.split("\n## Question 6", 1)[1].split("\n## ", 1)[0]
    for i, inp in enumerate(s["inputs"]):
        stem = inp["file"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        c = inp.get("causal")
        if c is None:
            want = [(brief, "`%s`: Grad-CAM minus" % stem), (q6, "- `%s`: not run" % stem)]
        else:
            want = []
            for ref in c["references"]:
                k = c["claim"][ref]
                d = ci(k["target_diff"], k["target_diff_ci95"], lambda x: g3(x, 1))
                lo, hi = k["target_diff_ci95"]
                verb = "raises" if lo > 0 else "lowers" if hi < 0 else "does not detectably change"
                want.append((brief, "%s y^c (%s, %d targets)" % (verb, d, k["eligible"])))
                o = ci(k["others_diff"], k["others_diff_ci95"], lambda x: g3(x, 1))
                want.append((brief, o))
                want.append((q6, "| %s |" % d))
                m = c["completeness"][ref]["gradcam"]
                want.append((brief, "`%s` r = %s" % (ref, ci(m["r"], m["r_ci95"], lambda x: "%.2f" % x))))
                for mode in ("deletion", "insertion"):
                    b = c["best"][mode][ref]
                    a = c[mode][ref][b]
                    want.append((brief, "`%s` at `%s` (AUC %s)" % (b, ref, ci(a["auc"], a["auc_ci95"], lambda x: "%.2f" % x)))
                            if len(c["references"]) == 2 else (brief, "`%s` at `%s`" % (b, ref)))
                    want.append((q6, "| `%s` | `%s` | %s |" % (stem, "gradcam", ci(c["deletion"][c["references"][0]]["gradcam"]["auc"], c["deletion"][c["references"][0]]["gradcam"]["auc_ci95"], lambda x: "%.2f" % x))))
            want.append((q6, "%d targets, %d steps" % (c["targets"], c["steps"])))
        for part, w in want:
            if w not in part:
                print(sj, "missing:", w); ok = False
sys.exit(0 if ok else 1)
EOF2
    fail "Question 6 numbers of the fixture not found where expected"
# a causal block missing any member: exit 1, one line naming it, no REPORT.md
for key in curves_file network layer steps cells targets seed references orders scale.zero \
           scale_degenerate.mu deletion.zero.gradcam.auc insertion.mu.random.raw_curve \
           deletion.mu.hirescam.curve best.insertion.mu paired claim.zero.target_diff \
           claim.mu.eligible_others completeness.zero.hirescam.slope completeness.mu.gradcam.r; do
    $PY - "$T/causal.json" "$T/ck.json" "$key" <<'EOF2' || fail "make ck.json ($key)"
import json, sys
s = json.load(open(sys.argv[1]))
o = s["inputs"][0]["causal"]
path = sys.argv[3].split(".")
for k in path[:-1]:
    o = o[k]
del o[path[-1]]
json.dump(s, open(sys.argv[2], "w"))
EOF2
    rm -rf "$T/b"
    "$BIN" report --out "$T/b/REPORT.md" --figures "$T/b/fig" "$T/ck.json" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "causal without $key: exit $rc, expected 1"
    [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "causal without $key: not one line"; }
    grep -qF "$T/ck.json: inputs[0].causal.$key: missing" "$T/err" ||
        { cat "$T/err"; fail "causal without $key: message does not name it"; }
    [ ! -e "$T/b/REPORT.md" ] || fail "causal without $key: REPORT.md written"
done
# the engine writes best "" when no order other than random exists: "none", no failure
$PY -c 'import json, sys
s = json.load(open(sys.argv[1])); s["inputs"][0]["causal"]["best"]["deletion"]["zero"] = ""
json.dump(s, open(sys.argv[2], "w"))' "$T/causal.json" "$T/ck.json" || fail "make ck.json (best)"
rm -rf "$T/b"
"$BIN" report --out "$T/b/REPORT.md" --figures "$T/b/fig" "$T/ck.json" 2>"$T/err" ||
    { cat "$T/err"; fail "best \"\": report failed"; }
grep -qF 'best deletion order `none` (`zero`)' "$T/b/REPORT.md" || fail "best \"\": not 'none'"
# inconsistent values: one line naming the member
for bad in 'c["cells"][3] = 0' 'c["references"] = ["mu", "zero"]' 'c["orders"].reverse()' \
           'c["best"]["deletion"]["zero"] = "random"' 'c["steps"] = 0' 'c["scale"]["mu"] = 0' \
           'c["deletion"]["zero"]["gradcam"]["curve"].pop()' 'c["paired"][0]["b"] = "nope"' \
           'c["completeness"]["zero"]["gradcam"]["r"] = 2' 'c["scale_degenerate"]["zero"] = 0'; do
    $PY -c 'import json, sys
s = json.load(open(sys.argv[1])); c = s["inputs"][0]["causal"]
exec(sys.argv[3]); json.dump(s, open(sys.argv[2], "w"))' "$T/causal.json" "$T/ck.json" "$bad" ||
        fail "make ck.json ($bad)"
    rm -rf "$T/b"
    "$BIN" report --out "$T/b/REPORT.md" --figures "$T/b/fig" "$T/ck.json" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF "inputs[0].causal." "$T/err" ||
        { cat "$T/err"; fail "causal with $bad: exit $rc or message"; }
    [ ! -e "$T/b/REPORT.md" ] || fail "causal with $bad: REPORT.md written"
done

# --- bad summaries: exit 1, one line, no REPORT.md, no temporaries -----------------
head -c 3000 "$S" >"$T/trunc.json"
sed 's#gradcam-study-summary/1#gradcam-study-summary/9#' "$S" >"$T/schema.json"
$PY -c '
import json, sys
s = json.load(open(sys.argv[1]))
del s["inputs"][1]["variants"]["gradcam"]["boxacc"]["minmax"]
json.dump(s, open(sys.argv[2], "w"))' "$S" "$T/missing.json" || fail "missing.json"
printf '{"schema": "gradcam-study-summary/1", "inputs": [{"file": 3}]}' >"$T/type.json"
for bad in trunc schema missing type; do
    rm -rf "$T/b"
    "$BIN" report --out "$T/b/REPORT.md" --figures "$T/b/fig" "$T/$bad.json" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "$bad.json: exit $rc, expected 1"
    [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "$bad.json: not one line"; }
    grep -q "^gradcam-study: $T/$bad.json: " "$T/err" || { cat "$T/err"; fail "$bad.json: message"; }
    [ ! -e "$T/b/REPORT.md" ] || fail "$bad.json: REPORT.md written"
done
# a failure while drawing (no gnuplot on PATH) leaves the old report and no temporaries
cp "$T/rep/REPORT.md" "$T/before.md"
PATH=/nonexistent "$BIN" report --out "$T/rep/REPORT.md" --figures "$T/rep/fig" "$S" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] || fail "without gnuplot: exit $rc, expected 1"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'gnuplot' "$T/err" || { cat "$T/err"; fail "gnuplot message"; }
cmp "$T/rep/REPORT.md" "$T/before.md" || fail "a failed report changed REPORT.md"
ls -a "$T/rep" "$T/rep/fig" | grep -q '\.tmp$' && fail "temporaries left after a failure"
rm -rf "$T/nognu"
PATH=/nonexistent "$BIN" report --out "$T/nognu/REPORT.md" --figures "$T/nognu" "$S" 2>/dev/null
[ ! -e "$T/nognu/REPORT.md" ] || fail "REPORT.md written without figures"

# --- usage errors: exit 2 -----------------------------------------------------------
for args in "" "--out $T/u.md" "--out $T/u.md --figures $T/u" "--figures $T/u $S" \
            "--out $T/u.md --figures $T/u $S $S" "--bogus $S" "--out"; do
    # shellcheck disable=SC2086
    "$BIN" report $args >/dev/null 2>"$T/err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "report $args: exit $rc, expected 2"
    grep -q '^usage: gradcam-study report' "$T/err" || fail "report $args: no usage line"
done
"$BIN" report --help >"$T/out.txt" || fail "--help exit"
grep -q '^usage: gradcam-study report' "$T/out.txt" || fail "--help text"
[ ! -e "$T/u.md" ] || fail "usage error wrote a report"

echo "test_report: all checks passed"
