#!/bin/sh
# scripts/nightly.sh: an example nightly evaluation job, fit for cron.
#
#   scripts/nightly.sh [options] [INPUT.h5 ...]
#
# One run does, in order:
#   1. takes a lock (flock -n on STATE/lock): a second job started while one is running
#      refuses at once (exit 2) instead of overlapping or queueing behind it;
#   2. without INPUT files: `make data` (the default data, data/default/*.h5, exported from the
#      committed weights; make skips it when the files are up to date) and runs on those four
#      files with the study's pointing tolerance (3 px, as `make run`); with INPUT files: runs
#      on them, with the engine's defaults;
#   3. `gradcam-study run` into a new directory STATE/runs/<UTC timestamp>/ (YYYYMMDDTHHMMSSZ;
#      ".1", ".2", ... appended if that name exists). The engine's outputs are all-or-nothing:
#      a failed run leaves no directory behind;
#   4. `gradcam-study compare STATE/last-good NEW --tolerance X --history STATE/history.csv
#      --trend NEW/trend`: the full table goes to NEW/compare.txt, and stdout gets its summary
#      line plus every WORSE, CHANGED and note line. The first run has nothing to compare with:
#      it is compared with itself, which validates its summary and appends its history rows,
#      and it is good by definition. History rows are appended for every run that got this far,
#      a regressed one included (so the trend shows it);
#   5. when nothing regressed, points STATE/last-good at NEW, atomically (ln -s to a temporary
#      name, then mv -T over the old link; the link is relative, runs/<name>, so STATE can be
#      moved). A regressed run stays in runs/ for inspection but never becomes the baseline;
#   6. `gradcam-study report` into the run's own directory (NEW/REPORT.md, figures in
#      NEW/report/), never the committed REPORT.md;
#   7. keeps the newest N run directories (--keep) and deletes older ones, except the one
#      last-good points to.
#
# Exit status: compare's. 0 nothing regressed (or first run), 1 something regressed (WORSE or
# CHANGED), 2 error: bad usage, lock held, make data failed, an input missing or unreadable, the
# engine, compare or report failed. Every error is one line on stderr, "nightly: ...". A report
# failure after a passing comparison exits 2 but last-good has already moved (the results are
# good; only the document is missing).
#
# Options (environment variable in brackets; options win):
#   --state DIR            state directory [GCS_NIGHTLY_DIR; default out/nightly in the repository]
#   --keep N               run directories to keep, N >= 1 [GCS_NIGHTLY_KEEP; default 14]
#   --bin PATH             the engine [GCS_BIN; default bin/gradcam-study in the repository]
#   --tolerance X          compare's absolute tolerance around the baseline's 95% interval (default 0)
#   --threads N            passed to run (default: OMP_NUM_THREADS, else all cores)
#   --variants LIST        passed to run (default: all)
#   --pointing-tolerance P run's --tolerance, in pixels (default 3 on the default data, else 15)
#   --threshold T, --bootstrap B, --seed S, --max-memory MiB   passed to run as they are
#   --no-report            skip step 6
# Keep the run options the same from night to night: compare pairs runs by input file name and
# attributes and judges against the baseline's bootstrap intervals. To start a new baseline (new
# inputs, new options), remove STATE/last-good; the next run is then a first run.
#
# State directory:
#   STATE/lock             the flock file
#   STATE/history.csv      compare --history rows (date_utc,input,sha256,version,variant,metric,...)
#   STATE/last-good        symlink -> runs/<name>
#   STATE/make-data.log    output of the last `make data`
#   STATE/runs/<name>/     summary.json, targets.csv, signs.csv (the engine), run.log,
#                          compare.txt, trend.png/.svg, REPORT.md, report/, report.log
#
# crontab example (02:30 every night, 2 threads, mail on any output):
#   30 2 * * *  /path/to/repo/scripts/nightly.sh --threads 2 >>/path/to/nightly.log 2>&1
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "nightly: $*" >&2; exit 2; }
usage() { # the synopsis and the options, from this header
    sed -n '/^#   scripts\/nightly.sh/s/^#  /# usage:/p; /^# Options/,/^#   --no-report/p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
}

STATE=${GCS_NIGHTLY_DIR:-$ROOT/out/nightly}
KEEP=${GCS_NIGHTLY_KEEP:-14}
BIN=${GCS_BIN:-$ROOT/bin/gradcam-study}
CTOL=0
THREADS='' VARIANTS='' PTOL='' THRESH='' BOOT='' SEED='' MAXMEM='' REPORT=1

while [ $# -gt 0 ]; do
    case $1 in
        --no-report) REPORT=''; shift; continue ;;
        -h|--help) usage ;;
        --) shift; break ;;
        --state|--keep|--bin|--tolerance|--threads|--variants|--pointing-tolerance|\
        --threshold|--bootstrap|--seed|--max-memory)
            [ $# -ge 2 ] || die "$1 needs a value (see --help)" ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) break ;;
    esac
    case $1 in
        --state) STATE=$2 ;;
        --keep) KEEP=$2 ;;
        --bin) BIN=$2 ;;
        --tolerance) CTOL=$2 ;;
        --threads) THREADS=$2 ;;
        --variants) VARIANTS=$2 ;;
        --pointing-tolerance) PTOL=$2 ;;
        --threshold) THRESH=$2 ;;
        --bootstrap) BOOT=$2 ;;
        --seed) SEED=$2 ;;
        --max-memory) MAXMEM=$2 ;;
    esac
    shift 2
done
case $KEEP in ''|*[!0-9]*|0) die "--keep takes an integer >= 1, not '$KEEP'" ;; esac
case $CTOL in ''|*[!0-9.]*|*.*.*|.) die "--tolerance takes a number >= 0, not '$CTOL'" ;; esac
[ -x "$BIN" ] || die "$BIN: no engine there (run make, or pass --bin)"
command -v flock >/dev/null 2>&1 || die "flock not found (util-linux)"

mkdir -p "$STATE/runs" 2>/dev/null || die "$STATE: cannot create the state directory"
exec 9>>"$STATE/lock" || die "$STATE/lock: cannot open the lock file"
flock -n 9 || die "another nightly job holds $STATE/lock; not starting"

TMPLOG=$STATE/.run-$$.log
TMPERR=$STATE/.err-$$
TMPLINK=$STATE/.last-good-$$
trap 'rm -f "$TMPLOG" "$TMPERR" "$TMPLINK"' EXIT
trap 'exit 2' HUP INT TERM
firstline() { # the engine's own one-line error, else the last line of FILE
    l=$(grep -m 1 '^gradcam-study:' "$1" 2>/dev/null || true)
    [ -n "$l" ] || l=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 || true)
    echo "${l:-no message}"
}

# --- inputs -----------------------------------------------------------------------------
MODELS=''
if [ $# -eq 0 ]; then
    make -C "$ROOT" --no-print-directory data >"$STATE/make-data.log" 2>&1 ||
        die "make data failed: $(tail -n 1 "$STATE/make-data.log") (see $STATE/make-data.log)"
    set -- "$ROOT/data/default/vgg-relu-post.h5" "$ROOT/data/default/vgg-relu-pre.h5" \
        "$ROOT/data/default/gap-linear.h5" "$ROOT/data/default/vgg-signed.h5"
    PTOL=${PTOL:-3}
    [ -d "$ROOT/data/weights" ] && MODELS=$ROOT/data/weights
fi
for f in "$@"; do
    case $f in -*) die "'$f': options go before the input files (see --help)" ;; esac
    [ -f "$f" ] && [ -r "$f" ] || die "$f: cannot read this input"
done

# --- the baseline -----------------------------------------------------------------------
BASE='' BASENAME=''
if [ -L "$STATE/last-good" ] || [ -e "$STATE/last-good" ]; then
    BASENAME=$(readlink "$STATE/last-good" || true)
    [ -f "$STATE/last-good/summary.json" ] ||
        die "$STATE/last-good (-> ${BASENAME:-?}) has no summary.json; remove the link to start a new baseline"
    BASE=$STATE/last-good
fi

# --- the run ----------------------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
NAME=$stamp
n=1
while [ -e "$STATE/runs/$NAME" ]; do NAME=$stamp.$n; n=$((n + 1)); done
RUN=$STATE/runs/$NAME
t0=$(date +%s)
rc=0
"$BIN" run -o "$RUN" ${THREADS:+--threads "$THREADS"} ${VARIANTS:+--variants "$VARIANTS"} \
    ${THRESH:+--threshold "$THRESH"} ${PTOL:+--tolerance "$PTOL"} ${BOOT:+--bootstrap "$BOOT"} \
    ${SEED:+--seed "$SEED"} ${MAXMEM:+--max-memory "$MAXMEM"} "$@" >"$TMPLOG" 2>&1 || rc=$?
[ $rc -eq 0 ] || die "the engine failed (exit $rc), no run kept: $(firstline "$TMPLOG")"
mv "$TMPLOG" "$RUN/run.log" || die "$RUN/run.log: cannot move the engine's log there"
echo "nightly: run runs/$NAME: $# input(s), $(($(date +%s) - t0)) s"

# --- compare, history, trend --------------------------------------------------------------
rc=0
"$BIN" compare "${BASE:-$RUN}" "$RUN" --tolerance "$CTOL" --history "$STATE/history.csv" \
    --trend "$RUN/trend" >"$RUN/compare.txt" 2>"$TMPERR" || rc=$?
case $rc in
    0|1) ;;
    *) die "compare failed (exit $rc), last-good unchanged: $(firstline "$TMPERR")" ;;
esac
if [ -n "$BASE" ]; then
    echo "nightly: against last-good ${BASENAME:-?}: $(grep '^compare:' "$RUN/compare.txt" || true)"
    grep -E '^note:| (WORSE|CHANGED)$' "$RUN/compare.txt" | sed 's/^/nightly:   /' || true
else
    echo "nightly: first run: nothing to compare with, good by definition"
fi

# --- last-good ----------------------------------------------------------------------------
if [ $rc -eq 0 ]; then
    rm -f "$TMPLINK"
    ln -s "runs/$NAME" "$TMPLINK" && mv -T "$TMPLINK" "$STATE/last-good" ||
        die "$STATE/last-good: cannot update the link"
    echo "nightly: last-good -> runs/$NAME"
else
    echo "nightly: REGRESSION: last-good stays at ${BASENAME:-?}; see $RUN/compare.txt"
fi

# --- report -------------------------------------------------------------------------------
if [ -n "$REPORT" ]; then
    "$BIN" report --out "$RUN/REPORT.md" --figures "$RUN/report" ${MODELS:+--models "$MODELS"} \
        "$RUN/summary.json" >"$RUN/report.log" 2>&1 ||
        die "report failed (comparison exit $rc, last-good $([ $rc -eq 0 ] && echo updated || echo unchanged)): $(firstline "$RUN/report.log")"
    echo "nightly: report runs/$NAME/REPORT.md"
fi

# --- keep the newest KEEP runs, and last-good -----------------------------------------------
GOOD=$(readlink "$STATE/last-good" 2>/dev/null || true)
GOOD=${GOOD##*/}
n=0
for d in $(cd "$STATE/runs" && ls -1 | LC_ALL=C sort -r); do
    case $d in [0-9]*) ;; *) continue ;; esac
    n=$((n + 1))
    [ $n -gt "$KEEP" ] && [ "$d" != "$GOOD" ] || continue
    rm -rf "${STATE:?}/runs/$d" || die "$STATE/runs/$d: cannot prune"
done

exit $rc
