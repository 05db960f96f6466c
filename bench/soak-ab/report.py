#!/usr/bin/env python3
"""Table and SVG of a soak A/B run (bench/soak-ab/run.sh writes the inputs into OUT).

Inputs: OUT/samples.csv (sample.py), OUT/state-<arm>.json (the supervisor's state at the
end), OUT/uploads-<arm>.log (one line per finished put: time arm size_mb rc seconds).
Outputs: OUT/soak.md (the table, the command and the machine load) and OUT/soak.svg (mean
RssAnon and RssFile per node over time, one colour per arm); the table is also printed.

Per arm: restarts counted by the supervisor; crashes = restarts whose previous run ended
by a signal or a non-zero exit other than 75 (ANT_NODE_EXIT_RESTART, the upgrade restart;
no release is published during a soak, so none is expected); uploads finished / failed and MB stored; mean and peak RssAnon and mean RssFile
per node over all samples; CPU per node = the CPU time (user + system) each node process
used, summed over its processes, averaged over the nodes, also as % of one core over the
run, and per GB uploaded (the arms may not upload the same amount).
"""
import argparse
import csv
import json
import os
import sys
from collections import defaultdict

COLOURS = {"A": "#1f77b4", "B": "#d62728"}
EXIT_RESTART = 75  # ANT_NODE_EXIT_RESTART: a node restarting itself for an upgrade


def crashes_of(state):
    restarts = crashes = 0
    for n in state.get("nodes", []):
        restarts += int(n.get("restarts", 0))
        for s in n.get("starts", [])[1:]:
            st = int(s.get("prev_status", 0))
            signalled = (st & 0x7F) != 0 and (st & 0x7F) != 0x7F
            code = (st >> 8) & 0xFF
            if signalled or code not in (0, EXIT_RESTART):
                crashes += 1
    return restarts, crashes


def uploads_of(path):
    ok = failed = 0
    mb = 0
    if os.path.exists(path):
        with open(path, encoding="ascii") as f:
            for line in f:
                parts = line.split()
                if len(parts) != 5:
                    continue
                if parts[3] == "0":
                    ok += 1
                    mb += int(parts[2])
                else:
                    failed += 1
    return ok, failed, mb


def svg(series, path, title):
    """series: {arm: [(t, mean_anon_mib, mean_file_mib)]}"""
    w, h, ml, mr, mt, mb = 760, 360, 60, 20, 40, 50
    pts = [p for s in series.values() for p in s]
    if not pts:
        return
    tmax = max(p[0] for p in pts) or 1.0
    ymax = max(max(p[1], p[2]) for p in pts) * 1.1 or 1.0
    sx = lambda t: ml + (w - ml - mr) * t / tmax
    sy = lambda y: h - mb - (h - mt - mb) * y / ymax
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
           f'<line x1="{ml}" y1="{h - mb}" x2="{w - mr}" y2="{h - mb}" stroke="black"/>',
           f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{h - mb}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">seconds</text>',
           f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" '
           f'text-anchor="middle">MiB per node (mean)</text>']
    for i in range(6):
        y = ymax * i / 5
        t = tmax * i / 5
        out.append(f'<text x="{ml - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.0f}</text>')
        out.append(f'<line x1="{ml}" y1="{sy(y):.1f}" x2="{w - mr}" y2="{sy(y):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{h - mb + 16}" text-anchor="middle">{t:.0f}</text>')
    ly = mt + 4
    for arm, s in sorted(series.items()):
        c = COLOURS.get(arm, "black")
        anon = " ".join(f"{sx(t):.1f},{sy(a):.1f}" for t, a, _ in s)
        file_ = " ".join(f"{sx(t):.1f},{sy(f):.1f}" for t, _, f in s)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{anon}"/>')
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" '
                   f'stroke-dasharray="5,4" points="{file_}"/>')
        for dash, name in (("", "RssAnon"), ("5,4", "RssFile")):
            out.append(f'<line x1="{ml + 10}" y1="{ly}" x2="{ml + 40}" y2="{ly}" stroke="{c}" '
                       f'stroke-width="2" stroke-dasharray="{dash}"/>')
            out.append(f'<text x="{ml + 46}" y="{ly + 4}">arm {arm} {name}</text>')
            ly += 16
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--command", default="")
    ap.add_argument("--load", default="")
    ap.add_argument("--arm", action="append", default=[], help="ARM=LABEL=BINARY")
    args = ap.parse_args()
    tick = os.sysconf("SC_CLK_TCK")

    samples = defaultdict(list)
    with open(os.path.join(args.out, "samples.csv"), encoding="ascii") as f:
        for r in csv.DictReader(f):
            samples[r["arm"]].append(r)
    t0 = min((float(r["time"]) for rs in samples.values() for r in rs), default=0.0)

    rows, series = [], {}
    for spec in args.arm:
        arm, label, binary = spec.split("=", 2)
        with open(os.path.join(args.out, f"state-{arm}.json"), encoding="utf-8") as f:
            state = json.load(f)
        nodes = len(state.get("nodes", [])) or 1
        restarts, crashes = crashes_of(state)
        ok, failed, mb = uploads_of(os.path.join(args.out, f"uploads-{arm}.log"))
        rs = samples.get(arm, [])
        anon = [int(r["rss_anon_kib"]) for r in rs]
        file_ = [int(r["rss_file_kib"]) for r in rs]
        ticks = {}
        for r in rs:
            key = (r["host"], r["node"], r["pid"])
            ticks[key] = max(ticks.get(key, 0), int(r["cpu_ticks"]))
        cpu_node_s = sum(ticks.values()) / tick / nodes
        by_t = defaultdict(list)
        for r in rs:
            by_t[round(float(r["time"]) - t0, 1)].append(r)
        series[arm] = [(t, sum(int(r["rss_anon_kib"]) for r in g) / len(g) / 1024,
                        sum(int(r["rss_file_kib"]) for r in g) / len(g) / 1024)
                       for t, g in sorted(by_t.items())]
        mean = lambda xs: sum(xs) / len(xs) / 1024 if xs else 0.0
        rows.append({
            "arm": f"{arm}: {label}", "nodes": nodes, "crashes": crashes,
            "restarts": restarts, "uploads": ok, "failed": failed, "gb": mb / 1000,
            "anon": mean(anon), "anon_peak": max(anon, default=0) / 1024,
            "file": mean(file_), "cpu": cpu_node_s,
            "cpu_pct": 100 * cpu_node_s / args.seconds if args.seconds > 0 else 0.0,
            "cpu_gb": cpu_node_s * nodes / (mb / 1000) if mb else 0.0,
            "samples": len(by_t), "binary": binary,
        })

    lines = ["| arm | nodes | crashes | restarts | uploads done (failed) | GB uploaded | "
             "mean RssAnon / node | peak RssAnon | mean RssFile / node | CPU / node | "
             "node CPU per GB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['arm']} | {r['nodes']} | {r['crashes']} | {r['restarts']} | "
                     f"{r['uploads']} ({r['failed']}) | {r['gb']:.2f} | {r['anon']:.1f} MiB | "
                     f"{r['anon_peak']:.1f} MiB | {r['file']:.1f} MiB | "
                     f"{r['cpu']:.1f} s ({r['cpu_pct']:.1f} % of a core) | "
                     f"{r['cpu_gb']:.1f} s |")
    md = ["# Soak A/B", "", f"{args.seconds:.0f} s of uploads, "
          f"{max((r['samples'] for r in rows), default=0)} samples per node.", "",
          *lines, "", f"Command: `{args.command}`", "", f"Load average: {args.load}", ""]
    md += [f"- arm {r['arm']}: `{r['binary']}`" for r in rows]
    text = "\n".join(md) + "\n"
    with open(os.path.join(args.out, "soak.md"), "w", encoding="utf-8") as f:
        f.write(text)
    svg(series, os.path.join(args.out, "soak.svg"),
        "Soak A/B: mean RssAnon (solid) and RssFile (dashed) per node")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
