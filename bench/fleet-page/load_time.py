#!/usr/bin/python3
"""Page load time of the fleet page in headless Chromium, in real time (issue 17 §3).

Drives Chromium over the DevTools protocol (python3-websocket): for each of REPS loads it
navigates a fresh tab to URL and polls until the page has rendered the fleet
(document.body.dataset.ready == "1"), then reads the page's own performance.now() at its
first render. Virtual time (--virtual-time-budget) is not used: it would make the page's
clock lie. Prints each load and the medians.

Usage: load_time.py URL [REPS]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


def main():
    url, reps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    exe = shutil.which("chromium")
    profile = tempfile.mkdtemp(prefix="ant-fleet-cdp-")
    chrome = subprocess.Popen([exe, "--headless=new", "--no-sandbox", "--disable-gpu",
                               "--disable-dev-shm-usage", "--no-first-run",
                               "--remote-debugging-port=0", f"--user-data-dir={profile}",
                               "about:blank"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in chrome.stderr:
            if line.startswith("DevTools listening on ws://"):
                port = int(line.split("ws://127.0.0.1:")[1].split("/")[0])
                break
        if port is None:
            sys.exit("chromium did not open its DevTools port")
        walls, pages = [], []
        for rep in range(reps):
            req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
            target = json.load(urllib.request.urlopen(req, timeout=10))
            ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30)
            seq = [0]

            def call(method, **params):
                seq[0] += 1
                ws.send(json.dumps({"id": seq[0], "method": method, "params": params}))
                while True:
                    msg = json.loads(ws.recv())
                    if msg.get("id") == seq[0]:
                        return msg.get("result", {})

            def ev(expr):
                r = call("Runtime.evaluate", expression=expr, returnByValue=True)
                return r.get("result", {}).get("value")

            t0 = time.monotonic()
            call("Page.navigate", url=url)
            while ev("document.body && document.body.dataset.ready") != "1":
                if time.monotonic() - t0 > 30:
                    sys.exit("page did not render in 30 s")
                time.sleep(0.005)
            wall = (time.monotonic() - t0) * 1000
            page = float(ev("document.body.dataset.renderMs"))
            rows = ev("document.querySelectorAll('tr.node').length")
            walls.append(wall)
            pages.append(page)
            print(f"  load {rep + 1}: {rows} node rows, rendered {page:.0f} ms after navigation "
                  f"start (page clock), {wall:.0f} ms until the driver saw it")
            ws.close()
            urllib.request.urlopen(f"http://127.0.0.1:{port}/json/close/{target['id']}", timeout=10)
        print(f"median over {reps} loads: {statistics.median(pages):.0f} ms (page clock), "
              f"{statistics.median(walls):.0f} ms (driver, includes polling at 5 ms)")
    finally:
        chrome.terminate()
        try:
            chrome.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chrome.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
