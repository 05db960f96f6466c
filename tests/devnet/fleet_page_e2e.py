#!/usr/bin/python3
"""The devnet's fleet page in a real browser (issue 17 §2).

Starts a devnet of 2 hosts x 3 nodes, `ant-devnet serve` on a free loopback port, and drives
headless Chromium (Debian package `chromium`) against the page: the rendered DOM must show
one row per node with the version each node runs, the summary and the version legend. Then
it publishes the next version (ANT_NODE_NEXT_BIN, built by the devnet_build_next fixture),
waits for `ant-devnet watch` to see every node on it, and checks the page again: every row on
the new version, both versions in the legend, "6/6 nodes on <next>" in the rollout caption.
Screenshots of both states are kept as test artifacts in ARTIFACT_DIR (default: the CTest
working directory) as fleet_page_before.png and fleet_page_after.png.

Label e2e. Environment: ANT_DEVNET_BIN, ANT_NODE_BIN, ANT_NODE_NEXT_BIN, ANT_NEXT_VERSION.
"""
import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

DEVNET = os.environ.get("ANT_DEVNET_BIN", "ant-devnet")
NODE = os.environ.get("ANT_NODE_BIN", "ant-node")
NEXT = os.environ.get("ANT_NODE_NEXT_BIN")
NEXT_VERSION = os.environ.get("ANT_NEXT_VERSION")
ARTIFACTS = os.environ.get("ARTIFACT_DIR", os.getcwd())
HOSTS, NODES = 2, 3
failures = 0


def check(cond, what):
    global failures
    print(f"  {'ok  ' if cond else 'FAIL'} {what}")
    if not cond:
        failures += 1


class Dom(html.parser.HTMLParser):
    """What the test reads from the rendered DOM: node rows, summary, legend, caption."""

    def __init__(self):
        super().__init__()
        self.rows, self.body, self.legend, self.text_of = [], {}, [], {}
        self._capture = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "tr" and "node" in (a.get("class") or "").split():
            self.rows.append((a.get("data-node"), a.get("data-version")))
        if tag == "span" and a.get("class") == "legend-item":
            self.legend.append(a.get("data-version"))
        if a.get("id") in ("rollout-caption",) or (tag == "span" and a.get("data-k")):
            self._capture = a.get("id") or a.get("data-k")
            self.text_of[self._capture] = ""

    def handle_data(self, data):
        if self._capture:
            self.text_of[self._capture] += data

    def handle_endtag(self, tag):
        if tag in ("div", "span"):
            self._capture = None


def chromium_args():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("FAIL: chromium is not installed (Debian package chromium; scripts/setup.sh)")
    # --no-sandbox: the suite may run as root, where Chromium refuses its sandbox.
    return [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--virtual-time-budget=4000"]


def render(url, profile):
    out = subprocess.run(chromium_args() + [f"--user-data-dir={profile}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    dom = Dom()
    dom.feed(out.stdout)
    return dom


def screenshot(url, profile, path):
    subprocess.run(chromium_args() + [f"--user-data-dir={profile}", "--window-size=1280,1000",
                                      f"--screenshot={path}", url],
                   capture_output=True, timeout=120)
    check(os.path.exists(path) and os.path.getsize(path) > 1000, f"screenshot saved: {path}")


def main():
    tmp = tempfile.mkdtemp(prefix="ant-fleet-page-")
    d, profile = os.path.join(tmp, "devnet"), os.path.join(tmp, "chromium")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANT_")}
    serve = None
    try:
        up = subprocess.run([DEVNET, "up", "--dir", d, "--hosts", str(HOSTS), "--nodes-per-host",
                             str(NODES), "--binary", NODE, "--rollout-window", "10s",
                             "--check-interval", "2s", "--release-ttl", "1s"],
                            check=True, env=env, capture_output=True, text=True)
        # `up` starts the page too and prints where.
        m = re.search(r"^fleet page: (http://127\.0\.0\.1:\d+/)$", up.stdout, re.M)
        check(m is not None, f"up prints the fleet page URL: {up.stdout!r}")
        if m:
            with urllib.request.urlopen(m.group(1) + "api/fleet.json", timeout=10) as r:
                check(len(json.load(r)["nodes"]) == HOSTS * NODES, "up's page serves the fleet")
        initial = json.load(open(os.path.join(d, "devnet.json")))["initial_version"]
        serve = subprocess.Popen([DEVNET, "serve", "--dir", d], env=env, stdout=subprocess.PIPE,
                                 text=True)
        line = serve.stdout.readline()
        m = re.match(r"fleet page: (http://127\.0\.0\.1:\d+/)", line)
        if not m:
            sys.exit(f"FAIL: serve printed {line!r}")
        url = m.group(1)
        print(f"fleet page at {url}")
        with urllib.request.urlopen(url + "api/fleet.json", timeout=10) as r:
            check(r.headers.get("Content-Type") == "application/json", "JSON content type")
            check(len(json.load(r)["nodes"]) == HOSTS * NODES, "JSON lists every node")

        dom = render(url, profile)
        check(dom.body.get("data-ready") == "1", "page rendered from the JSON")
        check(len(dom.rows) == HOSTS * NODES, f"{HOSTS * NODES} node rows: {len(dom.rows)}")
        check(sorted(r[0] for r in dom.rows) ==
              sorted(f"h{h}n{n}" for h in range(HOSTS) for n in range(NODES)), "row ids")
        check(all(r[1] == initial for r in dom.rows), f"every row on {initial}")
        check(dom.text_of.get("nodes", "").startswith(f"{HOSTS * NODES} nodes"), "summary count")
        check(dom.legend == [initial], f"legend {dom.legend}")
        screenshot(url, profile, os.path.join(ARTIFACTS, "fleet_page_before.png"))

        if NEXT is None or NEXT_VERSION is None:
            print("  note: no ANT_NODE_NEXT_BIN: the rollout half is not run")
            check(False, "ANT_NODE_NEXT_BIN and ANT_NEXT_VERSION set (devnet_build_next fixture)")
            return 1
        subprocess.run([DEVNET, "publish", "--dir", d, "--binary", NEXT, "--release-version",
                        NEXT_VERSION], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run([DEVNET, "watch", "--dir", d, "--release-version", NEXT_VERSION,
                        "--timeout", "120s", "--quiet"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        dom = render(url, profile)
        check(len(dom.rows) == HOSTS * NODES, "still one row per node")
        check(all(r[1] == NEXT_VERSION for r in dom.rows), f"every row on {NEXT_VERSION}: {dom.rows}")
        check(sorted(dom.legend) == sorted([initial, NEXT_VERSION]), f"legend {dom.legend}")
        cap = dom.text_of.get("rollout-caption", "")
        check(cap.startswith(f"{HOSTS * NODES}/{HOSTS * NODES} nodes on {NEXT_VERSION}"),
              f"rollout caption {cap!r}")
        screenshot(url, profile, os.path.join(ARTIFACTS, "fleet_page_after.png"))

        # The report keeps the same charts: fleet.html renders from the data inside it.
        rc = subprocess.run([DEVNET, "report", "--dir", d], env=env, stdout=subprocess.DEVNULL).returncode
        check(rc in (0, 3), f"report ran (exit {rc})")
        snap = "file://" + os.path.join(d, "fleet.html")
        dom = render(snap, profile)
        check(dom.body.get("data-ready") == "1", "snapshot renders without a server")
        check(len(dom.rows) == HOSTS * NODES and all(r[1] == NEXT_VERSION for r in dom.rows),
              "snapshot shows every node on the new version")
    finally:
        if serve is not None:
            serve.send_signal(signal.SIGTERM)
            try:
                check(serve.wait(timeout=10) == 0, "serve exits 0 on SIGTERM")
            except subprocess.TimeoutExpired:
                serve.kill()
        subprocess.run([DEVNET, "down", "--dir", d], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"fleet_page_e2e: {'FAIL' if failures else 'OK'} ({failures} failed checks)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
