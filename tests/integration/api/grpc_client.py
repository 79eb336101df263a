#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# grpc_client.py - drives every RPC of a running controller with Debian's python3-grpcio (a client we did
# not write), from stubs generated out of proto/ at test time.
#
# Usage: grpc_client.py --addr 127.0.0.1:PORT --admin TOKEN --read TOKEN --edge TOKEN --proto-dir DIR
#                       --work-dir DIR [--http PORT --redis-port PORT]
import argparse
import threading
import time

from common import check, gen_stubs, make_pair, summary


def main():
    ap = argparse.ArgumentParser()
    for a in ["addr", "admin", "read", "edge", "proto-dir", "work-dir"]:
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--http")
    ap.add_argument("--redis-port")
    args = ap.parse_args()
    gen_stubs(args.proto_dir, args.work_dir)
    import grpc
    from certplane.v1 import certplane_pb2 as pb
    from certplane.v1 import certplane_pb2_grpc as pbg
    from cphealth import health_pb2, health_pb2_grpc

    ch = grpc.insecure_channel(args.addr)
    grpc.channel_ready_future(ch).result(timeout=10)
    stub = pbg.CertificatesStub(ch)
    admin = [("authorization", "Bearer " + args.admin)]
    read = [("authorization", "Bearer " + args.read)]
    edge = [("authorization", "Bearer " + args.edge)]

    def code_of(fn, *a, **kw):
        try:
            fn(*a, timeout=10, **kw)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()

    # health, without a token
    h = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
    check(h.status == health_pb2.HealthCheckResponse.SERVING, "Health.Check SERVING without a token")
    c, _ = code_of(health_pb2_grpc.HealthStub(ch).Check, health_pb2.HealthCheckRequest(service="nope"))
    check(c == grpc.StatusCode.NOT_FOUND, "Health.Check of an unknown service is NOT_FOUND")

    # auth
    c, _ = code_of(stub.ListCertificates, pb.ListCertificatesRequest())
    check(c == grpc.StatusCode.UNAUTHENTICATED, "no token: UNAUTHENTICATED")
    c, _ = code_of(stub.ListCertificates, pb.ListCertificatesRequest(),
                   metadata=[("authorization", "Bearer wrong")])
    check(c == grpc.StatusCode.UNAUTHENTICATED, "unknown token: UNAUTHENTICATED")
    # The scheme is required, as over REST: a bare token is no token.
    c, d = code_of(stub.ListCertificates, pb.ListCertificatesRequest(),
                   metadata=[("authorization", args.read)])
    check(c == grpc.StatusCode.UNAUTHENTICATED and "missing bearer token" in d,
          "token without 'Bearer ': UNAUTHENTICATED, missing bearer token (%s %s)" % (c, d))
    c, _ = code_of(stub.ListCertificates, pb.ListCertificatesRequest(),
                   metadata=[("authorization", "Bearer ")])
    check(c == grpc.StatusCode.UNAUTHENTICATED, "'Bearer ' and no token: UNAUTHENTICATED")
    c, _ = code_of(stub.ListCertificates, pb.ListCertificatesRequest(),
                   metadata=[("authorization", "bearer  " + args.read)])
    check(c == grpc.StatusCode.OK, "scheme in any case, spaces after it skipped, as over REST")
    cert = pb.Certificate(name="shop", domains=["shop.example.com", "www.shop.example.com"],
                          email="ops@example.com", key_type=pb.EC_P256)
    c, _ = code_of(stub.CreateCertificate, pb.CreateCertificateRequest(certificate=cert), metadata=read)
    check(c == grpc.StatusCode.PERMISSION_DENIED, "read token cannot create: PERMISSION_DENIED")

    # create / get / list
    got = stub.CreateCertificate(pb.CreateCertificateRequest(certificate=cert), metadata=admin, timeout=10)
    check(got.name == "shop" and got.state == pb.PENDING and got.revision > 0,
          "CreateCertificate returns PENDING with a revision")
    check(list(got.domains) == ["shop.example.com", "www.shop.example.com"], "domains kept in order")
    c, _ = code_of(stub.CreateCertificate, pb.CreateCertificateRequest(certificate=cert), metadata=admin)
    check(c == grpc.StatusCode.ALREADY_EXISTS, "create twice: ALREADY_EXISTS")
    bad = pb.Certificate(name="bad", domains=["ok.example.com", "bad..example.com"], email="a@b.example")
    c, d = code_of(stub.CreateCertificate, pb.CreateCertificateRequest(certificate=bad), metadata=admin)
    check(c == grpc.StatusCode.INVALID_ARGUMENT and "domains[1]" in d,
          "invalid domain: INVALID_ARGUMENT naming domains[1] (%s)" % d)
    # Issue 16: the same field paths as over REST (docs/api.md), also when no single name is at fault.
    check(d.startswith("certificate.domains[1]: "), "invalid domain: message starts with the path (%s)" % d)
    many = pb.Certificate(name="many", domains=["n%d.example.com" % i for i in range(101)])
    c, d = code_of(stub.CreateCertificate, pb.CreateCertificateRequest(certificate=many), metadata=admin)
    check(c == grpc.StatusCode.INVALID_ARGUMENT and
          d == "certificate.domains: too many names (101 domains and IP addresses, at most 100)",
          "101 names: INVALID_ARGUMENT naming certificate.domains (%s)" % d)
    c, _ = code_of(stub.GetCertificate, pb.GetCertificateRequest(name="missing"), metadata=read)
    check(c == grpc.StatusCode.NOT_FOUND, "get missing: NOT_FOUND")
    g = stub.GetCertificate(pb.GetCertificateRequest(name="shop"), metadata=read, timeout=10)
    check(g.name == "shop" and g.private_key_pem == "", "get with read scope, no private key")
    c, _ = code_of(stub.GetCertificate, pb.GetCertificateRequest(name="shop", include_private_key=True),
                   metadata=read)
    check(c == grpc.StatusCode.PERMISSION_DENIED, "include_private_key needs admin")
    for i in range(5):
        stub.CreateCertificate(pb.CreateCertificateRequest(certificate=pb.Certificate(
            name="site-%d" % i, domains=["s%d.example.com" % i], email="ops@example.com")),
            metadata=admin, timeout=10)
    names, token, pages = [], "", 0
    while True:
        page = stub.ListCertificates(pb.ListCertificatesRequest(page_size=2, page_token=token),
                                     metadata=read, timeout=10)
        names += [x.name for x in page.certificates]
        pages += 1
        check(all(x.private_key_pem == "" for x in page.certificates), "list page has no private keys")
        token = page.next_page_token
        if not token or pages > 10:
            break
    check(names == sorted(names) and set(names) == {"shop"} | {"site-%d" % i for i in range(5)},
          "ListCertificates pages cover every certificate once, in name order (%s)" % names)
    c, _ = code_of(stub.ListCertificates, pb.ListCertificatesRequest(page_token="!!bad!!"), metadata=read)
    check(c == grpc.StatusCode.INVALID_ARGUMENT, "bad page token: INVALID_ARGUMENT")

    # renew / revoke / delete
    r = stub.RenewCertificate(pb.RenewCertificateRequest(name="site-0"), metadata=admin, timeout=10)
    check(r.name == "site-0", "RenewCertificate answers with the certificate")
    c, _ = code_of(stub.RenewCertificate, pb.RenewCertificateRequest(name="nope"), metadata=admin)
    check(c == grpc.StatusCode.NOT_FOUND, "renew missing: NOT_FOUND")
    c, _ = code_of(stub.RevokeCertificate, pb.RevokeCertificateRequest(name="site-1"), metadata=admin)
    check(c == grpc.StatusCode.FAILED_PRECONDITION, "revoke before issuance: FAILED_PRECONDITION")
    stub.DeleteCertificate(pb.DeleteCertificateRequest(name="site-4"), metadata=admin, timeout=10)
    c, _ = code_of(stub.DeleteCertificate, pb.DeleteCertificateRequest(name="site-4"), metadata=admin)
    check(c == grpc.StatusCode.NOT_FOUND, "delete twice: NOT_FOUND")

    # import
    crt, key = make_pair(args.work_dir, "imp", "imported.example")
    imp = stub.ImportCertificate(pb.ImportCertificateRequest(name="imported", fullchain_pem=crt,
                                                             private_key_pem=key),
                                 metadata=admin, timeout=10)
    check(imp.state == pb.VALID and sorted(imp.domains) == ["imported.example", "www.imported.example"],
          "ImportCertificate: VALID with the SANs of the leaf")
    crt2, key2 = make_pair(args.work_dir, "other", "other.example")
    c, d = code_of(stub.ImportCertificate, pb.ImportCertificateRequest(
        name="mismatch", fullchain_pem=crt, private_key_pem=key2), metadata=admin)
    check(c == grpc.StatusCode.INVALID_ARGUMENT, "import with another key: INVALID_ARGUMENT (%s)" % d)

    # account key rollover: admin only; the key type is checked before any CA is asked
    c, _ = code_of(stub.RolloverAccountKey, pb.RolloverAccountKeyRequest(), metadata=read)
    check(c == grpc.StatusCode.PERMISSION_DENIED, "RolloverAccountKey with a read token: PERMISSION_DENIED")
    c, d = code_of(stub.RolloverAccountKey, pb.RolloverAccountKeyRequest(key_type=pb.RSA_4096),
                   metadata=admin)
    check(c == grpc.StatusCode.INVALID_ARGUMENT and "key_type" in d,
          "RolloverAccountKey with RSA_4096: INVALID_ARGUMENT (%s %s)" % (c, d))

    # edges
    none = stub.ListEdges(pb.ListEdgesRequest(), metadata=read, timeout=10)
    check(len(none.edges) == 0, "ListEdges with no edge reported yet is empty")
    rep = stub.ReportEdgeStatus(pb.ReportEdgeStatusRequest(edge_id="edge-a", applied_revision=3,
                                                           certificates=2, version="test"),
                                metadata=edge, timeout=10)
    check(rep.ttl_seconds > 0, "ReportEdgeStatus returns a TTL")
    edges = stub.ListEdges(pb.ListEdgesRequest(), metadata=read, timeout=10)
    check([e.edge_id for e in edges.edges] == ["edge-a"] and edges.edges[0].applied_revision == 3,
          "ListEdges shows the reporting edge")

    # Watch: snapshot, live event, reconnect from a revision
    events = []
    stream = stub.Watch(pb.WatchRequest(from_revision=0, edge_id="py"), metadata=edge, timeout=30)
    done = threading.Event()

    def reader():
        try:
            for ev in stream:
                events.append(ev)
                if ev.type == pb.UPSERT and ev.name == "live-1":
                    break
        except grpc.RpcError:
            pass
        done.set()

    t = threading.Thread(target=reader)
    t.start()
    deadline = time.time() + 10
    while time.time() < deadline and not any(e.type == pb.SNAPSHOT_END for e in events):
        time.sleep(0.05)
    snap = [e for e in events if e.type == pb.UPSERT]
    end = [e for e in events if e.type == pb.SNAPSHOT_END]
    check(len(end) == 1 and {e.name for e in snap} >= {"shop", "imported"},
          "Watch(0): snapshot of every certificate, then SNAPSHOT_END")
    check(events[0].type == pb.SNAPSHOT_BEGIN and events[0].revision == end[0].revision
          and sum(e.type == pb.SNAPSHOT_BEGIN for e in events) == 1,
          "Watch(0): SNAPSHOT_BEGIN first, at the snapshot's revision")
    check(any(e.certificate.private_key_pem for e in snap if e.name == "imported"),
          "edge scope receives private keys")
    stub.CreateCertificate(pb.CreateCertificateRequest(certificate=pb.Certificate(
        name="live-1", domains=["live1.example.com"], email="ops@example.com")), metadata=admin, timeout=10)
    done.wait(10)
    stream.cancel()
    live = [e for e in events if e.name == "live-1"]
    check(len(live) >= 1, "Watch delivers a live UPSERT after the snapshot")
    last = max(e.revision for e in events)
    stub.CreateCertificate(pb.CreateCertificateRequest(certificate=pb.Certificate(
        name="live-2", domains=["live2.example.com"], email="ops@example.com")), metadata=admin, timeout=10)
    again = []
    s2 = stub.Watch(pb.WatchRequest(from_revision=last), metadata=edge, timeout=3)
    try:
        for ev in s2:
            again.append(ev)
            if ev.name == "live-2":
                break
    except grpc.RpcError:
        pass
    s2.cancel()
    check(any(e.name == "live-2" for e in again) and all(e.revision > last for e in again)
          and not any(e.type in (pb.SNAPSHOT_BEGIN, pb.SNAPSHOT_END) for e in again),
          "Watch(from_revision) resumes after the revision without a snapshot")
    rs = stub.Watch(pb.WatchRequest(from_revision=0), metadata=read, timeout=5)
    it = iter(rs)
    begin, first = next(it), next(it)
    rs.cancel()
    check(begin.type == pb.SNAPSHOT_BEGIN and first.type == pb.UPSERT
          and first.certificate.private_key_pem == "",
          "read scope watches without private keys")

    # transport-level errors
    c, _ = code_of(ch.unary_unary("/certplane.v1.Certificates/Nope"), b"", metadata=admin)
    check(c == grpc.StatusCode.UNIMPLEMENTED, "unknown method: UNIMPLEMENTED")
    c, _ = code_of(ch.unary_unary("/certplane.v1.Certificates/GetCertificate"), b"\xff\xff\xff",
                   metadata=admin)
    check(c == grpc.StatusCode.INVALID_ARGUMENT, "undecodable request bytes: INVALID_ARGUMENT")
    try:
        for _ in stub.Watch(pb.WatchRequest(from_revision=0), metadata=edge, timeout=1):
            pass
        c = grpc.StatusCode.OK
    except grpc.RpcError as e:
        c = e.code()
    check(c == grpc.StatusCode.DEADLINE_EXCEEDED, "Watch honours the client deadline")

    return summary("grpc_client")


if __name__ == "__main__":
    raise SystemExit(main())
