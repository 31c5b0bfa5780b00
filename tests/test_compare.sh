#!/bin/sh
# test_compare.sh BIN WORKDIR: `compare` on identical runs (exit 0), a planted regression
# (exit 1, the metric flagged WORSE), a planted change of an enrichment (exit 1, CHANGED), an
# improvement (exit 0, better), a missing input or a bad summary (exit 2); --history appends
# rows and --trend draws the plot.
set -u
BIN=$1; W=$2; PY=${PY:-/usr/bin/python3}
mkdir -p "$W"
fail() { echo "FAIL: $*"; exit 1; }
$PY tests/make_fixture.py "$W/f.h5" --seed 31 --images 20 >/dev/null || fail fixture
"$BIN" run -o "$W/base" --bootstrap 300 "$W/f.h5" >/dev/null || fail "run base"
"$BIN" run -o "$W/new" --bootstrap 300 --threads 1 "$W/f.h5" >/dev/null || fail "run new"
"$BIN" compare "$W/base" "$W/new" --history "$W/h.csv" >"$W/out" || fail "identical runs: exit $?"
grep -q "0 regressed" "$W/out" || fail "identical runs: not 0 regressed"
plant() { # plant NAME PYTHON-EXPRESSION-ON-v (the gradcam variant object)
    mkdir -p "$W/$1" && cp "$W/new/summary.json" "$W/$1/" &&
    $PY -c "import json,sys
p=sys.argv[1]; d=json.load(open(p)); v=d['inputs'][0]['variants']['gradcam']
$2
json.dump(d, open(p,'w'))" "$W/$1/summary.json" || fail "plant $1"
}
plant worse "v['boxacc']['max'] = v['boxacc_ci95']['max'][0] - 0.05"
"$BIN" compare "$W/base" "$W/worse" >"$W/out"; rc=$?
[ $rc -eq 1 ] || fail "planted regression: exit $rc, expected 1"
grep "gradcam " "$W/out" | grep "boxacc/max " | grep -q WORSE || fail "regression not flagged"
"$BIN" compare "$W/base" "$W/worse" --tolerance 0.1 >/dev/null || fail "tolerance 0.1 should absorb it"
plant better "v['pointing'] = 1.0; v['pointing_ci95'] = [1.0, 1.0]"
"$BIN" compare "$W/base" "$W/better" >"$W/out" || fail "an improvement is not a regression"
grep -q "better" "$W/out" || fail "improvement not reported"
plant changed "v['evidence']['pos_enrichment'] = v['evidence']['pos_enrichment_ci95'][1] + 1"
"$BIN" compare "$W/base" "$W/changed" >"$W/out"; [ $? -eq 1 ] || fail "changed enrichment: not exit 1"
grep -q CHANGED "$W/out" || fail "changed enrichment not flagged"
mkdir -p "$W/empty"; printf '{"schema": "gradcam-study-summary/1", "inputs": []}' >"$W/empty/summary.json"
"$BIN" compare "$W/base" "$W/empty" >/dev/null 2>"$W/err"; [ $? -eq 2 ] || fail "missing input: not exit 2"
[ "$(wc -l <"$W/err")" -eq 1 ] || fail "missing input: not one line"
mkdir -p "$W/bad"; printf '{"schema": ' >"$W/bad/summary.json"
"$BIN" compare "$W/base" "$W/bad" 2>/dev/null; [ $? -eq 2 ] || fail "truncated summary: not exit 2"
"$BIN" compare "$W/base" 2>/dev/null; [ $? -eq 2 ] || fail "usage: not exit 2"
"$BIN" compare "$W/base" "$W/new" --history "$W/h.csv" --trend "$W/trend" >/dev/null || fail "second history"
n=$(grep -c ',gradcam,boxacc/max,' "$W/h.csv")
[ "$n" -eq 2 ] || fail "history has $n gradcam boxacc/max rows, expected 2"
[ -s "$W/trend.png" ] && [ -s "$W/trend.svg" ] || fail "no trend plot"
echo "compare: identical 0, planted regression 1, change 1, improvement 0, errors 2; history and trend ok"
