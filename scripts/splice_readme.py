#!/usr/bin/python3
"""Replace the text between two marker lines of a file with a generated snippet.

    splice_readme.py FILE SNIPPET NAME

FILE must hold the lines `<!-- NAME:begin -->` and `<!-- NAME:end -->`; what is between
them is replaced by SNIPPET's contents (used by `make bench` to put the benchmark's last
figures, as scripts/bench.py wrote them, into README.md). Writes FILE atomically.
"""
import os
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: splice_readme.py FILE SNIPPET NAME")
    path, snippet, name = sys.argv[1:]
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = open(path, encoding="utf-8").read()
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        sys.exit(f"splice_readme.py: {path}: needs exactly one '{begin}' before one '{end}'")
    body = open(snippet, encoding="utf-8").read().strip("\n")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    out = f"{head}{begin}\n{body}\n{end}{tail}"
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(out)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
