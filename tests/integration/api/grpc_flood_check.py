#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# grpc_flood_check.py - the HTTP/2 rapid-reset flood (CVE-2023-44487) against a real controller, with
# a python3-grpcio client calling GetCertificate all along and the controller's RSS sampled from
# /proc/PID/status. Checks the goals of issue 15: the flooding connection gets GOAWAY and is closed;
# 200,000 HEADERS+RST_STREAM pairs (the attacker reconnecting each time it is thrown out) grow the RSS
# by less than 64 MiB, it comes back within 16 MiB of the baseline, and GetCertificate p99 < 50 ms.
#
# Usage: grpc_flood_check.py --addr 127.0.0.1:P --pid PID --admin TOKEN --proto-dir DIR
#                            --work-dir DIR [--ca CA.crt] [--pairs N] [--sanitized]
# Prints one line "figures: {json}" for docs/operations.md.
import argparse
import json
import os
import subprocess
import sys
import threading
import time

from common import check, gen_stubs, make_pair, summary

MIB = 1024 * 1024
FLOOD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grpc_flood.py")


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def flood(host, port, pairs, tls, reconnect):
    cmd = ["/usr/bin/python3", FLOOD, host, str(port), str(pairs)] + (["--tls"] if tls else [])
    if reconnect:
        cmd.append("--reconnect")
    out = subprocess.run(cmd, capture_output=True, timeout=120, text=True)
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"error": out.stderr[-500:]}


def main():
    ap = argparse.ArgumentParser()
    for a in ["addr", "pid", "admin", "proto-dir", "work-dir"]:
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--ca")
    ap.add_argument("--pairs", type=int, default=200000)
    ap.add_argument("--sanitized", action="store_true",
                    help="an ASan build: its quarantine keeps freed memory and it runs slower, so "
                         "only GOAWAY, the pairs and failures are checked")
    args = ap.parse_args()
    pid = int(args.pid)
    host, port = args.addr.rsplit(":", 1)
    gen_stubs(args.proto_dir, args.work_dir)
    import grpc
    from certplane.v1 import certplane_pb2 as pb
    from certplane.v1 import certplane_pb2_grpc as pbg

    if args.ca:
        with open(args.ca, "rb") as f:
            ch = grpc.secure_channel(args.addr, grpc.ssl_channel_credentials(root_certificates=f.read()))
    else:
        ch = grpc.insecure_channel(args.addr)
    stub = pbg.CertificatesStub(ch)
    md = [("authorization", "Bearer " + args.admin)]
    name = "flood-%d" % os.getpid()
    crt, key = make_pair(args.work_dir, name, name + ".test")
    stub.ImportCertificate(pb.ImportCertificateRequest(name=name, fullchain_pem=crt,
                                                       private_key_pem=key), metadata=md, timeout=10)
    req = pb.GetCertificateRequest(name=name)
    for _ in range(300):  # warm up: the client's own connection and caches belong to the baseline
        stub.GetCertificate(req, metadata=md, timeout=5)
    time.sleep(0.5)
    base, cpu0 = rss(pid), cpu_s(pid)

    # (1) One connection: the server must answer with GOAWAY ENHANCE_YOUR_CALM (11) and close it.
    one = flood(host, port, args.pairs, bool(args.ca), False)
    check(one.get("goaway") == 11 and one.get("closed_by_server"),
          "one flooding connection gets GOAWAY(ENHANCE_YOUR_CALM) and is closed: %s" % one)

    # (2) 200,000 pairs in all, reconnecting when thrown out, with a client and a sampler running.
    lat, errors, peak, stop = [], [], [base], threading.Event()

    def client():
        while not stop.is_set():
            t = time.monotonic()
            try:
                stub.GetCertificate(req, metadata=md, timeout=5)
                lat.append(time.monotonic() - t)
            except grpc.RpcError as e:
                errors.append(str(e.code()))

    def sampler():
        while not stop.is_set():
            peak[0] = max(peak[0], rss(pid))
            time.sleep(0.05)

    threads = [threading.Thread(target=client), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    many = flood(host, port, args.pairs, bool(args.ca), True)
    attack_s = time.monotonic() - t0
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    cpu_attack = cpu_s(pid) - cpu0
    after = rss(pid)
    deadline = time.monotonic() + 10
    while after - base >= 16 * MIB and time.monotonic() < deadline:
        time.sleep(0.5)
        after = rss(pid)
    cpu1 = cpu_s(pid)
    time.sleep(2)
    cpu_idle = cpu_s(pid) - cpu1
    lat.sort()
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else float("inf")
    fig = {"tls": bool(args.ca), "flood": many, "attack_s": round(attack_s, 2),
           "rss_base_mib": round(base / MIB, 1), "rss_peak_mib": round(peak[0] / MIB, 1),
           "rss_after_mib": round(after / MIB, 1), "calls": len(lat), "errors": len(errors),
           "p50_ms": round(lat[len(lat) // 2] * 1000, 2) if lat else None, "p99_ms": round(p99, 2),
           "cpu_during_s": round(cpu_attack, 2), "cpu_2s_after_s": round(cpu_idle, 2)}
    print("figures: " + json.dumps(fig))
    sys.stdout.flush()
    check(many.get("pairs", 0) >= args.pairs, "the flood sent %d pairs" % many.get("pairs", 0))
    if not args.sanitized:
        check(peak[0] - base < 64 * MIB, "RSS grew by %.1f MiB (< 64)" % ((peak[0] - base) / MIB))
        check(after - base < 16 * MIB,
              "RSS back within %.1f MiB of the baseline (< 16)" % ((after - base) / MIB))
        check(len(lat) >= 50 and p99 < 50,
              "GetCertificate p99 %.2f ms over %d calls (< 50)" % (p99, len(lat)))
    check(not errors, "no GetCertificate failed (%s)" % errors[:3])
    ch.close()
    return summary("grpc_flood_check")


if __name__ == "__main__":
    sys.exit(main())
