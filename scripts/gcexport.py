#!/usr/bin/python3
"""Shared code of the exporters (export.py, export_torchvision.py): per-target gradients and the
schema-v1 HDF5 writer (data/SCHEMA.md).

explain(forward, x, image_of_target, class_of_target, taps, saliency=True)
    One forward and one backward pass over a batch of TARGET rows: row t is a copy of image
    image_of_target[t] (an index into x).  Because the network is in eval mode, rows are
    independent, so backpropagating sum_t logits[t, class_t] gives every target's own gradient
    dy^c/dA (and dy^c/dx) in one call of torch.autograd.grad.
    forward(x) -> ({tap name: tensor in the graph}, logits [n, C]).
    Returns acts {tap: [n_images, K, h, w]} (from the first row of each image), grads
    {tap: [T, K, h, w]}, saliency [T, H, W] (max over input channels of |dy^c/dx|, the paper's
    "Backprop") or None, logits [n_images, C].

H5Writer(path, ...)
    Creates every dataset up front (the sizes are known before the network runs) with one image
    (or target) per chunk, fills them batch by batch, and on close() renames PATH.tmpPID into
    PATH, so an interrupted export leaves no half file.
"""

import os

import h5py
import numpy as np
import torch

SCHEMA = "gradcam-study/1"


def explain(forward, x, image_of_target, class_of_target, taps, saliency=True):
    image_of_target = torch.as_tensor(np.asarray(image_of_target), dtype=torch.long)
    class_of_target = torch.as_tensor(np.asarray(class_of_target), dtype=torch.long)
    rows = x.index_select(0, image_of_target).detach().clone()
    if saliency:
        rows.requires_grad_(True)
    with torch.enable_grad():
        tapped, logits = forward(rows)
        sel = torch.zeros_like(logits)
        sel[torch.arange(len(rows)), class_of_target] = 1.0
        inputs = [tapped[k] for k in taps] + ([rows] if saliency else [])
        g = torch.autograd.grad(logits, inputs, grad_outputs=sel)
    first = np.unique(image_of_target.numpy(), return_index=True)
    if len(first[0]) != len(x) or not np.array_equal(first[0], np.arange(len(x))):
        raise ValueError("every image of the batch needs at least one target")
    first = torch.as_tensor(first[1])
    acts = {k: tapped[k].detach().index_select(0, first) for k in taps}
    grads = {k: g[i].detach() for i, k in enumerate(taps)}
    sal = g[-1].detach().abs().amax(dim=1) if saliency else None
    return acts, grads, sal, logits.detach().index_select(0, first)


def _str(v):
    return str(v)


class H5Writer:
    def __init__(self, path, *, classes, n_images, n_targets, act_shape, frame, boxes,
                 attrs, pixel_channels=None, saliency=True, dtype="f4"):
        """act_shape = (K, h, w); frame = (H, W); boxes = (image [B], class [B], xyxy [B, 4],
        difficult [B] or None); attrs: model, layer, activation, dataset (+ any extra)."""
        self.path = path
        self.tmp = "%s.tmp%d" % (path, os.getpid())
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        f = self.f = h5py.File(self.tmp, "w", track_order=False)
        f.attrs["schema"] = SCHEMA
        for k in ("model", "layer", "activation", "dataset"):
            f.attrs[k] = _str(attrs[k])
        for k, v in attrs.items():
            if k not in ("model", "layer", "activation", "dataset"):
                f.attrs[k] = v if not isinstance(v, str) else _str(v)
        f.create_dataset("classes", data=np.array(list(classes), dtype=object),
                         dtype=h5py.string_dtype("utf-8"))
        N, T = int(n_images), int(n_targets)
        K, h, w = act_shape
        H, W = frame
        C = len(classes)
        f.create_dataset("images/size", data=np.tile(np.array([[H, W]], np.int32), (N, 1)))
        self.labels = f.create_dataset("images/labels", (N, C), dtype="u1")
        self.scores = f.create_dataset("images/scores", (N, C), dtype="f4")
        self.pixels = None
        if pixel_channels:
            self.pixels = f.create_dataset("images/pixels", (N, H, W, pixel_channels), dtype="u1",
                                           chunks=(1, H, W, pixel_channels))
        self.acts = f.create_dataset("activations", (N, K, h, w), dtype=dtype, chunks=(1, K, h, w))
        self.t_image = f.create_dataset("targets/image", (T,), dtype="i4")
        self.t_class = f.create_dataset("targets/class", (T,), dtype="i4")
        self.grads = f.create_dataset("targets/gradients", (T, K, h, w), dtype=dtype,
                                      chunks=(1, K, h, w))
        self.sal = None
        if saliency:
            self.sal = f.create_dataset("targets/saliency", (T, H, W), dtype="f4", chunks=(1, H, W))
        bi, bc, bx, bd = boxes
        f.create_dataset("boxes/image", data=np.asarray(bi, np.int32))
        f.create_dataset("boxes/class", data=np.asarray(bc, np.int32))
        f.create_dataset("boxes/xyxy", data=np.asarray(bx, np.float32).reshape(-1, 4))
        if bd is not None:
            f.create_dataset("boxes/difficult", data=np.asarray(bd, np.uint8))

    def write_images(self, start, labels, scores, acts, pixels=None):
        n = len(labels)
        self.labels[start:start + n] = labels
        self.scores[start:start + n] = np.asarray(scores, np.float32)
        self.acts[start:start + n] = np.asarray(acts, np.float32)
        if self.pixels is not None:
            self.pixels[start:start + n] = pixels

    def write_targets(self, start, image, cls, grads, sal=None):
        n = len(image)
        self.t_image[start:start + n] = image
        self.t_class[start:start + n] = cls
        self.grads[start:start + n] = np.asarray(grads, np.float32)
        if self.sal is not None:
            self.sal[start:start + n] = np.asarray(sal, np.float32)

    def close(self):
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        try:
            self.f.close()
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
