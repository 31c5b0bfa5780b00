/* report.c: placeholder until the `report` command lands. */
#include "report.h"

#include <stdio.h>

int report_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("gradcam-study: report: not built yet\n", stderr);
    return 2;
}
