#!/usr/bin/env python3
"""Loopback file server for the upgrade-engine tests (standard library only).

Serves the files under --root by path (the release list lives at
repos/<owner>/<name>/releases; the query string is ignored), counts every GET per path,
and answers /_counts with those counts as JSON so a test can prove how many times each
archive was downloaded and the release list fetched. /drip/<anything> announces 10 MiB
and then sends one byte per second (a stalled download; /drip/unsized announces no length,
for a client that caps the body below 10 MiB); a file with a sibling
<file>.delay is answered after that many seconds (a slow download). Listens on 127.0.0.1 with a
random free port, prints `READY <port>` once it accepts connections, and serves until
killed.
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        srv = self.server
        if path == "/_counts":
            with srv.lock:
                body = json.dumps(srv.counts).encode()
            return self.reply(200, body)
        with srv.lock:
            srv.counts[path] = srv.counts.get(path, 0) + 1
        if path.startswith("/drip/"):
            return self.drip(path != "/drip/unsized")
        rel = os.path.normpath(path.lstrip("/"))
        if rel.startswith("..") or os.path.isabs(rel):
            return self.reply(404, b"no\n")
        full = os.path.join(srv.root, rel)
        if not os.path.isfile(full):
            return self.reply(404, b"not found\n")
        with open(full, "rb") as f:
            body = f.read()
        # A test makes one file slow to serve (a long download) with <file>.delay holding
        # the seconds to wait before answering.
        delay = full + ".delay"
        if os.path.isfile(delay):
            with open(delay) as f:
                time.sleep(float(f.read().strip() or "0"))
        self.reply(200, body)

    def drip(self, sized):
        self.send_response(200)
        if sized:
            self.send_header("Content-Length", str(10 * 1024 * 1024))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for _ in range(120):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.root = os.path.abspath(args.root)
    srv.counts = {}
    srv.lock = threading.Lock()
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
