#!/usr/bin/python3
"""Export a torchvision classifier on a folder of images with Pascal VOC-style XML boxes -> one
gradcam-study/1 HDF5 file (data/SCHEMA.md).

    export_torchvision.py --arch vgg16 --weights vgg16.pth --layer features.29 \\
        --images DIR --annotations DIR --classes classes.txt -o out.h5
        [--random-init] [--num-classes 1000] [--resize 256] [--crop 224] [--box-origin 1]
        [--batch 8] [--threads 2] [--no-saliency] [--no-pixels] [--limit N] [--dataset NAME]
        [--activation post-relu|pre-activation|...]

Network: torchvision.models.ARCH (vgg16, vgg11, resnet18, resnet50, ...).  --weights FILE is a
local state_dict (torch.save(model.state_dict())), e.g. torchvision's vgg16-397923af.pth copied
by hand; nothing is downloaded.  --random-init builds the net with random weights (tests).
--layer is a name from model.named_modules() (features.29 = VGG-16's last conv ReLU, features.28
= the conv itself, before the ReLU; layer4 for ResNets).  Its output is captured with a forward
hook; every in-place ReLU is switched to out-of-place first, so that a conv output captured
before its ReLU is not overwritten.  If the module runs several times (a shared ReLU), the last
call is used.  --activation defaults to post-relu for a ReLU (or for a name containing "relu"
or ResNet's "layerN"), pre-activation otherwise.

Images: every .jpg/.jpeg/.png in --images (sorted by name) that has --annotations/STEM.xml with
at least one object whose <name> is in --classes (others are skipped and counted).  Read with PIL
as RGB; resized so that the shorter side is --resize (bilinear, antialiased, torchvision's
rounding), then centre-cropped to --crop x --crop (torchvision.transforms.functional semantics),
then ImageNet normalisation (mean 0.485 0.456 0.406, std 0.229 0.224 0.225).  --resize 0 skips
the resize (the images must then be at least --crop in each side).

Boxes: <object><name>, <bndbox> xmin ymin xmax ymax, <difficult>.  Pascal VOC's XML uses
1-based inclusive pixel indices (--box-origin 1, the default): a box over pixels xmin..xmax becomes
the edge box [xmin - 1, xmax).  --box-origin 0 reads 0-based inclusive indices: [xmin, xmax + 1).
ImageNet's val XML has the same format; the two conventions differ by one pixel, which is below
the precision of a 14x14 map (pick the one your copy of the boxes documents).  Edges are
scaled by the resize and shifted by the crop, clipped to the crop; a box wholly outside the crop
is dropped.  Both counts are printed and stored as attributes boxes_dropped, boxes_clipped.

Classes file (--classes): one class per line, "NAME INDEX" (INDEX = the output unit of the net,
e.g. "n01440764 0" or "dog 12"), or just "NAME" (index = line number, from 0).  Several names may
map to one index.  /classes holds the net's output units (C = --num-classes or the net's output
size), named after the file (the first name given for the index) or "class_I".

Targets: for each image, one per distinct class present in its XML (class order); the class
logit (before softmax) is backpropagated to the layer (/targets/gradients) and to the normalised
input (/targets/saliency = max over RGB of |dy^c/dx|, unless --no-saliency).  /images/pixels
holds the cropped RGB image (uint8; --no-pixels leaves it out).  /images/labels = the classes
present; /images/scores = all logits.

Reproducing the paper's ILSVRC localization setting (Grad-CAM, sec. 4.1):
    # 1. VGG-16 ImageNet weights, copied by hand (torchvision's vgg16-397923af.pth)
    # 2. ILSVRC2012 val images + their XML boxes (LOC_val / ILSVRC2012_bbox_val_v3), and a
    #    classes file "WNID INDEX" in torchvision's class order (sorted wnids, 0..999)
    /usr/bin/python3 scripts/export_torchvision.py --arch vgg16 --weights vgg16-397923af.pth \\
        --layer features.29 --images val/ --annotations val_xml/ --classes wnids.txt \\
        --resize 256 --crop 224 -o data/ilsvrc-vgg16-post.h5
    # the same conv before its ReLU:  --layer features.28 (activation pre-activation)
    bin/gradcam-study run -o out/ilsvrc data/ilsvrc-vgg16-post.h5
  (The paper also scores the top-1 predicted class; this exporter explains the ground-truth
  classes, which is what the box metrics need.)  The whole val set is 50,000 images: a 512x14x14
  float32 A and G per image make ~800 MB per 1,000 images; use --limit to take a subset.
"""

import argparse
import os
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcexport  # noqa: E402

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
EXTS = (".jpg", ".jpeg", ".png")


def read_classes(path):
    """-> (name -> index dict, index -> first name dict)."""
    name_to_idx, idx_to_name = {}, {}
    with open(path) as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    for i, ln in enumerate(lines):
        parts = ln.rsplit(None, 1)
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            name, idx = parts[0], int(parts[1])
        else:
            name, idx = ln, i
        name_to_idx[name] = idx
        idx_to_name.setdefault(idx, name)
    return name_to_idx, idx_to_name


def read_xml(path):
    """-> list of (name, xmin, ymin, xmax, ymax, difficult) (numbers as in the file)."""
    root = ET.parse(path).getroot()
    out = []
    for obj in root.iter("object"):
        name = obj.findtext("name", "").strip()
        bb = obj.find("bndbox")
        if bb is None:
            continue
        v = [float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
        diff = obj.findtext("difficult")
        out.append((name, v[0], v[1], v[2], v[3], int(float(diff)) if diff else 0))
    return out


def geometry(H, W, resize, crop):
    """Resize (shorter side -> resize, torchvision's rounding) and centre-crop offsets:
    (new_h, new_w, top, left)."""
    if resize:
        short, long_ = (H, W) if H <= W else (W, H)
        new_short, new_long = resize, int(resize * long_ / short)
        nh, nw = (new_short, new_long) if H <= W else (new_long, new_short)
    else:
        nh, nw = H, W
    top = int(round((nh - crop) / 2.0))
    left = int(round((nw - crop) / 2.0))
    return nh, nw, top, left


def map_box(b, H, W, geo, crop, origin):
    """Edge box in the original image -> edge box in the crop (clipped), or None if outside;
    also returns whether it was clipped."""
    nh, nw, top, left = geo
    x0, y0, x1, y1 = b
    if origin == 1:
        x0, y0 = x0 - 1, y0 - 1
    else:
        x1, y1 = x1 + 1, y1 + 1
    sx, sy = nw / W, nh / H
    m = [x0 * sx - left, y0 * sy - top, x1 * sx - left, y1 * sy - top]
    c = [min(max(m[0], 0.0), crop), min(max(m[1], 0.0), crop),
         min(max(m[2], 0.0), crop), min(max(m[3], 0.0), crop)]
    if c[2] <= c[0] or c[3] <= c[1]:
        return None, False
    return c, c != m


def load_image(path, geo, crop):
    img = Image.open(path).convert("RGB")
    nh, nw, top, left = geo
    t = TF.pil_to_tensor(img)
    if (nh, nw) != (img.height, img.width):
        t = TF.resize(t, [nh, nw], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    t = TF.crop(t, top, left, crop, crop)  # pads with 0 if the image is smaller than the crop
    return t  # uint8 [3, crop, crop]


def build_model(arch, weights, random_init, num_classes, seed=0):
    torch.manual_seed(seed)
    kw = {"weights": None}
    if num_classes:
        kw["num_classes"] = num_classes
    model = torchvision.models.get_model(arch, **kw)
    if not random_init:
        if not weights:
            raise SystemExit("export_torchvision.py: give --weights FILE (a local state_dict) or "
                             "--random-init")
        sd = torch.load(weights, map_location="cpu")
        if isinstance(sd, dict) and "state_dict" in sd:
            sd = sd["state_dict"]
        model.load_state_dict(sd)
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False
    return model.eval()


class Tap:
    def __init__(self, model, layer):
        mods = dict(model.named_modules())
        if layer not in mods:
            near = [n for n in mods if n and (n.startswith(layer.split(".")[0]))][:20]
            raise SystemExit("export_torchvision.py: no module %r in the net (some names: %s)"
                             % (layer, ", ".join(near)))
        self.module = mods[layer]
        self.out = None
        self.handle = self.module.register_forward_hook(self._hook)
        self.model = model

    def _hook(self, mod, inp, out):
        self.out = out

    def forward(self, x):
        self.out = None
        logits = self.model(x)
        if self.out is None:
            raise RuntimeError("the tapped layer did not run")
        return {"A": self.out}, logits


def collect(a, name_to_idx):
    """-> list of (image path, H, W, [(class, edge box, difficult)]), counters."""
    files = sorted(f for f in os.listdir(a.images) if f.lower().endswith(EXTS))
    items, stats = [], {"no_xml": 0, "unknown_objects": 0, "no_known_object": 0,
                        "boxes_dropped": 0, "boxes_clipped": 0}
    for f in files:
        stem = os.path.splitext(f)[0]
        xml = os.path.join(a.annotations, stem + ".xml")
        if not os.path.exists(xml):
            stats["no_xml"] += 1
            continue
        objs = read_xml(xml)
        with Image.open(os.path.join(a.images, f)) as im:
            W, H = im.size
        geo = geometry(H, W, a.resize, a.crop)
        boxes, present = [], set()
        for (name, x0, y0, x1, y1, diff) in objs:
            if name not in name_to_idx:
                stats["unknown_objects"] += 1
                continue
            c = name_to_idx[name]
            present.add(c)
            b, clipped = map_box((x0, y0, x1, y1), H, W, geo, a.crop, a.box_origin)
            if b is None:
                stats["boxes_dropped"] += 1
                continue
            stats["boxes_clipped"] += int(clipped)
            boxes.append((c, b, diff))
        if not present:
            stats["no_known_object"] += 1
            continue
        items.append((os.path.join(a.images, f), geo, sorted(present), sorted(boxes)))
        if a.limit and len(items) >= a.limit:
            break
    return items, stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--random-init", action="store_true")
    ap.add_argument("--num-classes", type=int, default=0, help="default: the arch's (1000)")
    ap.add_argument("--layer", required=True)
    ap.add_argument("--activation", help="attribute activation (default: guessed from the layer)")
    ap.add_argument("--images", required=True)
    ap.add_argument("--annotations", required=True)
    ap.add_argument("--classes", required=True)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--resize", type=int, default=256)
    ap.add_argument("--crop", type=int, default=224)
    ap.add_argument("--box-origin", type=int, choices=(0, 1), default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--no-saliency", action="store_true")
    ap.add_argument("--no-pixels", action="store_true")
    ap.add_argument("--dataset", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    name_to_idx, idx_to_name = read_classes(a.classes)
    model = build_model(a.arch, a.weights, a.random_init, a.num_classes)
    tap = Tap(model, a.layer)
    items, stats = collect(a, name_to_idx)
    if not items:
        raise SystemExit("export_torchvision.py: no image with a known object (%s)" % stats)
    with torch.no_grad():
        acts0, logits0 = tap.forward(torch.zeros(1, 3, a.crop, a.crop))
    C = logits0.shape[1]
    if max(name_to_idx.values()) >= C or min(name_to_idx.values()) < 0:
        raise SystemExit("export_torchvision.py: class index out of range 0..%d in %s" % (C - 1, a.classes))
    classes = [idx_to_name.get(i, "class_%d" % i) for i in range(C)]
    N = len(items)
    t_img = np.array([i for i, it in enumerate(items) for _ in it[2]], np.int64)
    t_cls = np.array([c for it in items for c in it[2]], np.int64)
    bi = [i for i, it in enumerate(items) for _ in it[3]]
    bc = [b[0] for it in items for b in it[3]]
    bx = np.array([b[1] for it in items for b in it[3]], np.float32).reshape(-1, 4)
    bd = [b[2] for it in items for b in it[3]]
    if not bi:
        raise SystemExit("export_torchvision.py: every box fell outside the crop")
    mod = tap.module
    act = a.activation or ("post-relu" if isinstance(mod, torch.nn.ReLU) or "relu" in a.layer.lower()
                           or a.layer.startswith("layer") else "pre-activation")
    w = gcexport.H5Writer(
        a.out, classes=classes, n_images=N, n_targets=len(t_img), act_shape=tuple(acts0["A"].shape[1:]),
        frame=(a.crop, a.crop), boxes=(bi, bc, bx, bd),
        attrs={"model": a.arch + ("" if not a.weights else " (%s)" % os.path.basename(a.weights))
                        + (" random-init" if a.random_init else ""),
               "layer": a.layer, "activation": act,
               "dataset": a.dataset or "%s (resize %d, centre crop %d)" % (os.path.abspath(a.images),
                                                                          a.resize, a.crop),
               "boxes_dropped": stats["boxes_dropped"], "boxes_clipped": stats["boxes_clipped"]},
        pixel_channels=None if a.no_pixels else 3, saliency=not a.no_saliency)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    try:
        t_start = 0
        for s in range(0, N, a.batch):
            e = min(N, s + a.batch)
            px = torch.stack([load_image(it[0], it[1], a.crop) for it in items[s:e]])
            x = (px.float() / 255.0 - mean) / std
            t_end = int(np.searchsorted(t_img, e))
            acts, grads, sal, logits = gcexport.explain(tap.forward, x, t_img[t_start:t_end] - s,
                                                        t_cls[t_start:t_end], ["A"], not a.no_saliency)
            labels = np.zeros((e - s, C), np.uint8)
            for i, it in enumerate(items[s:e]):
                labels[i, it[2]] = 1
            w.write_images(s, labels, logits.numpy(), acts["A"].numpy(),
                           px.permute(0, 2, 3, 1).numpy())
            w.write_targets(t_start, t_img[t_start:t_end], t_cls[t_start:t_end], grads["A"].numpy(),
                            None if sal is None else sal.numpy())
            t_start = t_end
        w.close()
    except BaseException:
        w.abort()
        raise
    print("export_torchvision: %s: %d images, %d targets, %d boxes (%d clipped, %d dropped outside the "
          "crop), skipped: %d without xml, %d without a known object, %d unknown objects; %.1f s" % (
              a.out, N, len(t_img), len(bi), stats["boxes_clipped"], stats["boxes_dropped"],
              stats["no_xml"], stats["no_known_object"], stats["unknown_objects"], time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
