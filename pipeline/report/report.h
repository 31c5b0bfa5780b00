/* report.h: the `report` command. */
#ifndef REPORT_H
#define REPORT_H

/* argv[0] is "report"; returns the process exit status (0, 1 bad input, 2 usage). */
int report_main(int argc, char **argv);

#endif
