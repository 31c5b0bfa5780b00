#!/usr/bin/python3
"""Multi-object Fashion-MNIST scenes: the default benchmark of gradcam-study.

    scenes.py [--split test] [--seed 1] [--count 8] [--pgm DIR]   (prints / dumps a few scenes)

A scene is a 96x96 grayscale image (uint8) holding 1 to 4 Fashion-MNIST items of DISTINCT classes,
each resized from 28x28 to about 25..50 px (independent width and height jitter), pasted over a
cluttered background (a grey level, Gaussian noise and a few faint fragments of other items of the
same split).  Items are pasted in order; a later item occludes earlier ones, but a placement is
only accepted when every earlier item keeps at least MIN_VISIBLE of its pixels, so overlap stays
limited.

Ground truth per item: its class and the tight box of its VISIBLE pixels (its own mask, resized
intensity > MASK_THRESHOLD, minus the masks of later items), in schema-v1 pixel-edge coordinates:
pixel columns x0..x1-1 give (x0, x1).

Sources: Debian's dataset-fashion-mnist idx files.  Train scenes use only the 60,000 training
items, test scenes only the 10,000 test items (the fragments too).

Determinism: scene (split, seed, index) is drawn from
numpy.random.default_rng(SeedSequence([seed, SPLIT_ID[split], index])) alone, so any scene can
be regenerated independently of the others, in any order and in any worker process.
"""

import argparse
import gzip
import os
import sys

import numpy as np
from PIL import Image

FASHION_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SIZE = 96                 # scene height and width
ITEM_MIN, ITEM_MAX = 25, 50
MASK_THRESHOLD = 12       # resized item intensity (0..255, before contrast scaling) > this: its mask
MIN_VISIBLE = 0.65        # every item keeps at least this share of its mask visible
MIN_MASK = 60             # an item needs at least this many mask pixels
SPLIT_ID = {"train": 1, "test": 2}
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
# number of items asked for (placement may drop one in a crowded scene, never the first)
N_ITEMS_P = {"train": [0.15, 0.30, 0.30, 0.25], "test": [0.10, 0.30, 0.35, 0.25]}

_CACHE = {}


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split):
    """(images uint8 [n, 28, 28], labels uint8 [n], per-class index arrays) of 'train' or 'test'."""
    if split not in _CACHE:
        fi, fl = FILES[split]
        images = _read_idx(os.path.join(FASHION_DIR, fi))
        labels = _read_idx(os.path.join(FASHION_DIR, fl))
        if images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise ValueError("unexpected Fashion-MNIST file shapes in %s" % FASHION_DIR)
        by_class = [np.flatnonzero(labels == c) for c in range(len(CLASSES))]
        _CACHE[split] = (images, labels, by_class)
    return _CACHE[split]


def scene_rng(split, seed, index):
    return np.random.default_rng(np.random.SeedSequence([int(seed), SPLIT_ID[split], int(index)]))


def _resize(img, h, w):
    return np.asarray(Image.fromarray(img).resize((int(w), int(h)), Image.BILINEAR))


def _background(rng, split):
    images = load_split(split)[0]
    level = rng.uniform(0, 35)
    bg = np.full((SIZE, SIZE), level, dtype=np.float32)
    bg += rng.normal(0, rng.uniform(4, 16), size=(SIZE, SIZE)).astype(np.float32)
    # a smooth gradient, so that "bright = object" is not quite enough
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    bg += rng.uniform(-15, 15) * xx + rng.uniform(-15, 15) * yy
    # faint fragments of other items (any class): clutter the net must not take for an item
    for _ in range(rng.integers(2, 7)):
        src = images[rng.integers(len(images))]
        s = int(rng.integers(24, 48))
        big = _resize(src, s, s).astype(np.float32)
        fh, fw = int(rng.integers(8, 18)), int(rng.integers(8, 18))
        oy, ox = int(rng.integers(0, s - fh + 1)), int(rng.integers(0, s - fw + 1))
        frag = big[oy:oy + fh, ox:ox + fw] * rng.uniform(0.15, 0.4)
        y, x = int(rng.integers(0, SIZE - fh + 1)), int(rng.integers(0, SIZE - fw + 1))
        np.maximum(bg[y:y + fh, x:x + fw], frag + bg[y:y + fh, x:x + fw] * 0.5,
                   out=bg[y:y + fh, x:x + fw])
    return bg


def make_scene(split, seed, index, return_masks=False):
    """One scene.  Returns a dict with
         pixels  uint8 [96, 96]
         classes int64 [n]      distinct item classes, in paste order
         boxes   int64 [n, 4]   x0, y0, x1, y1 (pixel edges) of each item's visible pixels
         labels  uint8 [10]     presence
       and, with return_masks, masks bool [n, 96, 96] (each item's own full mask) and
       visible bool [n, 96, 96]."""
    images, _, by_class = load_split(split)
    rng = scene_rng(split, seed, index)
    n_want = 1 + int(rng.choice(4, p=N_ITEMS_P[split]))
    classes = rng.choice(len(CLASSES), size=n_want, replace=False)
    canvas = _background(rng, split)
    placed = []  # (class, full mask, item float image, contrast)
    for k, c in enumerate(classes):
        src = images[by_class[c][rng.integers(len(by_class[c]))]]
        s = rng.uniform(ITEM_MIN, ITEM_MAX)
        h = int(round(np.clip(s * rng.uniform(0.88, 1.12), ITEM_MIN, ITEM_MAX)))
        w = int(round(np.clip(s * rng.uniform(0.88, 1.12), ITEM_MIN, ITEM_MAX)))
        item = _resize(src, h, w)
        imask = item > MASK_THRESHOLD
        for _ in range(20):  # an (almost) black item has no mask: draw another one of its class
            if imask.sum() >= MIN_MASK:
                break
            item = _resize(images[by_class[c][rng.integers(len(by_class[c]))]], h, w)
            imask = item > MASK_THRESHOLD
        if rng.random() < 0.5:
            item, imask = item[:, ::-1], imask[:, ::-1]
        ok = None
        for attempt in range(40):
            y, x = int(rng.integers(0, SIZE - h + 1)), int(rng.integers(0, SIZE - w + 1))
            full = np.zeros((SIZE, SIZE), bool)
            full[y:y + h, x:x + w] = imask
            good = True
            for (_, m, _, _, vis) in placed:
                if (vis & ~full).sum() < MIN_VISIBLE * m.sum():
                    good = False
                    break
            if good:
                ok = (y, x, full)
                break
        if ok is None:
            continue  # crowded: drop this item (never the first, which always fits)
        y, x, full = ok
        for p in placed:
            p[4] &= ~full
        contrast = rng.uniform(0.6, 1.0)
        placed.append([int(c), full, (y, x, item.astype(np.float32)), contrast, full.copy()])
    for (c, full, (y, x, item), contrast, _) in placed:
        h, w = item.shape
        region = canvas[y:y + h, x:x + w]
        m = full[y:y + h, x:x + w]
        region[m] = item[m] * contrast + rng.normal(0, 3, size=int(m.sum()))
    pixels = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    boxes = []
    for p in placed:
        vis = p[4]
        rows, cols = np.flatnonzero(vis.any(1)), np.flatnonzero(vis.any(0))
        boxes.append((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    out = {"pixels": pixels,
           "classes": np.array([p[0] for p in placed], np.int64),
           "boxes": np.array(boxes, np.int64).reshape(-1, 4)}
    labels = np.zeros(len(CLASSES), np.uint8)
    labels[out["classes"]] = 1
    out["labels"] = labels
    if return_masks:
        out["masks"] = np.array([p[1] for p in placed])
        out["visible"] = np.array([p[4] for p in placed])
    return out


def make_scenes(split, seed, start, count):
    """count scenes from index start: (pixels uint8 [n, 96, 96], labels uint8 [n, 10],
    list of (classes, boxes))."""
    px = np.empty((count, SIZE, SIZE), np.uint8)
    lab = np.empty((count, len(CLASSES)), np.uint8)
    items = []
    for i in range(count):
        s = make_scene(split, seed, start + i)
        px[i], lab[i] = s["pixels"], s["labels"]
        items.append((s["classes"], s["boxes"]))
    return px, lab, items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="test", choices=sorted(SPLIT_ID))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--pgm", help="write each scene as DIR/scene-I.pgm")
    a = ap.parse_args()
    for i in range(a.count):
        s = make_scene(a.split, a.seed, i)
        desc = ", ".join("%s %s" % (CLASSES[c], tuple(int(v) for v in b))
                         for c, b in zip(s["classes"], s["boxes"]))
        print("scene %d: %s" % (i, desc))
        if a.pgm:
            os.makedirs(a.pgm, exist_ok=True)
            with open(os.path.join(a.pgm, "scene-%d.pgm" % i), "wb") as f:
                f.write(b"P5 96 96 255\n" + s["pixels"].tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
