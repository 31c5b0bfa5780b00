/* sweep_leaf.c: what every sweep path shares: a box's IoU with the ground
 * truth, and which instruction sets this CPU has (the vectorised paths are
 * chosen at run time, with a scalar path always there).
 *
 * DESIGN
 * IoU in double from float gt corners and integer pixel edges, the same
 * formula sw_sweep_ref uses; a gt box with x1 < x0 counts as width 0.
 * Pure and thread-safe (__builtin_cpu_supports reads a table the runtime
 * filled at start-up; the cap, sw_isa_cap, is set before any thread).
 */
#include "kernels/sweep.h"
#include "kernels/sweep_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define LEAF_X86 1
#endif

double sw_iou(const sw_box *b, const float *g)
{
    if (b->x1 <= b->x0 || b->y1 <= b->y0)
        return 0.0;
    double bx0 = b->x0, by0 = b->y0, bx1 = b->x1, by1 = b->y1;
    double gx0 = (double)g[0], gy0 = (double)g[1], gx1 = (double)g[2], gy1 = (double)g[3];
    double iw = (bx1 < gx1 ? bx1 : gx1) - (bx0 > gx0 ? bx0 : gx0);
    double ih = (by1 < gy1 ? by1 : gy1) - (by0 > gy0 ? by0 : gy0);
    iw = iw > 0.0 ? iw : 0.0;
    ih = ih > 0.0 ? ih : 0.0;
    double inter = iw * ih;
    double gw = gx1 - gx0, gh = gy1 - gy0;
    gw = gw > 0.0 ? gw : 0.0;
    gh = gh > 0.0 ? gh : 0.0;
    double uni = (bx1 - bx0) * (by1 - by0) + gw * gh - inter;
    if (!(uni > 0.0))
        return 0.0;
    return inter / uni;
}

/* Best IoU of box b over the ngt gt boxes (0 when ngt == 0). */
double sw_best_iou(const sw_box *b, const float *gt, int ngt)
{
    double best = 0.0;
    for (int j = 0; j < ngt; j++) {
        double u = sw_iou(b, gt + 4 * (size_t)j);
        if (u > best)
            best = u;
    }
    return best;
}

static int isa_max = SW_ISA_AVX512;

void sw_isa_cap(int isa)
{
    isa_max = isa < SW_ISA_SCALAR ? SW_ISA_SCALAR : isa > SW_ISA_AVX512 ? SW_ISA_AVX512 : isa;
}

int sw_isa_supported(int isa)
{
    if (isa > isa_max)
        return 0;
#ifdef LEAF_X86
    if (isa == SW_ISA_AVX2)
        return __builtin_cpu_supports("avx2");
    if (isa == SW_ISA_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx2");
#endif
    return isa == SW_ISA_SCALAR || isa == SW_ISA_AUTO;
}


void sw_read_roots(sw_level *out, const sw_cstat *st, const int32_t *par, const uint8_t *lev,
                   int32_t nn, int32_t *best, int nlev, const float *gt, int ngt)
{
    for (int l = 0; l < nlev; l++) {
        out[l] = (sw_level){{0, 0, 0, 0}, 0, 0.0, 0.0, 0};
        best[l + 1] = -1;
    }
    for (int32_t i = 0; i < nn; i++) {
        if (par[i] != i)
            continue;
        int l = lev[i];
        sw_level *o = &out[l - 1];
        const sw_cstat *s = &st[i];
        o->ncomp++;
        int32_t b = best[l];
        if (b < 0 || s->n > st[b].n || (s->n == st[b].n && s->first < st[b].first))
            best[l] = i;
        sw_box bx = {s->x0, s->y0, s->x1, s->y1};
        double u = sw_best_iou(&bx, gt, ngt);
        if (u > o->iou_any)
            o->iou_any = u;
    }
    for (int l = 1; l <= nlev; l++) {
        int32_t b = best[l];
        if (b < 0)
            continue;
        sw_level *o = &out[l - 1];
        o->largest = (sw_box){st[b].x0, st[b].y0, st[b].x1, st[b].y1};
        o->largest_n = st[b].n;
        o->iou_largest = sw_best_iou(&o->largest, gt, ngt);
    }
}
