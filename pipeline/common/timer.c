/* timer.c: the monotonic clock (see timer.h). Thread-safe. */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/common/timer.h"

#include <time.h>

double tm_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
