"""Tests of scripts/causal.py (Question 6: deletion and insertion through the network's tail).

    /usr/bin/python3 -m pytest -q tests/test_causal.py

Fixtures are made here: small schema-v1 files (h5py), a maps.h5 whose maps are computed with
numpy, and a --net-module linear head y_c = sum_kij W_ckij A_kij + b_c behind an nn.Identity
named `tap` on the input (so A = x).  For such a head every curve is known in closed form:
removing cell (i, j) at the zero reference lowers y_c by sum_k W_ckij A_kij, at the mu
reference by sum_k W_ckij (A_kij - mu_k).  Needs no trained weights and no default data; the
torchvision smoke test builds a random-init resnet18 (about 10 s).
"""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import causal  # noqa: E402

torch.set_num_threads(2)
STR = h5py.string_dtype("utf-8")

NET_MODULE = '''
import os
import numpy as np
import torch
import torch.nn as nn

_P = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "head.npz"))


class Head(nn.Module):
    def __init__(self, flat):
        super().__init__()
        self.tap = nn.Identity()
        W = torch.from_numpy(_P["W"])
        self.fc = nn.Linear(W[0].numel(), len(W))
        self.fc.weight.data = W.reshape(len(W), -1).clone()
        self.fc.bias.data = torch.from_numpy(_P["b"]).clone()
        self.flat = flat

    def forward(self, x):
        a = self.tap(x)
        if self.flat == "untraceable" and float(x.sum()) > -1e30:  # fx cannot trace this
            return self.fc(torch.flatten(a, 1))
        if self.flat:
            return self.fc(torch.flatten(a, 1))
        return self.fc(a.reshape(a.shape[0], -1))  # not a pattern the cell-linear path knows


def build():
    return Head(%s).eval()
'''


def write_input(path, A, scores, labels, image, cls, layer="tap", model="linear-head",
                pixels=None, schema="gradcam-study/1", grads=None):
    N, K, h, w = A.shape
    C = scores.shape[1]
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = schema
        for k, v in (("model", model), ("layer", layer), ("activation", "post-relu"),
                     ("dataset", "test")):
            f.attrs[k] = v
        f.create_dataset("classes", data=np.array(["c%d" % c for c in range(C)], dtype=object), dtype=STR)
        f["images/size"] = np.tile(np.array([[8 * h, 8 * w]], np.int32), (N, 1))
        f["images/labels"] = labels.astype(np.uint8)
        f["images/scores"] = scores.astype(np.float32)
        if pixels is not None:
            f["images/pixels"] = pixels
        f["activations"] = A.astype(np.float32)
        f["targets/image"] = np.asarray(image, np.int32)
        f["targets/class"] = np.asarray(cls, np.int32)
        f["targets/gradients"] = (np.zeros((len(image), K, h, w), np.float32) if grads is None
                                  else np.asarray(grads, np.float32))
        f["boxes/image"] = np.arange(N, dtype=np.int32)
        f["boxes/class"] = np.zeros(N, np.int32)
        f["boxes/xyxy"] = np.tile(np.array([[0, 0, 4, 4]], np.float32), (N, 1))


def write_maps(path, maps, mu):
    with h5py.File(path, "w") as f:
        for k, m in maps.items():
            f["maps/" + k] = np.asarray(m, np.float32)
        if mu is not None:
            f["maps/mu"] = np.asarray(mu, np.float64)


class Linear:
    """A linear-head fixture: A [N, K, h, w], W [C, K, h, w], b [C], targets, maps."""

    def __init__(self, tmp, N=6, K=3, h=4, w=4, C=3, seed=0, W=None, A=None, b=None, labels=None,
                 flat=True):
        rng = np.random.default_rng(seed)
        self.tmp = tmp
        self.A = (A if A is not None else rng.normal(size=(N, K, h, w))).astype(np.float32)
        N, K, h, w = self.A.shape
        self.W = (W if W is not None else rng.normal(size=(C, K, h, w))).astype(np.float32)
        C = len(self.W)
        self.b = (b if b is not None else rng.normal(size=C)).astype(np.float32)
        self.labels = labels if labels is not None else (rng.random((N, C)) < 0.6)
        self.labels[:, 0] = True
        self.image, self.cls = np.nonzero(self.labels)
        A64, W64 = self.A.astype(np.float64), self.W.astype(np.float64)
        self.scores = np.einsum("nkij,ckij->nc", A64, W64) + self.b
        self.mu = A64.mean(axis=(0, 2, 3))
        # per target: HiResCAM's signed map = sum_k dy/dA * A = sum_k W_c A (the cell contributions)
        self.contrib = np.einsum("tkij,tkij->tij", A64[self.image], W64[self.cls])
        self.contrib_mu = np.einsum("tkij,tkij->tij", A64[self.image] - self.mu[None, :, None, None],
                                    W64[self.cls])
        alpha = W64[self.cls].mean(axis=(2, 3))
        M = np.einsum("tk,tkij->tij", alpha, A64[self.image])
        self.maps = {"gradcam": np.maximum(M, 0), "gradcam-signed": M, "counterfactual": np.maximum(-M, 0),
                     "activation": np.maximum(A64[self.image].sum(1), 0),
                     "hirescam": np.maximum(self.contrib, 0), "hirescam-signed": self.contrib}
        self.input = os.path.join(tmp, "in.h5")
        self.mapfile = os.path.join(tmp, "maps.h5")
        self.module = os.path.join(tmp, "net_%s.py" % str(flat).lower())
        np.savez(os.path.join(tmp, "head.npz"), W=self.W, b=self.b)
        with open(self.module, "w") as f:
            f.write(NET_MODULE % repr(flat))
        # pixels: the network input x of the hook fallback (x = pixels / 255, [N, K, h, w] here)
        px = np.random.default_rng(seed).integers(0, 256, size=(N, h, w, K), dtype=np.uint8)
        # dy^c/dA of the linear head is W_c: the maps above are those of A and these gradients
        write_input(self.input, self.A, self.scores, self.labels, self.image, self.cls, pixels=px,
                    grads=self.W[self.cls])
        write_maps(self.mapfile, self.maps, self.mu)

    def run(self, *extra, out="curves.h5"):
        out = os.path.join(self.tmp, out)
        rc = causal.main(["--input", self.input, "--maps", self.mapfile, "--net-module", self.module,
                          "-o", out, "-q"] + list(extra))
        assert rc == 0
        return h5py.File(out, "r")


def names(ds):
    return [v.decode() if isinstance(v, bytes) else v for v in ds[()]]


def auc(curve, cells):
    return np.trapz(curve, cells / cells[-1], axis=-1)


# --------------------------------------------------------------------------- the rules

def test_steps_rule():
    assert causal.cells_of_steps(144, 16).tolist() == [(s * 144 + 8) // 16 for s in range(17)]
    assert causal.cells_of_steps(10, 4).tolist() == [0, 3, 5, 8, 10]  # (s*10 + 2) // 4
    assert causal.cells_of_steps(5, 16).tolist() == [0, 1, 2, 3, 4, 5]  # S > n: S = n
    assert causal.cells_of_steps(7, 1).tolist() == [0, 7]


def test_cell_order_ties_by_index():
    m = np.array([[0.5, 1.0, 0.0], [1.0, -0.0, 0.5]], np.float32)
    assert causal.cell_order(m).tolist() == [1, 3, 0, 5, 2, 4]


# --------------------------------------------------------------------------- (a) linear head

def test_file_schema(tmp_path):
    L = Linear(str(tmp_path))
    f = L.run()
    assert f.attrs["schema"] == "gradcam-study-curves/1"
    import hashlib
    assert f.attrs["input_sha256"] == hashlib.sha256(open(L.input, "rb").read()).hexdigest()
    assert f.attrs["layer"] == "tap" and f.attrs["seed"] == 1
    assert f.attrs["seed"].dtype == np.int64
    assert names(f["references"]) == ["zero", "mu"]
    assert names(f["orders"]) == ["gradcam", "gradcam-signed", "counterfactual", "activation",
                                  "hirescam", "hirescam-signed", "random"]
    T, S = len(L.image), 16
    for k, dt, shape in (("cells", np.int32, (S + 1,)), ("targets/image", np.int32, (T,)),
                         ("targets/class", np.int32, (T,)), ("y/original", np.float64, (T,)),
                         ("y/reference", np.float64, (2, T)), ("deletion", np.float64, (2, 7, T, S + 1)),
                         ("insertion", np.float64, (2, 7, T, S + 1)), ("claim/n_neg", np.int32, (T,)),
                         ("claim/n_others", np.int32, (T,)), ("claim/target", np.float64, (2, T, 2)),
                         ("claim/others", np.float64, (2, T, 3))):
        assert f[k].dtype == dt and f[k].shape == shape, k
    assert f["cells"][()].tolist() == list(range(17))
    assert np.array_equal(f["targets/image"][()], L.image) and np.array_equal(f["targets/class"][()], L.cls)
    y = L.scores[L.image, L.cls]
    assert np.allclose(f["y/original"][()], y, atol=1e-4)
    assert np.allclose(f["y/reference"][0], L.b[L.cls], atol=1e-5)
    assert np.allclose(f["y/reference"][1], y - L.contrib_mu.sum((1, 2)), atol=1e-4)
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]


def test_deletion_of_one_cell_and_hirescam_optimal(tmp_path):
    L = Linear(str(tmp_path), N=8, K=4, h=3, w=5, C=3, seed=3)
    f = L.run("--references", "zero", "--steps", "100")  # S > n: one cell per step
    cells = f["cells"][()]
    assert cells.tolist() == list(range(16))
    orders = names(f["orders"])
    dele = f["deletion"][0]
    y = L.scores[L.image, L.cls]
    for t in range(len(L.image)):
        c = L.contrib[t].reshape(-1)
        for o, name in enumerate(orders):
            order = (causal.random_order(1, t, 15) if name == "random"
                     else np.argsort(-L.maps[name][t].reshape(-1).astype(np.float32), kind="stable"))
            # each step removes one cell and lowers y by exactly that cell's sum_k W A
            steps = -np.diff(dele[o, t])
            assert np.allclose(steps, c[order], atol=2e-5), (name, t)
        # HiResCAM's signed order: the hand-computed curve, and the lowest AUC of all orders
        hand = y[t] - np.concatenate([[0], np.cumsum(np.sort(c)[::-1])])
        hs = orders.index("hirescam-signed")
        assert np.allclose(dele[hs, t], hand, atol=5e-5)
        aucs = auc(dele[:, t], cells)
        assert aucs[hs] <= aucs.min() + 1e-6
        # ReLU'd HiResCAM: the positive cells by contribution, then the others by cell index
        # (its zeros tie), so its curve is the optimal one until the positive cells run out
        pos = np.nonzero(c > 0)[0]
        hand_order = np.concatenate([pos[np.argsort(-c[pos], kind="stable")], np.nonzero(c <= 0)[0]])
        hr = orders.index("hirescam")
        assert np.allclose(dele[hr, t], y[t] - np.concatenate([[0], np.cumsum(c[hand_order])]), atol=5e-5)
        assert np.allclose(dele[hr, t, :len(pos) + 1], hand[:len(pos) + 1], atol=5e-5)


def test_plain_tail_gives_the_same_curves(tmp_path):
    """The cell-linear shortcut against the plain tail (a head the shortcut does not know)."""
    a = Linear(str(tmp_path), seed=5).run(out="fast.h5")
    b = Linear(str(tmp_path), seed=5, flat=False).run(out="plain.h5")
    for k in ("y/original", "y/reference", "deletion", "insertion", "claim/target", "claim/others"):
        assert np.allclose(a[k][()], b[k][()], atol=1e-4, rtol=1e-5), k


def test_hook_fallback_gives_the_same_curves(tmp_path, capsys):
    """A network fx cannot trace: the full forward with the layer's output substituted."""
    a = Linear(str(tmp_path), seed=6).run(out="fast.h5")
    b = Linear(str(tmp_path), seed=6, flat="untraceable").run(out="hook.h5")
    err = capsys.readouterr().err
    assert "torch.fx cannot trace the network" in err and len(err.strip().splitlines()) == 1
    for k in ("y/original", "y/reference", "deletion", "insertion", "claim/target", "claim/others"):
        assert np.allclose(a[k][()], b[k][()], atol=1e-4, rtol=1e-5), k


def test_mu_reference_and_insertion(tmp_path):
    L = Linear(str(tmp_path), seed=7)
    f = L.run("--references", "mu", "--orders", "hirescam-signed,gradcam")
    assert names(f["references"]) == ["mu"] and names(f["orders"]) == ["gradcam", "hirescam-signed"]
    cells = f["cells"][()]
    y = L.scores[L.image, L.cls]
    for t in range(len(L.image)):
        c = L.contrib_mu[t].reshape(-1)
        order = np.argsort(-L.contrib[t].reshape(-1).astype(np.float32), kind="stable")
        cs = np.concatenate([[0], np.cumsum(c[order])])[cells]
        yref = y[t] - c.sum()
        assert np.allclose(f["deletion"][0, 1, t], y[t] - cs, atol=5e-5)
        assert np.allclose(f["insertion"][0, 1, t], yref + cs, atol=5e-5)


# --------------------------------------------------------------------------- (b) planted cell

def test_planted_cell_drops_at_the_first_step(tmp_path):
    rng = np.random.default_rng(2)
    N, K, h, w = 5, 3, 4, 4
    A = rng.uniform(0.5, 1.5, size=(N, K, h, w))
    W = np.zeros((2, K, h, w))
    W[:, :, 2, 1] = rng.uniform(1, 2, size=(2, K))  # all the evidence in cell (2, 1)
    L = Linear(str(tmp_path), A=A, W=W, b=np.array([0.25, -0.5]))
    f = L.run("--references", "zero")
    orders = names(f["orders"])
    o = orders.index("hirescam")
    assert all(causal.cell_order(L.maps["hirescam"][t])[0] == 2 * 4 + 1 for t in range(len(L.image)))
    dele, ins = f["deletion"][0, o], f["insertion"][0, o]
    b = L.b[L.cls]
    assert f["cells"][1] == 1
    assert np.allclose(dele[:, 1:], b[:, None], atol=1e-5)  # at the reference from step 1 on
    assert np.allclose(ins[:, 1:], f["y/original"][()][:, None], atol=1e-5)
    assert np.all(np.abs(dele[:, 0] - b) > 0.5)


# --------------------------------------------------------------------------- (c) random control

def test_random_order_mean_matches_expectation(tmp_path):
    rng = np.random.default_rng(4)
    N, K, h, w = 400, 2, 4, 4
    A = rng.uniform(0.5, 1.5, size=(N, K, h, w))
    W = rng.uniform(0.5, 1.5, size=(1, K, h, w))
    L = Linear(str(tmp_path), A=A, W=W, b=np.array([0.3]), labels=np.ones((N, 1), bool))
    f = L.run("--orders", "random,hirescam", "--steps", "8")
    assert names(f["orders"]) == ["hirescam", "random"]
    cells = f["cells"][()]
    x = cells / 16.0
    y = f["y/original"][()]
    for r in range(2):
        yr = f["y/reference"][r]
        # E[y_del(k)] = y(A) - (k/n)(y(A) - y(ref)) for a linear head (and insertion:
        # y(ref) + (k/n)(y(A) - y(ref))).  Removing k of the n contributions at random, the
        # deviation from it has sd sqrt(k(n-k)/(n-1)) * sd(contribution) <= 2.1 * 0.3 here, so the
        # mean of 400 targets has sd <= 0.03: tolerance 0.15 (5 sd).
        want_del = y[:, None] - x[None, :] * (y - yr)[:, None]
        want_ins = yr[:, None] + x[None, :] * (y - yr)[:, None]
        assert np.abs((f["deletion"][r, 1] - want_del).mean(0)).max() < 0.15
        assert np.abs((f["insertion"][r, 1] - want_ins).mean(0)).max() < 0.15
    # normalised, at the zero reference (y - y_ref = 32 +- 3 here): the mean curve is the
    # diagonal within 0.015 (the sd of the mean is below 0.003)
    yr = f["y/reference"][0]
    u = (f["deletion"][0, 1] - yr[:, None]) / (y - yr)[:, None]
    v = (f["insertion"][0, 1] - yr[:, None]) / (y - yr)[:, None]
    assert np.abs(u.mean(0) - (1 - x)).max() < 0.015, u.mean(0)
    assert np.abs(v.mean(0) - x).max() < 0.015, v.mean(0)
    # a planted failure: the same check on the hirescam order must fail (it is not random)
    uh = (f["deletion"][0, 0] - yr[:, None]) / (y - yr)[:, None]
    assert np.abs(uh.mean(0) - (1 - x)).max() > 0.03
    # and it is the documented permutation
    order = causal.random_order(1, 7, 16)
    assert np.array_equal(order, np.random.default_rng([1, 7]).permutation(16))
    assert np.allclose(-np.diff(f["deletion"][0, 1, 7]),
                       np.add.reduceat(L.contrib[7].reshape(-1)[order], cells[:-1]), atol=2e-5)


# --------------------------------------------------------------------------- (d) the claim

def test_claim_known_answers(tmp_path):
    rng = np.random.default_rng(9)
    N, K, h, w, C = 6, 2, 3, 3, 3
    A = rng.uniform(0.5, 1.5, size=(N, K, h, w))
    W = rng.normal(size=(C, K, h, w))
    labels = np.ones((N, C), bool)
    labels[0, 1:] = False  # image 0: one class, no others
    L = Linear(str(tmp_path), A=A, W=W, labels=labels)
    # the negative cells: where HiResCAM's contributions are negative; target 0 has none
    L.maps["counterfactual"] = np.maximum(-L.contrib, 0)
    L.maps["counterfactual"][0] = 0.0
    write_maps(L.mapfile, L.maps, L.mu)
    f = L.run("--seed", "3")
    T, n = len(L.image), h * w
    neg = [np.nonzero(L.maps["counterfactual"][t].reshape(-1) > 0)[0] for t in range(T)]
    assert f["claim/n_neg"][()].tolist() == [len(x) for x in neg]
    assert f["claim/n_neg"][0] == 0 and (f["claim/n_neg"][()][1:] > 0).all()
    assert f["claim/n_others"][()].tolist() == [int(labels[i].sum()) - 1 for i in L.image]
    for r, mu in enumerate((np.zeros(K), L.mu)):
        for t in range(T):
            i, c = L.image[t], L.cls[t]
            # y^c' after removing cells S at the reference: y^c'(A) - sum over S of sum_k W (A - ref)
            delta = np.einsum("ckij,kij->cij", W, A[i] - mu[:, None, None]).reshape(C, n)
            y = L.scores[i]
            draws = causal.random_removals(3, t, n, len(neg[t]))
            rng_t = np.random.default_rng([3, t, 1])
            assert all(np.array_equal(d, rng_t.permutation(n)[:len(neg[t])]) for d in draws)
            y_neg = y - delta[:, neg[t]].sum(1)
            y_rand = np.mean([y - delta[:, d].sum(1) for d in draws], axis=0)
            assert np.allclose(f["claim/target"][r, t], [y_neg[c], y_rand[c]], atol=1e-4)
            others = [k for k in range(C) if labels[i, k] and k != c]
            want = [y[others].mean(), y_neg[others].mean(), y_rand[others].mean()] if others else [0, 0, 0]
            assert np.allclose(f["claim/others"][r, t], want, atol=1e-4)
    # the negative cells are the negative contributions: removing them at the zero reference
    # raises y^c by their magnitude, more than removing as many random cells
    e = f["claim/n_neg"][()] > 0
    gain = f["claim/target"][0, e, 0] - f["y/original"][()][e]
    assert np.allclose(gain, -np.minimum(L.contrib[e], 0).sum((1, 2)), atol=1e-4)
    assert (f["claim/target"][0, e, 0] > f["claim/target"][0, e, 1]).all()


# --------------------------------------------------------------------------- (e) bad input

def _bad(tmp_path, capsys, argv, want):
    out = os.path.join(str(tmp_path), "bad.h5")
    rc = causal.main(argv + ["-o", out, "-q"])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 1, err
    assert len(lines) == 1 and lines[0].startswith("causal.py: "), err
    assert "Traceback" not in err and want in lines[0], (want, err)
    assert not os.path.exists(out)
    assert not [p for p in os.listdir(str(tmp_path)) if ".tmp" in p]
    return lines[0]


def test_bad_inputs(tmp_path, capsys):
    L = Linear(str(tmp_path))
    d = str(tmp_path)
    base = ["--maps", L.mapfile, "--net-module", L.module]
    _bad(tmp_path, capsys, ["--input", os.path.join(d, "none.h5")] + base, "none.h5: no such file")
    junk = os.path.join(d, "junk.h5")
    open(junk, "w").write("not hdf5\n")
    _bad(tmp_path, capsys, ["--input", junk] + base, "not an HDF5 file")
    other = os.path.join(d, "schema2.h5")
    write_input(other, L.A, L.scores, L.labels, L.image, L.cls, schema="gradcam-study/2")
    _bad(tmp_path, capsys, ["--input", other] + base, "schema is 'gradcam-study/2'")
    # maps of another input: T differs
    short = os.path.join(d, "short.h5")
    write_maps(short, {k: v[:-1] for k, v in L.maps.items()}, L.mu)
    _bad(tmp_path, capsys, ["--input", L.input, "--maps", short, "--net-module", L.module],
         "maps of another input")
    # maps of another input with the same shapes: refused by the map check, not used
    swapped = os.path.join(d, "swapped.h5")
    write_maps(swapped, {k: v[::-1] for k, v in L.maps.items()}, L.mu)
    _bad(tmp_path, capsys, ["--input", L.input, "--maps", swapped, "--net-module", L.module],
         "is not the map of")
    nomu = os.path.join(d, "nomu.h5")
    write_maps(nomu, L.maps, None)
    _bad(tmp_path, capsys, ["--input", L.input, "--maps", nomu, "--net-module", L.module],
         "/maps/mu: missing")
    _bad(tmp_path, capsys, ["--input", L.input] + base + ["--orders", "gradcam,hirescan"],
         "'hirescan' is not a map")
    _bad(tmp_path, capsys, ["--input", L.input] + base + ["--orders", "random"], "random alone")
    badlayer = os.path.join(d, "badlayer.h5")
    write_input(badlayer, L.A, L.scores, L.labels, L.image, L.cls, layer="tapp",
                grads=L.W[L.cls])
    line = _bad(tmp_path, capsys, ["--input", badlayer] + base, "layer 'tapp': no module")
    assert "near names: tap" in line
    wrong = os.path.join(d, "wrong.h5")
    write_input(wrong, L.A, L.scores + 0.5, L.labels, L.image, L.cls,
                grads=L.W[L.cls])
    _bad(tmp_path, capsys, ["--input", wrong] + base, "/images/scores")
    study = os.path.join(d, "study.h5")
    write_input(study, L.A, L.scores, L.labels, L.image, L.cls, model="vgg-relu", layer="trunk.blocks.4.act",
                grads=L.W[L.cls])
    wd = os.path.join(d, "weights")
    os.makedirs(wd)
    open(os.path.join(wd, "vgg-relu.pt"), "w").write("garbage")
    _bad(tmp_path, capsys, ["--input", study, "--maps", L.mapfile, "--weights", wd],
         "vgg-relu.pt: not a state_dict")
    _bad(tmp_path, capsys, ["--input", study, "--maps", L.mapfile, "--weights", os.path.join(d, "nowhere")],
         "no such folder")
    # unwritable output: its folder is a file
    out = os.path.join(junk, "x.h5")
    rc = causal.main(["--input", L.input] + base + ["-o", out, "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "not a writable folder" in err and len(err.strip().splitlines()) == 1
    badmod = os.path.join(d, "badmod.py")
    open(badmod, "w").write("def build():\n    return 3\n")
    _bad(tmp_path, capsys, ["--input", L.input, "--maps", L.mapfile, "--net-module", badmod],
         "not a torch.nn.Module")


def test_command_line_and_signal_free_exit(tmp_path):
    """The script itself: exit 0 and a summary line; a usage error exits 2 in one line."""
    L = Linear(str(tmp_path))
    out = os.path.join(str(tmp_path), "c.h5")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "causal.py"), "--input", L.input,
                        "--maps", L.mapfile, "--net-module", L.module, "-o", out],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "causal: " in r.stdout and "targets" in r.stdout and os.path.exists(out)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "causal.py"), "--input", L.input,
                        "--steps", "x"], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- (f) torchvision

@pytest.mark.parametrize("layer", ["layer4", "layer4.0.conv1"])
def test_torchvision_resnet18_smoke(tmp_path, layer):
    """resnet18 (random init) on 2 images of 64x64: layer4 (a spatial mean follows: the
    cell-linear path) and layer4.0.conv1 (the residual needs x: the plain tail fed the pixels)."""
    import export_torchvision as etv
    model = etv.build_model("resnet18", None, True, 0)
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
    x = (torch.from_numpy(px).permute(0, 3, 1, 2).float() / 255.0 - torch.tensor(etv.MEAN).view(1, 3, 1, 1)) \
        / torch.tensor(etv.STD).view(1, 3, 1, 1)
    tap = etv.Tap(model, layer)
    with torch.no_grad():
        acts, logits = tap.forward(x)
    A = acts["A"].numpy()
    C = logits.shape[1]
    labels = np.zeros((2, C), bool)
    labels[0, [3, 7]] = True
    labels[1, 5] = True
    image, cls = np.nonzero(labels)
    T, (h, w) = len(image), A.shape[2:]
    # some gradients, and the Grad-CAM map they make with A (causal.py checks the maps against
    # the input's A and G)
    G = rng.normal(size=(T,) + A.shape[1:]).astype(np.float32)
    m = np.einsum("tk,tkij->tij", G.astype(np.float64).mean(axis=(2, 3)), A[image].astype(np.float64))
    d = str(tmp_path)
    write_input(os.path.join(d, "tv.h5"), A, logits.numpy(), labels, image, cls, layer=layer,
                model="resnet18", pixels=px, grads=G)
    write_maps(os.path.join(d, "maps.h5"), {"gradcam-signed": m, "counterfactual": np.maximum(-m, 0)},
               A.mean(axis=(0, 2, 3)))
    rc = causal.main(["--input", os.path.join(d, "tv.h5"), "--maps", os.path.join(d, "maps.h5"),
                      "--arch", "resnet18", "--random-init", "-o", os.path.join(d, "c.h5"), "-q"])
    assert rc == 0
    f = h5py.File(os.path.join(d, "c.h5"), "r")
    assert np.allclose(f["y/original"][()], logits.numpy()[image, cls], atol=1e-3)
    assert f["deletion"].shape == (2, 3, T, h * w + 1)  # the two maps and random
    # the deletion curve ends at the all-reference score, the insertion curve at the original
    assert np.allclose(f["deletion"][:, :, :, -1], f["y/reference"][()][:, None, :])
    assert np.allclose(f["insertion"][:, :, :, -1], f["y/original"][()][None, None, :])
    if layer == "layer4.0.conv1":  # the tail needs x: a file without /images/pixels is refused
        write_input(os.path.join(d, "nopx.h5"), A, logits.numpy(), labels, image, cls, layer=layer,
                    model="resnet18", grads=G)
        out = os.path.join(d, "c2.h5")
        rc = causal.main(["--input", os.path.join(d, "nopx.h5"), "--maps", os.path.join(d, "maps.h5"),
                          "--arch", "resnet18", "--random-init", "-o", out, "-q"])
        assert rc == 1 and not os.path.exists(out)


@pytest.mark.parametrize("flat", [True, False])
def test_threads_and_batch_change_nothing(tmp_path, flat):
    """1 thread and a batch of 2048 against 2 threads and a batch of 7: the same values (both
    paths; the plain tail's rows are independent in eval mode)."""
    L = Linear(str(tmp_path), N=40, flat=flat)
    a = L.run("--threads", "1", out="t1.h5")
    b = L.run("--threads", "2", "--batch", "7", out="t2.h5")
    for k in ("y/original", "y/reference", "deletion", "insertion", "claim/target", "claim/others"):
        assert np.array_equal(a[k][()], b[k][()]), k
