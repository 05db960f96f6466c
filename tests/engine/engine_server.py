#!/usr/bin/env python3
"""Loopback file server for the upgrade-engine tests (standard library only).

Serves the files under --root by path (the release list lives at
repos/<owner>/<name>/releases; the query string is ignored), counts every GET per path,
and answers /_counts with those counts as JSON so a test can prove how many times each
archive was downloaded and the release list fetched. /drip/<anything> announces 10 MiB
and then sends one byte per second (a stalled download; /drip/unsized announces no length,
for a client that caps the body below 10 MiB); a file with a sibling
<file>.delay is answered after that many seconds (a slow download). Every file carries a
strong ETag (from its digest) and honours `Range: bytes=N-` with If-Range. A sibling
<file>.cuts holding `K SEED` cuts the first K answers for that file at random offsets (a
flaky link); a sibling <file>.tamper holds other bytes of the same length served to every
ranged request under the same ETag (a mirror splicing in a different copy). Listens on 127.0.0.1 with a
random free port, prints `READY <port>` once it accepts connections, and serves until
killed.
"""

import argparse
import hashlib
import json
import os
import random
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
        with srv.lock:
            n = srv.answers.get(path, 0)
            srv.answers[path] = n + 1
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
        cut_at = None
        if os.path.isfile(full + ".cuts"):
            with open(full + ".cuts") as f:
                k, seed = (int(x) for x in f.read().split())
            if n < k:
                cut_at = random.Random(seed * 1000 + n)
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-") and rng[6:-1].isdigit():
            if self.headers.get("If-Range") in (None, etag) and 0 < int(rng[6:-1]) < len(body):
                start = int(rng[6:-1])
        total = len(body)
        if start > 0 and os.path.isfile(full + ".tamper"):
            with open(full + ".tamper", "rb") as f:
                body = f.read()
        part = body[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(part)))
        self.send_header("ETag", etag)
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, total - 1, total))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if cut_at is not None and len(part) > 1:
                self.wfile.write(part[:cut_at.randint(1, len(part) - 1)])
                self.wfile.flush()
                self.connection.shutdown(2)
                return None
            self.wfile.write(part)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return None

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
    srv.answers = {}
    srv.lock = threading.Lock()
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
