#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""acme_front.py - a test ACME front: an HTTPS reverse proxy in front of a real Pebble that adds what
Pebble 2.4 lacks (RFC 9773 renewal information, meta.profiles, rate limits, outages).

Pebble stays the CA: it validates, issues and checks every JWS (badNonce rejection stays on). The front
forwards each request unchanged - same method, path, body and Host header - so Pebble's check of the JWS
`url` ("https://" + Host + path) still holds and every URL Pebble returns (built from Host) points back at
the front. Payloads are never re-signed; the front only reads them (base64url JSON, unverified).

What it adds:
- Directory (GET /dir): `renewalInfo` = https://<host>/renewal-info/ (unless ARI is off) and
  `meta.profiles` (name -> description, when profiles are configured).
- GET /renewal-info/<certID>: {"suggestedWindow": {"start", "end"}, "explanationURL"} with Retry-After.
  The window is the one the test set for that certificate ID, else the global one, else the middle third
  of the certificate's lifetime. The front learns serial, AKI, notBefore and notAfter of every certificate
  it proxies on download (POST /certZ/...); an unknown ID is 404.
- newOrder (POST /order-plz): records identifiers, `replaces` and `profile` of every order; optionally
  refuses an order carrying `replaces` (409 alreadyReplaced or 400 malformed), and one naming a profile
  that is not configured (400 invalidProfile), and, as Let's Encrypt does, one with an IP address
  identifier under a profile not in ipProfiles (400 rejectedIdentifier) when ipProfiles is set.
- Outage modes on the ACME port: 429 rateLimited with Retry-After, 5xx, hang (no answer until the mode
  changes), refuse (the listener is closed: connection refused). Optionally limited to a path prefix and
  to a number of requests.

Management: plain HTTP on a second loopback port, JSON in and out.
  GET  /orders                 every newOrder POST seen: [{"time", "identifiers", "replaces", "profile",
                               "status"}]; status is the answer's (201: Pebble created an order; 400 with
                               Pebble's badNonce: the client sends it again; the front's own refusals)
  GET  /certs                  learned certificates: {certID: {"serial", "notBefore", "notAfter"}}
  GET  /polls                  renewalInfo requests per certificate ID: {certID: n}
  GET  /stats                  {"requests", "newOrders", "refusedReplaces", "outageAnswers"}
  POST /window   {"certID": ID or "*", "start"/"end": Unix seconds, or "startIn"/"endIn": seconds from
                 now, "explanationURL", "retryAfter"}; {"certID": ..., "clear": true} removes it
  POST /config   {"ari": bool, "profiles": {name: description} or null, "ipProfiles": [name] or null,
                 "retryAfter": seconds,
                 "rejectReplaces": "alreadyReplaced" | "malformed" | null}
  POST /outage   {"mode": "ok" | "429" | "5xx" | "hang" | "refuse", "retryAfter": s, "status": 5xx,
                 "path": prefix, "count": n requests (then back to ok)}
The test harness (tests/support/acme_front.c) starts it on free ports and stops it by PID.

Usage: acme_front.py --port P --mgmt-port M --upstream https://127.0.0.1:PEBBLE --ca CA.pem
                     --cert CERT.pem --key KEY.pem [--no-ari] [--profiles JSON]
                     [--ip-profiles JSON-LIST] [--retry-after S]
"""
import argparse
import base64
import datetime
import http.client
import http.server
import json
import ssl
import sys
import threading
import time
import urllib.parse

from cryptography import x509

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}
HANG_MAX_S = 600


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rfc3339(t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def serial_der(n):
    """The DER content octets of a positive INTEGER."""
    b = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return b"\x00" + b if b[0] & 0x80 else b


class State:
    def __init__(self, args):
        self.lock = threading.Condition()
        self.ari = not args.no_ari
        self.profiles = json.loads(args.profiles) if args.profiles else None
        self.ip_profiles = json.loads(args.ip_profiles) if args.ip_profiles else None
        self.retry_after = args.retry_after
        self.reject_replaces = None
        self.windows = {}  # certID or "*" -> {"start", "end", "explanationURL", "retryAfter"}
        self.certs = {}
        self.polls = {}
        self.orders = []
        self.stats = {"requests": 0, "newOrders": 0, "refusedReplaces": 0, "outageAnswers": 0}
        self.outage = {"mode": "ok"}
        self.outage_gen = 0


class Front:
    def __init__(self, args):
        self.args = args
        self.st = State(args)
        up = urllib.parse.urlparse(args.upstream)
        self.up_host, self.up_port = up.hostname, up.port or 443
        self.up_ctx = ssl.create_default_context(cafile=args.ca)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(args.cert, args.key)
        self.acme = None
        self.acme_lock = threading.Lock()

    # ---- the ACME listener (closed while the outage mode is "refuse") ----
    def open_acme(self):
        with self.acme_lock:
            if self.acme is not None:
                return
            front = self

            class H(AcmeHandler):
                pass

            H.front = front
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.args.port), H, bind_and_activate=False)
            srv.allow_reuse_address = True
            srv.daemon_threads = True
            srv.server_bind()
            srv.server_activate()
            srv.socket = self.tls.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.acme = srv

    def close_acme(self):
        with self.acme_lock:
            if self.acme is None:
                return
            self.acme.shutdown()
            self.acme.server_close()
            self.acme = None

    # ---- certificates and windows ----
    def learn(self, pem):
        try:
            cert = x509.load_pem_x509_certificate(pem)
            aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        except Exception:  # noqa: BLE001 - not a certificate we can name: nothing to learn
            return
        cid = b64url(aki) + "." + b64url(serial_der(cert.serial_number))
        nb = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp()
        na = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()
        with self.st.lock:
            self.st.certs[cid] = {"serial": format(cert.serial_number, "x"), "notBefore": nb, "notAfter": na}

    def window(self, cid):
        st = self.st
        with st.lock:
            st.polls[cid] = st.polls.get(cid, 0) + 1
            w = st.windows.get(cid) or st.windows.get("*")
            c = st.certs.get(cid)
            if w is None and c is None:
                return None
            if w is None:
                third = (c["notAfter"] - c["notBefore"]) / 3
                w = {"start": c["notBefore"] + third, "end": c["notBefore"] + 2 * third}
            return dict(w, retryAfter=w.get("retryAfter", st.retry_after))


class AcmeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    front = None

    def log_message(self, fmt, *a):
        sys.stderr.write("front: " + (fmt % a) + "\n")

    def reply(self, status, body, ctype="application/json", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def problem(self, status, ptype, detail, headers=None):
        self.reply(status, {"type": "urn:ietf:params:acme:error:" + ptype, "detail": detail, "status": status},
                   "application/problem+json", headers)

    def do_GET(self):
        self.handle_acme()

    def do_HEAD(self):
        self.handle_acme()

    def do_POST(self):
        self.handle_acme()

    # The outage mode for this request: None (answer normally) or the mode dict.
    def outage(self):
        st = self.front.st
        with st.lock:
            o = st.outage
            if o["mode"] == "ok" or not self.path.startswith(o.get("path", "")):
                return None
            if "count" in o:
                if o["count"] <= 0:
                    st.outage = {"mode": "ok"}
                    return None
                o["count"] -= 1
            st.stats["outageAnswers"] += 1
            return dict(o)

    def answer_outage(self, o):
        ra = {"Retry-After": str(o["retryAfter"])} if "retryAfter" in o else {}
        if o["mode"] == "429":
            self.problem(429, "rateLimited", "the test front is rate limiting", ra)
        elif o["mode"] == "5xx":
            self.problem(o.get("status", 503), "serverInternal", "the test front is failing", ra)
        else:  # hang (and refuse, for a connection accepted just before the listener closed)
            st = self.front.st
            with st.lock:
                gen = st.outage_gen
                st.lock.wait_for(lambda: st.outage_gen != gen, timeout=HANG_MAX_S)
            self.close_connection = True

    def handle_acme(self):
        st = self.front.st
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else None
        with st.lock:
            st.stats["requests"] += 1
        o = self.outage()
        if o is not None:
            return self.answer_outage(o)
        if self.command == "GET" and self.path.startswith("/renewal-info/"):
            return self.renewal_info(self.path[len("/renewal-info/"):])
        rec = self.new_order(body) if self.command == "POST" and self.path == "/order-plz" else None
        if rec is not None and "status" in rec:
            return
        status = self.forward(body)
        if rec is not None:
            with st.lock:
                rec["status"] = status

    def renewal_info(self, cid):
        if not self.front.st.ari:
            return self.problem(404, "malformed", "no renewalInfo here")
        w = self.front.window(cid)
        if w is None:
            return self.problem(404, "malformed", "unknown certificate ID " + cid)
        doc = {"suggestedWindow": {"start": rfc3339(w["start"]), "end": rfc3339(w["end"])}}
        if w.get("explanationURL"):
            doc["explanationURL"] = w["explanationURL"]
        self.reply(200, doc, headers={"Retry-After": str(int(w["retryAfter"]))})

    # Records a newOrder and returns its record; the record has a "status" already when the order was
    # answered (refused) here, else the caller adds Pebble's (201: an order was created; a badNonce
    # answer, 400, means the client sends it again).
    def new_order(self, body):
        st = self.front.st
        try:
            payload = json.loads(b64url_decode(json.loads(body)["payload"]))
        except Exception:  # noqa: BLE001 - Pebble will say what is wrong with it
            payload = {}
        rec = {"time": time.time(), "identifiers": payload.get("identifiers"),
               "replaces": payload.get("replaces"), "profile": payload.get("profile")}
        with st.lock:
            st.orders.append(rec)
            st.stats["newOrders"] += 1
            reject, profiles, ip_profiles = st.reject_replaces, st.profiles, st.ip_profiles
            if reject and rec["replaces"]:
                st.stats["refusedReplaces"] += 1
        if reject and rec["replaces"]:
            status = 409 if reject == "alreadyReplaced" else 400
            self.problem(status, reject, "certificate %s cannot be replaced" % rec["replaces"])
            with st.lock:
                rec["status"] = status
        elif rec["profile"] and (profiles is None or rec["profile"] not in profiles):
            self.problem(400, "invalidProfile", "profile %r is not offered" % rec["profile"])
            with st.lock:
                rec["status"] = 400
        elif ip_profiles is not None and rec["profile"] not in ip_profiles and any(
                isinstance(i, dict) and i.get("type") == "ip" for i in rec["identifiers"] or []):
            self.problem(400, "rejectedIdentifier",
                         "IP address identifiers are only issued under the profiles %s"
                         % ", ".join(ip_profiles))
            with st.lock:
                rec["status"] = 400
        return rec

    def forward(self, body):
        f = self.front
        conn = http.client.HTTPSConnection(f.up_host, f.up_port, context=f.up_ctx, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
        except Exception as e:  # noqa: BLE001
            self.problem(502, "serverInternal", "upstream: %s" % e)
            return 502
        finally:
            conn.close()
        if self.command == "GET" and self.path == "/dir" and r.status == 200:
            data = self.directory(data)
        if self.path.startswith("/certZ/") and r.status == 200:
            f.learn(data)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return r.status

    def directory(self, data):
        st = self.front.st
        d = json.loads(data)
        with st.lock:
            if st.ari:
                d["renewalInfo"] = "https://%s/renewal-info/" % self.headers.get("Host")
            if st.profiles is not None:
                d.setdefault("meta", {})["profiles"] = st.profiles
        return json.dumps(d).encode()


class MgmtHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    front = None

    def log_message(self, fmt, *a):
        pass

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.front.st
        with st.lock:
            doc = {"/orders": st.orders, "/certs": st.certs, "/polls": st.polls, "/stats": st.stats}.get(self.path)
            doc = json.loads(json.dumps(doc)) if doc is not None else None
        self.reply(200, doc) if doc is not None else self.reply(404, {"error": "unknown path"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
            handler = {"/window": self.set_window, "/config": self.set_config, "/outage": self.set_outage}[self.path]
            handler(req)
        except (KeyError, ValueError, TypeError) as e:
            return self.reply(400, {"error": str(e)})
        self.reply(200, {"ok": True})

    def set_window(self, req):
        st, now, cid = self.front.st, time.time(), req["certID"]
        with st.lock:
            if req.get("clear"):
                st.windows.pop(cid, None)
                return
            w = {"start": float(req["start"]) if "start" in req else now + float(req["startIn"]),
                 "end": float(req["end"]) if "end" in req else now + float(req["endIn"])}
            for k in ("explanationURL", "retryAfter"):
                if k in req:
                    w[k] = req[k]
            st.windows[cid] = w

    def set_config(self, req):
        st = self.front.st
        with st.lock:
            if "ari" in req:
                st.ari = bool(req["ari"])
            if "profiles" in req:
                st.profiles = req["profiles"]
            if "ipProfiles" in req:
                st.ip_profiles = req["ipProfiles"]
            if "retryAfter" in req:
                st.retry_after = int(req["retryAfter"])
            if "rejectReplaces" in req:
                if req["rejectReplaces"] not in (None, "alreadyReplaced", "malformed"):
                    raise ValueError("rejectReplaces: alreadyReplaced, malformed or null")
                st.reject_replaces = req["rejectReplaces"]

    def set_outage(self, req):
        mode = req.get("mode", "ok")
        if mode not in ("ok", "429", "5xx", "hang", "refuse"):
            raise ValueError("mode: ok, 429, 5xx, hang or refuse")
        st = self.front.st
        with st.lock:
            st.outage = dict(req, mode=mode)
            st.outage_gen += 1
            st.lock.notify_all()
        if mode == "refuse":
            self.front.close_acme()
        else:
            self.front.open_acme()


def main():
    p = argparse.ArgumentParser(description="test ACME front for Pebble")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mgmt-port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--no-ari", action="store_true")
    p.add_argument("--profiles", default=None)
    p.add_argument("--ip-profiles", default=None)
    p.add_argument("--retry-after", type=int, default=21600)
    args = p.parse_args()
    front = Front(args)
    MgmtHandler.front = front
    front.open_acme()
    mgmt = http.server.ThreadingHTTPServer(("127.0.0.1", args.mgmt_port), MgmtHandler)
    mgmt.daemon_threads = True
    mgmt.serve_forever()


if __name__ == "__main__":
    main()
