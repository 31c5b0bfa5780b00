/* progress.c: what `run` shows a person at a terminal: a progress line per
 * input (targets done of total, rate, time left) and, at the end, a table
 * of the headline metrics per input and variant.
 *
 * DESIGN
 * Shown only when stderr is a terminal and --quiet is not given (cli.c
 * decides: run_opts.progress), so logs, pipes and the byte-compared outputs
 * stay as they were. Everything goes to stderr; stdout stays empty. The
 * line is rewritten in place ("\r", erase to the end of line) at most five
 * times a second, from the main thread (the walk), so it costs nothing per
 * target. The table reads the metrics the summary reports (agg_metrics),
 * formatted like REPORT.md (percent with one decimal).
 *
 * Thread safety: main thread only (rank 0 under MPI).
 */
#include "pipeline/run/run_int.h"

#include "pipeline/common/paths.h"
#include "pipeline/common/timer.h"

#include <stdio.h>

void prog_start(prog_state *p, const run_opts *o, int index, const h5in_meta *m)
{
    p->on = o->progress;
    p->index = index;
    p->ninputs = o->ninputs;
    p->total = m->T;
    p->done = 0;
    p->name = path_base(m->path);
    p->t0 = tm_now_s();
    p->last = -1.0;
}

static void show(const prog_state *p, double now)
{
    double dt = now - p->t0, rate = dt > 0 ? (double)p->done / dt : 0.0;
    fprintf(stderr, "\rrun: input %d/%d %s: %lld/%lld targets (%.0f%%)", p->index + 1,
            p->ninputs, p->name, (long long)p->done, (long long)p->total,
            p->total ? 100.0 * (double)p->done / (double)p->total : 100.0);
    if (rate > 0) {
        double left = (double)(p->total - p->done) / rate;
        fprintf(stderr, ", %.0f/s, %.0f s left", rate, left);
    }
    fputs("\033[K", stderr);
    fflush(stderr);
}

void prog_add(prog_state *p, int64_t n)
{
    if (!p->on)
        return;
    p->done += n;
    double now = tm_now_s();
    if (p->last < 0 || now - p->last >= 0.2) {
        show(p, now);
        p->last = now;
    }
}

void prog_end(prog_state *p)
{
    if (!p->on)
        return;
    show(p, tm_now_s());
    fputc('\n', stderr);
}

void prog_table(const input_res *irs, const run_opts *o)
{
    if (!o->progress)
        return;
    fprintf(stderr, "\n%-28s %-19s %8s %10s %9s %7s\n", "input", "variant", "BoxAcc",
            "MaxBoxAcc", "pointing", "energy");
    for (int i = 0; i < o->ninputs; i++) {
        const input_res *ir = &irs[i];
        const char *name = path_base(h5in_meta_of(ir->f)->path);
        for (int v = 0; v < VAR_N; v++) {
            if (!ir->active[v])
                continue;
            const agg_metrics *am = &ir->am[v];
            fprintf(stderr, "%-28.28s %-19s %7.1f%% %9.1f%% %8.1f%% %7.3f\n", name, var_name(v),
                    100.0 * am->boxacc[LOC_MAX], 100.0 * am->maxboxacc[LOC_MAX],
                    100.0 * am->pointing, am->energy);
            name = "";
        }
    }
    fputs("(max norm; intervals and the rest: summary.json, REPORT.md)\n", stderr);
}
