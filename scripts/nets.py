#!/usr/bin/python3
"""The three study networks for the Fashion-MNIST scenes (input [B, 1, 96, 96], pixels / 255).

Trunk (shared): conv3x3-BatchNorm-act blocks with max-pooling, 96 -> 48 -> 24 -> 12:
    c1  1->16   @96, pool
    c2 16->32   @48, pool
    c3 32->64   @24, c4 64->64 @24, pool
    c5 64->64   @12   <- the tapped layer (12x12 final map)

  vgg-relu    act = ReLU; head: flatten(64*12*12) -> FC 64 -> ReLU -> dropout -> FC 10.
              taps: "post" = c5 after its ReLU (A >= 0, module trunk.blocks.4.act), "pre" = c5's
              BatchNorm output before the ReLU (signed, module trunk.blocks.4.bn).
  gap-linear  act = ReLU; head: global average pool -> FC 10 (Grad-CAM == CAM up to a constant).
              tap: c5 after its ReLU.
  vgg-signed  act = GELU everywhere (trunk and head), same head as vgg-relu.
              tap: c5 after its GELU (signed: GELU(x) < 0 for x < 0), so alpha<0, A<0 products occur.

Every net's forward(x) returns the logits; forward_tap(x, tap) returns (A, logits) with A the
tapped tensor inside the graph, so that torch.autograd.grad(logits, A) gives dy^c/dA.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 10
WIDTHS = [(1, 16), (16, 32), (32, 64), (64, 64), (64, 64)]
POOL_AFTER = {0, 1, 3}
HIDDEN = 64

NETS = {
    # name: (activation, head, {tap name: (activation attribute, layer attribute)})
    "vgg-relu": ("relu", "fc", {"post": ("post-relu", "trunk.blocks.4.act"),
                                "pre": ("pre-activation", "trunk.blocks.4.bn")}),
    "gap-linear": ("relu", "gap", {"post": ("post-relu", "trunk.blocks.4.act")}),
    "vgg-signed": ("gelu", "fc", {"post": ("gelu", "trunk.blocks.4.act")}),
}


class Block(nn.Module):
    def __init__(self, cin, cout, act):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU() if act == "relu" else nn.GELU()

    def forward(self, x, want_pre=False):
        pre = self.bn(self.conv(x))
        post = self.act(pre)
        return (pre, post) if want_pre else post


class Trunk(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.blocks = nn.ModuleList([Block(a, b, act) for a, b in WIDTHS])

    def forward(self, x):
        """Returns (pre, post) of the last block."""
        n = len(self.blocks)
        for i, b in enumerate(self.blocks):
            if i == n - 1:
                return b(x, want_pre=True)
            x = b(x)
            if i in POOL_AFTER:
                x = F.max_pool2d(x, 2)


class StudyNet(nn.Module):
    def __init__(self, name):
        super().__init__()
        if name not in NETS:
            raise ValueError("unknown net %r (known: %s)" % (name, ", ".join(NETS)))
        self.name = name
        act, head, _ = NETS[name]
        self.act_name, self.head_kind = act, head
        self.trunk = Trunk(act)
        k = WIDTHS[-1][1]
        if head == "fc":
            self.fc1 = nn.Linear(k * 12 * 12, HIDDEN)
            self.drop = nn.Dropout(0.3)
            self.fc2 = nn.Linear(HIDDEN, NUM_CLASSES)
        else:
            self.fc = nn.Linear(k, NUM_CLASSES)

    def head(self, a):
        if self.head_kind == "fc":
            h = self.fc1(torch.flatten(a, 1))
            h = F.relu(h) if self.act_name == "relu" else F.gelu(h)
            return self.fc2(self.drop(h))
        return self.fc(a.mean(dim=(2, 3)))

    def forward(self, x):
        return self.head(self.trunk(x)[1])

    def forward_taps(self, x):
        """({"pre": BN output of the last block, "post": its activation output}, logits); both
        tensors are nodes of the graph (post = act(pre)), so torch.autograd.grad(logits, pre)
        is the full derivative at the BatchNorm output."""
        pre, post = self.trunk(x)
        return {"pre": pre, "post": post}, self.head(post)

    def forward_tap(self, x, tap):
        """(A, logits): A = the tapped tensor ("post" or "pre"); logits depend on it through the
        graph.  For "pre" the post tensor is recomputed from A, so dlogits/dA is the full
        gradient at the BatchNorm output."""
        taps, logits = self.forward_taps(x)
        if tap not in taps:
            raise ValueError("unknown tap %r" % tap)
        return taps[tap], logits


def build(name):
    return StudyNet(name)


def describe(name):
    act, head, taps = NETS[name]
    trunk = ", ".join("conv3x3 %d->%d BN %s%s" % (a, b, act.upper(), " maxpool" if i in POOL_AFTER else "")
                      for i, (a, b) in enumerate(WIDTHS))
    if head == "fc":
        h = "flatten(64x12x12) -> FC %d -> %s -> dropout 0.3 -> FC 10" % (HIDDEN, act.upper())
    else:
        h = "global average pool -> FC 64->10"
    t = "; ".join("%s: %s (%s)" % (k, v[1], v[0]) for k, v in taps.items())
    return {"trunk": trunk, "head": h, "taps": t}


def n_params(model):
    return sum(p.numel() for p in model.parameters())
