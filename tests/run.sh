#!/bin/sh
# tests/run.sh: the whole test suite, called by `make test` (and `make asan`).
# Usage: BIN=bin/gradcam-study BUILD=build PY=/usr/bin/python3 sh tests/run.sh TESTBIN...
# Each step is one named test; the last line is "N passed, M failed" and the
# exit status is non-zero when anything failed.
set -u
BIN=${BIN:-bin/gradcam-study}
PY=${PY:-/usr/bin/python3}
BUILD=${BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/gcs-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
failed=""

step() { # step NAME COMMAND...
    name=$1; shift
    if "$@" >"$T/log" 2>&1; then
        pass=$((pass + 1)); echo "PASS $name"
    else
        fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name"
        sed 's/^/    /' "$T/log" | tail -40
    fi
}

# --- unit tests (cmocka) -------------------------------------------------
for t in "$@"; do
    step "$(basename "$t")" "$t"
done

# --- the tree's shape (README "Layout") ------------------------------------
step "layout: no file-level dependency cycle, pipeline/ by folder, no C file past 900 lines, no committed binary" \
    $PY tests/test_layout.py "$BUILD"

# --- end to end against the independent numpy reference --------------------
fixture() { # fixture NAME ARGS...
    n=$1; shift
    $PY tests/make_fixture.py "$T/$n.h5" "$@" >/dev/null
}
e2e() { # e2e NAME [run options]
    n=$1; shift
    "$BIN" run -o "$T/out-$n" --save-maps "$@" "$T/$n.h5" &&
        $PY tests/ref_check.py "$T/$n.h5" "$T/out-$n" "$@"
}
fixture f32 --seed 11 --images 25 --channels 64 --fh 12 --fw 12 --saliency
fixture f16 --seed 12 --images 25 --channels 64 --fh 12 --fw 12 --dtype f16 \
    --activation pre-activation --width 96 --height 72
fixture odd --seed 13 --images 9 --channels 7 --fh 5 --fw 3 --height 37 --width 53
fixture wide --seed 14 --images 12 --channels 40 --fh 4 --fw 5 --height 40 --width 50
step "numpy reference, K=64 12x12 float32 + saliency" e2e f32
step "numpy reference, float16 pre-activation" e2e f16
step "numpy reference, odd sizes, threshold 0.37 tolerance 4" e2e odd --threshold 0.37 --tolerance 4
step "numpy reference, more channels than cells (eigencam on the cells' Gram matrix)" e2e wide

# --- planted answers --------------------------------------------------------
if [ "${SUITE:-}" != sanitizers ]; then   # Python only: once is enough
    step "exporters (pytest): gradients vs autograd and finite differences, scenes, VOC exporter, every bad input named in one line, resize modes, progress" \
        $PY -m pytest -q -p no:cacheprovider tests/test_exporters.py
    step "causal.py (pytest): linear-head curves by hand, HiResCAM optimal, planted cell, random control, claim, every bad input in one line, torchvision resnet18" \
        $PY -m pytest -q -p no:cacheprovider tests/test_causal.py
    step "benchmark's Python half (pytest): generated data, baseline maps and hits, agreement gate" \
        $PY -m pytest -q -p no:cacheprovider tests/test_bench_py.py
fi
step "planted-answer fixtures" $PY tests/planted.py "$BIN" "$T/planted"

# --- thread-count invariance ------------------------------------------------
same_outputs() { # same_outputs DIR_A DIR_B: equal bytes, summary.json outside "run"
    cmp "$1/targets.csv" "$2/targets.csv" && cmp "$1/signs.csv" "$2/signs.csv" || return 1
    for m in "$1"/maps*.h5; do
        [ -e "$m" ] || continue
        cmp "$m" "$2/$(basename "$m")" || return 1
    done
    sed '/^  "run": {/,$d' "$1/summary.json" >"$T/sa" &&
        sed '/^  "run": {/,$d' "$2/summary.json" >"$T/sb" &&
        grep -q '"inputs"' "$T/sa" && cmp "$T/sa" "$T/sb"
}
threads() { # with causal curves (--curves), so their statistics are covered too
    $PY tests/causal_fixture.py "$T/f32.h5" "$T/c32.h5" &&
        $PY tests/causal_fixture.py "$T/f16.h5" "$T/c16.h5" --steps 16 || return 1
    for n in 1 2 7; do
        "$BIN" run -o "$T/thr$n" --threads $n --save-maps --curves "$T/c32.h5" \
            --curves "$T/c16.h5" "$T/f32.h5" "$T/f16.h5" || return 1
    done
    grep -q '"causal"' "$T/thr1/summary.json" &&
        same_outputs "$T/thr1" "$T/thr2" && same_outputs "$T/thr1" "$T/thr7" || return 1
    # one input buffer (no reader thread) and tiny batches: the same bytes again
    GRADCAM_STUDY_READER_THREAD=0 "$BIN" run -o "$T/thr1b" --threads 2 --save-maps \
        --curves "$T/c32.h5" --curves "$T/c16.h5" "$T/f32.h5" "$T/f16.h5" || return 1
    grep -q '"double_buffered": 0' "$T/thr1b/summary.json" &&
        grep -q '"double_buffered": 1' "$T/thr2/summary.json" &&
        same_outputs "$T/thr1" "$T/thr1b"
}
step "same bytes at 1, 2 and 7 threads, with and without the reader thread (two inputs, with --curves)" threads

isas() { # the run-time dispatch capped (GRADCAM_STUDY_ISA): the paths an AVX2-only or an
         # older x86-64 CPU takes, on this one; same bytes as the thread test's 2-thread run
    for isa in avx2 scalar; do
        GRADCAM_STUDY_ISA=$isa "$BIN" run -o "$T/isa-$isa" --threads 2 --save-maps \
            --curves "$T/c32.h5" --curves "$T/c16.h5" "$T/f32.h5" "$T/f16.h5" || return 1
        same_outputs "$T/thr2" "$T/isa-$isa" || return 1
    done
    GRADCAM_STUDY_ISA=sse9 "$BIN" run -o "$T/isa-bad" "$T/f32.h5" 2>"$T/isa.err"
    [ $? -eq 2 ] && grep -q "GRADCAM_STUDY_ISA" "$T/isa.err" && [ ! -e "$T/isa-bad" ]
}
step "same bytes with the vector paths capped at AVX2 and at scalar (the dispatch another CPU takes)" isas

# --- provenance: the digests in summary.json are the files' own --------------
digests() { # summary.json of the thread test (two inputs) against sha256sum and the sizes
    for f in "$T/f32.h5" "$T/f16.h5"; do
        want=$(sha256sum "$f" | cut -d' ' -f1) && size=$(wc -c <"$f") || return 1
        $PY - "$T/thr2/summary.json" "$f" "$want" "$size" <<'PYEOF' || return 1
import json, sys
s, f, want, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
got = [i["provenance"] for i in json.load(open(s))["inputs"] if i["file"] == f]
assert len(got) == 1, "input %s not in %s" % (f, s)
assert got[0]["sha256"] == want, "%s: sha256 %s, sha256sum says %s" % (f, got[0]["sha256"], want)
assert got[0]["bytes"] == size, "%s: bytes %d, the file has %d" % (f, got[0]["bytes"], size)
print("%s: %s (%d bytes), as sha256sum" % (f, want, size))
PYEOF
    done
}
step "provenance: summary.json's sha256 and bytes equal sha256sum's and the file sizes" digests

# --- command line and bad input ------------------------------------------------
expect() { # expect STATUS PATTERN COMMAND...: exit status and a stderr line
    want=$1; pat=$2; shift 2
    "$@" >"$T/o" 2>"$T/e"; got=$?
    [ "$got" -eq "$want" ] || { echo "exit $got, expected $want: $*"; cat "$T/e"; return 1; }
    [ -z "$pat" ] || grep -q -- "$pat" "$T/e" || { echo "stderr lacks '$pat':"; cat "$T/e"; return 1; }
}
cli() {
    expect 0 "" "$BIN" --help && grep -q "gradcam-study run" "$T/o" &&
    expect 0 "" "$BIN" --version &&
    expect 2 "usage" "$BIN" &&
    expect 2 "unknown command" "$BIN" frobnicate &&
    expect 2 "needs -o" "$BIN" run "$T/f32.h5" &&
    expect 2 "unknown variant" "$BIN" run -o "$T/x" --variants gradcam,nope "$T/f32.h5" &&
    expect 2 "threshold" "$BIN" run -o "$T/x" --threshold 1.5 "$T/f32.h5" &&
    expect 0 "" "$BIN" check "$T/f32.h5" && grep -q "valid gradcam-study/1" "$T/o"
}
step "command line: help, version, usage errors exit 2" cli
tty_progress() { # on a terminal (script(1) gives run a pty): a progress line and a table
    script -qec "'$BIN' run -o '$T/tty' --bootstrap 0 '$T/f32.h5'" /dev/null >"$T/tty.txt" 2>&1 &&
    grep -q "run: input 1/1 f32.h5: [0-9]*/[0-9]* targets (100%)" "$T/tty.txt" &&
    grep -q "^f32.h5  *gradcam  *[0-9.]*%" "$T/tty.txt" &&
    script -qec "'$BIN' run --quiet -o '$T/tty2' --bootstrap 0 '$T/f32.h5'" /dev/null >"$T/tty2.txt" 2>&1 &&
    [ ! -s "$T/tty2.txt" ] &&
    "$BIN" run -o "$T/tty3" --bootstrap 0 "$T/f32.h5" >"$T/tty3.txt" 2>&1 &&
    [ ! -s "$T/tty3.txt" ] &&
    cmp "$T/tty/targets.csv" "$T/tty3/targets.csv" && cmp "$T/tty/signs.csv" "$T/tty3/signs.csv"
}
step "run on a terminal: progress line and final table; nothing with --quiet or when piped; same outputs" tty_progress
names_flow() { # /images/name and the exporter's counts, from check to the report
    $PY tests/make_fixture.py "$T/nm.h5" --seed 4 --images 9 --names --export-counts --pixels \
        >/dev/null &&
    "$BIN" check "$T/nm.h5" >"$T/nm.check" &&
    grep -q 'image names (/images/name): yes' "$T/nm.check" &&
    grep -q 'boxes_dropped 1, boxes_clipped 2' "$T/nm.check" &&
    "$BIN" run -o "$T/nmrun" --save-maps --bootstrap 0 "$T/nm.h5" "$T/f32.h5" &&
    $PY - "$T/nmrun" "$T/nm.h5" <<'PYEOF' &&
import csv, json, sys
import h5py
run, h5 = sys.argv[1], sys.argv[2]
names = [n.decode() for n in h5py.File(h5, "r")["images/name"][()]]
rows = list(csv.DictReader(open(run + "/targets.csv", newline="", encoding="utf-8")))
bad = [r for r in rows if r["image_name"] != (names[int(r["image"])] if r["input"] == "0" else "")]
assert rows and not bad, "image_name wrong in %d rows, e.g. %r" % (len(bad), bad[:1])
assert any("," in n and '"' in n for n in names), "the fixture lacks an awkward name"
d = json.load(open(run + "/summary.json"))
a, b = d["inputs"]
assert a["counts"]["images_named"] == len(names) and "images_named" not in b["counts"]
assert a["export"] == {"boxes_dropped": 1, "boxes_clipped": 2, "boxes_inverted": 3,
                       "boxes_outside_image": 4, "objects_unknown_class": 5,
                       "images_skipped": 6}, a["export"]
assert "export" not in b
PYEOF
    "$BIN" gallery -o "$T/nmgal" --run "$T/nmrun" "$T/nm.h5" "$T/f32.h5" >"$T/nmgal.txt" &&
    grep -q '(image [0-9]* "img' "$T/nmgal.txt" &&
    "$BIN" report --out "$T/nmrep/R.md" --figures "$T/nmrep/fig" "$T/nmrun/summary.json" &&
    grep -q '9 images carry their file names' "$T/nmrep/R.md" &&
    grep -q 'The export recorded 1 boxes cropped away, 2 boxes clipped' "$T/nmrep/R.md" &&
    "$BIN" run -o "$T/nmrun2" --bootstrap 0 "$T/f32.h5" &&
    ! head -1 "$T/nmrun2/targets.csv" | grep -q image_name
}
step "image names and export counts: check, targets.csv (quoted), summary.json, gallery, report; absent without them" names_flow

bad_input() {
    printf 'not hdf5 at all\n' >"$T/junk.h5"
    expect 1 "junk.h5: -: not an HDF5 file" "$BIN" check "$T/junk.h5" &&
    expect 1 "nothere.h5: -: cannot open" "$BIN" check "$T/nothere.h5" &&
    expect 1 "junk.h5: -: not an HDF5 file" "$BIN" run -o "$T/badout" "$T/junk.h5" &&
    [ ! -e "$T/badout" ] &&
    $PY -c 'import h5py,sys
f=h5py.File(sys.argv[1],"a"); del f["targets/class"]' "$T/f16.h5" &&
    expect 1 "f16.h5: /targets/class: missing" "$BIN" check "$T/f16.h5" &&
    expect 1 "f16.h5: /targets/class: missing" "$BIN" run -o "$T/thr1" "$T/f32.h5" "$T/f16.h5" &&
    # the previous complete outputs are untouched and no temporary is left
    same_outputs "$T/thr1" "$T/thr2" && [ -z "$(ls -A "$T/thr1" | grep tmp)" ]
}
step "bad input: one-line error, exit 1, previous outputs untouched" bad_input
step "causal curves (--curves): planted answers, absent without it, bad curves files refused in one line, same bytes at 1/2/7 threads" \
    env PY="$PY" sh tests/test_causal.sh "$BIN" "$T/causal"
step "gallery: PNG, layout, rules, errors" sh tests/test_gallery.sh "$BIN" "$T/gallery"
step "report: sections, figures, same bytes, bad input" env BIN="$BIN" PY="$PY" sh tests/test_report.sh

# REPORT.md is generated, never typed: regenerate it from the committed summary and compare.
report_fresh() {
    [ -f REPORT.md ] && [ -f data/report/summary.json ] || { echo "no REPORT.md or data/report/summary.json"; return 1; }
    mkdir -p "$T/fresh/data/report" && cp data/report/summary.json "$T/fresh/data/report/" &&
    for g in data/report/gallery-*.png; do [ -e "$g" ] && cp "$g" "$T/fresh/data/report/"; done
    [ -d data/weights ] && cp -r data/weights "$T/fresh/data/weights"
    [ -f data/MODELS.md ] && cp data/MODELS.md "$T/fresh/data/"
    BINABS=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
    (cd "$T/fresh" && "$BINABS" report --out REPORT.md --figures data/report \
        --models data/weights data/report/summary.json) &&
    diff -u REPORT.md "$T/fresh/REPORT.md" | head -20 && cmp -s REPORT.md "$T/fresh/REPORT.md"
}
step "REPORT.md is what data/report/summary.json gives (not stale)" report_fresh
step "compare: identical, planted regression, change, errors; history and trend" \
    sh tests/test_compare.sh "$BIN" "$T/compare"
step "nightly job: two runs 0, planted regression 1 (last-good kept), bad input 2, lock, pruning" \
    sh tests/test_nightly.sh "$BIN" "$T/nightly"
if [ -n "${MPIBIN:-}" ]; then
    step "MPI: P = 2 and 3 give the single-process bytes; bad input ends every rank" \
        sh tests/test_mpi.sh "$BIN" "$MPIBIN" "$T/mpi"
else
    echo "NOTE MPI equality test not run in this pass (no MPI build: the sanitizer pass)"
fi
step "kill test: SIGKILL at random moments never leaves a mixed OUTDIR" \
    sh tests/kill_test.sh "$BIN" "$T/kill"
replay_fuzz() { # every input the fuzzer ever flagged: refused with exit 1 and one line
    for c in tests/fuzz/crashes/*; do
        [ -e "$c" ] || continue
        case $(basename "$c") in
            json-*) GRADCAM_STUDY_HDF5_TIMEOUT=5 timeout 120 "$BIN" report --out "$T/fz/R.md" \
                        --figures "$T/fz" "$c" >/dev/null 2>"$T/fz.err" ;;
            *) GRADCAM_STUDY_HDF5_TIMEOUT=5 timeout 120 "$BIN" check "$c" >/dev/null 2>"$T/fz.err" ;;
        esac
        rc=$?
        [ $rc -eq 1 ] && [ "$(wc -l <"$T/fz.err")" -eq 1 ] ||
            { echo "$c: exit $rc"; cat "$T/fz.err"; return 1; }
        echo "$c: $(cat "$T/fz.err")"
    done
}
step "fuzzing findings replayed: each refused cleanly" replay_fuzz
step "malformed-file corpus: each refused by check and run, no OUTDIR left" \
    $PY tests/malformed.py "$BIN" "$T/malformed"

echo "$pass passed, $fail failed"
[ -z "$failed" ] || { echo "failed:$failed"; exit 1; }
