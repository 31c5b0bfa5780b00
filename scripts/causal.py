#!/usr/bin/python3
"""Question 6: deletion and insertion through the real network at feature resolution.

    causal.py --input X.h5 --maps maps.h5 -o curves.h5 NETWORK [--steps 16] [--seed 1]
              [--references zero,mu] [--orders gradcam,...,random] [--batch 2048]
              [--threads 2] [-q]
    NETWORK:  --weights DIR                 the study nets: the file's `model` attribute names
                                            the net (scripts/nets.py), DIR/NAME.pt its weights
              --arch NAME --weights FILE    a torchvision classifier (as export_torchvision.py;
              --arch NAME --random-init     [--num-classes C])
              --net-module FILE.py          FILE.py defines build() -> an eval-mode torch.nn.Module
                                            whose forward(x) gives the logits

The layer is the input file's `layer` attribute (a name of model.named_modules()).  For every
target (image i, class c) and every order (each map of maps.h5, and `random`), the cells of the
h x w layer are ranked (map descending, ties by ascending cell index; `random`: the permutation
np.random.default_rng([seed, target]).permutation(h*w)) and, for k_s = (s*n + S//2) // S cells
(s = 0..S, n = h*w), the network is run from the layer on with
    deletion:  the top k_s cells set to the reference (all channels),
    insertion: every cell at the reference except the top k_s, which keep A,
for each reference: `zero` (A := 0) and `mu` (A := maps.h5's /maps/mu, per channel).  y is the
class logit.  The claim test removes the cells where the `counterfactual` map is > 0 (the
negative Grad-CAM cells; from `gradcam-signed` < 0 when maps.h5 has no counterfactual) and, as a
control, as many random cells (4 draws).  data/CURVES.md documents the output file.

The tail.  The model is traced with torch.fx (the layer a leaf), the layer's output made a new
input and dead code removed, so the layers before it are not run (they stay only where a skip
connection needs them; the real network input x is fed then).  When fx cannot trace the model,
a forward hook substitutes the layer's output in a full forward pass (correct, slower; a note
says so).  The input x is /images/pixels: pixels / 255 for the study nets and a --net-module,
then ImageNet's normalisation for torchvision (as export_torchvision.py); a file without pixels
is refused only when x is needed.

Speed.  When the tail starts with per-position operations (ReLU, GELU, ... : they commute with
replacing whole cells) followed by an affine map that mixes cells (flatten + Linear, or a
spatial mean), the affine map of a state is the reference's plus the sum of the kept cells'
contributions: z = L(g(ref)) + keep @ P with P[c] = L_lin(cell c of g(A) - g(ref)), so a
curve is a running sum of P along the order (in float64).  The rest of the tail then runs on z
(float32).  This "cell-linear" path is exact up to rounding; every state of the first target is
also run through the plain tail, and the path is dropped (with a note) if they differ by more
than 1e-4 * (1 + |y|).  Otherwise every state is a forward of the tail (its Linear and Conv
layers through oneDNN when that gives the same logits), in batches of --batch states (at most
256 MB of layer values), duplicate states of an image computed once.

Checks before anything is written: tail(A) must reproduce /images/scores[image, class] for every
target (|diff| <= 1e-3 * (1 + |score|)), else the weights or the layer are wrong.

Errors: a problem with an input or an option is one line on stderr, "causal.py: CULPRIT: what
is wrong", exit status 1, and no output file; usage errors one line, exit 2.  The output is
written as OUT.tmpPID and renamed into place; an error, SIGINT, SIGTERM or SIGHUP removes it.
A summary line (targets, forward rows, seconds) goes to stdout unless -q.
"""

import signal
import sys

if __name__ == "__main__":  # until run_main's handlers: a signal during the imports, one line
    def _early_signal(signum, frame):
        sys.stderr.write("causal.py: -: interrupted by %s, nothing written\n"
                         % signal.Signals(signum).name)
        sys.stderr.flush()
        import os
        os._exit(128 + signum)
    for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, _early_signal)

import difflib
import hashlib
import importlib.util
import os
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcexport  # noqa: E402
from gcexport import ExportError, named  # noqa: E402

PROG = "causal.py"
SCHEMA = "gradcam-study-curves/1"
REFERENCES = ("zero", "mu")
# The engine's variant order (README "Variants", kernels/cam.c); names maps.h5 holds that are
# not listed here follow in alphabetical order.
ENGINE_ORDER = ("gradcam", "gradcam-signed", "counterfactual", "gradcam-absgrad",
                "gradcam-centered", "activation", "gradient", "hirescam", "hirescam-signed",
                "layercam", "xgradcam", "gradcam++", "gradcam-elementwise", "eigencam")
RANDOM = "random"
CLAIM_DRAWS = 4
SCORE_RTOL = 1e-3
FAST_RTOL = 1e-4


# --------------------------------------------------------------------------- steps and orders

def cells_of_steps(n, steps):
    """k_s = (s * n + S//2) // S for s = 0..S, S = min(steps, n)."""
    S = min(int(steps), int(n))
    return np.array([(s * n + S // 2) // S for s in range(S + 1)], np.int64)


def cell_order(m):
    """Cells of map M (h x w, flattened row-major) by M descending, ties by ascending index."""
    return np.argsort(-np.asarray(m, np.float32).reshape(-1), kind="stable")


def random_order(seed, target, n):
    return np.random.default_rng([int(seed), int(target)]).permutation(int(n))


def random_removals(seed, target, n, count, draws=CLAIM_DRAWS):
    """The claim's control: DRAWS sets of COUNT random cells, from one generator
    default_rng([seed, target, 1]), each the first COUNT of rng.permutation(n)."""
    rng = np.random.default_rng([int(seed), int(target), 1])
    return [rng.permutation(int(n))[:int(count)] for _ in range(draws)]


# --------------------------------------------------------------------------- reading the inputs

def _open_h5(path, what):
    if not os.path.exists(path):
        raise ExportError(path, "no such file (%s)" % what)
    if os.path.isdir(path):
        raise ExportError(path, "a folder, not a file (%s)" % what)
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ExportError(path, "not an HDF5 file h5py can open (%s)" % gcexport.one_line(e, 200))


def _ds(f, path, name, rank, kind="f"):
    if name not in f or not isinstance(f[name], h5py.Dataset):
        raise ExportError(path, "/%s: missing" % name)
    d = f[name]
    if len(d.shape) != rank:
        raise ExportError(path, "/%s: rank %d, expected %d" % (name, len(d.shape), rank))
    if d.dtype.kind not in (kind if kind != "i" else "iu"):
        raise ExportError(path, "/%s: type %s, expected %s" % (
            name, d.dtype, {"f": "a float type", "i": "an integer type"}[kind]))
    return d


def _attr(f, path, name):
    if name not in f.attrs:
        raise ExportError(path, "/ attribute %s: missing" % name)
    v = f.attrs[name]
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == () or isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
    return str(v)


class Input:
    """The schema-v1 file: what causal.py needs of it (activations stay on disk)."""

    def __init__(self, path):
        self.path = path
        self.f = f = _open_h5(path, "--input")
        schema = _attr(f, path, "schema")
        if schema != gcexport.SCHEMA:
            raise ExportError(path, "schema is %r; this script reads %s" % (schema, gcexport.SCHEMA))
        self.model = _attr(f, path, "model")
        self.layer = _attr(f, path, "layer")
        self.acts = _ds(f, path, "activations", 4)
        self.N, self.K, self.h, self.w = (int(v) for v in self.acts.shape)
        self.image = _ds(f, path, "targets/image", 1, "i")[()].astype(np.int64)
        self.cls = _ds(f, path, "targets/class", 1, "i")[()].astype(np.int64)
        self.scores = _ds(f, path, "images/scores", 2)[()].astype(np.float64)
        self.labels = _ds(f, path, "images/labels", 2, "i")[()]
        self.T, self.C = len(self.image), self.scores.shape[1]
        if self.T < 1 or len(self.cls) != self.T:
            raise ExportError(path, "/targets/class: %d entries, /targets/image %d" % (len(self.cls), self.T))
        if self.scores.shape[0] != self.N or self.labels.shape != (self.N, self.C):
            raise ExportError(path, "/images/scores %s, /images/labels %s and /activations %s disagree" % (
                list(self.scores.shape), list(self.labels.shape), list(self.acts.shape)))
        if (self.image < 0).any() or (self.image >= self.N).any() or (np.diff(self.image) < 0).any():
            raise ExportError(path, "/targets/image: out of 0..%d or decreasing" % (self.N - 1))
        if (self.cls < 0).any() or (self.cls >= self.C).any():
            raise ExportError(path, "/targets/class: out of 0..%d" % (self.C - 1))
        self.pixels = f["images/pixels"] if "images/pixels" in f else None

    def activations(self, i0, i1):
        a = np.asarray(self.acts[i0:i1], np.float32)
        if not np.isfinite(a).all():
            bad = int(np.nonzero(~np.isfinite(a).reshape(len(a), -1).all(1))[0][0]) + i0
            raise ExportError(self.path, "/activations: a NaN or Inf in image %d" % bad)
        return a


def variant_sort_key(name):
    return (ENGINE_ORDER.index(name), "") if name in ENGINE_ORDER else (len(ENGINE_ORDER), name)


class Maps:
    """maps.h5 of `run --save-maps`: the rank-3 /maps/<variant> [T, h, w] and /maps/mu [K]."""

    def __init__(self, path, inp, want_mu):
        self.path = path
        self.f = f = _open_h5(path, "--maps")
        if "maps" not in f or not isinstance(f["maps"], h5py.Group):
            raise ExportError(path, "/maps: missing (not a maps.h5 of `gradcam-study run --save-maps`)")
        g = f["maps"]
        self.names = sorted((k for k, v in g.items() if isinstance(v, h5py.Dataset) and v.ndim == 3),
                            key=variant_sort_key)
        want = (inp.T, inp.h, inp.w)
        for k in self.names:
            if tuple(g[k].shape) != want or g[k].dtype.kind != "f":
                raise ExportError(path, "/maps/%s: %s %s, but %s has T=%d targets of %dx%d cells "
                                  "(maps of another input?)" % (k, g[k].dtype, list(g[k].shape),
                                                                 inp.path, inp.T, inp.h, inp.w))
        if not self.names:
            raise ExportError(path, "/maps: no [T, h, w] map in the file")
        self.mu = None
        if want_mu:
            if "mu" not in g or not isinstance(g["mu"], h5py.Dataset):
                raise ExportError(path, "/maps/mu: missing (needed by --references mu)")
            mu = g["mu"]
            if mu.shape != (inp.K,) or mu.dtype.kind != "f":
                raise ExportError(path, "/maps/mu: %s %s, expected float [%d] (K of %s)" % (
                    mu.dtype, list(mu.shape), inp.K, inp.path))
            self.mu = mu[()].astype(np.float64)
            if not np.isfinite(self.mu).all():
                raise ExportError(path, "/maps/mu: not finite")

    # maps whose definition needs only A and G of one target (README "Variants"): checked
    # against the input on a few targets, so that maps of another input with the same shapes
    # (the four default files share theirs) are refused rather than silently used
    CHECKABLE = ("gradcam-signed", "gradcam", "counterfactual", "hirescam-signed", "hirescam")

    def check_against(self, inp):
        name = next((k for k in self.CHECKABLE if k in self.names), None)
        if name is None:
            _note("%s: none of %s in the file: cannot check that the maps are %s's" % (
                self.path, ", ".join(self.CHECKABLE), inp.path))
            return
        grads = _ds(inp.f, inp.path, "targets/gradients", 4)
        if tuple(grads.shape) != (inp.T, inp.K, inp.h, inp.w):
            raise ExportError(inp.path, "/targets/gradients: %s, expected [%d, %d, %d, %d]" % (
                list(grads.shape), inp.T, inp.K, inp.h, inp.w))
        for t in sorted({0, inp.T // 2, inp.T - 1}):
            i = int(inp.image[t])
            A = np.asarray(inp.acts[i], np.float64)
            G = np.asarray(grads[t], np.float64)
            if name.startswith("hirescam"):
                M = (G * A).sum(0)
            else:
                M = np.tensordot(G.mean(axis=(1, 2)), A, axes=1)
            ref = {"gradcam-signed": M, "hirescam-signed": M, "gradcam": np.maximum(M, 0),
                   "hirescam": np.maximum(M, 0), "counterfactual": np.maximum(-M, 0)}[name]
            got = np.asarray(self.f["maps"][name][t], np.float64)
            tol = 1e-4 * max(float(np.abs(ref).max()), float(np.abs(got).max())) + 1e-30
            if not np.all(np.abs(got - ref) <= tol):
                raise ExportError(self.path, "/maps/%s: target %d is not the map of %s's A and G "
                                  "(max difference %.3g): maps of another input?" % (
                                      name, t, inp.path, float(np.abs(got - ref).max())))

    def read(self, name):
        m = np.asarray(self.f["maps"][name][()], np.float32)
        if not np.isfinite(m).all():
            t = int(np.nonzero(~np.isfinite(m).reshape(len(m), -1).all(1))[0][0])
            raise ExportError(self.path, "/maps/%s: a NaN or Inf in target %d" % (name, t))
        return m


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                return h.hexdigest()
            h.update(b)
            gcexport.check_interrupt()


# --------------------------------------------------------------------------- the network

def load_module_file(path):
    import torch
    if not os.path.exists(path):
        raise ExportError(path, "no such file (--net-module)")
    try:
        spec = importlib.util.spec_from_file_location("causal_net_module", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except Exception as e:  # noqa: BLE001 -- the user's file: any error is its problem
        raise ExportError(path, "cannot be loaded: %s: %s" % (type(e).__name__, gcexport.one_line(e, 300)))
    if not callable(getattr(mod, "build", None)):
        raise ExportError(path, "defines no build() (it must return the eval-mode network)")
    try:
        net = mod.build()
    except Exception as e:  # noqa: BLE001
        raise ExportError(path, "build() failed: %s: %s" % (type(e).__name__, gcexport.one_line(e, 300)))
    if not isinstance(net, torch.nn.Module):
        raise ExportError(path, "build() returned a %s, not a torch.nn.Module" % type(net).__name__)
    return net.eval()


def build_network(a, inp):
    """-> (model in eval mode, description for the `network` attribute, input kind)."""
    if a.net_module:
        return load_module_file(a.net_module), "%s (--net-module)" % a.net_module, "unit"
    if a.arch:
        import export_torchvision as etv
        model = etv.build_model(a.arch, a.weights, a.random_init, a.num_classes)
        what = "random init" if a.random_init else a.weights
        return model, "torchvision %s (%s)" % (a.arch, what), "imagenet"
    import export
    import nets
    if inp.model not in nets.NETS:
        raise ExportError(inp.path, "/ attribute model is %r, not a study net (%s); use --arch or "
                          "--net-module for other networks" % (inp.model, ", ".join(nets.NETS)))
    model = export.load_net(inp.model, a.weights, a.random_init)
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False
    return model, "%s (%s)" % (inp.model, os.path.join(a.weights, inp.model + ".pt")
                               if not a.random_init else "random init"), "unit"


def network_input(inp, kind, i0, i1):
    """x for images i0..i1-1 from /images/pixels (uint8 [N, H, W, ch])."""
    import torch
    if inp.pixels is None:
        raise ExportError(inp.path, "/images/pixels: missing, and the tail needs the network input "
                          "(a skip connection around the layer, or the forward-hook fallback)")
    px = torch.from_numpy(np.asarray(inp.pixels[i0:i1])).permute(0, 3, 1, 2).float().div_(255.0)
    if kind == "imagenet":
        import export_torchvision as etv
        mean = torch.tensor(etv.MEAN).view(1, 3, 1, 1)
        std = torch.tensor(etv.STD).view(1, 3, 1, 1)
        px = (px - mean) / std
    return px


_POINTWISE_MODULES = ("ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "ELU",
                      "Hardswish", "Hardsigmoid", "Identity", "Dropout", "Dropout2d", "Mish",
                      "Softplus", "CELU", "SELU", "PReLU")


def _pointwise_functions():
    import torch
    import torch.nn.functional as F
    return {F.relu, torch.relu, F.gelu, torch.sigmoid, torch.tanh, F.silu, F.leaky_relu, F.elu,
            F.relu6, F.hardswish, F.mish, F.softplus, F.dropout}


class Tail:
    """The network from the tapped layer on: __call__(A [B, K, h, w], rows) -> logits [B, C].
    ROWS: the image index of each row (used only when the tail needs the network input x)."""

    def __init__(self, model, layer, inp, kind, note):
        import torch
        self.model, self.layer, self.inp, self.kind = model, layer, inp, kind
        self.module = dict(model.named_modules())[layer]
        self.gm, self.needs_x, self.fast = None, True, None
        self._x_cache = {}
        try:
            self.gm, self.needs_x = self._trace()
        except Exception as e:  # noqa: BLE001 -- fx cannot trace every model
            note("torch.fx cannot trace the network (%s: %s); the tail is a full forward pass with "
                 "the layer's output substituted by a hook (slower)" % (
                     type(e).__name__, gcexport.one_line(e, 200)))
            self.gm = None
        self.torch = torch

    def _trace(self):
        import torch.fx as fx
        target_mod = self.module

        class Tracer(fx.Tracer):
            def is_leaf_module(self, m, qualname):
                return m is target_mod or super().is_leaf_module(m, qualname)
        tr = Tracer()
        graph = tr.trace(self.model)
        gm = fx.GraphModule(tr.root, graph)
        calls = [n for n in gm.graph.nodes if n.op == "call_module" and n.target == self.layer]
        if not calls:
            raise RuntimeError("the layer %s is not called in the traced graph" % self.layer)
        node = calls[-1]  # a module run several times: its last call (as export_torchvision's hook)
        phs = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if len(phs) != 1:
            raise RuntimeError("the network takes %d inputs, not one" % len(phs))
        with gm.graph.inserting_after(phs[-1]):
            a = gm.graph.placeholder("A")
        node.replace_all_uses_with(a)
        gm.graph.eliminate_dead_code()
        needs_x = len(phs[0].users) > 0
        gm.graph.lint()
        gm.recompile()
        return gm, needs_x

    def use_mkldnn(self, A, rows, note):
        """Run the traced tail's Linear and Conv layers through oneDNN (torch.utils.mkldnn): about
        3x faster than this torch build's generic BLAS.  Kept only if it gives the plain tail's
        logits on A within 1e-5 * (1 + |y|)."""
        import copy
        torch = self.torch
        if self.gm is None or not torch.backends.mkldnn.is_available():
            return
        try:
            import torch.utils.mkldnn as mk
            gm = mk.to_mkldnn(copy.deepcopy(self.gm))
            x = self.x_rows(rows) if self.needs_x else None
            with torch.no_grad():
                y0, y1 = self.gm(x, A).numpy(), gm(x, A).numpy()
        except Exception as e:  # noqa: BLE001 -- an optimisation: never fatal
            note("oneDNN cannot run the tail (%s); the plain tail runs" % gcexport.one_line(e, 200))
            return
        if np.all(np.abs(y1 - y0) <= 1e-5 * (1 + np.abs(y0))):
            self.gm = gm

    def x_rows(self, rows):
        torch = self.torch
        uniq, inv = np.unique(rows, return_inverse=True)
        xs = []
        for i in uniq:
            i = int(i)
            if i not in self._x_cache:
                if len(self._x_cache) > 256:
                    self._x_cache.clear()
                self._x_cache[i] = network_input(self.inp, self.kind, i, i + 1)[0]
            xs.append(self._x_cache[i])
        return torch.stack(xs).index_select(0, torch.as_tensor(inv))

    def __call__(self, A, rows):
        torch = self.torch
        if self.gm is not None:
            x = self.x_rows(rows) if self.needs_x else None
            out = self.gm(x, A)
        else:
            x = self.x_rows(rows)

            def hook(mod, i, o):
                return A
            h = self.module.register_forward_hook(hook)
            try:
                out = self.model(x)
            finally:
                h.remove()
        if not isinstance(out, torch.Tensor) or out.dim() != 2:
            raise ExportError("-", "the network's output is not a [N, classes] tensor of logits")
        return out


def _is_flatten1(n):
    import torch
    if n.op == "call_function" and n.target is torch.flatten:
        sd = n.args[1] if len(n.args) > 1 else n.kwargs.get("start_dim", 0)
        ed = n.args[2] if len(n.args) > 2 else n.kwargs.get("end_dim", -1)
        return sd == 1 and ed == -1
    if n.op == "call_method" and n.target == "flatten":
        sd = n.args[1] if len(n.args) > 1 else n.kwargs.get("start_dim", 0)
        ed = n.args[2] if len(n.args) > 2 else n.kwargs.get("end_dim", -1)
        return sd == 1 and ed == -1
    return False


def _spatial_mean(n, mods):
    """Is node N a mean over the two spatial axes of a [B, K, h, w] tensor?"""
    import torch
    if n.op == "call_module":
        m = mods.get(n.target)
        if type(m).__name__ == "AdaptiveAvgPool2d":
            o = m.output_size
            return o == 1 or tuple(o) in ((1, 1),) if not isinstance(o, int) else o == 1
        return False
    if (n.op == "call_method" and n.target == "mean") or (n.op == "call_function" and n.target is torch.mean):
        dim = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim")
        if isinstance(dim, (list, tuple)) and sorted(int(d) % 4 for d in dim) == [2, 3]:
            return not n.kwargs.get("dtype")
    return False


class CellLinear:
    """The fast path (see the top comment): tail(A) = head(L(g(state))), g per-position, L
    affine; L(g(state)) = L(g(ref)) + keep @ P.  Built from the traced tail, or None."""

    def __init__(self, tail, K, h, w):
        import torch
        import torch.fx as fx
        gm = tail.gm
        if gm is None or tail.needs_x:
            raise ValueError("no traced tail without x")
        mods = dict(gm.named_modules())
        nodes = list(gm.graph.nodes)
        a = [n for n in nodes if n.op == "placeholder" and n.target == "A"][0]
        pointwise_f = _pointwise_functions()
        chain, cur = [], a
        while True:
            if len(cur.users) != 1:
                raise ValueError("the layer's output has %d users" % len(cur.users))
            nxt = next(iter(cur.users))
            tensor_args = [x for x in list(nxt.args) + list(nxt.kwargs.values()) if isinstance(x, fx.Node)]
            if tensor_args != [cur]:
                raise ValueError("node %s takes other tensors" % nxt.name)
            pw = ((nxt.op == "call_module" and type(mods.get(nxt.target)).__name__ in _POINTWISE_MODULES)
                  or (nxt.op == "call_function" and nxt.target in pointwise_f)
                  or (nxt.op == "call_method" and nxt.target in ("relu", "sigmoid", "tanh", "contiguous")))
            if not pw:
                break
            chain.append(nxt)
            cur = nxt
        self.K, self.n = K, h * w
        self.g_nodes = chain
        self.g_out = cur
        if _is_flatten1(nxt):
            if len(nxt.users) != 1:
                raise ValueError("flatten has several users")
            lin = next(iter(nxt.users))
            if not (lin.op == "call_module" and isinstance(mods.get(lin.target), torch.nn.Linear)):
                raise ValueError("flatten not followed by a Linear")
            self.kind, self.cut = "linear", lin
            m = mods[lin.target]
            self.W64 = m.weight.detach().double().reshape(m.out_features, K, h * w).numpy()  # [out, K, n]
            self.Wflat = np.ascontiguousarray(self.W64.reshape(m.out_features, -1).T)  # [K*n, out]
            self.Wcell = np.ascontiguousarray(self.W64.transpose(2, 1, 0))  # [n, K, out]
            self.b64 = None if m.bias is None else m.bias.detach().double().numpy()
        elif _spatial_mean(nxt, mods):
            self.kind, self.cut = "mean", nxt
        else:
            raise ValueError("no flatten + Linear or spatial mean after the layer")
        # g: the pointwise chain as its own module; head: the tail from the cut on
        gg = fx.Graph()
        env = {}
        env[a] = gg.placeholder("A")
        for n in chain:
            env[n] = gg.node_copy(n, lambda x: env[x])
        gg.output(env[cur])
        self.g = fx.GraphModule(gm, gg)
        self.g.recompile()
        self.head = _cut(gm, self.cut, "Z")
        self.tail = tail

    def affine(self, U):
        """L(U) (float64 numpy) for U [B, K, h, w] (the cut node's output for a per-position
        state U), flattened to [B, out]."""
        U = np.asarray(U, np.float64).reshape(len(U), self.K, self.n)
        if self.kind == "linear":
            z = U.reshape(len(U), -1) @ self.Wflat
            return z if self.b64 is None else z + self.b64
        return U.mean(axis=2)

    def cut_shape(self):
        """The cut node's output shape of one state (without the batch axis)."""
        if self.kind == "linear":
            return (self.W64.shape[0],)
        cut = self.cut
        if cut.op == "call_module":
            return (self.K, 1, 1)
        keep = cut.kwargs.get("keepdim", cut.args[2] if len(cut.args) > 2 else False)
        return (self.K, 1, 1) if keep else (self.K,)

    def contributions(self, GA, gref):
        """P [n, out] (float64 numpy) for g(A) [K, h, w] and g(ref) [K, h, w]."""
        D = (np.asarray(GA, np.float64) - np.asarray(gref, np.float64)).reshape(self.K, self.n)
        if self.kind == "linear":  # P[c, o] = sum_k W[o, k, c] D[k, c]: n products [1, K] @ [K, out]
            return np.matmul(np.ascontiguousarray(D.T)[:, None, :], self.Wcell)[:, 0, :]
        return D.T / self.n


def _cut(gm, node, name):
    """A GraphModule computing GM's output from NODE's value on (a new input NAME)."""
    import copy
    import torch.fx as fx
    out = fx.GraphModule(gm, copy.deepcopy(gm.graph))
    g2 = out.graph
    target = [n for n in g2.nodes if n.name == node.name][0]
    phs = [n for n in g2.nodes if n.op == "placeholder"]
    with g2.inserting_after(phs[-1]):
        z = g2.placeholder(name)
    target.replace_all_uses_with(z)
    g2.eliminate_dead_code()
    for p in phs:
        if not p.users:
            g2.erase_node(p)
    if [p for p in g2.nodes if p.op == "placeholder"] != [z]:
        raise ValueError("the rest of the tail needs more than the cut")
    g2.lint()
    out.recompile()
    return out


def check_layer(model, layer, inp):
    mods = dict(model.named_modules())
    if layer not in mods or not layer:
        close = difflib.get_close_matches(layer, [n for n in mods if n], n=5, cutoff=0.5)
        raise ExportError(inp.path, "/ attribute layer %r: no module of that name in the network%s"
                          % (layer, "; near names: " + ", ".join(close) if close else
                             "; its modules: " + named([n for n in mods if n], 8)))


# --------------------------------------------------------------------------- the states

class Evaluator:
    """The logits of an image's states.  Plain tail: run_plain(A [K, h, w], r, keep [B, n] bool,
    image) -> [B, C]; cell-linear path: fast_rows(...) -> the cut values of every row, then
    head(z) -> [B, C].  forwards counts the rows evaluated."""

    def __init__(self, tail, fast, refs, K, h, w, batch):
        self.tail, self.fast, self.refs, self.batch = tail, fast, refs, batch
        self.K, self.h, self.w, self.n = K, h, w, h * w
        self.forwards = 0
        torch = tail.torch
        self.ref_t = [torch.from_numpy(np.ascontiguousarray(r, np.float32)) for r in refs]  # [K, h, w]
        if fast is not None:
            with torch.no_grad():
                self.gref = [fast.g(r[None])[0].numpy() for r in self.ref_t]
            self.zref = [fast.affine(g[None]) for g in self.gref]  # [1, out] float64

    def run_plain(self, A, r, keep, image):
        """A: torch [K, h, w]; keep: numpy bool [B, n]."""
        torch = self.tail.torch
        out = []
        ref = self.ref_t[r]
        step = min(self.batch, max(1, (1 << 26) // (self.K * self.n)))  # inputs of 256 MB at most
        for s in range(0, len(keep), step):
            m = torch.from_numpy(keep[s:s + step].reshape(-1, 1, self.h, self.w))
            X = torch.where(m, A[None], ref[None])
            out.append(self.tail(X, np.full(len(m), image)).numpy())
            self.forwards += len(m)
        return np.concatenate(out)

    def fast_rows(self, GA, r, targets, orders, cells, negs, rands):
        """The cell-linear path for one image at reference R: the rows of target_states (after
        the image's two rows: all kept, all at the reference) as cut values z [rows, ...]
        (float32), from the cells' contributions P [n, out] (float64):
            deletion s:  z(A) - sum of P over the top k_s cells (a cumulative sum along the order),
            insertion s: z(ref) + the same sum; claim rows: z(A) - the removed cells' sum.
        GA: g(A) [K, h, w]; ORDERS[t]: [O, n] cell orders of target t."""
        f = self.fast
        P = f.contributions(GA, self.gref[r])  # [n, out]
        zA = f.affine(GA[None])
        zr = self.zref[r]
        k_in = cells[1:-1]
        bounds = np.concatenate([[0], k_in])
        rows = [zA, zr]
        for t in targets:
            # sums of P over the cells k_(s-1)..k_s-1 of each order, then their running sums
            cs = np.cumsum(np.add.reduceat(P[orders[t]], bounds, axis=1), axis=1)[:, :len(k_in)] \
                if len(k_in) else np.zeros((len(orders[t]), 0, P.shape[1]))  # [O, S-1, out]
            rows.append(np.concatenate([zA[None] - cs, zr[None] + cs], axis=1).reshape(-1, P.shape[1]))
            removed = [negs[t]] + list(rands[t])
            rows.append(np.stack([zA[0] - P[c].sum(0) for c in removed]))
        z = np.concatenate(rows).astype(np.float32)
        self.forwards += len(z)
        return z.reshape((len(z),) + f.cut_shape())

    def head(self, z):
        """The tail from the cut on, for z [B, ...] (torch float32) -> logits [B, C] numpy."""
        step = max(self.batch, (1 << 22) // max(1, z[0].numel()))  # rows of the head are small
        return np.concatenate([self.fast.head(z[s:s + step]).numpy() for s in range(0, len(z), step)])


def target_states(n, cells, orders, neg, rand_sets):
    """keep masks [B, n] for one target at one reference, in this order:
    for each order: deletion s = 1..S-1, insertion s = 1..S-1; then neg removed, then the
    CLAIM_DRAWS random removals.  ORDERS: [O, n], the cells of each order."""
    S = len(cells) - 1
    k_in = cells[1:S]  # interior points
    pos = np.empty(orders.shape, np.int64)  # [O, n]: the rank of each cell in each order
    np.put_along_axis(pos, orders.astype(np.int64), np.arange(n)[None, :], axis=1)
    dele = pos[:, None, :] >= k_in[None, :, None]  # [O, S-1, n]: removed the top k
    ins = pos[:, None, :] < k_in[None, :, None]  # [O, S-1, n]: put back the top k
    blocks = np.concatenate([dele, ins], axis=1).reshape(-1, n)
    claim = np.ones((1 + len(rand_sets), n), bool)
    claim[0, neg] = False
    for d, cells_d in enumerate(rand_sets):
        claim[1 + d, cells_d] = False
    return np.concatenate([blocks, claim])


# --------------------------------------------------------------------------- the command

def parser():
    ap = gcexport.OneLineParser(prog=PROG, description=__doc__, formatter_class=gcexport.HelpFormatter)
    ap.add_argument("--input", required=True, metavar="X.h5", help="the schema-v1 input file")
    ap.add_argument("--maps", required=True, metavar="MAPS.h5",
                    help="its maps.h5 (bin/gradcam-study run --save-maps)")
    ap.add_argument("-o", "--out", required=True, metavar="CURVES.h5", help="the curves file to write")
    ap.add_argument("--weights", default=None, metavar="DIR|FILE",
                    help="study nets: the folder of NAME.pt; with --arch: a state_dict file")
    ap.add_argument("--arch", default=None, metavar="NAME", help="a torchvision classifier (vgg16, resnet50, ...)")
    ap.add_argument("--num-classes", type=int, default=0, metavar="C",
                    help="with --arch: output units (default: torchvision's)")
    ap.add_argument("--random-init", action="store_true", help="untrained weights (tests)")
    ap.add_argument("--net-module", default=None, metavar="FILE.py",
                    help="a Python file defining build() -> eval-mode network")
    ap.add_argument("--steps", type=int, default=16, metavar="S", help="curve steps (S > h*w: h*w)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random order and the claim control")
    ap.add_argument("--references", default="zero,mu", metavar="LIST", help="zero, mu or both")
    ap.add_argument("--orders", default=None, metavar="LIST",
                    help="maps of maps.h5 and `random` (default: every map, then random)")
    ap.add_argument("--batch", type=int, default=2048, metavar="N",
                    help="states per forward pass (at most 256 MB of layer values per pass)")
    ap.add_argument("--threads", type=int, default=2, metavar="N", help="torch threads")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary line")
    return ap


def check_options(a):
    for opt, v, lo in (("--steps", a.steps, 1), ("--batch", a.batch, 1), ("--threads", a.threads, 1),
                       ("--seed", a.seed, 0), ("--num-classes", a.num_classes, 0)):
        if v < lo:
            raise ExportError("%s %d" % (opt, v), "must be at least %d" % lo)
    kinds = [k for k, on in (("--net-module", a.net_module), ("--arch", a.arch)) if on]
    if len(kinds) > 1:
        raise ExportError(" ".join(kinds), "pick one network (--weights DIR, --arch, or --net-module)")
    if a.net_module and (a.weights or a.random_init):
        raise ExportError("--net-module " + a.net_module, "given with --weights/--random-init: the "
                          "module's build() makes the network")
    if a.random_init and a.weights:
        raise ExportError("--weights " + a.weights, "given together with --random-init: pick one")
    if not a.net_module and not a.weights and not a.random_init:
        raise ExportError("--weights", "no network: give --weights DIR (study nets), --arch NAME "
                          "--weights FILE, or --net-module FILE.py")
    if a.weights and not a.arch and not os.path.isdir(a.weights):
        raise ExportError(a.weights, "no such folder (--weights DIR of the study nets; a torchvision "
                          "state_dict needs --arch)")
    if a.weights and a.arch and not os.path.isfile(a.weights):
        raise ExportError(a.weights, "no such file (--weights FILE with --arch)")
    refs = [r for r in a.references.split(",") if r]
    bad = [r for r in refs if r not in REFERENCES]
    if not refs or bad or len(set(refs)) != len(refs):
        raise ExportError("--references " + a.references, "a comma list of zero and mu, each once")
    a.refs = [r for r in REFERENCES if r in refs]
    out = a.out
    if os.path.isdir(out):
        raise ExportError(out, "a folder (-o names the curves file)")
    d = os.path.dirname(os.path.abspath(out))
    while not os.path.exists(d):
        d = os.path.dirname(d)
    if not os.path.isdir(d) or not os.access(d, os.W_OK | os.X_OK):
        raise ExportError(out, "cannot be written: %s is not a writable folder" % d)


def pick_orders(a, maps):
    if a.orders is None:
        return list(maps.names) + [RANDOM]
    want = [o for o in a.orders.split(",") if o]
    if not want or len(set(want)) != len(want):
        raise ExportError("--orders " + a.orders, "a comma list of distinct names")
    for o in want:
        if o != RANDOM and o not in maps.names:
            close = difflib.get_close_matches(o, maps.names + [RANDOM], n=3, cutoff=0.6)
            raise ExportError("--orders " + a.orders, "%r is not a map of %s%s (it has: %s, and random)" % (
                o, maps.path, "; close: " + ", ".join(close) if close else "", ", ".join(maps.names)))
    if want == [RANDOM]:
        raise ExportError("--orders " + a.orders, "random alone: give at least one map of %s (the "
                          "curves file holds the maps' orders, random is their control)" % maps.path)
    return [o for o in maps.names if o in want] + ([RANDOM] if RANDOM in want else [])


class Curves:
    """Everything the curves file holds, filled image by image."""

    def __init__(self, R, O, T, S):
        self.original = np.zeros(T)
        self.reference = np.zeros((R, T))
        self.deletion = np.zeros((R, O, T, S + 1))
        self.insertion = np.zeros((R, O, T, S + 1))
        self.n_neg = np.zeros(T, np.int32)
        self.n_others = np.zeros(T, np.int32)
        self.claim_target = np.zeros((R, T, 2))
        self.claim_others = np.zeros((R, T, 3))


def write_curves(path, meta, cur):
    """PATH.tmpPID, then rename (signals held back meanwhile)."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    gcexport._LIVE.add(tmp)
    st = h5py.string_dtype("utf-8")
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = SCHEMA
            for k in ("input_sha256", "network", "layer"):
                f.attrs[k] = str(meta[k])
            f.attrs["seed"] = np.int64(meta["seed"])
            f.create_dataset("references", data=np.array(meta["references"], dtype=object), dtype=st)
            f.create_dataset("orders", data=np.array(meta["orders"], dtype=object), dtype=st)
            f.create_dataset("cells", data=np.asarray(meta["cells"], np.int32))
            f.create_dataset("targets/image", data=np.asarray(meta["image"], np.int32))
            f.create_dataset("targets/class", data=np.asarray(meta["class"], np.int32))
            f.create_dataset("y/original", data=cur.original)
            f.create_dataset("y/reference", data=cur.reference)
            f.create_dataset("deletion", data=cur.deletion)
            f.create_dataset("insertion", data=cur.insertion)
            f.create_dataset("claim/n_neg", data=cur.n_neg)
            f.create_dataset("claim/n_others", data=cur.n_others)
            f.create_dataset("claim/target", data=cur.claim_target)
            f.create_dataset("claim/others", data=cur.claim_others)
        gcexport.check_interrupt()
        sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        try:
            os.replace(tmp, path)
            gcexport._RENAMED.append(path)
            gcexport._LIVE.discard(tmp)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    except OSError as e:
        raise ExportError(path, "cannot write: %s" % gcexport.one_line(e, 300))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        gcexport._LIVE.discard(tmp)


_STATE = {"out": "-"}


def _note(text):
    gcexport.note(PROG, text)


def causal(argv=None):
    t0 = time.time()
    a = parser().parse_args(argv)
    _STATE["out"] = a.out
    check_options(a)
    import torch
    torch.set_num_threads(a.threads)
    inp = Input(a.input)
    maps = Maps(a.maps, inp, "mu" in a.refs)
    maps.check_against(inp)
    orders = pick_orders(a, maps)
    neg_map = "counterfactual" if "counterfactual" in maps.names else (
        "gradcam-signed" if "gradcam-signed" in maps.names else None)
    if neg_map is None:
        raise ExportError(a.maps, "/maps/counterfactual: missing (and no gradcam-signed): the claim "
                          "test needs the negative Grad-CAM cells")
    model, network, kind = build_network(a, inp)
    check_layer(model, inp.layer, inp)
    T, n, K, h, w = inp.T, inp.h * inp.w, inp.K, inp.h, inp.w
    cells = cells_of_steps(n, a.steps)
    S = len(cells) - 1
    refs = []
    for r in a.refs:
        refs.append(np.zeros((K, h, w), np.float32) if r == "zero" else
                    np.broadcast_to(maps.mu.astype(np.float32)[:, None, None], (K, h, w)))
    with torch.no_grad():
        tail = Tail(model, inp.layer, inp, kind, _note)
        try:
            fast = CellLinear(tail, K, h, w)
        except (ValueError, IndexError, KeyError, AttributeError, RuntimeError, TypeError):
            fast = None
        if fast is None:
            first = np.arange(min(inp.N, 4))
            tail.use_mkldnn(torch.from_numpy(inp.activations(0, len(first))), first, _note)
        early_check(tail, inp, network, a.batch)
        ev = Evaluator(tail, fast, refs, K, h, w, a.batch)
        # the maps -> orders [O, T, n] as ranks
        cell_orders = np.empty((T, len(orders), n), np.int32)  # [T, O, n]
        for o, name in enumerate(orders):
            if name == RANDOM:
                for t in range(T):
                    cell_orders[t, o] = random_order(a.seed, t, n)
            else:
                cell_orders[:, o] = np.argsort(-maps.read(name).reshape(T, n), axis=1, kind="stable")
        negs = maps.read(neg_map).reshape(T, n)
        neg_mask = negs > 0 if neg_map == "counterfactual" else negs < 0
        cur = Curves(len(refs), len(orders), T, S)
        if not run_all(a, inp, ev, cur, cell_orders, neg_mask, cells, refs):
            _note("the cell-linear shortcut disagrees with the plain tail on the first image; every "
                  "state runs through the tail (slower)")
            ev = Evaluator(tail, None, refs, K, h, w, a.batch)
            run_all(a, inp, ev, cur, cell_orders, neg_mask, cells, refs)
    check_scores(inp, cur.original, network)
    meta = {"input_sha256": sha256_of(a.input), "network": network, "layer": inp.layer,
            "seed": a.seed, "references": a.refs, "orders": orders, "cells": cells,
            "image": inp.image, "class": inp.cls}
    for k, v in (("original", cur.original), ("reference", cur.reference), ("deletion", cur.deletion),
                 ("insertion", cur.insertion), ("claim", cur.claim_target), ("claim", cur.claim_others)):
        if not np.isfinite(v).all():
            raise ExportError(a.input, "the network gives a non-finite %s score" % k)
    write_curves(a.out, meta, cur)
    if not a.quiet:
        print("causal: %s -> %s: %d targets, %d orders x %d references x %d steps, %d forward rows "
              "(%s), %.1f s" % (a.input, a.out, T, len(orders), len(refs), S, ev.forwards,
                                "cell-linear tail" if ev.fast is not None else
                                ("fx tail" if tail.gm is not None else "hooked full forward"),
                                time.time() - t0), flush=True)
    return 0


def plain_rows(ev, A, i, r, targets, cell_orders, cells, negs, rands):
    """Logits of image I's rows at reference R through the plain tail (duplicates once)."""
    n = ev.n
    blocks = [np.ones((1, n), bool), np.zeros((1, n), bool)]
    for t in targets:
        blocks.append(target_states(n, cells, cell_orders[t], negs[t], rands[t]))
    keep = np.concatenate(blocks)
    uniq, inv = np.unique(keep, axis=0, return_inverse=True)
    return ev.run_plain(A, r, uniq, i)[inv.reshape(-1)]


def run_all(a, inp, ev, cur, cell_orders, neg_mask, cells, refs):
    """Every state of every target, a chunk of images at a time.  With the cell-linear path,
    the first target's rows are computed through the plain tail too: False (nothing filled) if
    they differ by more than FAST_RTOL * (1 + |y|)."""
    torch = ev.tail.torch
    T, n = inp.T, ev.n
    O = cell_orders.shape[1]
    R = len(refs)
    S = len(cells) - 1
    starts = np.searchsorted(inp.image, np.arange(inp.N + 1))  # targets of image i: starts[i]..[i+1]
    imgs = [i for i in range(inp.N) if starts[i + 1] > starts[i]]
    bar = gcexport.Progress(len(imgs), "causal", unit="img", quiet=a.quiet)
    negs, rands = {}, {}
    for t in range(T):
        negs[t] = np.nonzero(neg_mask[t])[0]
        cnt = len(negs[t])
        cur.n_neg[t] = cnt
        rands[t] = random_removals(a.seed, t, n, cnt)
        others = np.nonzero(inp.labels[inp.image[t]])[0]
        cur.n_others[t] = int(np.sum(others != inp.cls[t]))
    chunk = 16
    for c0 in range(0, len(imgs), chunk):
        group = imgs[c0:c0 + chunk]
        i0, i1 = group[0], group[-1] + 1
        acts = torch.from_numpy(inp.activations(i0, i1))
        if ev.fast is not None:
            GA = ev.fast.g(acts).numpy()
            if c0 == 0:
                i = group[0]
                ts = range(starts[i], starts[i] + 1)
                for r in range(R):
                    yp = plain_rows(ev, acts[0], i, r, ts, cell_orders, cells, negs, rands)
                    yf = ev.head(torch.from_numpy(ev.fast_rows(GA[0], r, ts, cell_orders, cells, negs, rands)))
                    if not (np.abs(yf - yp) <= FAST_RTOL * (1 + np.abs(yp))).all():
                        return False
                ev.forwards = 0
            zs, where = [], []
            for i in group:
                ts = range(starts[i], starts[i + 1])
                for r in range(R):
                    zs.append(ev.fast_rows(GA[i - i0], r, ts, cell_orders, cells, negs, rands))
                    where.append((i, r))
            y = ev.head(torch.from_numpy(np.concatenate(zs)))
            sizes = np.cumsum([0] + [len(z) for z in zs])
            outs = [y[sizes[j]:sizes[j + 1]] for j in range(len(zs))]
        else:
            outs, where = [], []
            for i in group:
                for r in range(R):
                    outs.append(plain_rows(ev, acts[i - i0], i, r, range(starts[i], starts[i + 1]),
                                           cell_orders, cells, negs, rands))
                    where.append((i, r))
        for (i, r), y in zip(where, outs):
            fill(cur, inp, i, r, y, starts, O, S)
        bar.update(len(group))
    bar.close()
    return True


def fill(cur, inp, i, r, y, starts, O, S):
    """Scatter one image's logits Y [rows, C] (rows as target_states, after the two image rows)."""
    y = np.asarray(y, np.float64)
    orig, allref = y[0], y[1]
    per_target = O * 2 * (S - 1) + 1 + CLAIM_DRAWS
    for j, t in enumerate(range(starts[i], starts[i + 1])):
        c = inp.cls[t]
        blk = y[2 + j * per_target: 2 + (j + 1) * per_target]
        curves = blk[:O * 2 * (S - 1), c].reshape(O, 2, S - 1)
        cur.original[t] = orig[c]
        cur.reference[r, t] = allref[c]
        cur.deletion[r, :, t, 0] = orig[c]
        cur.deletion[r, :, t, S] = allref[c]
        cur.deletion[r, :, t, 1:S] = curves[:, 0]
        cur.insertion[r, :, t, 0] = allref[c]
        cur.insertion[r, :, t, S] = orig[c]
        cur.insertion[r, :, t, 1:S] = curves[:, 1]
        neg = blk[O * 2 * (S - 1)]
        rnd = blk[O * 2 * (S - 1) + 1:]
        cur.claim_target[r, t] = (neg[c], rnd[:, c].mean())
        others = np.nonzero(inp.labels[i])[0]
        others = others[others != c]
        if len(others):
            cur.claim_others[r, t] = (orig[others].mean(), neg[others].mean(), rnd[:, others].mean())


def early_check(tail, inp, network, batch):
    """tail(A) of every image against /images/scores, before the long run."""
    y = np.zeros(inp.T)
    starts = np.searchsorted(inp.image, np.arange(inp.N + 1))
    step = max(1, min(batch, 256))
    for i0 in range(0, inp.N, step):
        i1 = min(inp.N, i0 + step)
        if starts[i1] == starts[i0]:
            continue
        out = tail(tail.torch.from_numpy(inp.activations(i0, i1)), np.arange(i0, i1)).numpy()
        t = np.arange(starts[i0], starts[i1])
        y[t] = out[inp.image[t] - i0, inp.cls[t]]
        gcexport.check_interrupt()
    check_scores(inp, y, network)


def check_scores(inp, y, network):
    s = inp.scores[inp.image, inp.cls]
    bad = np.nonzero(~(np.abs(y - s) <= SCORE_RTOL * (1 + np.abs(s))))[0]
    if len(bad):
        t = int(bad[0])
        raise ExportError(inp.path, "/images/scores: %s from layer %s on gives %.6g for target %d "
                          "(image %d, class %d), the file says %.6g (%d of %d targets differ): wrong "
                          "weights, network or layer?" % (network, inp.layer, y[t], t,
                                                          inp.image[t], inp.cls[t], s[t], len(bad), inp.T))


def main(argv=None):
    return gcexport.run_main(PROG, causal, argv, out_hint=lambda: _STATE["out"])


if __name__ == "__main__":
    status = main()
    gcexport.hold_signals()
    sys.exit(status)
