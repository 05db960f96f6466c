#!/usr/bin/env python3
"""Per-node /proc sampler of the soak A/B (bench/soak-ab/run.sh).

Every --interval seconds, for each devnet given as ARM=DIR, reads the supervisor's
DIR/state.json for the nodes' current pids, then each node's /proc/<pid>/status (RssAnon,
RssFile) and /proc/<pid>/stat (utime + stime, in clock ticks), and appends one CSV row per
node: time, arm, host, node, pid, rss_anon_kib, rss_file_kib, cpu_ticks. A node that is
between two runs (no live pid) gets no row for that sample; the restart itself is counted
from the state file by report.py. Runs until SIGTERM.
"""
import argparse
import json
import os
import signal
import sys
import time


def read_status(pid):
    anon = file_ = None
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f.read(65536).splitlines():
            if line.startswith("RssAnon:"):
                anon = int(line.split()[1])
            elif line.startswith("RssFile:"):
                file_ = int(line.split()[1])
    return anon, file_


def read_ticks(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        text = f.read(4096)
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--out", required=True)
    ap.add_argument("arms", nargs="+", help="ARM=DEVNET_DIR")
    args = ap.parse_args()
    arms = [a.split("=", 1) for a in args.arms]

    stop = False

    def on_term(_sig, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    new = not os.path.exists(args.out)
    with open(args.out, "a", encoding="ascii") as out:
        if new:
            out.write("time,arm,host,node,pid,rss_anon_kib,rss_file_kib,cpu_ticks\n")
        while not stop:
            now = time.time()
            for arm, d in arms:
                try:
                    with open(os.path.join(d, "state.json"), encoding="utf-8") as f:
                        st = json.loads(f.read(8 << 20))
                except (OSError, ValueError):
                    continue
                for n in st.get("nodes", []):
                    pid = n.get("pid", 0)
                    if pid <= 0:
                        continue
                    try:
                        anon, file_ = read_status(pid)
                        ticks = read_ticks(pid)
                    except (OSError, ValueError, IndexError):
                        continue
                    if anon is None or file_ is None:
                        continue
                    out.write(f"{now:.3f},{arm},{n['host']},{n['node']},{pid},"
                              f"{anon},{file_},{ticks}\n")
            out.flush()
            deadline = now + args.interval
            while not stop and time.time() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - time.time())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
