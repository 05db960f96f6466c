#!/usr/bin/env python3
"""A one-purpose HTTPS server on loopback for the portability tests: serves a GitHub-shaped
empty release list at /repos/<owner>/<repo>/releases and a fixed greeting at /hello, over TLS
with the certificate and key given, and logs each request path (one line per request) to
LOGFILE. It binds 127.0.0.1 on a free port and writes the port number to PORTFILE once it
accepts connections.

  tls_server.py CERT KEY PORTFILE LOGFILE
"""
import http.server
import os
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(self.server.logfile, "a") as log:
            log.write(self.path + "\n")
        path = self.path.split("?", 1)[0]
        if path == "/hello":
            body, ctype = b"hello from the test TLS server\n", "text/plain"
        elif path.startswith("/repos/") and path.endswith("/releases"):
            body, ctype = b"[]", "application/json"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    cert, key, portfile, logfile = argv
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.logfile = logfile
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, portfile)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
