/* timer.h: the monotonic clock every stage times itself with. */
#ifndef TIMER_H
#define TIMER_H

/* Seconds on CLOCK_MONOTONIC (only differences mean anything). */
double tm_now_s(void);

#endif
