/* walk.c: the ordered walk: the one place a run's results are combined.
 *
 * DESIGN
 * Rank 0's main thread takes the targets in target order, whoever computed
 * them: targets.csv and signs.csv rows, aggregate sums, interval records,
 * sign-table sums (the file's and each image's), maps.h5 rows, the masses of
 * --curves. So every output is a function of the input
 * alone: the thread count only changes who computed a slot, never the order
 * slots are combined in. Under MPI a rank > 0 keeps its batches (stash) and
 * sends them when rank 0 asks (walk_gather), after rank 0 has walked its own.
 */
#include "pipeline/run/run_int.h"

#include "pipeline/output/targets_csv.h"
#include "pipeline/run/mpi_shim.h"

#include <stdlib.h>
#include <string.h>

/* Targets t0 .. t0+nt-1 in order: CSV rows, aggregates, interval records,
 * sign-table sums, maps.h5 rows. The only place results are combined, so
 * the order (and every sum) is that of the targets, whoever computed them. */
int walk_batch(walk_ctx *w, int64_t t0, int64_t nt, const target_res *res,
                      const float *maps, char *err, size_t errlen)
{
    input_res *ir = w->ir;
    const h5in_meta *m = h5in_meta_of(ir->f);
    for (int64_t j = 0; j < nt; j++) {
        int64_t t = t0 + j;
        const target_res *r = &res[j];
        for (int v = 0; v < VAR_N; v++)
            if (ir->active[v]) {
                tcsv_write_row(w->csv, w->index, t, m->timg[t], m->tcls[t], v, r, ir->name_col,
                               m->has_names ? m->names[m->timg[t]] : NULL);
                agg_add(&ir->agg[v], &r->loc[v], r->has_box, m->tcls[t]);
                ci_rec_set(&ir->rec[t * VAR_N + v], &r->loc[v], r->has_box);
            }
        tcsv_write_signs(w->sgn, w->index, t, m->timg[t], m->tcls[t], r);
        sgn_add(&ir->tot[0], &r->sg[0]);
        sgn_add(&ir->tot[1], &r->sg[1]);
        ci_sgn_add(&ir->img_sg[m->timg[t]], r->sg);
        ir->targets_without_box += !r->has_box;
        if (ir->mass)
            memcpy(ir->mass + t * CZ_NMASS, r->mass, sizeof r->mass);
        if (r->eig_flip >= 0) { /* the first target of an image: its eigencam sign */
            ir->eig_images++;
            ir->eig_flips += r->eig_flip;
        }
    }
    if (ferror(w->csv) || ferror(w->sgn)) {
        snprintf(err, errlen, "%s: -: write failed (disk full?)", w->o->outdir);
        return -2;
    }
    if (w->mo && nt > 0 && maps_write(w->mo, t0, nt, maps, err, errlen) < 0)
        return -2;
    prog_add(w->prog, nt);
    return 0;
}

int stash_add(stash *s, int64_t t0, int64_t nt, const target_res *res, const float *maps,
                     size_t maps_per_t)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        stash_batch *b = realloc(s->b, cap * sizeof *b);
        if (!b)
            return -1;
        s->b = b;
        s->cap = cap;
    }
    stash_batch *b = &s->b[s->n];
    b->t0 = t0;
    b->nt = nt;
    b->res = malloc((size_t)nt * sizeof(target_res));
    b->maps = maps ? malloc((size_t)nt * maps_per_t * sizeof(float)) : NULL;
    if (!b->res || (maps && !b->maps)) {
        free(b->res);
        free(b->maps);
        return -1;
    }
    memcpy(b->res, res, (size_t)nt * sizeof(target_res));
    if (maps)
        memcpy(b->maps, maps, (size_t)nt * maps_per_t * sizeof(float));
    s->n++;
    return 0;
}

void stash_free(stash *s)
{
    for (size_t k = 0; k < s->n; k++) {
        free(s->b[k].res);
        free(s->b[k].maps);
    }
    free(s->b);
    memset(s, 0, sizeof *s);
}

/* MPI: the other ranks' results, rank by rank, batch by batch; rank 0 walks
 * them in target order, as if it had computed them itself. res and maps
 * hold one batch (rank 0's buffers). */
int walk_gather(walk_ctx *w, stash *st, int rc, target_res *res, float *maps, size_t maps_per_t,
                char *err, size_t errlen)
{
    int rank = par_rank(), P = par_size();
    int save = w->ir->save_maps;
    if (P > 1 && rank > 0) {
        par_head h;
        for (size_t k = 0; k < st->n; k++) {
            memset(&h, 0, sizeof h);
            h.t0 = st->b[k].t0;
            h.nt = st->b[k].nt;
            par_send(&h, sizeof h, 0, TAG_HEAD);
            par_send(st->b[k].res, (size_t)h.nt * sizeof(target_res), 0, TAG_RES);
            if (save)
                par_send(st->b[k].maps, (size_t)h.nt * maps_per_t * sizeof(float), 0, TAG_MAPS);
        }
        memset(&h, 0, sizeof h);
        h.nt = -1;
        h.rc = rc;
        snprintf(h.err, sizeof h.err, "%s", rc ? err : "");
        par_send(&h, sizeof h, 0, TAG_HEAD);
    } else if (P > 1) {
        for (int r = 1; r < P; r++)
            for (;;) {
                par_head h;
                par_recv(&h, sizeof h, r, TAG_HEAD);
                if (h.nt < 0) {
                    if (h.rc != 0 && rc == 0) {
                        rc = h.rc;
                        snprintf(err, errlen, "%s", h.err);
                    }
                    break;
                }
                par_recv(res, (size_t)h.nt * sizeof(target_res), r, TAG_RES);
                if (save)
                    par_recv(maps, (size_t)h.nt * maps_per_t * sizeof(float), r, TAG_MAPS);
                if (rc == 0)
                    rc = walk_batch(w, h.t0, h.nt, res, maps, err, errlen);
            }
    }
    return rc;
}
