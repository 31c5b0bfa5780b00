"""Tests of the data side: scene generator, exporters, gradients.

    /usr/bin/python3 -m pytest -q tests/test_exporters.py

Needs no trained weights and no default data (random-init nets, a handful of scenes, a tiny
VOC-style folder made here).  Files are validated with `bin/gradcam-study check`, built with
`make -C ROOT` when missing (the tests that need it are skipped, with the reason, only if the
build fails).
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
import export  # noqa: E402
import export_torchvision  # noqa: E402
import gcexport  # noqa: E402
import nets  # noqa: E402
import scenes  # noqa: E402

torch.set_num_threads(2)
BIN = os.path.join(ROOT, "bin", "gradcam-study")


@pytest.fixture(scope="session")
def checker():
    if not os.access(BIN, os.X_OK):
        r = subprocess.run(["make", "-C", ROOT], capture_output=True, text=True)
        if r.returncode != 0 or not os.access(BIN, os.X_OK):
            pytest.skip("bin/gradcam-study is missing and `make -C %s` failed: %s"
                        % (ROOT, (r.stderr or r.stdout)[-500:]))

    def check(path):
        r = subprocess.run([BIN, "check", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, "check %s failed:\n%s%s" % (path, r.stdout, r.stderr)
        return r.stdout
    return check


# --------------------------------------------------------------------------- scenes

def test_scene_determinism():
    a = scenes.make_scene("test", 5, 3)
    scenes.make_scene("test", 5, 4)  # other scenes in between change nothing
    b = scenes.make_scene("test", 5, 3)
    for k in ("pixels", "classes", "boxes", "labels"):
        assert np.array_equal(a[k], b[k]), k
    c = scenes.make_scene("test", 6, 3)
    d = scenes.make_scene("train", 5, 3)
    assert not np.array_equal(a["pixels"], c["pixels"])
    assert not np.array_equal(a["pixels"], d["pixels"])
    px1, lab1, it1 = scenes.make_scenes("test", 5, 2, 3)
    assert np.array_equal(px1[1], a["pixels"]) and np.array_equal(it1[1][1], a["boxes"])


@pytest.mark.parametrize("split", ["train", "test"])
def test_scene_boxes_are_tight_boxes_of_visible_pixels(split):
    multi = 0
    for i in range(40):
        s = scenes.make_scene(split, 11, i, return_masks=True)
        n = len(s["classes"])
        assert 1 <= n <= 4
        assert len(set(s["classes"].tolist())) == n, "classes must be distinct"
        assert s["pixels"].shape == (96, 96) and s["pixels"].dtype == np.uint8
        assert s["labels"].sum() == n and all(s["labels"][c] == 1 for c in s["classes"])
        multi += n >= 2
        vis = s["visible"]
        for k in range(n):
            # visible = own mask minus the masks of later items
            later = np.zeros((96, 96), bool)
            for j in range(k + 1, n):
                later |= s["masks"][j]
            assert np.array_equal(vis[k], s["masks"][k] & ~later)
            assert vis[k].sum() >= scenes.MIN_VISIBLE * s["masks"][k].sum() - 1e-9
            rows, cols = np.nonzero(vis[k])
            tight = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
            assert tuple(s["boxes"][k]) == tight, (i, k)
    assert multi >= 25


def test_test_scenes_mostly_multi_class():
    n = [len(scenes.make_scene("test", 1, i)["classes"]) for i in range(200)]
    assert np.mean(np.array(n) >= 2) >= 0.8


@pytest.mark.parametrize("split,other", [("test", "train"), ("train", "test")])
def test_scene_sources_are_separate(monkeypatch, split, other):
    """Blank out the OTHER split's items: the scenes of `split` must be unaffected."""
    ref = [scenes.make_scene(split, 3, i) for i in range(5)]
    imgs, labels, by_class = scenes.load_split(other)
    monkeypatch.setitem(scenes._CACHE, other, (np.zeros_like(imgs), labels, by_class))
    for i in range(5):
        s = scenes.make_scene(split, 3, i)
        assert np.array_equal(s["pixels"], ref[i]["pixels"])
        assert np.array_equal(s["boxes"], ref[i]["boxes"])
    # and blanking the split's own items does change them (so the check above means something)
    monkeypatch.setitem(scenes._CACHE, split, (np.zeros_like(scenes.load_split(split)[0]),) +
                        scenes.load_split(split)[1:])
    with pytest.raises(Exception):
        scenes.make_scene(split, 3, 0)  # no visible pixel: no item box can be made


# --------------------------------------------------------------------------- gradients

def _small_net(name="vgg-relu", dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    m = nets.build(name)
    # non-trivial BatchNorm statistics, so "pre" has a bias-like shift
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.3, 0.3)
    return m.to(dtype).eval()


def _inputs(n=3, seed=1):
    px, lab, _ = scenes.make_scenes("test", seed, 0, n)
    return px, lab, torch.from_numpy(px).unsqueeze(1).double() / 255.0


def test_explain_matches_autograd_per_target():
    model = _small_net()
    px, lab, x = _inputs()
    t_img, t_cls = np.nonzero(lab)
    acts, grads, sal, logits = gcexport.explain(model.forward_taps, x, t_img, t_cls, ["pre", "post"])
    for t, (i, c) in enumerate(zip(t_img, t_cls)):
        xi = x[i:i + 1].clone().requires_grad_(True)
        taps, lg = model.forward_taps(xi)
        gpre, gpost, gx = torch.autograd.grad(lg[0, c], [taps["pre"], taps["post"], xi])
        assert torch.allclose(grads["pre"][t], gpre[0], rtol=1e-9, atol=1e-12)
        assert torch.allclose(grads["post"][t], gpost[0], rtol=1e-9, atol=1e-12)
        assert torch.allclose(sal[t], gx[0].abs().amax(0), rtol=1e-9, atol=1e-12)
        assert torch.allclose(acts["post"][i], taps["post"][0].detach())
        assert torch.allclose(logits[i], lg[0].detach())
    assert (acts["post"] >= 0).all() and (acts["pre"] < 0).any()


def test_gradients_match_finite_differences():
    model = _small_net()
    px, lab, x = _inputs(2)
    t_img, t_cls = np.nonzero(lab)
    acts, grads, sal, _ = gcexport.explain(model.forward_taps, x, t_img, t_cls, ["pre", "post"])
    blk = model.trunk.blocks[-1]
    rng = np.random.default_rng(0)
    eps = 1e-6
    for t in range(min(3, len(t_img))):
        i, c = t_img[t], t_cls[t]
        pre = model.forward_taps(x[i:i + 1])[0]["pre"].detach()
        K, h, w = pre.shape[1:]
        for _ in range(4):
            # an element away from the ReLU kink, so the finite difference is clean
            while True:
                k, a, b = rng.integers(K), rng.integers(h), rng.integers(w)
                if abs(float(pre[0, k, a, b])) > 1e-3:
                    break
            e = torch.zeros_like(pre)
            e[0, k, a, b] = eps
            fd_pre = (model.head(blk.act(pre + e))[0, c] - model.head(blk.act(pre - e))[0, c]) / (2 * eps)
            post = blk.act(pre)
            fd_post = (model.head(post + e)[0, c] - model.head(post - e)[0, c]) / (2 * eps)
            assert abs(float(fd_pre) - float(grads["pre"][t, k, a, b])) < 1e-6 * (1 + abs(float(fd_pre)))
            assert abs(float(fd_post) - float(grads["post"][t, k, a, b])) < 1e-6 * (1 + abs(float(fd_post)))
        for _ in range(3):  # input pixels: saliency = |dy/dx|
            a, b = rng.integers(96), rng.integers(96)
            e = torch.zeros_like(x[i:i + 1])
            e[0, 0, a, b] = eps
            fd = (model(x[i:i + 1] + e)[0, c] - model(x[i:i + 1] - e)[0, c]) / (2 * eps)
            assert abs(abs(float(fd)) - float(sal[t, a, b])) < 1e-5 * (1 + abs(float(fd)))


# --------------------------------------------------------------------------- default exporter

def test_default_exporter_tiny(tmp_path, checker):
    out = tmp_path / "default"
    assert export.main(["--random-init", "--count", "7", "--batch", "3", "--out", str(out)]) == 0
    names = sorted(os.listdir(out))
    assert names == sorted(f for _, _, f in export.OUTPUTS), names  # no temporary file left
    for f in names:
        checker(out / f)
    px, lab, items = scenes.make_scenes("test", 1, 0, 7)
    for f in names:
        with h5py.File(out / f, "r") as h:
            assert h.attrs["schema"] == "gradcam-study/1"
            A = h["activations"][:]
            assert A.dtype == np.float32 and A.shape == (7, 64, 12, 12)
            assert np.array_equal(h["images/labels"][:], lab)
            assert np.array_equal(h["images/pixels"][:, :, :, 0], px)
            ti, tc = h["targets/image"][:], h["targets/class"][:]
            assert np.array_equal(np.stack([ti, tc]), np.stack(np.nonzero(lab)))
            assert h["targets/gradients"].shape == (len(ti), 64, 12, 12)
            assert h["targets/saliency"].shape == (len(ti), 96, 96)
            bi, bc, bx = h["boxes/image"][:], h["boxes/class"][:], h["boxes/xyxy"][:]
            for i, (cls, boxes) in enumerate(items):
                got = sorted((int(c), tuple(b)) for c, b in zip(bc[bi == i], bx[bi == i].tolist()))
                want = sorted((int(c), tuple(float(v) for v in b)) for c, b in zip(cls, boxes))
                assert got == want
            act = h.attrs["activation"]
            if f in ("vgg-relu-post.h5", "gap-linear.h5"):
                assert act == "post-relu" and A.min() >= 0 and (A == 0).any()
            else:
                assert act in ("pre-activation", "gelu") and (A < 0).any()
    # the stored gradients are the targets' own (recomputed one by one, float32)
    model = export.load_net("vgg-relu", None, random_init=True)
    with h5py.File(out / "vgg-relu-pre.h5", "r") as h:
        G, ti, tc, S = h["targets/gradients"][:], h["targets/image"][:], h["targets/class"][:], \
            h["targets/saliency"][:]
        scores = h["images/scores"][:]
    for t in range(len(ti)):
        xi = (torch.from_numpy(px[ti[t]]).float() / 255).view(1, 1, 96, 96).requires_grad_(True)
        taps, lg = model.forward_taps(xi)
        g, gx = torch.autograd.grad(lg[0, tc[t]], [taps["pre"], xi])
        assert np.allclose(G[t], g[0].numpy(), rtol=1e-4, atol=1e-6), t
        assert np.allclose(S[t], gx[0, 0].abs().numpy(), rtol=1e-4, atol=1e-7), t
        assert np.allclose(scores[ti[t]], lg[0].detach().numpy(), rtol=1e-4, atol=1e-5)


def test_interrupted_export_leaves_no_file(tmp_path, monkeypatch):
    calls = []

    def boom(*a, **k):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*a, **k)
    real = gcexport.explain
    monkeypatch.setattr(gcexport, "explain", boom)
    with pytest.raises(KeyboardInterrupt):
        export.main(["--random-init", "--count", "6", "--batch", "3", "--out", str(tmp_path),
                     "--nets", "vgg-relu"])
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- VOC exporter

def _voc_folder(root):
    from PIL import Image
    img, ann = root / "JPEGImages", root / "Annotations"
    img.mkdir()
    ann.mkdir()
    rng = np.random.default_rng(0)
    specs = {  # name: (H, W, [(class, xmin, ymin, xmax, ymax, difficult)])  1-based inclusive
        "a": (200, 300, [("cat", 101, 51, 200, 150, 0), ("dog", 1, 1, 60, 200, 1)]),
        "b": (260, 180, [("bird", 20, 30, 170, 250, 0), ("horse", 5, 5, 50, 50, 0)]),
        "c": (128, 128, [("dog", 10, 10, 120, 100, 0), ("cat", 30, 40, 60, 90, 0),
                         ("dog", 70, 5, 125, 40, 0)]),
        "d": (150, 150, [("horse", 1, 1, 20, 20, 0)]),  # no known class: skipped
    }
    for name, (H, W, objs) in specs.items():
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(
            img / (name + (".png" if name != "c" else ".jpg")))
        xml = ["<annotation><filename>%s</filename><size><width>%d</width><height>%d</height>"
               "<depth>3</depth></size>" % (name, W, H)]
        for (c, x0, y0, x1, y1, d) in objs:
            xml.append("<object><name>%s</name><difficult>%d</difficult><bndbox><xmin>%d</xmin>"
                       "<ymin>%d</ymin><xmax>%d</xmax><ymax>%d</ymax></bndbox></object>"
                       % (c, d, x0, y0, x1, y1))
        xml.append("</annotation>")
        (ann / (name + ".xml")).write_text("".join(xml))
    (root / "classes.txt").write_text("cat 0\ndog 1\nbird 2\n")
    return img, ann, root / "classes.txt"


def test_box_mapping():
    geo = export_torchvision.geometry(200, 300, 128, 112)
    assert geo == (128, 192, 8, 40)
    b, clipped = export_torchvision.map_box((101, 51, 200, 150), 200, 300, geo, 112, 1)
    assert np.allclose(b, [24, 24, 88, 88]) and not clipped
    b, clipped = export_torchvision.map_box((1, 1, 60, 200), 200, 300, geo, 112, 1)
    assert b is None  # wholly left of the crop (x1 = 60 * 0.64 - 40 < 0)
    b, clipped = export_torchvision.map_box((50, 1, 150, 200), 200, 300, geo, 112, 1)
    assert clipped and np.allclose(b, [0, 0, 56, 112])
    b, _ = export_torchvision.map_box((100, 50, 199, 149), 200, 300, geo, 112, 0)
    assert np.allclose(b, [24, 24, 88, 88])


@pytest.mark.parametrize("arch,layer,activation", [("resnet18", "layer4", "post-relu"),
                                                    ("vgg11", "features.18", "pre-activation")])
def test_voc_exporter(tmp_path, checker, arch, layer, activation):
    img, ann, classes = _voc_folder(tmp_path)
    out = tmp_path / "voc.h5"
    rc = export_torchvision.main(["--arch", arch, "--random-init", "--num-classes", "3",
                                  "--layer", layer, "--images", str(img), "--annotations", str(ann),
                                  "--classes", str(classes), "--resize", "128", "--crop", "112",
                                  "--batch", "2", "-o", str(out)])
    assert rc == 0
    summary = checker(out)
    assert "N=3" in summary
    with h5py.File(out, "r") as h:
        assert h.attrs["activation"] == activation
        assert [c.decode() if isinstance(c, bytes) else c for c in h["classes"][:]] == ["cat", "dog", "bird"]
        assert h["images/pixels"].shape == (3, 112, 112, 3)
        assert np.array_equal(h["targets/image"][:], [0, 0, 1, 2, 2])
        assert np.array_equal(h["targets/class"][:], [0, 1, 2, 0, 1])
        bi, bc, bx = h["boxes/image"][:], h["boxes/class"][:], h["boxes/xyxy"][:]
        # image a: the cat box maps to (24, 24, 88, 88); the dog box falls outside the crop
        assert list(bi[bi == 0]) == [0] and bc[0] == 0 and np.allclose(bx[0], [24, 24, 88, 88])
        assert int(h.attrs["boxes_dropped"]) == 1
        assert bx.min() >= 0 and bx.max() <= 112
        A = h["activations"][:]
        if activation == "pre-activation":
            assert (A < 0).any()  # an in-place ReLU after the conv would have zeroed these
        else:
            assert A.min() >= 0
        G, S, px = h["targets/gradients"][:], h["targets/saliency"][:], h["images/pixels"][:]
    # recompute target 3 (image c, class cat) directly from the stored pixels
    model = export_torchvision.build_model(arch, None, True, 3)
    tap = export_torchvision.Tap(model, layer)
    x = torch.from_numpy(px[2]).permute(2, 0, 1).float()[None] / 255.0
    x = ((x - torch.tensor(export_torchvision.MEAN).view(1, 3, 1, 1))
         / torch.tensor(export_torchvision.STD).view(1, 3, 1, 1)).requires_grad_(True)
    taps, lg = tap.forward(x)
    g, gx = torch.autograd.grad(lg[0, 0], [taps["A"], x])
    # float32, batched vs single-image convolutions: compare relative to the map's scale
    g, s = g[0].numpy(), gx[0].abs().amax(0).numpy()
    assert np.abs(G[3] - g).max() <= 1e-3 * np.abs(g).max()
    assert np.abs(S[3] - s).max() <= 2e-2 * s.max()
    assert np.corrcoef(S[3].ravel(), s.ravel())[0, 1] > 0.999
