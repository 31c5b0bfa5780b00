#!/usr/bin/python3
"""Random but structured gradcam-study schema-v1 input files.

    make_fixture.py OUT.h5 [--seed 1] [--images 20] [--channels 64] [--fh 12] [--fw 12]
                    [--classes 5] [--height 96] [--width 80] [--dtype f32|f16]
                    [--activation post-relu|pre-activation] [--saliency] [--pixels]
                    [--targets-per-image 1-3]

Everything is drawn from numpy.random.default_rng(seed), so the same arguments give the same
file.  Structure (so that the metrics are not trivial):

  * each image has 1..3 distinct present classes (labels), one target per present class, in
    class order (so /targets/image is non-decreasing);
  * each present class has 1 or 2 boxes (integer or fractional edges, some touching the frame,
    a few partly outside it so the engine has to clip them), except in about one image in eight
    where one present class has a target but no box (targets_without_box > 0);
  * the K channels are split among the classes (plus a group of unowned channels); A has a
    Gaussian bump at the feature-map location of every box in the channels of the box's class,
    plus noise; post-relu: ReLU(...) (many exact zeros), pre-activation: signed;
  * the gradients of a target of class c are positive-mean in c's channels, negative-mean in the
    other classes' channels, plus noise; one target has all-zero gradients;
  * one image (the last) has all-zero activations;
  * one chunk per image (per target) for the big datasets.

Box edges are kept away from every pixel centre (c + 0.5) and every feature-cell centre
((j + 0.5) W / w), so that the "is a centre inside [x0, x1)" convention never matters.
"""

import argparse
import sys

import h5py
import numpy as np


def parse_range(s):
    if "-" in s:
        a, b = s.split("-", 1)
        lo, hi = int(a), int(b)
    else:
        lo = hi = int(s)
    if lo < 1 or hi < lo:
        raise argparse.ArgumentTypeError("bad range %r (want LO-HI, 1 <= LO <= HI)" % s)
    return lo, hi


def safe_edge(e, size, fsize):
    """Move edge e (in 1/8 pixel steps: e, e+1/8, e-1/8, e+2/8, ...) until it is at least 1/16 px
    away from every pixel centre and every feature-cell centre of its axis."""
    centres = np.concatenate([np.arange(size) + 0.5, (np.arange(fsize) + 0.5) * size / fsize])
    for k in range(64):
        cand = e + ((k + 1) // 2) * 0.125 * (1 if k % 2 else -1)
        if 0.0 < cand < size and np.min(np.abs(centres - cand)) >= 1.0 / 16:
            return float(cand)
    return float(e)


def make_box(rng, H, W, h, w, mode):
    """One box (x0, y0, x1, y1) float, mode: 'in', 'touch', 'out'."""
    while True:
        bw = rng.uniform(0.15, 0.5) * W
        bh = rng.uniform(0.15, 0.5) * H
        x0 = rng.uniform(0, W - bw)
        y0 = rng.uniform(0, H - bh)
        x1, y1 = x0 + bw, y0 + bh
        if mode == "touch":
            side = rng.integers(4)
            if side == 0:
                x0 = 0.0
            elif side == 1:
                y0 = 0.0
            elif side == 2:
                x1 = float(W)
            else:
                y1 = float(H)
        elif mode == "out":
            side = rng.integers(4)
            d = rng.uniform(2, 0.3 * min(bw, bh) + 2)
            if side == 0:
                x0 = -d
            elif side == 1:
                y0 = -d
            elif side == 2:
                x1 = W + d
            else:
                y1 = H + d
        edges = []
        frac = rng.random() < 0.5  # fractional edges (multiples of 1/8) or integer edges
        for v, size, fsize in ((x0, W, w), (y0, H, h), (x1, W, w), (y1, H, h)):
            if v in (0.0, float(size)) or v < 0 or v > size:
                q = np.round(v * 8) / 8 if frac else float(np.round(v))
                edges.append(q)
                continue
            q = np.round(v * 8) / 8 if frac else float(np.round(v))
            q = min(max(q, 0.125), size - 0.125)
            edges.append(safe_edge(q, size, fsize))
        bx0, by0, bx1, by1 = edges
        if bx1 - bx0 >= 4 and by1 - by0 >= 4 and min(bx1, W) - max(bx0, 0) >= 4 \
                and min(by1, H) - max(by0, 0) >= 4:
            return bx0, by0, bx1, by1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--fh", type=int, default=12)
    ap.add_argument("--fw", type=int, default=12)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=80)
    ap.add_argument("--dtype", choices=("f32", "f16"), default="f32")
    ap.add_argument("--activation", choices=("post-relu", "pre-activation"), default="post-relu")
    ap.add_argument("--saliency", action="store_true")
    ap.add_argument("--pixels", action="store_true")
    ap.add_argument("--names", action="store_true",
                    help="write /images/name (awkward names: spaces, a comma, a quote, UTF-8)")
    ap.add_argument("--export-counts", action="store_true",
                    help="write the exporter's count attributes (boxes_dropped 3, ... 1..6)")
    ap.add_argument("--targets-per-image", type=parse_range, default=(1, 3))
    a = ap.parse_args(argv)

    N, K, h, w, C, H, W = a.images, a.channels, a.fh, a.fw, a.classes, a.height, a.width
    if N < 2 or K < 1 or h < 1 or w < 1 or C < 2 or H < 8 or W < 8:
        ap.error("need images >= 2, classes >= 2, channels, fh, fw >= 1, height, width >= 8")
    lo, hi = a.targets_per_image
    lo, hi = min(lo, C), min(hi, C)
    rng = np.random.default_rng(a.seed)

    # ---- labels, targets, boxes -------------------------------------------------------------
    labels = np.zeros((N, C), np.uint8)
    present = []
    for n in range(N):
        cnt = int(rng.integers(lo, hi + 1))
        cls = np.sort(rng.choice(C, cnt, replace=False))
        labels[n, cls] = 1
        present.append([int(c) for c in cls])
    # images with a class that has a target but no box (never the all-zero last image)
    nobox = {}
    n_nobox = max(1, N // 8)
    for n in rng.choice(N - 1, min(n_nobox, N - 1), replace=False):
        cl = present[n]
        nobox[int(n)] = cl[-1] if len(cl) > 1 else cl[0]
    # boxes partly outside the frame
    n_out = max(1, N // 10)
    out_imgs = set(int(x) for x in rng.choice(N, min(n_out, N), replace=False))

    t_img, t_cls = [], []
    b_img, b_cls, b_xyxy, b_diff = [], [], [], []
    for n in range(N):
        first_out = n in out_imgs
        for c in present[n]:
            t_img.append(n)
            t_cls.append(c)
            if nobox.get(n) == c:
                continue
            for _ in range(int(rng.integers(1, 3))):
                if first_out:
                    mode, first_out = "out", False
                else:
                    mode = "touch" if rng.random() < 0.15 else "in"
                b_img.append(n)
                b_cls.append(c)
                b_xyxy.append(make_box(rng, H, W, h, w, mode))
                b_diff.append(1 if rng.random() < 0.1 else 0)
    T, B = len(t_img), len(b_img)
    t_img = np.array(t_img, np.int32)
    t_cls = np.array(t_cls, np.int32)
    b_img = np.array(b_img, np.int32)
    b_cls = np.array(b_cls, np.int32)
    b_xyxy = np.array(b_xyxy, np.float32).reshape(B, 4)
    b_diff = np.array(b_diff, np.uint8)

    # ---- activations ------------------------------------------------------------------------
    group = (np.arange(K) * (C + 1)) // K          # channel k belongs to class group[k]; C = unowned
    ii, jj = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                         indexing="ij")
    Araw = rng.normal(0.0, 0.35, size=(N, K, h, w))
    Araw += rng.normal(0.0, 0.2, size=(N, K, 1, 1))            # per-channel offsets
    for b in range(B):
        n, c = b_img[b], b_cls[b]
        x0, y0, x1, y1 = [float(v) for v in b_xyxy[b]]
        x0, x1 = max(x0, 0.0), min(x1, float(W))
        y0, y1 = max(y0, 0.0), min(y1, float(H))
        cx = 0.5 * (x0 + x1) * w / W - 0.5
        cy = 0.5 * (y0 + y1) * h / H - 0.5
        sx = max(0.6, (x1 - x0) * w / W / 3.0)
        sy = max(0.6, (y1 - y0) * h / H / 3.0)
        bump = np.exp(-((jj - cx) ** 2 / (2 * sx * sx) + (ii - cy) ** 2 / (2 * sy * sy)))
        ch = np.nonzero(group == c)[0]
        amp = rng.uniform(1.0, 3.0, size=len(ch))
        Araw[n, ch] += amp[:, None, None] * bump
    if a.activation == "post-relu":
        A = np.maximum(Araw - 0.25, 0.0)
    else:
        A = Araw - 0.3
    A[N - 1] = 0.0                                             # one all-zero image

    # ---- gradients --------------------------------------------------------------------------
    G = np.empty((T, K, h, w))
    for t in range(T):
        c = t_cls[t]
        mean = np.where(group == c, rng.uniform(0.5, 1.5, K),
                        np.where(group == C, rng.normal(0, 0.2, K), -rng.uniform(0.2, 0.8, K)))
        G[t] = 0.01 * (mean[:, None, None] + rng.normal(0.0, 0.8, size=(K, h, w)))
    # one all-zero-gradient target: a target with a box, not in the all-zero image
    has_box = set(zip(b_img.tolist(), b_cls.tolist()))
    cands = [t for t in range(T) if (int(t_img[t]), int(t_cls[t])) in has_box and t_img[t] != N - 1]
    zero_t = int(cands[len(cands) // 2]) if cands else 0
    G[zero_t] = 0.0

    fdt = np.float32 if a.dtype == "f32" else np.float16
    A_out = A.astype(np.float32).astype(fdt)
    G_out = G.astype(np.float32).astype(fdt)

    # ---- scores, pixels, saliency -----------------------------------------------------------
    scores = (rng.normal(0, 1, (N, C)) + 3.0 * labels).astype(np.float32)

    with h5py.File(a.out, "w") as f:
        f.attrs["schema"] = "gradcam-study/1"
        f.attrs["model"] = "fixture-seed%d" % a.seed
        f.attrs["layer"] = "synthetic.layer4"
        f.attrs["activation"] = a.activation
        f.attrs["dataset"] = "make_fixture"
        f.create_dataset("classes", data=np.array(["class%d" % c for c in range(C)], dtype=object),
                         dtype=h5py.string_dtype("utf-8"))
        gi = f.create_group("images")
        if a.names:
            names = ["img %d, \"q\" \u00e9t\u00e9.jpg" % n if n % 3 == 0 else "img%03d.png" % n
                     for n in range(N)]
            gi.create_dataset("name", data=np.array(names, dtype=h5py.string_dtype()))
        if a.export_counts:
            for k, name in enumerate(("boxes_dropped", "boxes_clipped", "boxes_inverted",
                                      "boxes_outside_image", "objects_unknown_class",
                                      "images_skipped")):
                f.attrs[name] = np.int64(k + 1)
        gi.create_dataset("size", data=np.tile(np.array([[H, W]], np.int32), (N, 1)))
        gi.create_dataset("labels", data=labels)
        gi.create_dataset("scores", data=scores)
        if a.pixels:
            pix = rng.integers(0, 60, size=(N, H, W, 3)).astype(np.uint8)
            yy, xx = np.mgrid[0:H, 0:W] + 0.5
            for b in range(B):
                x0, y0, x1, y1 = b_xyxy[b]
                inside = (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
                pix[b_img[b]][inside, b_cls[b] % 3] = 200
            gi.create_dataset("pixels", data=pix, chunks=(1, H, W, 3))
        f.create_dataset("activations", data=A_out, chunks=(1, K, h, w))
        gt = f.create_group("targets")
        gt.create_dataset("image", data=t_img)
        gt.create_dataset("class", data=t_cls)
        gt.create_dataset("gradients", data=G_out, chunks=(1, K, h, w))
        if a.saliency:
            sal = rng.normal(0.0, 0.1, size=(T, H, W))
            yy, xx = np.mgrid[0:H, 0:W] + 0.5
            for t in range(T):
                sel = (b_img == t_img[t]) & (b_cls == t_cls[t])
                for b in np.nonzero(sel)[0]:
                    x0, y0, x1, y1 = [float(v) for v in b_xyxy[b]]
                    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
                    s = max(2.0, 0.25 * min(x1 - x0, y1 - y0))
                    sal[t] += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
            sal[zero_t] = 0.0
            gt.create_dataset("saliency", data=sal.astype(np.float32), chunks=(1, H, W))
        gb = f.create_group("boxes")
        gb.create_dataset("image", data=b_img)
        gb.create_dataset("class", data=b_cls)
        gb.create_dataset("xyxy", data=b_xyxy)
        gb.create_dataset("difficult", data=b_diff)

    clipped = int(np.sum((b_xyxy[:, 0] < 0) | (b_xyxy[:, 1] < 0) | (b_xyxy[:, 2] > W)
                         | (b_xyxy[:, 3] > H)))
    nobox_t = sum(1 for t in range(T) if (int(t_img[t]), int(t_cls[t])) not in has_box)
    print("%s: seed %d, %d images, %d classes, K=%d %dx%d (%s, %s), frame %dx%d, %d targets "
          "(%d without box, zero-gradient target %d), %d boxes (%d clipped, %d difficult), "
          "all-zero image %d%s%s"
          % (a.out, a.seed, N, C, K, h, w, a.dtype, a.activation, H, W, T, nobox_t, zero_t, B,
             clipped, int(b_diff.sum()), N - 1, ", saliency" if a.saliency else "",
             ", pixels" if a.pixels else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
