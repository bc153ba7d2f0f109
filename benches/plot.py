#!/usr/bin/env python3
"""plot.py JSON PNG - round-trip latency by mechanism and placement (log scale) from results/latest.json.

Bars are medians, the black tick on each bar is the fastest repetition. Uses matplotlib; if it
cannot be imported, writes the same chart as a hand-made SVG next to PNG (same name, .svg).
"""
import json
import math
import sys

PLACES = ["same", "diff", "none"]
PLACE_TITLE = {"same": "same CPU (0/0)", "diff": "different CPUs (0/1)", "none": "unpinned"}
COLORS = {"same": "#4c72b0", "diff": "#dd8452", "none": "#55a868"}
SIZES = [0, 16, 4096, 65536, 1048576, 8388608]
OTHERS = [("futex", "futex\n(floor)"), ("spin", "spin\n(floor)"), ("pipe", "pipe"),
          ("seqpacket", "AF_UNIX\nseqpacket"), ("iceoryx2_event", "iceoryx2\n+event"),
          ("iceoryx2_spin", "iceoryx2\npolling")]


def size_name(n):
    if n >= 1 << 20:
        return "%d MiB" % (n >> 20)
    if n >= 1 << 10:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def load(path):
    doc = json.load(open(path))
    lat = {(r["mech"], int(r["size"]), r["place"]): r for r in doc["latency"]}
    groups = [(("door", s), "door_call\n" + size_name(s)) for s in SIZES]
    groups += [((m, 16), lbl) for m, lbl in OTHERS]
    groups = [g for g in groups if any((g[0][0], g[0][1], p) in lat for p in PLACES)]
    return doc, lat, groups


def title(doc):
    m = doc.get("meta", {})
    return ("libdoor round-trip latency (median of %s reps; tick = fastest rep), %s, Linux %s, %s CPUs"
            % (m.get("reps", "5"), m.get("start", "?"), m.get("kernel", "?"), m.get("nproc", "?")))


def fmt_us(ns):
    us = ns / 1e3
    if us >= 100:
        return "%.0f" % us
    if us >= 10:
        return "%.1f" % us
    return "%.2f" % us


def plot_matplotlib(doc, lat, groups, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(15, 6.5), dpi=110)
    width = 0.27
    for gi, ((mech, size), _) in enumerate(groups):
        for pi, p in enumerate(PLACES):
            x = gi + (pi - 1) * width
            r = lat.get((mech, size, p))
            if not r:
                ax.text(x, 0.07, "n/a", ha="center", va="bottom", fontsize=7, rotation=90, color="#666")
                continue
            v = r["med"] / 1e3
            ax.bar(x, v, width, color=COLORS[p], label=PLACE_TITLE[p])
            ax.plot([x - width / 2.5, x + width / 2.5], [r["min"] / 1e3] * 2, color="black", lw=1)
            ax.text(x, v * 1.08, fmt_us(r["med"]), ha="center", va="bottom", fontsize=6.5, rotation=90)
    ax.set_yscale("log")
    ax.set_ylim(0.05, max(r["med"] for r in lat.values()) / 1e3 * 6)
    ax.set_ylabel("µs per round trip (log scale)")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[1] for g in groups], fontsize=8)
    ax.axvline(len(SIZES) - 0.5, color="#999", lw=0.8, ls="--")
    ax.grid(axis="y", which="major", alpha=0.4)
    ax.grid(axis="y", which="minor", alpha=0.12)
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, l in zip(handles, labels):
        seen.setdefault(l, h)
    ax.legend(seen.values(), seen.keys(), loc="upper right", fontsize=9)
    ax.set_title(title(doc), fontsize=10)
    fig.text(0.01, 0.01, "door_call: argument of the given size, 16 B reply (0 B: none); all other mechanisms: 16 B each way. "
             "Spin/polling on one CPU is meaningless (n/a).", fontsize=7.5, color="#444")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(out)


def plot_svg(doc, lat, groups, out):
    """Minimal grouped log-scale bar chart, no dependencies."""
    W, H, L, R, T, B = 1500, 650, 70, 20, 40, 90
    vals = [r["med"] / 1e3 for r in lat.values()]
    lo, hi = 0.05, max(vals) * 6
    l0, l1 = math.log10(lo), math.log10(hi)

    def y(v):
        return T + (H - T - B) * (1 - (math.log10(max(v, lo)) - l0) / (l1 - l0))

    gw = (W - L - R) / len(groups)
    bw = gw * 0.27
    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" font-size="13">%s</text>' % (L, title(doc).replace("&", "&amp;"))]
    for e in range(int(math.floor(l0)), int(math.ceil(l1)) + 1):
        v = 10.0 ** e
        if lo <= v <= hi:
            s.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (L, W - R, y(v), y(v)))
            s.append('<text x="%d" y="%.1f" font-size="11" text-anchor="end">%g</text>' % (L - 5, y(v) + 4, v))
    s.append('<text x="15" y="%d" font-size="12" transform="rotate(-90 15 %d)">µs per round trip (log)</text>'
             % ((H) // 2, H // 2))
    for gi, ((mech, size), lbl) in enumerate(groups):
        cx = L + gw * (gi + 0.5)
        for pi, p in enumerate(PLACES):
            x = cx + (pi - 1.5) * bw
            r = lat.get((mech, size, p))
            if not r:
                s.append('<text x="%.1f" y="%d" font-size="9" fill="#666">n/a</text>' % (x, H - B - 4))
                continue
            v = r["med"] / 1e3
            s.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                     % (x, y(v), bw, H - B - y(v), COLORS[p]))
            s.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black"/>'
                     % (x + 2, x + bw - 2, y(r["min"] / 1e3), y(r["min"] / 1e3)))
            s.append('<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle">%s</text>'
                     % (x + bw / 2, y(v) - 3, fmt_us(r["med"])))
        for li, part in enumerate(lbl.split("\n")):
            s.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>' % (cx, H - B + 16 + 13 * li, part))
    for pi, p in enumerate(PLACES):
        s.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (W - 220, T + 18 * pi, COLORS[p]))
        s.append('<text x="%d" y="%d" font-size="12">%s</text>' % (W - 203, T + 18 * pi + 11, PLACE_TITLE[p]))
    s.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (L, W - R, H - B, H - B))
    s.append("</svg>")
    open(out, "w").write("\n".join(s) + "\n")


def main():
    src, out = sys.argv[1], sys.argv[2]
    doc, lat, groups = load(src)
    if not lat:
        print("plot.py: no latency results", file=sys.stderr)
        return 1
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        svg = out.rsplit(".", 1)[0] + ".svg"
        plot_svg(doc, lat, groups, svg)
        print("plot: %s (matplotlib unavailable, SVG written by hand)" % svg)
        return 0
    plot_matplotlib(doc, lat, groups, out)
    print("plot: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
