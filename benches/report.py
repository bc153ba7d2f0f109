#!/usr/bin/env python3
"""report.py RAW JSON - turn the RESULT lines of one `make bench` run into the table on stdout
and the raw results in JSON.

Every number in the table comes from RAW (one run): medians of the repetitions of a
configuration, the fastest repetition as min, and ratios of medians.
"""
import datetime
import json
import re
import sys

PLACES = ["same", "diff", "none"]
PLACE_TITLE = {"same": "same CPU", "diff": "diff CPUs", "none": "unpinned"}
SIZES = [0, 16, 4096, 65536, 1048576, 8388608]
OTHERS = ["futex", "spin", "pipe", "seqpacket", "iceoryx2_event", "iceoryx2_spin"]
LABEL = {
    "door": "libdoor door_call",
    "futex": "futex hand-off (shm floor)",
    "spin": "spin ping-pong (shm floor)",
    "pipe": "pipe ping-pong",
    "seqpacket": "AF_UNIX SOCK_SEQPACKET",
    "iceoryx2_event": "iceoryx2 req/resp + event",
    "iceoryx2_spin": "iceoryx2 req/resp, polling",
}
# Placements where a mechanism is not run, and why.
NOT_RUN = {
    ("spin", "same"): "n/a",
    ("spin", "none"): "n/a",
    ("iceoryx2_spin", "same"): "n/a",
    ("iceoryx2_spin", "none"): "n/a",
}


def size_name(n):
    if n >= 1 << 20:
        return "%d MiB" % (n >> 20)
    if n >= 1 << 10:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def kv(line):
    return dict(re.findall(r"(\w+)=(\S+)", line))


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def parse(path):
    meta, lat, tput, bw, failed, skipped = {}, {}, {}, {}, [], {}
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#"):
            body = line[1:].strip()
            words = body.split()
            if words and words[0] in ("start", "end"):
                meta[words[0]] = words[1]
                if "load=" in body:
                    meta[words[0] + "_load"] = " ".join(body.split("load=")[1].split()[:3])
                meta.update({k: v for k, v in kv(body).items() if k != "load"})
            elif kv(body):
                meta.update(kv(body))
            else:
                meta.setdefault("notes", []).append(body)
            continue
        if line.startswith("SKIPPED"):
            d = kv(line)
            skipped[d.get("mech")] = d.get("reason", "skipped")
            continue
        if line.startswith("FAILED"):
            words = line.split()
            reason = line.split("reason=", 1)[1] if "reason=" in line else ""
            failed.append({"config": " ".join(w for w in words[1:] if "=" not in w), "reason": reason})
            continue
        if not line.startswith("RESULT"):
            continue
        d = kv(line)
        rec = {k: (num(v) if k not in ("kind", "mech", "place", "all", "cpu_all") else v) for k, v in d.items()}
        for k in ("size", "N", "reps", "capped", "threads"):
            if rec.get(k) is not None:
                rec[k] = int(rec[k])
        for k in ("all", "cpu_all"):
            if k in d:
                rec[k] = [float(x) for x in d[k].split(",")]
        kind = d["kind"]
        if kind == "lat":
            lat[(d["mech"], int(d["size"]), d["place"])] = rec
        elif kind == "tput":
            tput[int(d["threads"])] = rec
        elif kind == "bw":
            bw[d["place"]] = rec
    return meta, lat, tput, bw, failed, skipped


def fmt_ns(x):
    return "{:,.0f}".format(x)


def main():
    raw, out = sys.argv[1], sys.argv[2]
    meta, lat, tput, bw, failed, skipped = parse(raw)
    failed_keys = {f["config"] for f in failed}

    def cell_missing(mech, size, place):
        if (mech, place) in NOT_RUN:
            return NOT_RUN[(mech, place)]
        if mech in skipped:
            return "skipped"
        key = "lat %s %s" % (mech, place) + ("" if mech != "door" else " %d" % size)
        return "FAILED" if key in failed_keys else "-"

    def med(mech, size, place, field="med"):
        r = lat.get((mech, size, place))
        return r[field] if r else None

    rows = [("door", s) for s in SIZES] + [(m, 16) for m in OTHERS]
    w0 = 34
    wc = 25
    print()
    print("libdoor benchmark  %s  Linux %s, %s CPUs, load %s -> %s" % (
        meta.get("start", "?"), meta.get("kernel", "?"), meta.get("nproc", "?"),
        meta.get("start_load", "?"), meta.get("end_load", "?")))
    print("%s reps x ~%s ms per configuration (after %s ms warm-up); wall time of the run %s s%s" % (
        meta.get("reps", "5"), meta.get("rep_ms", "200"), meta.get("warm_ms", "300"), meta.get("wall_s", "?"),
        " (iceoryx2 build %s s)" % meta["iceoryx2_build_s"] if "iceoryx2_build_s" in meta else ""))
    print()
    print("Round-trip latency, ns per call: median of the repetitions (fastest repetition)")
    print("(door_call: SIZE-byte argument, 16 B reply, none for 0 B; all others 16 B each way)")
    print("%-*s" % (w0, "mechanism") + "".join("%*s" % (wc, PLACE_TITLE[p]) for p in PLACES))
    print("-" * (w0 + wc * 3))
    for mech, size in rows:
        name = LABEL[mech] + (" " + size_name(size) if mech == "door" else "")
        cells = []
        for p in PLACES:
            r = lat.get((mech, size, p))
            if r:
                c = "%s (%s)" % (fmt_ns(r["med"]), fmt_ns(r["min"]))
                if r.get("capped"):
                    c += "*"
            else:
                c = cell_missing(mech, size, p)
            cells.append("%*s" % (wc, c))
        print("%-*s" % (w0, name) + "".join(cells))
        if mech == "door" and size == SIZES[-1]:
            print()

    print()
    print("16 B round trip: latency and CPU time per call (client + server process), ns, medians")
    wl = 10
    print("%-*s" % (w0, "mechanism") + "".join("%*s%*s" % (wl + 2, PLACE_TITLE[p][:10], wl, "CPU") for p in PLACES))
    print("-" * (w0 + (wl * 2 + 2) * 3))
    for mech in ["door"] + OTHERS:
        cells = []
        for p in PLACES:
            r = lat.get((mech, 16, p))
            if r:
                cells.append("%*s%*s" % (wl + 2, fmt_ns(r["med"]), wl, fmt_ns(r["cpu_med"])))
            else:
                cells.append("%*s%*s" % (wl + 2, cell_missing(mech, 16, p), wl, ""))
        print("%-*s" % (w0, LABEL[mech]) + "".join(cells))

    print()
    print("door_call throughput, 16 B, unpinned client threads on one door (5 reps of ~%s ms)" % meta.get("rep_ms", "200"))
    print("%8s %16s %14s %16s %10s" % ("threads", "calls/s median", "best rep", "CPU ns/call", "x 1 thread"))
    base = tput.get(1, {}).get("med")
    for t in (1, 2, 4, 16):
        r = tput.get(t)
        if not r:
            print("%8d %16s" % (t, "FAILED" if ("tput door none %d" % t) in failed_keys else "-"))
            continue
        sp = "%.2f" % (r["med"] / base) if base else "-"
        print("%8d %16s %14s %16s %10s" % (t, fmt_ns(r["med"]), fmt_ns(r["max"]), fmt_ns(r["cpu_med"]), sp))

    print()
    print("8 MiB: memcpy in one process (pinned like the client) vs 8 MiB door_call argument")
    print("(MB/s = 1e6 bytes/s; door_call bandwidth = 8 MiB / median round trip)")
    print("%-12s %16s %18s %14s" % ("placement", "memcpy MB/s", "door_call MB/s", "% of memcpy"))
    bwpct = {}
    for p in PLACES:
        m = bw.get(p, {}).get("med")
        d = med("door", 8388608, p)
        dmbs = 8388608 / d * 1e3 if d else None
        pct = 100.0 * dmbs / m if (m and dmbs) else None
        bwpct[p] = {"memcpy_MBps": m, "door_MBps": dmbs, "percent": pct}
        print("%-12s %16s %18s %14s" % (PLACE_TITLE[p], fmt_ns(m) if m else "-", fmt_ns(dmbs) if dmbs else "-",
                                       "%.1f %%" % pct if pct else "-"))

    # Ratios of medians, all from this run.
    print()
    print("Ratios (median / median, this run): libdoor door_call 16 B divided by ...")
    ratios = {}
    print("%-*s" % (w0, "... mechanism") + "".join("%*s" % (wc, PLACE_TITLE[p]) for p in PLACES))
    print("-" * (w0 + wc * 3))
    for mech in OTHERS:
        cells = []
        for p in PLACES:
            a, b = med("door", 16, p), med(mech, 16, p)
            if a and b:
                ratios["door16/%s/%s" % (mech, p)] = a / b
                cells.append("%*s" % (wc, "%.2fx" % (a / b)))
            else:
                cells.append("%*s" % (wc, cell_missing(mech, 16, p) if not b else "-"))
        print("%-*s" % (w0, LABEL[mech]) + "".join(cells))

    def hl(label, key):
        v = ratios.get(key)
        print("  %-46s %s" % (label, "%.2fx" % v if v else "n/a (missing)"))

    print()
    print("Headline:")
    hl("libdoor / futex floor, same CPU:", "door16/futex/same")
    hl("libdoor / spin floor, different CPUs:", "door16/spin/diff")
    hl("libdoor / AF_UNIX seqpacket, unpinned:", "door16/seqpacket/none")
    for p in PLACES:
        pct = bwpct[p]["percent"]
        print("  %-46s %s" % ("8 MiB door_call bandwidth, %s:" % PLACE_TITLE[p],
                              "%.1f %% of memcpy" % pct if pct else "n/a"))
    if any(r.get("capped") for r in lat.values()):
        print("  * a repetition ran over 5x its time budget and was cut short")
    if failed:
        print()
        print("FAILED configurations:")
        for f in failed:
            print("  %s: %s" % (f["config"], f["reason"][:200]))
    for m, why in skipped.items():
        print("  %s not measured: %s" % (m, why))
    print()

    doc = {
        "meta": meta,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "units": {"latency": "ns per round trip", "cpu": "ns of client+server CPU per call",
                  "throughput": "calls per second", "bandwidth": "MB/s (1e6 bytes/s)"},
        "latency": [dict(r, label=LABEL.get(r["mech"], r["mech"])) for r in lat.values()],
        "throughput": list(tput.values()),
        "memcpy": list(bw.values()),
        "bandwidth_8MiB": bwpct,
        "ratios": ratios,
        "not_run": {"%s/%s" % k: v for k, v in NOT_RUN.items()},
        "failed": failed,
        "skipped": skipped,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
