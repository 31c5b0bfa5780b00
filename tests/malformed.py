#!/usr/bin/python3
"""malformed.py BIN WORKDIR: a corpus of broken schema-v1 files, each of which must be refused.

Each case starts from a small valid file (tests/make_fixture.py), breaks one rule of
data/SCHEMA.md, and runs both `BIN check FILE` and `BIN run -o OUT FILE`. A case passes when both
exit 1 with exactly one stderr line of the form "gradcam-study: FILE: DATASET: problem" naming the
expected dataset, and `run` created no OUTDIR. A valid control file must pass `check` (so the
checks can also fail). Prints PASS/FAIL per case and "N passed, M failed"."""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def rewrite(f, name, data):
    """Replace dataset `name` with `data` (any shape/dtype)."""
    del f[name]
    f.create_dataset(name, data=data)


def case_list():
    C = []

    def case(name, dataset, fn):
        C.append((name, dataset, fn))

    case("missing /activations", "/activations", lambda f: f.__delitem__("activations"))
    case("missing /targets/gradients", "/targets/gradients",
         lambda f: f.__delitem__("targets/gradients"))
    case("missing /boxes/xyxy", "/boxes/xyxy", lambda f: f.__delitem__("boxes/xyxy"))
    case("missing /images/size", "/images/size", lambda f: f.__delitem__("images/size"))
    case("missing schema attribute", "/@schema", lambda f: f.attrs.__delitem__("schema"))
    case("schema from the future", "/@schema", lambda f: f.attrs.__setitem__("schema", "gradcam-study/2"))
    case("activations of rank 3", "/activations",
         lambda f: rewrite(f, "activations", f["activations"][:, 0]))
    case("integer activations", "/activations",
         lambda f: rewrite(f, "activations", f["activations"][()].astype(np.int32)))
    case("string class index", "/targets/class",
         lambda f: rewrite(f, "targets/class", np.array([b"x"] * f["targets/class"].shape[0])))
    case("K mismatch between A and G", "/targets/gradients",
         lambda f: rewrite(f, "targets/gradients", f["targets/gradients"][:, :-1]))
    case("w mismatch between A and G", "/targets/gradients",
         lambda f: rewrite(f, "targets/gradients", f["targets/gradients"][..., :-1]))
    case("target image out of range", "/targets/image",
         lambda f: f["targets/image"].__setitem__(-1, f["images/size"].shape[0]))
    case("target images decreasing", "/targets/image",
         lambda f: f["targets/image"].__setitem__(0, f["targets/image"][-1]))
    case("class out of range", "/targets/class", lambda f: f["targets/class"].__setitem__(0, 99))
    case("box class negative", "/boxes/class", lambda f: f["boxes/class"].__setitem__(0, -1))
    case("NaN in activations", "/activations",
         lambda f: f["activations"].__setitem__((3, 1, 2, 2), np.nan))
    case("Inf in gradients", "/targets/gradients",
         lambda f: f["targets/gradients"].__setitem__((-1, 0, 0, 0), np.inf))
    case("NaN in a box", "/boxes/xyxy", lambda f: f["boxes/xyxy"].__setitem__((0, 2), np.nan))
    case("inverted box", "/boxes/xyxy",
         lambda f: f["boxes/xyxy"].__setitem__(0, np.array([30, 10, 20, 40], np.float32)))
    case("zero-area box", "/boxes/xyxy",
         lambda f: f["boxes/xyxy"].__setitem__(0, np.array([20, 10, 20, 40], np.float32)))
    case("box outside the frame", "/boxes/xyxy",
         lambda f: f["boxes/xyxy"].__setitem__(0, np.array([500, 10, 520, 40], np.float32)))
    case("image size zero", "/images/size", lambda f: f["images/size"].__setitem__((0, 0), 0))
    case("image size huge", "/images/size", lambda f: f["images/size"].__setitem__((0, 1), 10 ** 6))
    case("labels not 0/1", "/images/labels", lambda f: f["images/labels"].__setitem__((0, 0), 7))
    case("zero boxes", "/boxes/image", lambda f: (
        rewrite(f, "boxes/image", np.zeros(0, np.int32)),
        rewrite(f, "boxes/class", np.zeros(0, np.int32)),
        rewrite(f, "boxes/xyxy", np.zeros((0, 4), np.float32)),
        f.__delitem__("boxes/difficult") if "boxes/difficult" in f else None))
    case("h mismatch between A and G", "/targets/gradients",
         lambda f: rewrite(f, "targets/gradients", f["targets/gradients"][:, :, :-1]))
    case("box image out of range", "/boxes/image",
         lambda f: f["boxes/image"].__setitem__(-1, 99))
    case("box images decreasing", "/boxes/image",
         lambda f: f["boxes/image"].__setitem__(0, f["boxes/image"][-1]))
    case("string activations", "/activations",
         lambda f: rewrite(f, "activations", np.array([b"a"] * 4)))
    case("NaN in saliency", "/targets/saliency",
         lambda f: f["targets/saliency"].__setitem__((2, 5, 5), np.nan))
    case("Inf in scores", "/images/scores", lambda f: f["images/scores"].__setitem__((1, 1), -np.inf))
    case("dimensions whose product overflows", "/activations", lambda f: (
        f.__delitem__("activations"),
        f.create_dataset("activations", shape=(f["images/size"].shape[0], 2 ** 20, 4096, 4096),
                         dtype="f4", chunks=(1, 1, 64, 64))))
    case("schema attribute not a string", "/@schema", lambda f: f.attrs.__setitem__("schema", 1))
    case("missing model attribute", "/@model", lambda f: f.attrs.__delitem__("model"))
    case("classes not strings", "/classes", lambda f: rewrite(f, "classes", np.arange(5)))
    case("labels with C+1 columns", "/images/labels",
         lambda f: rewrite(f, "images/labels", np.zeros((f["images/size"].shape[0], 6), np.uint8)))
    case("pixels with 2 channels", "/images/pixels", lambda f: rewrite(
        f, "images/pixels", np.zeros(f["images/pixels"].shape[:3] + (2,), np.uint8)))
    case("difficult flag 3", "/boxes/difficult",
         lambda f: f["boxes/difficult"].__setitem__(0, 3))
    case("saliency of the wrong frame", "/targets/saliency",
         lambda f: rewrite(f, "targets/saliency", f["targets/saliency"][:, :-1]))
    case("zero targets", "/targets/image", lambda f: (
        rewrite(f, "targets/image", np.zeros(0, np.int32)),
        rewrite(f, "targets/class", np.zeros(0, np.int32)),
        rewrite(f, "targets/gradients", np.zeros((0,) + f["activations"].shape[1:], np.float32))))
    # the optional image names (/images/name) and the exporter's counts (data/SCHEMA.md)
    def names(f, values, dtype=None):
        if "images/name" in f:
            del f["images/name"]
        f.create_dataset("images/name", data=np.array(values, dtype=dtype or h5py.string_dtype()))

    def n_imgs(f):
        return f["images/size"].shape[0]

    case("image names: one too few", "/images/name",
         lambda f: names(f, ["a%d.jpg" % i for i in range(n_imgs(f) - 1)]))
    case("image names: numbers", "/images/name",
         lambda f: names(f, np.arange(n_imgs(f)), np.int32))
    case("image names: an empty name", "/images/name",
         lambda f: names(f, [""] + ["a%d.jpg" % i for i in range(1, n_imgs(f))]))
    case("image names: a newline in a name", "/images/name",
         lambda f: names(f, ["a\nb.jpg"] + ["a%d.jpg" % i for i in range(1, n_imgs(f))]))
    case("image names: a C1 control character", "/images/name",
         lambda f: names(f, ["a\u0085b.jpg"] + ["a%d.jpg" % i for i in range(1, n_imgs(f))]))
    case("image names: invalid UTF-8 (fixed length)", "/images/name",
         lambda f: names(f, [b"a\xff.jpg"] + [b"a%d.jpg" % i for i in range(1, n_imgs(f))],
                         "S12"))
    case("image names: an overlong UTF-8 form", "/images/name",
         lambda f: names(f, [b"a\xc0\xafb"] + [b"a%d.jpg" % i for i in range(1, n_imgs(f))],
                         "S12"))
    case("image names: a name past 4096 bytes", "/images/name",
         lambda f: names(f, ["x" * 5000] + ["a%d.jpg" % i for i in range(1, n_imgs(f))]))
    case("exporter count: negative", "/@boxes_dropped",
         lambda f: f.attrs.__setitem__("boxes_dropped", np.int64(-2)))
    case("exporter count: a string", "/@images_skipped",
         lambda f: f.attrs.__setitem__("images_skipped", "three"))
    case("exporter count: an array", "/@boxes_clipped",
         lambda f: f.attrs.__setitem__("boxes_clipped", np.array([1, 2], np.int64)))
    return C


def run(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return -9, "timed out after 120 s\n"
    return p.returncode, p.stderr


def main():
    binpath, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    base = os.path.join(work, "valid.h5")
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_fixture.py"), base, "--seed", "5",
                    "--images", "8", "--channels", "6", "--fh", "4", "--fw", "5", "--saliency",
                    "--pixels"], check=True, capture_output=True)
    # a file with doubles where floats are expected is valid (converted), not malformed
    dbl = os.path.join(work, "doubles.h5")
    shutil.copy(base, dbl)
    with h5py.File(dbl, "a") as f:
        for name in ("activations", "targets/gradients", "boxes/xyxy", "images/scores"):
            rewrite(f, name, f[name][()].astype(np.float64))
    # whole-file damage: not HDF5, empty, truncated
    raw = open(base, "rb").read()
    files = {"not-hdf5.h5": b"this is not an HDF5 file\n" * 40, "empty.h5": b"",
             "truncated.h5": raw[:len(raw) // 2]}
    for name, data in files.items():
        with open(os.path.join(work, name), "wb") as fh:
            fh.write(data)
    # a named pipe in place of a file: refused at once, not waited on forever
    fifo = os.path.join(work, "pipe.h5")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    files["pipe.h5"] = None
    passed = failed = 0
    rc, err = run([binpath, "check", base])
    if rc == 0:
        passed += 1
        print("PASS  control: the valid file passes check")
    else:
        failed += 1
        print("FAIL  control: the valid file fails check: %s" % err.strip())
    rc, err = run([binpath, "check", dbl])
    if rc == 0:
        passed += 1
        print("PASS  control: float64 A, G, boxes and scores are converted and accepted")
    else:
        failed += 1
        print("FAIL  control: float64 inputs refused: %s" % err.strip())
    cases = [("file: " + n, "-", n) for n in files] + case_list()
    for i, (name, dataset, fn) in enumerate(cases):
        if isinstance(fn, str):
            path = os.path.join(work, fn)
        else:
            path = os.path.join(work, "bad%02d.h5" % i)
            shutil.copy(base, path)
            with h5py.File(path, "a") as f:
                fn(f)
        problems = []
        for cmd in ([binpath, "check", path],
                    [binpath, "run", "-o", os.path.join(work, "out%02d" % i), path]):
            rc, err = run(cmd)
            lines = err.strip().splitlines()
            want = "gradcam-study: %s: %s: " % (path, dataset)
            if rc != 1:
                problems.append("%s exit %d (want 1)" % (cmd[1], rc))
            if len(lines) != 1 or not lines[0].startswith(want):
                problems.append("%s stderr %r (want one line starting %r)" % (cmd[1], err, want))
        if os.path.exists(os.path.join(work, "out%02d" % i)):
            problems.append("run created its OUTDIR")
        if problems:
            failed += 1
            print("FAIL  %s: %s" % (name, "; ".join(problems)))
        else:
            passed += 1
            print("PASS  %s: %s" % (name, lines[0]))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
