#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_key_rotation.sh - keys at rest end to end with the real binaries: a controller seals imported
# keys (none in the clear in Redis), a seed-format plaintext record is read; then the KEK is rotated
# online (new key added, made active with SIGHUP, `certplane-controller --rotate-keys`) while a client
# keeps overwriting certificates through the REST API; afterwards every record is under the new KEK,
# none is lost, the API never failed, and the old KEK can be retired.
# Usage: test_key_rotation.sh BIN_DIR
set -euo pipefail
bin=$1
dir=$(mktemp -d /tmp/cp-keyrot.XXXXXX)
umask 077
pids=()
ok=0
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "$ok" = 1 ]; then rm -rf "$dir"; else echo "key_rotation: logs kept in $dir"; tail -n 20 "$dir"/*.log 2>/dev/null || true; fi
}
trap cleanup EXIT
fail() { echo "key_rotation: FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; fail "port $1 did not open"; }

rport=$(free_port) gport=$(free_port) hport=$(free_port)
redis-server --bind 127.0.0.1 --port "$rport" --dir "$dir" --save "" --appendonly no --daemonize no \
    >"$dir/redis.log" 2>&1 &
pids+=($!)
wait_port "$rport"
rcli() { redis-cli -p "$rport" "$@"; }

k1="k1 $(openssl rand -base64 32)" k2="k2 $(openssl rand -base64 32)"
printf '%s\n' "$k1" >"$dir/kek"
export CERTPLANE_REDIS_URL=redis://127.0.0.1:$rport
CERTPLANE_API_TOKENS=admintok:admin "$bin/certplane-controller" --grpc-listen "127.0.0.1:$gport" \
    --http-listen "127.0.0.1:$hport" --kek-file "$dir/kek" >"$dir/controller.log" 2>&1 &
ctl=$!
pids+=($ctl)
wait_port "$hport"
api=http://127.0.0.1:$hport

# One self-signed certificate, imported under N names.
n=100
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=rot.test \
    -addext subjectAltName=DNS:rot.test -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
# The request bodies, made once: c<i>.json creates, c<i>.over.json overwrites.
python3 - "$dir" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
cert, key = open(d + "/cert.pem").read(), open(d + "/key.pem").read()
for i in range(1, n + 1):
    for over in (False, True):
        body = {"name": f"c{i}", "fullchainPem": cert, "privateKeyPem": key, "overwrite": over}
        open(f"{d}/c{i}{'.over' if over else ''}.json", "w").write(json.dumps(body))
PY
import() { # name overwrite -> HTTP status
    local body=$dir/$1.json
    [ "$2" = 1 ] && body=$dir/$1.over.json
    curl -s -o /dev/null -w '%{http_code}' -X POST "$api/v1/certificates:import" -H 'Expect:' \
        -H 'Authorization: Bearer admintok' -H 'Content-Type: application/json' --data-binary "@$body"
}
for i in $(seq 1 $n); do
    [ "$(import "c$i" 0)" = 200 ] || fail "import c$i"
done
# The Python seed's record: no revision, no state, the key in the clear.
python3 -c 'import json,sys; print(json.dumps({"domains": ["seed.test"], "email": "a@b.test", "fullchain_pem": "",
    "private_key_pem": open(sys.argv[1]).read()}), end="")' "$dir/key.pem" | rcli -x SET cert:seed >/dev/null
rcli ZADD certs 0 seed >/dev/null
raw=$(rcli GET cert:c1)
case "$raw" in *PRIVATE*) fail "cert:c1 holds its key in the clear" ;; *'"private_key_pem":"cpenc1:k1:'*) ;;
    *) fail "cert:c1 not sealed: ${raw:0:200}" ;; esac
key_of() { curl -s -H 'Authorization: Bearer admintok' "$api/v1/certificates/$1?includePrivateKey=true" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("privateKeyPem", ""), end="")'; }
[ "$(key_of c1)" = "$(cat "$dir/key.pem")" ] || fail "the API does not return c1's key"
[ "$(key_of seed)" = "$(cat "$dir/key.pem")" ] || fail "the seed record's key is not read"
# A reader never sees a key, sealed or not.
curl -s -H 'Authorization: Bearer admintok' "$api/v1/certificates?pageSize=100" >"$dir/list.json"
if grep -q 'PRIVATE\|cpenc1\|privateKey' "$dir/list.json"; then fail "the list shows keys"; fi

# Rotation, step 1 and 2: the new key known everywhere, then active.
printf '%s\n%s\n' "$k1" "$k2" >"$dir/kek"
kill -HUP "$ctl"
printf '%s\n%s\n' "$k2" "$k1" >"$dir/kek"
kill -HUP "$ctl"
for _ in $(seq 1 100); do grep -q 'keyring loaded: 2 keys, active \\"k2\\"' "$dir/controller.log" && break; sleep 0.05; done
grep -q 'keyring loaded: 2 keys, active \\"k2\\"' "$dir/controller.log" || fail "SIGHUP did not load the new keyring"

# A client keeps overwriting certificates while the rotation runs.
writer() {
    local i=0 ok=0 bad=0
    while [ ! -f "$dir/stop" ]; do
        i=$((i % n + 1))
        if [ "$(import "c$i" 1)" = 200 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    done
    echo "$ok $bad" >"$dir/writer.out"
}
writer &
wpid=$!
for _ in $(seq 1 100); do [ "$(rcli GET revision)" -gt $((n + 3)) ] && break; sleep 0.05; done
out=$("$bin/certplane-controller" --rotate-keys --kek-file "$dir/kek" 2>"$dir/rotate.log") ||
    { cat "$dir/rotate.log"; fail "rotate-keys: $out"; }
echo "key_rotation: $out"
touch "$dir/stop"
wait "$wpid"
read -r writes errors <"$dir/writer.out"
echo "key_rotation: $writes concurrent API writes, $errors errors"
[ "$errors" = 0 ] || fail "$errors API writes failed during the rotation"
[ "$writes" -gt 0 ] || fail "no API write during the rotation"
case "$out" in *"of $((n + 1)) certificate records"*", 0 failed") ;; *) fail "unexpected rotation report: $out" ;; esac

# Every record under k2, none lost; then k1 is retired and every key still reads.
[ "$(rcli ZCARD certs)" = $((n + 1)) ] || fail "certificates lost: $(rcli ZCARD certs)"
for name in seed $(seq -f 'c%g' 1 $n); do
    raw=$(rcli GET "cert:$name")
    case "$raw" in *'"private_key_pem":"cpenc1:k2:'*) ;; *) fail "cert:$name not under k2: ${raw:0:120}" ;; esac
done
second=$("$bin/certplane-controller" --rotate-keys --kek-file "$dir/kek" 2>>"$dir/rotate.log")
case "$second" in *"0 of $((n + 1)) certificate records"*"0 failed") ;; *) fail "second rotation: $second" ;; esac
printf '%s\n' "$k2" >"$dir/kek"
kill -HUP "$ctl"
for _ in $(seq 1 100); do grep -q 'keyring loaded: 1 keys, active \\"k2\\"' "$dir/controller.log" && break; sleep 0.05; done
for name in seed c1 "c$n"; do
    [ "$(key_of "$name")" = "$(cat "$dir/key.pem")" ] || fail "$name unreadable after k1 was retired"
done
if grep -q "PRIVATE KEY" "$dir/controller.log" "$dir/rotate.log"; then fail "a key in a log"; fi
ok=1
echo "key_rotation: passed"
