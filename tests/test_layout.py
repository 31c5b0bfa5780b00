#!/usr/bin/python3
"""test_layout.py: the tree's shape, checked from the built objects and the repository.

usage: test_layout.py BUILD_DIR

1. No file-level dependency cycle: object A depends on object B when A has an
   undefined symbol that B defines (read with nm); the graph of the engine's
   objects (every .c under kernels/, analysis/, pipeline/) must be acyclic.
2. pipeline/ holds main.c and folders only.
3. No C file (.c or .h) is past 900 lines.
4. No built binary is committed (no ELF file, no a.out, among git's files).
Exit 0 when all hold, else 1 with one line per violation.
"""
import collections
import glob
import os
import subprocess
import sys


def objects(build):
    srcs = sorted(glob.glob("kernels/*.c") + glob.glob("analysis/*.c") +
                  glob.glob("pipeline/*.c") + glob.glob("pipeline/*/*.c"))
    objs, missing = [], []
    for s in srcs:
        o = os.path.join(build, s[:-2] + ".o")
        (objs if os.path.exists(o) else missing).append(o)
    return objs, missing


def graph(objs):
    defs, undef = {}, collections.defaultdict(set)
    for o in objs:
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in "TDBRCV":
                defs[p[2]] = o
            elif len(p) == 2 and p[0] == "U":
                undef[o].add(p[1])
    g = {o: sorted({defs[s] for s in undef[o] if s in defs and defs[s] != o}) for o in objs}
    return g


def cycles(g):
    """Strongly connected components with more than one node (iterative Tarjan)."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], 0
    for root in g:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = n
                n += 1
                stack.append(v)
                on.add(v)
            if i < len(g[v]):
                work.append((v, i + 1))
                w = g[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            for w in g[v]:
                if w in on:
                    low[v] = min(low[v], low[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) != 2:
        print("usage: test_layout.py BUILD_DIR", file=sys.stderr)
        return 2
    bad = []
    objs, missing = objects(sys.argv[1])
    for o in missing:
        bad.append(f"{o}: not built")
    g = graph(objs)
    for c in cycles(g):
        bad.append("dependency cycle: " + " <-> ".join(os.path.relpath(x, sys.argv[1]) for x in c))
    for e in sorted(os.listdir("pipeline")):
        if e != "main.c" and not os.path.isdir(os.path.join("pipeline", e)):
            bad.append(f"pipeline/{e}: only main.c and folders belong at the top of pipeline/")
    files = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout
    files = [f for f in files.decode().split("\0") if f]
    for f in files:
        if f.endswith((".c", ".h")) and os.path.exists(f):
            with open(f, "rb") as fh:
                n = fh.read().count(b"\n")
            if n > 900:
                bad.append(f"{f}: {n} lines (at most 900)")
        if os.path.basename(f) == "a.out":
            bad.append(f"{f}: a built binary is committed")
        elif os.path.isfile(f):
            with open(f, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    bad.append(f"{f}: an ELF binary is committed")
    for b in bad:
        print(b)
    edges = sum(len(v) for v in g.values())
    print(f"layout: {len(objs)} objects, {edges} file-level dependencies, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
