#!/usr/bin/env python3
"""A client that connects and PINGs an ant-node every 10 ms until STOP_FILE exists, then
prints one JSON line: ok, refused (ECONNREFUSED at connect), dropped (closed or timed out
before the reply) and the longest gap between two answered PINGs in ms.
Usage: ping_loop.py PORT STOP_FILE"""
import errno, json, os, socket, struct, sys, time

port, stop = int(sys.argv[1]), sys.argv[2]
ok = refused = dropped = 0
last = time.monotonic()
gap = 0.0
frame = struct.pack(">IBBH", 4, 1, 0x01, 0) + b"ping"
while not os.path.exists(stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(20)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(frame)
        reply = b""
        while len(reply) < len(frame):
            chunk = s.recv(64)
            if not chunk:
                break
            reply += chunk
        if len(reply) >= len(frame) and reply[5] == 0x81:
            now = time.monotonic()
            gap = max(gap, now - last)
            last = now
            ok += 1
        else:
            dropped += 1
    except OSError as e:
        if e.errno == errno.ECONNREFUSED:
            refused += 1
        else:
            dropped += 1
    finally:
        s.close()
    time.sleep(0.01)
print(json.dumps({"ok": ok, "refused": refused, "dropped": dropped,
                  "longest_gap_ms": round(gap * 1000)}))
