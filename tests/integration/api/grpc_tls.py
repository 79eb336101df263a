#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# grpc_tls.py - python3-grpcio against a controller serving gRPC over TLS (--grpc-tls-cert/-key) and one
# that also requires client certificates (--grpc-client-ca).
#
# Usage: grpc_tls.py --tls-addr 127.0.0.1:P --mtls-addr 127.0.0.1:Q --certs DIR --admin TOKEN
#                    --proto-dir DIR --work-dir DIR
# DIR holds (PEM): ca.crt (signed the servers' certificate: SAN IP:127.0.0.1, DNS:controller.test),
# other-ca.crt, client.crt/.key (signed by the client CA) and other-client.crt/.key (by other-ca).
import argparse
import os

from common import check, gen_stubs, make_pair, summary


def main():
    ap = argparse.ArgumentParser()
    for a in ["tls-addr", "mtls-addr", "certs", "admin", "proto-dir", "work-dir"]:
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    gen_stubs(args.proto_dir, args.work_dir)
    import grpc
    from certplane.v1 import certplane_pb2 as pb
    from certplane.v1 import certplane_pb2_grpc as pbg
    from cphealth import health_pb2, health_pb2_grpc

    def pem(name):
        with open(os.path.join(args.certs, name), "rb") as f:
            return f.read()

    ca, other_ca = pem("ca.crt"), pem("other-ca.crt")
    admin = [("authorization", "Bearer " + args.admin)]

    def channel(addr, root=None, name="controller.test", key=None, chain=None):
        if root is None:
            return grpc.insecure_channel(addr)
        creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key,
                                             certificate_chain=chain)
        opts = [("grpc.ssl_target_name_override", name)] if name else []
        return grpc.secure_channel(addr, creds, options=opts)

    def health(ch):
        """(code, details) of Health.Check on ch."""
        try:
            r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
            return (grpc.StatusCode.OK if r.status == health_pb2.HealthCheckResponse.SERVING
                    else grpc.StatusCode.UNKNOWN), ""
        except grpc.RpcError as e:
            return e.code(), e.details()

    def rejected(what, ch):
        c, d = health(ch)
        check(c == grpc.StatusCode.UNAVAILABLE, "%s: UNAVAILABLE (%s %s)" % (what, c, d))
        ch.close()

    # (1) TLS without client certificates.
    ch = channel(args.tls_addr, ca)
    c, d = health(ch)
    check(c == grpc.StatusCode.OK, "TLS, name override controller.test: Health.Check SERVING (%s %s)" % (c, d))
    stub = pbg.CertificatesStub(ch)
    crt, key = make_pair(args.work_dir, "tlsimport", "tls-import.test")
    imp = stub.ImportCertificate(pb.ImportCertificateRequest(name="tls-import", fullchain_pem=crt,
                                                             private_key_pem=key),
                                 metadata=admin, timeout=10)
    check(imp.state == pb.VALID, "TLS: ImportCertificate VALID")
    g = stub.GetCertificate(pb.GetCertificateRequest(name="tls-import", include_private_key=True),
                            metadata=admin, timeout=10)
    check(g.name == "tls-import" and "BEGIN CERTIFICATE" in g.fullchain_pem and "PRIVATE KEY" in g.private_key_pem,
          "TLS: GetCertificate returns the chain and the key")
    lst = stub.ListCertificates(pb.ListCertificatesRequest(), metadata=admin, timeout=10)
    check("tls-import" in [x.name for x in lst.certificates], "TLS: ListCertificates lists it")
    try:
        stub.ListCertificates(pb.ListCertificatesRequest(), timeout=10)
        c = grpc.StatusCode.OK
    except grpc.RpcError as e:
        c = e.code()
    check(c == grpc.StatusCode.UNAUTHENTICATED, "TLS: tokens still required (%s)" % c)
    ch.close()
    ch = channel(args.tls_addr, ca, name=None)  # the IP SAN matches the target 127.0.0.1
    c, d = health(ch)
    check(c == grpc.StatusCode.OK, "TLS to 127.0.0.1 without override (IP SAN) works (%s %s)" % (c, d))
    ch.close()
    rejected("plaintext client to the TLS port", channel(args.tls_addr))
    rejected("client trusting another CA", channel(args.tls_addr, other_ca))
    rejected("server name not in the certificate", channel(args.tls_addr, ca, name="wrong.test"))

    # (2) mutual TLS.
    rejected("mTLS: client without a certificate", channel(args.mtls_addr, ca))
    rejected("mTLS: client certificate from another CA",
             channel(args.mtls_addr, ca, key=pem("other-client.key"), chain=pem("other-client.crt")))
    rejected("mTLS: plaintext client", channel(args.mtls_addr))
    ch = channel(args.mtls_addr, ca, key=pem("client.key"), chain=pem("client.crt"))
    c, d = health(ch)
    check(c == grpc.StatusCode.OK, "mTLS: client certificate from the client CA: SERVING (%s %s)" % (c, d))
    stub = pbg.CertificatesStub(ch)
    g = stub.GetCertificate(pb.GetCertificateRequest(name="tls-import"), metadata=admin, timeout=10)
    check(g.name == "tls-import" and g.private_key_pem == "", "mTLS: GetCertificate")
    lst = stub.ListCertificates(pb.ListCertificatesRequest(), metadata=admin, timeout=10)
    check("tls-import" in [x.name for x in lst.certificates], "mTLS: ListCertificates")
    ch.close()
    return summary("grpc_tls.py")


if __name__ == "__main__":
    raise SystemExit(main())
