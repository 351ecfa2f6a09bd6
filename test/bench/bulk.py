#!/usr/bin/env python3
"""Bulk transfer ends on kernel sockets for the goodput figure of `make bench`.

  bulk.py receive --port P --seconds T --max-seconds S
      listens on 0.0.0.0:P, prints "listening", accepts one connection (within
      S seconds), reads to EOF or for T seconds after accept(), whichever comes
      first, closes, and prints one line
        result {"ok": true, "bytes": N, "sha256": "...", "seconds": E, "complete": C}
      E runs from accept() to EOF (the peer's FIN after its last byte), or is T
      when the time ran out first (C false; closing with data unread resets
      the connection). sha256 is of the N bytes read.
  bulk.py send --host H --port P --bytes N --cc cubic|reno --max-seconds S
      connects with TCP_CONGESTION set on the socket before connect() (Node
      cannot set it; a fresh namespace's default here is bbr), sends N bytes of
      the bench pattern, shuts down its write side, waits for the receiver's
      FIN, and prints
        result {"ok": true, "bytes": N, "totalRetrans": R, "cc": "cubic", "stopped": null}
      totalRetrans is tcp_info's tcpi_total_retrans; stopped names the error
      (ConnectionResetError, BrokenPipeError) when the receiver's time ran out
      first and it reset the connection.

The pattern is bytes 0..250 repeated: the same the bench computes its SHA-256
from and feeds our stack. Every call is bounded by --max-seconds.
"""
import argparse
import hashlib
import json
import socket
import struct
import sys
import time

TCP_CONGESTION = getattr(socket, "TCP_CONGESTION", 13)
TCP_INFO = getattr(socket, "TCP_INFO", 11)
# struct tcp_info (include/uapi/linux/tcp.h): 8 bytes of u8 fields, then u32s;
# tcpi_total_retrans is the 24th u32, at offset 100.
TOTAL_RETRANS_OFFSET = 100


def pattern(n):
    block = bytes(range(251))
    return (block * (n // len(block) + 1))[:n]


def result(**fields):
    print("result " + json.dumps(fields), flush=True)


def receive(args):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", args.port))
    srv.listen(1)
    print("listening", flush=True)
    srv.settimeout(args.max_seconds)
    conn, _ = srv.accept()
    start = time.monotonic()
    deadline = start + args.seconds
    digest = hashlib.sha256()
    total = 0
    complete = False
    buf = bytearray(1 << 18)
    view = memoryview(buf)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        conn.settimeout(left)
        try:
            n = conn.recv_into(buf)
        except socket.timeout:
            break
        if n == 0:
            complete = True
            break
        digest.update(view[:n])
        total += n
    seconds = time.monotonic() - start if complete else args.seconds
    conn.close()
    srv.close()
    result(ok=True, bytes=total, sha256=digest.hexdigest(), seconds=seconds, complete=complete)
    return 0


def send(args):
    deadline = time.monotonic() + args.max_seconds
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, args.cc.encode())
    s.settimeout(args.max_seconds)
    s.connect((args.host, args.port))
    data = memoryview(pattern(args.bytes))
    sent = 0
    stopped = None
    try:
        while sent < len(data):
            left = deadline - time.monotonic()
            if left <= 0:
                result(ok=False, error="time limit", bytes=sent)
                return 1
            s.settimeout(left)
            sent += s.send(data[sent:sent + (1 << 18)])
        s.shutdown(socket.SHUT_WR)
        s.settimeout(max(0.1, deadline - time.monotonic()))
        while s.recv(4096):
            pass
    except (ConnectionResetError, BrokenPipeError) as e:
        # The receiver's time ran out: it closed with data unread (a RST).
        stopped = type(e).__name__
    info = s.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 104)
    retrans = struct.unpack_from("I", info, TOTAL_RETRANS_OFFSET)[0]
    cc = s.getsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, 16).split(b"\0")[0].decode()
    s.close()
    result(ok=True, bytes=sent, totalRetrans=retrans, cc=cc, stopped=stopped)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["send", "receive"])
    p.add_argument("--host")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--cc", default="cubic")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-seconds", type=float, default=60)
    args = p.parse_args()
    try:
        return receive(args) if args.mode == "receive" else send(args)
    except OSError as e:
        result(ok=False, error=f"{type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
