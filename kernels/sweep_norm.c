/* sweep_norm.c: both normalisations of a map swept at once, straight from the map.
 *
 * DESIGN
 * What: for a map m (H, W) with mx > 0 and mn < mx (its extremes, as
 * loc_eval finds them), the same sw_level tables as
 *   sw_sweep(v1 = m / mx, thr1)  and  sw_sweep(v2 = (m - mn) / (mx - mn), thr2),
 * bit for bit, without forming v1 or v2 and with one sweep for both.
 *
 * Why it is exact: each normalised value is a chain of correctly rounded
 * operations on m (a subtraction of a constant, a division by a positive
 * constant), each monotone non-decreasing, so for every threshold t the set
 * {m : fl(norm(m)) >= t} is an up-set of the doubles: {m >= T} for one cut
 * T, the smallest double that passes. cut_of finds T from a guess
 * (t * mx, or mn + t * span), stepping by one ulp at a time, and bisects
 * over the ordered bit patterns when the boundary is further away (near
 * zero, where a quotient underflows, it can be). NaN never passes, as in
 * sw_sweep, and needs no cut: m >= T is false for it too.
 *   Both norms' cuts merge into one ascending list U of distinct values;
 * the level of a pixel is the number of cuts <= m, a byte (|U| <= 255), and
 * the set of threshold i of norm 1 is {level >= 1 + index of T1_i in U}.
 * Where mn == 0 the two norms give the same cuts and U holds each once, so a
 * ReLU map costs one norm's work.
 *   Levels per pixel without a search: f(x) = fl(fl(x - mn) * c), c = B /
 * span, is monotone non-decreasing too, so a pixel whose f falls in a bin
 * [b, b + 1) that holds no cut's f has exactly the cuts with f < b below it
 * (a table lookup); in a bin that holds cuts, those few are compared in
 * double. Values outside [mn, mx] or NaN take an exact binary search or
 * level 0. Nothing here depends on an error bound: only on monotonicity.
 *   The levels go to sw_sweep_keys (row runs where the map is smooth, the
 * per-pixel union-find where it is not).
 *
 * Returns -1 (the caller then uses sw_sweep_pair on v1, v2) when the
 * premises fail: mx, mn or the span not finite, mx <= 0, span <= 0, B / span
 * not finite, more than 255 cuts, or thresholds that are not ascending.
 *
 * Work buffer (caller-owned, sw_norms_work_bytes() bytes, 8-byte aligned):
 * uint8 key[H * W]; uint16 table[B]; double U[n1 + n2]; sw_level lv[n1 + n2];
 * then sw_keys_work_bytes().
 *
 * Thread safety: pure, no globals, no allocation; reentrant on distinct
 * out/work buffers.
 */
#include "sweep.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

enum { NB = 4096 }; /* bins of the level table */

static size_t al8(size_t n) { return (n + 7u) & ~(size_t)7u; }

size_t sw_norms_work_bytes(int H, int W, int n1, int n2)
{
    if (H < 1 || W < 1 || n1 < 1 || n2 < 1 || n1 + n2 > 255)
        return 0;
    size_t kw = sw_keys_work_bytes(H, W, n1 + n2);
    if (kw == 0)
        return 0;
    size_t nu = (size_t)(n1 + n2);
    return al8((size_t)H * (size_t)W) + al8(NB * sizeof(uint16_t)) + al8(nu * sizeof(double)) +
           al8(nu * sizeof(sw_level)) + kw;
}

/* The normalisation: 0 is m / mx, 1 is (m - mn) / span, as loc_eval writes them. */
typedef struct {
    int norm;
    double mx, mn, span;
} nrm;

static int passes(const nrm *z, double x, double t)
{
    double v = z->norm == 0 ? x / z->mx : (x - z->mn) / z->span;
    return v >= t;
}

/* Doubles (NaN excluded) in order as unsigned integers, -0 just below +0. */
static uint64_t okey(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static double ofrom(uint64_t k)
{
    uint64_t u = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* The smallest double that passes threshold t (NaN: none does). */
static double cut_of(const nrm *z, double t, double guess)
{
    if (!passes(z, INFINITY, t))
        return NAN;
    if (passes(z, -INFINITY, t))
        return -INFINITY;
    double g = isfinite(guess) ? guess : 0.0;
    uint64_t lo, hi; /* okey(lo) fails, okey(hi) passes */
    if (passes(z, g, t)) {
        for (int s = 0; s < 8; s++) {
            double d = nextafter(g, -INFINITY);
            if (!passes(z, d, t))
                return g;
            g = d;
        }
        lo = okey(-INFINITY);
        hi = okey(g);
    } else {
        for (int s = 0; s < 8; s++) {
            double u = nextafter(g, INFINITY);
            if (passes(z, u, t))
                return u;
            g = u;
        }
        lo = okey(g);
        hi = okey(INFINITY);
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (passes(z, ofrom(mid), t))
            hi = mid;
        else
            lo = mid;
    }
    return ofrom(hi);
}

/* Number of u[0..n) that are <= x (u ascending, x not NaN). */
static int count_le(const double *u, int n, double x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (x >= u[mid])
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Cuts of one norm -> cut[0..n); -1 when they are not ascending. */
static int cuts(double *cut, const nrm *z, const double *thr, int n)
{
    for (int i = 0; i < n; i++) {
        double g = z->norm == 0 ? thr[i] * z->mx : z->mn + thr[i] * z->span;
        cut[i] = cut_of(z, thr[i], g);
        if (i > 0 && !isnan(cut[i]) && (isnan(cut[i - 1]) || cut[i] < cut[i - 1]))
            return -1;
    }
    return 0;
}

/* Index in u[0..nu) of the value equal to x. */
static int index_of(const double *u, int nu, double x)
{
    int i = count_le(u, nu, x) - 1;
    return i;
}

int sw_sweep_norms(sw_level *out1, const double *thr1, int n1, sw_level *out2,
                   const double *thr2, int n2, const double *m, int H, int W, double mx,
                   double mn, const float *gt, int ngt, int path, void *work)
{
    if (sw_norms_work_bytes(H, W, n1, n2) == 0)
        return -1;
    double span = mx - mn;
    double c = (double)NB / span;
    if (!(mx > 0.0) || !isfinite(mx) || !isfinite(mn) || !(span > 0.0) || !isfinite(span) ||
        !isfinite(c))
        return -1;
    size_t npix = (size_t)H * (size_t)W;
    int nu = 0;
    char *w = work;
    uint8_t *key = (uint8_t *)w;
    w += al8(npix);
    uint16_t *tab = (uint16_t *)(void *)w;
    w += al8(NB * sizeof(uint16_t));
    double *u = (double *)(void *)w;
    w += al8((size_t)(n1 + n2) * sizeof(double));
    sw_level *lv = (sw_level *)(void *)w;
    w += al8((size_t)(n1 + n2) * sizeof(sw_level));
    void *kwork = w;

    /* the cuts of both norms (in lv's space for now: doubles, then merged) */
    double c1[255], c2[255];
    nrm z1 = {0, mx, mn, span}, z2 = {1, mx, mn, span};
    if (cuts(c1, &z1, thr1, n1) < 0 || cuts(c2, &z2, thr2, n2) < 0)
        return -1;
    for (int i = 0, j = 0; i < n1 || j < n2;) {
        double a = i < n1 && !isnan(c1[i]) ? c1[i] : INFINITY;
        double b = j < n2 && !isnan(c2[j]) ? c2[j] : INFINITY;
        int ta = i < n1 && !isnan(c1[i]), tb = j < n2 && !isnan(c2[j]);
        if (!ta && !tb)
            break;
        double x;
        if (ta && (!tb || a <= b)) {
            x = a;
            i++;
        } else {
            x = b;
            j++;
        }
        if (nu == 0 || x != u[nu - 1])
            u[nu++] = x;
    }

    /* the level table over NB bins of f(x) = (x - mn) * c */
    uint16_t cnt[NB];
    memset(cnt, 0, sizeof cnt);
    int below = 0;
    for (int j = 0; j < nu; j++) {
        double q = (u[j] - mn) * c;
        if (q < 0.0)
            below++;
        else if (q < (double)NB)
            cnt[(int)q]++;
    }
    for (int b = 0, lo = below; b < NB; b++) {
        tab[b] = (uint16_t)(lo | cnt[b] << 8);
        lo += cnt[b];
    }

    /* the level of every pixel: cuts <= m[p] */
    for (size_t p = 0; p < npix; p++) {
        double x = m[p];
        double q = (x - mn) * c;
        int k;
        if (q >= 0.0 && q < (double)NB) {
            unsigned e = tab[(int)q];
            k = (int)(e & 0xffu);
            for (unsigned r = e >> 8; r > 0 && x >= u[k]; r--)
                k++;
        } else {
            k = x == x ? count_le(u, nu, x) : 0;
        }
        key[p] = (uint8_t)k;
    }

    int used = nu > 0 ? sw_sweep_keys(lv, key, H, W, nu, gt, ngt, path, kwork) : SW_PIXELS;
    if (used < 0)
        return -1;
    const sw_level none = {{0, 0, 0, 0}, 0, 0.0, 0.0, 0};
    for (int i = 0; i < n1; i++)
        out1[i] = isnan(c1[i]) ? none : lv[index_of(u, nu, c1[i])];
    for (int i = 0; i < n2; i++)
        out2[i] = isnan(c2[i]) ? none : lv[index_of(u, nu, c2[i])];
    return used;
}
