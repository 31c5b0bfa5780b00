#!/usr/bin/python3
"""Export the default study data: the trained scene nets on the test scenes -> schema v1.

    export.py --weights data/weights --out data/default [--count 2000] [--seed 1] [--batch 64]
              [--threads 2] [--nets vgg-relu,gap-linear,vgg-signed] [--random-init]
              [--no-saliency] [--quiet]

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

--random-init uses untrained nets (seeded) instead of WEIGHTS/NAME.pt: for tests (it cannot be
combined with --weights).

The files hold no /images/name (the scenes have no file names) and no box-count attributes (every
box is a tight box of visible pixels inside the 96x96 frame): they are byte for byte what the
study's outputs were computed from.

Errors: a problem with an option or an input (a weights file missing or of another net, an
unknown net, a bad count) is one line on stderr, "export.py: CULPRIT: what is wrong", exit status
1, and no output file; usage errors are one line, exit 2.  SIGINT, SIGTERM and SIGHUP remove the
temporary files (exit status 128 + the signal number).  On a terminal, a progress bar per net
(scenes done of the total, rate, time left); --quiet also drops the summary lines on stdout.
"""

import signal
import sys

if __name__ == "__main__":  # until run_main's handlers: a signal during the imports, one line
    def _early_signal(signum, frame):
        sys.stderr.write("export.py: -: interrupted by %s, nothing written\n"
                         % signal.Signals(signum).name)
        sys.stderr.flush()
        import os
        os._exit(128 + signum)
    for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, _early_signal)

import os
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcexport  # noqa: E402
from gcexport import ExportError  # noqa: E402
import nets  # noqa: E402
import scenes  # noqa: E402

PROG = "export.py"
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
            raise ExportError(path, "no such weights file (train it with scripts/train.py --net %s)"
                              % name)
        try:
            sd = torch.load(path, map_location="cpu")
        except Exception as e:  # noqa: BLE001 -- pickle, zip and torch errors alike
            raise ExportError(path, "not a state_dict torch.load can read (%s)" % gcexport.one_line(e, 200))
        try:
            model.load_state_dict(sd)
        except (RuntimeError, TypeError, AttributeError) as e:
            first = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
            raise ExportError(path, "not weights of %s: %s" % (
                name, gcexport.one_line(" ".join(first[1:3]) if len(first) > 1 else str(e), 300)))
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


def export_net(name, taps_files, model, data, out_dir, seed, batch, saliency, log=print,
               quiet=True):
    px, lab, t_img, t_cls, boxes = data
    N, T = len(px), len(t_img)
    _, _, tapinfo = nets.NETS[name]
    taps = [t for t, _ in taps_files]
    with torch.no_grad():
        a0, _ = model.forward_taps(torch.zeros(1, 1, scenes.SIZE, scenes.SIZE))
    writers = {}
    bar = gcexport.Progress(N, name, unit="scene", quiet=quiet)
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
            bar.update(e - s)
        bar.close()
        for w in writers.values():
            w.close()
    except OSError as e:  # creating or filling an output file
        bar.close()
        for w in writers.values():
            w.abort()
        raise ExportError(out_dir, "cannot write: %s" % gcexport.one_line(e, 300))
    except BaseException:
        bar.close()
        for w in writers.values():
            w.abort()
        raise
    return T


def parser():
    ap = gcexport.OneLineParser(prog=PROG, description=__doc__, formatter_class=gcexport.HelpFormatter)
    ap.add_argument("--weights", default=None, metavar="DIR",
                    help="folder of the trained nets, NAME.pt (default: data/weights)")
    ap.add_argument("--out", default="data/default", metavar="DIR", help="output folder")
    ap.add_argument("--count", type=int, default=2000, metavar="N", help="test scenes 0..N-1")
    ap.add_argument("--seed", type=int, default=1, help="scene seed (scripts/scenes.py)")
    ap.add_argument("--batch", type=int, default=64, metavar="N", help="scenes per forward/backward pass")
    ap.add_argument("--threads", type=int, default=2, metavar="N", help="torch threads")
    ap.add_argument("--nets", default=",".join(dict.fromkeys(n for n, _, _ in OUTPUTS)),
                    help="comma-separated nets to export")
    ap.add_argument("--random-init", action="store_true",
                    help="untrained nets (tests); refused together with --weights")
    ap.add_argument("--no-saliency", action="store_true", help="leave out /targets/saliency")
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="no progress bar and no summary lines (errors still go to stderr)")
    return ap


def check_options(a):
    for opt, v, lo in (("--count", a.count, 1), ("--batch", a.batch, 1), ("--threads", a.threads, 1),
                       ("--seed", a.seed, 0)):
        if v < lo:
            raise ExportError("%s %d" % (opt, v), "must be at least %d" % lo)
    wanted = [n for n in a.nets.split(",") if n]
    if not wanted:
        raise ExportError("--nets %s" % a.nets, "names no net (known: %s)" % ", ".join(nets.NETS))
    for n in wanted:
        if n not in nets.NETS:
            raise ExportError("--nets %s" % a.nets, "unknown net %r (known: %s)" % (n, ", ".join(nets.NETS)))
    if a.random_init and a.weights is not None:
        raise ExportError("--weights " + a.weights, "given together with --random-init: pick one")
    if a.weights is None:
        a.weights = "data/weights"
    if not a.random_init:
        if not os.path.exists(a.weights):
            raise ExportError(a.weights, "no such folder (--weights; or --random-init for untrained nets)")
        if not os.path.isdir(a.weights):
            raise ExportError(a.weights, "not a folder (--weights)")
    if os.path.exists(a.out) and not os.path.isdir(a.out):
        raise ExportError(a.out, "not a folder (--out)")
    d = os.path.abspath(a.out)
    while not os.path.exists(d):
        d = os.path.dirname(d)
    if not os.path.isdir(d) or not os.access(d, os.W_OK | os.X_OK):
        raise ExportError(a.out, "cannot be written: %s is not a writable folder" % d)
    return wanted


_STATE = {"out": "-"}


def export(argv=None):
    a = parser().parse_args(argv)
    _STATE["out"] = a.out
    wanted = check_options(a)
    say = (lambda *x, **k: None) if a.quiet else print
    torch.set_num_threads(a.threads)
    t0 = time.time()
    models = {name: load_net(name, a.weights, a.random_init) for name in wanted}  # all checked first
    try:
        data = scene_data(a.seed, a.count)
    except OSError as e:
        raise ExportError(getattr(e, "filename", None) or scenes.FASHION_DIR,
                          "cannot read Fashion-MNIST: %s (scripts/install-deps.sh installs "
                          "dataset-fashion-mnist)" % (e.strerror or e))
    say("export: %d test scenes, %d targets (%.1f s)" % (a.count, len(data[2]), time.time() - t0),
        flush=True)
    for name in wanted:
        t1 = time.time()
        model = models[name]
        tf = [(tap, f) for n, tap, f in OUTPUTS if n == name]
        T = export_net(name, tf, model, data, a.out, a.seed, a.batch, not a.no_saliency, quiet=a.quiet)
        say("export: %s -> %s (%d targets, %.1f s)" % (
            name, ", ".join(os.path.join(a.out, f) for _, f in tf), T, time.time() - t1), flush=True)
    say("export: done in %.1f s" % (time.time() - t0))
    return 0


def main(argv=None):
    return gcexport.run_main(PROG, export, argv, out_hint=lambda: _STATE["out"],
                             interrupted="the files being written removed (finished ones kept)",
                             keep_finished=True)


if __name__ == "__main__":
    status = main()
    gcexport.hold_signals()  # a signal while the interpreter shuts down leaves a finished export alone
    sys.exit(status)
