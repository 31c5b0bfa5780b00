#!/usr/bin/python3
"""causal_fixture.py: a curves file (gradcam-study-curves/1) for an input, with answers known by
construction, and broken copies of it.

usage: causal_fixture.py IN.h5 CURVES.h5 [--expected EXP.json] [--bad-dir DIR] [--steps S]

IN.h5 is a schema-v1 input (tests/make_fixture.py). The curves are not a network's: they are
planted so that every statistic of summary.json's `causal` block has a known value.

  * n = h*w cells, S steps (default 4, or n if smaller), k_s = (s n + S//2) // S; orders gradcam,
    hirescam, random; references zero, mu.
  * masses (the engine's, recomputed here in float64 from A and G): mg = sum_k alpha_k sum_ij A,
    mh = sum_kij G A; mg_mu = mg - hw sum_k alpha_k mu_k, mh_mu = mh - sum_k (sum_ij G_k) mu_k.
  * y_orig = 0.5 + 2 mg; y_ref[zero] = 0.5 (so y_orig - y_ref = 2 mg: completeness r = 1,
    slope = 2, intervals [1, 1] and [2, 2]); y_ref[mu] = y_orig - 3 mg_mu (slope 3, r = 1).
  * scale_r = median |y_orig - y_ref_r| (recomputed here); every curve point is
    y_ref + scale_r * g(x_s) with g = c_o * v_t * (1 - x) (deletion) or c_o * v_t * x (insertion),
    c = 1, 0.5, 0.8 for gradcam, hirescam, random, v_t = 1 + 0.5 * ((t % 3) - 1). So the
    normalised curve is exactly g and its trapezoid AUC is c_o * v_t / 2 (g is linear in x).
    Mean AUC = c_o * mean(v) / 2; best deletion = hirescam, best insertion = gradcam; paired
    gradcam - b = (1 - c_b) mean(v) / 2.
  * claim: n_neg = t % 4 (eligible when > 0), n_others = t % 3 (others eligible also > 0);
    target: y_neg = y_orig - 1 - 0.1 r, y_rand = y_orig - 0.25; others: (2, 1.5, 1.75). So
    target_neg = -1 - 0.1 r, target_random = -0.25, others_neg = -0.5, others_random = -0.25, and
    every interval is degenerate at the difference.

--expected writes those answers as JSON (hirescam's completeness r and slope from numpy);
--bad-dir writes broken copies, one problem each, and DIR/list.tsv: FILE<TAB>DATASET<TAB>pattern
expected in the engine's one-line refusal.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import h5py
import numpy as np

ORDERS = ["gradcam", "hirescam", "random"]
C_DEL = {"gradcam": 1.0, "hirescam": 0.5, "random": 0.8}


def masses(path):
    with h5py.File(path, "r") as f:
        A = f["activations"][()].astype(np.float32).astype(np.float64)
        G = f["targets/gradients"][()].astype(np.float32).astype(np.float64)
        timg = f["targets/image"][()].astype(np.int64)
        tcls = f["targets/class"][()].astype(np.int64)
    N, K, h, w = A.shape
    mu = A.reshape(N, K, -1).sum(axis=2).sum(axis=0) / (N * h * w)
    out = np.zeros((len(timg), 4))
    for t, i in enumerate(timg):
        a, g = A[i].reshape(K, -1), G[t].reshape(K, -1)
        alpha = g.mean(axis=1)
        sa, sg = a.sum(axis=1), g.sum(axis=1)
        mg, mh = float((alpha * sa).sum()), float((g * a).sum())
        out[t] = [mg, mg - h * w * float((alpha * mu).sum()), mh, mh - float((sg * mu).sum())]
    return out, timg, tcls, h * w, N


def fit(x, y):
    x, y = np.asarray(x), np.asarray(y)
    cxy = ((x - x.mean()) * (y - y.mean())).sum()
    vx, vy = ((x - x.mean()) ** 2).sum(), ((y - y.mean()) ** 2).sum()
    return float(cxy / np.sqrt(vx * vy)), float(cxy / vx)


def build(inp, steps):
    m, timg, tcls, n, N = masses(inp)
    T = len(timg)
    S = min(steps, n)
    cells = np.array([(s * n + S // 2) // S for s in range(S + 1)], dtype=np.int32)
    x = cells / n
    y_orig = 0.5 + 2 * m[:, 0]
    y_ref = np.stack([np.full(T, 0.5), y_orig - 3 * m[:, 1]])
    scale = np.array([np.median(np.abs(y_orig - y_ref[r])) for r in range(2)])
    v = 1 + 0.5 * ((np.arange(T) % 3) - 1)
    dele = np.zeros((2, 3, T, S + 1))
    ins = np.zeros((2, 3, T, S + 1))
    for r in range(2):
        for o, name in enumerate(ORDERS):
            c = C_DEL[name]
            dele[r, o] = y_ref[r][:, None] + scale[r] * c * v[:, None] * (1 - x)[None, :]
            ins[r, o] = y_ref[r][:, None] + scale[r] * c * v[:, None] * x[None, :]
    n_neg = (np.arange(T) % 4).astype(np.int32)
    n_others = (np.arange(T) % 3).astype(np.int32)
    ctarget = np.zeros((2, T, 2))
    cothers = np.zeros((2, T, 3))
    for r in range(2):
        ctarget[r, :, 0] = y_orig - 1 - 0.1 * r
        ctarget[r, :, 1] = y_orig - 0.25
        cothers[r] = [2.0, 1.5, 1.75]
    sha = hashlib.sha256(open(inp, "rb").read()).hexdigest()
    d = dict(sha=sha, cells=cells, timg=timg.astype(np.int32), tcls=tcls.astype(np.int32),
             y_orig=y_orig, y_ref=y_ref, dele=dele, ins=ins, n_neg=n_neg, n_others=n_others,
             ctarget=ctarget, cothers=cothers, refs=["zero", "mu"], orders=ORDERS)
    mv = float(v.mean())
    el = int((n_neg > 0).sum())
    elo = int(((n_neg > 0) & (n_others > 0)).sum())
    exp = {
        "targets": T, "steps": S, "cells": cells.tolist(), "references": ["zero", "mu"],
        "orders": ORDERS, "scale": {"zero": float(scale[0]), "mu": float(scale[1])},
        "auc": {mode: {name: C_DEL[name] * mv / 2 for name in ORDERS}
                for mode in ("deletion", "insertion")},
        "curve": {"deletion": {name: (C_DEL[name] * mv * (1 - x)).tolist() for name in ORDERS},
                  "insertion": {name: (C_DEL[name] * mv * x).tolist() for name in ORDERS}},
        "best": {"deletion": "hirescam", "insertion": "gradcam"},
        "paired_diff": {name: (1 - C_DEL[name]) * mv / 2 for name in ORDERS[1:]},
        "claim": {ref: {"eligible": el, "target_neg": -1 - 0.1 * r, "target_random": -0.25,
                        "target_diff": -0.75 - 0.1 * r, "eligible_others": elo,
                        "others_neg": -0.5, "others_random": -0.25, "others_diff": -0.25}
                  for r, ref in enumerate(["zero", "mu"])},
        "completeness": {
            "zero": {"gradcam": {"r": 1.0, "slope": 2.0},
                     "hirescam": dict(zip(("r", "slope"), fit(m[:, 2], y_orig - y_ref[0])))},
            "mu": {"gradcam": {"r": 1.0, "slope": 3.0},
                   "hirescam": dict(zip(("r", "slope"), fit(m[:, 3], y_orig - y_ref[1])))}},
    }
    return d, exp


def write(path, d, schema="gradcam-study-curves/1"):
    tmp = path + ".tmp%d" % os.getpid()
    with h5py.File(tmp, "w") as f:
        f.attrs["schema"] = schema
        f.attrs["input_sha256"] = d["sha"]
        f.attrs["network"] = "planted (tests/causal_fixture.py)"
        f.attrs["layer"] = "none"
        f.attrs["seed"] = np.int64(1)
        f["references"] = np.array(d["refs"], dtype=h5py.string_dtype())
        f["orders"] = np.array(d["orders"], dtype=h5py.string_dtype())
        f["cells"] = d["cells"]
        f["targets/image"] = d["timg"]
        f["targets/class"] = d["tcls"]
        f["y/original"] = d["y_orig"]
        f["y/reference"] = d["y_ref"]
        f["deletion"] = d["dele"]
        f["insertion"] = d["ins"]
        f["claim/n_neg"] = d["n_neg"]
        f["claim/n_others"] = d["n_others"]
        f["claim/target"] = d["ctarget"]
        f["claim/others"] = d["cothers"]
    os.replace(tmp, path)


def bad(d, good, out):
    """Broken copies: (name, dataset, pattern) per file."""
    os.makedirs(out, exist_ok=True)
    rows = []

    def variant(name, ds, pat, **change):
        e = dict(d)
        e.update(change)
        schema = e.pop("schema", "gradcam-study-curves/1")
        p = os.path.join(out, name + ".h5")
        write(p, e, schema)
        rows.append((p, ds, pat))

    variant("schema", "/@schema", "expected", schema="gradcam-study-curves/2")
    variant("sha", "/@input_sha256", "is not the sha256", sha="0" * 64)
    T = len(d["timg"])
    variant("ntargets", "/targets/image", "expected", timg=d["timg"][:-1])
    tc = d["tcls"].copy()
    tc[-1] += 1
    variant("class", "/targets/class", "the input's", tcls=tc)
    dele = d["dele"].copy()
    dele[1, 0, T // 2, 1] = np.nan
    variant("nan", "/deletion", "non-finite", dele=dele)
    cells = d["cells"].copy()
    cells[1], cells[2] = cells[2], cells[1]
    variant("cells", "/cells", "non-decreasing", cells=cells)
    variant("order", "/orders", "unknown order", orders=["gradcam", "gradcam-bogus", "random"])
    variant("random", "/orders", "last", orders=["random", "hirescam", "gradcam"])
    variant("refs", "/references", "unknown reference", refs=["zero", "one"])
    variant("rank", "/y/reference", "rank", y_ref=d["y_ref"][0])
    variant("shape", "/insertion", "dimension 3", ins=d["ins"][:, :, :, :-1])
    variant("nneg", "/claim/n_neg", "expected", n_neg=d["n_neg"] * 0 - 1)
    p = os.path.join(out, "truncated.h5")
    data = open(good, "rb").read()
    open(p, "wb").write(data[: len(data) // 2])
    rows.append((p, "-", "truncated"))
    p = os.path.join(out, "missing.h5")
    shutil.copy(good, p)
    with h5py.File(p, "a") as f:
        del f["claim/others"]
    rows.append((p, "/claim/others", "missing"))
    with open(os.path.join(out, "list.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("curves")
    ap.add_argument("--expected")
    ap.add_argument("--bad-dir")
    ap.add_argument("--steps", type=int, default=4)
    a = ap.parse_args()
    d, exp = build(a.input, a.steps)
    write(a.curves, d)
    if a.expected:
        with open(a.expected, "w") as f:
            json.dump(exp, f, indent=1)
    if a.bad_dir:
        bad(d, a.curves, a.bad_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
