#!/usr/bin/env python3
"""plot.py CSV PNG - the soak's RSS, descriptor and thread counts per process over time.

Reads the CSV that `soak -o` writes (t_s,proc,pid,rss_kb,fds,threads,calls_total) and draws
three panels, one line per process, with the quarters the flatness check compares marked by
dashed lines. Needs nothing but the Python standard library: the PNG is drawn into a pixel
buffer (lines, a 3x5 bitmap font) and written with zlib.
"""
import csv
import struct
import sys
import zlib

FONT = {  # 3x5 glyphs, rows top to bottom
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001001001001", "8": "111101111101111",
    "9": "111101111001111", "A": "010101111101101", "B": "110101110101110",
    "C": "011100100100011", "D": "110101101101110", "E": "111100110100111",
    "F": "111100110100100", "G": "011100101101011", "H": "101101111101101",
    "I": "111010010010111", "J": "001001001101010", "K": "101101110101101",
    "L": "100100100100111", "M": "101111111101101", "N": "110101101101101",
    "O": "010101101101010", "P": "110101110100100", "Q": "010101101110011",
    "R": "110101110101101", "S": "011100010001110", "T": "111010010010010",
    "U": "101101101101111", "V": "101101101101010", "W": "101101111111101",
    "X": "101101010101101", "Y": "101101010010010", "Z": "111001010100111",
    " ": "000000000000000", ".": "000000000000010", ",": "000000000010100",
    "-": "000000111000000", "+": "000010111010000", "(": "010100100100010",
    ")": "010001001001010", "/": "001001010100100", ":": "000010000010000",
    "=": "000111000111000", "%": "101001010100101", "^": "010101000000000",
}
COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
          (140, 86, 75), (227, 119, 194), (23, 190, 207), (127, 127, 127), (188, 189, 34)]
W, H = 1100, 975


class Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def dot(self, x, y, c):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i:i + 3] = bytes(c)

    def line(self, x0, y0, x1, y1, c, dash=0):
        x0, y0, x1, y1 = int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, n = dx + dy, 0
        while True:
            if not dash or (n // dash) % 2 == 0:
                self.dot(x0, y0, c)
            n += 1
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def rect(self, x0, y0, x1, y1, c):
        for y in range(y0, y1):
            for x in range(x0, x1):
                self.dot(x, y, c)

    def text(self, x, y, s, c=(0, 0, 0), scale=2, right=False):
        s = s.upper()
        if right:
            x -= len(s) * 4 * scale
        for ch in s:
            g = FONT.get(ch, FONT[" "])
            for r in range(5):
                for col in range(3):
                    if g[r * 3 + col] == "1":
                        self.rect(x + col * scale, y + r * scale, x + (col + 1) * scale,
                                  y + (r + 1) * scale, c)
            x += 4 * scale

    def png(self, path):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3])
                       for y in range(self.h))

        def chunk(tag, data):
            return (struct.pack(">I", len(data)) + tag + data
                    + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)))
            f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
            f.write(chunk(b"IEND", b""))


def nice_step(span, ticks=5):
    raw = span / ticks if span > 0 else 1
    mag = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def panel(cv, top, height, title, series, tmax, quarters):
    left, right = 90, W - 30
    vals = [v for s in series.values() for _, v in s]
    lo, hi = min(vals), max(vals)
    pad = max((hi - lo) * 0.1, 1)
    lo, hi = max(0, lo - pad), hi + pad
    ystep = nice_step(hi - lo)
    lo = (lo // ystep) * ystep
    cv.text(left, top - 16, title)
    bottom = top + height

    def X(t):
        return left + (right - left) * t / tmax

    def Y(v):
        return bottom - height * (v - lo) / (hi - lo)
    v = lo
    while v <= hi:
        cv.line(left, Y(v), right, Y(v), (230, 230, 230))
        cv.text(left - 6, int(Y(v)) - 5, "%g" % v, right=True)
        v += ystep
    xstep = nice_step(tmax, 10)
    t = 0
    while t <= tmax:
        cv.line(X(t), bottom, X(t), bottom + 4, (0, 0, 0))
        cv.text(int(X(t)) - 8, bottom + 8, "%g" % t)
        t += xstep
    for q in quarters:
        cv.line(X(q), top, X(q), bottom, (150, 150, 150), dash=4)
    for i, (p, pts) in enumerate(sorted(series.items())):
        c = COLORS[i % len(COLORS)]
        for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
            cv.line(X(t0), Y(v0), X(t1), Y(v1), c)
    cv.line(left, top, left, bottom, (0, 0, 0))
    cv.line(left, bottom, right, bottom, (0, 0, 0))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rows = list(csv.DictReader(open(sys.argv[1])))
    if not rows:
        sys.exit("plot.py: no samples in " + sys.argv[1])
    procs = sorted({int(r["proc"]) for r in rows})
    tmax = max(float(r["t_s"]) for r in rows)
    calls = max(int(r["calls_total"]) for r in rows)
    times = sorted({float(r["t_s"]) for r in rows})
    warm = max(5.0, tmax / 10)
    kept = [t for t in times if t >= warm]
    q = len(kept) // 4
    quarters = [warm] + ([kept[q - 1], kept[-q]] if q > 0 else [])
    cv = Canvas(W, H)
    cv.text(20, 14, "LIBDOOR SOAK: %d PROCESSES, %s CALLS IN %.0f S (%.0f CALLS/S)"
            % (len(procs), format(calls, ","), tmax, calls / tmax), scale=3)
    cv.text(20, 40, "ONE LINE PER PROCESS. DASHED: END OF WARM-UP, END OF FIRST QUARTER, "
            "START OF LAST QUARTER (THE MEDIANS COMPARED)")
    for i, p in enumerate(procs):
        cv.rect(W - 30 - (len(procs) - i) * 60, 62, W - 30 - (len(procs) - i) * 60 + 14, 72,
                COLORS[i % len(COLORS)])
        cv.text(W - 30 - (len(procs) - i) * 60 + 18, 62, "P%d" % p)
    metrics = [("rss_kb", "RSS (MIB)", 1 / 1024), ("fds", "OPEN DESCRIPTORS", 1),
               ("threads", "THREADS", 1)]
    ph = 230
    for k, (key, title, scale) in enumerate(metrics):
        series = {p: [] for p in procs}
        for r in rows:
            series[int(r["proc"])].append((float(r["t_s"]), int(r[key]) * scale))
        panel(cv, 110 + k * (ph + 70), ph, title, series, tmax, quarters)
    cv.text(W // 2 - 40, H - 12, "TIME (S)")
    cv.png(sys.argv[2])


if __name__ == "__main__":
    main()
