#!/usr/bin/python3
"""Planted-answer fixtures for gradcam-study: small hand-designed schema-v1 files whose answers
are known by construction.

    planted.py BIN OUTROOT

BIN is the engine (bin/gradcam-study), OUTROOT a scratch directory (created; one sub-directory
per case).  Each case writes its file(s), runs `BIN run -o DIR FILE --save-maps [options]` and
asserts on targets.csv, signs.csv, summary.json and maps.h5.  Prints each case's name and
PASS/FAIL (with the failed checks), then `N passed, M failed`; exit 1 if any case failed.

Frames are 64x64 px with 8x8 feature maps (one cell = 8x8 px) unless said otherwise, so the
bilinear support of a cell block [a, b) of cells is pixels 8a - 4 .. 8b + 3.
"""

import csv
import json
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

VARIANTS = ["gradcam", "gradcam-signed", "counterfactual", "gradcam-absgrad", "gradcam-centered",
            "activation", "gradient", "hirescam", "hirescam-signed", "layercam", "xgradcam",
            "gradcam++", "gradcam-elementwise", "eigencam"]
CELLS = ["PP", "P0", "PN", "0P", "00", "0N", "NP", "N0", "NN"]


# ============================================================================ helpers
def write_input(path, A, G, t_img, t_cls, boxes, H, W, classes=("cat", "dog"), saliency=None,
                activation="pre-activation"):
    """A: [N,K,h,w], G: [T,K,h,w], boxes: list of (image, class, x0, y0, x1, y1)."""
    A = np.asarray(A, np.float32)
    G = np.asarray(G, np.float32)
    N = A.shape[0]
    C = len(classes)
    labels = np.zeros((N, C), np.uint8)
    for n, c in zip(t_img, t_cls):
        if 0 <= c < C:
            labels[n, c] = 1
    boxes = sorted(boxes, key=lambda b: b[0])
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "gradcam-study/1"
        f.attrs["model"] = "planted"
        f.attrs["layer"] = "hand"
        f.attrs["activation"] = activation
        f.attrs["dataset"] = os.path.basename(path)
        f.create_dataset("classes", data=np.array(list(classes), dtype=object),
                         dtype=h5py.string_dtype("utf-8"))
        f.create_dataset("images/size", data=np.tile(np.array([[H, W]], np.int32), (N, 1)))
        f.create_dataset("images/labels", data=labels)
        f.create_dataset("images/scores", data=labels.astype(np.float32) * 2.0 - 1.0)
        f.create_dataset("activations", data=A)
        f.create_dataset("targets/image", data=np.asarray(t_img, np.int32))
        f.create_dataset("targets/class", data=np.asarray(t_cls, np.int32))
        f.create_dataset("targets/gradients", data=G)
        if saliency is not None:
            f.create_dataset("targets/saliency", data=np.asarray(saliency, np.float32))
        f.create_dataset("boxes/image", data=np.array([b[0] for b in boxes], np.int32))
        f.create_dataset("boxes/class", data=np.array([b[1] for b in boxes], np.int32))
        f.create_dataset("boxes/xyxy", data=np.array([b[2:] for b in boxes], np.float32).reshape(-1, 4))


class Run:
    """One engine run and its parsed outputs."""

    def __init__(self, binpath, outdir, files, opts=()):
        if os.path.exists(outdir):
            shutil.rmtree(outdir)
        cmd = [binpath, "run", "-o", outdir, "--save-maps"] + list(opts) + list(files)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        self.cmd = " ".join(cmd)
        self.rc = p.returncode
        self.stderr = p.stderr.decode("utf-8", "replace")
        self.rows = {}
        self.signs = {}
        self.summary = None
        self.maps = {}
        self.error = None
        if self.rc != 0:
            self.error = "engine exit %d: %s" % (self.rc, self.stderr.strip()[:300])
            return
        try:
            with open(os.path.join(outdir, "targets.csv"), newline="") as f:
                self.csv_text = f.read()
            for r in csv.DictReader(self.csv_text.splitlines()):
                self.rows[(int(r["input"]), int(r["target"]), r["variant"])] = r
            with open(os.path.join(outdir, "signs.csv"), newline="") as f:
                for r in csv.DictReader(f):
                    self.signs[(int(r["input"]), int(r["target"]), r["table"], r["region"])] = r
            with open(os.path.join(outdir, "summary.json")) as f:
                self.summary_text = f.read()

            def no_const(c):
                raise ValueError("non-finite JSON constant %s" % c)
            self.summary = json.loads(self.summary_text, parse_constant=no_const)
            mp = os.path.join(outdir, "maps.h5")
            if len(files) > 1:
                mp = os.path.join(outdir, "maps-0.h5")
            with h5py.File(mp, "r") as f:
                for k in f["maps"].keys():
                    self.maps[k] = f["maps/" + k][()]
        except Exception as e:  # noqa: BLE001 -- reported as a failed check
            self.error = "cannot read the outputs: %s" % e

    def row(self, t, v, i=0):
        return self.rows.get((i, t, v))

    def val(self, t, v, col, i=0):
        r = self.row(t, v, i)
        if r is None or col not in r:
            return None
        s = r[col].strip()
        return None if s == "" else float(s)

    def var(self, v, i=0):
        return self.summary["inputs"][i]["variants"][v]


class Case:
    def __init__(self, name):
        self.name = name
        self.checks = []

    def check(self, what, ok, detail=""):
        self.checks.append((what, bool(ok), detail))
        return bool(ok)

    def run_ok(self, run):
        return self.check("engine run succeeded", run.error is None, run.error or "")

    @property
    def passed(self):
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)


def blob(h, w, r0, r1, c0, c1, value=1.0):
    """A feature map with `value` on cells [r0, r1) x [c0, c1), 0 elsewhere."""
    m = np.zeros((h, w), np.float32)
    m[r0:r1, c0:c1] = value
    return m


# ============================================================================ cases
def case_blob_in_box(binpath, root):
    """K=2, 8x8 -> 64x64.  Channel 0: value 1 on cells rows 2-3, cols 2-3, gradient +1 (alpha 1);
    channel 1: 0.5 everywhere with gradient 0 (does not enter M).  M = A^0, whose bilinear
    support is pixels 12..35 in both directions; the box of class 0 is [12, 36) x [12, 36), so
    all the positive mass is inside it: energy 1, the predicted box (pixels >= 15% of the max,
    about [13, 35)) has IoU ~ 0.84 for both norms (the min of M is 0, so max == minmax), and the
    argmax (at the centre of the block) is inside the box.  Saliency: exactly 1 on the box's
    pixels, 0 elsewhere -> its predicted box is the ground-truth box, IoU exactly 1."""
    c = Case("positive blob inside its box -> box hit, pointing hit, energy ~1 (gradcam, saliency)")
    d = os.path.join(root, "blob_in_box")
    os.makedirs(d, exist_ok=True)
    A = np.zeros((1, 2, 8, 8), np.float32)
    A[0, 0] = blob(8, 8, 2, 4, 2, 4)
    A[0, 1] = 0.5
    G = np.zeros((1, 2, 8, 8), np.float32)
    G[0, 0] = 1.0
    sal = np.zeros((1, 64, 64), np.float32)
    sal[0, 12:36, 12:36] = 1.0
    f = os.path.join(d, "in.h5")
    write_input(f, A, G, [0], [0], [(0, 0, 12, 12, 36, 36)], 64, 64, saliency=sal)
    r = Run(binpath, os.path.join(d, "out"), [f], ["--threshold", "0.15", "--tolerance", "3"])
    if not c.run_ok(r):
        return c
    for nm in ("max", "minmax"):
        iou = r.val(0, "gradcam", "iou_" + nm)
        c.check("gradcam iou_%s >= 0.5" % nm, iou is not None and iou >= 0.5, "iou %s" % iou)
        c.check("gradcam hit_%s = 1" % nm, r.val(0, "gradcam", "hit_" + nm) == 1)
        box = [r.val(0, "gradcam", k + "_" + nm) for k in ("x0", "y0", "x1", "y1")]
        c.check("gradcam box_%s inside the bilinear support [12, 36)" % nm,
                None not in box and box[0] >= 12 and box[1] >= 12 and box[2] <= 36 and box[3] <= 36,
                "box %s" % box)
    c.check("gradcam degenerate = 0", r.val(0, "gradcam", "degenerate") == 0)
    c.check("gradcam point_hit = 1", r.val(0, "gradcam", "point_hit") == 1)
    px, py = r.val(0, "gradcam", "point_x"), r.val(0, "gradcam", "point_y")
    c.check("gradcam argmax inside the blob (pixels 16..31)",
            px is not None and 16 <= px <= 31 and 16 <= py <= 31, "point (%s, %s)" % (px, py))
    e = r.val(0, "gradcam", "energy")
    c.check("gradcam energy > 0.99", e is not None and e > 0.99, "energy %s" % e)
    c.check("summary gradcam boxacc = 1 (both norms)",
            r.var("gradcam")["boxacc"] == {"max": 1, "minmax": 1} or
            (r.var("gradcam")["boxacc"]["max"] == 1.0 and r.var("gradcam")["boxacc"]["minmax"] == 1.0),
            str(r.var("gradcam")["boxacc"]))
    c.check("summary gradcam pointing = 1", r.var("gradcam")["pointing"] == 1.0)
    c.check("summary gradcam-signed == gradcam here (M >= 0)",
            r.var("gradcam-signed")["boxacc"] == r.var("gradcam")["boxacc"])
    # saliency, image resolution, no upsampling: the predicted box is the box itself
    c.check("saliency rows exist", r.row(0, "saliency") is not None)
    sb = [r.val(0, "saliency", k + "_max") for k in ("x0", "y0", "x1", "y1")]
    c.check("saliency box = ground truth [12,12,36,36]", sb == [12, 12, 36, 36], "box %s" % sb)
    c.check("saliency iou_max = iou_minmax = 1",
            r.val(0, "saliency", "iou_max") == 1 and r.val(0, "saliency", "iou_minmax") == 1)
    c.check("saliency energy = 1", r.val(0, "saliency", "energy") == 1)
    c.check("no /maps/saliency", "saliency" not in r.maps)
    return c


def far_blob_run(binpath, root):
    d = os.path.join(root, "blob_far")
    os.makedirs(d, exist_ok=True)
    A = np.zeros((1, 1, 8, 8), np.float32)
    A[0, 0] = blob(8, 8, 5, 7, 5, 7)              # support pixels 36..59
    G = np.ones((1, 1, 8, 8), np.float32)
    f = os.path.join(d, "in.h5")
    write_input(f, A, G, [0], [0], [(0, 0, 4, 4, 20, 20)], 64, 64)
    return Run(binpath, os.path.join(d, "out"), [f], ["--tolerance", "3"])


def case_blob_far(binpath, root):
    """The same kind of blob on cells 5-6 (pixels 36..59), the box at [4, 20): IoU 0 for every
    threshold, the argmax (~(47, 47)) is > 27 px from the box, so a pointing miss with
    --tolerance 3 (and with 15 too); energy 0."""
    c = Case("blob far from its box -> box miss, pointing miss (--tolerance 3), energy 0")
    r = far_blob_run(binpath, root)
    if not c.run_ok(r):
        return c
    for nm in ("max", "minmax"):
        c.check("gradcam iou_%s = 0" % nm, r.val(0, "gradcam", "iou_" + nm) == 0,
                "iou %s" % r.val(0, "gradcam", "iou_" + nm))
        c.check("gradcam hit_%s = 0" % nm, r.val(0, "gradcam", "hit_" + nm) == 0)
        c.check("maxboxacc.%s = 0 (no threshold helps)" % nm, r.var("gradcam")["maxboxacc"][nm] == 0)
    c.check("gradcam degenerate = 0", r.val(0, "gradcam", "degenerate") == 0)
    c.check("gradcam point_hit = 0", r.val(0, "gradcam", "point_hit") == 0)
    c.check("gradcam energy = 0", r.val(0, "gradcam", "energy") == 0)
    c.check("summary pointing = 0", r.var("gradcam")["pointing"] == 0)
    return c


def case_wrong_expectation(binpath, root):
    """The checks can fail: asserting a hit (IoU >= 0.5, pointing hit) on the far-blob case
    must be refuted by the engine's output."""
    c = Case("self-test: a wrong expectation (a hit for the far blob) is detected")
    r = far_blob_run(binpath, root + "/wrong")
    if not c.run_ok(r):
        return c
    probe = Case("probe")
    probe.check("far blob: gradcam hit_max = 1 (wrong on purpose)", r.val(0, "gradcam", "hit_max") == 1)
    probe.check("far blob: gradcam point_hit = 1 (wrong on purpose)", r.val(0, "gradcam", "point_hit") == 1)
    probe.check("far blob: energy > 0.5 (wrong on purpose)", (r.val(0, "gradcam", "energy") or 0) > 0.5)
    failed = [w for w, ok, _ in probe.checks if not ok]
    c.check("all 3 wrong expectations fail", len(failed) == 3, "failed: %s" % failed)
    return c


def case_negative_evidence(binpath, root):
    """Two classes, 2 images, target class 0 in both.  Channel 0 (class 0): a blob on the
    target's box, gradient +1 (alpha +1).  Channel 1 (class 1): a blob, gradient -1 (alpha -1),
    so M is negative on that blob.  Image 0: the negative blob sits on the class-1 box ->
    almost all the negative mass is in the other region (16x16 px = 1/16 of the frame):
    gradcam-signed neg_enrichment ~ 16 >> 1.  Image 1: the class-1 box is elsewhere and the
    negative blob in the background -> neg_other ~ 0, neg_enrichment < 1.
    gradcam (after the ReLU) has no negative mass: neg_* empty, eligible_neg 0."""
    c = Case("negative blob on another class's box -> gradcam-signed neg_enrichment > 1; "
             "in the background -> < 1")
    d = os.path.join(root, "negative")
    os.makedirs(d, exist_ok=True)
    A = np.zeros((2, 2, 8, 8), np.float32)
    A[0, 0] = blob(8, 8, 1, 3, 1, 3)     # target blob, pixels 4..27
    A[0, 1] = blob(8, 8, 5, 7, 5, 7)     # negative blob, pixels 36..59
    A[1, 0] = blob(8, 8, 1, 3, 1, 3)
    A[1, 1] = blob(8, 8, 5, 7, 1, 3)     # negative blob at rows 36..59, cols 4..27 (background)
    G = np.zeros((2, 2, 8, 8), np.float32)
    G[:, 0] = 1.0
    G[:, 1] = -1.0
    boxes = [(0, 0, 4, 4, 28, 28), (0, 1, 40, 40, 56, 56),
             (1, 0, 4, 4, 28, 28), (1, 1, 40, 4, 56, 20)]      # image 1: class-1 box top right
    f = os.path.join(d, "in.h5")
    write_input(f, A, G, [0, 1], [0, 0], boxes, 64, 64)
    r = Run(binpath, os.path.join(d, "out"), [f], ["--tolerance", "3"])
    if not c.run_ok(r):
        return c
    oa = r.val(0, "gradcam-signed", "other_area")
    c.check("image 0: other_area = 256/4096", oa is not None and abs(oa - 256 / 4096) < 1e-9, "%s" % oa)
    ne = r.val(0, "gradcam-signed", "neg_enrichment")
    no = r.val(0, "gradcam-signed", "neg_other")
    c.check("image 0: gradcam-signed neg_other > 0.5", no is not None and no > 0.5, "%s" % no)
    c.check("image 0: gradcam-signed neg_enrichment > 4", ne is not None and ne > 4, "%s" % ne)
    c.check("image 0: neg_enrichment = neg_other / other_area",
            None not in (ne, no, oa) and abs(ne - no / oa) < 1e-6 * max(1, ne))
    pe = r.val(0, "gradcam-signed", "pos_enrichment")
    c.check("image 0: gradcam-signed pos_enrichment = 0 (no positive mass there)",
            pe is not None and pe == 0, "%s" % pe)
    ne1 = r.val(1, "gradcam-signed", "neg_enrichment")
    c.check("image 1: gradcam-signed neg_enrichment < 1", ne1 is not None and ne1 < 1, "%s" % ne1)
    c.check("gradcam (ReLU): neg_other empty", r.val(0, "gradcam", "neg_other") is None)
    ev = r.var("gradcam-signed")["evidence"]
    c.check("summary gradcam-signed eligible_neg = 2", ev.get("eligible_neg") == 2, str(ev))
    c.check("summary gradcam eligible_neg = 0, neg_enrichment = 0",
            r.var("gradcam")["evidence"].get("eligible_neg") == 0
            and r.var("gradcam")["evidence"].get("neg_enrichment") == 0,
            str(r.var("gradcam")["evidence"]))
    # counterfactual = ReLU(-M) puts the negative blob's mass into its positive mass
    pe_cf = r.val(0, "counterfactual", "pos_enrichment")
    c.check("image 0: counterfactual pos_enrichment > 4", pe_cf is not None and pe_cf > 4, "%s" % pe_cf)
    # the gradcam box and point stay on the target's box
    c.check("gradcam hit_max = 1 on both images",
            r.val(0, "gradcam", "hit_max") == 1 and r.val(1, "gradcam", "hit_max") == 1)
    return c


def case_zero_gradients(binpath, root):
    """One target with all-zero gradients: every gradient-based map is 0 -> degenerate, IoU 0,
    hit 0, point_hit 0, energy 0, neither NaN nor inf anywhere; `activation` (A only) is not
    degenerate."""
    c = Case("all-zero gradients -> gradcam degenerate, iou 0, point_hit 0, nothing NaN")
    d = os.path.join(root, "zero_grad")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(5)
    A = np.maximum(rng.normal(size=(1, 3, 8, 8)), 0).astype(np.float32)
    A[0, :, 2:4, 2:4] += 2.0
    G = np.zeros((1, 3, 8, 8), np.float32)
    f = os.path.join(d, "in.h5")
    write_input(f, A, G, [0], [1], [(0, 1, 12, 12, 36, 36), (0, 0, 40, 40, 60, 60)], 64, 64,
                activation="post-relu")
    r = Run(binpath, os.path.join(d, "out"), [f])
    if not c.run_ok(r):
        return c
    for v in ("gradcam", "gradcam-signed", "counterfactual", "hirescam", "layercam", "xgradcam",
              "gradcam++", "gradient", "gradcam-absgrad", "gradcam-centered", "gradcam-elementwise"):
        c.check("%s degenerate = 1" % v, r.val(0, v, "degenerate") == 1)
    for col in ("iou_max", "iou_minmax", "hit_max", "hit_minmax", "point_hit", "energy"):
        c.check("gradcam %s = 0" % col, r.val(0, "gradcam", col) == 0, "%s" % r.val(0, "gradcam", col))
    c.check("gradcam box columns empty",
            all(r.val(0, "gradcam", k) is None for k in ("x0_max", "y0_max", "x1_max", "y1_max",
                                                         "point_x", "point_y")))
    c.check("activation not degenerate", r.val(0, "activation", "degenerate") == 0)
    c.check("summary gradcam degenerate = 1", r.var("gradcam")["degenerate"] == 1)
    c.check("summary gradcam boxacc = maxboxacc = maxboxacc_v2 = pointing = 0",
            all(r.var("gradcam")[k][nm] == 0 for k in ("boxacc", "maxboxacc", "maxboxacc_v2")
                for nm in ("max", "minmax")) and r.var("gradcam")["pointing"] == 0)
    c.check("summary.json is strict JSON (no NaN / Infinity)", r.summary is not None)
    bad = []
    for row in csv.DictReader(r.csv_text.splitlines()):
        for k, x in row.items():
            if k != "variant" and x.strip() != "":
                try:
                    if not math.isfinite(float(x)):
                        bad.append((k, x))
                except ValueError:
                    bad.append((k, x))
    c.check("every targets.csv field is empty or a finite number", not bad, "%s" % bad[:5])
    c.check("all maps of gradient variants are exactly 0",
            all(np.all(r.maps[v] == 0) for v in ("gradcam", "gradcam-signed", "hirescam", "xgradcam",
                                                  "gradcam++", "layercam", "gradcam-elementwise")))
    c.check("eigencam does not need gradients: not degenerate", r.val(0, "eigencam", "degenerate") == 0)
    return c


def tiny_files(root):
    """K=2, h=w=2, frame 8x8 (one cell = 4x4 px).
        A^0 = [[1, 2], [0,  3]]      G^0 = [[ 2,  0], [1,  1]]   alpha_0 = 4/4 =  1
        A^1 = [[2, 0], [1, -1]]      G^1 = [[-1, -1], [1, -3]]   alpha_1 = -4/4 = -1
    Boxes: class 0 [4, 0, 8, 8) (right column of cells), class 1 [0, 4, 4, 8) (bottom-left
    cell); target class 0.  Cell centres ((j+.5)*4, (i+.5)*4) = (2|6, 2|6):
    cells (0,1), (1,1) -> target; (1,0) -> other; (0,0) -> background."""
    d = os.path.join(root, "tiny")
    os.makedirs(d, exist_ok=True)
    A = np.array([[[[1, 2], [0, 3]], [[2, 0], [1, -1]]]], np.float32)
    G = np.array([[[[2, 0], [1, 1]], [[-1, -1], [1, -3]]]], np.float32)
    f = os.path.join(d, "in.h5")
    write_input(f, A, G, [0], [0], [(0, 0, 4, 0, 8, 8), (0, 1, 0, 4, 4, 8)], 8, 8)
    return d, f


def case_tiny_exact(binpath, root):
    """Exact maps of the tiny case, by hand:
      M = 1*A^0 - 1*A^1 = [[1-2, 2-0], [0-1, 3+1]] = [[-1, 2], [-1, 4]]
      gradcam         = ReLU(M)  = [[0, 2], [0, 4]]
      gradcam-signed  = M        = [[-1, 2], [-1, 4]]
      counterfactual  = ReLU(-M) = [[1, 0], [1, 0]]
      gradcam-absgrad : mean|G^0| = 4/4 = 1, mean|G^1| = 6/4 = 1.5
                        -> A^0 + 1.5 A^1 = [[4, 2], [1.5, 1.5]]
      gradcam-centered: mu = (6/4, 2/4) = (1.5, 0.5); M - 1*1.5 + 1*0.5 = M - 1
                        -> ReLU([[-2, 1], [-2, 3]]) = [[0, 1], [0, 3]]
      activation      = ReLU(A^0 + A^1) = ReLU([[3, 2], [1, 2]]) = [[3, 2], [1, 2]]
      gradient        = ReLU(G^0 + G^1) = ReLU([[1, -1], [2, -2]]) = [[1, 0], [2, 0]]
      hirescam-signed = G^0 A^0 + G^1 A^1 = [[2-2, 0+0], [0+1, 3+3]] = [[0, 0], [1, 6]]
      hirescam        = [[0, 0], [1, 6]]
      layercam        = ReLU(G^0) A^0 + ReLU(G^1) A^1 = [[2, 0], [0, 3]] + [[0, 0], [1, 0]]
                      = [[2, 0], [1, 3]]
      xgradcam        : w_0 = sum G^0 A^0 / (sum A^0 + 1e-7) = 5 / (6 + 1e-7)
                        w_1 = sum G^1 A^1 / (sum A^1 + 1e-7) = (-2 + 0 + 1 + 3) / (2 + 1e-7) = 2 / (2 + 1e-7)
                        -> ReLU(w_0 A^0 + w_1 A^1)
                        ~ [[5/6 + 2, 10/6], [1, 15/6 - 1]] = [[2.8333, 1.6667], [1, 1.5]]
      gradcam++       : a = G^2 / (2 G^2 + S G^3 + 1e-6), S = sum A^k = (6, 2)
                        k=0: G=2: 4 / (8 + 48 + 1e-6) ~ 1/14, times ReLU(G)=2 -> 1/7;
                             G=1 (twice): 1 / (2 + 6 + 1e-6) ~ 1/8 each -> 1/4;  G=0: a = 0
                             w_0 ~ 1/7 + 1/4 = 11/28
                        k=1: only G=1 is positive: 1 / (2 + 2 + 1e-6) ~ 1/4 -> w_1 ~ 1/4
                        -> ReLU(11/28 A^0 + 1/4 A^1) ~ [[11/28 + 1/2, 22/28], [1/4, 33/28 - 1/4]]
    """
    c = Case("tiny exact case (K=2, 2x2): hand-computed maps.h5 values and sign tables")
    d, f = tiny_files(root)
    r = Run(binpath, os.path.join(d, "out"), [f])
    if not c.run_ok(r):
        return c
    w0 = 5.0 / (6.0 + 1e-7)
    w1 = 2.0 / (2.0 + 1e-7)
    a0_2 = 4.0 / (8.0 + 48.0 + 1e-6)          # k=0, G=2
    a0_1 = 1.0 / (2.0 + 6.0 + 1e-6)           # k=0, G=1
    a1_1 = 1.0 / (2.0 + 2.0 + 1e-6)           # k=1, G=1
    p0 = 2 * a0_2 + 1 * a0_1 + 1 * a0_1
    p1 = 1 * a1_1
    A0 = np.array([[1, 2], [0, 3]], float)
    A1 = np.array([[2, 0], [1, -1]], float)
    exact = {
        "gradcam": [[0, 2], [0, 4]],
        "gradcam-signed": [[-1, 2], [-1, 4]],
        "counterfactual": [[1, 0], [1, 0]],
        "gradcam-absgrad": [[4, 2], [1.5, 1.5]],
        "gradcam-centered": [[0, 1], [0, 3]],
        "activation": [[3, 2], [1, 2]],
        "gradient": [[1, 0], [2, 0]],
        "hirescam": [[0, 0], [1, 6]],
        "hirescam-signed": [[0, 0], [1, 6]],
        "layercam": [[2, 0], [1, 3]],
    }
    approx = {"xgradcam": np.maximum(w0 * A0 + w1 * A1, 0),
              "gradcam++": np.maximum(p0 * A0 + p1 * A1, 0)}
    c.check("hand numbers: xgradcam ~ [[2.8333, 1.6667], [1, 1.5]]",
            np.allclose(approx["xgradcam"], [[5 / 6 + 2, 10 / 6], [1, 1.5]], rtol=1e-6))
    c.check("hand numbers: gradcam++ ~ 11/28 A0 + 1/4 A1",
            np.allclose(approx["gradcam++"], [[11 / 28 + .5, 22 / 28], [.25, 33 / 28 - .25]], rtol=1e-6))
    for v, e in exact.items():
        got = r.maps.get(v)
        c.check("maps.h5 %s exact" % v, got is not None and got.shape == (1, 2, 2)
                and np.array_equal(got[0], np.array(e, np.float32)),
                "got %s" % (None if got is None else got[0].tolist()))
    for v, e in approx.items():
        got = r.maps.get(v)
        c.check("maps.h5 %s (float32 of the double value)" % v,
                got is not None and np.allclose(got[0], e, rtol=2e-7, atol=0),
                "got %s expected %s" % (None if got is None else got[0].tolist(), e.tolist()))
    mu = r.maps.get("mu")
    c.check("maps.h5 mu = [1.5, 0.5] float64", mu is not None and mu.dtype == np.float64
            and np.array_equal(mu, [1.5, 0.5]), "got %s" % (None if mu is None else mu))
    return c


def case_tiny_signs(binpath, root):
    """Sign tables of the tiny case, by hand (cells (i, j); regions as in tiny_files):
    alphaA: alpha = (+1, -1).  k=0: A^0 = 1 (bg), 2 (tgt), 0 (oth), 3 (tgt);
            k=1: A^1 = 2 (bg), 0 (tgt), 1 (oth), -1 (tgt)
      target:     PP 2 (2+3 = 5), N0 1 (0), NN 1 ((-1)(-1) = 1)
      other:      P0 1 (0), NP 1 (-1)
      background: PP 1 (1), NP 1 (-2)
      total sum 5 + 1 - 1 + 1 - 2 = 4 = sum_ij M = -1 + 2 - 1 + 4.
    GA: k=0: G^0 = 2, 0, 1, 1 at (0,0), (0,1), (1,0), (1,1); A^0 = 1, 2, 0, 3
             -> bg PP (2), tgt 0P (0), oth P0 (0), tgt PP (3)
        k=1: G^1 = -1, -1, 1, -3; A^1 = 2, 0, 1, -1
             -> bg NP (-2), tgt N0 (0), oth PP (1), tgt NN (3)
      target: PP 1 (3), 0P 1 (0), N0 1 (0), NN 1 (3); other: P0 1 (0), PP 1 (1);
      background: PP 1 (2), NP 1 (-2); total 7 = sum G*A = 0 + 0 + 1 + 6.
    Counts of each table add up to K h w = 8."""
    c = Case("sign tables: tiny case by hand; counts add up to K*h*w, sums to sum(M) / sum(G*A)")
    d, f = tiny_files(root + "/signs")
    r = Run(binpath, os.path.join(d, "out"), [f])
    if not c.run_ok(r):
        return c
    want = {
        ("alphaA", "target"): {"PP": (2, 5.0), "N0": (1, 0.0), "NN": (1, 1.0)},
        ("alphaA", "other"): {"P0": (1, 0.0), "NP": (1, -1.0)},
        ("alphaA", "background"): {"PP": (1, 1.0), "NP": (1, -2.0)},
        ("GA", "target"): {"PP": (1, 3.0), "0P": (1, 0.0), "N0": (1, 0.0), "NN": (1, 3.0)},
        ("GA", "other"): {"P0": (1, 0.0), "PP": (1, 1.0)},
        ("GA", "background"): {"PP": (1, 2.0), "NP": (1, -2.0)},
    }
    totals = {"alphaA": (8, 4.0), "GA": (8, 7.0)}
    for tb in ("alphaA", "GA"):
        n_all, s_all = 0, 0.0
        for rg in ("target", "other", "background"):
            row = r.signs.get((0, 0, tb, rg))
            if not c.check("signs.csv row %s/%s present" % (tb, rg), row is not None):
                continue
            got = {cn: (int(row["n_" + cn]), float(row["s_" + cn])) for cn in CELLS}
            exp = {cn: want[(tb, rg)].get(cn, (0, 0.0)) for cn in CELLS}
            c.check("%s %s cells" % (tb, rg), got == exp,
                    "got %s" % {k: v for k, v in got.items() if v != (0, 0.0)})
            n_all += sum(v[0] for v in got.values())
            s_all += sum(v[1] for v in got.values())
        c.check("%s counts add up to K*h*w = 8" % tb, n_all == totals[tb][0], "%d" % n_all)
        c.check("%s sums add up to %g" % (tb, totals[tb][1]), s_all == totals[tb][1], "%r" % s_all)
        st = r.summary["inputs"][0]["sign_tables"][tb]
        c.check("summary sign_tables.%s.all count = 8, sum = %g" % (tb, totals[tb][1]),
                sum(st["all"]["count"].values()) == 8 and sum(st["all"]["sum"].values()) == totals[tb][1],
                str(st["all"]))
    return c


def case_signs_random(binpath, root):
    """On a random file: for every target, each table's counts add up to K*h*w and its sums to
    sum_ij M (alphaA) or sum_ij sum_k G*A (GA), computed here in float64."""
    c = Case("sign tables of a random file add up (counts K*h*w, sums sum(M) and sum(G*A))")
    d = os.path.join(root, "signs_random")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(11)
    N, T, K, h, w = 3, 5, 6, 5, 4
    A = rng.normal(size=(N, K, h, w)).astype(np.float32)
    A[A < -0.5] = 0.0                                       # exact zeros
    G = rng.normal(size=(T, K, h, w)).astype(np.float32)
    G[G > 1.2] = 0.0
    t_img = [0, 0, 1, 2, 2]
    t_cls = [0, 1, 0, 1, 2]
    boxes = [(0, 0, 3, 5, 30, 40), (0, 1, 20, 10, 48, 44), (1, 0, 0, 0, 24, 24),
             (2, 1, 10, 12, 40, 30), (2, 2, 30, 1, 47, 39)]
    f = os.path.join(d, "in.h5")
    write_input(f, A, G, t_img, t_cls, boxes, 40, 48, classes=("a", "b", "c"))
    r = Run(binpath, os.path.join(d, "out"), [f])
    if not c.run_ok(r):
        return c
    A64, G64 = A.astype(np.float64), G.astype(np.float64)
    for t in range(T):
        a = A64[t_img[t]]
        g = G64[t]
        alpha = g.mean(axis=(1, 2))
        sumM = float((alpha[:, None, None] * a).sum())
        sumGA = float((g * a).sum())
        scale = {"alphaA": float(np.abs(alpha[:, None, None] * a).sum()), "GA": float(np.abs(g * a).sum())}
        for tb, want in (("alphaA", sumM), ("GA", sumGA)):
            rows = [r.signs.get((0, t, tb, rg)) for rg in ("target", "other", "background")]
            if not c.check("target %d %s: 3 rows" % (t, tb), None not in rows):
                continue
            n = sum(int(row["n_" + cn]) for row in rows for cn in CELLS)
            s = sum(float(row["s_" + cn]) for row in rows for cn in CELLS)
            c.check("target %d %s counts = K*h*w = %d" % (t, tb, K * h * w), n == K * h * w, "%d" % n)
            c.check("target %d %s sums = %.6g" % (t, tb, want), abs(s - want) <= 1e-12 * scale[tb],
                    "%.17g" % s)
        c.check("target %d: 6 rows in signs.csv" % t,
                sum(1 for k in r.signs if k[0] == 0 and k[1] == t) == 6)
    return c


def case_centered_shift(binpath, root):
    """gradcam-centered is invariant to adding a constant to every value of a channel (mu_k
    moves with it), gradcam is not (alpha_k * 5 is added everywhere).  Values are multiples
    of 1/64 so that A + 5 is exact in float32."""
    c = Case("gradcam-centered: shifting a channel by a constant leaves it unchanged, gradcam changes")
    d = os.path.join(root, "centered")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(3)
    N, K, h, w = 3, 4, 6, 6
    A = (np.round(rng.normal(size=(N, K, h, w)) * 64) / 64).astype(np.float32)
    A[:, 0, 1:3, 1:3] += 3.0
    G = (np.round(rng.normal(size=(N, K, h, w)) * 64) / 64).astype(np.float32)
    G[:, 0] += 1.0
    G[:, 2] -= 0.5                                     # alpha_2 clearly negative
    t_img, t_cls = [0, 1, 2], [0, 0, 1]
    boxes = [(0, 0, 8, 8, 40, 40), (1, 0, 8, 8, 40, 40), (2, 1, 20, 20, 60, 60)]
    B = A.copy()
    B[:, 2] += 5.0
    assert np.array_equal(B[:, 2] - 5.0, A[:, 2])
    fa, fb = os.path.join(d, "a.h5"), os.path.join(d, "b.h5")
    write_input(fa, A, G, t_img, t_cls, boxes, 64, 64)
    write_input(fb, B, G, t_img, t_cls, boxes, 64, 64)
    ra = Run(binpath, os.path.join(d, "out_a"), [fa])
    rb = Run(binpath, os.path.join(d, "out_b"), [fb])
    if not (c.run_ok(ra) and c.run_ok(rb)):
        return c
    ma, mb = ra.maps["gradcam-centered"], rb.maps["gradcam-centered"]
    scale = float(np.abs(ma).max())
    c.check("the centered maps are not all zero", scale > 0)
    c.check("gradcam-centered maps equal (|diff| <= 1e-6 max)",
            float(np.abs(ma.astype(float) - mb.astype(float)).max()) <= 1e-6 * scale,
            "max diff %g, scale %g" % (float(np.abs(ma.astype(float) - mb.astype(float)).max()), scale))
    c.check("mu_2 moved by 5", abs(rb.maps["mu"][2] - ra.maps["mu"][2] - 5.0) < 1e-12,
            "%r %r" % (ra.maps["mu"][2], rb.maps["mu"][2]))
    ga, gb = ra.maps["gradcam-signed"], rb.maps["gradcam-signed"]
    alpha2 = G[:, 2].astype(float).mean(axis=(1, 2))
    c.check("gradcam-signed moved by 5 alpha_2 everywhere",
            np.allclose(gb.astype(float) - ga.astype(float), 5 * alpha2[:, None, None], atol=1e-4),
            "alpha_2 %s" % alpha2)
    c.check("gradcam maps differ", not np.allclose(ra.maps["gradcam"], rb.maps["gradcam"], atol=1e-3))
    same = all(ra.rows[(0, t, "gradcam-centered")][k] == rb.rows[(0, t, "gradcam-centered")][k]
               for t in range(3) for k in ("x0_max", "y0_max", "x1_max", "y1_max", "point_x", "point_y"))
    c.check("gradcam-centered boxes and points identical in targets.csv", same)
    return c


def case_bad_input(binpath, root):
    """A file with an out-of-range target class: exit 1, one line `gradcam-study: FILE: ...` on
    stderr, and OUTDIR left as it was (README: outputs renamed only on success)."""
    c = Case("bad input -> exit 1, one-line error, OUTDIR left as it was")
    d = os.path.join(root, "bad")
    os.makedirs(d, exist_ok=True)
    f = os.path.join(d, "bad.h5")
    A = np.ones((1, 1, 2, 2), np.float32)
    G = np.ones((1, 1, 2, 2), np.float32)
    write_input(f, A, G, [0], [7], [(0, 0, 0, 0, 4, 4)], 8, 8)   # class 7 of 2
    out = os.path.join(d, "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "targets.csv"), "w") as fh:
        fh.write("sentinel\n")
    p = subprocess.run([binpath, "run", "-o", out, "--save-maps", f], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    err = p.stderr.decode("utf-8", "replace").strip().splitlines()
    c.check("exit status 1", p.returncode == 1, "rc %d" % p.returncode)
    c.check("one line on stderr starting 'gradcam-study: '",
            len(err) == 1 and err[0].startswith("gradcam-study: "), "%r" % err)
    c.check("OUTDIR unchanged", sorted(os.listdir(out)) == ["targets.csv"]
            and open(os.path.join(out, "targets.csv")).read() == "sentinel\n", "%s" % os.listdir(out))
    p = subprocess.run([binpath, "run", "--no-such-option"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    c.check("bad usage -> exit 2", p.returncode == 2, "rc %d" % p.returncode)
    return c


def case_degenerate_constant(binpath, root):
    """README protocol 2: a degenerate map (max <= 0, or max == min) has no box, no point and
    energy 0, stays in every denominator, and keeps its evidence shares wherever its mass is
    non-zero.  K=1, 8x8 -> 64x64 (every bilinear
    weight is a multiple of 1/16, so a constant map stays exactly constant).
      image 0: A = 1 everywhere, G = 1: gradcam = M = 1 constant -> degenerate; the image also
               has a class-1 box of 16x16 px, so the (uniform) positive mass has share
               256/4096 = 0.0625 there: enrichment exactly 1.
      image 1: a blob inside the class-0 box, G = 1 -> a hit (IoU ~0.84), pointing hit.
      image 2: the same blob with G = -1 (alpha -1): M <= 0 everywhere, so gradcam-signed is
               degenerate (max = 0), yet all its negative mass lies on the class-1 box
               [12, 36)^2 (the blob's bilinear support is cells 1.5..4.5 = pixels 12..36):
               neg_other = 1, neg_enrichment = 4096 / 576.  ReLU(M) = 0: no shares at all.
    Summary (3 scored targets): gradcam degenerate 2 (targets 0 and 2: M <= 0 gives ReLU(M) = 0),
    boxacc 1/3 for both norms, pointing 1/3; gradcam-signed degenerate 2 (targets 0, 2),
    eligible_neg 1 (target 2), eligible_pos 1 (target 0; image 1 has no box of another class)."""
    c = Case("degenerate maps (constant; all <= 0): no box, no point, energy 0, in every "
             "denominator; evidence where the mass is")
    d = os.path.join(root, "degenerate")
    os.makedirs(d, exist_ok=True)
    A = np.zeros((3, 1, 8, 8), np.float32)
    A[0, 0] = 1.0
    A[1, 0] = blob(8, 8, 2, 4, 2, 4)
    A[2, 0] = blob(8, 8, 2, 4, 2, 4)
    G = np.ones((3, 1, 8, 8), np.float32)
    G[2] = -1.0
    boxes = [(0, 0, 12, 12, 36, 36), (0, 1, 40, 40, 56, 56), (1, 0, 12, 12, 36, 36),
             (2, 0, 40, 4, 60, 24), (2, 1, 12, 12, 36, 36)]
    f = os.path.join(d, "in.h5")
    write_input(f, A, G, [0, 1, 2], [0, 0, 0], boxes, 64, 64)
    r = Run(binpath, os.path.join(d, "out"), [f], ["--tolerance", "3"])
    if not c.run_ok(r):
        return c
    for t, v in ((0, "gradcam"), (0, "gradcam-signed"), (2, "gradcam-signed"), (2, "gradcam")):
        c.check("target %d %s degenerate = 1" % (t, v), r.val(t, v, "degenerate") == 1)
        c.check("target %d %s: box and point empty" % (t, v),
                all(r.val(t, v, k) is None for k in ("x0_max", "y0_max", "x1_max", "y1_max", "x0_minmax",
                                                     "y0_minmax", "x1_minmax", "y1_minmax",
                                                     "point_x", "point_y")))
        c.check("target %d %s: iou 0, hits 0, point_hit 0, energy 0" % (t, v),
                all(r.val(t, v, k) == 0 for k in ("iou_max", "iou_minmax", "hit_max", "hit_minmax",
                                                  "point_hit", "energy")))
        got = {k: r.val(t, v, k) for k in ("neg_other", "pos_other", "neg_enrichment", "pos_enrichment")}
        if t == 0:   # constant positive: uniform positive mass, no negative mass
            want = {"neg_other": None, "pos_other": 0.0625, "neg_enrichment": None,
                    "pos_enrichment": 1.0}
        elif v == "gradcam-signed":   # all <= 0, negative blob on the class-1 box
            want = {"neg_other": 1.0, "pos_other": None, "neg_enrichment": 4096 / 576,
                    "pos_enrichment": None}
        else:   # ReLU(M) = 0 everywhere: no mass, no share
            want = dict.fromkeys(got)
        c.check("target %d %s: evidence %s" % (t, v, want),
                all((got[k] is None) == (want[k] is None) and
                    (want[k] is None or abs(got[k] - want[k]) < 1e-6) for k in want), "got %s" % got)
    c.check("target 1 gradcam: hit, pointing hit",
            r.val(1, "gradcam", "hit_max") == 1 and r.val(1, "gradcam", "hit_minmax") == 1
            and r.val(1, "gradcam", "point_hit") == 1)
    sg = r.var("gradcam")
    c.check("summary gradcam degenerate = 2", sg["degenerate"] == 2, "%s" % sg["degenerate"])
    c.check("summary gradcam boxacc = 1/3 (degenerate targets in the denominator)",
            all(abs(sg["boxacc"][nm] - 1 / 3) < 1e-9 for nm in ("max", "minmax")), "%s" % sg["boxacc"])
    c.check("summary gradcam pointing = 1/3", abs(sg["pointing"] - 1 / 3) < 1e-9, "%s" % sg["pointing"])
    ev = r.var("gradcam-signed")["evidence"]
    c.check("summary gradcam-signed eligible_neg = 1, eligible_pos = 1",
            ev.get("eligible_neg") == 1 and ev.get("eligible_pos") == 1, "%s" % ev)
    ev = r.var("gradcam")["evidence"]
    c.check("summary gradcam eligible_pos = 1, eligible_neg = 0",
            ev.get("eligible_pos") == 1 and ev.get("eligible_neg") == 0, "%s" % ev)
    return c


def case_eigencam(binpath, root):
    """eigencam, planted. Image 0 (K=3, 8x8 -> 64x64): channel 0 = 2 on cells rows 2-3, cols
    2-3 (inside the class-0 box [12, 36)), channel 1 = 0.5 everywhere (constant: nothing after
    centring), channel 2 = 0.3 on cells 6-7 x 6-7; two targets (classes 0 and 1) with
    different gradients. The first principal component is channel 0's blob, the sign rule
    makes its largest component positive, so the map is positive on the blob: a box hit and a
    pointing hit, the same map for both targets (no gradient). Image 1: every channel
    constant -> an all-zero map, degenerate, nothing NaN. summary.json: eigencam.images = 2."""
    c = Case("eigencam: the dominant channel's blob is found whatever the gradients; constant "
             "activations are degenerate; one map per image; images and sign flips counted")
    d = os.path.join(root, "eigencam")
    os.makedirs(d, exist_ok=True)
    A = np.zeros((2, 3, 8, 8), np.float32)
    A[0, 0] = blob(8, 8, 2, 4, 2, 4, 2.0)
    A[0, 1] = 0.5
    A[0, 2] = blob(8, 8, 6, 8, 6, 8, 0.3)
    A[1] = np.array([1.0, -2.0, 0.25], np.float32)[:, None, None]
    rng = np.random.default_rng(3)
    G = rng.normal(size=(3, 3, 8, 8)).astype(np.float32)
    f = os.path.join(d, "in.h5")
    write_input(f, A, G, [0, 0, 1], [0, 1, 0],
                [(0, 0, 12, 12, 36, 36), (0, 1, 44, 44, 64, 64), (1, 0, 0, 0, 32, 32)], 64, 64)
    r = Run(binpath, os.path.join(d, "out"), [f], ["--tolerance", "3"])
    if not c.run_ok(r):
        return c
    m = r.maps.get("eigencam")
    c.check("maps.h5 has /maps/eigencam", m is not None)
    if m is None:
        return c
    c.check("one map per image: targets 0 and 1 (image 0) have the same bytes",
            np.array_equal(m[0], m[1]))
    pos = m[0] > 0
    c.check("image 0: positive exactly on channel 0's blob (cells 2-3 x 2-3)",
            np.array_equal(pos, blob(8, 8, 2, 4, 2, 4) > 0), "%s" % np.argwhere(pos).tolist())
    c.check("image 0: a box hit and a pointing hit",
            r.val(0, "eigencam", "hit_max") == 1 and r.val(0, "eigencam", "point_hit") == 1)
    c.check("image 1 (constant channels): an all-zero map, degenerate",
            np.all(m[2] == 0) and r.val(2, "eigencam", "degenerate") == 1)
    c.check("every map finite", np.all(np.isfinite(m)))
    e = r.summary["inputs"][0].get("eigencam")
    c.check("summary.json eigencam.images = 2, sign_flips 0 or 1 (image 1 has no vector)",
            isinstance(e, dict) and e.get("images") == 2 and e.get("sign_flips") in (0, 1), "%s" % e)
    r2 = Run(binpath, os.path.join(d, "out2"), [f], ["--tolerance", "3", "--variants", "gradcam"])
    c.check("no eigencam key without the variant",
            r2.error is None and "eigencam" not in r2.summary["inputs"][0], r2.error or "")
    return c


CASES = [case_blob_in_box, case_blob_far, case_negative_evidence, case_zero_gradients,
         case_degenerate_constant,
         case_tiny_exact, case_tiny_signs, case_signs_random, case_centered_shift,
         case_eigencam, case_wrong_expectation, case_bad_input]


def main(argv):
    if len(argv) != 3:
        print("usage: planted.py BIN OUTROOT", file=sys.stderr)
        return 2
    binpath, root = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    if not os.access(binpath, os.X_OK):
        print("planted.py: %s is not an executable" % binpath, file=sys.stderr)
        return 2
    os.makedirs(root, exist_ok=True)
    npass = nfail = 0
    for fn in CASES:
        try:
            c = fn(binpath, root)
        except Exception as e:  # noqa: BLE001 -- a crash is a failed case
            c = Case(fn.__name__)
            c.check("case ran without an exception", False, "%s: %s" % (type(e).__name__, e))
        print("%s  %s" % ("PASS" if c.passed else "FAIL", c.name))
        for what, ok, detail in c.checks:
            if not ok:
                print("      failed: %s%s" % (what, (" (%s)" % detail) if detail else ""))
        if c.passed:
            npass += 1
        else:
            nfail += 1
    print("%d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
