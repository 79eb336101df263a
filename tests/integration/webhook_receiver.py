#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# webhook_receiver.py - a webhook receiver for tests/integration/test_webhooks.c, on loopback only.
# Verifies every request's Standard Webhooks signature with Python's hmac against the secret in
# SECRET_FILE (read at each request: the test writes it once the subscription exists), and appends
# one JSON line per request to OUT: {"id", "type", "name", "valid", "status", "attempt"}.
# --fail-first N answers 500 to the first N requests of each webhook-id; --always-fail always does;
# --slow S waits S seconds before answering 204; --huge answers 200 with 1 MiB of body.
# Usage: webhook_receiver.py PORT SECRET_FILE OUT [--fail-first N] [--always-fail] [--slow S] [--huge]
import base64, hashlib, hmac, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, secret_file, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fail_first = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
always_fail = "--always-fail" in sys.argv
slow = float(sys.argv[sys.argv.index("--slow") + 1]) if "--slow" in sys.argv else 0
huge = "--huge" in sys.argv
seen = {}
lock = threading.Lock()


def verify(secret, msg_id, ts, body, sig_header):
    """The Standard Webhooks recipe: HMAC-SHA256 over id.timestamp.body with the decoded secret."""
    if not secret.startswith("whsec_"):
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    if abs(time.time() - int(ts)) > 300:
        return False
    return any(hmac.compare_digest(expected, s.split(",", 1)[1])
               for s in sig_header.split(" ") if s.startswith("v1,"))


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg_id = self.headers.get("webhook-id", "")
        try:
            secret = open(secret_file).read().strip()
        except OSError:
            secret = ""
        valid = verify(secret, msg_id, self.headers.get("webhook-timestamp", "0"), body,
                       self.headers.get("webhook-signature", ""))
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        with lock:
            seen[msg_id] = seen.get(msg_id, 0) + 1
            attempt = seen[msg_id]
            status = 401 if not valid else 500 if always_fail or attempt <= fail_first else 204
            with open(out, "a") as f:
                f.write(json.dumps({"id": msg_id, "type": event.get("type"),
                                    "name": event.get("data", {}).get("name"),
                                    "edge": event.get("data", {}).get("edgeId"),
                                    "timestamp": event.get("timestamp"), "valid": valid,
                                    "status": status, "attempt": attempt}) + "\n")
        time.sleep(slow)
        if huge and status == 204:
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            self.wfile.write(b"x" * (1 << 20))
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
