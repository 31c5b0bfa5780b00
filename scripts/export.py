#!/usr/bin/python3
"""Export the default study data: the trained scene nets on the test scenes -> schema v1.

    export.py --weights data/weights --out data/default [--count 2000] [--seed 1] [--batch 64]
              [--nets vgg-relu,gap-linear,vgg-signed] [--random-init] [--no-saliency]

Writes, each under a temporary name renamed into place when complete:
    OUT/vgg-relu-post.h5   vgg-relu, last conv after its ReLU            (activation post-relu)
    OUT/vgg-relu-pre.h5    vgg-relu, the same conv's BatchNorm output    (activation pre-activation)
    OUT/gap-linear.h5      gap-linear, last conv after its ReLU          (activation post-relu)
    OUT/vgg-signed.h5      vgg-signed, last conv after its GELU          (activation gelu)

Images: test scenes 0..count-1 of scripts/scenes.py (test items only, seed --seed; the same
scenes train.py reports its test mAP on).  For each scene and each PRESENT class (in class
order) one target: the class logit (before the sigmoid) is backpropagated to the tapped layer
(/targets/gradients) and to the input (/targets/saliency = |dy^c/dx|, one input channel).
/activations holds A once per image, /images/scores the logits, /images/pixels the scene
(uint8, ch = 1), /boxes the tight boxes of each item's visible pixels (class = item class).
Targets of a batch of scenes are computed in one forward/backward pass (gcexport.explain).

--random-init uses untrained nets (seeded) instead of OUT/NAME.pt: for tests.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcexport  # noqa: E402
import nets  # noqa: E402
import scenes  # noqa: E402

OUTPUTS = [  # (net, tap, file)
    ("vgg-relu", "post", "vgg-relu-post.h5"),
    ("vgg-relu", "pre", "vgg-relu-pre.h5"),
    ("gap-linear", "post", "gap-linear.h5"),
    ("vgg-signed", "post", "vgg-signed.h5"),
]


def load_net(name, weights_dir, random_init=False, seed=0):
    torch.manual_seed(seed)
    model = nets.build(name)
    if not random_init:
        path = os.path.join(weights_dir, name + ".pt")
        if not os.path.exists(path):
            raise SystemExit("export.py: %s: no such weights file (train it with "
                             "scripts/train.py --net %s)" % (path, name))
        model.load_state_dict(torch.load(path, map_location="cpu"))
    model.eval()
    return model


def scene_data(seed, count):
    """pixels [N, 96, 96], labels [N, 10], target (image, class) arrays, boxes."""
    px, lab, items = scenes.make_scenes("test", seed, 0, count)
    t_img, t_cls = np.nonzero(lab)  # row-major: image ascending, then class ascending
    bi, bc, bx = [], [], []
    for i, (cls, boxes) in enumerate(items):
        for c, b in sorted(zip(cls.tolist(), boxes.tolist())):
            bi.append(i)
            bc.append(c)
            bx.append(b)
    return px, lab, t_img, t_cls, (np.array(bi), np.array(bc), np.array(bx, np.float32), None)


def export_net(name, taps_files, model, data, out_dir, seed, batch, saliency, log=print):
    px, lab, t_img, t_cls, boxes = data
    N, T = len(px), len(t_img)
    _, _, tapinfo = nets.NETS[name]
    taps = [t for t, _ in taps_files]
    with torch.no_grad():
        a0, _ = model.forward_taps(torch.zeros(1, 1, scenes.SIZE, scenes.SIZE))
    writers = {}
    try:
        for tap, fname in taps_files:
            activation, layer = tapinfo[tap]
            writers[tap] = gcexport.H5Writer(
                os.path.join(out_dir, fname), classes=scenes.CLASSES, n_images=N, n_targets=T,
                act_shape=tuple(a0[tap].shape[1:]), frame=(scenes.SIZE, scenes.SIZE), boxes=boxes,
                attrs={"model": name, "layer": layer, "activation": activation,
                       "dataset": "fashion-scenes-test (scripts/scenes.py, test items, seed %d, "
                                  "%d scenes)" % (seed, N),
                       "input": "grayscale 96x96, pixels / 255"},
                pixel_channels=1, saliency=saliency)
        t_start = 0
        for s in range(0, N, batch):
            e = min(N, s + batch)
            t_end = int(np.searchsorted(t_img, e))
            x = torch.from_numpy(px[s:e]).unsqueeze(1).float().div_(255.0)
            acts, grads, sal, logits = gcexport.explain(
                model.forward_taps, x, t_img[t_start:t_end] - s, t_cls[t_start:t_end], taps, saliency)
            for tap, w in writers.items():
                w.write_images(s, lab[s:e], logits.numpy(), acts[tap].numpy(), px[s:e, :, :, None])
                w.write_targets(t_start, t_img[t_start:t_end], t_cls[t_start:t_end],
                                grads[tap].numpy(), None if sal is None else sal.numpy())
            t_start = t_end
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    return T


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="data/weights")
    ap.add_argument("--out", default="data/default")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nets", default=",".join(dict.fromkeys(n for n, _, _ in OUTPUTS)))
    ap.add_argument("--random-init", action="store_true", help="untrained nets (tests)")
    ap.add_argument("--no-saliency", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    wanted = [n for n in a.nets.split(",") if n]
    for n in wanted:
        if n not in nets.NETS:
            ap.error("unknown net %r" % n)
    t0 = time.time()
    data = scene_data(a.seed, a.count)
    print("export: %d test scenes, %d targets (%.1f s)" % (a.count, len(data[2]), time.time() - t0),
          flush=True)
    for name in wanted:
        t1 = time.time()
        model = load_net(name, a.weights, a.random_init)
        tf = [(tap, f) for n, tap, f in OUTPUTS if n == name]
        T = export_net(name, tf, model, data, a.out, a.seed, a.batch, not a.no_saliency)
        print("export: %s -> %s (%d targets, %.1f s)" % (
            name, ", ".join(os.path.join(a.out, f) for _, f in tf), T, time.time() - t1), flush=True)
    print("export: done in %.1f s" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
