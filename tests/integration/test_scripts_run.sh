#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_scripts_run.sh - scripts/run reaches a served demo certificate, twice in a row on the same data
# (the second run finds the certificates in its Redis and renews them from that run's CA), the README
# tour (create shop, curl https://shop...) works in both runs, SIGTERM says "stopped"; keys at rest:
# the run dir and Redis files are the user's alone, Redis wants a password, no key in the clear;
# least privilege: the controller works as the ACL user certplane, which Redis denied nothing (ACL
# LOG), and which cannot run FLUSHALL, CONFIG, KEYS or touch keys outside certplane's prefixes.
# Usage: test_scripts_run.sh BIN_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$(mktemp -d /tmp/cp-run-test.XXXXXX)
ok=0
# Logs stay on failure (the path is printed), so a crash can be read afterwards.
trap '[ "$ok" = 1 ] && rm -rf "$dir" || echo "scripts_run: logs kept in $dir"' EXIT
# A port base far from the ephemeral range the other tests draw their free ports from.
base=$((20000 + ($$ % 200) * 50))
# Issue 16: scripts/run stays in the foreground as a newcomer runs it; the README's tour runs against
# it (create shop --if-missing, then curl https://shop... verified against this run's CA root), then
# SIGTERM (what Ctrl-C's SIGINT does too: the same trap) must end it with "stopped", status 0.
tour() {
    local ctl="$1/certplanectl" token
    token=$(sed -n 's/^admin=//p' "$dir/tokens")
    CERTPLANE_ADDR=http://127.0.0.1:$((base + 80)) CERTPLANE_TOKEN=$token "$ctl" create shop \
        --domain shop.certplane.test --domain www.shop.certplane.test --wait --if-missing \
        --timeout 2m >"$dir/tour.log" 2>&1 || { echo "tour: create shop failed:"; cat "$dir/tour.log"; return 1; }
    for _ in $(seq 1 50); do
        curl -fsS --resolve "shop.certplane.test:$((base + 444)):127.0.0.1" --cacert "$dir/pebble-root.pem" \
            "https://shop.certplane.test:$((base + 444))/" >>"$dir/tour.log" 2>&1 && return 0
        sleep 0.2
    done
    echo "tour: curl https://shop.certplane.test failed:"; cat "$dir/tour.log"; return 1
}
run() {
    CERTPLANE_RUN_BIN=$1 CERTPLANE_SKIP_INSTALL=1 CERTPLANE_RUN_DIR=$dir \
        CERTPLANE_RUN_PORT_BASE=$base "$here/scripts/run" >"$dir/out.log" 2>&1 &
    local pid=$! rc=0
    for _ in $(seq 1 3000); do
        grep -q "running; Ctrl-C stops everything" "$dir/out.log" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "running; Ctrl-C stops everything" "$dir/out.log" && tour "$1" || rc=1
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || rc=1
    if [ "$rc" != 0 ]; then cat "$dir/out.log"; tail -n 30 "$dir"/logs/*.log; return 1; fi
    cat "$dir/out.log"
    grep -q "stopped: every process scripts/run started has ended" "$dir/out.log"
    if grep -q "exited unexpectedly\|a process exited" "$dir/out.log"; then return 1; fi
    grep -q "demo done: the certificate was issued through the edge's HTTP-01" "$dir/out.log"
    grep -q "curl: HTTP 200 over HTTP/2, certificate verified" "$dir/out.log"
    grep -q "page: Hello from behind certplane-edge" "$dir/out.log"
    grep -q 'metrics: certplane_certificates{state="VALID"} [12]$' "$dir/out.log" # demo (+ shop)
    grep -q 'metrics: certplane_acme_request_duration_seconds_count' "$dir/out.log"
    grep -q 'redis: 0 commands of the controller denied by its ACL (ACL LOG)' "$dir/out.log"
}
run "$1"
first=$(sed -n 's/.*served certificate serial: \([0-9a-f]*\).*/\1/p' "$dir/out.log")
run "$1"
grep -q "demo.certplane.test exists from an earlier run (data persisted in Redis): renewing it" "$dir/out.log"
grep -q "shop exists from an earlier run (data persisted in Redis): renewing it" "$dir/out.log"
grep -q 'metrics: certplane_issuances_total{kind="renew",result="success"} 2' "$dir/out.log"
second=$(sed -n 's/.*served certificate serial: \([0-9a-f]*\).*/\1/p' "$dir/out.log")
[ -n "$first" ] && [ -n "$second" ] && [ "$first" != "$second" ]
# The first run sealed the keys it wrote; the second found nothing left to seal.
grep -q 'rotate-keys: active KEK "run-[0-9]*": 0 of 2 certificate records and 0 of 1 account records re-wrapped, 0 failed' "$dir/out.log"

# Keys at rest: the run dir is the user's alone, Redis has a password, no private key in the clear.
fail() { echo "scripts_run: $*" >&2; exit 1; }
mode() { stat -c %a "$1"; }
[ "$(mode "$dir")" = 700 ] || fail "run dir mode $(mode "$dir")"
[ "$(mode "$dir/redis")" = 700 ] || fail "redis dir mode $(mode "$dir/redis")"
for f in redis.password redis-certplane.password redis.conf kek tokens; do
    [ "$(mode "$dir/$f")" = 600 ] || fail "$f mode $(mode "$dir/$f")"
done
aof=$(find "$dir/redis" -type f | head -n 1)
[ -n "$aof" ] || fail "no Redis file in $dir/redis"
bad=$(find "$dir/redis" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \))
[ -z "$bad" ] || fail "Redis files readable by others: $(ls -ld $bad)"
if grep -rq "PRIVATE KEY" "$dir/redis"; then fail "a private key in the clear in the AOF"; fi
grep -rq "cpenc1:run-" "$dir/redis" || fail "no sealed key in the AOF"
# Restart that Redis on its data: it wants the password, and cert:NAME holds no key in the clear.
rport=$((base + 379))
redis-server "$dir/redis.conf" --bind 127.0.0.1 --port "$rport" --dir "$dir/redis" --appendonly yes \
    --save "" --daemonize no >"$dir/redis-check.log" 2>&1 &
rpid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$rport") 2>/dev/null && break; sleep 0.1; done
noauth=$(redis-cli -p "$rport" GET cert:demo.certplane.test 2>&1 || true)
record=$(REDISCLI_AUTH=$(cat "$dir/redis.password") redis-cli -p "$rport" GET cert:demo.certplane.test)
# The controller's user: its own keys, nothing else; no plaintext password in redis.conf.
cp_cli() { REDISCLI_AUTH=$(cat "$dir/redis-certplane.password") redis-cli --user certplane -p "$rport" "$@" 2>&1; }
acl_record=$(cp_cli GET cert:demo.certplane.test)
denied=()
set -f # "KEYS *" is Redis', not the shell's
for cmd in "FLUSHALL" "CONFIG GET requirepass" "KEYS *" "GET other:key" "SET other:key 1" "ACL LIST" \
    "SCRIPT FLUSH" "SHUTDOWN NOSAVE" "XGROUP DESTROY jobs certplane"; do
    # shellcheck disable=SC2086
    case "$(cp_cli $cmd)" in *NOPERM*) ;; *) denied+=("$cmd") ;; esac
done
set +f
wrongpass=$(REDISCLI_AUTH=wrong redis-cli --user certplane -p "$rport" GET cert:demo.certplane.test 2>&1 || true)
kill -TERM "$rpid"; wait "$rpid" || true
case "$noauth" in *NOAUTH*) ;; *) fail "Redis answered without the password: $noauth" ;; esac
[ "$acl_record" = "$record" ] || fail "the ACL user cannot read cert:demo.certplane.test: ${acl_record:0:200}"
[ "${#denied[@]}" = 0 ] || fail "the ACL user may run: ${denied[*]}"
case "$wrongpass" in *WRONGPASS*) ;; *) fail "the ACL user logged in with a wrong password" ;; esac
if grep -qF "$(cat "$dir/redis-certplane.password")" "$dir/redis.conf" ||
    grep -qF "$(cat "$dir/redis.password")" "$dir/redis.conf"; then
    fail "a Redis password in the clear in redis.conf"
fi
case "$record" in *'"private_key_pem":"cpenc1:run-'*) ;; *) fail "cert record not sealed: ${record:0:200}" ;; esac
case "$record" in *BEGIN*PRIVATE*) fail "cert record holds a key in the clear" ;; esac
ok=1
echo "scripts_run: 2 passed, 0 failed (serials $first then $second); keys at rest: sealed, files 0600, Redis password; ACL user certplane: nothing denied, no FLUSHALL/CONFIG/KEYS/other keys"
