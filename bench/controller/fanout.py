#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench/controller/fanout.py - issue 13: how fast a certificate change is live on many edges.

Starts a Redis, one or two controllers and E certplane-edge processes (each watching one controller;
with two controllers the edges alternate), and optionally S extra Watch streams from Debian's
python3-grpcio (an "edge's worth" of stream each, without TLS serving). Then makes C changes, one at a
time C_GAP ms apart: an ImportCertificate over REST (overwrite, cycling over 50 names and 20 real
certificate/key pairs), alternating between the controllers. For every change it records the wall
time before the request and the revision the answer carries; each edge logs (at debug level, with
millisecond timestamps) when it published a revision to its SNI table; each stream notes when it
received the revision. Latency of a change = (the last edge's publish of a revision >= R) - (request
sent), i.e. from the API call to live on every edge. Also: the controllers' CPU time during the
changes, per change and per edge (or stream).

Usage: fanout.py --build BUILD [--edges 10] [--controllers 1] [--streams 0] [--changes 200]
                 [--gap-ms 30] [--keep]
Prints one JSON line with the figures; every process is started here, on loopback, stopped by PID.
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ADMIN, EDGE = "bench-admin", "bench-edge"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.05)
    raise RuntimeError("not ready: " + url)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else None


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="cp-fanout-")
        self.procs = []

    def spawn(self, name, argv, env=None):
        log = open(os.path.join(self.work, name + ".log"), "w")
        e = dict(os.environ, **(env or {}))
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=e)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("kept " + self.work, file=sys.stderr)

    def pairs(self, n):
        out = []
        for i in range(n):
            key, crt = [os.path.join(self.work, "p%d.%s" % (i, x)) for x in ("key", "crt")]
            subprocess.check_call(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                                   "-days", "30", "-subj", "/CN=fan%d.example" % i, "-addext",
                                   "subjectAltName=DNS:fan%d.example" % i],
                                  stderr=subprocess.DEVNULL)
            out.append((open(crt).read(), open(key).read()))
        return out

    def start(self):
        a = self.a
        rport = free_port()
        self.spawn("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(rport), "--save", "",
                             "--appendonly", "no", "--dir", self.work])
        time.sleep(0.3)
        self.ctls = []
        for i in range(a.controllers):
            g, h = free_port(), free_port()
            p = self.spawn("controller-%d" % i, [
                os.path.join(a.build, "bin/certplane-controller"),
                "--redis-url=redis://127.0.0.1:%d" % rport, "--grpc-listen=127.0.0.1:%d" % g,
                "--http-listen=127.0.0.1:%d" % h, "--acme-provider=https://127.0.0.1:1/dir",
                "--insecure-plaintext-keys", "--workers=1", "--controller-id=fan%d" % i,
                "--watch-max-per-token=1024"],
                {"CERTPLANE_API_TOKENS": "%s:admin,%s:edge" % (ADMIN, EDGE)})
            self.ctls.append({"pid": p.pid, "grpc": g, "http": h})
        for c in self.ctls:
            wait_http("http://127.0.0.1:%d/readyz" % c["http"], 30)
        self.edges = []
        for i in range(a.edges):
            adm = free_port()
            c = self.ctls[i % len(self.ctls)]
            self.spawn("edge-%d" % i, [
                os.path.join(a.build, "bin/certplane-edge"), "--listen=127.0.0.1:%d" % free_port(),
                "--http-listen=", "--admin-listen=127.0.0.1:%d" % adm,
                "--controller=127.0.0.1:%d" % c["grpc"], "--threads=1", "--log-level=debug",
                "--edge-id=fan-edge-%d" % i, "--report-interval=5s"],
                {"CERTPLANE_EDGE_TOKEN": EDGE})
            self.edges.append(adm)
        for adm in self.edges:
            wait_http("http://127.0.0.1:%d/readyz" % adm, 30)

    def import_cert(self, ctl, name, pair):
        body = json.dumps({"name": name, "fullchainPem": pair[0], "privateKeyPem": pair[1],
                           "overwrite": True}).encode()
        req = urllib.request.Request("http://127.0.0.1:%d/v1/certificates:import" % ctl["http"],
                                     data=body, method="POST",
                                     headers={"Authorization": "Bearer " + ADMIN,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(json.load(r)["revision"])


def edge_publishes(path):
    """[(revision, wall ms)] from an edge's debug log, in order."""
    out = []
    with open(path) as f:
        for line in f:
            if '"published ' not in line:
                continue
            try:
                j = json.loads(line)
            except ValueError:
                continue
            rev = int(j["msg"].rsplit("revision ", 1)[1])
            ts = datetime.datetime.strptime(j["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp() * 1000.0
            out.append((rev, ts))
    return out


def first_at_least(pubs, rev):
    for r, ts in pubs:
        if r >= rev:
            return ts
    return None


class Streams:
    """S Watch streams over python3-grpcio, each on its own channel (connection) and thread."""

    def __init__(self, work, addrs, n):
        sys.path.insert(0, os.path.join(ROOT, "tests/integration/api"))
        from common import gen_stubs  # noqa: E402 - after the path is set
        gen_stubs(os.path.join(ROOT, "proto"), os.path.join(work, "py"))
        import grpc
        from certplane.v1 import certplane_pb2 as pb
        from certplane.v1 import certplane_pb2_grpc as pbg
        self.seen = [dict() for _ in range(n)]  # revision -> wall ms, per stream
        self.stop = False
        self.errors = []
        self.calls, self.threads = [], []
        for i in range(n):
            ch = grpc.insecure_channel(addrs[i % len(addrs)])
            call = pbg.CertificatesStub(ch).Watch(
                pb.WatchRequest(from_revision=0, edge_id="stream-%d" % i),
                metadata=[("authorization", "Bearer " + EDGE)], timeout=600)
            self.calls.append(call)
            t = threading.Thread(target=self.read, args=(i, call), daemon=True)
            t.start()
            self.threads.append(t)

    def read(self, i, call):
        try:
            for ev in call:
                if ev.revision:
                    self.seen[i].setdefault(ev.revision, time.time() * 1000.0)
        except Exception as e:  # noqa: BLE001 - cancelled at the end
            if not self.stop:
                self.errors.append(str(e)[:200])

    def close(self):
        self.stop = True
        for c in self.calls:
            c.cancel()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--edges", type=int, default=10)
    ap.add_argument("--controllers", type=int, default=1, choices=[1, 2])
    ap.add_argument("--streams", type=int, default=0)
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--gap-ms", type=int, default=30)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.changes = min(a.changes, 5000)
    b = Bench(a)
    try:
        b.start()
        pairs = b.pairs(20)
        streams = None
        if a.streams:
            streams = Streams(b.work, ["127.0.0.1:%d" % c["grpc"] for c in b.ctls], a.streams)
            time.sleep(1.0 + a.streams / 50.0)  # their snapshots are done
        for i in range(50):  # the names exist before the measured changes
            b.import_cert(b.ctls[0], "fan%d" % i, pairs[i % 20])
        time.sleep(0.5)
        cpu0 = [cpu_s(c["pid"]) for c in b.ctls]
        changes = []
        deadline = time.time() + 300
        for i in range(a.changes):
            if time.time() > deadline:
                break
            ctl = b.ctls[i % len(b.ctls)]
            t0 = time.time() * 1000.0
            rev = b.import_cert(ctl, "fan%d" % (i % 50), pairs[(i + 7) % 20])
            changes.append((rev, t0))
            time.sleep(a.gap_ms / 1000.0)
        time.sleep(1.0)
        cpu = sum(cpu_s(c["pid"]) for c in b.ctls) - sum(cpu0)
        pubs = [edge_publishes(os.path.join(b.work, "edge-%d.log" % i)) for i in range(a.edges)]
        all_edges, per_edge, missing = [], [], 0
        for rev, t0 in changes:
            ts = [first_at_least(p, rev) for p in pubs]
            if any(t is None for t in ts):
                missing += 1
                continue
            lat = [t - t0 for t in ts]
            per_edge.extend(lat)
            all_edges.append(max(lat))
        res = {"edges": a.edges, "controllers": a.controllers, "streams": a.streams,
               "changes": len(changes), "missing": missing,
               "all_edges_ms": {"p50": pct(all_edges, 50), "p99": pct(all_edges, 99),
                                "max": max(all_edges) if all_edges else None},
               "per_edge_ms": {"p50": pct(per_edge, 50), "p99": pct(per_edge, 99)},
               "controller_cpu_ms_per_change": round(cpu * 1000.0 / max(1, len(changes)), 3),
               "controller_cpu_us_per_change_per_watcher":
                   round(cpu * 1e6 / max(1, len(changes)) / max(1, a.edges + a.streams), 1)}
        if streams:
            sl = []
            for rev, t0 in changes:
                ts = [min((t for r, t in s.items() if r >= rev), default=None) for s in streams.seen]
                if all(t is not None for t in ts):
                    sl.append(max(ts) - t0)
            res["all_streams_ms"] = {"p50": pct(sl, 50), "p99": pct(sl, 99), "n": len(sl)}
            res["stream_errors"] = streams.errors[:3]
            res["stream_events"] = sorted(len(s) for s in streams.seen)[:3]
            streams.close()
        for k in ("all_edges_ms", "per_edge_ms", "all_streams_ms"):
            for q, v in (res.get(k) or {}).items():
                if isinstance(v, float):
                    res[k][q] = round(v, 2)
        print(json.dumps(res))
    finally:
        b.stop()


if __name__ == "__main__":
    main()
