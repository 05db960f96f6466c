#!/usr/bin/env python3
"""A GitHub-shaped release server for the net, release and upgrade tests (standard library only).

It listens on 127.0.0.1 (port 0 = a random free port; HTTPS with --tls-cert/--tls-key), prints one line `READY <port>` on
stdout once it accepts connections, and serves until killed. Behaviour is chosen per
request path, so one server covers every case of a test file:

  /repos/<owner>/<name>/releases   the bytes of --releases FILE (re-read on every request,
                                   so a test can change it), or `[]`; counted in /_count.
                                   With --api-mode MODE the API path behaves like /MODE.
  /_count                          how many API requests were served so far
  /ok                              "hello\\n"
  /echo-headers                    the request headers as the body
  /bytes/N                         N bytes with a correct Content-Length
  /download/NAME                   the file NAME from --asset-dir, if given
  /endless                         body without length, sent until the client hangs up
  /chunked                         30000 bytes in three chunks
  /endless-chunked                 chunked body that never ends
  /drip                            Content-Length 1000, then one byte per second
  /cl-over                         Content-Length of 10 GiB (the body must never be read)
  /cl-short                        Content-Length 1000, 10 bytes, then close
  /cl-long                         Content-Length 10, 1000 bytes, then close
  /cl-bad, /cl-dup                 an empty Content-Length; two that disagree
  /status/NNN                      that status (429 carries Retry-After: 60)
  /redirect?to=URL                 302 to URL
  /loop                            302 to /loop, for ever
  /chain/N                         N redirects (relative Location), then "hello\\n"
  /big-json                        a 50 MiB JSON array with its Content-Length
  /big-json-nocl                   the same without a length (close-delimited)
  /resume?id=I&size=N&cuts=K&seed=S&mode=M
                                   N pattern bytes (byte i = (31*i + (i>>9)) & 255) with an
                                   ETag and Last-Modified, honouring Range and If-Range; the
                                   first K answers for id I are cut at a random offset
                                   (seeded by S and the answer's number). Modes: ok,
                                   lastmod (no ETag), weak (W/ ETag only), none (no
                                   validators), etag-change (a new ETag per answer, If-Range
                                   honoured so a stale one gets 200), etag-change-ignore
                                   (a new ETag, still 206), bad-start / bad-total (206
                                   with a wrong Content-Range), over (206 body that never
                                   ends, no length), always-206 (206 even without Range).
                                   With stall=1 a cut answer hangs (30 s) instead of closing.
  /_resume-log?id=I                one line per /resume answer: `<Range or -> <status>`

Every response carries `Connection: close`.
"""

import argparse
import os
import random
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG_JSON_SIZE = 50 * 1024 * 1024


class State:
    def __init__(self, releases_file, asset_dir, api_mode):
        self.releases_file = releases_file
        self.asset_dir = asset_dir
        self.api_mode = api_mode
        self.lock = threading.Lock()
        self.api_count = 0
        self.resume_count = {}
        self.resume_log = {}
        self.patterns = {}

    def pattern(self, n):
        with self.lock:
            data = self.patterns.get(n)
        if data is None:
            data = bytes(((31 * i + (i >> 9)) & 255) for i in range(n))
            with self.lock:
                self.patterns[n] = data
        return data


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that hang up or refuse our certificate are what the tests do on purpose.
        if os.environ.get("ANT_TEST_SERVER_VERBOSE"):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ant-test-release-server"

    def log_message(self, fmt, *args):  # quiet: tests read stdout for READY only
        if os.environ.get("ANT_TEST_SERVER_VERBOSE"):
            sys.stderr.write("release_server: " + (fmt % args) + "\n")

    def send_head(self, status, length=None, ctype="application/octet-stream", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def send_body(self, status, body, ctype="application/octet-stream", extra=None):
        self.send_head(status, len(body), ctype, extra)
        self.wfile.write(body)

    def do_GET(self):
        try:
            self.route()
        except (OSError, ssl.SSLError):
            pass  # the client gave up, which is what most hostile cases want

    def route(self):
        state = self.server.state
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        parts = [p for p in path.split("/") if p]

        if len(parts) == 4 and parts[0] == "repos" and parts[3] == "releases":
            with state.lock:
                state.api_count += 1
            if state.api_mode:
                return self.hostile("/" + state.api_mode, url)
            body = b"[]"
            if state.releases_file:
                with open(state.releases_file, "rb") as f:
                    body = f.read()
            return self.send_body(200, body, "application/json")
        if path == "/_count":
            with state.lock:
                n = state.api_count
            return self.send_body(200, str(n).encode(), "text/plain")
        if parts[:1] == ["download"] and len(parts) == 2 and state.asset_dir:
            name = parts[1]
            if "/" in name or name.startswith("."):
                return self.send_body(404, b"not found\n", "text/plain")
            try:
                with open(os.path.join(state.asset_dir, name), "rb") as f:
                    data = f.read()
            except OSError:
                return self.send_body(404, b"not found\n", "text/plain")
            return self.send_body(200, data)
        if path == "/resume":
            return self.resume(url)
        if path == "/_resume-log":
            rid = urllib.parse.parse_qs(url.query).get("id", [""])[0]
            with state.lock:
                lines = list(state.resume_log.get(rid, []))
            return self.send_body(200, "".join(l + "\n" for l in lines).encode(), "text/plain")
        return self.hostile(path, url)

    def resume(self, url):
        state = self.server.state
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        rid, mode = q.get("id", ""), q.get("mode", "ok")
        size, cuts, seed = int(q.get("size", "1000")), int(q.get("cuts", "0")), int(q.get("seed", "1"))
        self.stall = q.get("stall") == "1"
        data = state.pattern(size)
        with state.lock:
            n = state.resume_count.get(rid, 0)
            state.resume_count[rid] = n + 1
        etag = '"v1"'
        if mode in ("etag-change", "etag-change-ignore"):
            etag = '"v%d"' % (n + 1)
        extra = {}
        if mode in ("ok", "etag-change", "etag-change-ignore", "bad-start", "bad-total",
                    "over", "always-206"):
            extra["ETag"] = etag
        if mode == "weak":
            extra["ETag"] = 'W/"v1"'
        if mode not in ("none", "weak"):
            extra["Last-Modified"] = "Tue, 01 Dec 2026 10:00:00 GMT"
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        start = 0
        if mode == "always-206" and rng is None:
            rng = "bytes=0-"
        if rng is not None and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            validator = extra.get("ETag") if (if_range or "").startswith('"') else extra.get("Last-Modified")
            if if_range is not None and if_range != validator and mode != "etag-change-ignore":
                start = 0  # If-Range failed: the whole current copy
        status = 206 if start > 0 or (mode == "always-206") else 200
        with state.lock:
            state.resume_log.setdefault(rid, []).append("%s %d" % (self.headers.get("Range") or "-", status))
        body = data[start:]
        if status == 200:
            return self.send_cut(200, body, len(body), extra, n < cuts, seed * 1000 + n)
        # The bad modes are self-consistent 206 answers for a range other than the one asked.
        first, total = start, size
        if mode == "bad-start":
            first = start - 1
            body = data[first:]
        if mode == "bad-total":
            total = size + 1
            body = body + b"!"
        extra["Content-Range"] = "bytes %d-%d/%d" % (first, total - 1, total)
        if mode == "over":
            self.send_head(206, None, extra=extra)
            self.wfile.write(body)
            while True:
                self.wfile.write(b"o" * 65536)
        return self.send_cut(206, body, len(body), extra, n < cuts, seed * 1000 + n)

    def send_cut(self, status, body, length, extra, cut, seed):
        self.send_head(status, length, extra=extra)
        if cut and len(body) > 1:
            at = random.Random(seed).randint(1, len(body) - 1)
            self.wfile.write(body[:at])
            self.wfile.flush()
            if self.stall:  # the link hangs instead: nothing more until the client gives up
                time.sleep(30)
                return None
            self.connection.shutdown(2)  # cut mid-body, as a dropped link does
            return None
        self.wfile.write(body)
        return None

    def hostile(self, path, url):
        parts = [p for p in path.split("/") if p]
        if path == "/ok":
            return self.send_body(200, b"hello\n", "text/plain")
        if path == "/echo-headers":
            return self.send_body(200, str(self.headers).encode(), "text/plain")
        if len(parts) == 2 and parts[0] == "bytes" and parts[1].isdigit():
            return self.send_body(200, b"x" * int(parts[1]))
        if path == "/endless":
            self.send_head(200)
            chunk = b"e" * 65536
            while True:
                self.wfile.write(chunk)
        if path == "/chunked":
            self.send_head(200, extra={"Transfer-Encoding": "chunked"})
            for n in (10000, 10000, 10000):
                self.wfile.write(b"%x\r\n" % n + b"k" * n + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return None
        if path == "/endless-chunked":
            self.send_head(200, extra={"Transfer-Encoding": "chunked"})
            chunk = b"c" * 65536
            frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
            while True:
                self.wfile.write(frame)
        if path == "/drip":
            self.send_head(200, 1000)
            for _ in range(1000):
                self.wfile.write(b"d")
                self.wfile.flush()
                time.sleep(1)
            return None
        if path == "/cl-over":
            self.send_head(200, 10 * 1024 * 1024 * 1024)
            chunk = b"o" * 65536
            while True:
                self.wfile.write(chunk)
        if path == "/cl-short":
            self.send_head(200, 1000)
            self.wfile.write(b"s" * 10)
            return None
        if path in ("/cl-bad", "/cl-dup"):
            self.send_response(200)
            if path == "/cl-bad":
                self.send_header("Content-Length", "")
            else:
                self.send_header("Content-Length", "5")
                self.send_header("Content-Length", "6")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self.wfile.write(b"hello!")
            return None
        if path == "/cl-long":
            self.send_head(200, 10)
            self.wfile.write(b"l" * 1000)
            return None
        if len(parts) == 2 and parts[0] == "status" and parts[1].isdigit():
            code = int(parts[1])
            extra = {"Retry-After": "60"} if code == 429 else None
            return self.send_body(code, b"status %d\n" % code, "text/plain", extra)
        if path == "/redirect":
            target = urllib.parse.parse_qs(url.query).get("to", [""])[0]
            return self.send_body(302, b"", "text/plain", {"Location": target})
        if path == "/loop":
            return self.send_body(302, b"", "text/plain", {"Location": "/loop"})
        if len(parts) == 2 and parts[0] == "chain" and parts[1].isdigit():
            n = int(parts[1])
            if n == 0:
                return self.send_body(200, b"hello\n", "text/plain")
            return self.send_body(302, b"", "text/plain", {"Location": "/chain/%d" % (n - 1)})
        if path in ("/big-json", "/big-json-nocl"):
            self.send_head(200, BIG_JSON_SIZE if path == "/big-json" else None, "application/json")
            # A valid JSON array of 50 MiB: "[" + many 1 KiB strings + "]".
            item = b'"' + b"j" * 1021 + b'",'
            sent = 1
            self.wfile.write(b"[")
            while sent + len(item) + 4 <= BIG_JSON_SIZE:
                self.wfile.write(item)
                sent += len(item)
            tail = b'"' + b"j" * (BIG_JSON_SIZE - sent - 3) + b'"]'
            self.wfile.write(tail)
            return None
        return self.send_body(404, b"not found\n", "text/plain")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--releases", help="file served as the release list")
    ap.add_argument("--asset-dir", help="directory served under /download/")
    ap.add_argument("--api-mode", help="serve the API path like this hostile path (e.g. drip)")
    ap.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate chain")
    ap.add_argument("--tls-key", help="... and this PEM private key")
    args = ap.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in the handler thread, so a stalled client blocks no one.
        # Connections end without a TLS close_notify, as many real servers and CDNs do.
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    server.state = State(args.releases, args.asset_dir, args.api_mode)
    sys.stdout.write("READY %d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
