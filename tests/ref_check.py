#!/usr/bin/python3
"""Independent numpy reference for gradcam-study: recompute everything from README's
definitions and compare with an engine run.

    ref_check.py INPUT.h5 OUTDIR [--threshold 0.15] [--tolerance 15] [--input-index 0]
                 [--jobs N] [--engine-maps] [--upsample-ratio] [--emit [--variants a,b]]

INPUT.h5 is a schema-v1 file and OUTDIR the output of
`gradcam-study run -o OUTDIR --save-maps ... INPUT.h5` (INPUT.h5 being input number
--input-index on that command line, with the same --threshold and --tolerance).

Everything is recomputed in float64 numpy, written from README only:
  * every feature-resolution variant (maps.h5 /maps/<variant>, /maps/mu), compared per element
    with |engine - ref| <= 1e-5 * max|ref over that map| + 1e-30 (eigencam from
    numpy.linalg.svd per image, README's sign rule; its summary.json images and sign_flips
    exactly, the flips against LAPACK dsyevr called through ctypes, the engine's routine);
  * the localization protocol (README's bilinear formula, row pass then column pass, on the
    float32 map; degenerate maps; both normalisations; 8-connected components, our own labelling:
    a union-find sweep over the pixels in decreasing order for the 100-threshold curves, checked
    against an independent numpy min-label propagation at --threshold; IoU; pointing game;
    energy; negative evidence) -> every column of targets.csv (IoUs, energies, shares within
    1e-6 absolute, boxes and points exactly, up to 1% of the rows may differ in box/point:
    last-ulp threshold ties);
  * the sign tables (signs.csv; counts exactly, sums within 1e-9 of the sum of |products|);
  * every aggregate of summary.json (1e-6, counts exactly).
Prints the worst difference per variant and column; exit 1 on any mismatch, 0 when all agree,
2 on bad usage / unreadable outputs.

--engine-maps localizes the engine's float32 maps instead of ours (diagnosis: separates map
differences from localization differences).  --upsample-left-to-right computes the source
coordinate as ((x + 0.5) * w) / W - 0.5 instead of README's (x + 0.5) * (w / W) - 0.5 (cv2's and
PyTorch's order; diagnosis of last-ulp argmax / threshold ties).  --emit writes the
reference's own results into OUTDIR in the engine's formats (a mock engine, to test this script
and planted.py) instead of comparing.

Conventions where README leaves a choice (see the report of the test author):
  * a centre (c + 0.5, r + 0.5) / ((j + 0.5) W / w, (i + 0.5) H / h) is inside a box when
    x0 <= cx < x1 and y0 <= cy < y1;
  * bilinear blend a * (1 - f) + b * f; "row pass" = along each row (between columns) first;
  * negative evidence is computed for every target whose image has a box of another class,
    with or without a box of its own class, degenerate or not (README protocol 2: a share is
    defined wherever its mass is non-zero); an empty other region (other boxes covered by the
    target's class boxes) makes every evidence value undefined;
  * summary evidence.neg_area / pos_area: the mean other_area over the eligible_neg /
    eligible_pos targets; neg_enrichment = neg_other / neg_area.
"""

import argparse
import csv
import ctypes
import ctypes.util
import json
import math
import multiprocessing
import os
import sys
import time

import h5py
import numpy as np

FEATURE_VARIANTS = ["gradcam", "gradcam-signed", "counterfactual", "gradcam-absgrad",
                    "gradcam-centered", "activation", "gradient", "hirescam", "hirescam-signed",
                    "layercam", "xgradcam", "gradcam++", "gradcam-elementwise", "eigencam"]
ALL_VARIANTS = FEATURE_VARIANTS + ["saliency"]
NORMS = ("max", "minmax")
NTHR = 100
THRESHOLDS = [i / 100.0 for i in range(NTHR)]
IOU_LEVELS = (0.3, 0.5, 0.7)
CELLS = ["PP", "P0", "PN", "0P", "00", "0N", "NP", "N0", "NN"]
REGIONS = ["target", "other", "background"]
TABLES = ["alphaA", "GA"]

MAP_RTOL = 1e-5
VAL_ATOL = 1e-6
SUM_RTOL = 1e-9
TIE_SHARE = 0.01


# ============================================================================ input
def as64(ds):
    """float16/float32/float64 dataset -> float64 (float16 via astype(float32): exact)."""
    x = ds[()]
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    return x.astype(np.float64)


def dtype_name(ds):
    return {np.dtype(np.float16): "float16", np.dtype(np.float32): "float32",
            np.dtype(np.float64): "float64"}.get(ds.dtype, str(ds.dtype))


def sattr(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray):
        v = v.ravel()[0]
        return v.decode("utf-8") if isinstance(v, bytes) else str(v)
    return str(v)


def load_input(path):
    d = {}
    with h5py.File(path, "r") as f:
        d["attrs"] = {k: sattr(f.attrs[k]) for k in ("schema", "model", "layer", "activation",
                                                      "dataset") if k in f.attrs}
        d["classes"] = [c.decode("utf-8") if isinstance(c, bytes) else str(c)
                        for c in f["classes"][()]]
        d["size"] = f["images/size"][()].astype(np.int64)
        d["A"] = as64(f["activations"])
        d["dtype_a"] = dtype_name(f["activations"])
        d["G"] = as64(f["targets/gradients"])
        d["dtype_g"] = dtype_name(f["targets/gradients"])
        d["t_img"] = f["targets/image"][()].astype(np.int64)
        d["t_cls"] = f["targets/class"][()].astype(np.int64)
        d["b_img"] = f["boxes/image"][()].astype(np.int64)
        d["b_cls"] = f["boxes/class"][()].astype(np.int64)
        d["b_xyxy"] = f["boxes/xyxy"][()].astype(np.float64).reshape(-1, 4)
        d["b_diff"] = (f["boxes/difficult"][()].astype(np.int64) if "boxes/difficult" in f
                       else np.zeros(len(d["b_img"]), np.int64))
        d["sal"] = f["targets/saliency"][()].astype(np.float64) if "targets/saliency" in f else None
    return d


# ============================================================================ maps
def feature_maps(A, G, t_img, mu):
    """All feature-resolution variants, float64 [T, h, w] each (before the float32 store)."""
    T = len(t_img)
    out = {v: np.empty((T,) + A.shape[2:]) for v in FEATURE_VARIANTS}
    relu = lambda x: np.maximum(x, 0.0)
    step = 64
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for s in range(0, T, step):
            sl = slice(s, min(T, s + step))
            Ab = A[t_img[sl]]                       # (b, K, h, w)
            Gb = G[sl]
            alpha = Gb.mean(axis=(2, 3))            # (b, K)
            M = np.einsum("bk,bkij->bij", alpha, Ab)
            out["gradcam"][sl] = relu(M)
            out["gradcam-signed"][sl] = M
            out["counterfactual"][sl] = relu(-M)
            out["gradcam-absgrad"][sl] = relu(np.einsum("bk,bkij->bij", np.abs(Gb).mean(axis=(2, 3)), Ab))
            out["gradcam-centered"][sl] = relu(np.einsum("bk,bkij->bij", alpha,
                                                         Ab - mu[None, :, None, None]))
            out["activation"][sl] = relu(Ab.sum(axis=1))
            out["gradient"][sl] = relu(Gb.sum(axis=1))
            GA = Gb * Ab
            out["hirescam"][sl] = relu(GA.sum(axis=1))
            out["hirescam-signed"][sl] = GA.sum(axis=1)
            out["layercam"][sl] = relu((relu(Gb) * Ab).sum(axis=1))
            S = Ab.sum(axis=(2, 3))                 # (b, K)
            den = S + 1e-7
            wx = np.where(den == 0.0, 0.0, GA.sum(axis=(2, 3)) / np.where(den == 0.0, 1.0, den))
            out["xgradcam"][sl] = relu(np.einsum("bk,bkij->bij", wx, Ab))
            g2 = Gb * Gb
            g3 = g2 * Gb
            a = g2 / (2.0 * g2 + S[:, :, None, None] * g3 + 1e-6)
            a = np.where(Gb == 0.0, 0.0, a)
            wpp = (relu(Gb) * a).sum(axis=(2, 3))
            out["gradcam++"][sl] = relu(np.einsum("bk,bkij->bij", wpp, Ab))
            out["gradcam-elementwise"][sl] = relu(relu(GA).sum(axis=1))
    emaps, out["eigencam_info"] = eigencam(A, t_img)
    out["eigencam"][:] = emaps[t_img]
    return out


EIG_TIE = 1e-9


def eig_sign_index(v):
    """README's sign rule: the first k with |v_k| >= (1 - 1e-9) max|v| (the largest |v_k|,
    near-ties to the first index)."""
    a = np.abs(v)
    return int(np.argmax(a >= (1.0 - EIG_TIE) * a.max()))


_LAPACK = []


def dsyevr_top(S):
    """The largest eigenvalue of the symmetric matrix S (n x n) and its eigenvector from
    LAPACK dsyevr, the engine's routine with the engine's options (JOBZ 'V', RANGE 'I',
    IL = IU = n, UPLO 'L', ABSTOL 0, workspace from its own query), called through ctypes
    from the system's liblapack.so.3 (Fortran: every argument by reference, column-major,
    the three CHARACTER arguments' hidden lengths at the end). dsyevr's sign is its own
    (dstein makes the tridiagonal vector's largest component positive, then back-transforms),
    not numpy.linalg.eigh's (dsyevd). -> (eigenvalue, vector of n)."""
    if not _LAPACK:
        name = ctypes.util.find_library("lapack")
        if name is None:
            raise RuntimeError("no LAPACK library found (ctypes.util.find_library('lapack'))")
        _LAPACK.append(ctypes.CDLL(name).dsyevr_)
    f = _LAPACK[0]
    n = S.shape[0]
    a = np.array(S, dtype=np.float64, order="F")
    w = np.zeros(max(n, 1))
    z = np.zeros((max(n, 1), 1), order="F")
    isuppz = np.zeros(2, dtype=np.int32)
    m, info = ctypes.c_int(0), ctypes.c_int(0)
    c = ctypes.c_char
    i32, f64 = ctypes.c_int, ctypes.c_double
    ptr = lambda x: x.ctypes.data_as(ctypes.c_void_p)
    one = ctypes.c_size_t(1)

    def call(work, lwork, iwork, liwork):
        f(ctypes.byref(c(b"V")), ctypes.byref(c(b"I")), ctypes.byref(c(b"L")),
          ctypes.byref(i32(n)), ptr(a), ctypes.byref(i32(max(n, 1))),
          ctypes.byref(f64(0.0)), ctypes.byref(f64(0.0)), ctypes.byref(i32(n)),
          ctypes.byref(i32(n)), ctypes.byref(f64(0.0)), ctypes.byref(m), ptr(w), ptr(z),
          ctypes.byref(i32(max(n, 1))), ptr(isuppz), ptr(work), ctypes.byref(i32(lwork)),
          ptr(iwork), ctypes.byref(i32(liwork)), ctypes.byref(info), one, one, one)
        if info.value != 0:
            raise RuntimeError("dsyevr: info %d" % info.value)

    wq, iwq = np.zeros(1), np.zeros(1, dtype=np.int32)
    call(wq, -1, iwq, -1)
    lwork, liwork = int(wq[0]), int(iwq[0])
    call(np.zeros(max(lwork, 1)), lwork, np.zeros(max(liwork, 1), dtype=np.int32), liwork)
    if m.value != 1:
        raise RuntimeError("dsyevr: %d eigenvalues for one index" % m.value)
    return w[0], z[:n, 0].copy()


def eigencam(A, t_img):
    """EigenCAM per image (pytorch-grad-cam's get_2d_projection + BaseCAM's ReLU), float64:
    X = A^T (cells x channels) minus each channel's mean, v = first right singular vector from
    numpy.linalg.svd, signed so that its largest |v_k| is positive, map = ReLU(X v); X == 0 ->
    zeros. The engine's flip count is relative to LAPACK dsyevr's top eigenvector of the smaller
    Gram matrix (X^T X when K <= h*w, else X X^T, giving v = X^T u / |X^T u|): dsyevr_top runs
    the same routine with the same options on the same matrix (up to rounding), so the count
    compares exactly. The maps do not depend on it (they come from the SVD).
    Images without targets are skipped. -> (maps [N, h, w], {"images": n, "sign_flips": f})."""
    N, K, h, w = A.shape
    hw = h * w
    maps = np.zeros((N, h, w))
    images = flips = 0
    for n in sorted(set(int(x) for x in t_img)):
        images += 1
        X = A[n].reshape(K, hw).T
        X = X - X.mean(axis=0)
        if not np.any(X):
            continue
        _, _, VT = np.linalg.svd(X, full_matrices=False)
        v = VT[0]
        if v[eig_sign_index(v)] < 0:
            v = -v
        maps[n] = np.maximum(X @ v, 0.0).reshape(h, w)
        gram = X.T @ X if K <= hw else X @ X.T
        ev, u = dsyevr_top(gram)
        if not ev > 0:
            continue
        vl = u if K <= hw else X.T @ u
        flips += int(vl[eig_sign_index(vl)] < 0)
    return maps, {"images": images, "sign_flips": flips}


# ============================================================================ upsampling
UPSAMPLE_RATIO = True    # README: s = (x + 0.5) * (w / W) - 0.5 (cv2's and PyTorch's order)


def axis_coords(n_out, n_in):
    x = np.arange(n_out, dtype=np.float64)
    if UPSAMPLE_RATIO:
        s = (x + 0.5) * (float(n_in) / n_out) - 0.5
    else:
        s = (x + 0.5) * n_in / n_out - 0.5      # README, read left to right: ((x + 0.5) * w) / W - 0.5
    s = np.maximum(s, 0.0)                       # clamped below at 0
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    f = s - i0
    f = np.where(i0 >= n_in - 1, 0.0, f)         # 0 when x0 >= w - 1
    return i0, i1, f


def upsample(m, H, W):
    """(h, w) -> (H, W) float64.  Row pass first (along each row: interpolate between columns,
    (h, w) -> (h, W)), then the column pass (along each column: between rows, -> (H, W)),
    each as a * (1 - f) + b * f in double."""
    h, w = m.shape
    m = np.asarray(m, np.float64)
    y0, y1, fy = axis_coords(H, h)
    x0, x1, fx = axis_coords(W, w)
    r = m[:, x0] * (1.0 - fx)[None, :] + m[:, x1] * fx[None, :]             # (h, W)
    return r[y0, :] * (1.0 - fy)[:, None] + r[y1, :] * fy[:, None]          # (H, W)


# ============================================================================ boxes / masks
def clip_box(b, H, W):
    return (min(max(b[0], 0.0), W), min(max(b[1], 0.0), H),
            min(max(b[2], 0.0), W), min(max(b[3], 0.0), H))


def centre_mask(boxes, H, W):
    """Pixels whose centre (c + 0.5, r + 0.5) is inside one of the boxes, [x0, x1) x [y0, y1)."""
    cx = np.arange(W) + 0.5
    cy = np.arange(H) + 0.5
    m = np.zeros((H, W), bool)
    for b in boxes:
        m |= ((cy >= b[1]) & (cy < b[3]))[:, None] & ((cx >= b[0]) & (cx < b[2]))[None, :]
    return m


def iou_many(pb, gts):
    """pb: (n, 4) predicted edge boxes, gts: (g, 4) -> (n, g) IoU."""
    pb = np.asarray(pb, np.float64).reshape(-1, 4)
    g = np.asarray(gts, np.float64).reshape(-1, 4)
    iw = np.maximum(0.0, np.minimum(pb[:, None, 2], g[None, :, 2]) - np.maximum(pb[:, None, 0], g[None, :, 0]))
    ih = np.maximum(0.0, np.minimum(pb[:, None, 3], g[None, :, 3]) - np.maximum(pb[:, None, 1], g[None, :, 1]))
    inter = iw * ih
    ap = (pb[:, 2] - pb[:, 0]) * (pb[:, 3] - pb[:, 1])
    ag = np.maximum(g[:, 2] - g[:, 0], 0.0) * np.maximum(g[:, 3] - g[:, 1], 0.0)
    union = ap[:, None] + ag[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return r


# ============================================================================ components
def label_direct(mask):
    """8-connected labelling by min-label propagation with pointer jumping (numpy).
    Returns lab (H, W) int64: for mask pixels the row-major index of the component's first
    pixel, -1 elsewhere."""
    H, W = mask.shape
    INF = H * W
    idx = np.arange(H * W, dtype=np.int64).reshape(H, W)
    lab = np.where(mask, idx, INF)
    pad = np.full((H + 2, W + 2), INF, np.int64)
    mflat = mask.ravel()
    while True:
        pad[1:-1, 1:-1] = lab
        nb = lab.copy()
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                if dy == 1 and dx == 1:
                    continue
                np.minimum(nb, pad[dy:dy + H, dx:dx + W], out=nb)
        nb[~mask] = INF
        flat = nb.ravel()
        for _ in range(4):                                  # pointer jumping
            sel = flat[mflat]
            flat[mflat] = np.minimum(sel, flat[sel])
        if np.array_equal(flat.reshape(H, W), lab):
            break
        lab = flat.reshape(H, W)
    return np.where(mask, lab, -1)


def components_direct(mask):
    """-> list of (count, first, x0, y0, x1, y1) with x1/y1 exclusive edges."""
    lab = label_direct(mask)
    H, W = mask.shape
    rr, cc = np.nonzero(mask)
    l = lab[rr, cc]
    order = np.argsort(l, kind="stable")
    l, rr, cc = l[order], rr[order], cc[order]
    starts = np.flatnonzero(np.r_[True, l[1:] != l[:-1]])
    if len(l) == 0:
        return []
    cnt = np.diff(np.r_[starts, len(l)])
    x0 = np.minimum.reduceat(cc, starts)
    x1 = np.maximum.reduceat(cc, starts) + 1
    y0 = np.minimum.reduceat(rr, starts)
    y1 = np.maximum.reduceat(rr, starts) + 1
    return [(int(cnt[k]), int(l[starts[k]]), int(x0[k]), int(y0[k]), int(x1[k]), int(y1[k]))
            for k in range(len(starts))]


def largest(comps):
    """Largest by count, ties -> smallest first pixel."""
    return min(comps, key=lambda c: (-c[0], c[1]))


_NBR_CACHE = {}


def neighbours(H, W):
    key = (H, W)
    if key not in _NBR_CACHE:
        nb = []
        for p in range(H * W):
            r, c = divmod(p, W)
            lst = []
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    if (dr or dc) and 0 <= r + dr < H and 0 <= c + dc < W:
                        lst.append((r + dr) * W + c + dc)
            nb.append(lst)
        _NBR_CACHE[key] = nb
    return _NBR_CACHE[key]


def sweep(m, prefix_counts, gts):
    """Union-find over the pixels in decreasing order of m.  prefix_counts: sorted unique
    numbers c of active pixels (the pixels order[:c]) at which to describe the components.
    Returns {c: (largest_box or None, iou_largest, iou_any)}."""
    H, W = m.shape
    nbrs = neighbours(H, W)
    order = np.argsort(-m.ravel(), kind="stable").tolist()
    n = H * W
    parent = list(range(n))
    active = bytearray(n)
    size = [0] * n
    first = [0] * n
    bx0 = [0] * n
    bx1 = [0] * n
    by0 = [0] * n
    by1 = [0] * n
    roots = set()
    res = {}
    pos = 0
    for c in prefix_counts:
        while pos < c:
            p = order[pos]
            pos += 1
            active[p] = 1
            r, col = divmod(p, W)
            size[p] = 1
            first[p] = p
            bx0[p] = bx1[p] = col
            by0[p] = by1[p] = r
            rp = p
            roots.add(p)
            for q in nbrs[p]:
                if not active[q]:
                    continue
                while parent[q] != q:
                    parent[q] = parent[parent[q]]
                    q = parent[q]
                if q == rp:
                    continue
                if size[q] < size[rp]:
                    q, rp = rp, q
                # attach rp under q
                parent[rp] = q
                size[q] += size[rp]
                if first[rp] < first[q]:
                    first[q] = first[rp]
                if bx0[rp] < bx0[q]:
                    bx0[q] = bx0[rp]
                if bx1[rp] > bx1[q]:
                    bx1[q] = bx1[rp]
                if by0[rp] < by0[q]:
                    by0[q] = by0[rp]
                if by1[rp] > by1[q]:
                    by1[q] = by1[rp]
                roots.discard(rp)
                rp = q
        if not roots:
            res[c] = (None, 0.0, 0.0)
            continue
        rl = list(roots)
        best = min(rl, key=lambda q: (-size[q], first[q]))
        lb = (bx0[best], by0[best], bx1[best] + 1, by1[best] + 1)
        if len(gts):
            iou_l = float(iou_many([lb], gts).max())
            allb = np.array([(bx0[q], by0[q], bx1[q] + 1, by1[q] + 1) for q in rl], np.float64)
            iou_a = float(iou_many(allb, gts).max())
        else:
            iou_l = iou_a = 0.0
        res[c] = (lb, iou_l, iou_a)
    return res


# ============================================================================ localization
def localize(m, gts, tmask, omask, other_exists, threshold, tol, want_loc):
    """m: (H, W) float64 map at image resolution.  Returns a dict of per-target results."""
    H, W = m.shape
    r = {}
    mx = float(m.max())
    mn = float(m.min())
    deg = not (mx > 0.0) or mx == mn
    r["degenerate"] = int(deg)
    # ---- negative evidence (independent of has_box)
    r["other_area"] = r["neg_other"] = r["pos_other"] = None
    r["neg_enrichment"] = r["pos_enrichment"] = None
    r["ev_exists"] = bool(other_exists and omask.any())
    if r["ev_exists"]:
        area = float(omask.sum()) / float(H * W)
        r["other_area"] = area
        for key, mass in (("neg", np.maximum(-m, 0.0)), ("pos", np.maximum(m, 0.0))):
            tot = float(mass.sum())
            if tot > 0.0:
                share = float(mass[omask].sum()) / tot
                r[key + "_other"] = share
                r[key + "_enrichment"] = share / area
    if not want_loc:
        return r
    # ---- localization
    r["curve"] = {nm: np.zeros(NTHR, bool) for nm in NORMS}
    r["any"] = {nm: np.zeros((len(IOU_LEVELS), NTHR), bool) for nm in NORMS}
    if deg:
        for nm in NORMS:
            r["box_" + nm] = None
            r["iou_" + nm] = 0.0
            r["hit_" + nm] = 0
        r["point"] = None
        r["point_hit"] = 0
        r["energy"] = 0.0
        return r
    pos = np.maximum(m, 0.0)
    r["energy"] = float(pos[tmask].sum()) / float(pos.sum())
    am = int(np.argmax(m))
    py, px = divmod(am, W)
    r["point"] = (px, py)
    rr, cc = np.nonzero(tmask)
    r["point_hit"] = int(bool(np.any((cc - px) ** 2 + (rr - py) ** 2 < tol * tol)))
    v = {"max": m / mx, "minmax": (m - mn) / (mx - mn)}
    flat_sorted = np.sort(m.ravel())[::-1]
    needed = {}
    for nm in NORMS:
        cnts = [int(np.count_nonzero(v[nm] >= t)) for t in THRESHOLDS]
        needed[nm] = cnts
    allc = sorted(set(needed["max"]) | set(needed["minmax"]))
    # prefix property check: {v >= t} is a prefix of the decreasing order of m
    for nm in NORMS:
        vs = np.sort(v[nm].ravel())[::-1]
        for c, t in zip(needed[nm], THRESHOLDS):
            if (c > 0 and not vs[c - 1] >= t) or (c < len(vs) and vs[c] >= t):
                raise RuntimeError("internal: threshold set is not a prefix")
    del flat_sorted
    sw = sweep(m, allc, gts)
    for nm in NORMS:
        for i, c in enumerate(needed[nm]):
            lb, il, ia = sw[c]
            r["curve"][nm][i] = il >= 0.5
            for li, lev in enumerate(IOU_LEVELS):
                r["any"][nm][li, i] = ia >= lev
        # box at --threshold by the independent labelling
        comps = components_direct(v[nm] >= threshold)
        cnt, fp, x0, y0, x1, y1 = largest(comps)
        box = (x0, y0, x1, y1)
        iou = float(iou_many([box], gts).max()) if len(gts) else 0.0
        r["box_" + nm] = box
        r["iou_" + nm] = iou
        r["hit_" + nm] = int(iou >= 0.5)
        for i, t in enumerate(THRESHOLDS):
            if t == threshold:
                lb = sw[needed[nm][i]][0]
                if lb != box:
                    raise RuntimeError("internal: sweep box %r != direct box %r at t=%g"
                                       % (lb, box, t))
    return r


# ============================================================================ per-target work
_G = {}


def work_target(t):
    g = _G
    d = g["d"]
    n = int(d["t_img"][t])
    c = int(d["t_cls"][t])
    H, W = int(d["size"][n, 0]), int(d["size"][n, 1])
    sel = d["b_img"] == n
    boxes = [clip_box(b, H, W) for b in d["b_xyxy"][sel]]
    cls = d["b_cls"][sel]
    gts = np.array([b for b, k in zip(boxes, cls) if k == c], np.float64).reshape(-1, 4)
    oth = [b for b, k in zip(boxes, cls) if k != c]
    tmask = centre_mask([b for b, k in zip(boxes, cls) if k == c], H, W)
    omask = centre_mask(oth, H, W) & ~tmask
    has_box = len(gts) > 0
    out = {"has_box": int(has_box)}
    for v in g["variants"]:
        if v == "saliency":
            m = d["sal"][t][:H, :W]
        else:
            m32 = g["maps32"][v][t]
            m = upsample(m32.astype(np.float64), H, W)
        out[v] = localize(m, gts, tmask, omask, len(oth) > 0, g["threshold"], g["tolerance"],
                          has_box)
    return out


def _init(g):
    global UPSAMPLE_RATIO
    _G.update(g)
    UPSAMPLE_RATIO = g.get("upsample_ratio", False)


# ============================================================================ sign tables
def sign_idx(x):
    return np.where(x > 0, 0, np.where(x == 0, 1, 2))


def cell_regions(d, t):
    n = int(d["t_img"][t])
    c = int(d["t_cls"][t])
    H, W = int(d["size"][n, 0]), int(d["size"][n, 1])
    h, w = d["A"].shape[2:]
    cx = (np.arange(w) + 0.5) * W / w
    cy = (np.arange(h) + 0.5) * H / h
    sel = d["b_img"] == n
    inside_t = np.zeros((h, w), bool)
    inside_o = np.zeros((h, w), bool)
    for b, k in zip(d["b_xyxy"][sel], d["b_cls"][sel]):
        ins = ((cy >= b[1]) & (cy < b[3]))[:, None] & ((cx >= b[0]) & (cx < b[2]))[None, :]
        if k == c:
            inside_t |= ins
        else:
            inside_o |= ins
    return np.where(inside_t, 0, np.where(inside_o, 1, 2))


def sign_tables(d):
    """-> {table: (counts [T,3,9] int, sums [T,3,9], abssums [T,3,9])}, totals {table: [T]}."""
    A, G = d["A"], d["G"]
    T = len(d["t_img"])
    res = {tb: [np.zeros((T, 3, 9), np.int64), np.zeros((T, 3, 9)), np.zeros((T, 3, 9))]
           for tb in TABLES}
    tot = {tb: np.zeros(T) for tb in TABLES}
    for t in range(T):
        Ab = A[d["t_img"][t]]
        Gb = G[t]
        reg = np.broadcast_to(cell_regions(d, t)[None], Ab.shape)
        alpha = Gb.mean(axis=(1, 2))
        sA = sign_idx(Ab)
        for tb in TABLES:
            if tb == "alphaA":
                sw = np.broadcast_to(sign_idx(alpha)[:, None, None], Ab.shape)
                prod = alpha[:, None, None] * Ab
            else:
                sw = sign_idx(Gb)
                prod = Gb * Ab
            key = (reg * 9 + sw * 3 + sA).ravel()
            res[tb][0][t] = np.bincount(key, minlength=27).reshape(3, 9)
            res[tb][1][t] = np.bincount(key, weights=prod.ravel(), minlength=27).reshape(3, 9)
            res[tb][2][t] = np.bincount(key, weights=np.abs(prod).ravel(), minlength=27).reshape(3, 9)
            tot[tb][t] = prod.sum()
    return res, tot


# ============================================================================ comparison helpers
class Report:
    def __init__(self):
        self.fail = []
        self.warn = []

    def bad(self, msg):
        self.fail.append(msg)

    def note(self, msg):
        self.warn.append(msg)


def fnum(s):
    if s is None:
        return None
    s = s.strip()
    if s == "":
        return None
    return float(s)


def close(a, b, atol):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str) or math.isnan(a) or math.isnan(b):
        return False
    return abs(a - b) <= atol


def mean(xs):
    xs = list(xs)
    return float(np.mean(xs)) if xs else 0.0


# ============================================================================ expected outputs
TARGET_COLS = ["input", "target", "image", "class", "variant", "has_box", "degenerate",
               "x0_max", "y0_max", "x1_max", "y1_max", "iou_max", "hit_max",
               "x0_minmax", "y0_minmax", "x1_minmax", "y1_minmax", "iou_minmax", "hit_minmax",
               "point_x", "point_y", "point_hit", "energy",
               "other_area", "neg_other", "pos_other", "neg_enrichment", "pos_enrichment"]
LOC_COLS = TARGET_COLS[7:23]


def expected_rows(I, d, res, variants):
    """targets.csv rows as dicts of python values (None = empty)."""
    rows = []
    for t in range(len(d["t_img"])):
        for v in variants:
            x = res[t][v]
            hb = res[t]["has_box"]
            r = dict.fromkeys(TARGET_COLS)
            r.update(input=I, target=t, image=int(d["t_img"][t]), **{"class": int(d["t_cls"][t])},
                     variant=v, has_box=hb, degenerate=x["degenerate"])
            if hb:
                for nm in NORMS:
                    b = x["box_" + nm]
                    if b is not None:
                        for k, q in zip(("x0", "y0", "x1", "y1"), b):
                            r[k + "_" + nm] = q
                    r["iou_" + nm] = x["iou_" + nm]
                    r["hit_" + nm] = x["hit_" + nm]
                if x["point"] is not None:
                    r["point_x"], r["point_y"] = x["point"]
                r["point_hit"] = x["point_hit"]
                r["energy"] = x["energy"]
            for k in ("other_area", "neg_other", "pos_other", "neg_enrichment", "pos_enrichment"):
                r[k] = x[k]
            rows.append(r)
    return rows


def expected_summary(path, d, res, variants, tabs, threshold, tolerance, eig_info=None):
    """-> (summary input block, aux) with aux["abs"][table][region][cell] = sum of |products| (tolerance scale of the sums)."""
    N, K, h, w = d["A"].shape
    T = len(d["t_img"])
    C = len(d["classes"])
    Wb = d["size"][d["b_img"], 1].astype(np.float64)
    Hb = d["size"][d["b_img"], 0].astype(np.float64)
    bx = d["b_xyxy"]
    clipped = int(np.sum((bx[:, 0] < 0) | (bx[:, 1] < 0) | (bx[:, 2] > Wb) | (bx[:, 3] > Hb)))
    hasbox = np.array([res[t]["has_box"] for t in range(T)], bool)
    blk = {"file": path, "attributes": dict(d["attrs"]), "classes": list(d["classes"])}
    blk["counts"] = {"images": N, "classes": C, "channels": K, "height": h, "width": w,
                     "targets": T, "boxes": len(d["b_img"]),
                     "boxes_difficult": int((d["b_diff"] != 0).sum()),
                     "boxes_clipped": clipped, "targets_without_box": int((~hasbox).sum()),
                     "targets_scored": int(hasbox.sum()),
                     "dtype_activations": d["dtype_a"], "dtype_gradients": d["dtype_g"]}
    blk["protocol"] = {"threshold": threshold, "tolerance": tolerance, "iou": 0.5,
                       "thresholds": NTHR}
    scored = [t for t in range(T) if hasbox[t]]
    aux = {"abs": {}}
    V = {}
    for v in variants:
        R = [res[t][v] for t in scored]
        e = {"degenerate": int(sum(x["degenerate"] for x in R))}
        for key in ("boxacc", "maxboxacc", "maxboxacc_threshold", "maxboxacc_v2", "boxacc_curve"):
            e[key] = {}
        for nm in NORMS:
            curve = np.mean([x["curve"][nm] for x in R], axis=0) if R else np.zeros(NTHR)
            e["boxacc"][nm] = mean(x["hit_" + nm] for x in R)
            e["boxacc_curve"][nm] = [float(c) for c in curve]
            mba = float(curve.max())
            e["maxboxacc"][nm] = mba
            e["maxboxacc_threshold"][nm] = THRESHOLDS[int(np.argmax(curve >= mba))]
            lv = []
            for li in range(len(IOU_LEVELS)):
                lv.append(float(np.mean([x["any"][nm][li] for x in R], axis=0).max()) if R else 0.0)
            e["maxboxacc_v2"][nm] = float(np.mean(lv))
        e["pointing"] = mean(x["point_hit"] for x in R)
        per = {}
        for t in scored:
            per.setdefault(d["classes"][d["t_cls"][t]], []).append(res[t][v]["point_hit"])
        per = {k: mean(x) for k, x in per.items()}
        e["pointing_per_class"] = per
        e["pointing_class_mean"] = mean(per.values())
        e["energy"] = mean(x["energy"] for x in R)
        # evidence: over all targets (README lists only box, pointing and energy as the metrics
        # that leave out the targets without a box of their class)
        E = [res[t][v] for t in range(T)]
        ev = {}
        sets = {}
        for key in ("neg", "pos"):
            el = [x for x in E if x[key + "_other"] is not None]
            sets[key] = el
            ev["eligible_" + key] = len(el)
        for key in ("neg", "pos"):
            el = sets[key]
            ms = mean(x[key + "_other"] for x in el)
            ma = mean(x["other_area"] for x in el)
            ev[key + "_other"] = ms
            ev[key + "_area"] = ma
            ev[key + "_enrichment"] = ms / ma if el and ma > 0 else 0.0
        e["evidence"] = {k: ev[k] for k in ("eligible_neg", "neg_other", "neg_area",
                                            "neg_enrichment", "eligible_pos", "pos_other",
                                            "pos_area", "pos_enrichment")}
        V[v] = e
    blk["variants"] = V
    st = {}
    for tb in TABLES:
        cnt, sm, ab = tabs[tb]
        st[tb] = {}
        aux["abs"][tb] = {}
        for ri, rg in enumerate(REGIONS + ["all"]):
            if rg == "all":
                rc, rs, ra = cnt.sum(axis=(0, 1)), sm.sum(axis=(0, 1)), ab.sum(axis=(0, 1))
            else:
                rc, rs, ra = cnt[:, ri].sum(axis=0), sm[:, ri].sum(axis=0), ab[:, ri].sum(axis=0)
            st[tb][rg] = {"count": {cn: int(rc[ci]) for ci, cn in enumerate(CELLS)},
                          "sum": {cn: float(rs[ci]) for ci, cn in enumerate(CELLS)}}
            aux["abs"][tb][rg] = {cn: float(ra[ci]) for ci, cn in enumerate(CELLS)}
    blk["sign_tables"] = st
    if "eigencam" in variants:
        blk["eigencam"] = dict(eig_info)
    return blk, aux


# ============================================================================ emit (self-test)
def g9(x):
    if x is None:
        return ""
    if isinstance(x, (int, np.integer)):
        return "%d" % x
    return "%.9g" % x


def emit(outdir, I, d, res, variants, tabs, blk, ref, mu, save_maps=True):
    """Write the reference's results in the engine's output formats (to test this script)."""
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "targets.csv"), "w") as f:
        f.write(",".join(TARGET_COLS) + "\n")
        for r in expected_rows(I, d, res, variants):
            f.write(",".join(r[c] if isinstance(r[c], str) else g9(r[c]) for c in TARGET_COLS) + "\n")
    with open(os.path.join(outdir, "signs.csv"), "w") as f:
        f.write("input,target,image,class,table,region," + ",".join("n_" + c for c in CELLS) + ","
                + ",".join("s_" + c for c in CELLS) + "\n")
        for t in range(len(d["t_img"])):
            for tb in TABLES:
                for ri, rg in enumerate(REGIONS):
                    f.write("%d,%d,%d,%d,%s,%s," % (I, t, d["t_img"][t], d["t_cls"][t], tb, rg)
                            + ",".join("%d" % x for x in tabs[tb][0][t, ri]) + ","
                            + ",".join("%.17g" % x for x in tabs[tb][1][t, ri]) + "\n")
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"schema": "gradcam-study-summary/1", "inputs": [blk],
                   "run": {"version": "ref_check", "threads": 1, "wall_time": 0.0}}, f, indent=1)
    if save_maps:
        with h5py.File(os.path.join(outdir, "maps.h5"), "w") as f:
            for v in variants:
                if v != "saliency":
                    f.create_dataset("maps/" + v, data=ref[v].astype(np.float32))
            f.create_dataset("maps/mu", data=mu)


# ============================================================================ comparisons
def compare_maps(maps_path, ref, mu, feat, T, K, h, w, absA, rep):
    print("== maps (%s): |engine - ref| / max|ref| per map, worst over targets" % maps_path)
    emaps = {}
    with h5py.File(maps_path, "r") as f:
        if "maps/mu" not in f:
            rep.bad("maps: /maps/mu missing")
        else:
            emu = f["maps/mu"][()]
            if emu.dtype != np.float64 or emu.shape != (K,):
                rep.bad("maps: /maps/mu is %s %s, expected float64 (%d,)" % (emu.dtype, emu.shape, K))
            else:
                scale = max(absA, 1e-300)
                err = float(np.abs(emu - mu).max())
                print("  %-18s max|diff| %.3g (max|A| %.3g)" % ("mu", err, scale))
                if not err <= 1e-12 * scale:
                    rep.bad("maps: /maps/mu differs by %.3g" % err)
        if "maps/saliency" in f:
            rep.bad("maps: /maps/saliency present (saliency has no feature-resolution map)")
        extra = [k for k in (f["maps"].keys() if "maps" in f else []) if k not in feat + ["mu"]]
        if extra:
            rep.bad("maps: unexpected datasets %s" % extra)
        for v in feat:
            if "maps/" + v not in f:
                rep.bad("maps: /maps/%s missing" % v)
                continue
            e = f["maps/" + v][()]
            if e.dtype != np.float32 or e.shape != (T, h, w):
                rep.bad("maps: /maps/%s is %s %s, expected float32 (%d, %d, %d)"
                        % (v, e.dtype, e.shape, T, h, w))
                continue
            emaps[v] = e
            r = ref[v].reshape(T, -1)
            e64 = e.astype(np.float64).reshape(T, -1)
            scale = np.abs(r).max(axis=1)
            err = np.abs(e64 - r)
            bad = ~(err <= (MAP_RTOL * scale[:, None] + 1e-30))
            with np.errstate(divide="ignore", invalid="ignore"):
                nrm = np.where(scale[:, None] > 0, err / scale[:, None], np.where(err > 0, np.inf, 0.0))
                rel = np.where(np.abs(r) > 0, err / np.abs(r), np.where(err > 0, np.inf, 0.0))
            nrm = np.where(np.isnan(nrm), np.inf, nrm)
            rel = np.where(np.isnan(rel), np.inf, rel)
            print("  %-18s max norm.diff %9.3g   max elem.rel.diff %9.3g   bad elements %d"
                  % (v, nrm.max(), rel.max(), int(bad.sum())))
            if bad.any():
                ts = np.nonzero(bad.any(axis=1))[0]
                t0 = int(ts[0])
                j = int(np.argmax(np.where(bad[t0], err[t0], -1.0)))
                rep.bad("maps: %s differs in %d target(s) (first: target %d element (%d, %d): engine %.9g "
                        "ref %.9g, map max|ref| %.9g)" % (v, len(ts), t0, j // w, j % w, e64[t0, j],
                                                          r[t0, j], scale[t0]))
    return emaps


def row_map(d, maps32, t, v):
    """The image-resolution map of target t, variant v (as localized)."""
    n = int(d["t_img"][t])
    H, W = int(d["size"][n, 0]), int(d["size"][n, 1])
    if v == "saliency":
        return d["sal"][t][:H, :W]
    return upsample(maps32[v][t].astype(np.float64), H, W)


def compare_targets(trows, I, d, res, variants, rep, maps32, threshold):
    print("== targets.csv: worst |engine - ref| per variant and column")
    T = len(d["t_img"])
    exp = expected_rows(I, d, res, variants)
    if trows and set(TARGET_COLS) - set(trows[0]):
        rep.bad("targets.csv: missing columns %s" % sorted(set(TARGET_COLS) - set(trows[0])))
        return 0
    got_keys = [(int(r["target"]), r["variant"]) for r in trows]
    exp_keys = [(r["target"], r["variant"]) for r in exp]
    if got_keys != exp_keys:
        rep.bad("targets.csv: rows are not one per target and variant in target order, variants "
                "in README's order (%d rows, expected %d)" % (len(got_keys), len(exp_keys)))
    rowmap = {(int(r["target"]), r["variant"]): r for r in trows}
    num_cols = ["iou_max", "iou_minmax", "energy", "other_area", "neg_other", "pos_other",
                "neg_enrichment", "pos_enrichment"]
    exact_cols = ["image", "class", "has_box", "degenerate", "x0_max", "y0_max", "x1_max", "y1_max",
                  "hit_max", "x0_minmax", "y0_minmax", "x1_minmax", "y1_minmax", "hit_minmax",
                  "point_x", "point_y", "point_hit"]
    tie_rows, tie_targets = [], {}
    worst = {}
    for x in exp:
        t, v = x["target"], x["variant"]
        r = rowmap.get((t, v))
        if r is None:
            rep.bad("targets.csv: no row for target %d variant %s" % (t, v))
            continue
        where = "targets.csv: target %d (image %d class %d) %s" % (t, x["image"], x["class"], v)
        wv = worst.setdefault(v, {})
        boxcols = [k for k in exact_cols if k[:2] in ("x0", "y0", "x1", "y1")]
        diffs_box = [k for k in boxcols if fnum(r[k]) != x[k]]
        diffs_pt = [k for k in ("point_x", "point_y") if fnum(r[k]) != x[k]]
        tie = bool(diffs_box or diffs_pt) and x["has_box"] and not x["degenerate"] \
            and all(fnum(r[k]) is not None for k in diffs_box + diffs_pt)
        if tie:
            # only a near-tie in our own map excuses a difference: the engine's point must hold
            # (within 1e-12) our maximum, and a box can only move if a pixel is within 1e-12 of
            # the threshold in our normalised map
            m = row_map(d, maps32, t, v)
            mx, mn = float(m.max()), float(m.min())
            why = []
            if diffs_pt:
                ex, ey = int(fnum(r["point_x"])), int(fnum(r["point_y"]))
                if not (0 <= ex < m.shape[1] and 0 <= ey < m.shape[0]) or \
                        not m[ey, ex] >= mx - 1e-12 * abs(mx):
                    why.append("the engine's point is not a (near-)maximum of the map")
            for nm in NORMS:
                if any(k.endswith("_" + nm) for k in diffs_box):
                    vv = m / mx if nm == "max" else (m - mn) / (mx - mn)
                    if not np.any(np.abs(vv - threshold) <= 1e-12):
                        why.append("no pixel of the %s-normalised map is within 1e-12 of the "
                                   "threshold" % nm)
            if why:
                tie = False
                rep.bad("%s: box/point differs and it is not a threshold/argmax tie (%s)"
                        % (where, "; ".join(why)))
        if tie:
            tie_targets.setdefault(v, set()).add(t)
            tie_rows.append("%s: %s" % (where, ", ".join(
                "%s engine %s ref %s" % (k, r[k], x[k]) for k in diffs_box + diffs_pt
                + [k for k in ("iou_max", "iou_minmax", "hit_max", "hit_minmax", "point_hit")
                   if not close(fnum(r[k]), x[k], VAL_ATOL)])))
        for k in exact_cols:
            if k == "degenerate" and fnum(r[k]) is None and not x["has_box"]:
                continue
            e = fnum(r[k])
            if e != x[k] and not (tie and (k in diffs_box or k in diffs_pt or k.endswith("hit")
                                           or k.startswith("hit"))):
                rep.bad("%s: %s engine %r ref %r" % (where, k, r[k], x[k]))
        for k in num_cols:
            e, rv = fnum(r[k]), x[k]
            if e is None and rv is None:
                continue
            if e is None or rv is None:
                rep.bad("%s: %s engine %r ref %r" % (where, k, r[k], rv))
                wv[k] = math.inf
                continue
            dd = abs(e - rv) if math.isfinite(e) else math.inf
            if not (tie and k.startswith("iou")):
                wv[k] = max(wv.get(k, 0.0), dd)
            if dd > VAL_ATOL and not (tie and k.startswith("iou")):
                rep.bad("%s: %s engine %r ref %.9g (diff %.3g)" % (where, k, r[k], rv, dd))
    print("  %-17s" % "variant" + "".join("%15s" % c for c in num_cols))
    for v in variants:
        print("  %-17s" % v + "".join("%15.3g" % worst.get(v, {}).get(c, 0.0) for c in num_cols))
    nrows = len(exp)
    allowed = int(math.floor(TIE_SHARE * nrows))
    print("  boxes/points exact except %d row(s) (allowed: %d of %d rows)" % (len(tie_rows), allowed, nrows))
    for s in tie_rows:
        print("    " + s)
    if len(tie_rows) > allowed:
        rep.bad("targets.csv: %d rows differ in box/point, more than 1%% of %d" % (len(tie_rows), nrows))
    return {v: len(x) for v, x in tie_targets.items()}


def compare_signs(srows, d, tabs, tot, rep):
    print("== signs.csv")
    T = len(d["t_img"])
    N, K, h, w = d["A"].shape
    skeys = [(int(r["target"]), r["table"], r["region"]) for r in srows]
    exp = [(t, tb, rg) for t in range(T) for tb in TABLES for rg in REGIONS]
    if sorted(skeys) != sorted(exp) or len(skeys) != len(exp):
        rep.bad("signs.csv: expected 6 rows per target (%d rows, expected %d)" % (len(skeys), len(exp)))
    ecount = {tb: np.zeros((T, 3, 9), np.int64) for tb in TABLES}
    esum = {tb: np.zeros((T, 3, 9)) for tb in TABLES}
    worst_n = {tb: 0 for tb in TABLES}
    worst_s = {tb: 0.0 for tb in TABLES}
    for r in srows:
        t, tb, rg = int(r["target"]), r["table"], r["region"]
        if tb not in TABLES or rg not in REGIONS or not 0 <= t < T:
            rep.bad("signs.csv: bad row %r" % ((t, tb, rg),))
            continue
        ri = REGIONS.index(rg)
        if fnum(r["image"]) != d["t_img"][t] or fnum(r["class"]) != d["t_cls"][t]:
            rep.bad("signs.csv: target %d: image/class %s/%s, expected %d/%d"
                    % (t, r["image"], r["class"], d["t_img"][t], d["t_cls"][t]))
        for ci, cn in enumerate(CELLS):
            n_e = int(fnum(r["n_" + cn]))
            s_e = fnum(r["s_" + cn])
            ecount[tb][t, ri, ci] = n_e
            esum[tb][t, ri, ci] = s_e
            n_r = int(tabs[tb][0][t, ri, ci])
            s_r = tabs[tb][1][t, ri, ci]
            sc = tabs[tb][2][t, ri, ci]
            worst_n[tb] = max(worst_n[tb], abs(n_e - n_r))
            worst_s[tb] = max(worst_s[tb], abs(s_e - s_r) / sc if sc > 0 else (0.0 if s_e == s_r else math.inf))
            if n_e != n_r:
                rep.bad("signs.csv: target %d %s %s n_%s engine %d ref %d" % (t, tb, rg, cn, n_e, n_r))
            if not abs(s_e - s_r) <= SUM_RTOL * sc + 1e-300 and not (sc == 0 and s_e == 0):
                rep.bad("signs.csv: target %d %s %s s_%s engine %.17g ref %.17g" % (t, tb, rg, cn, s_e, s_r))
    for tb in TABLES:
        cs = ecount[tb].sum(axis=(1, 2))
        badc = np.nonzero(cs != K * h * w)[0]
        if len(badc):
            rep.bad("signs.csv: %s counts of target %d add up to %d, not K*h*w = %d"
                    % (tb, badc[0], cs[badc[0]], K * h * w))
        ss = esum[tb].sum(axis=(1, 2))
        sc = tabs[tb][2].sum(axis=(1, 2))
        dev = np.where(sc > 0, np.abs(ss - tot[tb]) / np.maximum(sc, 1e-300), np.abs(ss))
        print("  %-7s worst |count diff| %d, worst |sum diff|/sum|products| %.3g; engine's sums "
              "add up to %s within %.3g" % (tb, worst_n[tb], worst_s[tb],
                                            "sum_ij M" if tb == "alphaA" else "sum_ijk G*A", dev.max()))
        if (dev > SUM_RTOL).any():
            rep.bad("signs.csv: %s sums of target %d do not add up to %s"
                    % (tb, int(np.argmax(dev)), "sum_ij M" if tb == "alphaA" else "sum_ijk G*A"))


SLACK_KEYS = ("boxacc", "boxacc_curve", "maxboxacc", "maxboxacc_v2", "pointing")
NOTE_KEYS = ("maxboxacc_threshold", "pointing_per_class", "pointing_class_mean")


def compare_summary(summ, I, blk, aux, trows, variants, n_tie, rep):
    print("== summary.json")
    if summ.get("schema") != "gradcam-study-summary/1":
        rep.bad("summary.json: schema is %r" % summ.get("schema"))
    if "run" not in summ:
        rep.bad("summary.json: no \"run\" block")
    ins = summ.get("inputs")
    if not isinstance(ins, list) or len(ins) <= I:
        rep.bad("summary.json: no inputs[%d]" % I)
        return
    s = ins[I]
    ns = blk["counts"]["targets_scored"]
    worst = {}

    def walk(path, e, r, atol):
        if isinstance(r, dict):
            if not isinstance(e, dict):
                rep.bad("summary.json: %s engine %r, expected an object" % (path, e))
                return
            if path.endswith("pointing_per_class") and set(e) != set(r):
                rep.bad("summary.json: %s keys engine %s ref %s" % (path, sorted(e), sorted(r)))
            if path.endswith(".evidence"):
                v = path.split(".")[1]
                extra = sorted(set(e) - set(r))
                if extra:
                    rep.note("summary.json: %s has keys README does not list: %s" % (path, extra))
            for k, rv in r.items():
                if k not in e:
                    parts = path.split(".")
                    if len(parts) >= 2 and parts[0] == "variants":
                        missing.setdefault(".".join(parts[2:] + [k]), []).append(parts[1])
                    else:
                        rep.bad("summary.json: %s.%s missing" % (path, k))
                    continue
                walk(path + "." + k, e[k], rv, atol)
            return
        if isinstance(r, list):
            if not isinstance(e, list) or len(e) != len(r):
                rep.bad("summary.json: %s engine %r, expected a list of %d" % (path, e, len(r)))
                return
            for i, (ee, rr) in enumerate(zip(e, r)):
                walk("%s[%d]" % (path, i), ee, rr, atol)
            return
        if isinstance(r, str):
            if e != r:
                rep.bad("summary.json: %s engine %r ref %r" % (path, e, r))
            return
        if not isinstance(e, (int, float)) or isinstance(e, bool):
            rep.bad("summary.json: %s engine %r ref %r" % (path, e, r))
            return
        parts = path.split(".")
        exact = isinstance(r, int) and not isinstance(r, bool)
        tol = 0.0 if exact else atol
        if not math.isfinite(e):
            rep.bad("summary.json: %s is %r" % (path, e))
            return
        dd = abs(e - r)
        if len(parts) >= 3 and parts[0] == "variants":
            key = parts[2].split("[")[0]
            worst.setdefault(parts[1], {})
            worst[parts[1]][key] = max(worst[parts[1]].get(key, 0.0), dd)
            slack = n_tie.get(parts[1], 0) / ns if ns else 0.0
            if dd > tol:
                if slack and key in SLACK_KEYS and dd <= slack + tol:
                    rep.note("summary.json: %s engine %r ref %r: within the tie allowance" % (path, e, r))
                elif slack and key in NOTE_KEYS:
                    rep.note("summary.json: %s engine %r ref %r: after a box/point tie" % (path, e, r))
                else:
                    rep.bad("summary.json: %s engine %r ref %r (diff %.3g)" % (path, e, r, dd))
            return
        if dd > tol:
            rep.bad("summary.json: %s engine %r ref %r (diff %.3g)" % (path, e, r, dd))

    missing = {}
    for key in ("attributes", "classes", "counts", "protocol", "variants"):
        walk(key, s.get(key), blk[key], VAL_ATOL)
    for k, vs in missing.items():
        rep.bad("summary.json: key %s missing in variants.<v>.%s for %s"
                % (k.rsplit(".", 1)[-1], k.rsplit(".", 1)[0] if "." in k else "",
                   "every variant" if len(vs) == len(variants) else ", ".join(vs)))
    # eigencam: images and sign flips exactly, present only with the variant
    if "eigencam" in blk:
        print("  eigencam: engine %r, numpy %r" % (s.get("eigencam"), blk["eigencam"]))
        if s.get("eigencam") != blk["eigencam"]:
            rep.bad("summary.json: eigencam engine %r ref %r" % (s.get("eigencam"), blk["eigencam"]))
    elif "eigencam" in s:
        rep.bad("summary.json: eigencam block without the eigencam variant")
    # sign tables: counts exact, sums relative to sum |products|
    st = s.get("sign_tables", {})
    for tb in TABLES:
        for rg in REGIONS + ["all"]:
            eb = st.get(tb, {}).get(rg, {}) if isinstance(st.get(tb), dict) else {}
            rb = blk["sign_tables"][tb][rg]
            for cn in CELLS:
                ecn = eb.get("count", {}).get(cn)
                esm = eb.get("sum", {}).get(cn)
                if ecn != rb["count"][cn]:
                    rep.bad("summary.json: sign_tables.%s.%s.count.%s engine %r ref %d"
                            % (tb, rg, cn, ecn, rb["count"][cn]))
                sc = aux["abs"][tb][rg][cn]
                if not isinstance(esm, (int, float)) or not abs(esm - rb["sum"][cn]) <= SUM_RTOL * sc + 1e-300 \
                        and not (sc == 0 and esm == 0):
                    rep.bad("summary.json: sign_tables.%s.%s.sum.%s engine %r ref %.17g"
                            % (tb, rg, cn, esm, rb["sum"][cn]))
            # shares (README): NN of the positive mass, NP of the negative mass; absent at 0 mass
            for key, part, other, sign in (("nn_share", "NN", "PP", 1), ("np_share", "NP", "PN", -1)):
                mass = sign * (rb["sum"][part] + rb["sum"][other])
                scale = aux["abs"][tb][rg][part] + aux["abs"][tb][rg][other]
                ev = eb.get(key)
                if mass <= SUM_RTOL * scale:
                    if ev is not None and mass <= 0:
                        rep.bad("summary.json: sign_tables.%s.%s.%s engine %r, ref: no mass"
                                % (tb, rg, key, ev))
                    continue
                rv = sign * rb["sum"][part] / mass
                if not isinstance(ev, (int, float)) or abs(ev - rv) > 1e-6:
                    rep.bad("summary.json: sign_tables.%s.%s.%s engine %r ref %.17g"
                            % (tb, rg, key, ev, rv))
                ci = eb.get(key + "_ci95")
                if ci is not None and not (len(ci) == 2 and 0 <= ci[0] <= ci[1] <= 1):
                    rep.bad("summary.json: sign_tables.%s.%s.%s_ci95 %r is not an interval in [0, 1]"
                            % (tb, rg, key, ci))
    keys = ["degenerate", "boxacc", "boxacc_curve", "maxboxacc", "maxboxacc_threshold",
            "maxboxacc_v2", "pointing", "pointing_class_mean", "pointing_per_class", "energy",
            "evidence"]
    print("  %-17s" % "variant" + "".join("%12s" % k[:11] for k in keys))
    for v in variants:
        print("  %-17s" % v + "".join("%12.3g" % worst.get(v, {}).get(k, 0.0) for k in keys))
    # engine self-consistency: summary vs its own targets.csv
    ev = s.get("variants", {}) if isinstance(s.get("variants"), dict) else {}
    for v in variants:
        rows = [r for r in trows if r["variant"] == v and fnum(r["has_box"]) == 1]
        e = ev.get(v, {})
        if not rows or not isinstance(e, dict):
            continue
        for nm in NORMS:
            own = mean(fnum(r["hit_" + nm]) for r in rows)
            if not close((e.get("boxacc") or {}).get(nm), own, 1e-9):
                rep.bad("summary.json: variants.%s.boxacc.%s %r != mean hit_%s of its targets.csv %r"
                        % (v, nm, (e.get("boxacc") or {}).get(nm), nm, own))
        for key, col, tl in (("pointing", "point_hit", 1e-9), ("energy", "energy", 1e-7),
                             ("degenerate", "degenerate", 0)):
            vals = [fnum(r[col]) for r in rows]
            own = sum(vals) if key == "degenerate" else mean(vals)
            if not close(e.get(key), own, tl):
                rep.bad("summary.json: variants.%s.%s %r disagrees with its targets.csv (%r)"
                        % (v, key, e.get(key), own))
    # nothing NaN / inf anywhere
    bad = []

    def finite(x, p):
        if isinstance(x, dict):
            for k, y in x.items():
                finite(y, p + "." + k)
        elif isinstance(x, list):
            for i, y in enumerate(x):
                finite(y, "%s[%d]" % (p, i))
        elif isinstance(x, float) and not math.isfinite(x):
            bad.append(p)
    finite(summ, "summary")
    if bad:
        rep.bad("summary.json: non-finite values at %s" % bad[:5])


# ============================================================================ main
def compute(d, variants, threshold, tolerance, jobs, maps32):
    T = len(d["t_img"])
    g = {"d": d, "maps32": maps32, "variants": variants, "threshold": threshold,
         "tolerance": tolerance, "upsample_ratio": UPSAMPLE_RATIO}
    if jobs > 1 and T > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(jobs, T), initializer=_init, initargs=(g,)) as pool:
            return pool.map(work_target, range(T), chunksize=1)
    _init(g)
    return [work_target(t) for t in range(T)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("outdir")
    ap.add_argument("--threshold", type=float, default=0.15)
    ap.add_argument("--tolerance", type=float, default=15.0)
    ap.add_argument("--input-index", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker processes for the localization (default: all cores)")
    ap.add_argument("--engine-maps", action="store_true",
                    help="localize the engine's maps.h5 maps instead of ours (diagnosis)")
    ap.add_argument("--upsample-left-to-right", action="store_true",
                    help="compute the source coordinate as ((x + 0.5) * w) / W - 0.5 instead of "
                         "README's (x + 0.5) * (w / W) - 0.5 (diagnosis of last-ulp ties)")
    ap.add_argument("--emit", action="store_true",
                    help="write the reference's own results into OUTDIR in the engine's formats "
                         "(a mock engine, to test this script and planted.py) instead of comparing")
    ap.add_argument("--variants", default=None,
                    help="with --emit: comma list (default: all)")
    a = ap.parse_args(argv)
    if not 0.0 <= a.threshold < 1.0:
        ap.error("--threshold must be in [0, 1)")
    global UPSAMPLE_RATIO
    UPSAMPLE_RATIO = not a.upsample_left_to_right
    rep = Report()
    I = a.input_index
    t_start = time.time()

    d = load_input(a.input)
    N, K, h, w = d["A"].shape
    T = len(d["t_img"])
    mu = d["A"].transpose(1, 0, 2, 3).reshape(K, -1).mean(axis=1)
    ref = feature_maps(d["A"], d["G"], d["t_img"], mu)
    default = FEATURE_VARIANTS + (["saliency"] if d["sal"] is not None else [])

    if a.emit:
        variants = default if a.variants is None else [v for v in ALL_VARIANTS if v in a.variants.split(",")]
        maps32 = {v: ref[v].astype(np.float32) for v in FEATURE_VARIANTS}
        res = compute(d, variants, a.threshold, a.tolerance, a.jobs, maps32)
        tabs, tot = sign_tables(d)
        blk, aux = expected_summary(a.input, d, res, variants, tabs, a.threshold, a.tolerance,
                                    ref["eigencam_info"])
        emit(a.outdir, I, d, res, variants, tabs, blk, ref, mu)
        print("ref_check: wrote the reference's outputs to %s" % a.outdir)
        return 0

    # ---------------------------------------------------------------- engine outputs
    paths = {k: os.path.join(a.outdir, k) for k in ("targets.csv", "signs.csv", "summary.json")}
    for p in paths.values():
        if not os.path.exists(p):
            print("ref_check: %s missing" % p, file=sys.stderr)
            return 2
    cands = (["maps.h5", "maps-0.h5"] if I == 0 else []) + ["maps-%d.h5" % I]
    mp = [os.path.join(a.outdir, x) for x in cands if os.path.exists(os.path.join(a.outdir, x))]
    if not mp:
        print("ref_check: no %s in %s: run the engine with --save-maps" % (" or ".join(cands), a.outdir),
              file=sys.stderr)
        return 2
    try:
        with open(paths["targets.csv"], newline="") as f:
            trows = [r for r in csv.DictReader(f) if r.get("input") is not None and fnum(r["input"]) == I]
        with open(paths["signs.csv"], newline="") as f:
            srows = [r for r in csv.DictReader(f) if r.get("input") is not None and fnum(r["input"]) == I]
        with open(paths["summary.json"]) as f:
            summ = json.load(f)
    except (ValueError, KeyError, OSError) as e:
        print("ref_check: cannot read the engine's outputs: %s" % e, file=sys.stderr)
        return 2

    variants_csv = []
    for r in trows:
        if r["variant"] not in variants_csv:
            variants_csv.append(r["variant"])
    unknown = [v for v in variants_csv if v not in ALL_VARIANTS]
    if unknown:
        rep.bad("targets.csv: unknown variants %s" % unknown)
    variants = [v for v in ALL_VARIANTS if v in variants_csv]
    if "saliency" in variants and d["sal"] is None:
        rep.bad("targets.csv has variant saliency but the input has no /targets/saliency")
        variants.remove("saliency")
    if variants != default:
        rep.note("the engine ran the variants %s; the default set is %s" % (variants, default))
    feat = [v for v in variants if v != "saliency"]

    emaps = compare_maps(mp[0], ref, mu, feat, T, K, h, w, float(np.abs(d["A"]).max()), rep)
    maps32 = {v: (emaps[v] if (a.engine_maps and v in emaps) else ref[v].astype(np.float32))
              for v in feat}
    res = compute(d, variants, a.threshold, a.tolerance, a.jobs, maps32)
    n_tie = compare_targets(trows, I, d, res, variants, rep, maps32, a.threshold)
    tabs, tot = sign_tables(d)
    compare_signs(srows, d, tabs, tot, rep)
    blk, aux = expected_summary(a.input, d, res, variants, tabs, a.threshold, a.tolerance,
                                ref["eigencam_info"])
    del blk["file"]
    compare_summary(summ, I, blk, aux, trows, variants, n_tie, rep)

    for msg in rep.warn:
        print("note: " + msg)
    print("(%d targets x %d variants, %.1f s)" % (T, len(variants), time.time() - t_start))
    if rep.fail:
        print("ref_check: MISMATCH: %d problem(s)%s:" % (len(rep.fail), ", the first 40" if len(rep.fail) > 40 else ""))
        for m in rep.fail[:40]:
            print("  " + m)
        return 1
    print("ref_check: OK: the engine and the numpy reference agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
