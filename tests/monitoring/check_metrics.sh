#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# check_metrics.sh - the alert rules and the Grafana dashboard only name metrics the binaries export.
# Starts Redis, a controller (one imported certificate, so the per-certificate series exist) and an
# edge watching it, scrapes both /metrics, and fails naming every certplane_* metric that
# helm/certplane/files/prometheus-rules.yaml or grafana-dashboard.json uses but neither exports
# (a renamed metric fails here). Histogram series (_bucket/_sum/_count) count for their family.
# Usage: check_metrics.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1 bin=$2
dir=$(mktemp -d /tmp/cp-metrics.XXXXXX)
pids=()
ok=0
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "$ok" = 1 ]; then rm -rf "$dir"; else echo "check_metrics: logs kept in $dir"; tail -n 20 "$dir"/*.log 2>/dev/null || true; fi
}
trap cleanup EXIT
fail() { echo "check_metrics: FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; fail "port $1 did not open"; }

rport=$(free_port) gport=$(free_port) hport=$(free_port) tport=$(free_port) eport=$(free_port) aport=$(free_port)
redis-server --bind 127.0.0.1 --port "$rport" --dir "$dir" --save "" --appendonly no >"$dir/redis.log" 2>&1 &
pids+=($!)
wait_port "$rport"
head -c 32 /dev/urandom | base64 | sed 's/^/k1 /' >"$dir/kek"
chmod 600 "$dir/kek"
CERTPLANE_REDIS_URL=redis://127.0.0.1:$rport CERTPLANE_API_TOKENS=admintok:admin,edgetok:edge \
    "$bin/certplane-controller" --grpc-listen "127.0.0.1:$gport" --http-listen "127.0.0.1:$hport" \
    --kek-file "$dir/kek" --acme-provider "https://127.0.0.1:$(free_port)/dir" >"$dir/controller.log" 2>&1 &
pids+=($!)
wait_port "$hport"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 -subj /CN=m.test \
    -addext subjectAltName=DNS:m.test -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
python3 -c 'import json,sys; d=sys.argv[1]; print(json.dumps({"name":"m","fullchainPem":open(d+"/cert.pem").read(),"privateKeyPem":open(d+"/key.pem").read()}))' "$dir" >"$dir/import.json"
code=$(curl -s -o "$dir/import.out" -w '%{http_code}' -X POST "http://127.0.0.1:$hport/v1/certificates:import" \
    -H 'Authorization: Bearer admintok' -H 'Content-Type: application/json' --data-binary "@$dir/import.json")
[ "$code" = 200 ] || fail "import answered $code: $(cat "$dir/import.out")"
CERTPLANE_EDGE_TOKEN=edgetok "$bin/certplane-edge" --controller "127.0.0.1:$gport" \
    --listen "127.0.0.1:$tport" --http-listen "127.0.0.1:$eport" --admin-listen "127.0.0.1:$aport" \
    --edge-id metrics-edge >"$dir/edge.log" 2>&1 &
pids+=($!)
wait_port "$aport"
curl -sf "http://127.0.0.1:$hport/metrics" >"$dir/controller.metrics" || fail "controller /metrics"
curl -sf "http://127.0.0.1:$aport/metrics" >"$dir/edge.metrics" || fail "edge /metrics"

python3 - "$src" "$dir" <<'PY'
import json, re, sys
src, d = sys.argv[1], sys.argv[2]
exported = set()
for f in ("controller.metrics", "edge.metrics"):
    for line in open(f"{d}/{f}"):
        m = re.match(r"(?:# (?:TYPE|HELP) )?(certplane_[a-z0-9_]+)", line)
        if m:
            exported.add(m.group(1))
def family(n):
    for suf in ("_bucket", "_sum", "_count"):
        if n.endswith(suf) and n[: -len(suf)] in exported:
            return n[: -len(suf)]
    return n
rules = open(f"{src}/helm/certplane/files/prometheus-rules.yaml").read()
dash = json.load(open(f"{src}/helm/certplane/files/grafana-dashboard.json"))
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
exprs += [v["definition"] for v in dash["templating"]["list"] if "definition" in v]
missing = {}
for where, text in [("prometheus-rules.yaml", rules)] + [("grafana-dashboard.json", e) for e in exprs]:
    for name in re.findall(r"certplane_[a-z0-9_]+", text):
        if family(name) not in exported:
            missing.setdefault(name, set()).add(where)
used = len(set(re.findall(r"certplane_[a-z0-9_]+", rules + " ".join(exprs))))
if missing:
    for n, w in sorted(missing.items()):
        print(f"check_metrics: FAIL: {n} (used in {', '.join(sorted(w))}) is exported by neither binary")
    sys.exit(1)
print(f"check_metrics: ok: {used} metric names used, all exported ({len(exported)} exported)")
PY
ok=1
