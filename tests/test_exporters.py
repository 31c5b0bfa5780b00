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


def test_interrupted_export_leaves_no_file(tmp_path, monkeypatch, capfd):
    calls = []

    def boom(*a, **k):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*a, **k)
    real = gcexport.explain
    monkeypatch.setattr(gcexport, "explain", boom)
    rc = export.main(["--random-init", "--count", "6", "--batch", "3", "--out", str(tmp_path),
                      "--nets", "vgg-relu"])
    assert rc == 130
    assert capfd.readouterr().err == ("export.py: %s: interrupted by SIGINT, the files being written "
                                      "removed (finished ones kept)\n" % tmp_path)
    assert os.listdir(tmp_path) == []


def _export_refused(capfd, argv, culprit, words):
    rc = export.main(argv)
    out, err = capfd.readouterr()
    lines = err.splitlines()
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err, (rc, err)
    assert lines[0].startswith("export.py: %s: " % culprit) and words in lines[0], lines[0]
    print(lines[0])


def test_default_exporter_bad_input(tmp_path, capfd):
    """export.py's options and inputs: one line naming the culprit, exit 1, nothing written."""
    out = tmp_path / "out"
    base = ["--count", "3", "--out", str(out)]
    _export_refused(capfd, base + ["--random-init", "--nets", "vgg-relu,foo"], "--nets vgg-relu,foo",
                    "unknown net 'foo' (known: vgg-relu, gap-linear, vgg-signed)")
    _export_refused(capfd, base + ["--random-init", "--count", "0"], "--count 0", "must be at least 1")
    _export_refused(capfd, base + ["--random-init", "--batch", "0"], "--batch 0", "must be at least 1")
    _export_refused(capfd, base + ["--random-init", "--weights", "data/weights"], "--weights data/weights",
                    "given together with --random-init")
    _export_refused(capfd, base + ["--weights", str(tmp_path / "nope")], str(tmp_path / "nope"),
                    "no such folder (--weights")
    w = tmp_path / "w"
    w.mkdir()
    _export_refused(capfd, base + ["--weights", str(w), "--nets", "vgg-relu"], str(w / "vgg-relu.pt"),
                    "no such weights file (train it with scripts/train.py --net vgg-relu)")
    torch.save(nets.build("gap-linear").state_dict(), w / "vgg-relu.pt")
    _export_refused(capfd, base + ["--weights", str(w), "--nets", "vgg-relu"], str(w / "vgg-relu.pt"),
                    "not weights of vgg-relu: Missing key(s)")
    (w / "vgg-signed.pt").write_bytes(b"junk")
    _export_refused(capfd, base + ["--weights", str(w), "--nets", "vgg-signed"], str(w / "vgg-signed.pt"),
                    "not a state_dict torch.load can read")
    (tmp_path / "file").write_text("x")
    _export_refused(capfd, ["--random-init", "--count", "3", "--out", str(tmp_path / "file")],
                    str(tmp_path / "file"), "not a folder (--out)")
    assert not out.exists()
    assert export.main(base + ["--count", "x"]) == 2
    assert capfd.readouterr().err == \
        "export.py: error: argument --count: invalid int value: 'x' (see --help)\n"


def test_default_exporter_sigterm_leaves_no_file(tmp_path):
    import signal
    import time
    slow = _SLOW.replace("export_torchvision", "export") % os.path.join(ROOT, "scripts")
    p = subprocess.Popen([sys.executable, "-c", slow, "--random-init", "--count", "12", "--batch", "1",
                          "--nets", "gap-linear", "--out", str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not os.listdir(tmp_path) and p.poll() is None and time.time() - t0 < 60:
        time.sleep(0.02)
    assert os.listdir(tmp_path) == ["gap-linear.h5.tmp%d" % p.pid]
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert err == "export.py: %s: interrupted by SIGTERM, the files being written removed (finished " \
        "ones kept)\n" % tmp_path
    assert os.listdir(tmp_path) == []


def test_default_exporter_help():
    for action in export.parser()._actions:
        assert action.help, action.option_strings
    h = export.parser().format_help()
    assert "(default: 2000)" in h and "(default: data/default)" in h


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
    """--resize-mode crop on a 200x300 (HxW) image, resize 128, crop 112, by hand: resized to
    128x192 (torchvision's rounding: int(128 * 300 / 200)), crop offsets top 8, left 40."""
    geo = export_torchvision.Geometry(200, 300, "crop", 128, 112)
    assert (geo.nh, geo.nw, geo.oy, geo.ox) == (128, 192, -8, -40)
    eb = export_torchvision.edge_box
    b, clipped = geo.map_box(eb((101, 51, 200, 150), 1))  # edges 100..200 x 50..150, * 0.64
    assert np.allclose(b, [24, 24, 88, 88]) and not clipped
    b, clipped = geo.map_box(eb((1, 1, 60, 200), 1))
    assert b is None  # wholly left of the crop (x1 = 60 * 0.64 - 40 < 0)
    b, clipped = geo.map_box(eb((50, 1, 150, 200), 1))
    assert clipped and np.allclose(b, [0, 0, 56, 112])
    b, _ = geo.map_box(eb((100, 50, 199, 149), 0))
    assert np.allclose(b, [24, 24, 88, 88])


def test_box_mapping_fit_and_stretch():
    """The same 200x300 image and box (edges x 100..200, y 50..150) in a 112 frame, by hand.
    fit: scale 112 / 300 = 0.37333, resized to 75 x 112 (200 * 0.37333 = 74.67 -> 75 rows), padded
    by (112 - 75) // 2 = 18 rows above: x 100 * 0.37333 = 37.333 .. 74.667, y 50 * 75/200 + 18 =
    36.75 .. 150 * 0.375 + 18 = 74.25.  stretch: x * 112/300, y * 112/200 = 28 .. 84."""
    eb = export_torchvision.edge_box((101, 51, 200, 150), 1)
    fit = export_torchvision.Geometry(200, 300, "fit", 0, 112)
    assert (fit.nh, fit.nw, fit.oy, fit.ox) == (75, 112, 18, 0)
    assert fit.content == (0, 18, 112, 93)
    b, clipped = fit.map_box(eb)
    assert np.allclose(b, [37.3333333, 36.75, 74.6666667, 74.25]) and not clipped
    # portrait 300x200 (HxW): padded left and right, the box transposed
    fitp = export_torchvision.Geometry(300, 200, "fit", 0, 112)
    assert (fitp.nh, fitp.nw, fitp.oy, fitp.ox) == (112, 75, 0, 18)
    b, _ = fitp.map_box((50, 100, 150, 200))
    assert np.allclose(b, [36.75, 37.3333333, 74.25, 74.6666667])
    # a box over the whole image is the content region, not clipped
    b, clipped = fit.map_box((0, 0, 300, 200))
    assert np.allclose(b, [0, 18, 112, 93]) and not clipped
    st = export_torchvision.Geometry(200, 300, "stretch", 0, 112)
    assert (st.nh, st.nw, st.oy, st.ox) == (112, 112, 0, 0)
    b, clipped = st.map_box(eb)
    assert np.allclose(b, [37.3333333, 28, 74.6666667, 84]) and not clipped
    b, clipped = st.map_box((-10, 0, 30, 200))  # partly outside the image: clipped to it
    assert clipped and np.allclose(b, [0, 0, 30 * 112 / 300, 112])


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


# --------------------------------------------------------------------------- VOC exporter: frames

def _frame_case(tmp_path):
    """A 200x300 (HxW) black picture with a white rectangle over pixels x 100..199, y 50..149
    and its XML box (1-based inclusive: 101 51 200 150)."""
    from PIL import Image
    img, ann = tmp_path / "img", tmp_path / "ann"
    img.mkdir()
    ann.mkdir()
    a = np.zeros((200, 300, 3), np.uint8)
    a[50:150, 100:200] = 255
    Image.fromarray(a).save(img / "wide.png")
    _write_xml(ann / "wide.xml", 300, 200, [("cat", 101, 51, 200, 150)])
    (tmp_path / "classes.txt").write_text("cat\ndog\nbird\n")
    return img, ann, tmp_path / "classes.txt"


def _write_xml(path, W, H, objs, extra=""):
    """objs: (name, xmin, ymin, xmax, ymax) with any values (written as given; None = left out)."""
    x = ["<annotation><filename>%s</filename><size><width>%d</width><height>%d</height>"
         "<depth>3</depth></size>" % (path.stem, W, H)]
    for o in objs:
        box = "".join("<%s>%s</%s>" % (k, v, k) for k, v in zip(("xmin", "ymin", "xmax", "ymax"), o[1:5])
                      if v is not None)
        x.append("<object><name>%s</name><difficult>0</difficult><bndbox>%s</bndbox></object>"
                 % (o[0], box))
    x.append(extra + "</annotation>")
    path.write_text("".join(x))


@pytest.mark.parametrize("mode,extra,want", [
    ("crop", ["--resize", "128"], [24, 24, 88, 88]),
    ("fit", [], [37.3333, 36.75, 74.6667, 74.25]),
    ("stretch", [], [37.3333, 28, 74.6667, 84]),
])
def test_resize_modes_pixels_and_boxes(tmp_path, checker, mode, extra, want):
    """Each --resize-mode end to end on a non-square picture: the stored box is the hand-computed
    one (see test_box_mapping*) and lies on the white rectangle of the stored pixels."""
    img, ann, classes = _frame_case(tmp_path)
    out = tmp_path / ("%s.h5" % mode)
    rc = export_torchvision.main(TV_NET + ["--crop", "112", "--resize-mode", mode, "--images", str(img),
                                           "--annotations", str(ann), "--classes", str(classes),
                                           "-o", str(out), "--quiet"] + extra)
    assert rc == 0
    checker(out)
    with h5py.File(out, "r") as h:
        box = h["boxes/xyxy"][0]
        px = h["images/pixels"][0]
        assert [n.decode() if isinstance(n, bytes) else n for n in h["images/name"][:]] == ["wide.png"]
        assert mode in h.attrs["dataset"] or (mode == "crop" and "centre crop 112" in h.attrs["dataset"])
        assert int(h.attrs["boxes_clipped"]) == 0 and int(h.attrs["boxes_dropped"]) == 0
    assert np.allclose(box, want, atol=1e-3), box
    rows, cols = np.nonzero(px[:, :, 0] > 127)
    assert abs(cols.min() - box[0]) <= 1 and abs(cols.max() + 1 - box[2]) <= 1, (cols.min(), cols.max())
    assert abs(rows.min() - box[1]) <= 1 and abs(rows.max() + 1 - box[3]) <= 1, (rows.min(), rows.max())
    if mode == "fit":  # padding rows above and below, the ImageNet mean colour
        assert tuple(px[0, 0]) == export_torchvision.FILL and tuple(px[111, 111]) == export_torchvision.FILL
        assert tuple(px[18, 0]) == (0, 0, 0) and tuple(px[92, 0]) == (0, 0, 0)
    else:
        assert tuple(px[0, 0]) == (0, 0, 0)


# --------------------------------------------------------------------------- VOC exporter: bad input

TV_NET = ["--arch", "resnet18", "--random-init", "--num-classes", "3", "--layer", "layer4",
          "--crop", "64", "--batch", "4", "--threads", "2"]


class _Case:
    """A small usable folder made from scratch: two random pictures (a.png 60x90, b.jpg 80x70),
    their XML, classes.txt (cat dog bird); args() = the command line, with changes."""

    def __init__(self, root):
        from PIL import Image
        self.root, self.img, self.ann = root, root / "img", root / "ann"
        self.img.mkdir()
        self.ann.mkdir()
        rng = np.random.default_rng(5)
        Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)).save(self.img / "a.png")
        Image.fromarray(rng.integers(0, 256, (80, 70, 3), dtype=np.uint8)).save(self.img / "b.jpg",
                                                                                quality=90)
        _write_xml(self.ann / "a.xml", 90, 60, [("cat", 30, 10, 60, 50), ("dog", 5, 5, 40, 40)])
        _write_xml(self.ann / "b.xml", 70, 80, [("bird", 10, 20, 60, 70)])
        self.classes = root / "classes.txt"
        self.classes.write_text("cat 0\ndog 1\nbird 2\n")
        self.out = root / "out" / "x.h5"

    def args(self, drop=(), **over):
        opts = {"--images": str(self.img), "--annotations": str(self.ann),
                "--classes": str(self.classes), "-o": str(self.out)}
        opts.update({k.replace("_", "-") if k.startswith("--") else k: v for k, v in over.items()})
        net = list(TV_NET)
        for d in drop:
            i = net.index(d)
            del net[i:i + (1 if d == "--random-init" else 2)]
        return net + [x for k, v in opts.items() if v is not None for x in (k, v)]

    def outputs(self):
        d = self.out.parent
        return sorted(os.listdir(d)) if d.exists() else []


def _run_tv(capfd, argv):
    rc = export_torchvision.main(argv)
    out, err = capfd.readouterr()
    return rc, out, err


def _one_line(rc, err, culprit, words, status=1):
    lines = err.splitlines()
    assert rc == status, "exit %s, expected %s: %s" % (rc, status, err)
    assert len(lines) == 1, "expected one line on stderr, got:\n" + err
    assert "Traceback" not in err
    line = lines[0]
    assert line.startswith("export_torchvision.py: %s: " % culprit), line
    for w in words if isinstance(words, (list, tuple)) else [words]:
        assert w in line, (w, line)
    print(line)
    return line


def _truncated_jpeg(c):
    from PIL import Image
    rng = np.random.default_rng(1)
    p = c.img / "b.jpg"
    Image.fromarray(rng.integers(0, 256, (80, 70, 3), dtype=np.uint8)).save(p, quality=95)
    data = p.read_bytes()
    p.write_bytes(data[:len(data) // 2])
    return str(p)


def _other_arch_weights(c):
    import torchvision
    torch.manual_seed(0)
    p = c.root / "squeezenet.pth"
    torch.save(torchvision.models.squeezenet1_1(weights=None, num_classes=3).state_dict(), p)
    return str(p)


def _newline_name(c):
    """An image whose name holds a newline: refused (it would break a CSV line); the culprit is
    printed on one line all the same."""
    (c.img / "a.png").rename(c.img / "a\nb.png")
    (c.ann / "a.xml").rename(c.ann / "a\nb.xml")
    return str(c.img / "a\\nb.png")


def _then(_, culprit):
    return culprit


# (id, change the case -> culprit, the words the line must hold, extra argv changes)
BAD = {
    "not an image": (lambda c: _then((c.img / "a.png").write_bytes(b"not a picture\n"), str(c.img / "a.png")),
                     "not an image", {}),
    "truncated JPEG": (_truncated_jpeg, "corrupt or truncated image", {}),
    "malformed XML": (lambda c: _then((c.ann / "b.xml").write_text(
                          "<annotation><object><name>bird</name></annotation>"), str(c.ann / "b.xml")),
                      "not well-formed XML: mismatched tag: line 1", {}),
    "object without xmax": (lambda c: _write_xml(c.ann / "a.xml", 90, 60, [("cat", 1, 1, None, 9)])
                            or str(c.ann / "a.xml"), "object 1 (cat) <bndbox>: no <xmax>", {}),
    "coordinate not a number": (lambda c: _write_xml(c.ann / "a.xml", 90, 60, [("cat", 1, 1, "1O", 9)])
                                or str(c.ann / "a.xml"), "<xmax> is '1O', not a number", {}),
    "missing --images": (lambda c: str(c.root / "nope"), "no such folder (--images)",
                         {"--images": "nope"}),
    "empty --images": (lambda c: [p.unlink() for p in c.img.iterdir()] and str(c.img),
                       "no jpg/jpeg/png", {}),
    "missing --annotations": (lambda c: str(c.root / "nope"), "no such folder (--annotations)",
                              {"--annotations": "nope"}),
    "empty --annotations": (lambda c: [p.unlink() for p in c.ann.iterdir()] and str(c.ann),
                            "no xml file in the folder (--annotations); it is empty", {}),
    "missing --classes": (lambda c: str(c.root / "nope.txt"), "no such classes file",
                          {"--classes": "nope.txt"}),
    "class index beyond the net": (lambda c: _then(c.classes.write_text("cat 0\ndog 7\n"), str(c.classes)),
                                   "line 2: index 7 of 'dog', but resnet18 has 3 outputs", {}),
    "no known class anywhere": (lambda c: _then(c.classes.write_text("kite\n"), str(c.classes)),
                                ["no object in the XML files of the 2 images has a class listed here",
                                 "'cat' (a.xml)"], {}),
    "no XML for any image": (lambda c: _then([p.rename(c.ann / ("x" + p.name)) for p in c.ann.iterdir()],
                                             str(c.ann)),
                             ["no XML file for any of the 2 images", "a.png needs a.xml", "xa.xml"], {}),
    "weights of another arch": (_other_arch_weights, "not weights of resnet18",
                                {"drop": ["--random-init"], "--weights": "squeezenet.pth"}),
    "weights not a state_dict": (lambda c: _then((c.root / "w.pth").write_bytes(b"PK junk"), str(c.root / "w.pth")),
                                 "not a state_dict torch.load can read",
                                 {"drop": ["--random-init"], "--weights": "w.pth"}),
    "weights file missing": (lambda c: str(c.root / "w.pth"), "no such weights file",
                             {"drop": ["--random-init"], "--weights": "w.pth"}),
    "--random-init with --weights": (lambda c: _then((c.root / "w.pth").write_bytes(b"x"),
                                                     "--weights " + str(c.root / "w.pth")),
                                     "given together with --random-init", {"--weights": "w.pth"}),
    "neither weights nor random init": (lambda c: "--weights", "give --weights FILE",
                                        {"drop": ["--random-init"]}),
    "unknown --arch": (lambda c: "--arch resnet181", ["not a torchvision classifier", "resnet18"],
                       {"--arch": "resnet181"}),
    "--crop 0": (lambda c: "--crop 0", "must be a positive number of pixels", {"--crop": "0"}),
    "--crop too small for the net": (lambda c: "--crop 8", "too small for squeezenet1_1",
                                     {"--crop": "8", "--arch": "squeezenet1_1", "--layer": "features.12"}),
    "--resize with fit": (lambda c: "--resize 256", "applies to --resize-mode crop only",
                          {"--resize": "256", "--resize-mode": "fit"}),
    "wrong --layer (ResNet)": (lambda c: "--layer layer5",
                               ["no module of that name in resnet18", "near names: layer4", "layer4.1.bn2",
                                "layer4 (Sequential 512x2x2)"], {"--layer": "layer5"}),
    "--layer not a feature map": (lambda c: "--layer fc", "its output [1, 3] is not a feature map",
                                  {"--layer": "fc"}),
    "-o is a folder": (lambda c: c.out.mkdir(parents=True) or str(c.out), "is a folder", {}),
    "-o under a file": (lambda c: _then((c.root / "f").write_text("x"), str(c.root / "f" / "x.h5")),
                        "cannot be written: ", {"-o": "f/x.h5"}),
    "file name with a newline": (_newline_name, "file name unusable as /images/name: control "
                                 "character U+000A in the name; rename the file", {}),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_line(tmp_path, capfd, case):
    """Each bad input built from scratch: one line naming the culprit, exit 1, no traceback, no
    output file (and no temporary) left."""
    c = _Case(tmp_path)
    make, words, over = BAD[case]
    culprit = make(c)
    over = dict(over)
    drop = over.pop("drop", ())
    for k in ("--images", "--annotations", "--classes", "--weights", "-o"):
        if k in over and not os.path.isabs(over[k]):
            over[k] = str(tmp_path / over[k])
    rc, out, err = _run_tv(capfd, c.args(drop=drop, **over))
    _one_line(rc, err, culprit, words)
    assert out == ""
    assert [f for f in c.outputs() if f != "x.h5" or case != "-o is a folder"] == []
    assert not (tmp_path / "f" / "x.h5").exists()


def test_image_modes(tmp_path, capfd):
    """Greyscale, RGBA, palette and CMYK pictures are read as RGB."""
    from PIL import Image
    c = _Case(tmp_path)
    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8))
    for n, im, ext in (("g", rgb.convert("L"), ".jpg"), ("r", rgb.convert("RGBA"), ".png"),
                       ("p", rgb.convert("P"), ".png"), ("k", rgb.convert("CMYK"), ".jpg")):
        im.save(c.img / (n + ext))
        _write_xml(c.ann / (n + ".xml"), 90, 60, [("cat", 30, 10, 60, 50)])
    rc, out, err = _run_tv(capfd, c.args())
    assert rc == 0 and err == "", err
    with h5py.File(c.out, "r") as h:
        names = [x.decode() if isinstance(x, bytes) else x for x in h["images/name"][:]]
        assert names == ["a.png", "b.jpg", "g.jpg", "k.jpg", "p.png", "r.png"]
        px = h["images/pixels"][:]
        g = px[names.index("g.jpg")].astype(int)
        assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 0], g[..., 2])


def test_wrong_layer_vgg_lists_the_last_convs(tmp_path, capfd):
    c = _Case(tmp_path)
    rc, out, err = _run_tv(capfd, c.args(**{"--arch": "vgg11", "--layer": "features.99"}))
    _one_line(rc, err, "--layer features.99", ["near names: features.9", "features.18 (Conv2d 512x4x4)",
                                               "features.19 (ReLU 512x4x4)", "features.20 (MaxPool2d 512x2x2)"])


def test_weights_with_other_class_count_hint(tmp_path, capfd):
    import torchvision
    c = _Case(tmp_path)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None, num_classes=5).state_dict(), tmp_path / "r5.pth")
    rc, out, err = _run_tv(capfd, c.args(drop=["--random-init"], **{"--weights": str(tmp_path / "r5.pth")}))
    _one_line(rc, err, str(tmp_path / "r5.pth"), ["not weights of resnet18 with 3 classes", "fc.weight: [5, 512]",
                                                  "give --num-classes 5?"])


def test_usage_error_one_line_exit_2(tmp_path, capfd):
    c = _Case(tmp_path)
    rc, out, err = _run_tv(capfd, c.args(**{"--crop": "abc"}))
    assert rc == 2 and err.splitlines() == [
        "export_torchvision.py: error: argument --crop: invalid int value: 'abc' (see --help)"]


def test_unexpected_exception_is_one_line(tmp_path, capfd, monkeypatch):
    c = _Case(tmp_path)

    def boom(*a, **k):
        raise ZeroDivisionError("planted")
    monkeypatch.setattr(gcexport, "explain", boom)
    rc, out, err = _run_tv(capfd, c.args())
    _one_line(rc, err, "-", "unexpected ZeroDivisionError: planted")
    assert c.outputs() == []


def test_help_gives_every_option_a_line(capfd):
    with pytest.raises(SystemExit):
        export_torchvision.parser().parse_args(["--help"])
    out = capfd.readouterr().out
    for opt in ("--arch", "--weights", "--random-init", "--num-classes", "--layer", "--activation",
                "--images", "--annotations", "--classes", "--box-origin", "--limit", "--skip-bad",
                "--dataset", "--resize-mode", "--resize", "--crop", "--out", "--no-saliency",
                "--no-pixels", "--batch", "--threads", "--quiet"):
        assert opt in out
    for default in ("(default: 224)", "(default: 256)", "(default: crop)", "(default: 8)", "(default: 1)"):
        assert default in out, default
    for action in export_torchvision.parser()._actions:
        assert action.help, action.option_strings


def _skip_case(c):
    """c's folder plus what is skipped or left out, each of its own kind."""
    from PIL import Image
    rng = np.random.default_rng(2)
    for n in ("c", "d", "e", "f"):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(c.img / (n + ".png"))
    _write_xml(c.ann / "c.xml", 64, 64, [("Cat", 1, 1, 30, 30), ("bird", 5, 5, 60, 60)])
    _write_xml(c.ann / "d.xml", 64, 64, [("Kite", 1, 1, 30, 30), ("kyte", 2, 2, 9, 9)])
    _write_xml(c.ann / "e.xml", 64, 64, [("dog", 40, 5, 20, 30),     # inverted: xmax < xmin
                                         ("dog", 100, 100, 120, 120),  # outside the 64x64 image
                                         ("cat", 10, 10, 50, 50)])
    _write_xml(c.ann / "a.xml", 90, 60, [("cat", 30, 10, 60, 50), ("dog", 1, 5, 15, 40)])
    (c.ann / "g.xml").write_text("<annotation></annotation>")  # no image of that name
    (c.img / "notes.txt").write_text("hello")
    c.classes.write_text("cat 0\ndog 1\nbird 2\nkite 2\n")


def test_named_skips_and_box_kinds(tmp_path, capfd, checker):
    """Images without XML or known class, unknown / wrong-case class names with their files,
    inverted boxes, boxes outside the image and boxes cropped away: each named on stderr and
    counted in the file's attributes."""
    c = _Case(tmp_path)
    _skip_case(c)
    # a.xml's dog box (x 1..15 of 90) falls outside the centre crop of a 72-px resize (x 22..86
    # of 108)
    rc, out, err = _run_tv(capfd, c.args(**{"--resize": "72"}))
    assert rc == 0, err
    assert "Traceback" not in err
    notes = err.splitlines()
    print(err)
    assert all(n.startswith("export_torchvision.py: note: ") for n in notes)
    text = "\n".join(notes)
    assert "1 image without an XML file in %s, skipped: f.png" % c.ann in text
    assert "1 image whose XML has no object of a class in %s, skipped: d.png" % c.classes in text
    assert "'Cat' (c.xml; listed as 'cat')" in text
    assert "'Kite' (d.xml; listed as 'kite')" in text
    assert "'kyte' (d.xml; did you mean 'kite'?)" in text
    assert "1 box inverted or empty (xmax < xmin or ymax < ymin), left out: e.xml object 1 (dog)" in text
    assert "1 box wholly outside the image, left out: e.xml object 2 (dog)" in text
    assert "1 box cropped away by --resize-mode crop" in text and "a.xml object 2 (dog)" in text
    assert "1 entry of %s not read" % c.img in text and "notes.txt" in text
    assert "1 XML file without an image in %s: g.xml" % c.img in text
    assert "4 images, " in out
    checker(c.out)
    with h5py.File(c.out, "r") as h:
        names = [n.decode() if isinstance(n, bytes) else n for n in h["images/name"][:]]
        assert names == ["a.png", "b.jpg", "c.png", "e.png"]
        assert h["images/name"].dtype.kind == "O"
        got = {k: (int(h.attrs[k]), h.attrs[k].dtype) for k in (
            "boxes_dropped", "boxes_clipped", "boxes_inverted", "boxes_outside_image",
            "objects_unknown_class", "images_skipped")}
        assert {k: v for k, (v, _) in got.items()} == {
            "boxes_dropped": 1, "boxes_clipped": got["boxes_clipped"][0], "boxes_inverted": 1,
            "boxes_outside_image": 1, "objects_unknown_class": 3, "images_skipped": 2}
        assert all(t == np.int64 for _, t in got.values())
        # e.png: dog is present (its boxes were bad), cat has its box
        ti, tc = h["targets/image"][:], h["targets/class"][:]
        assert sorted(tc[ti == 3].tolist()) == [0, 1]


def test_skip_bad_names_the_skipped(tmp_path, capfd, checker):
    c = _Case(tmp_path)
    (c.img / "a.png").write_bytes(b"not a picture")
    (c.img / "z.png").write_bytes(b"")
    _write_xml(c.ann / "z.xml", 9, 9, [("cat", 1, 1, 5, 5)])
    rc, out, err = _run_tv(capfd, c.args() + ["--skip-bad"])
    assert rc == 0, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "export_torchvision.py: note: 2 unreadable files skipped (--skip-bad): %s (not an image" % (c.img / "a.png"))
    assert str(c.img / "z.png") in lines[0]
    with h5py.File(c.out, "r") as h:
        assert int(h.attrs["images_skipped"]) == 2 and h["images/name"][0] in (b"b.jpg", "b.jpg")


def test_synset_mapping_classes(tmp_path, capfd, checker):
    """ImageNet's LOC_synset_mapping.txt: "WNID words", index = line number."""
    c = _Case(tmp_path)
    c.classes.write_text("n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n"
                         "n01484850 great white shark, white shark, man-eater\n")
    _write_xml(c.ann / "a.xml", 90, 60, [("n01484850", 30, 10, 60, 50)])
    _write_xml(c.ann / "b.xml", 70, 80, [("n01443537", 10, 20, 60, 70), ("n01440764", 1, 1, 70, 80)])
    rc, out, err = _run_tv(capfd, c.args())
    assert rc == 0 and err == "", err
    with h5py.File(c.out, "r") as h:
        cls = [x.decode() if isinstance(x, bytes) else x for x in h["classes"][:]]
        assert cls == ["n01440764 tench", "n01443537 goldfish", "n01484850 great white shark"]
        assert h["targets/class"][:].tolist() == [2, 0, 1]
    n2i, i2n, _ = export_torchvision.read_classes(str(c.classes))
    assert n2i == {"n01440764": 0, "n01443537": 1, "n01484850": 2}
    # "WNID INDEX" stays today's format
    c.classes.write_text("n01440764 1\nn01443537 0\n")
    n2i, _, _ = export_torchvision.read_classes(str(c.classes))
    assert n2i == {"n01440764": 1, "n01443537": 0}


# signals: a real process, slowed down so that the signal arrives while the file is being written
_SLOW = """import sys, time
sys.path.insert(0, %r)
import gcexport, export_torchvision
real = gcexport.explain
def slow(*a, **k):
    time.sleep(0.4)
    return real(*a, **k)
gcexport.explain = slow
sys.exit(export_torchvision.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_signal_leaves_no_file(tmp_path, sig):
    import signal
    import time
    c = _Case(tmp_path)
    argv = c.args(**{"--batch": "1"})
    p = subprocess.Popen([sys.executable, "-c", _SLOW % os.path.join(ROOT, "scripts")] + argv,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tmp = "x.h5.tmp%d" % p.pid
    t0 = time.time()
    while tmp not in c.outputs() and p.poll() is None and time.time() - t0 < 60:
        time.sleep(0.02)
    assert tmp in c.outputs(), "the temporary file never appeared"
    p.send_signal(getattr(signal, sig))
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + getattr(signal, sig), (p.returncode, err)
    assert err.splitlines() == ["export_torchvision.py: %s: interrupted by %s, nothing written" % (c.out, sig)]
    assert c.outputs() == []


def test_bad_input_as_a_process(tmp_path):
    """The script itself (not main() in this process): exit 1, one line, nothing on stdout."""
    c = _Case(tmp_path)
    (c.ann / "a.xml").write_text("<annotation>")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export_torchvision.py")] + c.args(),
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == ["export_torchvision.py: %s: not well-formed XML: no element found: "
                                     "line 1, column 12" % (c.ann / "a.xml")]
    assert c.outputs() == []


def _on_a_terminal(argv):
    """Run the exporter with stderr on a pseudo-terminal -> (exit status, stdout, what the
    terminal got)."""
    import pty
    master, slave = pty.openpty()
    code = ("import sys\nsys.path.insert(0, %r)\nimport export_torchvision\n"
            "sys.exit(export_torchvision.main(sys.argv[1:]))" % os.path.join(ROOT, "scripts"))
    p = subprocess.Popen([sys.executable, "-c", code] + argv, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not b:
            break
        chunks.append(b)
    out = p.stdout.read().decode()
    p.wait()
    os.close(master)
    return p.returncode, out, b"".join(chunks).decode(errors="replace")


def test_progress_on_a_terminal_only(tmp_path, capfd):
    """A real pseudo-terminal: tqdm's bars for the scan and the export, the summary on stdout."""
    c = _Case(tmp_path)
    rc, out, tty = _on_a_terminal(c.args())
    assert rc == 0, tty
    assert "scan" in tty and "export" in tty and "2/2" in tty and "img/s" in tty, tty
    assert out.startswith("export_torchvision: %s: 2 images, 3 targets" % c.out), out
    # not a terminal: nothing on stderr (no note for this folder), the summary on stdout
    os.unlink(c.out)
    rc, out, err = _run_tv(capfd, c.args())
    assert rc == 0 and err == "" and out.startswith("export_torchvision: ")


class _FakeTerminal:
    def __init__(self):
        self.text = []

    def isatty(self):
        return True

    def write(self, t):
        self.text.append(t)

    def flush(self):
        pass


def test_progress_without_tqdm_and_quiet(tmp_path, capfd, monkeypatch):
    """Without tqdm: one line rewritten in place (done/total, rate, time left); --quiet: nothing."""
    c = _Case(tmp_path)
    term = _FakeTerminal()
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(sys, "stderr", term)
    assert export_torchvision.main(c.args()) == 0
    tty = "".join(term.text)
    assert "\rscan: 2/2, " in tty and "\rexport: 2/2, " in tty and " img/s, 0:00 left" in tty, tty
    os.unlink(c.out)
    capfd.readouterr()
    term.text.clear()
    assert export_torchvision.main(c.args() + ["--quiet"]) == 0
    assert term.text == [] and capfd.readouterr().out == ""
