#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# live.py - every route of the gateway's route table, called on a real controller (Redis + Pebble,
# started by test_openapi_live.c), each answer - successes and 4xx errors - validated strictly
# against docs/openapi.yaml: the documented status (or `default`), the media type, and the body
# against the schema with every $ref resolved (jsonschema, Debian's python3-jsonschema); object
# schemas say additionalProperties: false, so an undocumented field fails.
# The routes are read from controller/gateway/gateway_routes.c: a route without a case here fails
# the test, so a new route cannot be forgotten.
import argparse
import http.client
import json
import re
import subprocess
import sys
import time

import jsonschema
import yaml

ap = argparse.ArgumentParser()
for a in ("http", "redis-port", "admin", "read", "edge", "spec", "routes", "work-dir"):
    ap.add_argument("--" + a, required=True)
args = ap.parse_args()

failures, checked = [], []
errors_seen = []  # every error body answered, for the docs/api.md examples


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL - " + what, flush=True)
    return cond


spec = yaml.safe_load(open(args.spec))


def resolve(node, seen=()):
    """The node with every $ref replaced by its target (schemas here are not recursive)."""
    if isinstance(node, list):
        return [resolve(v, seen) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref not in seen, "recursive $ref " + ref
        target = spec
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return resolve(target, seen + (ref,))
    return {k: resolve(v, seen) for k, v in node.items()}


def openapi_to_jsonschema(s):
    """OpenAPI 3.0 schema -> JSON Schema draft 7: readOnly/format are annotations; int64 as string."""
    if isinstance(s, list):
        return [openapi_to_jsonschema(v) for v in s]
    if not isinstance(s, dict):
        return s
    return {k: openapi_to_jsonschema(v) for k, v in s.items() if k not in ("example",)}


# The route table: {"METHOD", "/pattern", ...} lines of gateway_routes.c.
routes = re.findall(r'\{"(GET|POST|PUT|DELETE|PATCH)",\s*"([^"]+)"', open(args.routes).read())
check(len(routes) >= 10, "route table read from %s (%d routes)" % (args.routes, len(routes)))


def pattern_of(path):
    for method, pat in routes:
        rx = "^" + re.sub(r"\\\{[a-z]+\\\}", "[^/:]+", re.escape(pat)) + "$"
        if re.match(rx, path.split("?")[0]):
            yield method, pat


covered = {}  # (method, pattern) -> set of status classes seen


def call(method, path, token=None, body=None, expect=None, ctype="application/json", stream=False):
    """One request; validates the answer against the document. Returns (status, parsed body)."""
    conn = http.client.HTTPConnection("127.0.0.1", int(args.http), timeout=20)
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if ctype:
            headers["Content-Type"] = ctype
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    if stream:
        lines = []
        while True:
            line = resp.readline()
            if not line:
                break
            lines.append(line.decode())
            if '"SNAPSHOT_END"' in lines[-1] or '"error"' in lines[-1]:
                break
        raw = "".join(lines)
        conn.close()
    else:
        raw = resp.read().decode(errors="replace")
        conn.close()
    status = resp.status
    what = "%s %s -> %d" % (method, path, status)
    if expect is not None:
        check(status == expect, "%s (expected %d): %s" % (what, expect, raw[:300]))
    pats = [p for m, p in pattern_of(path) if m == method]
    if not check(len(pats) == 1, what + ": matches one route of the table"):
        return status, None
    pat = pats[0]
    covered.setdefault((method, pat), set()).add(status // 100)
    op = spec["paths"].get(pat, {}).get(method.lower())
    if not check(op is not None, what + ": documented"):
        return status, None
    responses = op["responses"]
    r = responses.get(str(status), responses.get("default"))
    if not check(r is not None, "%s: status %d documented for %s %s" % (what, status, method, pat)):
        return status, None
    r = resolve(r)
    ctype_got = (resp.getheader("Content-Type") or "").split(";")[0].strip()
    content = r.get("content")
    if content is None:
        check(True, what)
        return status, raw
    if not check(ctype_got in content, "%s: Content-Type %r documented (%s)" % (what, ctype_got, list(content))):
        return status, None
    schema = openapi_to_jsonschema(resolve(content[ctype_got].get("schema", {})))
    docs = []
    if ctype_got == "application/json":
        docs = [json.loads(raw)]
    elif ctype_got == "application/x-ndjson":
        for line in raw.splitlines():
            obj = json.loads(line)
            if "error" in obj:  # the documented end-of-stream form {"error": Status}
                obj = obj["error"]
                sch = openapi_to_jsonschema(resolve(spec["components"]["schemas"]["Status"]))
                docs.append((obj, sch))
                continue
            docs.append(obj)
    else:
        check(isinstance(raw, str), what)
        return status, raw
    for d in docs:
        d, sch = d if isinstance(d, tuple) else (d, schema)
        errs = sorted(jsonschema.Draft7Validator(sch).iter_errors(d), key=lambda e: list(e.path))
        check(not errs, "%s: body matches the schema%s" % (
            what, "".join("\n      %s: %s" % ("/".join(map(str, e.absolute_path)), e.message[:300]) for e in errs)))
    checked.append(what)
    extra = ""
    if status >= 400 and docs and isinstance(docs[0], dict):
        extra = ": " + str(docs[0].get("message"))
        errors_seen.append(docs[0])
    print("ok   - %s (%d documents)%s" % (what, len(docs), extra), flush=True)
    return status, (docs[0] if ctype_got == "application/json" else [d if not isinstance(d, tuple) else d[0] for d in docs])


A, R, E = args.admin, args.read, args.edge
work = args.work_dir


def pem_pair(cn):
    subprocess.check_call(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                           "-nodes", "-keyout", work + "/imp.key", "-out", work + "/imp.crt", "-days", "30",
                           "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:" + cn], stderr=subprocess.DEVNULL)
    return open(work + "/imp.crt").read(), open(work + "/imp.key").read()


def wait_state(name, states, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        st, c = call("GET", "/v1/certificates/" + name, R)
        if st == 200 and c and c.get("state") in states:
            return c
        time.sleep(0.5)
    check(False, "%s reached %s" % (name, states))
    return None


# ---- certificates -----------------------------------------------------------------------------
call("POST", "/v1/certificates", A, {"name": "live", "domains": ["live.example"]}, 200)
call("POST", "/v1/certificates", A, {"name": "live", "domains": ["live.example"]}, 409)
call("POST", "/v1/certificates", A, {"name": "bad", "domains": ["ok.example", "bad_name"]}, 400)
st, err = call("POST", "/v1/certificates", A, {"name": "bad2", "domains": ["ok.example", "bad_name"]}, 400)
check(err and err["message"].startswith("certificate.domains[1]: "), "error path certificate.domains[1]: %s" % err)
st, err = call("POST", "/v1/certificates", A, {"name": "many", "domains": ["n%d.example" % i for i in range(101)]}, 400)
check(err and err["message"] == "certificate.domains: too many names (101 domains and IP addresses, at most 100)",
      "101 names: the message names certificate.domains: %s" % err)
call("POST", "/v1/certificates", A, {"name": "x", "domains": ["x.example"], "bogus": 1}, 400)
call("POST", "/v1/certificates", A, {"name": "x", "domains": ["x.example", 5]}, 400)
call("POST", "/v1/certificates", A, "{not json", 400)
call("POST", "/v1/certificates", A, {"name": "x"}, 415, ctype="text/plain")
call("POST", "/v1/certificates", R, {"name": "y", "domains": ["y.example"]}, 403)
call("POST", "/v1/certificates", None, {"name": "y", "domains": ["y.example"]}, 401)
call("POST", "/v1/certificates", A, {"name": "rsa", "domains": ["rsa.example"], "keyType": "RSA_2048"}, 200)
c = wait_state("live", ("VALID",))
check(c and c.get("keyType") == "RSA_2048", "the default key type is named: %s" % (c or {}).get("keyType"))
call("GET", "/v1/certificates/live", A + "x", None, 401)
call("GET", "/v1/certificates/live?includePrivateKey=true", A, None, 200)
call("GET", "/v1/certificates/live?includePrivateKey=true", R, None, 403)
call("GET", "/v1/certificates/nope", R, None, 404)
call("GET", "/v1/certificates/Bad_Name", R, None, 400)
call("GET", "/v1/certificates", R, None, 200)
call("GET", "/v1/certificates?pageSize=1", R, None, 200)
call("GET", "/v1/certificates?state=VALID", R, None, 200)
call("GET", "/v1/certificates?state=BOGUS", R, None, 400)
call("GET", "/v1/certificates?pageToken=%25%25", R, None, 400)
crt, key = pem_pair("imp.example")
call("POST", "/v1/certificates:import", A, {"name": "imp", "fullchainPem": crt, "privateKeyPem": key}, 200)
call("POST", "/v1/certificates:import", A, {"name": "imp", "fullchainPem": crt, "privateKeyPem": key}, 409)
call("POST", "/v1/certificates:import", A, {"name": "imp", "fullchainPem": crt, "privateKeyPem": key,
                                           "overwrite": True, "autoRenew": False, "email": "a@example.com"}, 200)
call("POST", "/v1/certificates:import", A, {"name": "imp2", "fullchainPem": "junk", "privateKeyPem": key}, 400)
call("POST", "/v1/certificates/live:renew", A, {}, 200)
call("POST", "/v1/certificates/live:renew", A, None, 200)
call("POST", "/v1/certificates/nope:renew", A, None, 404)
call("POST", "/v1/certificates/live:renew", R, None, 403)
wait_state("live", ("VALID",))
call("POST", "/v1/certificates/imp:revoke", A, {"reason": 99}, 400)
call("POST", "/v1/certificates/nope:revoke", A, {"reason": 1}, 404)
call("POST", "/v1/certificates/live:revoke", A, {"reason": 4}, 200)
wait_state("live", ("REVOKED",))
call("GET", "/v1/certificates/live", R, None, 200)
call("DELETE", "/v1/certificates/imp", A, None, 200)
call("DELETE", "/v1/certificates/imp", A, None, 404)
call("DELETE", "/v1/certificates/rsa", R, None, 403)

# ---- edges --------------------------------------------------------------------------------------
call("POST", "/v1/edges:report", E, {"edgeId": "live-edge", "appliedRevision": "3", "certificates": 2,
                                     "version": "test"}, 200)
call("POST", "/v1/edges:report", E, {"appliedRevision": "3"}, 400)
call("POST", "/v1/edges:report", R, {"edgeId": "x"}, 403)
call("GET", "/v1/edges", R, None, 200)
call("GET", "/v1/edges", None, None, 401)

# ---- accounts -----------------------------------------------------------------------------------
call("POST", "/v1/accounts:rollover", A, {}, 200)
call("POST", "/v1/accounts:rollover", A, {"keyType": "EC_P384"}, 400)
call("POST", "/v1/accounts:rollover", R, {}, 403)

# ---- watch: a snapshot (read and edge scope), a replay, errors --------------------------------
call("GET", "/v1/watch", R, None, 200, stream=True)
call("GET", "/v1/watch?edgeId=live-edge", E, None, 200, stream=True)
st, evs = call("GET", "/v1/watch?snapshotBatch=2", R, None, 200, stream=True)
check(evs and any(e.get("type") == "SNAPSHOT_BATCH" and len(e.get("batch", [])) == 2 and
                  all("privateKeyPem" not in (b.get("certificate") or {}) for b in e["batch"])
                  for e in evs), "a snapshot in batches of 2, no key for a read token")
call("GET", "/v1/watch?fromRevision=abc", R, None, 400)
call("GET", "/v1/watch", None, None, 401)

# ---- webhooks -----------------------------------------------------------------------------------
st, wh = call("POST", "/v1/webhooks", A, {"url": "http://127.0.0.1:9/hook", "events": ["issued", "deleted"],
                                         "nameFilter": "live*"}, 200)
check(wh and wh.get("secret", "").startswith("whsec_"), "a new webhook's secret is shown once: %s" % (wh or {}).get("id"))
call("POST", "/v1/webhooks", A, {"url": "ftp://127.0.0.1/x", "events": ["issued"]}, 400)
call("POST", "/v1/webhooks", A, {"url": "http://127.0.0.1:9/hook", "events": ["bogus"]}, 400)
call("POST", "/v1/webhooks", R, {"url": "http://127.0.0.1:9/hook", "events": ["issued"]}, 403)
st, lst = call("GET", "/v1/webhooks", A, None, 200)
check(lst and all("secret" not in w for w in lst.get("webhooks", [])), "listed webhooks carry no secret")
call("GET", "/v1/webhooks", R, None, 403)
call("GET", "/v1/webhooks:deadLetters", A, None, 200)
call("GET", "/v1/webhooks:deadLetters", R, None, 403)
if wh:
    call("DELETE", "/v1/webhooks/" + wh["id"], A, None, 200)
    call("DELETE", "/v1/webhooks/" + wh["id"], A, None, 404)
call("DELETE", "/v1/webhooks/wh_0000000000000000", R, None, 403)

# ---- the web console and whoami ----------------------------------------------------------------
st, me = call("GET", "/v1/whoami", R, None, 200)
check(me == {"scopes": ["read"]}, "whoami of a read token: %s" % me)
st, me = call("GET", "/v1/whoami", A, None, 200)
check(me is not None and "admin" in me.get("scopes", []), "whoami of an admin token: %s" % me)
call("GET", "/v1/whoami", None, None, 401)
call("GET", "/v1/whoami", A + "x", None, 401)
call("GET", "/ui", None, None, 200)
call("GET", "/ui/", None, None, 200)
call("GET", "/ui/app.js", None, None, 200)
call("GET", "/ui/style.css", None, None, 200)
call("GET", "/ui/nope.js", None, None, 404)

# ---- unauthenticated routes -------------------------------------------------------------------
call("GET", "/healthz", None, None, 200)
call("GET", "/readyz", None, None, 200)
call("GET", "/metrics", None, None, 200)
tok = "livetoken-" + str(int(time.time()))
subprocess.check_call(["redis-cli", "-p", args.redis_port, "SET", "challenge:" + tok,
                       json.dumps({"token": tok, "authorization": tok + ".thumb",
                                   "expires_at": "2099-01-01T00:00:00Z"}), "EX", "600"],
                      stdout=subprocess.DEVNULL)
st, body = call("GET", "/.well-known/acme-challenge/" + tok, None, None, 200)
check(body == tok + ".thumb", "challenge answer is the key authorization: %r" % body)
call("GET", "/.well-known/acme-challenge/unknown-token", None, None, 404)

# ---- the error bodies docs/api.md shows are what the server answered ---------------------------
api_md = open(args.spec.replace("openapi.yaml", "api.md")).read()
shown = [json.loads(l) for l in re.findall(r'^(\{"code": \d+, "message": .*\})$', api_md, re.M)]
check(len(shown) >= 3, "docs/api.md shows error bodies (%d)" % len(shown))
for body in shown:
    check(body in errors_seen, "docs/api.md error example answered by the server: %s" % body["message"])

# ---- every route of the table was called, and every /v1 route also answered an error --------
for method, pat in routes:
    seen = covered.get((method, pat), set())
    check(seen, "route %s %s has a case in tests/openapi/live.py" % (method, pat))
    if pat.startswith("/v1/"):
        check(4 in seen, "route %s %s: a 4xx answer validated" % (method, pat))
print("openapi.live: %d answers validated, %d routes, %d failed" % (len(checked), len(routes), len(failures)))
sys.exit(1 if failures else 0)
