#!/bin/sh
# kill_test.sh BIN WORKDIR: SIGKILL runs at random moments; OUTDIR must always hold either the
# previous complete outputs or the new complete ones, never a mix or a partial file.
set -u
BIN=$1; W=$2; PY=${PY:-/usr/bin/python3}
mkdir -p "$W"
$PY tests/make_fixture.py "$W/a.h5" --seed 21 --images 30 >/dev/null
$PY tests/make_fixture.py "$W/b.h5" --seed 22 --images 60 >/dev/null
"$BIN" run -o "$W/ref-a" --save-maps --bootstrap 200 "$W/a.h5" || exit 1
"$BIN" run -o "$W/ref-b" --save-maps --bootstrap 200 "$W/b.h5" || exit 1
strip() { sed '/^  "run": {/,$d' "$1"; }
same() { # same DIR REF: every output of DIR equals REF's
    for f in targets.csv signs.csv maps.h5; do cmp -s "$1/$f" "$2/$f" || return 1; done
    strip "$1/summary.json" >"$W/s1"; strip "$2/summary.json" >"$W/s2"; cmp -s "$W/s1" "$W/s2"
}
out="$W/out"
t0=$(date +%s%N)
"$BIN" run -o "$out" --save-maps --bootstrap 200 "$W/b.h5" >/dev/null || exit 1
"$BIN" run -o "$out" --save-maps --bootstrap 200 "$W/a.h5" >/dev/null || exit 1
t1=$(date +%s%N)
# kill moments spread over 0 .. 2 x the mean duration of one run, in ms (widened below when
# every kill keeps landing on the same side)
span=$(( (t1 - t0) / 1000000 + 1 ))
prev=ref-a; n_old=0; n_new=0; bad=0
i=0
# at least 25 kills, and on until both outcomes were seen (at most 80)
while [ $i -lt 25 ] || { [ $i -lt 80 ] && { [ $n_old -eq 0 ] || [ $n_new -eq 0 ]; }; }; do
    i=$((i + 1))
    [ $i -gt 25 ] && [ $n_new -eq 0 ] && span=$((span * 5 / 4))
    if [ "$prev" = ref-a ]; then in=b.h5; next=ref-b; else in=a.h5; next=ref-a; fi
    "$BIN" run -o "$out" --save-maps --bootstrap 200 "$W/$in" >/dev/null 2>&1 &
    pid=$!
    # a pseudo-random delay in 0 .. span ms, different each round
    d=$(( (i * 7919 + 13) % span ))
    sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    if same "$out" "$W/$prev"; then n_old=$((n_old + 1))
    elif same "$out" "$W/$next"; then n_new=$((n_new + 1)); prev=$next
    else bad=$((bad + 1)); echo "round $i: OUTDIR is neither the previous nor the new run"; ls -la "$out"
    fi
done
stale=$(ls -A "$W" | grep -c staging)
echo "kill test: $i kills over 0..${span} ms, $n_old left the previous outputs, $n_new the new ones, $bad mixed; $stale staging directories left"
# both outcomes must occur (else the kills missed the interesting window), none mixed; the next
# complete run sweeps the killed runs' staging directories
"$BIN" run -o "$out" --bootstrap 0 "$W/a.h5" >/dev/null || exit 1
left=$(ls -A "$W" | grep -c staging)
[ "$left" -eq 0 ] || echo "$left stale staging directories survived a complete run"
[ $bad -eq 0 ] && [ $n_old -gt 0 ] && [ $n_new -gt 0 ] && [ "$left" -eq 0 ]
