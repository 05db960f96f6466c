#!/usr/bin/python3
"""A real Prometheus server scraping a 3-node devnet for a minute (issue 17 §1).

`ant-devnet up` starts 1 host x 3 nodes (real ant-node, real nginx release server) with
ANT_METRICS_LISTEN=127.0.0.1:0 in its environment, which every node inherits: each opens its
endpoint on a free loopback port and logs it. The test reads the three ports from the node
logs, stores a file on the nodes with `ant-node put` (3 chunks x 3 replicas = 9 PUT
requests), runs Debian's `prometheus` against the three targets at a 2 s interval for 60 s,
and then asks it, over its HTTP API, PromQL questions whose answers the test knows:
  - every target was up for the whole minute (min_over_time(up[1m]) == 1, >= 20 samples);
  - sum(antnode_ready) == 3 and one version in antnode_build_info;
  - sum(antnode_protocol_requests_total{op="put"}) == 9 and store chunks sum to 9;
  - the upgrade monitors checked the release server (checks_total{result="none"} > 0:
    the devnet lists no newer release).
Label e2e: run only in the plain build. Environment: ANT_DEVNET_BIN, ANT_NODE_BIN.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

DEVNET = os.environ.get("ANT_DEVNET_BIN", "ant-devnet")
NODE = os.environ.get("ANT_NODE_BIN", "ant-node")
SCRAPE_S = 2
WINDOW_S = 60
failures = 0


def check(cond, what):
    global failures
    print(f"  {'ok  ' if cond else 'FAIL'} {what}")
    if not cond:
        failures += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(port, promql):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"query {promql}: {body}")
    return body["data"]["result"]


def scalar(port, promql):
    res = query(port, promql)
    return float(res[0]["value"][1]) if len(res) == 1 else None


def main():
    prom = shutil.which("prometheus")
    if prom is None:
        sys.exit("FAIL: prometheus is not installed (Debian package prometheus; scripts/setup.sh)")
    tmp = tempfile.mkdtemp(prefix="ant-prom-e2e-")
    d = os.path.join(tmp, "devnet")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANT_")}
    env["ANT_METRICS_LISTEN"] = "127.0.0.1:0"
    promproc = None
    try:
        subprocess.run([DEVNET, "up", "--dir", d, "--hosts", "1", "--nodes-per-host", "3",
                        "--binary", NODE], check=True, env=env, stdout=subprocess.DEVNULL)
        logs = [os.path.join(d, "hosts", "h0", "logs", f"n{i}.log") for i in range(3)]
        ports = [None] * 3
        end = time.time() + 20
        while time.time() < end and None in ports:
            for i, log in enumerate(logs):
                if ports[i] is None and os.path.exists(log):
                    m = re.search(r"Metrics endpoint listening \S+ port=(\d+)", open(log).read())
                    ports[i] = int(m.group(1)) if m else None
            time.sleep(0.1)
        if None in ports:
            sys.exit(f"FAIL: metrics ports not found in node logs: {ports}")
        node_ports = json.load(open(os.path.join(d, "devnet.json")))["node_ports"]

        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"global:\n  scrape_interval: {SCRAPE_S}s\n  scrape_timeout: {SCRAPE_S - 1}s\n"
                    "scrape_configs:\n  - job_name: antnode\n    static_configs:\n"
                    f"      - targets: {json.dumps([f'127.0.0.1:{p}' for p in ports])}\n")
        pport = free_port()
        promproc = subprocess.Popen(
            [prom, f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{pport}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w"))

        src = os.path.join(tmp, "in.bin")
        open(src, "wb").write(os.urandom(3 * 1024 * 1024))
        subprocess.run([NODE, "put", src, "--to", ",".join(f"127.0.0.1:{p}" for p in node_ports),
                        "--replicas", "3", "--manifest-out", os.path.join(tmp, "m.json")],
                       check=True, env={k: v for k, v in env.items() if k != "ANT_METRICS_LISTEN"},
                       stdout=subprocess.DEVNULL)

        print(f"prometheus on 127.0.0.1:{pport} scraping {ports} every {SCRAPE_S}s for {WINDOW_S}s")
        time.sleep(WINDOW_S + SCRAPE_S)
        check(promproc.poll() is None, "prometheus still running")

        up = query(pport, "min_over_time(up[1m])")
        check(len(up) == 3 and all(float(r["value"][1]) == 1 for r in up),
              f"3 targets up for the whole minute: {[(r['metric']['instance'], r['value'][1]) for r in up]}")
        n = query(pport, "count_over_time(up[1m])")
        check(len(n) == 3 and all(float(r["value"][1]) >= 20 for r in n),
              f">= 20 scrapes each in the minute: {[r['value'][1] for r in n]}")
        check(scalar(pport, "sum(antnode_ready)") == 3, "sum(antnode_ready) == 3")
        check(scalar(pport, "count(count by (version) (antnode_build_info))") == 1,
              "one version in the fleet")
        check(scalar(pport, 'sum(antnode_protocol_requests_total{op="put"})') == 9,
              "9 PUT requests (3 chunks x 3 replicas)")
        check(scalar(pport, "sum(antnode_store_chunks)") == 9, "9 chunks stored fleet-wide")
        check((scalar(pport, 'sum(antnode_upgrade_checks_total{result="none"})') or 0) > 0,
              "release checks counted (nothing newer listed)")
        check(scalar(pport, 'sum(antnode_upgrade_state{state="idle"})') == 3, "3 nodes idle")
    finally:
        if promproc is not None:
            promproc.send_signal(signal.SIGTERM)
            try:
                promproc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                promproc.kill()
        subprocess.run([DEVNET, "down", "--dir", d], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"prometheus_e2e: {'FAIL' if failures else 'OK'} ({failures} failed checks)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
