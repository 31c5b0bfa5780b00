/* compare.h: the `compare` command (nightly regression check). */
#ifndef COMPARE_H
#define COMPARE_H

/* argv[0] is "compare"; returns 0 (nothing regressed), 1 (regressed), 2 (error). */
int compare_main(int argc, char **argv);

#endif
