#!/usr/bin/python3
"""tests/causal_summary_fixture.py: add `causal` blocks with known numbers to a summary.json.

Usage: causal_summary_fixture.py IN.json OUT.json [--skip I ...] [--refs zero,mu] [--steps S]

Takes a summary written by `gradcam-study run` (e.g. data/report/summary.json) and gives
every input (except those named by --skip, by index) a `causal` block shaped exactly as the
engine writes it with --curves (issue 13 spec, "Engine statistics"), filled with numbers
made by the formulas below, so the report test can look for them:

- orders: the input's variants without `saliency`, then `random`; steps S (16), cells
  k_s = (s * n + S // 2) // S with n = h * w;
- normalised deletion curve of order k: u_s = (1 - x_s) ** p, insertion 1 - (1 - x_s) ** p,
  p = 1 + k (a later order falls faster), random p = 1; raw = y_ref + scale * u
  with y_ref = 0.5 (zero) / 1.5 (mu), scale = 2 + i (input i) (+0.5 for mu);
- AUC = trapezoid of u over x; interval AUC -/+ 0.02; best = lowest deletion / highest
  insertion AUC among the non-random orders;
- claim, input i, reference r (0 zero, 1 mu): see CLAIM below (input 0: the target part is
  raised with an interval above 0, the others' part lowered; input 1: intervals contain 0);
- completeness: r = 0.8 - 0.1 r_index, slope = 1.25 + i, intervals -/+ 0.05.
The output is written with json.dump (not the engine's number format; the reader does not
care). Exit 0, or 1 with one line "causal_summary_fixture.py: problem".
"""
import json
import sys

CLAIM = [  # per input (cycled), per reference: target_neg, target_random, diff_ci, others...
    [(0.9, 0.388, (0.301, 0.723), -0.25, 0.2, (-0.7, -0.2)),
     (0.8, 0.3, (0.21, 0.79), -0.3, 0.1, (-0.6, -0.2))],
    [(0.05, 0.0068, (-0.0211, 0.108), 0.01, 0.02, (-0.05, 0.03)),
     (0.06, 0.01, (-0.02, 0.12), 0.02, 0.01, (-0.04, 0.06))],
]


def trapz(x, u):
    return sum((x[s + 1] - x[s]) * (u[s + 1] + u[s]) / 2 for s in range(len(x) - 1))


def block(i, inp, refs, steps):
    n = inp["counts"]["height"] * inp["counts"]["width"]
    S = min(steps, n)
    cells = [(s * n + S // 2) // S for s in range(S + 1)]
    x = [k / n for k in cells]
    orders = [v for v in inp["variants"] if v != "saliency"] + ["random"]
    T = inp["counts"]["targets_scored"]
    c = {"curves_file": "out/causal/curves-%d.h5" % i, "curves_sha256": "0" * 64,
         "network": "fixture-net (fixture.pt)", "layer": "trunk.blocks.4.act", "steps": S,
         "cells": cells, "targets": T, "seed": 1, "references": refs, "orders": orders,
         "scale": {}, "scale_degenerate": {}, "deletion": {}, "insertion": {},
         "best": {"deletion": {}, "insertion": {}}, "paired": [], "claim": {},
         "completeness": {}}
    for ri, r in enumerate(refs):
        rix = 0 if r == "zero" else 1
        yref, scale = 0.5 + rix, 2.0 + i + 0.5 * rix
        c["scale"][r] = scale
        c["scale_degenerate"][r] = False
        auc = {}
        for mode in ("deletion", "insertion"):
            c[mode][r] = {}
            for k, o in enumerate(orders):
                p = 1.0 if o == "random" else 1.0 + k
                u = [(1 - xs) ** p for xs in x]
                if mode == "insertion":
                    u = [1 - v for v in u]
                a = trapz(x, u)
                auc[mode, o] = a
                c[mode][r][o] = {"auc": a, "auc_ci95": [a - 0.02, a + 0.02], "curve": u,
                                 "raw_curve": [yref + scale * v for v in u]}
        cand = [o for o in orders if o != "random"]
        c["best"]["deletion"][r] = min(cand, key=lambda o: auc["deletion", o])
        c["best"]["insertion"][r] = max(cand, key=lambda o: auc["insertion", o])
        for mode in ("deletion", "insertion"):
            for o in orders[1:]:
                va, vb = auc[mode, orders[0]], auc[mode, o]
                c["paired"].append({"mode": mode, "reference": r, "a": orders[0], "b": o,
                                    "targets": T, "value_a": va, "value_b": vb,
                                    "diff": va - vb, "diff_ci95": [va - vb - 0.01, va - vb + 0.01]})
        tn, tr, tci, on, orr, oci = CLAIM[i % len(CLAIM)][rix]
        c["claim"][r] = {"eligible": T - 3, "target_neg": tn, "target_random": tr,
                         "target_diff": tn - tr, "target_diff_ci95": list(tci),
                         "eligible_others": T // 2, "others_neg": on, "others_random": orr,
                         "others_diff": on - orr, "others_diff_ci95": list(oci)}
        c["completeness"][r] = {
            m: {"r": 0.8 - 0.1 * rix - 0.05 * j, "r_ci95": [0.75 - 0.1 * rix - 0.05 * j,
                                                          0.85 - 0.1 * rix - 0.05 * j],
                "slope": 1.25 + i + j, "slope_ci95": [1.2 + i + j, 1.3 + i + j], "n": T}
            for j, m in enumerate(("gradcam", "hirescam"))}
    return c


def main(argv):
    args, skip, refs, steps = [], set(), ["zero", "mu"], 16
    it = iter(argv)
    for a in it:
        if a == "--skip":
            skip.add(int(next(it)))
        elif a == "--refs":
            refs = next(it).split(",")
        elif a == "--steps":
            steps = int(next(it))
        else:
            args.append(a)
    if len(args) != 2:
        raise ValueError("usage: causal_summary_fixture.py IN.json OUT.json [--skip I] "
                         "[--refs zero,mu] [--steps S]")
    with open(args[0]) as f:
        s = json.load(f)
    for i, inp in enumerate(s["inputs"]):
        if i not in skip:
            inp["causal"] = block(i, inp, refs, steps)
    with open(args[1], "w") as f:
        json.dump(s, f, indent=1)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (OSError, ValueError, KeyError, StopIteration) as e:
        print("causal_summary_fixture.py: %s" % (e or "missing option value"), file=sys.stderr)
        sys.exit(1)
