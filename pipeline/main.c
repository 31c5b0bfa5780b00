/* main.c: gradcam-study's entry point: the one file that knows every
 * command. It reads the environment setting every command shares (the HDF5
 * watchdog), then hands argv from the command's name on to the command:
 * run and check (run/cli.c), report (report/), gallery (gallery/), compare
 * (tools/). Exit codes are the commands': 0 ok, 1 bad input or failed write,
 * 2 bad usage (README). */
#include "pipeline/common/args.h"
#include "pipeline/gallery/gallery.h"
#include "pipeline/input/h5in.h"
#include "pipeline/report/report.h"
#include "pipeline/run/run.h"
#include "pipeline/tools/compare.h"

#include "kernels/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GCS_VERSION
#define GCS_VERSION "unknown"
#endif

static const char USAGE_MORE[] =
    "       gradcam-study report ...   (see gradcam-study report --help)\n"
    "       gradcam-study gallery ...  (see gradcam-study gallery --help)\n"
    "       gradcam-study compare BASE_OUTDIR NEW_OUTDIR [--tolerance X] [--history F.csv]\n"
    "       gradcam-study --help | --version\n";

static void help(void)
{
    fputs(RUN_USAGE, stdout);
    fputs(USAGE_MORE, stdout);
    fputs("\nGrad-CAM variants, sign tables and localization scores from precomputed\n"
          "activations and gradients (schema gradcam-study/1, see data/SCHEMA.md).\n\n", stdout);
    run_help(stdout);
    fputs("\noutputs: summary.json, targets.csv, signs.csv, maps.h5 (README.md)\n"
          "exit status: 0 ok, 1 bad input or failed write, 2 bad usage\n", stdout);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("gradcam-study: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(RUN_USAGE, stderr);
    fputs(USAGE_MORE, stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *wd = getenv("GRADCAM_STUDY_HDF5_TIMEOUT");
    if (wd && *wd) {
        long v;
        if (arg_long(wd, 0, 86400, &v) < 0)
            return usage_error("GRADCAM_STUDY_HDF5_TIMEOUT takes seconds 0..86400, not '%s'", wd);
        h5in_set_watchdog((unsigned)v);
    }
    const char *isa = getenv("GRADCAM_STUDY_ISA"); /* the suite's portability check */
    if (isa && *isa) {
        if (!strcmp(isa, "scalar"))
            sw_isa_cap(SW_ISA_SCALAR);
        else if (!strcmp(isa, "avx2"))
            sw_isa_cap(SW_ISA_AVX2);
        else if (strcmp(isa, "avx512") != 0)
            return usage_error("GRADCAM_STUDY_ISA takes scalar, avx2 or avx512, not '%s'", isa);
    }
    if (argc < 2)
        return usage_error("missing command%s", "");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        help();
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("gradcam-study %s\n", GCS_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*main)(int, char **);
    } cmds[] = {{"run", run_main},         {"check", check_main},     {"report", report_main},
                {"gallery", gallery_main}, {"compare", compare_main}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].main(argc - 1, argv + 1);
    return usage_error("unknown command '%s'", cmd);
}
