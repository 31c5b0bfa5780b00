#!/bin/sh
# test_nightly.sh BIN WORKDIR: scripts/nightly.sh on a small generated input. Two runs in a row
# exit 0, both runs' rows are in the history, last-good points to the second; a planted
# regression (the same file name, gradients negated) exits 1, is flagged WORSE, leaves last-good
# where it was, and --keep prunes older runs but never last-good; an unreadable input and a
# missing one exit 2 with one line and leave no run; a held lock exits 2; compare's --tolerance
# is passed through.
set -u
BIN=$1; W=$2; PY=${PY:-/usr/bin/python3}
mkdir -p "$W/in" "$W/bad" "$W/junk"
fail() { echo "FAIL: $*"; exit 1; }
ST=$W/state
nightly() { # nightly ARGS...: exit status in $rc, stdout in $W/out, stderr in $W/err
    sh scripts/nightly.sh --state "$ST" --bin "$BIN" --threads 2 --bootstrap 200 "$@" \
        >"$W/out" 2>"$W/err"
    rc=$?
}
expect() { # expect STATUS WHAT
    [ "$rc" -eq "$1" ] || { cat "$W/out" "$W/err"; fail "$2: exit $rc, expected $1"; }
}
good() { readlink "$ST/last-good"; }
date_of() { sed -n 's/^ *"date_utc": "\([^"]*\)".*/\1/p' "$ST/$1/summary.json"; }
rows() { grep -c "^$1," "$ST/history.csv"; }

$PY tests/make_fixture.py "$W/in/f.h5" --seed 41 --images 16 >/dev/null || fail fixture

# --- two good runs -----------------------------------------------------------------------
nightly "$W/in/f.h5"; expect 0 "first run"
grep -q "first run" "$W/out" || fail "first run not reported as such"
r1=$(good) || fail "no last-good after the first run"
sleep 1   # the history's dates have one-second resolution: two distinct dates
nightly "$W/in/f.h5"; expect 0 "second run"
grep -q "0 regressed" "$W/out" || fail "second run: no '0 regressed'"
r2=$(good)
[ "$r2" != "$r1" ] || fail "last-good did not move to the second run"
[ "$r2" = "runs/$(ls "$ST/runs" | LC_ALL=C sort | tail -n 1)" ] || fail "last-good is not the newest run"
for f in summary.json targets.csv compare.txt trend.png REPORT.md; do
    [ -s "$ST/$r2/$f" ] || fail "$r2/$f missing"
done
d1=$(date_of "$r1"); d2=$(date_of "$r2")
[ -n "$d1" ] && [ "$d1" != "$d2" ] || fail "run dates '$d1' '$d2'"
n1=$(rows "$d1"); n2=$(rows "$d2")
[ "$n1" -gt 0 ] && [ "$n1" -eq "$n2" ] || fail "history rows: $n1 of $d1, $n2 of $d2"
[ "$(wc -l <"$ST/history.csv")" -eq $((n1 + n2 + 1)) ] || fail "history has other rows"

# --- planted regression: same file name, gradients negated (Grad-CAM becomes its counterfactual)
cp "$W/in/f.h5" "$W/bad/f.h5" &&
    $PY -c 'import h5py,sys
f=h5py.File(sys.argv[1],"a"); g=f["targets/gradients"]; g[...]=-g[...]' "$W/bad/f.h5" ||
    fail "plant"
sleep 1
nightly --keep 1 "$W/bad/f.h5"; expect 1 "planted regression"
grep "gradcam " "$W/out" | grep "boxacc/max " | grep -q WORSE || fail "regression not flagged"
grep -q "REGRESSION" "$W/out" || fail "no REGRESSION line"
[ "$(good)" = "$r2" ] || fail "last-good moved to a regressed run: $(good)"
[ ! -e "$ST/$r1" ] || fail "--keep 1 did not prune the oldest run"
[ -d "$ST/$r2" ] || fail "--keep 1 pruned last-good"
[ "$(ls "$ST/runs" | wc -l)" -eq 2 ] || fail "runs: $(ls "$ST/runs")"
[ "$(wc -l <"$ST/history.csv")" -eq $((3 * n1 + 1)) ] || fail "the regressed run's rows not in the history"

# --- errors: exit 2, one line, no run left, last-good unchanged ----------------------------
before=$(ls "$ST/runs")
printf 'not hdf5 at all\n' >"$W/junk/f.h5"
nightly "$W/junk/f.h5"; expect 2 "unreadable input"
[ "$(wc -l <"$W/err")" -eq 1 ] || { cat "$W/err"; fail "unreadable input: not one line"; }
grep -q "^nightly: .*not an HDF5 file" "$W/err" || fail "unreadable input: $(cat "$W/err")"
nightly "$W/nothere.h5"; expect 2 "missing input"
[ "$(wc -l <"$W/err")" -eq 1 ] && grep -q "nothere.h5: cannot read" "$W/err" ||
    fail "missing input: $(cat "$W/err")"
[ "$(ls "$ST/runs")" = "$before" ] && [ "$(good)" = "$r2" ] || fail "a failed run left traces"
flock -n "$ST/lock" sh scripts/nightly.sh --state "$ST" --bin "$BIN" "$W/in/f.h5" \
    >"$W/out" 2>"$W/err"; rc=$?
expect 2 "lock held"
grep -q "another nightly job" "$W/err" || fail "lock held: $(cat "$W/err")"
nightly --bogus; expect 2 "unknown option"

# --- compare's --tolerance passes through: a wide one absorbs the regression --------------
nightly --tolerance 10 --no-report "$W/bad/f.h5"; expect 0 "regression within --tolerance 10"
[ "$(good)" != "$r2" ] || fail "last-good did not move after a pass"
echo "nightly: two runs 0, history $n1 rows each, planted regression 1 (last-good kept, pruned to 2)," \
    "bad input 2, lock 2, tolerance passed through"
