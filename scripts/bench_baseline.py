#!/usr/bin/python3
"""The Python baseline of the benchmark: what people run today, one thread.

    bench_baseline.py INPUT.h5 -o OUTDIR [--variants gradcam,...|all] [--limit N]
                      [--threshold 0.15] [--tolerance 15] [--thresholding wsol|exact]
                      [--batch 32] [--save-maps] [--quiet]

Written from the published definitions (shared/REFERENCES.md, README's variant table), no
code copied from those projects:

  * maps, pytorch-grad-cam's formulas in vectorised numpy, per batch of targets: weights
    `alpha = mean(G, axis=(h, w))`, weighted sum over channels (a matmul), ReLU; HiResCAM
    `sum_k G*A`, LayerCAM `sum_k ReLU(G)*A`, XGradCAM `w = sum G*A / (sum A + 1e-7)`,
    GradCAM++ `a = G^2 / (2 G^2 + sum(A) G^3 + 1e-6)` (0 where G = 0), `w = sum a ReLU(G)`;
    plus the engine's other variants (gradcam-signed: no ReLU; counterfactual `ReLU(-M)`;
    gradcam-absgrad; gradcam-centered, which needs a first pass over A for the file-wide
    channel means; activation; gradient; hirescam-signed); GradCAMElementWise
    `ReLU(sum_k ReLU(G*A))`; EigenCAM as pytorch-grad-cam's get_2d_projection, once per image
    (it has no gradient): the (cells x channels) activations centred per channel,
    `np.linalg.svd(full_matrices=True)`, the projection on VT[0], ReLU (BaseCAM), plus the
    engine's sign rule (README: the largest |v_k| positive, near-ties to the first k), which
    pytorch-grad-cam does not have, so that the maps can be compared. The channel sums are taken in
    float64 from the float32 inputs and the map rounded to float32 (as the engine does; this
    is what makes the 1e-5 map agreement meaningful, and costs little next to the box search);
  * `cv2.resize(INTER_LINEAR)` of the float32 map to the 224x224 frame;
  * normalisations `max` (`x / max`) and `minmax` (pytorch-grad-cam's `(x - min) / (1e-7 +
    max)` after subtracting the min); a map with max <= 0 or max == min is degenerate (no box,
    no point, energy 0), as in the engine;
  * wsolevaluation's box search, per norm and per threshold t = 0.00 .. 0.99: `cv2.threshold`
    then `cv2.findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)`; the largest contour by
    `cv2.contourArea` and its `cv2.boundingRect` -> BoxAcc (IoU >= 0.5) curve, MaxBoxAcc; all
    contours' rectangles -> MaxBoxAccV2 (IoU 0.3 / 0.5 / 0.7); the box at --threshold is the
    per-target result (boxes in edge coordinates [x, x + w), IoU with the best box of the
    class, as the engine). `--thresholding wsol` (default) is wsolevaluation's: the normalised
    map quantised to uint8 and `cv2.threshold(> int(t * max))`; `exact` thresholds `v >= t`
    on the float map (the engine's rule), used for the agreement check;
  * TorchRay's pointing game (argmax of the upsampled map, a hit when a pixel of a box of the
    class is within --tolerance px: du^2 + dv^2 < tol^2), the energy share of the positive
    mass inside the class's boxes, and the negative-evidence shares (other classes' boxes).

One thread: OMP/OPENBLAS/MKL_NUM_THREADS=1 are set before numpy is imported and
`cv2.setNumThreads(1)`. The HDF5 file is read with h5py in batches of --batch images (memory
flat in T); reading is timed and is part of the total, as it is of the engine's.

OUTDIR/summary.json: timings (`read_seconds`, `mu_seconds`, `compute_seconds`,
`total_seconds`, per target), counts and per-variant aggregates (boxacc, maxboxacc,
maxboxacc_v2, pointing, pointing_class_mean, energy, degenerate, evidence).
OUTDIR/targets.csv: one row per target and variant (the engine's targets.csv columns, less
`input`). --save-maps: OUTDIR/maps-VARIANT.npy, float32 [T, h, w], the feature-resolution maps.
--limit N: the first N targets only. Exit 0, 1 on bad input, 2 on bad usage.
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)

VARIANTS = ["gradcam", "gradcam-signed", "counterfactual", "gradcam-absgrad", "gradcam-centered",
            "activation", "gradient", "hirescam", "hirescam-signed", "layercam", "xgradcam",
            "gradcam++", "gradcam-elementwise", "eigencam"]
NORMS = ("max", "minmax")
NTHR = 100
THRESHOLDS = [i / 100.0 for i in range(NTHR)]
IOU_LEVELS = (0.3, 0.5, 0.7)
CSV_HEADER = ("target,image,class,variant,has_box,degenerate,"
              "x0_max,y0_max,x1_max,y1_max,iou_max,hit_max,"
              "x0_minmax,y0_minmax,x1_minmax,y1_minmax,iou_minmax,hit_minmax,"
              "point_x,point_y,point_hit,energy,"
              "other_area,neg_other,pos_other,neg_enrichment,pos_enrichment\n")


# ============================================================================ maps
def relu(x):
    return np.maximum(x, 0.0)


def eigencam(A):
    """A: (n, K, h, w) float32 activations of n images -> (n, h, w) float32 EigenCAM maps."""
    n, K, h, w = A.shape
    out = np.zeros((n, h * w), np.float32)
    for i in range(n):
        X = A[i].reshape(K, h * w).T.astype(np.float64)
        X = X - X.mean(axis=0)
        if not np.any(X):
            continue
        v = np.linalg.svd(X, full_matrices=True)[2][0, :]
        a = np.abs(v)
        if v[int(np.argmax(a >= (1.0 - 1e-9) * a.max()))] < 0:
            v = -v
        out[i] = relu(X @ v).astype(np.float32)
    return out.reshape(n, h, w)


def cams(names, A, G, mu, eig=None):
    """A, G: (B, K, h, w) float32 (A gathered per target); mu: (K,) float64 or None; eig:
    (B, h, w) the targets' images' EigenCAM maps (eigencam(), once per image) or None.
    -> {variant: (B, h, w) float32}."""
    B, K, h, w = A.shape
    A64 = A.reshape(B, K, h * w).astype(np.float64)
    G64 = G.reshape(B, K, h * w).astype(np.float64)
    out = {}

    def wsum(wk, X=A64):                          # sum_k w_k X^k: (B, K) x (B, K, hw)
        return np.matmul(wk[:, None, :], X)[:, 0, :]

    M = None
    if {"gradcam", "gradcam-signed", "counterfactual", "gradcam-centered"} & set(names):
        alpha = G64.mean(axis=2)
        M = wsum(alpha)
    GA = None
    if {"hirescam", "hirescam-signed", "xgradcam"} & set(names):
        GA = G64 * A64
    for v in names:
        if v == "gradcam":
            m = relu(M)
        elif v == "gradcam-signed":
            m = M
        elif v == "counterfactual":
            m = relu(-M)
        elif v == "gradcam-absgrad":
            m = relu(wsum(np.abs(G64).mean(axis=2)))
        elif v == "gradcam-centered":
            m = relu(M - (alpha @ mu)[:, None])
        elif v == "activation":
            m = relu(A64.sum(axis=1))
        elif v == "gradient":
            m = relu(G64.sum(axis=1))
        elif v == "hirescam":
            m = relu(GA.sum(axis=1))
        elif v == "hirescam-signed":
            m = GA.sum(axis=1)
        elif v == "layercam":
            m = relu((relu(G64) * A64).sum(axis=1))
        elif v == "xgradcam":
            den = A64.sum(axis=2) + 1e-7
            wk = np.where(den != 0, GA.sum(axis=2) / np.where(den != 0, den, 1.0), 0.0)
            m = relu(wsum(wk))
        elif v == "gradcam++":
            g2 = G64 * G64
            g3 = g2 * G64
            sa = A64.sum(axis=2)[:, :, None]
            a = np.where(G64 != 0, g2 / (2 * g2 + sa * g3 + 1e-6), 0.0)
            m = relu(wsum((a * relu(G64)).sum(axis=2)))
        elif v == "gradcam-elementwise":
            m = relu(relu(G64 * A64).sum(axis=1))
        elif v == "eigencam":
            m = eig.reshape(B, h * w)
        else:
            raise ValueError("unknown variant %r" % v)
        out[v] = m.astype(np.float32).reshape(B, h, w)
    return out


# ============================================================================ localization
def iou(rects, gt):
    """rects: (n, 4), gt: (g, 4) x0, y0, x1, y1 edge coordinates -> (n,) best IoU."""
    r, g = rects[:, None, :], gt[None, :, :]
    ix = np.minimum(r[..., 2], g[..., 2]) - np.maximum(r[..., 0], g[..., 0])
    iy = np.minimum(r[..., 3], g[..., 3]) - np.maximum(r[..., 1], g[..., 1])
    inter = np.maximum(ix, 0) * np.maximum(iy, 0)
    ar = (rects[:, 2] - rects[:, 0]) * (rects[:, 3] - rects[:, 1])
    ag = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    return (inter / (ar[:, None] + ag[None, :] - inter)).max(axis=1)


def box_search(v, gt, mode, thr_idx):
    """v: (H, W) float32 normalised map; gt: (g, 4) float64. -> (curve bits per threshold
    (NTHR,) uint8, box at thresholds[thr_idx] or None, its IoU).
    One OpenCV threshold + findContours per threshold (as wsolevaluation); the rectangles of
    all thresholds are then scored against the boxes in one vectorised IoU."""
    if mode == "wsol":
        img = (np.clip(v, 0.0, 1.0) * 255).astype(np.uint8)
        vmax = int(img.max())
    rects, start, big, tidx = [], [], [], []
    for i, t in enumerate(THRESHOLDS):
        if mode == "wsol":
            _, bw = cv2.threshold(img, int(t * vmax), 255, cv2.THRESH_BINARY)
        else:
            bw = (v >= t).view(np.uint8)
        contours = cv2.findContours(bw, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
        if not contours:
            continue
        tidx.append(i)
        start.append(len(rects))
        big.append(len(rects) + max(range(len(contours)),
                                    key=lambda j: cv2.contourArea(contours[j])))
        rects.extend(cv2.boundingRect(c) for c in contours)
    curve = np.zeros(NTHR, np.uint8)
    if not rects:
        return curve, None, 0.0
    R = np.array(rects, np.float64)
    R[:, 2:] += R[:, :2]
    ious = iou(R, gt)
    best = np.maximum.reduceat(ious, start)
    ib = ious[big]
    curve[tidx] = ((ib >= 0.5) * 1 | (best >= 0.3) * 2 | (best >= 0.5) * 4
                   | (best >= 0.7) * 8).astype(np.uint8)
    box, box_iou = None, 0.0
    if thr_idx in tidx:
        j = tidx.index(thr_idx)
        box, box_iou = R[big[j]].astype(int), float(ib[j])
    return curve, box, box_iou


def single_box(v, gt, mode, t):
    """The box at an off-grid threshold t (largest contour)."""
    if mode == "wsol":
        img = (np.clip(v, 0.0, 1.0) * 255).astype(np.uint8)
        _, bw = cv2.threshold(img, int(t * int(img.max())), 255, cv2.THRESH_BINARY)
    else:
        bw = (v >= t).view(np.uint8)
    contours = cv2.findContours(bw, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
    if not contours:
        return None, 0.0
    c = max(contours, key=cv2.contourArea)
    x, y, w, h = cv2.boundingRect(c)
    r = np.array([[x, y, x + w, y + h]], np.float64)
    return r[0].astype(int), float(iou(r, gt)[0]) if gt is not None else 0.0


def pixel_mask(boxes, H, W):
    """Pixels whose centre lies in one of boxes (n, 4), half-open. -> (H, W) bool."""
    m = np.zeros((H, W), bool)
    for x0, y0, x1, y1 in boxes:
        c0, c1 = max(0, math.ceil(x0 - 0.5)), min(W, math.ceil(x1 - 0.5))
        r0, r1 = max(0, math.ceil(y0 - 0.5)), min(H, math.ceil(y1 - 0.5))
        if c1 > c0 and r1 > r0:
            m[r0:r1, c0:c1] = True
    return m


def pointing(px, py, gt, W, H, tol):
    for x0, y0, x1, y1 in gt:
        c0, c1 = max(0, math.ceil(x0 - 0.5)), min(W, math.ceil(x1 - 0.5)) - 1
        r0, r1 = max(0, math.ceil(y0 - 0.5)), min(H, math.ceil(y1 - 0.5)) - 1
        if c1 < c0 or r1 < r0:
            continue
        du = max(c0 - px, 0, px - c1)
        dv = max(r0 - py, 0, py - r1)
        if du * du + dv * dv < tol * tol:
            return 1
    return 0


def localize(cam, H, W, gt, tmask, omask, a, thr_idx):
    """cam: (h, w) float32 -> one target's result dict."""
    m = cv2.resize(cam, (W, H), interpolation=cv2.INTER_LINEAR)
    mx, mn = float(m.max()), float(m.min())
    r = {"degenerate": int(mx <= 0 or mx == mn), "box": [None, None], "iou": [0.0, 0.0],
         "curve": [np.zeros(NTHR, np.uint8), np.zeros(NTHR, np.uint8)],
         "point": (-1, -1), "point_hit": 0, "energy": 0.0}
    pos = np.maximum(m, 0)
    neg = np.maximum(-m, 0)
    if gt is not None and not r["degenerate"]:
        for n, norm in enumerate(NORMS):
            if norm == "max":
                v = m / mx
            else:
                v = m - mn
                v /= 1e-7 + float(v.max())
            curve, box, bi = box_search(v, gt, a.thresholding, thr_idx)
            if thr_idx < 0:
                box, bi = single_box(v, gt, a.thresholding, a.threshold)
            r["curve"][n], r["box"][n], r["iou"][n] = curve, box, bi
        py, px = divmod(int(np.argmax(m)), W)
        r["point"] = (px, py)
        r["point_hit"] = pointing(px, py, gt, W, H, a.tolerance)
        r["energy"] = float(pos[tmask].sum() / pos.sum())
    # negative evidence: every target whose image has a box of another class
    r["ev"] = None
    if omask is not None:
        area = float(omask.mean())
        sn, sp = float(neg.sum()), float(pos.sum())
        no = float(neg[omask].sum()) / sn if sn > 0 else None
        po = float(pos[omask].sum()) / sp if sp > 0 else None
        r["ev"] = (area, no, po)
    return r


# ============================================================================ driver
def fmt(x):
    return "" if x is None else "%.9g" % x


def csv_row(t, img, cls, v, has_box, r):
    show = has_box and not r["degenerate"]
    f = [str(t), str(img), str(cls), v, str(int(has_box)), str(r["degenerate"])]
    for n in range(2):
        b = r["box"][n]
        if show and b is not None:
            f += [str(int(x)) for x in b]
        else:
            f += [""] * 4
        f += [fmt(r["iou"][n]) if has_box else "",
              str(int(r["iou"][n] >= 0.5)) if has_box else ""]
    if show:
        f += [str(r["point"][0]), str(r["point"][1]), str(r["point_hit"]), fmt(r["energy"])]
    elif has_box:
        f += ["", "", "0", fmt(0.0)]
    else:
        f += [""] * 4
    ev = r["ev"]
    if ev is None:
        f += [""] * 5
    else:
        area, no, po = ev
        f += [fmt(area), fmt(no), fmt(po), fmt(no / area if no is not None else None),
              fmt(po / area if po is not None else None)]
    return ",".join(f) + "\n"


class Agg:
    def __init__(self):
        self.n = 0
        self.hit = [0, 0]
        self.curve = np.zeros((2, NTHR, 4), np.int64)
        self.point = 0
        self.energy = 0.0
        self.degenerate = 0
        self.cls_hits = {}
        self.ev_neg, self.ev_pos = [], []

    def add(self, cls, has_box, r):
        if r["ev"] is not None:
            area, no, po = r["ev"]
            if no is not None:
                self.ev_neg.append((no, area))
            if po is not None:
                self.ev_pos.append((po, area))
        if not has_box:
            return
        self.n += 1
        self.degenerate += r["degenerate"]
        for n in range(2):
            self.hit[n] += int(r["iou"][n] >= 0.5)
            c = r["curve"][n]
            for b, bit in enumerate((1, 2, 4, 8)):
                self.curve[n, :, b] += (c & bit) != 0
        self.point += r["point_hit"]
        self.energy += r["energy"]
        h = self.cls_hits.setdefault(cls, [0, 0])
        h[0] += r["point_hit"]
        h[1] += 1

    def summary(self):
        n = max(self.n, 1)
        d = {"targets_scored": self.n, "degenerate": self.degenerate}
        for key in ("boxacc", "maxboxacc", "maxboxacc_threshold", "maxboxacc_v2"):
            d[key] = {}
        for i, norm in enumerate(NORMS):
            cur = self.curve[i] / n
            d["boxacc"][norm] = self.hit[i] / n
            d["maxboxacc"][norm] = float(cur[:, 0].max())
            d["maxboxacc_threshold"][norm] = THRESHOLDS[int(np.argmax(cur[:, 0]))]
            d["maxboxacc_v2"][norm] = float(np.mean([cur[:, b].max() for b in (1, 2, 3)]))
        d["pointing"] = self.point / n
        d["pointing_class_mean"] = (float(np.mean([h / c for h, c in self.cls_hits.values()]))
                                    if self.cls_hits else 0.0)
        d["energy"] = self.energy / n
        ev = {}
        for key, lst in (("neg", self.ev_neg), ("pos", self.ev_pos)):
            ev["eligible_" + key] = len(lst)
            share = float(np.mean([s for s, _ in lst])) if lst else 0.0
            area = float(np.mean([a for _, a in lst])) if lst else 0.0
            ev[key + "_other"], ev[key + "_area"] = share, area
            ev[key + "_enrichment"] = share / area if area > 0 else 0.0
        d["evidence"] = ev
        return d


def run(a):
    t_start = time.perf_counter()
    t_read = t_mu = 0.0
    f = h5py.File(a.input, "r")
    dA, dG = f["activations"], f["targets/gradients"]
    N, K, h, w = dA.shape
    t_img = f["targets/image"][()].astype(np.int64)
    t_cls = f["targets/class"][()].astype(np.int64)
    sizes = f["images/size"][()].astype(np.int64)
    b_img = f["boxes/image"][()].astype(np.int64)
    b_cls = f["boxes/class"][()].astype(np.int64)
    b_xy = f["boxes/xyxy"][()].astype(np.float64)
    T = len(t_img) if a.limit is None else min(a.limit, len(t_img))
    n_end = int(t_img[T - 1]) + 1

    mu = None
    if "gradcam-centered" in a.variants:          # file-wide channel means: a pass over A
        t = time.perf_counter()
        acc = np.zeros(K)
        for n0 in range(0, N, a.batch):
            acc += dA[n0:n0 + a.batch].astype(np.float64).sum(axis=(0, 2, 3))
        mu = acc / (N * h * w)
        t_mu = time.perf_counter() - t

    thr_idx = round(a.threshold * 100)
    if abs(a.threshold * 100 - thr_idx) > 1e-9 or THRESHOLDS[thr_idx] != a.threshold:
        thr_idx = -1
    aggs = {v: Agg() for v in a.variants}
    maps = {v: np.zeros((T, h, w), np.float32) for v in a.variants} if a.save_maps else None
    os.makedirs(a.out, exist_ok=True)
    csv = open(os.path.join(a.out, "targets.csv"), "w")
    csv.write(CSV_HEADER)
    rows = [None] * len(a.variants)
    ti = 0
    for n0 in range(0, n_end, a.batch):
        n1 = min(n_end, n0 + a.batch)
        t1 = ti
        while t1 < T and t_img[t1] < n1:
            t1 += 1
        if t1 == ti:
            continue
        t = time.perf_counter()
        A = dA[n0:n1]
        G = dG[ti:t1]
        t_read += time.perf_counter() - t
        At = A[t_img[ti:t1] - n0]
        eig = None
        if "eigencam" in a.variants:            # once per image with targets
            imgs = np.unique(t_img[ti:t1]) - n0
            em = np.zeros((n1 - n0,) + A.shape[2:], np.float32)
            em[imgs] = eigencam(A[imgs])
            eig = em[t_img[ti:t1] - n0]
        cm = cams(a.variants, At, G, mu, eig)
        for k in range(t1 - ti):
            tt = ti + k
            n, c = int(t_img[tt]), int(t_cls[tt])
            H, W = int(sizes[n, 0]), int(sizes[n, 1])
            sel = b_img == n
            bx = b_xy[sel].copy()
            bx[:, [0, 2]] = np.clip(bx[:, [0, 2]], 0, W)
            bx[:, [1, 3]] = np.clip(bx[:, [1, 3]], 0, H)
            bc = b_cls[sel]
            gt = bx[bc == c] if np.any(bc == c) else None
            tmask = pixel_mask(gt, H, W) if gt is not None else None
            omask = None
            if np.any(bc != c):
                om = pixel_mask(bx[bc != c], H, W)
                if tmask is not None:
                    om &= ~tmask
                omask = om if om.any() else None
            for j, v in enumerate(a.variants):
                r = localize(cm[v][k], H, W, gt, tmask, omask, a, thr_idx)
                aggs[v].add(c, gt is not None, r)
                rows[j] = csv_row(tt, n, c, v, gt is not None, r)
            csv.writelines(rows)
            if maps is not None:
                for v in a.variants:
                    maps[v][tt] = cm[v][k]
        ti = t1
    csv.close()
    f.close()
    total = time.perf_counter() - t_start
    if maps is not None:
        for v in a.variants:
            np.save(os.path.join(a.out, "maps-%s.npy" % v), maps[v])
    s = {"schema": "gradcam-bench-baseline/1", "input": a.input, "targets": T,
         "targets_in_file": int(len(t_img)), "images": n_end, "channels": K,
         "height": h, "width": w, "variants": a.variants, "thresholding": a.thresholding,
         "threshold": a.threshold, "tolerance": a.tolerance, "threads": 1,
         "read_seconds": t_read, "mu_seconds": t_mu,
         "compute_seconds": total - t_read - t_mu, "total_seconds": total,
         "seconds_per_target": total / T,
         "results": {v: aggs[v].summary() for v in a.variants}}
    with open(os.path.join(a.out, "summary.json"), "w") as fo:
        json.dump(s, fo, indent=1)
    return s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--variants", default="gradcam")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--threshold", type=float, default=0.15)
    ap.add_argument("--tolerance", type=float, default=15.0)
    ap.add_argument("--thresholding", choices=("wsol", "exact"), default="wsol")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--save-maps", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    a.variants = VARIANTS if a.variants == "all" else a.variants.split(",")
    bad = [v for v in a.variants if v not in VARIANTS]
    if bad:
        ap.error("unknown variant(s) %s (known: %s)" % (",".join(bad), ",".join(VARIANTS)))
    if not 0 <= a.threshold < 1 or a.batch < 1 or (a.limit is not None and a.limit < 1):
        ap.error("need 0 <= threshold < 1, batch >= 1, limit >= 1")
    try:
        s = run(a)
    except (OSError, KeyError) as e:
        print("bench_baseline.py: %s: %s" % (a.input, e), file=sys.stderr)
        return 1
    if not a.quiet:
        print("baseline %s: %d targets, %s: %.3f s (read %.3f, mu %.3f), %.2f ms/target"
              % (a.input, s["targets"], ",".join(a.variants), s["total_seconds"],
                 s["read_seconds"], s["mu_seconds"], 1e3 * s["seconds_per_target"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
