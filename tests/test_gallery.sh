#!/bin/sh
# tests/test_gallery.sh: end-to-end checks of `gradcam-study gallery`.
# Usage: sh tests/test_gallery.sh [BIN] [WORKDIR]   (env PY: python, default /usr/bin/python3)
# Prints one PASS/FAIL line per check and exits non-zero when any failed.
#
# A fixture with pixels is run with --save-maps, then:
#   - the PNG exists, has the PNG signature, an IHDR of the documented layout
#     size (pipeline/gallery/gallery.c DESIGN) and decodes completely (zlib + row
#     filters); panel 1 of every row shows the image pixels at the integer
#     upscale wherever no box line is near;
#   - the targets printed are the rules recomputed here from targets.csv;
#   - two runs give the same bytes;
#   - a fixture without pixels still gives a PNG and says so;
#   - a RUNDIR of another input, a missing RUNDIR, missing maps, and a
#     truncated maps.h5 exit 1 with one line on stderr, no PNG and no
#     temporary left, and a previous PNG untouched;
#   - usage errors exit 2, --help exits 0.
set -u
BIN=${1:-bin/gradcam-study}
W=${2:-}
PY=${PY:-/usr/bin/python3}
if [ -z "$W" ]; then
    W=$(mktemp -d "${TMPDIR:-/tmp}/gcs-gallery.XXXXXX") || exit 1
    trap 'rm -rf "$W"' EXIT
fi
mkdir -p "$W" || exit 1
pass=0
fail=0
check() { # check NAME COMMAND...
    name=$1; shift
    if "$@" >"$W/log" 2>&1; then
        pass=$((pass + 1)); echo "PASS gallery: $name"
    else
        fail=$((fail + 1)); echo "FAIL gallery: $name"
        sed 's/^/    /' "$W/log" | tail -30
    fi
}

# ---- fixtures and runs ----------------------------------------------------------
setup() {
    $PY tests/make_fixture.py "$W/F.h5" --images 12 --pixels >/dev/null &&
    $PY tests/make_fixture.py "$W/other/F.h5" --seed 5 --images 9 --pixels >/dev/null &&
    $PY tests/make_fixture.py "$W/N.h5" --seed 3 --images 8 --height 37 --width 53 >/dev/null &&
    "$BIN" run -o "$W/R" --save-maps --bootstrap 0 "$W/F.h5" >/dev/null &&
    "$BIN" run -o "$W/Rother" --save-maps --bootstrap 0 "$W/other/F.h5" >/dev/null &&
    "$BIN" run -o "$W/Rnomaps" --bootstrap 0 "$W/F.h5" >/dev/null &&
    "$BIN" run -o "$W/RN" --save-maps --bootstrap 0 "$W/N.h5" >/dev/null &&
    mkdir -p "$W/Rtrunc" && cp "$W/R/targets.csv" "$W/R/summary.json" "$W/Rtrunc/" &&
    head -c 4000 "$W/R/maps.h5" >"$W/Rtrunc/maps.h5"
}
mkdir -p "$W/other"
check "fixtures and runs" setup

# ---- the PNG, its size, its pixels and the chosen targets ------------------------
# verify.py PNG STDOUT TARGETS_CSV INPUT.h5 PER_RULE STEM [header-only]
cat >"$W/verify.py" <<'EOF'
import csv, math, os, re, struct, sys, zlib
import h5py, numpy as np

png, out, tcsv, h5, per_rule, stem = sys.argv[1:7]
decode = "header-only" not in sys.argv[7:]
per_rule = int(per_rule)
MARGIN, GAP, TITLE_H, BAND_H, LEGEND_H, PMIN, PMAX = 8, 8, 24, 32, 40, 192, 512

# rules, recomputed from targets.csv
gc, sg = {}, {}
for r in csv.DictReader(open(tcsv)):
    if r["input"] != "0":
        continue
    t = int(r["target"])
    if r["variant"] == "gradcam":
        gc[t] = r
    elif r["variant"] == "gradcam-signed":
        sg[t] = r
pool = [(float(r["iou_max"]), t) for t, r in gc.items()
        if r["has_box"] == "1" and r["degenerate"] == "0" and r["iou_max"] != ""]
import h5py, numpy as np
with h5py.File(os.path.join(os.path.dirname(tcsv), "maps.h5"), "r") as mf:
    ms = mf["maps/gradcam-signed"][()].astype(np.float64)
negabs = np.maximum(-ms, 0).sum(axis=(1, 2))
allabs = np.abs(ms).sum(axis=(1, 2))
frac = np.where(allabs > 0, negabs / np.where(allabs > 0, allabs, 1), 0.0)
neg = [(float(r["neg_other"]) * float(frac[t]), t) for t, r in sg.items() if r["neg_other"] != ""]
orders = [("best", sorted(pool, key=lambda p: (-p[0], p[1]))),
          ("worst", sorted(pool, key=lambda p: (p[0], p[1]))),
          ("negative", sorted(neg, key=lambda p: (-p[0], p[1])))]
used, want = set(), []
for rule, order in orders:
    k = 0
    for _, t in order:
        if k == per_rule:
            break
        if t in used:
            continue
        used.add(t)
        k += 1
        want.append((rule, k, t))
got = []
for line in open(out):
    m = re.match(r"^gallery-%s\.png: (best|worst|negative) (\d+): target (\d+) " % re.escape(stem),
                 line)
    if m:
        got.append((m.group(1), int(m.group(2)), int(m.group(3))))
assert got == want, "printed picks %s, rules give %s" % (got, want)
assert per_rule > 2 or len(want) == 3 * per_rule, "fixture too small for %d per rule" % per_rule

# layout size
f = h5py.File(h5, "r")
size = f["images/size"][...]
timg = f["targets/image"][...]
pix = f["images/pixels"][...] if "images/pixels" in f else None
bimg, bxy = f["boxes/image"][...], f["boxes/xyxy"][...].astype(np.float64)

def disp(H, W):
    m = max(H, W)
    if m < PMIN:
        up = -(-PMIN // m)
        return H * up, W * up
    if m > PMAX:
        dn = -(-m // PMAX)
        return -(-H // dn), -(-W // dn)
    return H, W

dims = [disp(*[int(v) for v in size[timg[t]]]) for _, _, t in want]
ph, pw = max(d[0] for d in dims), max(d[1] for d in dims)
R = len(want)
ew = 2 * MARGIN + 4 * pw + 3 * GAP
eh = 2 * MARGIN + TITLE_H + R * (BAND_H + ph) + max(R - 1, 0) * GAP + LEGEND_H

data = open(png, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
ln, typ = struct.unpack(">I4s", data[8:16])
assert typ == b"IHDR" and ln == 13, "first chunk is not IHDR"
w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", data[16:29])
assert (w, h) == (ew, eh), "IHDR %dx%d, layout says %dx%d" % (w, h, ew, eh)
assert (depth, ctype, inter) == (8, 2, 0), "not 8-bit RGB non-interlaced"

if not decode:
    print("ok: %d picks, %dx%d (header only)" % (len(want), w, h))
    sys.exit(0)

# decode: chunks (CRC checked), IDAT, row filters
pos, idat, seen_end = 8, b"", False
while pos < len(data):
    ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + ln]
    crc = struct.unpack(">I", data[pos + 8 + ln:pos + 12 + ln])[0]
    assert zlib.crc32(typ + body) & 0xFFFFFFFF == crc, "bad CRC in %s" % typ
    if typ == b"IDAT":
        idat += body
    seen_end = typ == b"IEND"
    pos += 12 + ln
assert seen_end, "no IEND"
raw = zlib.decompress(idat)
stride = 3 * w
assert len(raw) == h * (stride + 1), "IDAT holds %d bytes, want %d" % (len(raw), h * (stride + 1))
out_rows = []
prev = bytearray(stride)
for y in range(h):
    ft = raw[y * (stride + 1)]
    row = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
    cur = bytearray(row)
    if ft == 1:
        for x in range(3, stride):
            cur[x] = (cur[x] + cur[x - 3]) & 0xFF
    elif ft == 2:
        cur = bytearray((r + p) & 0xFF for r, p in zip(row, prev))
    elif ft == 3:
        for x in range(stride):
            a = cur[x - 3] if x >= 3 else 0
            cur[x] = (cur[x] + ((a + prev[x]) >> 1)) & 0xFF
    elif ft == 4:
        for x in range(stride):
            a = cur[x - 3] if x >= 3 else 0
            b, c = prev[x], (prev[x - 3] if x >= 3 else 0)
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            cur[x] = (cur[x] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 0xFF
    elif ft != 0:
        raise AssertionError("bad filter type %d" % ft)
    out_rows.append(bytes(cur))
    prev = cur
img = np.frombuffer(b"".join(out_rows), np.uint8).astype(np.int64).reshape(h, stride)
img = img.reshape(h, w, 3)

# panel 1 of each row: the image, nearest-neighbour upscaled, away from box lines
for i, (_, _, t) in enumerate(want):
    n = int(timg[t])
    H, Wd = [int(v) for v in size[n]]
    dh, dw = dims[i]
    y0 = MARGIN + TITLE_H + i * (BAND_H + ph + GAP) + BAND_H
    x0 = MARGIN
    panel = img[y0:y0 + dh, x0:x0 + dw]
    if pix is not None:
        src = pix[n]
        if src.shape[2] == 1:
            src = np.repeat(src, 3, axis=2)
        ys = (np.arange(dh) * H) // dh
        xs = (np.arange(dw) * Wd) // dw
        expect = src[ys][:, xs].astype(np.int64)
    else:
        expect = np.full((dh, dw, 3), 128, np.int64)
    far = np.ones((dh, dw), bool)
    for b in np.nonzero(bimg == n)[0]:
        # boxes are clipped to the frame (data/SCHEMA.md), then scaled
        ex = [math.floor(min(max(v, 0), Wd) * dw / Wd + 0.5) for v in (bxy[b, 0], bxy[b, 2])]
        ey = [math.floor(min(max(v, 0), H) * dh / H + 0.5) for v in (bxy[b, 1], bxy[b, 3])]
        for e in ex:
            far[:, max(e - 5, 0):max(e + 5, 0)] = False
        for e in ey:
            far[max(e - 5, 0):max(e + 5, 0), :] = False
    assert far.sum() > dh * dw // 4, "too few pixels away from boxes to compare"
    bad = np.argwhere((panel != expect).any(axis=2) & far)
    assert len(bad) == 0, "row %d panel 1: %d pixels differ from the image, first at %s" % (
        i, len(bad), bad[0])
print("ok: %d picks, %dx%d" % (len(want), w, h))
EOF

gallery_ok() {
    "$BIN" gallery -o "$W/G" --run "$W/R" "$W/F.h5" >"$W/out1" &&
    [ -s "$W/G/gallery-F.png" ] &&
    $PY "$W/verify.py" "$W/G/gallery-F.png" "$W/out1" "$W/R/targets.csv" "$W/F.h5" 2 F
}
check "PNG valid, layout size, image panels, picks match the rules" gallery_ok

per_rule_1() {
    "$BIN" gallery -o "$W/G1" --run "$W/R" --per-rule 1 "$W/F.h5" >"$W/out2" &&
    $PY "$W/verify.py" "$W/G1/gallery-F.png" "$W/out2" "$W/R/targets.csv" "$W/F.h5" 1 F
}
check "--per-rule 1" per_rule_1

exhausted() { # 19 targets with a box: best takes 12, worst the other 7, negative what is left
    "$BIN" gallery -o "$W/G12" --run "$W/R" --per-rule 12 "$W/F.h5" >"$W/out4" &&
    grep -q "worst: 7 of 12" "$W/out4" &&
    $PY "$W/verify.py" "$W/G12/gallery-F.png" "$W/out4" "$W/R/targets.csv" "$W/F.h5" 12 F \
        header-only
}
check "--per-rule 12: pools run out, no target twice" exhausted

twice() {
    "$BIN" gallery -o "$W/Gb" --run "$W/R" "$W/F.h5" >/dev/null &&
    cmp "$W/G/gallery-F.png" "$W/Gb/gallery-F.png"
}
check "same bytes twice" twice

no_pixels() {
    "$BIN" gallery -o "$W/GN" --run "$W/RN" "$W/N.h5" >"$W/out3" &&
    grep -q "no /images/pixels" "$W/out3" &&
    $PY "$W/verify.py" "$W/GN/gallery-N.png" "$W/out3" "$W/RN/targets.csv" "$W/N.h5" 2 N
}
check "no pixels: mid-gray panels, odd frame 37x53 upscaled x4" no_pixels

# ---- errors ------------------------------------------------------------------------
expect() { # expect STATUS PATTERN COMMAND...: exit status, one stderr line matching
    want=$1; pat=$2; shift 2
    "$@" >"$W/o" 2>"$W/e"; got=$?
    [ "$got" -eq "$want" ] || { echo "exit $got, expected $want: $*"; cat "$W/e"; return 1; }
    [ -z "$pat" ] || grep -q -- "$pat" "$W/e" ||
        { echo "stderr lacks '$pat':"; cat "$W/e"; return 1; }
}
one_line_error() { # one_line_error PATTERN COMMAND...: exit 1, exactly one stderr line
    expect 1 "$@" || return 1
    [ "$(wc -l <"$W/e")" -eq 1 ] || { echo "stderr is not one line:"; cat "$W/e"; return 1; }
    grep -q "^gradcam-study: " "$W/e" || { echo "no 'gradcam-study: ' prefix"; return 1; }
}
gal() { "$BIN" gallery -o "$W/Gx" --run "$@"; }
bad_run() {
    cp "$W/G/gallery-F.png" "$W/before.png" &&
    one_line_error "not the input the run scored" \
        "$BIN" gallery -o "$W/G" --run "$W/Rother" "$W/F.h5" &&
    one_line_error "targets.csv: -: cannot open" gal "$W/nothere" "$W/F.h5" &&
    one_line_error "maps.h5: -: cannot open" gal "$W/Rnomaps" "$W/F.h5" &&
    one_line_error "maps.h5: -: not a readable HDF5" gal "$W/Rtrunc" "$W/F.h5" &&
    one_line_error "run scored 1 input, 2 given" gal "$W/R" "$W/F.h5" "$W/N.h5" &&
    mkdir -p "$W/same" && cp "$W/F.h5" "$W/same/F.h5" &&
    $PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); a=f['/activations']; a[0,0,0,0]=a[0,0,0,0]+1.0; f.close()" \
        "$W/same/F.h5" &&
    one_line_error "differs from what .*/R/summary.json records for input 0" gal "$W/R" "$W/same/F.h5" &&
    [ ! -e "$W/Gx" ] &&
    cmp "$W/before.png" "$W/G/gallery-F.png" &&
    [ -z "$(ls -A "$W/G" | grep -v '^gallery-F.png$')" ]
}
check "wrong RUNDIR: exit 1, one line, no PNG, previous PNG untouched" bad_run

usage() {
    expect 2 "needs -o" "$BIN" gallery --run "$W/R" "$W/F.h5" &&
    expect 2 "needs --run" "$BIN" gallery -o "$W/Gx" "$W/F.h5" &&
    expect 2 "needs at least one" "$BIN" gallery -o "$W/Gx" --run "$W/R" &&
    expect 2 "per-rule" "$BIN" gallery -o "$W/Gx" --run "$W/R" --per-rule 0 "$W/F.h5" &&
    expect 2 "per-rule" "$BIN" gallery -o "$W/Gx" --run "$W/R" --per-rule x "$W/F.h5" &&
    expect 2 "unknown" "$BIN" gallery -o "$W/Gx" --run "$W/R" --frob "$W/F.h5" &&
    expect 2 "both write gallery-F.png" \
        "$BIN" gallery -o "$W/Gx" --run "$W/R" "$W/F.h5" "$W/other/F.h5" &&
    expect 0 "" "$BIN" gallery --help && grep -q "per-rule" "$W/o" &&
    [ ! -e "$W/Gx" ]
}
check "usage errors exit 2, --help exits 0" usage

echo "gallery: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
