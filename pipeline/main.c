/* main.c: command line of gradcam-study. Thin: parses, calls run.c, maps
 * status codes to exit codes (1 bad input, 2 bad usage or system error is
 * reported as 1 too, since it is not the user's syntax; see README). */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/tools/compare.h"
#include "pipeline/gallery/gallery.h"
#include "pipeline/input/h5in.h"
#include "pipeline/report/report.h"
#include "pipeline/run/mpi_shim.h"
#include "pipeline/run/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#ifndef GCS_VERSION
#define GCS_VERSION "unknown"
#endif

static const char USAGE[] =
    "usage: gradcam-study run -o OUTDIR [--threads N] [--variants a,b,...] [--threshold 0.15]\n"
    "                         [--tolerance 15] [--save-maps] [--max-memory MiB]\n"
    "                         [--features-only]\n"
    "                         [--bootstrap 1000] [--seed 1] INPUT.h5 ...\n"
    "       gradcam-study check INPUT.h5\n"
    "       gradcam-study report ...   (see gradcam-study report --help)\n"
    "       gradcam-study gallery ...  (see gradcam-study gallery --help)\n"
    "       gradcam-study compare BASE_OUTDIR NEW_OUTDIR [--tolerance X] [--history F.csv]\n"
    "       gradcam-study --help | --version\n";

static void help(void)
{
    fputs(USAGE, stdout);
    fputs("\nGrad-CAM variants, sign tables and localization scores from precomputed\n"
          "activations and gradients (schema gradcam-study/1, see data/SCHEMA.md).\n\n"
          "run options:\n"
          "  -o, --out OUTDIR     output directory (created if needed)\n"
          "  --threads N          OpenMP threads (default: OMP_NUM_THREADS or all cores);\n"
          "                       results do not depend on it\n"
          "  --variants LIST      comma list of variants (default: all)\n"
          "  --threshold T        box threshold in [0,1) of the normalised map (0.15)\n"
          "  --tolerance P        pointing-game tolerance in pixels (15)\n"
          "  --save-maps          also write maps.h5 (feature-resolution maps, mu)\n"
          "  --features-only      maps and sign tables only: no upsampling, no\n"
          "                       localization, no per-variant metrics (benchmarks)\n"
          "  --max-memory MiB     refuse inputs needing more memory than this (4096)\n"
          "  --bootstrap B        resamples (over images) for the 95%% intervals (1000; 0: none)\n"
          "  --seed S             bootstrap seed (1)\n\n"
          "variants:", stdout);
    for (int v = 0; v < VAR_N; v++)
        printf(" %s", var_name(v));
    fputs("\n\noutputs: summary.json, targets.csv, signs.csv, maps.h5 (README.md)\n"
          "exit status: 0 ok, 1 bad input or failed write, 2 bad usage\n", stdout);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("gradcam-study: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(USAGE, stderr);
    return 2;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
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

static char *join_args(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = 0;
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static int cmd_run(int argc, char **argv)
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
    o.inputs = calloc((size_t)argc, sizeof(char *));
    if (!o.inputs)
        return 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        long lv;
        if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && has_val) {
            o.outdir = argv[++i];
        } else if (!strcmp(a, "--threads") && has_val) {
            if (parse_long(argv[++i], &lv) < 0 || lv < 1 || lv > 1024)
                return free(o.inputs), usage_error("--threads takes 1..1024, not '%s'", argv[i]);
            o.threads = (int)lv;
        } else if (!strcmp(a, "--variants") && has_val) {
            if (parse_variants(argv[++i], &o.variants) < 0)
                return free(o.inputs), usage_error("bad --variants '%s'", argv[i]);
            o.variants_given = 1;
        } else if (!strcmp(a, "--features-only")) {
            o.features_only = 1;
        } else if (!strcmp(a, "--threshold") && has_val) {
            if (parse_double(argv[++i], &o.threshold) < 0 || !(o.threshold >= 0) ||
                !(o.threshold < 1))
                return free(o.inputs), usage_error("--threshold takes [0, 1), not '%s'", argv[i]);
        } else if (!strcmp(a, "--tolerance") && has_val) {
            if (parse_double(argv[++i], &o.tolerance) < 0 || !(o.tolerance >= 0) ||
                !(o.tolerance < 1e6))
                return free(o.inputs), usage_error("--tolerance takes pixels >= 0, not '%s'",
                                                   argv[i]);
        } else if (!strcmp(a, "--max-memory") && has_val) {
            if (parse_long(argv[++i], &lv) < 0 || lv < 1 || lv > (1L << 30))
                return free(o.inputs), usage_error("--max-memory takes MiB >= 1, not '%s'", argv[i]);
            o.max_memory_mib = lv;
        } else if (!strcmp(a, "--bootstrap") && has_val) {
            if (parse_long(argv[++i], &lv) < 0 || lv < 0 || lv == 1 || lv > 1000000)
                return free(o.inputs), usage_error("--bootstrap takes 0 or 2..1000000, not '%s'",
                                                   argv[i]);
            o.bootstrap = (int)lv;
        } else if (!strcmp(a, "--seed") && has_val) {
            if (parse_long(argv[++i], &lv) < 0 || lv < 0)
                return free(o.inputs), usage_error("--seed takes an integer >= 0, not '%s'", argv[i]);
            o.seed = (uint64_t)lv;
        } else if (!strcmp(a, "--save-maps")) {
            o.save_maps = 1;
        } else if (a[0] == '-' && a[1] != 0) {
            return free(o.inputs), usage_error("unknown or incomplete option '%s'", a);
        } else {
            o.inputs[o.ninputs++] = argv[i];
        }
    }
    if (!o.outdir)
        return free(o.inputs), usage_error("run needs -o OUTDIR%s", "");
    if (o.ninputs == 0)
        return free(o.inputs), usage_error("run needs at least one INPUT.h5%s", "");
    char *cmd = join_args(argc, argv);
    o.command = cmd;
    char err[H5IN_ERRLEN];
    if (par_init(&argc, &argv) != 0) {
        fprintf(stderr, "gradcam-study: -: -: MPI initialisation failed\n");
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
    free(o.inputs);
    return rc != 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *wd = getenv("GRADCAM_STUDY_HDF5_TIMEOUT");
    if (wd && *wd) {
        long v;
        if (parse_long(wd, &v) < 0 || v < 0 || v > 86400)
            return usage_error("GRADCAM_STUDY_HDF5_TIMEOUT takes seconds 0..86400, not '%s'", wd);
        h5in_set_watchdog((unsigned)v);
    }
    if (argc < 2)
        return usage_error("missing command%s", "");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        help();
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("gradcam-study %s\n", GCS_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc, argv);
    if (!strcmp(argv[1], "report"))
        return report_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "gallery"))
        return gallery_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "compare"))
        return compare_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) {
        if (argc != 3)
            return usage_error("check takes exactly one INPUT.h5%s", "");
        char err[H5IN_ERRLEN];
        if (run_check(argv[2], stdout, 4096, err, sizeof err) != 0) {
            fprintf(stderr, "gradcam-study: %s\n", err);
            return 1;
        }
        return 0;
    }
    return usage_error("unknown command '%s'", argv[1]);
}
