"""Quick tests of the benchmark's Python half (scripts/bench_data.py, bench_baseline.py,
bench.py's agreement gate), on tiny files. Run: /usr/bin/python3 -m pytest -q tests/test_bench_py.py
"""

import csv
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench  # noqa: E402
import bench_baseline as bb  # noqa: E402
import bench_data  # noqa: E402

STUDY = os.path.join(ROOT, "bin", "gradcam-study")
SMALL = dict(channels=16, fh=7, fw=7, frame=64, classes=5)


def make(tmp_path, name="in.h5", targets=12, seed=3):
    p = str(tmp_path / name)
    bench_data.ensure(p, targets, seed=seed, quiet=True, **SMALL)
    return p


def test_data_valid_deterministic_and_cached(tmp_path):
    p = make(tmp_path)
    q = make(tmp_path, "again.h5")
    with h5py.File(p, "r") as f, h5py.File(q, "r") as g:
        assert f["targets/gradients"].shape == (12, 16, 7, 7)
        assert f["activations"].chunks == (1, 16, 7, 7)
        assert np.array_equal(f["activations"][()], g["activations"][()])
        assert np.array_equal(f["targets/gradients"][()], g["targets/gradients"][()])
        assert np.all(np.diff(f["targets/image"][()]) >= 0)
        assert (f["activations"][()] >= 0).all()            # post-ReLU
    mtime = os.path.getmtime(p)
    gen, _ = bench_data.ensure(p, 12, seed=3, quiet=True, **SMALL)
    assert not gen and os.path.getmtime(p) == mtime        # same parameters: kept
    gen, _ = bench_data.ensure(p, 12, seed=4, quiet=True, **SMALL)
    assert gen                                             # other seed: rewritten
    if os.access(STUDY, os.X_OK):
        r = subprocess.run([STUDY, "check", p], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_cams_hand_case():
    # K=2, 2x2: A0 = [[1,0],[0,1]], A1 = [[0,2],[2,0]]; G0 = 1 everywhere, G1 = -1 everywhere
    A = np.array([[[[1, 0], [0, 1]], [[0, 2], [2, 0]]]], np.float32)
    G = np.array([[[[1, 1], [1, 1]], [[-1, -1], [-1, -1]]]], np.float32)
    m = bb.cams(["gradcam", "gradcam-signed", "counterfactual", "hirescam-signed",
                 "activation", "layercam"], A, G, None)
    assert np.array_equal(m["gradcam-signed"][0], [[1, -2], [-2, 1]])
    assert np.array_equal(m["gradcam"][0], [[1, 0], [0, 1]])
    assert np.array_equal(m["counterfactual"][0], [[0, 2], [2, 0]])
    assert np.array_equal(m["hirescam-signed"][0], [[1, -2], [-2, 1]])
    assert np.array_equal(m["activation"][0], [[1, 2], [2, 1]])
    assert np.array_equal(m["layercam"][0], [[1, 0], [0, 1]])


def test_box_search_planted_blob():
    v = np.zeros((64, 64), np.float32)
    v[10:30, 20:50] = 1.0                 # the blob: columns 20..49, rows 10..29
    v[50:52, 0:2] = 0.5                   # a small second component
    gt = np.array([[20, 10, 50, 30]], np.float64)
    for mode in ("wsol", "exact"):
        curve, box, iou = bb.box_search(v, gt, mode, 15)
        assert list(box) == [20, 10, 50, 30] and iou == 1.0
        assert curve[15] & 1 and curve[99] & 1
    off = np.array([[0, 40, 10, 64]], np.float64)          # a box elsewhere: a miss
    curve, box, iou = bb.box_search(v, off, "exact", 15)
    assert iou < 0.5 and not curve[15] & 1


def test_pointing_tolerance():
    gt = np.array([[10, 10, 20, 20]], np.float64)            # pixels 10..19
    assert bb.pointing(15, 15, gt, 64, 64, 15) == 1
    assert bb.pointing(33, 15, gt, 64, 64, 15) == 1          # du = 14: 196 < 225
    assert bb.pointing(34, 15, gt, 64, 64, 15) == 0          # du = 15: 225 < 225 is false
    assert bb.pointing(29, 29, gt, 64, 64, 15) == 1          # du = dv = 10: 200 < 225
    assert bb.pointing(30, 30, gt, 64, 64, 15) == 0          # du = dv = 11: 242


def _fake_engine(base_dir, eng_dir, variants):
    """An 'engine' output built from the baseline's own (maps.h5 and targets.csv)."""
    os.makedirs(eng_dir, exist_ok=True)
    with h5py.File(os.path.join(eng_dir, "maps.h5"), "w") as f:
        for v in variants:
            f["maps/" + v] = np.load(os.path.join(base_dir, "maps-%s.npy" % v))
    with open(os.path.join(base_dir, "targets.csv")) as fi, \
            open(os.path.join(eng_dir, "targets.csv"), "w") as fo:
        for i, line in enumerate(fi):
            fo.write(("input," if i == 0 else "0,") + line)


def test_agreement_gate_can_fail(tmp_path):
    p = make(tmp_path, targets=40)
    bdir, edir = str(tmp_path / "base"), str(tmp_path / "eng")
    variants = ["gradcam", "gradcam-signed"]
    assert bb.main([p, "-o", bdir, "--variants", ",".join(variants), "--thresholding",
                    "exact", "--save-maps", "--quiet"]) == 0
    _fake_engine(bdir, edir, variants)
    assert bench.agreement(p, edir, bdir, variants)["ok"]
    # a map off by 1e-4 of its max must fail
    with h5py.File(os.path.join(edir, "maps.h5"), "r+") as f:
        m = f["maps/gradcam"][()]
        m[3] += 1e-4 * np.abs(m[3]).max()
        f["maps/gradcam"][...] = m
    r = bench.agreement(p, edir, bdir, variants)
    assert not r["ok"] and not r["variants"]["gradcam"]["maps_ok"]
    # hits flipped on more than 2% of the targets must fail
    _fake_engine(bdir, edir, variants)
    rows = list(csv.DictReader(open(os.path.join(edir, "targets.csv"))))
    flipped = 0
    for r_ in rows:
        if r_["variant"] == "gradcam-signed" and r_["has_box"] == "1" and flipped < 2:
            r_["hit_max"] = "0" if r_["hit_max"] == "1" else "1"
            flipped += 1
    with open(os.path.join(edir, "targets.csv"), "w") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    r = bench.agreement(p, edir, bdir, variants)
    assert not r["ok"] and not r["variants"]["gradcam-signed"]["hits_ok"]
    assert r["variants"]["gradcam"]["hits_ok"]


@pytest.mark.skipif(not os.access(STUDY, os.X_OK), reason="bin/gradcam-study not built")
def test_engine_agrees_on_tiny_file(tmp_path):
    p = make(tmp_path, targets=30)
    bdir, edir = str(tmp_path / "base"), str(tmp_path / "eng")
    r = subprocess.run([STUDY, "run", "-o", edir, "--threads", "1", "--save-maps",
                        "--bootstrap", "0", p], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert bb.main([p, "-o", bdir, "--variants", "all", "--thresholding", "exact",
                    "--save-maps", "--quiet"]) == 0
    res = bench.agreement(p, edir, bdir, bb.VARIANTS)
    bad = {v: (d["map_max_rel_diff"], d["hits_max"]["share"], d["hits_minmax"]["share"])
           for v, d in res["variants"].items() if not d["maps_ok"]}
    assert not bad, bad
    shutil.rmtree(edir)
