#!/usr/bin/python3
"""The node's /metrics checked by the Prometheus ecosystem's own tools, not only our parser.

Starts the real ant-node (ANT_NODE_BIN) with --metrics-listen on loopback, stores and reads a
file through `ant-node put` / `ant-node get` so the counters move, scrapes /metrics, and
checks the text with:
  - `promtool check metrics` (Debian package `prometheus`): format and naming lint;
  - the Python `prometheus_client` text parser (Debian package `python3-prometheus-client`),
    run by Debian's /usr/bin/python3, plus the values it parsed against what was done.
A missing tool is a failure (scripts/setup.sh installs both), never a silent pass.

Usage: metrics_tools.py   (environment: ANT_NODE_BIN)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("FAIL: python3-prometheus-client is not installed (scripts/setup.sh)")

NODE = os.environ.get("ANT_NODE_BIN", "ant-node")
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print(f"  CHECK failed: {what}", file=sys.stderr)


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def wait_started(root, log):
    """Protocol port from node.port, metrics port from the log line, then /healthz 200."""
    end = time.time() + 15
    port = mport = None
    while time.time() < end:
        if port is None and os.path.exists(os.path.join(root, "node.port")):
            text = open(os.path.join(root, "node.port")).read().strip()
            port = int(text) if text else None
        if mport is None and os.path.exists(log):
            m = re.search(r"Metrics endpoint listening \S+ port=(\d+)", open(log).read())
            mport = int(m.group(1)) if m else None
        if port and mport:
            try:
                if get(mport, "/healthz")[0] == 200:
                    return port, mport
            except OSError:
                pass
        time.sleep(0.05)
    sys.exit(f"FAIL: node did not become ready; log:\n{open(log).read()}")


def main():
    promtool = shutil.which("promtool")
    if promtool is None:
        sys.exit("FAIL: promtool is not installed (Debian package prometheus; scripts/setup.sh)")
    tmp = tempfile.mkdtemp(prefix="ant-metrics-tools-")
    root, log = os.path.join(tmp, "root"), os.path.join(tmp, "node.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANT_")}
    node = subprocess.Popen([NODE, "run", "--root-dir", root, "--listen", "127.0.0.1:0",
                             "--no-auto-upgrade", "--map-size", "256MiB",
                             "--metrics-listen", "127.0.0.1:0"],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)
    try:
        port, mport = wait_started(root, log)
        # Three chunks in (a 2.5 MiB file at the 1 MiB chunk size), read back once.
        data = os.urandom(5 * 512 * 1024)
        src, man, out = (os.path.join(tmp, n) for n in ("in.bin", "m.json", "out.bin"))
        open(src, "wb").write(data)
        addr = f"127.0.0.1:{port}"
        subprocess.run([NODE, "put", src, "--to", addr, "--replicas", "1", "--manifest-out", man],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run([NODE, "get", man, "--from", addr, "-o", out], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        check(open(out, "rb").read() == data, "file read back intact")

        status, ctype, text = get(mport, "/metrics")
        check(status == 200, "GET /metrics is 200")
        check(ctype == "text/plain; version=0.0.4; charset=utf-8", f"content type {ctype}")
        open(os.path.join(tmp, "metrics.txt"), "w").write(text)

        lint = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                              capture_output=True)
        check(lint.returncode == 0,
              f"promtool check metrics: rc={lint.returncode} {lint.stdout}{lint.stderr}")

        families = {f.name: f for f in text_string_to_metric_families(text)}
        for name in ("antnode_build_info", "antnode_ready", "antnode_uptime_seconds",
                     "antnode_protocol_requests", "antnode_protocol_errors",
                     "antnode_protocol_request_duration_seconds", "antnode_protocol_connections",
                     "antnode_store_chunks", "antnode_store_bytes", "antnode_store_map_used_bytes"):
            check(name in families, f"family {name} parsed")

        def value(family, sample_name, **labels):
            for s in families[family].samples:
                if s.name == sample_name and s.labels == labels:
                    return s.value
            return None

        check(value("antnode_protocol_requests", "antnode_protocol_requests_total", op="put") == 3,
              "3 PUT requests counted")
        check(value("antnode_protocol_requests", "antnode_protocol_requests_total", op="get") == 3,
              "3 GET requests counted")
        check(value("antnode_store_chunks", "antnode_store_chunks") == 3, "3 chunks stored")
        check(value("antnode_store_bytes", "antnode_store_bytes") == len(data), "bytes stored")
        check(value("antnode_ready", "antnode_ready") == 1, "ready")
        check(families["antnode_protocol_request_duration_seconds"].type == "histogram",
              "duration is a histogram")
        check(value("antnode_protocol_request_duration_seconds",
                    "antnode_protocol_request_duration_seconds_count", op="put") == 3,
              "3 PUT durations observed")
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            check(node.wait(timeout=15) == 0, "node exits 0 on SIGTERM")
        except subprocess.TimeoutExpired:
            node.kill()
            check(False, "node stops on SIGTERM")
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"metrics_tools: {'FAIL' if failures else 'OK'} ({failures} failed checks)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
