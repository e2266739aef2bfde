#!/usr/bin/env python3
"""A loopback listener that never answers: listen(0), never accept(), and its
accept queue filled by connections of our own, so the kernel drops every new
SYN and a client's connect() hangs until its own timeout.

usage: backlog.py PORTFILE WATCH_PID
Writes the port to PORTFILE once the queue is full; exits when WATCH_PID is
gone (or after 10 minutes).
"""
import os
import socket
import sys
import time

portfile, watch = sys.argv[1], int(sys.argv[2])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(0)
port = srv.getsockname()[1]

fillers = []
for _ in range(3):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except (BlockingIOError, InterruptedError):
        pass
    fillers.append(c)
time.sleep(0.2)

tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % port)
os.replace(tmp, portfile)

deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    try:
        os.kill(watch, 0)
    except OSError:
        break
    time.sleep(0.3)
