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
    PATH, so an interrupted export leaves no half file (abort() removes it).

Command-line conventions shared by both exporters (run_main, ExportError, OneLineParser,
HelpFormatter, Progress, note):
    - a problem with an input is one line on stderr, "PROG: CULPRIT: what is wrong" (CULPRIT is
      the file, folder or option at fault), exit status 1, no traceback and no output file;
      an unexpected exception is reported the same way ("PROG: -: unexpected ...: ...", exit 1);
    - a usage error (unknown option, a value that is not a number) is one line too, exit 2;
    - SIGINT, SIGTERM and SIGHUP remove the temporary output and end with one line and exit
      status 128 + the signal number (130, 143, 129).  The handler only records the signal;
      check_interrupt() acts on it between images and batches (Progress.update, the writes),
      and run_main once more at the end;
    - progress (images done of the total, rate, time left) goes to stderr only when stderr is a
      terminal and --quiet is not given; tqdm (Debian's python3-tqdm) is used when installed.
"""

import argparse
import os
import signal
import sys
import time

import h5py
import numpy as np

SCHEMA = "gradcam-study/1"
_LIVE = set()  # H5Writer temporaries of this process, until renamed or removed
_RENAMED = []  # outputs renamed into place during run_main's call


class ExportError(Exception):
    """A problem with an input: reported as one line "PROG: CULPRIT: MESSAGE", exit 1."""

    def __init__(self, culprit, message):
        super().__init__("%s: %s" % (culprit, message))
        self.culprit, self.message = str(culprit), message


class Interrupted(BaseException):
    """SIGINT, SIGTERM or SIGHUP while exporting (a BaseException, like KeyboardInterrupt, so
    that only the outermost handler catches it)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def one_line(text, limit=600):
    """Collapse TEXT to one line (newlines and runs of blanks -> one space), at most LIMIT
    characters."""
    t = " ".join(str(text).split())
    return t if len(t) <= limit else t[:limit - 3] + "..."


def shown(name):
    """NAME (a path) for a one-line message: control characters escaped (a newline as \\n)."""
    import unicodedata
    return "".join(repr(ch)[1:-1] if unicodedata.category(ch) == "Cc" else ch for ch in str(name))


_STOPPING = [False]  # set once the interruption is being handled: later signals are ignored
_PENDING = [None]  # the first signal received, until check_interrupt() acts on it


def _note_signal(signum, frame):
    """The handler only records the signal: raising from it could land anywhere, e.g. inside a
    __del__ or a logging call, where Python prints the exception and carries on."""
    if _PENDING[0] is None and not _STOPPING[0]:
        _PENDING[0] = signum


def check_interrupt():
    """Raise Interrupted if a signal arrived.  Called between images and batches (Progress.update
    and the writer's writes), so an export stops within one batch of the signal."""
    if _PENDING[0] is not None and not _STOPPING[0]:
        _STOPPING[0] = True
        raise Interrupted(_PENDING[0])


def run_main(prog, body, argv=None, out_hint="-", interrupted="nothing written", keep_finished=False):
    """Run BODY(argv) -> exit status under the conventions above and return the status.
    After a signal, the files renamed into place during the call are removed too, unless
    KEEP_FINISHED (export.py's finished files are complete and kept).
    Signal handlers are installed for the call and restored after it when ARGV is given (a
    call from Python); a script's own call (ARGV None) keeps them, so that a signal arriving
    after the export finished, while the interpreter shuts down, no longer kills the process
    (its exit status then still says what happened: 0, the file complete)."""
    import warnings
    old_show = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        _err("%s: note: %s: %s" % (prog, category.__name__, one_line(message, 400)))
    warnings.showwarning = show
    old = {}
    _STOPPING[0] = False
    _PENDING[0] = None
    del _RENAMED[:]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            old[sig] = signal.signal(sig, _note_signal)
        except (ValueError, OSError):  # not the main thread: leave the handlers alone
            pass
    try:
        rc = body(argv)
        check_interrupt()  # a signal after the last check: the run counts as interrupted
        return rc
    except ExportError as e:
        _err("%s: %s: %s" % (prog, one_line(shown(e.culprit), 300), one_line(e.message)))
        return 1
    except Interrupted as e:
        _STOPPING[0] = True
        if not keep_finished:
            for p in _RENAMED:
                try:
                    os.unlink(p)
                except OSError:
                    pass
        name = signal.Signals(e.signum).name
        _err("%s: %s: interrupted by %s, %s" % (prog, out_hint() if callable(out_hint)
                                                  else out_hint, name, interrupted))
        return 128 + e.signum
    except KeyboardInterrupt:  # SIGINT before the handler was in place
        _err("%s: %s: interrupted by SIGINT, %s" % (prog, out_hint() if callable(out_hint)
                                                     else out_hint, interrupted))
        return 128 + signal.SIGINT
    except SystemExit as e:  # argparse (--help: 0, usage errors: 2)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except MemoryError:
        _err("%s: -: out of memory (try a smaller --batch)" % prog)
        return 1
    except Exception as e:  # noqa: BLE001 -- never a traceback; name the exception instead
        _err("%s: -: unexpected %s: %s" % (prog, type(e).__name__, one_line(e)))
        return 1
    finally:
        _STOPPING[0] = True
        held = signal.pthread_sigmask(signal.SIG_BLOCK, set(old))  # no signal during the clean-up
        try:
            remove_live_temporaries()
            warnings.showwarning = old_show
            if argv is not None:
                for sig, h in old.items():
                    signal.signal(sig, h)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


def hold_signals():
    """Ignore SIGINT, SIGTERM and SIGHUP for the rest of the process (its shut-down, after
    run_main returned): Python puts back the default handlers of the signals it handled while it
    finalizes (not an ignored one), and a signal then, delivered to any of torch's threads, would
    kill a process whose work is done."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def _err(line):
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def bad_name(name):
    """Why NAME cannot be an /images/name entry (data/SCHEMA.md), or None: it must be
    non-empty, valid UTF-8, at most 4096 bytes and free of control characters (C0, DEL, C1)."""
    import unicodedata
    if not name:
        return "empty name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8 (an undecodable byte in the file name)"
    if len(name.encode("utf-8")) > 4096:
        return "longer than 4096 bytes"
    for ch in name:
        if unicodedata.category(ch) == "Cc":
            return "control character U+%04X in the name" % ord(ch)
    return None


def note(prog, text):
    """A warning about the data that does not stop the export: one line on stderr."""
    _err("%s: note: %s" % (prog, one_line(text, 2000)))


def named(items, first=5):
    """'a, b, c and 7 more' for a list of strings."""
    items = list(items)
    s = ", ".join(items[:first])
    return s + (" and %d more" % (len(items) - first) if len(items) > first else "")


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line usage errors: "PROG: error: MESSAGE (see --help)", exit 2."""

    def error(self, message):
        self.exit(2, "%s: error: %s (see --help)\n" % (self.prog, one_line(message)))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The docstring as written, and every option's default after its help ("off" for a flag;
    left out for required options and where the help states it)."""

    def _get_help_string(self, action):
        h = action.help or ""
        if ("%(default)" in h or "(default:" in h or not action.option_strings or action.required
                or isinstance(action, argparse._HelpAction) or action.default is argparse.SUPPRESS):
            return h
        if isinstance(action, argparse._StoreTrueAction):
            return h + " (default: off)"
        if action.default is None:
            return h
        return h + " (default: %(default)s)"


class Progress:
    """Images done of the total, rate and time left, on stderr when it is a terminal (and not
    QUIET); nothing otherwise.  tqdm when installed, else one line rewritten in place."""

    def __init__(self, total, desc, unit="img", quiet=False):
        self.total, self.desc, self.unit, self.n = int(total), desc, unit, 0
        self.on = (not quiet) and sys.stderr.isatty()
        self.bar, self.t0, self.shown = None, time.time(), 0.0
        if not self.on:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            self.bar = tqdm(total=self.total, desc=desc, unit=unit, file=sys.stderr,
                            dynamic_ncols=True, leave=True, smoothing=0.2)

    def update(self, k=1):
        check_interrupt()
        if not self.on:
            return
        self.n += k
        if self.bar is not None:
            self.bar.update(k)
            return
        now = time.time()
        if now - self.shown < 0.25 and self.n < self.total:
            return
        self.shown = now
        dt = max(now - self.t0, 1e-9)
        rate = self.n / dt
        left = (self.total - self.n) / rate if rate > 0 else float("nan")
        sys.stderr.write("\r%s: %d/%d, %.1f %s/s, %s left   " % (
            self.desc, self.n, self.total, rate, self.unit, _hms(left)))
        sys.stderr.flush()

    def close(self):
        if not self.on:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.on = False


def _hms(s):
    if s != s:
        return "?"
    s = int(round(s))
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60) if s >= 3600 else "%d:%02d" % (s // 60, s % 60)


def explain(forward, x, image_of_target, class_of_target, taps, saliency=True):
    import torch
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
                 attrs, pixel_channels=None, saliency=True, dtype="f4", names=None):
        """act_shape = (K, h, w); frame = (H, W); boxes = (image [B], class [B], xyxy [B, 4],
        difficult [B] or None); attrs: model, layer, activation, dataset (+ any extra);
        names: None, or N image names for the optional /images/name (variable-length UTF-8;
        each non-empty, without control characters)."""
        self.path = path
        self.tmp = "%s.tmp%d" % (path, os.getpid())
        self.f = None
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        _LIVE.add(self.tmp)  # before the file exists: run_main removes it whatever happens next
        try:
            self.f = h5py.File(self.tmp, "w", track_order=False)
            self._create(self.f, classes, n_images, n_targets, act_shape, frame, boxes, attrs,
                         pixel_channels, saliency, dtype, names)
        except BaseException:
            self.abort()
            raise

    def _create(self, f, classes, n_images, n_targets, act_shape, frame, boxes, attrs,
                pixel_channels, saliency, dtype, names):
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
        if names is not None:
            names = [str(n) for n in names]
            bad = [n for n in names if bad_name(n)]
            if len(names) != N or bad:
                raise ValueError("images/name: %d names for %d images; %s" % (
                    len(names), N, bad_name(bad[0]) if bad else "one name per image"))
            f.create_dataset("images/name", data=np.array(names, dtype=object),
                             dtype=h5py.string_dtype("utf-8"))
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
        check_interrupt()
        n = len(labels)
        self.labels[start:start + n] = labels
        self.scores[start:start + n] = np.asarray(scores, np.float32)
        self.acts[start:start + n] = np.asarray(acts, np.float32)
        if self.pixels is not None:
            self.pixels[start:start + n] = pixels

    def write_targets(self, start, image, cls, grads, sal=None):
        check_interrupt()
        n = len(image)
        self.t_image[start:start + n] = image
        self.t_class[start:start + n] = cls
        self.grads[start:start + n] = np.asarray(grads, np.float32)
        if self.sal is not None:
            self.sal[start:start + n] = np.asarray(sal, np.float32)

    def close(self):
        """Close and rename into place, with SIGINT/SIGTERM/SIGHUP held back meanwhile: a signal
        then arrives either before (abort() removes the temporary) or after the rename."""
        sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        try:
            self.f.close()
            os.replace(self.tmp, self.path)
            self.renamed = True
            _RENAMED.append(self.path)
            _LIVE.discard(self.tmp)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def abort(self, renamed_too=False):
        """Remove the temporary file; with RENAMED_TOO also the file close() renamed into place
        (an export interrupted right after its rename leaves no output either)."""
        try:
            if self.f is not None:
                self.f.close()
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
            _LIVE.discard(self.tmp)
            if renamed_too and getattr(self, "renamed", False) and os.path.exists(self.path):
                os.unlink(self.path)


def remove_live_temporaries():
    """Remove every temporary file of this process not yet renamed into place or removed (a
    signal may land between creating a writer and storing it where an except clause sees it)."""
    for tmp in sorted(_LIVE):
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _LIVE.clear()
