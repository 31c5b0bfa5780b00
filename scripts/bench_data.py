#!/usr/bin/python3
"""ImageNet-shaped schema-v1 inputs for the benchmark (`make bench`).

    bench_data.py OUT.h5 --targets T [--seed 1] [--channels 512] [--fh 14] [--fw 14]
                  [--frame 224] [--classes 20] [--force] [--quiet]

Writes a gradcam-study/1 file (data/SCHEMA.md) with T targets: K=512 channels of 14x14,
224x224 frames, 1 to 3 targets per image (distinct classes out of C=20), float32 A and G,
one image (one target) per chunk, no compression, no /images/pixels. About 0.4 MB of A per
image and 0.4 MB of G per target: 4,000 targets (~2,000 images) are ~2.4 GB.

The data is built like a real network's so that the maps have objects, not white noise:
  * every image has 1-3 target classes, each with 1-2 boxes (integer pixel edges, 15-70% of
    the frame per side), and with probability 0.3 one more present class that is not a target
    (boxes of other classes);
  * the channels are split into C class groups (channel k belongs to class k % 25 when
    that is < C; the rest are generic); A = ReLU(smooth noise + white noise + a Gaussian
    bump at every box, in the channels of the box's class (amplitude 1..3) and, weakly, in
    the generic ones, - 0.25): post-ReLU, many exact zeros;
  * the gradients of a target of class c: a per-channel mean that is positive in c's
    channels, slightly negative in the other classes' channels (negative alphas) and small in
    the generic ones, times (1 + a bump at c's boxes), plus white noise, all times 0.01.

Deterministic from --seed (numpy default_rng; the same arguments give the same bytes). The
file is generated in blocks of images, so memory stays flat in T. The parameters are stored
in the root attribute `bench_params` (JSON); an existing OUT.h5 with the same parameters is
kept as is (use --force to rewrite). Written to OUT.h5.tmp-PID and renamed into place.
"""

import argparse
import json
import os
import sys
import time

import h5py
import numpy as np

GEN_VERSION = 1       # bump when the generator's output changes
BLOCK = 128           # images per generation block


def params_of(a):
    return {"generator": "bench_data.py", "version": GEN_VERSION, "targets": a.targets,
            "seed": a.seed, "channels": a.channels, "fh": a.fh, "fw": a.fw,
            "frame": a.frame, "classes": a.classes}


def existing_params(path):
    """The bench_params of an existing, complete file, or None."""
    try:
        with h5py.File(path, "r") as f:
            return json.loads(f.attrs["bench_params"])
    except Exception:
        return None


def layout(rng, T, C, S):
    """Images, targets and boxes. -> per-image lists of (class, is_target, boxes)."""
    images = []
    t = 0
    while t < T:
        ntgt = int(min(rng.integers(1, 4), T - t))
        extra = 1 if rng.random() < 0.3 else 0
        cls = rng.choice(C, ntgt + extra, replace=False)
        objs = []
        for i, c in enumerate(cls):
            boxes = []
            for _ in range(int(rng.integers(1, 3))):
                bw = int(rng.integers(int(0.15 * S), int(0.7 * S) + 1))
                bh = int(rng.integers(int(0.15 * S), int(0.7 * S) + 1))
                x0 = int(rng.integers(0, S - bw + 1))
                y0 = int(rng.integers(0, S - bh + 1))
                boxes.append((x0, y0, x0 + bw, y0 + bh))
            objs.append((int(c), i < ntgt, boxes))
        # targets in class order within the image (any order is valid; this one is tidy)
        objs.sort(key=lambda o: (not o[1], o[0]))
        images.append(objs)
        t += ntgt
    return images


def interp_matrix(n_out, n_in):
    """(n_out, n_in) bilinear interpolation weights, half-pixel centres, clamped."""
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        s = min(max((o + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1.0)
        i0 = int(np.floor(s))
        i1 = min(i0 + 1, n_in - 1)
        f = s - i0
        m[o, i0] += 1 - f
        m[o, i1] += f
    return m


def generate(path, p, quiet=False):
    T, K, h, w, S, C = p["targets"], p["channels"], p["fh"], p["fw"], p["frame"], p["classes"]
    rng = np.random.default_rng(p["seed"])
    images = layout(rng, T, C, S)
    N = len(images)
    group = np.arange(K) % 25
    group = np.where(group < C, group, -1)           # -1: generic channel
    generic = group < 0

    t_img, t_cls, b_img, b_cls, b_xyxy = [], [], [], [], []
    labels = np.zeros((N, C), np.uint8)
    for n, objs in enumerate(images):
        for c, is_t, boxes in objs:
            labels[n, c] = 1
            if is_t:
                t_img.append(n)
                t_cls.append(c)
        for c, _, boxes in sorted(objs, key=lambda o: o[0]):
            for bx in boxes:
                b_img.append(n)
                b_cls.append(c)
                b_xyxy.append(bx)
    t_img = np.array(t_img, np.int32)
    t_cls = np.array(t_cls, np.int32)
    assert len(t_img) == T
    scores = (rng.normal(0, 1, (N, C)) + 3.0 * labels).astype(np.float32)

    ry, rx = interp_matrix(h, 4), interp_matrix(w, 4)
    ii = np.arange(h, dtype=np.float64)[:, None]
    jj = np.arange(w, dtype=np.float64)[None, :]

    def bump(box):
        x0, y0, x1, y1 = box
        cx = 0.5 * (x0 + x1) * w / S - 0.5
        cy = 0.5 * (y0 + y1) * h / S - 0.5
        sx = max(0.7, (x1 - x0) * w / S / 3.0)
        sy = max(0.7, (y1 - y0) * h / S / 3.0)
        return np.exp(-((jj - cx) ** 2 / (2 * sx * sx) + (ii - cy) ** 2 / (2 * sy * sy)))

    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = "gradcam-study/1"
            f.attrs["model"] = "bench-synthetic-seed%d" % p["seed"]
            f.attrs["layer"] = "synthetic.conv5_3"
            f.attrs["activation"] = "post-relu"
            f.attrs["dataset"] = "bench-imagenet-shaped"
            f.create_dataset("classes", data=np.array(["class%02d" % c for c in range(C)],
                                                      dtype=object),
                             dtype=h5py.string_dtype("utf-8"))
            gi = f.create_group("images")
            gi.create_dataset("size", data=np.tile(np.array([[S, S]], np.int32), (N, 1)))
            gi.create_dataset("labels", data=labels)
            gi.create_dataset("scores", data=scores)
            gt = f.create_group("targets")
            gt.create_dataset("image", data=t_img)
            gt.create_dataset("class", data=t_cls)
            gb = f.create_group("boxes")
            gb.create_dataset("image", data=np.array(b_img, np.int32))
            gb.create_dataset("class", data=np.array(b_cls, np.int32))
            gb.create_dataset("xyxy", data=np.array(b_xyxy, np.float32).reshape(-1, 4))
            gb.create_dataset("difficult", data=np.zeros(len(b_img), np.uint8))
            dA = f.create_dataset("activations", (N, K, h, w), np.float32, chunks=(1, K, h, w))
            dG = gt.create_dataset("gradients", (T, K, h, w), np.float32, chunks=(1, K, h, w))

            t0 = 0
            for n0 in range(0, N, BLOCK):
                n1 = min(N, n0 + BLOCK)
                nb = n1 - n0
                # smooth noise: 4x4 grid per channel, bilinearly upsampled to h x w
                z = rng.standard_normal((nb, K, 4, 4), dtype=np.float32)
                A = np.einsum("ya,nkab,xb->nkyx", ry, z, rx, optimize=True).astype(np.float32)
                A *= 0.35
                A += 0.15 * rng.standard_normal((nb, K, h, w), dtype=np.float32)
                A += 0.2 * rng.standard_normal((nb, K, 1, 1), dtype=np.float32)
                tb = [(n, c, bx) for n in range(n0, n1) for c, is_t, bx in images[n] if is_t]
                nt = len(tb)
                G = 0.8 * rng.standard_normal((nt, K, h, w), dtype=np.float32)
                for n in range(n0, n1):
                    for c, _, boxes in images[n]:
                        ch = np.nonzero(group == c)[0]
                        for bx in boxes:
                            b = bump(bx).astype(np.float32)
                            amp = rng.uniform(1.0, 3.0, len(ch)).astype(np.float32)
                            A[n - n0, ch] += amp[:, None, None] * b
                            A[n - n0, generic] += 0.3 * b
                np.maximum(A - 0.25, 0.0, out=A)
                for i, (n, c, boxes) in enumerate(tb):
                    mean = np.where(group == c, rng.uniform(0.5, 1.5, K),
                                    np.where(generic, rng.normal(0, 0.2, K),
                                             -rng.uniform(0.0, 0.12, K))).astype(np.float32)
                    spot = np.zeros((h, w), np.float32)
                    for bx in boxes:
                        spot += bump(bx).astype(np.float32)
                    G[i] += mean[:, None, None] * (1.0 + spot)[None]
                G *= 0.01
                dA[n0:n1] = A
                dG[t0:t0 + nt] = G
                t0 += nt
            assert t0 == T
            f.attrs["bench_params"] = json.dumps(p, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return N, len(b_img)


def ensure(path, targets, seed=1, channels=512, fh=14, fw=14, frame=224, classes=20,
           force=False, quiet=False):
    """Make `path` unless it exists with the same parameters. -> (generated, seconds)."""
    a = argparse.Namespace(targets=targets, seed=seed, channels=channels, fh=fh, fw=fw,
                           frame=frame, classes=classes)
    p = params_of(a)
    if not force and os.path.exists(path) and existing_params(path) == p:
        if not quiet:
            print("%s: up to date (%d targets, seed %d)" % (path, targets, seed))
        return False, 0.0
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    t = time.perf_counter()
    N, B = generate(path, p, quiet)
    dt = time.perf_counter() - t
    if not quiet:
        print("%s: %d targets, %d images, %d boxes, K=%d %dx%d, frame %d, %.1f MB, %.1f s"
              % (path, targets, N, B, channels, fh, fw, frame, os.path.getsize(path) / 1e6, dt))
    return True, dt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--targets", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--channels", type=int, default=512)
    ap.add_argument("--fh", type=int, default=14)
    ap.add_argument("--fw", type=int, default=14)
    ap.add_argument("--frame", type=int, default=224)
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.targets < 1 or a.channels < 1 or a.fh < 1 or a.fw < 1 or a.frame < 16 \
            or not 3 <= a.classes <= 25:
        ap.error("need targets, channels, fh, fw >= 1, frame >= 16, 3 <= classes <= 25")
    ensure(a.out, a.targets, a.seed, a.channels, a.fh, a.fw, a.frame, a.classes, a.force,
           a.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
