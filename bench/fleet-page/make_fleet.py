#!/usr/bin/env python3
"""Writes a synthetic devnet directory of HOSTS x NODES nodes that finished a rollout, for
measuring the fleet page at a scale this machine cannot run for real: devnet.json,
published.json and one log per node in the exact line format of docs/LOG-EVENTS.md (start
on 0.1.0, release checks, the rollout of 0.2.0 scheduled over a 1 h window with one download
per host and cache hits for the rest, restart, start on 0.2.0). No process runs: the page
then shows every node as not alive, which costs the same to render.

Usage: make_fleet.py DIR HOSTS NODES_PER_HOST
"""
import json
import os
import random
import sys
import time


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def main():
    d, hosts, nodes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(d, mode=0o700, exist_ok=False)
    rnd = random.Random(17)
    t0 = time.time() - 4000
    window = 3600
    cfg = {"format": 1, "dir": os.path.realpath(d), "hosts": hosts, "nodes_per_host": nodes,
           "https_port": 1, "rollout_window_s": window, "check_interval_s": 10,
           "release_ttl_s": 30, "trial_period_s": 0, "restart_delay_ms": 500,
           "channel": "stable", "platform": "linux-x64", "initial_version": "0.1.0",
           "node_ports": [20000 + i for i in range(hosts * nodes)]}
    json.dump(cfg, open(os.path.join(d, "devnet.json"), "w"))
    json.dump([{"version": "0.2.0", "published_at": t0 + 60, "static": False}],
              open(os.path.join(d, "published.json"), "w"))
    for h in range(hosts):
        logs = os.path.join(d, "hosts", f"h{h}", "logs")
        os.makedirs(logs, mode=0o700)
        for n in range(nodes):
            peer = "%064x" % rnd.getrandbits(256)
            t, lines = t0 + rnd.random(), []
            lines.append(f"{stamp(t)} INFO node Node started version=0.1.0 peer_id={peer} pid={1000 + n} root=/x")
            for k in range(6):
                lines.append(f"{stamp(t + 10 * k)} INFO release Fetched release info url=https://x bytes=377")
            fs = t0 + 70
            delay = rnd.random() * window
            lines.append(f"{stamp(fs)} INFO upgrade Upgrade available version=0.2.0 current=0.1.0")
            lines.append(f"{stamp(fs)} INFO upgrade Upgrade scheduled version=0.2.0 first_seen={int(fs)} delay_s={int(delay)} at={int(fs + delay)}")
            ta = fs + delay
            if n == 0:
                lines.append(f"{stamp(ta)} INFO upgrade Downloading ant-node archive... version=0.2.0 url=https://x")
                lines.append(f"{stamp(ta + 0.2)} INFO upgrade Archive signature verified version=0.2.0 key=trusted-set-of-2")
                lines.append(f"{stamp(ta + 0.3)} INFO upgrade Stored archive in cache version=0.2.0")
            else:
                lines.append(f"{stamp(ta)} INFO upgrade Reused signature-verified cached archive for 0.2.0 version=0.2.0")
            lines.append(f"{stamp(ta + 0.5)} INFO upgrade Restarting into new binary version=0.2.0 mode=service scheduled_at={int(ta)}")
            lines.append(f"{stamp(ta + 0.6)} INFO node Node stopping reason=upgrade exit_code=75")
            lines.append(f"{stamp(ta + 1.2)} INFO node Node started version=0.2.0 peer_id={peer} pid={5000 + n} root=/x")
            open(os.path.join(logs, f"n{n}.log"), "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
