#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# rest_malformed.py - every REST route through the curl command (success and 400/401/403/404/409), then a
# table of malformed requests over both transports: each must get a 4xx or gRPC error with a message,
# leave the controller up, and leave Redis exactly as it was.
#
# Usage: rest_malformed.py --addr 127.0.0.1:GRPC --http PORT --admin T --read T --edge T --redis-port P
#                          --proto-dir DIR --work-dir DIR
import argparse
import json

from common import check, curl, gen_stubs, make_pair, redis_digest, summary


def rest_routes(base, a, r, e, work):
    code, body = curl(base, "POST", "/v1/certificates", a,
                      json.dumps({"name": "web", "domains": ["web.example.com"], "email": "ops@example.com"}))
    check(code == 200 and json.loads(body)["state"] == "PENDING", "POST /v1/certificates: 200 PENDING")
    code, body = curl(base, "POST", "/v1/certificates", a,
                      json.dumps({"name": "web", "domains": ["web.example.com"], "email": "ops@example.com"}))
    check(code == 409 and json.loads(body)["code"] == 6, "POST twice: 409 with code 6")
    code, body = curl(base, "POST", "/v1/certificates", a,
                      json.dumps({"name": "bad", "domains": ["ok.example.com", "-x.example.com"],
                                  "email": "ops@example.com"}))
    msg = json.loads(body).get("message", "")
    check(code == 400 and "domains[1]" in msg, "POST invalid domain: 400 naming the field (%s)" % msg)
    code, _ = curl(base, "GET", "/v1/certificates/web", None)
    check(code == 401, "GET without a token: 401")
    code, _ = curl(base, "GET", "/v1/certificates/web", "nope")
    check(code == 401, "GET with an unknown token: 401")
    code, body = curl(base, "GET", "/v1/certificates/web", r)
    check(code == 200 and json.loads(body)["name"] == "web", "GET /v1/certificates/{name}: 200")
    code, _ = curl(base, "GET", "/v1/certificates/web?includePrivateKey=true", r)
    check(code == 403, "GET includePrivateKey with read scope: 403")
    code, _ = curl(base, "GET", "/v1/certificates/nothere", r)
    check(code == 404, "GET missing: 404")
    code, body = curl(base, "GET", "/v1/certificates?pageSize=10", r)
    check(code == 200 and [c["name"] for c in json.loads(body)["certificates"]] == ["web"],
          "GET /v1/certificates: 200 with the list")
    code, _ = curl(base, "POST", "/v1/certificates", r,
                   json.dumps({"name": "x", "domains": ["x.example.com"], "email": "ops@example.com"}))
    check(code == 403, "POST with read scope: 403")
    code, body = curl(base, "POST", "/v1/certificates/web:renew", a, "{}")
    check(code == 200, "POST /v1/certificates/{name}:renew: 200")
    code, body = curl(base, "POST", "/v1/certificates/web:revoke", a, json.dumps({"reason": 4}))
    check(code == 400 and json.loads(body)["code"] == 9,
          "POST :revoke before issuance: 400 FAILED_PRECONDITION")
    crt, key = make_pair(work, "rest", "rest.example")
    code, body = curl(base, "POST", "/v1/certificates:import", a,
                      json.dumps({"name": "imported", "fullchainPem": crt, "privateKeyPem": key}))
    check(code == 200 and json.loads(body)["state"] == "VALID", "POST /v1/certificates:import: 200 VALID")
    first = json.loads(body)
    code, body = curl(base, "POST", "/v1/certificates:import", a,
                      json.dumps({"name": "imported", "fullchainPem": crt, "privateKeyPem": key}))
    check(code == 409 and json.loads(body)["code"] == 6, "import of an existing name: 409 ALREADY_EXISTS")
    code, body = curl(base, "POST", "/v1/certificates:import", a,
                      json.dumps({"name": "imported", "fullchainPem": crt, "privateKeyPem": key,
                                  "overwrite": True}))
    check(code == 200 and int(json.loads(body)["revision"]) > int(first["revision"])
          and json.loads(body)["createTime"] == first["createTime"],
          "import with overwrite: 200, a new revision, createTime kept")
    code, body = curl(base, "POST", "/v1/edges:report", e,
                      json.dumps({"edgeId": "edge-1", "appliedRevision": "5", "certificates": 1}))
    check(code == 200 and json.loads(body)["ttlSeconds"] > 0, "POST /v1/edges:report: 200 with a TTL")
    code, body = curl(base, "GET", "/v1/edges", r)
    check(code == 200 and json.loads(body)["edges"][0]["edgeId"] == "edge-1", "GET /v1/edges: 200")
    code, body = curl(base, "GET", "/v1/watch?fromRevision=0", e, extra=["--max-time", "2"])
    lines = [json.loads(l) for l in body.splitlines() if l.strip().startswith("{")]
    check(len(lines) > 0 and lines[0].get("type") == "SNAPSHOT_BEGIN" and
          any(l.get("type") == "SNAPSHOT_END" for l in lines) and
          any(l.get("name") == "imported" for l in lines), "GET /v1/watch: NDJSON snapshot")
    code, _ = curl(base, "DELETE", "/v1/certificates/web", a)
    check(code == 200, "DELETE /v1/certificates/{name}: 200")
    code, _ = curl(base, "DELETE", "/v1/certificates/web", a)
    check(code == 404, "DELETE again: 404")
    for path, want in [("/healthz", 200), ("/readyz", 200), ("/metrics", 200),
                       ("/.well-known/acme-challenge/unknowntoken", 404)]:
        code, _ = curl(base, "GET", path)
        check(code == want, "GET %s: %d" % (path, want))


def rest_malformed(a, r, e, crt, key, other_key):
    """(method, path, token, body, content type, expected status) of requests that must all fail."""
    c = lambda **kw: json.dumps(dict({"name": "m", "domains": ["m.example.com"], "email": "o@example.com"}, **kw))
    big = json.dumps({"name": "m", "domains": ["m.example.com"], "email": "o@example.com",
                      "profile": "x" * (1024 * 1024)})
    P, G = "POST", "GET"
    return [
        (P, "/v1/certificates", a, "{", "application/json", 400),
        (P, "/v1/certificates", a, "[]", "application/json", 400),
        (P, "/v1/certificates", a, "null", "application/json", 400),
        (P, "/v1/certificates", a, "", "application/json", 400),
        (P, "/v1/certificates", a, '{"name":5}', "application/json", 400),
        (P, "/v1/certificates", a, c(domains="m.example.com"), "application/json", 400),
        (P, "/v1/certificates", a, c(domains=[1]), "application/json", 400),
        (P, "/v1/certificates", a, c(bogus=1), "application/json", 400),
        (P, "/v1/certificates", a, c(notAfter={"seconds": 1}), "application/json", 400),
        (P, "/v1/certificates", a, big, "application/json", 413),
        (P, "/v1/certificates", a, c(domains=["a..b.example"]), "application/json", 400),
        (P, "/v1/certificates", a, c(domains=["a.*.example.com"]), "application/json", 400),
        (P, "/v1/certificates", a, c(domains=["d%d.example.com" % i for i in range(101)]), "application/json", 400),
        (P, "/v1/certificates", a, c(domains=["d.example.com", "D.example.com"]), "application/json", 400),
        (P, "/v1/certificates", a, c(name="UPPER"), "application/json", 400),
        (P, "/v1/certificates", a, c(name="../etc"), "application/json", 400),
        (P, "/v1/certificates", a, c(name=""), "application/json", 400),
        (P, "/v1/certificates", a, c(state="VALID"), "application/json", 400),
        (P, "/v1/certificates", a, c(revision="7"), "application/json", 400),
        (P, "/v1/certificates", a, c(fullchainPem=crt), "application/json", 400),
        (P, "/v1/certificates", a, c(keyType="RSA_1024"), "application/json", 400),
        (P, "/v1/certificates", a, c(keyType=99), "application/json", 400),
        (P, "/v1/certificates", a, c(challengeType="TLS_SNI_01"), "application/json", 400),
        (P, "/v1/certificates", a, c(email="not-an-email"), "application/json", 400),
        (P, "/v1/certificates", a, c(email="a@b.example\r\nX: y"), "application/json", 400),
        (P, "/v1/certificates", a, c(provider="ftp://ca.example/dir"), "application/json", 400),
        (P, "/v1/certificates", a, c(ipAddresses=["999.1.1.1"]), "application/json", 400),
        (P, "/v1/certificates", a, c(ipAddresses=["10.0.0.1/8"]), "application/json", 400),
        (P, "/v1/certificates", a, c(domains=[], ipAddresses=[]), "application/json", 400),
        (P, "/v1/certificates", a, c(domains=["*.example.com"], challengeType="HTTP_01"), "application/json", 400),
        (P, "/v1/certificates", a, '{"name":"m","name":"n"}', "application/json", 400),
        (P, "/v1/certificates", a, b'{"name":"m\xff"}', "application/json", 400),
        (P, "/v1/certificates", a, "[" * 100 + "]" * 100, "application/json", 400),
        (P, "/v1/certificates", a, c(failureCount="99999999999"), "application/json", 400),
        (P, "/v1/certificates", a, c(), "text/plain", 415),
        (P, "/v1/certificates", a, c(), None, 415),
        (P, "/v1/certificates", None, c(), "application/json", 401),
        (P, "/v1/certificates", "wrong-token", c(), "application/json", 401),
        (P, "/v1/certificates", r, c(), "application/json", 403),
        (P, "/v1/certificates", e, c(), "application/json", 403),
        (P, "/v1/certificates", a, c(name="imported", domains=["imported.example"]), "application/json", 409),
        (G, "/v1/certificates/..%2Fetc", r, None, None, 400),
        (G, "/v1/certificates/%2e%2e", r, None, None, 400),
        (G, "/v1/certificates/a%00b", r, None, None, 400),
        (G, "/v1/certificates/%zz", r, None, None, 400),
        (G, "/v1/certificates?pageSize=abc", r, None, None, 400),
        (G, "/v1/certificates?pageSize=-1", r, None, None, 400),
        (G, "/v1/certificates?pageSize=5000", r, None, None, 400),
        (G, "/v1/certificates?pageToken=!!!", r, None, None, 400),
        (G, "/v1/certificates?state=BOGUS", r, None, None, 400),
        (G, "/v1/certificates?color=red", r, None, None, 400),
        (G, "/v1/certificates?pageSize=1&pageSize=2", r, None, None, 400),
        (G, "/v1/certificates/imported?includePrivateKey=maybe", a, None, None, 400),
        (P, "/v1/certificates/imported:explode", a, "{}", "application/json", 404),
        ("PUT", "/v1/certificates", a, c(), "application/json", 405),
        ("DELETE", "/v1/certificates", a, None, None, 405),
        ("PATCH", "/v1/certificates/imported", a, "{}", "application/json", 405),
        (P, "/v1/certificates/nothere:renew", a, "{}", "application/json", 404),
        (P, "/v1/certificates/imported:revoke", a, '{"reason":7}', "application/json", 400),
        (P, "/v1/certificates/imported:revoke", a, '{"reason":"abc"}', "application/json", 400),
        (P, "/v1/certificates/imported:revoke", r, '{"reason":1}', "application/json", 403),
        (P, "/v1/certificates:import", a, json.dumps({"name": "i2", "fullchainPem": "garbage",
                                                      "privateKeyPem": key}), "application/json", 400),
        (P, "/v1/certificates:import", a, json.dumps({"name": "i2", "fullchainPem": crt,
                                                      "privateKeyPem": other_key}), "application/json", 400),
        (P, "/v1/certificates:import", a, json.dumps({"name": "i2", "fullchainPem": crt}), "application/json", 400),
        (P, "/v1/certificates:import", a, json.dumps({"name": "imported", "fullchainPem": crt,
                                                      "privateKeyPem": key}), "application/json", 409),
        (P, "/v1/edges:report", e, json.dumps({"edgeId": ""}), "application/json", 400),
        (P, "/v1/edges:report", e, json.dumps({"edgeId": "has space"}), "application/json", 400),
        (P, "/v1/edges:report", r, json.dumps({"edgeId": "e1"}), "application/json", 403),
        (G, "/v1/watch?fromRevision=abc", e, None, None, 400),
        (G, "/v1/watch?fromRevision=-5", e, None, None, 400),
        (G, "/v1/nothing", a, None, None, 404),
        (G, "/v1/certificates/imported", a, "{}", "application/json", 400),
    ]


def grpc_malformed(pb, stub, ch, grpc, a, r):
    md = lambda t: [("authorization", "Bearer " + t)]
    C = pb.Certificate
    return [
        (stub.CreateCertificate, pb.CreateCertificateRequest(), md(a), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.CreateCertificate, pb.CreateCertificateRequest(certificate=C(name="g", email="o@example.com")),
         md(a), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.CreateCertificate, pb.CreateCertificateRequest(certificate=C(
            name="g", domains=["g%d.example.com" % i for i in range(101)], email="o@example.com")),
         md(a), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.CreateCertificate, pb.CreateCertificateRequest(certificate=C(
            name="g", domains=["g.example.com"], email="o@example.com", state=pb.VALID)),
         md(a), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.CreateCertificate, pb.CreateCertificateRequest(certificate=C(
            name="g", domains=["g.example.com"], email="o@example.com", key_type=42)),
         md(a), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.CreateCertificate, pb.CreateCertificateRequest(certificate=C(
            name="g", domains=["g.example.com"], email="o@example.com")), md(r), grpc.StatusCode.PERMISSION_DENIED),
        (stub.CreateCertificate, pb.CreateCertificateRequest(certificate=C(
            name="g", domains=["g.example.com"], email="o@example.com")), [], grpc.StatusCode.UNAUTHENTICATED),
        (stub.CreateCertificate, pb.CreateCertificateRequest(certificate=C(
            name="g", domains=["g.example.com"], email="o@example.com", profile="p" * (2 << 20))),
         md(a), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (stub.GetCertificate, pb.GetCertificateRequest(name="../../etc/passwd"), md(r),
         grpc.StatusCode.INVALID_ARGUMENT),
        (stub.GetCertificate, pb.GetCertificateRequest(name=""), md(r), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.ListCertificates, pb.ListCertificatesRequest(page_size=-1), md(r), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.ListCertificates, pb.ListCertificatesRequest(page_token="zz!"), md(r), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.DeleteCertificate, pb.DeleteCertificateRequest(name="nothere"), md(a), grpc.StatusCode.NOT_FOUND),
        (stub.DeleteCertificate, pb.DeleteCertificateRequest(name="imported"), md(r), grpc.StatusCode.PERMISSION_DENIED),
        (stub.RevokeCertificate, pb.RevokeCertificateRequest(name="imported", reason=99), md(a),
         grpc.StatusCode.INVALID_ARGUMENT),
        (stub.ImportCertificate, pb.ImportCertificateRequest(name="i3"), md(a), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.ReportEdgeStatus, pb.ReportEdgeStatusRequest(edge_id="e1"), md(r), grpc.StatusCode.PERMISSION_DENIED),
        (ch.unary_unary("/certplane.v1.Certificates/GetCertificate"), b"\x0a\xff\xff\xff\xff", md(r),
         grpc.StatusCode.INVALID_ARGUMENT),
        (ch.unary_unary("/certplane.v1.Certificates/Bogus"), b"", md(a), grpc.StatusCode.UNIMPLEMENTED),
    ]


def main():
    ap = argparse.ArgumentParser()
    for x in ["addr", "http", "admin", "read", "edge", "redis-port", "proto-dir", "work-dir"]:
        ap.add_argument("--" + x, required=True)
    args = ap.parse_args()
    base = "http://127.0.0.1:" + args.http
    a, r, e = args.admin, args.read, args.edge
    rest_routes(base, a, r, e, args.work_dir)

    crt, key = make_pair(args.work_dir, "imp2", "imported.example")
    _, other_key = make_pair(args.work_dir, "other", "other.example")
    before = redis_digest(args.redis_port)
    table = rest_malformed(a, r, e, crt, key, other_key)
    for method, path, token, body, ctype, want in table:
        code, text = curl(base, method, path, token, body, ctype)
        try:
            msg = json.loads(text).get("message", "") if text.startswith("{") else text
        except ValueError:
            msg = text
        ok = code == want and msg != ""
        check(ok, "REST %s %s -> %d (%s)" % (method, path[:60], code, str(msg)[:90]))
    gen_stubs(args.proto_dir, args.work_dir)
    import grpc
    from certplane.v1 import certplane_pb2 as pb
    from certplane.v1 import certplane_pb2_grpc as pbg
    ch = grpc.insecure_channel(args.addr)
    stub = pbg.CertificatesStub(ch)
    rows = grpc_malformed(pb, stub, ch, grpc, a, r)
    for fn, req, md, want in rows:
        try:
            fn(req, metadata=md, timeout=10)
            got, det = grpc.StatusCode.OK, ""
        except grpc.RpcError as ex:
            got, det = ex.code(), ex.details() or ""
        check(got == want and det != "", "gRPC %s -> %s (%s)" % (want.name, got.name, det[:90]))
    code, _ = curl(base, "GET", "/healthz")
    check(code == 200, "the controller is still up after %d malformed requests" % (len(table) + len(rows)))
    check(len(table) + len(rows) >= 60, "at least 60 malformed requests (%d)" % (len(table) + len(rows)))
    after = redis_digest(args.redis_port)
    check(before == after, "Redis is byte-for-byte unchanged by the malformed requests")
    return summary("rest_malformed")


if __name__ == "__main__":
    raise SystemExit(main())
