/* cli.c: the command lines of `run` and `check` (getopt_long), their help,
 * and the exit codes (0 ok, 1 bad input or failed write, 2 bad usage).
 *
 * DESIGN
 * Options are checked here, completely, before anything is opened: a bad
 * value is a usage error naming the option and the value. The study itself
 * is run_study (run.c); under MPI every rank parses the same argv.
 *
 * Thread safety: main thread only (getopt's globals).
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/run/run.h"

#include "pipeline/common/args.h"
#include "pipeline/input/h5in.h"
#include "pipeline/run/mpi_shim.h"

#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char RUN_USAGE[] =
    "usage: gradcam-study run -o OUTDIR [--threads N] [--variants a,b,...] [--threshold 0.15]\n"
    "                         [--tolerance 15] [--save-maps] [--max-memory MiB]\n"
    "                         [--features-only] [--quiet]\n"
    "                         [--bootstrap 1000] [--seed 1] [--curves CURVES.h5 ...]\n"
    "                         INPUT.h5 ...\n"
    "       gradcam-study check INPUT.h5\n";

void run_help(FILE *f)
{
    fputs("run options:\n"
          "  -o, --out OUTDIR     output directory (created if needed)\n"
          "  --threads N          worker threads (default: OMP_NUM_THREADS or all cores);\n"
          "                       results do not depend on it\n"
          "  --variants LIST      comma list of variants (default: all)\n"
          "  --threshold T        box threshold in [0,1) of the normalised map (0.15)\n"
          "  --tolerance P        pointing-game tolerance in frame pixels (15, TorchRay's for\n"
          "                       ~500 px photos; round(15 S / 500) for S px frames: 7 at 224)\n"
          "  --save-maps          also write maps.h5 (feature-resolution maps, mu)\n"
          "  --features-only      maps and sign tables only: no upsampling, no\n"
          "                       localization, no per-variant metrics (benchmarks)\n"
          "  --max-memory MiB     refuse inputs needing more memory than this (4096)\n"
          "  --bootstrap B        resamples (over images) for the 95% intervals (1000; 0: none)\n"
          "  --seed S             bootstrap seed (1)\n"
          "  --quiet              no progress line and no final table (they appear only\n"
          "                       when stderr is a terminal)\n"
          "  --curves FILE        causal deletion/insertion curves of an input\n"
          "                       (scripts/causal.py): once per input, in input order;\n"
          "                       adds inputs[i].causal to summary.json\n\n"
          "variants:", f);
    for (int v = 0; v < VAR_N; v++)
        fprintf(f, " %s", var_name(v));
    fputs("\n", f);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("gradcam-study: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(RUN_USAGE, stderr);
    return 2;
}

static int parse_variants(const char *list, uint32_t *mask)
{
    char *dup = strdup(list), *save = NULL;
    if (!dup)
        return -1;
    *mask = 0;
    for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int v = var_index(tok);
        if (v < 0) {
            usage_error("unknown variant '%s' (see --help)", tok);
            free(dup);
            return -1;
        }
        *mask |= 1u << v;
    }
    free(dup);
    return *mask ? 0 : -1;
}

enum { O_THREADS = 256, O_VARIANTS, O_THRESHOLD, O_TOLERANCE, O_SAVE_MAPS, O_MAX_MEMORY,
       O_FEATURES_ONLY, O_BOOTSTRAP, O_SEED, O_QUIET, O_CURVES };

static const struct option RUN_OPTS[] = {
    {"out", required_argument, NULL, 'o'},
    {"threads", required_argument, NULL, O_THREADS},
    {"variants", required_argument, NULL, O_VARIANTS},
    {"threshold", required_argument, NULL, O_THRESHOLD},
    {"tolerance", required_argument, NULL, O_TOLERANCE},
    {"save-maps", no_argument, NULL, O_SAVE_MAPS},
    {"max-memory", required_argument, NULL, O_MAX_MEMORY},
    {"features-only", no_argument, NULL, O_FEATURES_ONLY},
    {"bootstrap", required_argument, NULL, O_BOOTSTRAP},
    {"seed", required_argument, NULL, O_SEED},
    {"quiet", no_argument, NULL, O_QUIET},
    {"curves", required_argument, NULL, O_CURVES},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* One option into o: 0, or the exit status of a usage error. */
static int one_option(run_opts *o, int c, const char *v)
{
    long lv;
    switch (c) {
    case 'o':
        o->outdir = v;
        return 0;
    case O_THREADS:
        if (arg_long(v, 1, 1024, &lv) < 0)
            return usage_error("--threads takes 1..1024, not '%s'", v);
        o->threads = (int)lv;
        return 0;
    case O_VARIANTS:
        if (parse_variants(v, &o->variants) < 0)
            return usage_error("bad --variants '%s'", v);
        o->variants_given = 1;
        return 0;
    case O_THRESHOLD:
        if (arg_double(v, &o->threshold) < 0 || !(o->threshold >= 0) || !(o->threshold < 1))
            return usage_error("--threshold takes [0, 1), not '%s'", v);
        return 0;
    case O_TOLERANCE:
        if (arg_double(v, &o->tolerance) < 0 || !(o->tolerance >= 0) || !(o->tolerance < 1e6))
            return usage_error("--tolerance takes pixels >= 0, not '%s'", v);
        return 0;
    case O_SAVE_MAPS:
        o->save_maps = 1;
        return 0;
    case O_MAX_MEMORY:
        if (arg_long(v, 1, 1L << 30, &lv) < 0)
            return usage_error("--max-memory takes MiB >= 1, not '%s'", v);
        o->max_memory_mib = lv;
        return 0;
    case O_FEATURES_ONLY:
        o->features_only = 1;
        return 0;
    case O_BOOTSTRAP:
        if (arg_long(v, 0, 1000000, &lv) < 0 || lv == 1)
            return usage_error("--bootstrap takes 0 or 2..1000000, not '%s'", v);
        o->bootstrap = (int)lv;
        return 0;
    case O_QUIET:
        o->progress = 0;
        return 0;
    case O_CURVES: /* o->curves has room for every argument */
        o->curves[o->ncurves++] = (char *)v;
        return 0;
    case O_SEED:
        if (arg_long(v, 0, __LONG_MAX__, &lv) < 0)
            return usage_error("--seed takes an integer >= 0, not '%s'", v);
        o->seed = (uint64_t)lv;
        return 0;
    }
    return 2;
}

int run_main(int argc, char **argv)
{
    run_opts o;
    memset(&o, 0, sizeof o);
    o.threads = omp_get_max_threads();
    o.variants = (1u << VAR_N) - 1u;
    o.threshold = 0.15;
    o.tolerance = 15.0;
    o.max_memory_mib = 4096;
    o.bootstrap = 1000;
    o.seed = 1;
    o.progress = isatty(2);
    char *cmd = arg_join(argc + 1, argv - 1); /* "gradcam-study run ..." as typed */
    o.curves = calloc((size_t)argc + 1, sizeof *o.curves);
    if (!cmd || !o.curves) {
        free(cmd);
        free(o.curves);
        return 1;
    }
    opterr = 0;
    optind = 1;
    int c, st = 0;
    while (st == 0 && (c = getopt_long(argc, argv, ":o:h", RUN_OPTS, NULL)) != -1) {
        if (c == 'h') {
            fputs(RUN_USAGE, stdout);
            fputs("\n", stdout);
            run_help(stdout);
            fputs("\noutputs: summary.json, targets.csv, signs.csv, maps.h5 (README.md)\n"
                  "exit status: 0 ok, 1 bad input or failed write, 2 bad usage\n", stdout);
            free(cmd);
            free(o.curves);
            return 0;
        }
        if (c == '?' || c == ':') {
            char b[128];
            st = usage_error("unknown or incomplete option '%s'",
                             arg_refused(argv, optind, optopt, b, sizeof b));
        } else {
            st = one_option(&o, c, optarg);
        }
    }
    if (st == 0 && !o.outdir)
        st = usage_error("run needs -o OUTDIR%s", "");
    if (st == 0 && optind >= argc)
        st = usage_error("run needs at least one INPUT.h5%s", "");
    if (st == 0 && o.ncurves > 0 && o.features_only)
        st = usage_error("--curves needs the full run, not --features-only%s", "");
    char nb[64];
    snprintf(nb, sizeof nb, "%d --curves for %d inputs", o.ncurves, argc - optind);
    if (st == 0 && o.ncurves > 0 && o.ncurves != argc - optind)
        st = usage_error("%s: give one per input, in input order", nb);
    if (st != 0) {
        free(cmd);
        free(o.curves);
        return st;
    }
    o.inputs = argv + optind;
    o.ninputs = argc - optind;
    o.command = cmd;
    char err[H5IN_ERRLEN];
    if (par_init(&argc, &argv) != 0) {
        fprintf(stderr, "gradcam-study: -: -: MPI initialisation failed\n");
        free(cmd);
        free(o.curves);
        return 1;
    }
    int rc = run_study(&o, err, sizeof err);
    /* under MPI every rank has the status, rank 0 the message: it prints it
       before MPI_Finalize, which no rank leaves before all reach it (mpirun
       may kill the job as soon as a rank exits non-zero) */
    if (rc != 0 && par_rank() == 0) {
        fprintf(stderr, "gradcam-study: %s\n", err);
        fflush(stderr);
    }
    par_finalize();
    free(cmd);
    free(o.curves);
    return rc != 0 ? 1 : 0;
}

int check_main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs("usage: gradcam-study check INPUT.h5\n\n"
              "Validate INPUT.h5 against schema v1 (data/SCHEMA.md), read every value, and\n"
              "print a summary. exit status: 0 valid, 1 bad input, 2 bad usage\n", stdout);
        return 0;
    }
    if (argc != 2)
        return usage_error("check takes exactly one INPUT.h5%s", "");
    char err[H5IN_ERRLEN];
    if (run_check(argv[1], stdout, 4096, err, sizeof err) != 0) {
        fprintf(stderr, "gradcam-study: %s\n", err);
        return 1;
    }
    return 0;
}
