#!/usr/bin/python3
"""Train the study networks on multi-object Fashion-MNIST scenes (multi-label, sigmoid + BCE).

    train.py --net vgg-relu|gap-linear|vgg-signed [--epochs 12] [--out data/weights]
    train.py --all                       (the three nets in sequence, for `make train`)

Recipe (defaults): FRESH training scenes every epoch (epoch e uses scenes.make_scene('train',
seed * 1000 + e, i), i < --per-epoch), AdamW, one-cycle learning rate, batch 64, 2 threads,
torch.manual_seed(seed).  Scenes are generated in one DataLoader worker process while the main
process trains.  After every epoch the net is scored on a validation set (1,000 scenes from the
TRAINING items, seed --val-seed) and the weights with the best validation mAP are kept; the kept
weights are then scored once on the test set (2,000 scenes from the TEST items, seed --test-seed,
the same scenes export.py writes).  --max-minutes stops training early (the best weights so far
are kept and the record says so).

Writes, atomically (temporary name, then rename):
    OUT/NAME.pt    the state_dict (float32)
    OUT/NAME.json  the training record: architecture, recipe, per-epoch log, minutes, test mAP and
                   per-class AP (computed here, see average_precision)
"""

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets  # noqa: E402
import scenes  # noqa: E402


class FreshScenes(torch.utils.data.Dataset):
    def __init__(self, split, seed, count):
        self.split, self.seed, self.count = split, seed, count

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        s = scenes.make_scene(self.split, self.seed, i)
        return torch.from_numpy(s["pixels"]).unsqueeze(0), torch.from_numpy(s["labels"])


def _worker_init(_):
    torch.set_num_threads(1)


def to_input(pixels_uint8):
    """uint8 [B, 1, 96, 96] (or [B, 96, 96]) -> float [B, 1, 96, 96] in [0, 1]: the nets' input."""
    x = torch.as_tensor(pixels_uint8)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x.float().div_(255.0)


def average_precision(scores, labels):
    """Per-class AP (non-interpolated, as sklearn.metrics.average_precision_score without ties
    handling): mean over the positives of the precision at their rank, scores sorted descending
    (stable).  Returns [C] (NaN for a class without positives)."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels) > 0
    ap = np.full(scores.shape[1], np.nan)
    for c in range(scores.shape[1]):
        order = np.argsort(-scores[:, c], kind="stable")
        pos = labels[order, c]
        if pos.sum() == 0:
            continue
        hits = np.cumsum(pos)
        prec = hits / np.arange(1, len(pos) + 1)
        ap[c] = prec[pos].mean()
    return ap


def scene_set(split, seed, count):
    px, lab, _ = scenes.make_scenes(split, seed, 0, count)
    return torch.from_numpy(px).unsqueeze(1), lab


@torch.no_grad()
def evaluate(model, px, labels, batch=200):
    model.eval()
    out = [model(to_input(px[i:i + batch])) for i in range(0, len(px), batch)]
    scores = torch.cat(out).numpy()
    ap = average_precision(scores, labels)
    return float(np.nanmean(ap)), ap


def atomic_save(obj, path, kind):
    tmp = path + ".tmp%d" % os.getpid()
    if kind == "torch":
        torch.save(obj, tmp)
    else:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
    os.replace(tmp, path)


def train_one(name, a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    model = nets.build(name)
    wpath, jpath = os.path.join(a.out, name + ".pt"), os.path.join(a.out, name + ".json")
    previous, offset = None, 0
    if a.finetune:
        # stage 2: start from the kept weights, continue with fresh scenes (new epoch seeds)
        with open(jpath) as f:
            previous = json.load(f)
        offset = previous.get("epoch_offset", 0) + previous["epochs_run"]
        model.load_state_dict(torch.load(wpath))
    t0 = time.time()
    val_px, val_lab = scene_set("train", a.val_seed, a.val_count)
    test_px, test_lab = scene_set("test", a.test_seed, a.test_count)
    steps_per_epoch = math.ceil(a.per_epoch / a.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
    if a.finetune:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, epochs=a.epochs,
                                                    steps_per_epoch=steps_per_epoch, pct_start=0.2)
    os.makedirs(a.out, exist_ok=True)
    log, best, stopped = [], (-1.0, None), None
    if previous is not None:
        best = (previous["val_map"], 0)  # epoch 0 = the previous stage's weights, kept unless beaten
    print("%s: %d parameters, %d epochs x %d fresh scenes" % (name, nets.n_params(model), a.epochs,
                                                              a.per_epoch), flush=True)
    for epoch in range(a.epochs):
        te = time.time()
        ds = FreshScenes("train", a.seed * 1000 + offset + epoch, a.per_epoch)
        dl = torch.utils.data.DataLoader(ds, batch_size=a.batch, shuffle=False,
                                         num_workers=a.workers, worker_init_fn=_worker_init,
                                         prefetch_factor=4 if a.workers else 2)
        model.train()
        tot, n = 0.0, 0
        for px, lab in dl:
            loss = F.binary_cross_entropy_with_logits(model(to_input(px)), lab.float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(px)
            n += len(px)
        val_map, _ = evaluate(model, val_px, val_lab)
        minutes = (time.time() - t0) / 60
        log.append({"epoch": epoch + 1, "train_loss": round(tot / n, 5), "val_map": round(val_map, 5),
                    "epoch_seconds": round(time.time() - te, 1), "minutes": round(minutes, 2)})
        print("%s epoch %d: loss %.4f val mAP %.4f (%.0f s, %.1f min total)" % (
            name, epoch + 1, tot / n, val_map, time.time() - te, minutes), flush=True)
        if val_map > best[0]:
            best = (val_map, epoch + 1)
            atomic_save(model.state_dict(), wpath, "torch")
        if minutes > a.max_minutes and epoch + 1 < a.epochs:
            stopped = "stopped after epoch %d of %d: --max-minutes %g reached" % (epoch + 1, a.epochs,
                                                                                  a.max_minutes)
            print(name + ": " + stopped, flush=True)
            break
    model.load_state_dict(torch.load(wpath))
    test_map, ap = evaluate(model, test_px, test_lab)
    record = {
        "net": name,
        "architecture": nets.describe(name),
        "parameters": nets.n_params(model),
        "input": "grayscale 96x96, pixels / 255, shape [B, 1, 96, 96]",
        "recipe": {
            "data": "fresh multi-object Fashion-MNIST scenes every epoch (scripts/scenes.py, train items)",
            "scenes_per_epoch": a.per_epoch, "epochs": a.epochs, "batch": a.batch,
            "optimizer": "AdamW", "lr_max": a.lr, "weight_decay": a.wd,
            "schedule": ("fine-tune of the kept weights: cosine from lr_max to 0" if a.finetune
                         else "one-cycle (cosine), pct_start 0.2"), "loss": "BCE with logits (multi-label)",
            "seed": a.seed, "threads": a.threads,
            "selection": "best validation mAP (%d train-item scenes, seed %d)" % (a.val_count, a.val_seed),
        },
        "epochs_run": len(log),
        "epoch_offset": offset,
        "previous_stage": previous,
        "best_epoch": best[1],
        "stopped_early": stopped,
        "minutes": round((time.time() - t0) / 60, 2),
        "minutes_all_stages": round((time.time() - t0) / 60 + (previous or {}).get("minutes_all_stages",
                                    (previous or {}).get("minutes", 0)), 2),
        "log": log,
        "val_map": round(best[0], 5),
        "test": {"scenes": a.test_count, "seed": a.test_seed, "map": round(test_map, 5),
                 "per_class_ap": {c: round(float(v), 5) for c, v in zip(scenes.CLASSES, ap)}},
        "torch": torch.__version__, "machine": platform.machine(),
    }
    atomic_save(record, jpath, "json")
    print("%s: test mAP %.4f (best epoch %s, %.1f min)" % (name, test_map, best[1], record["minutes"]),
          flush=True)
    return record


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--net", choices=sorted(nets.NETS))
    g.add_argument("--all", action="store_true", help="train every net in sequence")
    ap.add_argument("--out", default="data/weights")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--per-epoch", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-seed", type=int, default=999)
    ap.add_argument("--val-count", type=int, default=1000)
    ap.add_argument("--test-seed", type=int, default=1)
    ap.add_argument("--test-count", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=28.0)
    ap.add_argument("--finetune", action="store_true",
                    help="stage 2: start from OUT/NAME.pt, cosine lr from --lr to 0, fresh scenes "
                         "continuing the epoch seeds; the record keeps the previous stage")
    a = ap.parse_args()
    names = list(nets.NETS) if a.all else [a.net]
    for n in names:
        train_one(n, a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
