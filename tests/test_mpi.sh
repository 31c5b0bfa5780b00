#!/bin/sh
# test_mpi.sh: the MPI build against the single-process engine.
# Usage: sh tests/test_mpi.sh SERIAL_BIN MPI_BIN TMPDIR
# P = 2 and 3 ranks (2 threads each, oversubscribed on purpose) must write
# the same targets.csv, signs.csv and maps.h5 bytes as one process, and the
# same summary.json outside its "run" block (intervals included); a bad
# input must end every rank with status 1 and our one-line message first.
set -eu
BIN=$1
MPIBIN=$2
T=$3
PY=${PY:-/usr/bin/python3}
mkdir -p "$T"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
# pre-activation (signed A, so gradcam-centered's mu matters), float32 (whose sums,
# unlike float16's, depend on their order: a mu added out of image order shows),
# saliency, 1-3 targets per image, 41 images: shards split mid-file
$PY tests/make_fixture.py "$T/in.h5" --seed 7 --images 41 --channels 24 --fh 7 --fw 9 \
    --height 40 --width 52 --activation pre-activation --saliency \
    --targets-per-image 3 >/dev/null
"$BIN" run -o "$T/serial" --threads 2 --save-maps --bootstrap 300 "$T/in.h5" >/dev/null
for P in 2 3; do
    mpirun --oversubscribe -np $P "$MPIBIN" run -o "$T/mpi$P" --threads 2 --save-maps \
        --bootstrap 300 "$T/in.h5" >/dev/null
    for f in targets.csv signs.csv maps.h5; do
        cmp "$T/serial/$f" "$T/mpi$P/$f" || { echo "P=$P: $f differs"; exit 1; }
    done
    $PY - "$T/serial/summary.json" "$T/mpi$P/summary.json" $P <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
P = int(sys.argv[3])
assert b["run"]["ranks"] == P, b["run"]
assert a["run"]["ranks"] == 1
del a["run"], b["run"]
assert a == b, "summary.json differs outside the run block"
PYEOF
    echo "P=$P: targets.csv, signs.csv, maps.h5 and summary.json (outside run) identical to 1 process"
done
# two inputs in one run: maps-0.h5 and maps-1.h5, the second input's shards too
$PY tests/make_fixture.py "$T/in2.h5" --seed 8 --images 9 --channels 16 --fh 5 --fw 5 \
    --dtype f16 >/dev/null
"$BIN" run -o "$T/serial2" --threads 1 --save-maps --bootstrap 100 "$T/in.h5" "$T/in2.h5" >/dev/null
mpirun --oversubscribe -np 3 "$MPIBIN" run -o "$T/mpi2" --threads 1 --save-maps --bootstrap 100 \
    "$T/in.h5" "$T/in2.h5" >/dev/null
for f in targets.csv signs.csv maps-0.h5 maps-1.h5; do
    cmp "$T/serial2/$f" "$T/mpi2/$f" || { echo "two inputs, P=3: $f differs"; exit 1; }
done
echo "two inputs, P=3: identical"
# causal curves (--curves): the masses come from every rank's shard, rank 0 gathers them
$PY tests/causal_fixture.py "$T/in.h5" "$T/c1.h5" && $PY tests/causal_fixture.py "$T/in2.h5" "$T/c2.h5" ||
    { echo "causal fixtures failed"; exit 1; }
"$BIN" run -o "$T/serialc" --threads 1 --bootstrap 100 --curves "$T/c1.h5" --curves "$T/c2.h5" \
    "$T/in.h5" "$T/in2.h5" >/dev/null
mpirun --oversubscribe -np 3 "$MPIBIN" run -o "$T/mpic" --threads 1 --bootstrap 100 \
    --curves "$T/c1.h5" --curves "$T/c2.h5" "$T/in.h5" "$T/in2.h5" >/dev/null
sed '/^  "run": {/,$d' "$T/serialc/summary.json" >"$T/sc.json"
sed '/^  "run": {/,$d' "$T/mpic/summary.json" >"$T/mc.json"
grep -q '"causal"' "$T/sc.json" && cmp "$T/sc.json" "$T/mc.json" ||
    { echo "--curves, P=3: summary.json differs"; exit 1; }
echo "--curves, two inputs, P=3: summary.json identical"
# a bad input: every rank exits 1, nothing written, our message on stderr
printf 'not hdf5' > "$T/bad.h5"
rc=0
mpirun --oversubscribe -np 2 "$MPIBIN" run -o "$T/badout" "$T/in2.h5" "$T/bad.h5" \
    >/dev/null 2>"$T/bad.err" || rc=$?
[ $rc -eq 1 ] || { echo "bad input: exit $rc, expected 1"; cat "$T/bad.err"; exit 1; }
[ ! -e "$T/badout" ] || { echo "bad input left $T/badout"; exit 1; }
grep -c "^gradcam-study: .*bad.h5: " "$T/bad.err" | grep -qx 1 ||
    { echo "expected one message naming bad.h5:"; cat "$T/bad.err"; exit 1; }
echo "bad input under P=2: exit non-zero, no OUTDIR, one message: $(grep '^gradcam-study' "$T/bad.err")"
# an error only the last rank sees, mid-run (a NaN in the last target's gradients):
# rank 0 reports it, every rank exits 1, no OUTDIR
cp "$T/in2.h5" "$T/nan.h5"
$PY - "$T/nan.h5" <<'PYEOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    g = f["targets/gradients"]
    x = g[g.shape[0] - 1]
    x.flat[3] = np.nan
    g[g.shape[0] - 1] = x
PYEOF
rc=0
mpirun --oversubscribe -np 3 "$MPIBIN" run -o "$T/nanout" "$T/nan.h5" >/dev/null 2>"$T/nan.err" || rc=$?
[ $rc -eq 1 ] || { echo "NaN on the last rank: exit $rc, expected 1"; cat "$T/nan.err"; exit 1; }
[ ! -e "$T/nanout" ] || { echo "NaN on the last rank left $T/nanout"; exit 1; }
grep -c "^gradcam-study: .*nan.h5: /targets/gradients: non-finite" "$T/nan.err" | grep -qx 1 ||
    { echo "expected rank 0 to report the last rank's error once:"; cat "$T/nan.err"; exit 1; }
echo "NaN seen by the last rank only: exit 1, no OUTDIR, reported once by rank 0"
