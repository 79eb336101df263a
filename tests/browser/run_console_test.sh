#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/browser/run_console_test.sh - the web console in a real browser (issue #16)
#
# Usage: run_console_test.sh SOURCE_DIR BINARY_DIR
# Starts a real Redis, Pebble (PEBBLE_VA_ALWAYS_VALID: authorizations pass without a challenge
# server), one controller with an admin, a read and an edge token, and one certplane-edge; then
# console_test.mjs drives Debian's chromium headless through puppeteer-core (installed by
# install_tools.sh into BINARY_DIR/tools/browser) and asserts on the DOM. Screenshots of every page,
# desktop and 390 px wide, go to BINARY_DIR/test-output/console/ (printed at the end).
# As root (CI), chromium runs with --no-sandbox: its sandbox refuses to start as root.
# Every process is started here on free loopback ports and stopped by PID.
set -uo pipefail
src=${1:?usage: run_console_test.sh SOURCE_DIR BINARY_DIR}
bdir=${2:?usage: run_console_test.sh SOURCE_DIR BINARY_DIR}
bin=$bdir/bin
out=$bdir/test-output/console
chromium=${CP_CHROMIUM:-$(command -v chromium || true)}
[ -n "$chromium" ] || { echo "FAIL: chromium is not installed (scripts/deps.sh installs it with the test packages)"; exit 1; }
"$src/tests/browser/install_tools.sh" "$bdir/tools" || exit 1

dir=$(mktemp -d "${TMPDIR:-/tmp}/cp-console.XXXXXX")
pids=()
ok=0
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ "$ok" = 1 ]; then rm -rf "$dir"; else echo "console: kept $dir (logs)"; fi
}
trap cleanup EXIT
start() { # name, command...
    local name=$1; shift
    "$@" >"$dir/$name.log" 2>&1 &
    pids+=($!)
}
wait_port() { # port, name
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "FAIL: $2 did not open port $1; its log:"; tail -30 "$dir/$2.log"; exit 1
}
read -r redis_port pebble_port pebble_mgmt grpc_port api_port edge_tls edge_http edge_admin < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(8)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')

start redis redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$dir"
wait_port "$redis_port" redis

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=console test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$dir/pebble.key" -out "$dir/pebble.csr" 2>/dev/null
openssl x509 -req -in "$dir/pebble.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
    -out "$dir/pebble.pem" -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1') 2>/dev/null
cat >"$dir/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$pebble_port", "managementListenAddress": "127.0.0.1:$pebble_mgmt",
 "certificate": "$dir/pebble.pem", "privateKey": "$dir/pebble.key", "httpPort": $edge_http,
 "tlsPort": $edge_tls, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 start pebble pebble -config "$dir/pebble.json"
wait_port "$pebble_port" pebble

rnd() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
admin_token=admin-$(rnd) read_token=read-$(rnd) edge_token=edge-$(rnd)
CERTPLANE_API_TOKENS="$admin_token:admin,$read_token:read,$edge_token:edge" \
    start controller "$bin/certplane-controller" --grpc-listen "127.0.0.1:$grpc_port" \
    --http-listen "127.0.0.1:$api_port" --redis-url "redis://127.0.0.1:$redis_port/0" \
    --acme-provider "https://127.0.0.1:$pebble_port/dir" --acme-email ops@console.test \
    --acme-ca-file "$dir/ca.pem" --insecure-plaintext-keys
wait_port "$api_port" controller
CERTPLANE_EDGE_TOKEN=$edge_token start edge "$bin/certplane-edge" \
    --controller "127.0.0.1:$grpc_port" --listen "127.0.0.1:$edge_tls" \
    --http-listen "127.0.0.1:$edge_http" --admin-listen "127.0.0.1:$edge_admin" --edge-id console-edge
wait_port "$edge_admin" edge

# A certificate that exists before the browser comes (the list and the timeline show real data).
api() { curl -sS -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' "$@"; }
api -d '{"name":"shop","domains":["shop.console.test","www.shop.console.test"]}' \
    "http://127.0.0.1:$api_port/v1/certificates" >"$dir/create-shop.json" || { echo "FAIL: create shop"; exit 1; }

# GET /v1/whoami: exactly the scopes of each token (the console shows actions from it).
whoami_fail=0
for pair in "$admin_token"'|{"scopes":["read","edge","admin"]}' "$read_token"'|{"scopes":["read"]}' \
    "$edge_token"'|{"scopes":["edge"]}'; do
    got=$(curl -sS -H "Authorization: Bearer ${pair%%|*}" "http://127.0.0.1:$api_port/v1/whoami")
    [ "$got" = "${pair#*|}" ] || { echo "FAIL whoami: got $got, want ${pair#*|}"; whoami_fail=1; }
done
[ $whoami_fail = 0 ] && echo "ok   /v1/whoami names each token's scopes exactly"

mkdir -p "$out"
rm -f "$out"/*.png
CP_CONSOLE_URL="http://127.0.0.1:$api_port" CP_ADMIN_TOKEN=$admin_token CP_READ_TOKEN=$read_token \
    CP_CHROMIUM=$chromium CP_OUT_DIR=$out NODE_PATH=$bdir/tools/browser/node_modules \
    node "$src/tests/browser/console_test.mjs"
rc=$?
[ $whoami_fail = 0 ] || rc=1
# The servers stop cleanly (in the sanitizer build: no ASan/UBSan/LSan report) and the controller
# logged no token (the console sends it only as a bearer header).
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
pids=()
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$dir/controller.log" "$dir/edge.log"; then
    echo "FAIL: a sanitizer report in the log above"; rc=1
fi
for t in "$admin_token" "$read_token"; do
    if grep -qF "$t" "$dir"/*.log; then echo "FAIL: a token is in a server log"; rc=1; fi
done
if [ $rc -eq 0 ]; then
    ok=1
    echo "console: screenshots in $out"
    ls "$out"
else
    echo "FAIL: console test; controller log tail:"; tail -20 "$dir/controller.log"
fi
exit $rc
