#!/usr/bin/python3
"""Export a torchvision classifier on a folder of images with Pascal VOC-style XML boxes -> one
gradcam-study/1 HDF5 file (data/SCHEMA.md).

    export_torchvision.py --arch vgg16 --weights vgg16.pth --layer features.29 \\
        --images DIR --annotations DIR --classes classes.txt -o out.h5
        [--random-init] [--num-classes 1000] [--resize-mode crop|fit|stretch] [--resize 256]
        [--crop 224] [--box-origin 1] [--batch 8] [--threads 2] [--no-saliency] [--no-pixels]
        [--limit N] [--skip-bad] [--dataset NAME] [--activation post-relu|pre-activation|...]
        [--quiet]

Network: torchvision.models.ARCH (vgg16, vgg11, resnet18, resnet50, ...).  --weights FILE is a
local state_dict (torch.save(model.state_dict())), e.g. torchvision's vgg16-397923af.pth copied
by hand; nothing is downloaded.  It is read with torch.load(weights_only=True); a checkpoint
dict holding "state_dict" or "model" is unwrapped, and a DataParallel "module." prefix removed.
--random-init builds the net with random weights (tests); it cannot be combined with --weights.
--layer is a name from model.named_modules() (features.29 = VGG-16's last conv ReLU, features.28
= the conv itself, before the ReLU; layer4 for ResNets); a wrong name is answered with the
nearest names and the last modules that output a feature map.  Its output is captured with a
forward hook; every in-place ReLU is switched to out-of-place first, so that a conv output
captured before its ReLU is not overwritten.  If the module runs several times (a shared ReLU),
the last call is used.  --activation defaults to post-relu for a ReLU (or for a name containing
"relu" or ResNet's "layerN"), pre-activation otherwise.

Images: every .jpg .jpeg .png .ppm .pgm .bmp .tif .tiff .webp file in --images (not its
subfolders; sorted by name) that has --annotations/STEM.xml with at least one object whose
<name> is in --classes.  Each is decoded in full before the network runs, so a broken file is
found in the first minutes, not after hours.  Read with PIL as RGB, then one of (--resize-mode;
F = --crop, the side of the square frame every image is stored in):
    crop     resize so that the shorter side is --resize (bilinear, antialiased, torchvision's
             rounding), then centre-crop F x F: torchvision's reference evaluation transform
             (Resize(256) + CenterCrop(224)) and the paper's ILSVRC setting.  The default.
             --resize 0 skips the resize (an image smaller than F is padded with black).
    fit      resize keeping the aspect ratio so that the LONGER side is F (the shorter one
             rounded to the nearest pixel), centred in the F x F frame and padded with the
             ImageNet mean colour (124, 116, 104), which normalises to about 0.  Nothing is
             cropped away; the padding is part of the frame (maps may put weight there).
    stretch  resize to F x F, ignoring the aspect ratio (as torchvision's Resize((F, F))).
             Nothing is cropped away; objects are squashed.
--resize applies to crop only.  Then ImageNet normalisation (mean 0.485 0.456 0.406, std 0.229
0.224 0.225).  /images/name stores each image's file name (relative to --images), so "image 7"
of the engine's outputs can be traced to a photo.

Boxes: <object><name>, <bndbox> xmin ymin xmax ymax, <difficult>.  Pascal VOC's XML uses
1-based inclusive pixel indices (--box-origin 1, the default): a box over pixels xmin..xmax becomes
the edge box [xmin - 1, xmax).  --box-origin 0 reads 0-based inclusive indices: [xmin, xmax + 1).
ImageNet's val XML has the same format; the two conventions differ by one pixel, which is below
the precision of a 14x14 map (pick the one your copy of the boxes documents).  Edges are mapped
like the pixels (scaled, then shifted by the crop or the padding) and clipped to the image's part
of the frame.  Each box that does not make it is named on stderr, by kind, and counted in a root
attribute of the file: boxes_inverted (xmax < xmin or ymax < ymin: an annotation mistake),
boxes_outside_image (wholly outside the image itself), boxes_dropped (a valid box wholly cropped
away); boxes_clipped counts boxes kept but cut.  Objects whose <name> is not in --classes are
left out and named with their files (with the listed name in another case, or the close
spellings); objects_unknown_class counts them.

Skipped, each named on stderr (the first few by name, then a count) and counted in the root
attribute images_skipped: images without an XML file, images whose XML has no object of a
listed class, and, only with --skip-bad, images PIL cannot decode and malformed XML.  Without
--skip-bad a file that cannot be read stops the export.

Classes file (--classes), one class per line, in one of three forms:
    "NAME INDEX"      INDEX = the output unit of the net (e.g. "n01440764 0" or "dog 12");
    "NAME"            index = line number, from 0;
    "WNID words..."   ImageNet's LOC_synset_mapping.txt ("n01440764 tench, Tinca tinca"): index =
                      line number, from 0; the XML names the WNID; /classes holds "WNID tench".
Several names may map to one index.  /classes holds the net's output units (C = --num-classes
or the net's output size), named after the file (the first name given for the index) or "class_I".

Targets: for each image, one per distinct class present in its XML (class order); the class
logit (before softmax) is backpropagated to the layer (/targets/gradients) and to the normalised
input (/targets/saliency = max over RGB of |dy^c/dx|, unless --no-saliency).  /images/pixels
holds the frame as RGB (uint8; --no-pixels leaves it out).  /images/labels = the classes
present; /images/scores = all logits.

Errors: a problem with an input or an option is one line on stderr, "export_torchvision.py:
CULPRIT: what is wrong" (the image, XML, folder, weights file or option), exit status 1, and no
output file.  Usage errors (an unknown option, a value that is not a number): one line, exit 2.
The file is written as OUT.tmpPID and renamed into place when complete; an error, SIGINT,
SIGTERM or SIGHUP removes it (exit status 128 + the signal number after a signal).

Progress: on a terminal (stderr a tty), a progress bar for the scan and for the export (images
done of the total, rate, time left); nothing when stderr is not a terminal, or with --quiet.
The summary line goes to stdout (not with --quiet); notes about skipped images, boxes and
unknown classes go to stderr always.

Size of the file: per image, A (K*h*w float32) + pixels (F*F*3 bytes) + scores and labels (5 C
bytes); per target, G (K*h*w float32) + saliency (F*F float32); plus about 60 KB per file and
300 bytes per image and target (chunk indices, names).  Measured for VGG-16 features.29 at a 224
crop (K*h*w = 512*14*14) and C = 1000: 0.557 MB per image + 0.602 MB per target (1.16 MB for an
image with one target); 0.406 + 0.401 MB with --no-saliency --no-pixels.  An ILSVRC val image
holds one class (one target), so 1,000 images take 1.16 GB and the whole 50,000-image val set
58 GB (40 GB with --no-saliency --no-pixels); use --limit for a subset.

Reproducing the paper's ILSVRC localization setting (Grad-CAM, sec. 4.1):
    # 1. VGG-16 ImageNet weights, copied by hand (torchvision's vgg16-397923af.pth)
    # 2. ILSVRC2012 val images + their XML boxes (LOC_val / ILSVRC2012_bbox_val_v3), and
    #    LOC_synset_mapping.txt (sorted WNIDs: torchvision's class order; or a file
    #    "WNID INDEX" in that order)
    /usr/bin/python3 scripts/export_torchvision.py --arch vgg16 --weights vgg16-397923af.pth \\
        --layer features.29 --images val/ --annotations val_xml/ \\
        --classes LOC_synset_mapping.txt --resize-mode crop --resize 256 --crop 224 \\
        -o data/ilsvrc-vgg16-post.h5
    # the same conv before its ReLU:  --layer features.28 (activation pre-activation)
    bin/gradcam-study run -o out/ilsvrc data/ilsvrc-vgg16-post.h5
  (The paper also scores the top-1 predicted class; this exporter explains the ground-truth
  classes, which is what the box metrics need.)
"""

import signal
import sys

if __name__ == "__main__":  # until run_main's handlers: a signal during the imports, one line
    def _early_signal(signum, frame):
        sys.stderr.write("export_torchvision.py: -: interrupted by %s, nothing written\n"
                         % signal.Signals(signum).name)
        sys.stderr.flush()
        import os
        os._exit(128 + signum)
    for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, _early_signal)

import difflib
import math
import os
import re
import time
import xml.etree.ElementTree as ET

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcexport  # noqa: E402
from gcexport import ExportError, named  # noqa: E402

PROG = "export_torchvision.py"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
FILL = (124, 116, 104)  # the ImageNet mean in 0..255: the padding of --resize-mode fit
EXTS = (".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp")
MODES = ("crop", "fit", "stretch")
RESIZE_DEFAULT = 256

_SYNSET = re.compile(r"^(n\d{8})\s+(\S.*)$")
_INDEXED = re.compile(r"^(.*\S)\s+(-?\d+)$")


# --------------------------------------------------------------------------- classes file

def read_classes(path):
    """-> (name -> index, index -> display name, name -> line number)."""
    if not os.path.exists(path):
        raise ExportError(path, "no such classes file (--classes)")
    if os.path.isdir(path):
        raise ExportError(path, "a folder, not a classes file (--classes)")
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read().splitlines()
    except UnicodeDecodeError as e:
        raise ExportError(path, "not UTF-8 text (%s at byte %d)" % (e.reason, e.start))
    except OSError as e:
        raise ExportError(path, "cannot read: %s" % (e.strerror or e))
    lines = [(no, ln.strip()) for no, ln in enumerate(raw, 1)
             if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ExportError(path, "no class in the file (one per line: \"NAME INDEX\", \"NAME\", or "
                                "ImageNet's \"WNID words\")")
    synset = (all(_SYNSET.match(ln) for _, ln in lines)
              and not all(_INDEXED.match(ln) for _, ln in lines))
    name_to_idx, idx_to_name, line_of = {}, {}, {}
    for i, (no, ln) in enumerate(lines):
        if synset:
            m = _SYNSET.match(ln)
            name, idx = m.group(1), i
            display = "%s %s" % (name, m.group(2).split(",")[0].strip())
        else:
            m = _INDEXED.match(ln)
            name, idx = (m.group(1), int(m.group(2))) if m else (ln, i)
            display = name
            if idx < 0:
                raise ExportError(path, "line %d: index %d is negative" % (no, idx))
        if name in name_to_idx:
            if name_to_idx[name] != idx:
                raise ExportError(path, "line %d: %r is on line %d already, with index %d"
                                  % (no, name, line_of[name], name_to_idx[name]))
            continue
        name_to_idx[name] = idx
        line_of[name] = no
        idx_to_name.setdefault(idx, display)
    return name_to_idx, idx_to_name, line_of


# --------------------------------------------------------------------------- XML

def _number(path, what, key, text):
    if text is None or not text.strip():
        raise ExportError(path, "%s: no <%s>" % (what, key))
    try:
        v = float(text)
    except ValueError:
        raise ExportError(path, "%s: <%s> is %r, not a number" % (what, key, text.strip()))
    if not math.isfinite(v):
        raise ExportError(path, "%s: <%s> is %r, not a finite number" % (what, key, text.strip()))
    return v


def read_xml(path):
    """-> ([(name, xmin, ymin, xmax, ymax, difficult, object number)], (width, height) or None),
    numbers as in the file.  Raises ExportError naming the file and the object."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ExportError(path, "not well-formed XML: %s" % e)
    except OSError as e:
        raise ExportError(path, "cannot read: %s" % (e.strerror or e))
    size = None
    sz = root.find("size")
    if sz is not None and sz.findtext("width") is not None and sz.findtext("height") is not None:
        w = _number(path, "<size>", "width", sz.findtext("width"))
        h = _number(path, "<size>", "height", sz.findtext("height"))
        size = (int(w), int(h))
    out = []
    for k, obj in enumerate(root.iter("object"), 1):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise ExportError(path, "object %d has no <name>" % k)
        what = "object %d (%s)" % (k, name)
        bb = obj.find("bndbox")
        if bb is None:
            raise ExportError(path, "%s has no <bndbox>" % what)
        v = [_number(path, what + " <bndbox>", key, bb.findtext(key))
             for key in ("xmin", "ymin", "xmax", "ymax")]
        diff = obj.findtext("difficult")
        d = 0
        if diff is not None and diff.strip():
            d = _number(path, what, "difficult", diff)
            if d not in (0.0, 1.0):
                raise ExportError(path, "%s: <difficult> is %r, expected 0 or 1" % (what, diff.strip()))
        out.append((name, v[0], v[1], v[2], v[3], int(d), k))
    return out, size


# --------------------------------------------------------------------------- geometry

class Geometry:
    """Where an H x W image lands in the F x F frame: resized to (nh, nw), its top-left corner
    at (oy, ox) of the frame (negative = cropped).  content = the frame's part covered by the
    image (x0, y0, x1, y1)."""

    def __init__(self, H, W, mode, resize, frame):
        self.H, self.W, self.mode, self.F = H, W, mode, frame
        if mode == "crop":
            if resize:
                short, long_ = (H, W) if H <= W else (W, H)
                new_short, new_long = resize, int(resize * long_ / short)  # torchvision's rounding
                nh, nw = (new_short, new_long) if H <= W else (new_long, new_short)
            else:
                nh, nw = H, W
            top = int(round((nh - frame) / 2.0))  # torchvision's center_crop offsets
            left = int(round((nw - frame) / 2.0))
            oy, ox = -top, -left
        elif mode == "fit":
            s = frame / float(max(H, W))
            nh = min(frame, max(1, int(H * s + 0.5)))
            nw = min(frame, max(1, int(W * s + 0.5)))
            oy, ox = (frame - nh) // 2, (frame - nw) // 2
        elif mode == "stretch":
            nh, nw, oy, ox = frame, frame, 0, 0
        else:
            raise ValueError(mode)
        self.nh, self.nw, self.oy, self.ox = nh, nw, oy, ox
        self.content = (max(0, ox), max(0, oy), min(frame, ox + nw), min(frame, oy + nh))

    def map_box(self, edge):
        """Edge box in the image -> (edge box in the frame clipped to the content, clipped?),
        or (None, False) when nothing of it is left."""
        sx, sy = self.nw / self.W, self.nh / self.H
        x0, y0, x1, y1 = edge
        m = [x0 * sx + self.ox, y0 * sy + self.oy, x1 * sx + self.ox, y1 * sy + self.oy]
        cx0, cy0, cx1, cy1 = self.content
        c = [min(max(m[0], cx0), cx1), min(max(m[1], cy0), cy1),
             min(max(m[2], cx0), cx1), min(max(m[3], cy0), cy1)]
        if c[2] <= c[0] or c[3] <= c[1]:
            return None, False
        return c, c != m


def edge_box(v, origin):
    """(xmin, ymin, xmax, ymax) inclusive pixel indices -> edge box [x0, x1) x [y0, y1)."""
    x0, y0, x1, y1 = v
    return (x0 - 1, y0 - 1, x1, y1) if origin == 1 else (x0, y0, x1 + 1, y1 + 1)


def decode_image(path):
    """Decode the whole file (so a truncated one is found now) -> PIL image."""
    from PIL import Image, UnidentifiedImageError
    try:
        im = Image.open(path)
        im.load()
        return im
    except UnidentifiedImageError:
        raise ExportError(path, "not an image (PIL cannot identify the file)")
    except Image.DecompressionBombError as e:
        raise ExportError(path, "too large to decode safely (%s)" % gcexport.one_line(e, 200))
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ExportError(path, "corrupt or truncated image: %s" % gcexport.one_line(e, 200))


def load_image(path, geo):
    """-> uint8 tensor [3, F, F], the frame of --resize-mode."""
    import torch
    import torchvision.transforms.functional as TF
    im = decode_image(path)
    try:
        img = im.convert("RGB")
    finally:
        im.close()
    if img.size != (geo.W, geo.H):
        raise ExportError(path, "changed while exporting (now %dx%d, was %dx%d)"
                          % (img.width, img.height, geo.W, geo.H))
    t = TF.pil_to_tensor(img)
    F = geo.F
    if (geo.nh, geo.nw) != (geo.H, geo.W):
        t = TF.resize(t, [geo.nh, geo.nw], interpolation=TF.InterpolationMode.BILINEAR,
                      antialias=True)
    if geo.mode == "crop":
        return TF.crop(t, -geo.oy, -geo.ox, F, F)  # pads with 0 if the image is smaller
    if geo.mode == "fit":
        out = torch.tensor(FILL, dtype=torch.uint8).view(3, 1, 1).repeat(1, F, F)
        out[:, geo.oy:geo.oy + geo.nh, geo.ox:geo.ox + geo.nw] = t
        return out
    return t


# --------------------------------------------------------------------------- the network

def _arch_names():
    import torchvision
    try:
        return sorted(torchvision.models.list_models(module=torchvision.models))
    except AttributeError:  # torchvision < 0.14
        return sorted(n for n, f in vars(torchvision.models).items()
                      if callable(f) and n[:1].islower() and not n.startswith("_"))


def read_weights(path):
    import torch
    try:
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:  # torch without weights_only
            sd = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 -- pickle, zip and torch errors alike
        msg = gcexport.one_line(e, 2000)
        if "Weights only load failed" in msg:  # keep torch's reason, not its advice
            msg = msg.split("WeightsUnpickler error:", 1)[-1].strip()
            if msg.startswith("Unsupported class"):
                msg += ": a pickled model object, not a state_dict"
        raise ExportError(path, "not a state_dict torch.load can read (%s); save one with "
                                "torch.save(model.state_dict(), PATH)" % gcexport.one_line(msg, 200))
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ExportError(path, "not a state_dict (a dict of tensors): %s"
                          % (type(sd).__name__ if not isinstance(sd, dict) else "a dict of other things"))
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def build_model(arch, weights, random_init, num_classes, seed=0):
    import torch
    import torchvision
    torch.manual_seed(seed)
    kw = {"weights": None}
    if num_classes:
        kw["num_classes"] = num_classes
    try:
        model = torchvision.models.get_model(arch, **kw)
    except Exception as e:  # noqa: BLE001
        raise ExportError("--arch " + arch, "torchvision cannot build it: %s" % gcexport.one_line(e, 300))
    if not random_init:
        sd = read_weights(weights)
        own = model.state_dict()
        missing = [k for k in own if k not in sd]
        unexpected = [k for k in sd if k not in own]
        shapes = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
        if missing or unexpected or shapes:
            parts = []
            if missing:
                parts.append("%d of its %d tensors missing (%s)" % (len(missing), len(own), named(missing, 3)))
            if unexpected:
                parts.append("%d unexpected (%s)" % (len(unexpected), named(unexpected, 3)))
            if shapes:
                parts.append("%d of another shape (%s)" % (len(shapes), named(
                    ["%s: %s in the file, %s in the net" % (k, list(sd[k].shape), list(own[k].shape))
                     for k in shapes], 2)))
            hint = ""
            if not missing and not unexpected and shapes:
                last = shapes[-1]
                hint = "; the file's %s has %d outputs: give --num-classes %d?" % (
                    last, sd[last].shape[0], sd[last].shape[0])
            raise ExportError(weights, "not weights of %s%s: %s%s" % (
                arch, "" if not num_classes else " with %d classes" % num_classes, "; ".join(parts), hint))
        model.load_state_dict(sd)
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False
    return model.eval()


def probe(model, arch, crop):
    """One forward pass on a zero frame, recording every module's output shape.
    -> (logits shape, [(name, type name, output shape)] in the order the outputs were made)."""
    import torch
    seen = []
    hooks = []
    for name, mod in model.named_modules():
        def hook(m, i, o, name=name):
            seen.append((name, type(m).__name__, tuple(o.shape) if isinstance(o, torch.Tensor) else None))
        hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            logits = model(torch.zeros(1, 3, crop, crop))
    except RuntimeError as e:
        raise ExportError("--crop %d" % crop, "too small for %s (its forward pass fails on a frame of "
                          "%dx%d: %s)" % (arch, crop, crop, gcexport.one_line(e, 200)))
    finally:
        for h in hooks:
            h.remove()
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ExportError("--arch " + arch, "its output is not a [N, classes] tensor of logits")
    order = {}
    for name, typ, shape in seen:  # keep the last call of each module (a shared ReLU)
        order.pop(name, None)
        order[name] = (typ, shape)
    return tuple(logits.shape), [(n, t, s) for n, (t, s) in order.items()]


def check_layer(model, arch, layer, seen):
    mods = dict(model.named_modules())
    fmaps = [(n, t, s) for n, t, s in seen if n and s is not None and len(s) == 4]

    def show(rows):
        return ", ".join("%s (%s %s)" % (n, t, "x".join(str(v) for v in s[1:])) for n, t, s in rows)
    last = "the last modules with a feature-map output: %s" % show(fmaps[-6:])
    if layer not in mods:
        close = difflib.get_close_matches(layer, [n for n in mods if n], n=5, cutoff=0.5)
        raise ExportError("--layer " + layer, "no module of that name in %s; %s%s" % (
            arch, "near names: %s; " % ", ".join(close) if close else "", last))
    shape = dict((n, s) for n, _, s in seen).get(layer, "not run")
    if shape == "not run":
        raise ExportError("--layer " + layer, "this module of %s does not run in eval mode; %s"
                          % (arch, last))
    if shape is None or len(shape) != 4:
        raise ExportError("--layer " + layer, "its output %s is not a feature map [N, K, h, w]; %s"
                          % ("is not a tensor" if shape is None else list(shape), last))
    return mods[layer], shape


class Tap:
    """Captures the output of module LAYER (a name checked by check_layer) in forward()."""

    def __init__(self, model, layer):
        self.module = dict(model.named_modules())[layer]
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


# --------------------------------------------------------------------------- scanning the folders

def list_folder(folder, option, exts):
    if not os.path.exists(folder):
        raise ExportError(folder, "no such folder (%s)" % option)
    if not os.path.isdir(folder):
        raise ExportError(folder, "not a folder (%s)" % option)
    try:
        entries = sorted(os.listdir(folder))
    except OSError as e:
        raise ExportError(folder, "cannot list the folder (%s): %s" % (option, e.strerror or e))
    files, others = [], []
    for f in entries:
        p = os.path.join(folder, f)
        if f.lower().endswith(exts) and os.path.isfile(p):
            files.append(f)
        elif not f.startswith("."):
            others.append(f + ("/" if os.path.isdir(p) else ""))
    if not files:
        raise ExportError(folder, "no %s file in the folder (%s)%s" % (
            "/".join(e.lstrip(".") for e in exts), option,
            "; it holds %s" % named(others, 4) if others else "; it is empty"))
    return files, others


class Scan:
    """The images to export and everything left out, by kind (for the notes and attributes)."""

    def __init__(self):
        self.items = []  # (name, path, Geometry, [classes present], [(class, box, difficult)])
        self.no_xml, self.no_known, self.bad = [], [], []
        self.unknown = {}  # name -> [xml files]
        self.inverted, self.outside, self.dropped, self.size_mismatch = [], [], [], []
        self.clipped = 0
        self.orphans = []
        self.others = []


def scan(a, files, xml_files, name_to_idx, quiet):
    s = Scan()
    xml_set = set(xml_files)
    image_stems = set()
    bar = gcexport.Progress(len(files), "scan", quiet=quiet)
    try:
        for f in files:
            if a.limit and len(s.items) >= a.limit:
                break
            bar.update()
            stem = os.path.splitext(f)[0]
            image_stems.add(stem)
            path = os.path.join(a.images, f)
            if stem + ".xml" not in xml_set:
                s.no_xml.append(gcexport.shown(f))
                continue
            xml = os.path.join(a.annotations, stem + ".xml")
            try:
                why = gcexport.bad_name(f)
                if why:
                    raise ExportError(path, "file name unusable as /images/name: %s; rename the file" % why)
                objs, size = read_xml(xml)
                known = [o for o in objs if o[0] in name_to_idx]
                for o in objs:
                    if o[0] not in name_to_idx:
                        s.unknown.setdefault(o[0], []).append(stem + ".xml")
                if not known:
                    s.no_known.append(gcexport.shown(f))
                    continue
                im = decode_image(path)
                W, H = im.size
                im.close()
            except ExportError as e:
                if not a.skip_bad:
                    raise
                s.bad.append((f, e))
                continue
            if size is not None and size != (W, H):
                s.size_mismatch.append("%s (XML %dx%d, image %dx%d)" % (f, size[0], size[1], W, H))
            geo = Geometry(H, W, a.resize_mode, a.resize, a.crop)
            boxes, present = [], set()
            for (name, x0, y0, x1, y1, diff, k) in known:
                c = name_to_idx[name]
                present.add(c)
                where = "%s.xml object %d (%s)" % (stem, k, name)
                e = edge_box((x0, y0, x1, y1), a.box_origin)
                if e[2] <= e[0] or e[3] <= e[1]:
                    s.inverted.append("%s: xmin %g xmax %g, ymin %g ymax %g" % (where, x0, x1, y0, y1))
                    continue
                if e[2] <= 0 or e[3] <= 0 or e[0] >= W or e[1] >= H:
                    s.outside.append("%s: %g,%g-%g,%g in a %dx%d image" % (where, x0, y0, x1, y1, W, H))
                    continue
                b, clipped = geo.map_box(e)
                if b is None:
                    s.dropped.append(where)
                    continue
                s.clipped += int(clipped)
                boxes.append((c, b, diff))
            s.items.append((f, path, geo, sorted(present), sorted(boxes)))
    finally:
        bar.close()
    s.orphans = sorted(x for x in xml_files if os.path.splitext(x)[0] not in image_stems) \
        if not a.limit else []
    return s


def unknown_note(unknown, name_to_idx, classes_path):
    lower = {}
    for n in name_to_idx:
        lower.setdefault(n.lower(), n)
    parts = []
    for name in sorted(unknown, key=lambda n: (-len(unknown[n]), n)):
        files = sorted(set(unknown[name]))
        hint = ""
        if name.lower() in lower:
            hint = "; listed as %r" % lower[name.lower()]
        else:
            close = difflib.get_close_matches(name, list(name_to_idx), n=2, cutoff=0.75)
            if close:
                hint = "; did you mean %s?" % " or ".join(repr(c) for c in close)
        parts.append("%r (%s%s)" % (name, named(files, 3), hint))
    n_obj = sum(len(v) for v in unknown.values())
    return "%d object%s of %d class name%s not in %s, left out: %s" % (
        n_obj, "s" * (n_obj != 1), len(unknown), "s" * (len(unknown) != 1), classes_path,
        named(parts, 8))


# --------------------------------------------------------------------------- main

def parser():
    ap = gcexport.OneLineParser(prog=PROG, description=__doc__, formatter_class=gcexport.HelpFormatter)
    g = ap.add_argument_group("network")
    g.add_argument("--arch", required=True, help="torchvision.models name (vgg16, resnet50, ...)")
    g.add_argument("--weights", metavar="FILE",
                   help="local state_dict of ARCH (torch.save(model.state_dict())); nothing is downloaded; "
                        "required unless --random-init")
    g.add_argument("--random-init", action="store_true",
                   help="random weights instead of --weights (tests; refused together with --weights)")
    g.add_argument("--num-classes", type=int, default=0, metavar="C",
                   help="output units of the net; 0 = the arch's own (1000)")
    g.add_argument("--layer", required=True,
                   help="module name from model.named_modules() whose output is A (features.29, layer4)")
    g.add_argument("--activation",
                   help="the file's activation attribute (default: post-relu for a ReLU or layerN, "
                        "else pre-activation)")
    g = ap.add_argument_group("data")
    g.add_argument("--images", required=True, metavar="DIR", help="folder of images (not its subfolders)")
    g.add_argument("--annotations", required=True, metavar="DIR",
                   help="folder of Pascal VOC-style XML files, STEM.xml for image STEM.jpg")
    g.add_argument("--classes", required=True, metavar="FILE",
                   help="classes file: NAME INDEX, NAME, or ImageNet's LOC_synset_mapping.txt lines")
    g.add_argument("--box-origin", type=int, choices=(0, 1), default=1,
                   help="1: VOC's 1-based inclusive pixel indices; 0: 0-based inclusive")
    g.add_argument("--limit", type=int, default=0, metavar="N", help="export the first N usable images; 0 = all")
    g.add_argument("--skip-bad", action="store_true",
                   help="skip (and name) images PIL cannot decode and malformed XML instead of stopping")
    g.add_argument("--dataset", default=None,
                   help="the file's dataset attribute (default: the --images path and the resize)")
    g = ap.add_argument_group("frame")
    g.add_argument("--resize-mode", choices=MODES, default="crop",
                   help="crop: shorter side to --resize, centre crop (torchvision's reference, the paper's); "
                        "fit: longer side to --crop, padded; stretch: resize to --crop x --crop")
    g.add_argument("--resize", type=int, default=None, metavar="PX",
                   help="crop mode: the shorter side before the crop; 0 = no resize (default: %d)"
                        % RESIZE_DEFAULT)
    g.add_argument("--crop", type=int, default=224, metavar="PX",
                   help="side of the square frame every image is stored in")
    g = ap.add_argument_group("output")
    g.add_argument("-o", "--out", required=True, metavar="OUT.h5", help="output file (written atomically)")
    g.add_argument("--no-saliency", action="store_true", help="leave out /targets/saliency (|dy/dx|)")
    g.add_argument("--no-pixels", action="store_true", help="leave out /images/pixels")
    g.add_argument("--batch", type=int, default=8, metavar="N", help="images per forward/backward pass")
    g.add_argument("--threads", type=int, default=2, metavar="N", help="torch threads")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar and no summary line (notes and errors still go to stderr)")
    return ap


def check_options(a):
    if a.crop < 1:
        raise ExportError("--crop %d" % a.crop, "must be a positive number of pixels")
    if a.resize is not None and a.resize_mode != "crop":
        raise ExportError("--resize %d" % a.resize, "applies to --resize-mode crop only (%s resizes "
                          "to --crop)" % a.resize_mode)
    if a.resize is None:
        a.resize = RESIZE_DEFAULT if a.resize_mode == "crop" else 0
    if a.resize < 0:
        raise ExportError("--resize %d" % a.resize, "must be 0 (no resize) or a number of pixels")
    if a.resize_mode == "crop" and 0 < a.resize < a.crop:
        raise ExportError("--resize %d" % a.resize, "smaller than --crop %d: the crop would be padded"
                          % a.crop)
    for opt, v, lo in (("--batch", a.batch, 1), ("--threads", a.threads, 1), ("--limit", a.limit, 0),
                       ("--num-classes", a.num_classes, 0)):
        if v < lo:
            raise ExportError("%s %d" % (opt, v), "must be at least %d" % lo)
    if a.random_init and a.weights:
        raise ExportError("--weights " + a.weights, "given together with --random-init: pick one")
    if not a.random_init and not a.weights:
        raise ExportError("--weights", "give --weights FILE (a local state_dict) or --random-init")
    if a.weights:
        if not os.path.exists(a.weights):
            raise ExportError(a.weights, "no such weights file (--weights)")
        if not os.path.isfile(a.weights):
            raise ExportError(a.weights, "not a file (--weights)")
    out = a.out
    if os.path.isdir(out):
        raise ExportError(out, "is a folder; -o names the output file")
    d = os.path.dirname(os.path.abspath(out))
    while not os.path.exists(d):
        d = os.path.dirname(d)
    if not os.path.isdir(d) or not os.access(d, os.W_OK | os.X_OK):
        raise ExportError(out, "cannot be written: %s is not a writable folder" % d)


_STATE = {"out": "-"}


def export(argv=None):
    t0 = time.time()
    a = parser().parse_args(argv)
    _STATE["out"] = a.out
    check_options(a)
    quiet = a.quiet
    # everything that needs no network first: folders, classes file
    files, others = list_folder(a.images, "--images", EXTS)
    xml_files, _ = list_folder(a.annotations, "--annotations", (".xml",))
    name_to_idx, idx_to_name, line_of = read_classes(a.classes)
    # the network: arch, weights, crop, layer, class indices
    if a.arch not in _arch_names():
        close = difflib.get_close_matches(a.arch, _arch_names(), n=4, cutoff=0.6)
        raise ExportError("--arch " + a.arch, "not a torchvision classifier (%s)" % (
            "close: " + ", ".join(close) if close else "e.g. vgg16, resnet50; see "
            "torchvision.models.list_models()"))
    import torch
    torch.set_num_threads(a.threads)
    model = build_model(a.arch, a.weights, a.random_init, a.num_classes)
    (_, C), seen = probe(model, a.arch, a.crop)
    module, shape = check_layer(model, a.arch, a.layer, seen)
    for name, idx in sorted(name_to_idx.items(), key=lambda kv: line_of[kv[0]]):
        if idx >= C:
            raise ExportError(a.classes, "line %d: index %d of %r, but %s has %d outputs (0..%d)%s"
                              % (line_of[name], idx, name, a.arch, C, C - 1,
                                 "" if a.num_classes else "; --num-classes?"))
    tap = Tap(model, a.layer)
    # the images and their XML
    s = scan(a, files, xml_files, name_to_idx, quiet)
    s.others = others
    if not s.items:
        nothing(a, s, files, xml_files, name_to_idx)
    notes(a, s, name_to_idx)
    items = s.items
    N = len(items)
    classes = [idx_to_name.get(i, "class_%d" % i) for i in range(C)]
    t_img = np.array([i for i, it in enumerate(items) for _ in it[3]], np.int64)
    t_cls = np.array([c for it in items for c in it[3]], np.int64)
    bi = [i for i, it in enumerate(items) for _ in it[4]]
    bc = [b[0] for it in items for b in it[4]]
    bx = np.array([b[1] for it in items for b in it[4]], np.float32).reshape(-1, 4)
    bd = [b[2] for it in items for b in it[4]]
    if not bi:
        raise ExportError(a.annotations, "no box is left in the frame of any exported image (%d "
                          "cropped away, %d inverted, %d outside the image)"
                          % (len(s.dropped), len(s.inverted), len(s.outside)))
    act = a.activation or ("post-relu" if isinstance(module, torch.nn.ReLU) or "relu" in a.layer.lower()
                           or a.layer.startswith("layer") else "pre-activation")
    how = {"crop": "resize %d, centre crop %d" % (a.resize, a.crop) if a.resize
           else "no resize, centre crop %d" % a.crop,
           "fit": "fit in %dx%d, padded" % (a.crop, a.crop),
           "stretch": "stretch to %dx%d" % (a.crop, a.crop)}[a.resize_mode]
    counts = {"boxes_dropped": len(s.dropped), "boxes_clipped": s.clipped,
              "boxes_inverted": len(s.inverted), "boxes_outside_image": len(s.outside),
              "objects_unknown_class": sum(len(v) for v in s.unknown.values()),
              "images_skipped": len(s.no_xml) + len(s.no_known) + len(s.bad)}
    attrs = {"model": a.arch + ("" if not a.weights else " (%s)" % os.path.basename(a.weights))
                      + (" random-init" if a.random_init else ""),
             "layer": a.layer, "activation": act,
             "dataset": a.dataset or "%s (%s)" % (os.path.abspath(a.images), how)}
    attrs.update({k: np.int64(v) for k, v in counts.items()})
    try:
        w = gcexport.H5Writer(
            a.out, classes=classes, n_images=N, n_targets=len(t_img), act_shape=tuple(shape[1:]),
            frame=(a.crop, a.crop), boxes=(bi, bc, bx, bd), attrs=attrs,
            pixel_channels=None if a.no_pixels else 3, saliency=not a.no_saliency,
            names=[it[0] for it in items])
    except OSError as e:
        raise ExportError(a.out, "cannot write: %s" % gcexport.one_line(e, 300))
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    bar = gcexport.Progress(N, "export", quiet=quiet)
    try:
        t_start = 0
        for st in range(0, N, a.batch):
            e = min(N, st + a.batch)
            px = torch.stack([load_image(it[1], it[2]) for it in items[st:e]])
            x = (px.float() / 255.0 - mean) / std
            t_end = int(np.searchsorted(t_img, e))
            acts, grads, sal, logits = gcexport.explain(tap.forward, x, t_img[t_start:t_end] - st,
                                                        t_cls[t_start:t_end], ["A"], not a.no_saliency)
            labels = np.zeros((e - st, C), np.uint8)
            for i, it in enumerate(items[st:e]):
                labels[i, it[3]] = 1
            w.write_images(st, labels, logits.numpy(), acts["A"].numpy(),
                           px.permute(0, 2, 3, 1).numpy())
            w.write_targets(t_start, t_img[t_start:t_end], t_cls[t_start:t_end], grads["A"].numpy(),
                            None if sal is None else sal.numpy())
            t_start = t_end
            bar.update(e - st)
        bar.close()
        w.close()
    except OSError as e:  # the output (images are read in load_image, which names them)
        bar.close()
        w.abort(renamed_too=True)
        raise ExportError(a.out, "cannot write: %s" % gcexport.one_line(e, 300))
    except BaseException:
        bar.close()
        w.abort(renamed_too=True)
        raise
    if not quiet:
        print("export_torchvision: %s: %d images, %d targets, %d boxes (%d clipped; left out: %d cropped "
              "away, %d inverted or empty, %d outside the image); skipped images: %d without XML, %d "
              "without a known class, %d unreadable; %d objects of unknown classes; %.1f s" % (
                  a.out, N, len(t_img), len(bi), s.clipped, len(s.dropped), len(s.inverted),
                  len(s.outside), len(s.no_xml), len(s.no_known), len(s.bad),
                  counts["objects_unknown_class"], time.time() - t0), flush=True)
    return 0


def nothing(a, s, files, xml_files, name_to_idx):
    """No image is left to export: one error naming the likeliest culprit."""
    if s.no_xml and not s.no_known and not s.bad:
        raise ExportError(a.annotations, "no XML file for any of the %d images in %s (%s needs %s; "
                          "the folder holds %s)" % (len(s.no_xml), a.images, s.no_xml[0],
                                                    os.path.splitext(s.no_xml[0])[0] + ".xml",
                                                    named(xml_files, 3)))
    if s.no_known and not s.bad:
        raise ExportError(a.classes, "no object in the XML files of the %d images has a class listed "
                          "here%s; the XML names: %s" % (
                              len(s.no_known), " (%d more images have no XML file)" % len(s.no_xml)
                              if s.no_xml else "",
                              unknown_note(s.unknown, name_to_idx, a.classes).split("left out: ", 1)[-1]))
    why = []
    if s.no_xml:
        why.append("%d without an XML file in %s" % (len(s.no_xml), a.annotations))
    if s.no_known:
        why.append("%d whose XML has no object of a class in %s" % (len(s.no_known), a.classes))
    if s.bad:
        why.append("%d unreadable (%s)" % (len(s.bad), named([f for f, _ in s.bad], 3)))
    raise ExportError(a.images, "no image to export (of %d: %s)" % (len(files), "; ".join(why)))


def notes(a, s, name_to_idx):
    """One line on stderr for each kind of thing left out, naming the first few."""
    def say(text):
        gcexport.note(PROG, text)
    if s.bad:
        say("%d unreadable file%s skipped (--skip-bad): %s" % (
            len(s.bad), "s" * (len(s.bad) != 1),
            named(["%s (%s)" % (e.culprit, gcexport.one_line(e.message, 120)) for _, e in s.bad], 3)))
    if s.no_xml:
        say("%d image%s without an XML file in %s, skipped: %s" % (
            len(s.no_xml), "s" * (len(s.no_xml) != 1), a.annotations, named(s.no_xml)))
    if s.no_known:
        say("%d image%s whose XML has no object of a class in %s, skipped: %s" % (
            len(s.no_known), "s" * (len(s.no_known) != 1), a.classes, named(s.no_known)))
    if s.unknown:
        say(unknown_note(s.unknown, name_to_idx, a.classes))
    if s.inverted:
        say("%d box%s inverted or empty (xmax < xmin or ymax < ymin), left out: %s" % (
            len(s.inverted), "es" * (len(s.inverted) != 1), named(s.inverted, 3)))
    if s.outside:
        say("%d box%s wholly outside the image, left out: %s" % (
            len(s.outside), "es" * (len(s.outside) != 1), named(s.outside, 3)))
    if s.dropped:
        say("%d box%s cropped away by --resize-mode crop (wholly outside the %dx%d crop), left out: %s"
            % (len(s.dropped), "es" * (len(s.dropped) != 1), a.crop, a.crop, named(s.dropped, 3)))
    if s.size_mismatch:
        say("%d XML <size> differ%s from the image's, boxes taken in the image's pixels: %s" % (
            len(s.size_mismatch), "s" * (len(s.size_mismatch) == 1), named(s.size_mismatch, 3)))
    if s.others:
        say("%d entr%s of %s not read (not %s, or a folder): %s" % (
            len(s.others), "ies" if len(s.others) != 1 else "y", a.images, "/".join(EXTS), named(s.others)))
    if s.orphans:
        say("%d XML file%s without an image in %s: %s" % (
            len(s.orphans), "s" * (len(s.orphans) != 1), a.images, named(s.orphans)))


def main(argv=None):
    return gcexport.run_main(PROG, export, argv, out_hint=lambda: _STATE["out"])


if __name__ == "__main__":
    status = main()
    gcexport.hold_signals()  # a signal while the interpreter shuts down leaves a finished export alone
    sys.exit(status)
