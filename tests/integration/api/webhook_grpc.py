#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# webhook_grpc.py - the webhook RPCs over gRPC with Debian's python3-grpcio and stubs generated from
# proto/ (issue 16): create (the secret once), list (no secrets), delete, dead letters, bad input,
# scopes. Usage: webhook_grpc.py --addr 127.0.0.1:PORT --admin TOKEN --edge TOKEN --proto-dir DIR
#                                --work-dir DIR
import argparse

from common import check, gen_stubs, summary


def main():
    ap = argparse.ArgumentParser()
    for a in ["addr", "admin", "edge", "proto-dir", "work-dir"]:
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    gen_stubs(args.proto_dir, args.work_dir)
    import grpc
    from certplane.v1 import certplane_pb2 as pb
    from certplane.v1 import certplane_pb2_grpc as pbg

    ch = grpc.insecure_channel(args.addr)
    grpc.channel_ready_future(ch).result(timeout=10)
    stub = pbg.CertificatesStub(ch)
    admin = [("authorization", "Bearer " + args.admin)]
    edge = [("authorization", "Bearer " + args.edge)]

    def code_of(fn, req, md):
        try:
            fn(req, metadata=md, timeout=10)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()

    w = stub.CreateWebhook(pb.CreateWebhookRequest(url="https://hooks.example.com/x",
                                                   events=["issued", "edge_lagging"],
                                                   name_filter="shop*"), metadata=admin, timeout=10)
    check(w.id.startswith("wh_") and len(w.id) == 19, "CreateWebhook gives an ID")
    check(w.secret.startswith("whsec_") and len(w.secret) >= 6 + 44, "CreateWebhook gives the secret")
    check(list(w.events) == ["issued", "edge_lagging"] and w.name_filter == "shop*", "as asked")
    ls = stub.ListWebhooks(pb.ListWebhooksRequest(), metadata=admin, timeout=10)
    check([x.id for x in ls.webhooks] == [w.id] and ls.webhooks[0].secret == "",
          "ListWebhooks lists it without the secret")
    c, d = code_of(stub.CreateWebhook, pb.CreateWebhookRequest(url="gopher://x", events=["issued"]),
                   admin)
    check(c == grpc.StatusCode.INVALID_ARGUMENT and d.startswith("url:"), "bad url: " + d)
    c, d = code_of(stub.CreateWebhook, pb.CreateWebhookRequest(url="http://x.test/", events=["nope"]),
                   admin)
    check(c == grpc.StatusCode.INVALID_ARGUMENT and d.startswith("events[0]:"), "bad event: " + d)
    c, _ = code_of(stub.ListWebhooks, pb.ListWebhooksRequest(), edge)
    check(c == grpc.StatusCode.PERMISSION_DENIED, "ListWebhooks needs the admin scope")
    c, _ = code_of(stub.CreateWebhook, pb.CreateWebhookRequest(url="http://x.test/", events=["issued"]),
                   edge)
    check(c == grpc.StatusCode.PERMISSION_DENIED, "CreateWebhook needs the admin scope")
    dl = stub.ListWebhookDeadLetters(pb.ListWebhookDeadLettersRequest(), metadata=admin, timeout=10)
    check(len(dl.dead_letters) == 0, "no dead letters yet")
    stub.DeleteWebhook(pb.DeleteWebhookRequest(id=w.id), metadata=admin, timeout=10)
    c, _ = code_of(stub.DeleteWebhook, pb.DeleteWebhookRequest(id=w.id), admin)
    check(c == grpc.StatusCode.NOT_FOUND, "DeleteWebhook twice: NOT_FOUND")
    ls = stub.ListWebhooks(pb.ListWebhooksRequest(), metadata=admin, timeout=10)
    check(len(ls.webhooks) == 0, "deleted")
    return summary("webhook_grpc")


if __name__ == "__main__":
    raise SystemExit(main())
