#!/usr/bin/env python3
"""bench-report.py SERIAL_TXT [OUT_TXT] - the table of `make bench-kmod`.

Reads the RESULT lines the guest printed (kmod/scripts/bench-guest.sh),
prints door_call under the kernel and the userspace backend next to the
floors measured in the same boot, and the issue's ratios: same CPU
kernel-backend 16 B call / pipe and / futex hand-off, and 8 MiB argument
bandwidth as a share of memcpy. Medians only; all from one boot.
"""
import sys

SIZES = [0, 16, 65536, 8388608]
PLACES = ["same", "diff"]
TITLE = {"same": "same CPU", "diff": "different CPUs"}


def kv(line):
    return dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)


def main():
    lines = open(sys.argv[1], errors="replace").read().splitlines()
    res, failed, notes = {}, [], []
    for ln in lines:
        ln = ln.strip()
        if ln.startswith("RESULT "):
            d = kv(ln)
            key = (d.get("backend"), d.get("mech"), d.get("place"), d.get("size"))
            res[key] = d
        elif ln.startswith("FAILED "):
            failed.append(ln)
        elif ln.startswith("BENCHNOTE "):
            notes.append(ln[len("BENCHNOTE "):])

    def med(backend, mech, place, size):
        d = res.get((backend, mech, place, str(size)))
        return float(d["med"]) if d else None

    out = []
    p = out.append
    for n in notes:
        p("guest: " + n)
    p("")
    p("Round trip, median ns (16 B results; N-byte arguments for door_call)")
    p("%-34s %16s %16s" % ("", TITLE["same"], TITLE["diff"]))
    for size in SIZES:
        for be in ("kernel", "user"):
            cells = [med(be, "door", pl, size) for pl in PLACES]
            p("%-34s %16s %16s" % ("door_call %s backend, %d B" % (be, size),
                                   *["%.0f" % c if c else "-" for c in cells]))
    for mech in ("futex", "pipe", "binder"):
        cells = [med("none", mech, pl, 16) for pl in PLACES]
        p("%-34s %16s %16s" % (mech + " round trip, 16 B", *["%.0f" % c if c else "-" for c in cells]))
    p("")
    p("Ratios (median / median, this boot)")
    targets = {("pipe", "same"): 0.85, ("futex", "same"): 0.95}
    for mech in ("pipe", "futex"):
        for pl in PLACES:
            a, b = med("kernel", "door", pl, 16), med("none", mech, pl, 16)
            t = targets.get((mech, pl))
            verdict = ""
            if a and b and t:
                verdict = "  (target <= %.2fx: %s)" % (t, "met" if a / b <= t else "missed")
            p("  kernel door_call 16 B / %-6s %-16s %s%s" % (mech, TITLE[pl] + ":",
                                                          "%.2fx" % (a / b) if a and b else "n/a", verdict))
        a, b = med("user", "door", "same", 16), med("none", mech, "same", 16)
        p("  user   door_call 16 B / %-6s %-16s %s" % (mech, "same CPU:", "%.2fx" % (a / b) if a and b else "n/a"))
    for pl in PLACES:
        a, b = med("kernel", "door", pl, 16), med("none", "binder", pl, 16)
        p("  kernel door_call 16 B / %-6s %-16s %s" % ("binder", TITLE[pl] + ":", "%.2fx" % (a / b) if a and b else "n/a"))
    for pl in PLACES:
        a, b = med("kernel", "door", pl, 16), med("user", "door", pl, 16)
        p("  kernel / user door_call 16 B, %-16s %s" % (TITLE[pl] + ":", "%.2fx" % (a / b) if a and b else "n/a"))
    p("")
    p("8 MiB argument bandwidth (8 MiB / median round trip) as a share of memcpy (target >= 50%)")
    for pl in PLACES:
        m = res.get(("none", "memcpy", pl, "8388608"))
        mb = float(m["med"]) if m else None
        for be in ("kernel", "user"):
            d = med(be, "door", pl, 8388608)
            bw = 8388608 / d * 1e3 if d else None
            pct = 100.0 * bw / mb if bw and mb else None
            p("  %-6s backend, %-16s %s MB/s of memcpy's %s MB/s: %s" % (
                be, TITLE[pl] + ":", "%.0f" % bw if bw else "-", "%.0f" % mb if mb else "-",
                "%.1f%%%s" % (pct, " (met)" if pct >= 50 else " (missed)") if pct else "n/a"))
    if failed:
        p("")
        p("FAILED configurations:")
        for f in failed:
            p("  " + f)
    text = "\n".join(out)
    print(text)
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write(text + "\n")
    return 1 if failed or not res else 0


if __name__ == "__main__":
    sys.exit(main())
