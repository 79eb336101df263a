# SPDX-License-Identifier: Apache-2.0
# common.py - shared pieces of the Python API tests: checks, stubs generated from proto/, curl, Redis state
import os
import subprocess
import sys

failures = []
passes = []


def check(cond, what):
    (passes if cond else failures).append(what)
    print(("ok   - " if cond else "FAIL - ") + what)


def summary(name):
    print("%s: %d passed, %d failed" % (name, len(passes), len(failures)))
    return 1 if failures else 0


def gen_stubs(proto_dir, out):
    """Generates Python stubs with the system protoc and grpc_python_plugin; returns (pb, pbg, hpb, hpbg)."""
    plugin = subprocess.check_output(["sh", "-c", "command -v grpc_python_plugin"]).decode().strip()
    # The health proto's own path (grpc/health/v1) would shadow the grpc package in Python, so it is
    # compiled from a copy under another directory; its package, and so the wire names, stay the same.
    os.makedirs(os.path.join(out, "src", "cphealth"), exist_ok=True)
    with open(os.path.join(proto_dir, "grpc/health/v1/health.proto")) as f:
        health = f.read()
    with open(os.path.join(out, "src", "cphealth", "health.proto"), "w") as f:
        f.write(health)
    for root, p in [(proto_dir, "certplane/v1/certplane.proto"),
                    (os.path.join(out, "src"), "cphealth/health.proto")]:
        subprocess.check_call(["protoc", "-I" + root, "-I/usr/include", "--python_out=" + out,
                               "--grpc_python_out=" + out,
                               "--plugin=protoc-gen-grpc_python=" + plugin, os.path.join(root, p)])
    sys.path.insert(0, out)


def make_pair(work, name, cn):
    """A self-signed P-256 certificate for cn and www.cn, made with the openssl command; (cert, key) PEM."""
    key, crt = os.path.join(work, name + ".key"), os.path.join(work, name + ".crt")
    subprocess.check_call(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                           "-days", "30", "-subj", "/CN=" + cn,
                           "-addext", "subjectAltName=DNS:%s,DNS:www.%s" % (cn, cn)],
                          stderr=subprocess.DEVNULL)
    return open(crt).read(), open(key).read()


def curl(base, method, path, token=None, body=None, ctype="application/json", extra=()):
    """Runs the curl command; returns (status, body text)."""
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method, "--max-time", "10",
           "--path-as-is", "-g"]
    if token:
        cmd += ["-H", "Authorization: Bearer " + token]
    if body is not None:
        if ctype:
            cmd += ["-H", "Content-Type: " + ctype]
        cmd += ["--data-binary", "@-"]
    cmd += list(extra) + [base + path]
    data = body.encode() if isinstance(body, str) else body
    out = subprocess.run(cmd, input=data, capture_output=True).stdout.decode(errors="replace")
    text, _, code = out.rpartition("\n")
    return int(code or 0), text


# Redis state as one digest: every key's DUMP, except the jobs stream (whose consumer-group bookkeeping
# changes on every blocking read of an idle worker) and the edge registry (heartbeats); for those the
# length counts.
DIGEST_LUA = """
local keys = redis.call('KEYS', '*')
table.sort(keys)
local acc = {}
for _, k in ipairs(keys) do
  if k == 'jobs' then acc[#acc+1] = k .. '#' .. redis.call('XLEN', k)
  elseif string.sub(k, 1, 5) ~= 'edges' then acc[#acc+1] = k .. '=' .. redis.sha1hex(redis.call('DUMP', k)) end
end
return redis.sha1hex(table.concat(acc, '|'))
"""


def redis_digest(port):
    return subprocess.check_output(["redis-cli", "-p", str(port), "--raw", "EVAL", DIGEST_LUA, "0"]).strip()
