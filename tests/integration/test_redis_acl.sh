#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_redis_acl.sh - least privilege in Redis: the controller works as the ACL user of
# helm/certplane/files/redis-acl.rules (the rule scripts/run and the chart use) and Redis denies it
# nothing, while the user cannot run what the controller does not need.
#
# Usage: test_redis_acl.sh SOURCE_DIR TEST_BINARY...
# 1. A redis-server with the user (helm/certplane/files/redis-acl-user): it reads and writes
#    certplane's keys; FLUSHALL, CONFIG, KEYS, ACL, SCRIPT FLUSH, SHUTDOWN, other keys are NOPERM.
# 2. A dead controller's pending job, a job held too long and a dead owner's lock, taken over by a
#    controller (--redis-user, --redis-password-file) as the ACL user; its ACL LOG must be empty.
# 3. Each TEST_BINARY (integration tests driving controller processes: certplanectl's every command,
#    create/import/list/renew/revoke/delete, Watch over gRPC and REST, two controllers sharing jobs
#    and reclaiming a killed one's, locks, ACME issuance) runs in the harness's ACL mode
#    (tests/support/redis_acl.h): every controller logs in as the ACL user. Each test must pass and
#    every server's ACL LOG must be empty. A test that fails runs once more (a denied command is
#    in the ACL LOG either way; the retry only absorbs a test's own timing flake).
# CP_TEST_REDIS_ACL_RULES overrides the rules file (to check that removing a needed command fails
# this test).
set -uo pipefail
src=${1:?usage: test_redis_acl.sh SOURCE_DIR TEST_BINARY...}
shift
rules=${CP_TEST_REDIS_ACL_RULES:-$src/helm/certplane/files/redis-acl.rules}
dir=$(mktemp -d "${TMPDIR:-/tmp}/cp-redis-acl.XXXXXX")
rpid=
ok=0
trap '[ -n "$rpid" ] && kill -TERM "$rpid" 2>/dev/null
      [ "$ok" = 1 ] && rm -rf "$dir" || echo "redis_acl: kept $dir"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# ---- 1. the user's limits -------------------------------------------------------------------------
printf 'acl-test-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/password"
{ echo "user default off"
  "$src/helm/certplane/files/redis-acl-user" certplane "$dir/password" "$rules"; } >"$dir/users.acl"
port=$((30000 + ($$ % 5000)))
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" \
    --aclfile "$dir/users.acl" --daemonize no >"$dir/redis.log" 2>&1 &
rpid=$!
cli() { REDISCLI_AUTH=$(cat "$dir/password") redis-cli --user certplane -p "$port" "$@" 2>&1; }
for _ in $(seq 1 100); do [ "$(cli PING)" = PONG ] && break; sleep 0.05; done
[ "$(cli SET cert:acl-test '{"name":"x"}')" = OK ] || fail "the ACL user cannot SET cert:acl-test"
[ "$(cli GET cert:acl-test)" = '{"name":"x"}' ] || fail "the ACL user cannot GET cert:acl-test"
[ "$(cli XADD jobs '*' kind issue)" != "" ] && [ "$(cli XGROUP CREATE jobs workers 0)" = OK ] ||
    fail "the ACL user cannot use the jobs stream"
set -f # "KEYS *" is Redis', not the shell's
for cmd in "FLUSHALL" "FLUSHDB" "CONFIG GET requirepass" "CONFIG SET appendonly no" "KEYS *" \
    "GET other:key" "SET other:key 1" "DEL other:key" "ACL LIST" "ACL SETUSER x on" "SCRIPT FLUSH" \
    "SHUTDOWN NOSAVE" "XGROUP DESTROY jobs workers" "MONITOR" "SUBSCRIBE x" "CLIENT LIST" \
    "SLAVEOF 127.0.0.1 1" "MIGRATE 127.0.0.1 1 cert:acl-test 0 1" "RENAME cert:acl-test other:x"; do
    # shellcheck disable=SC2086
    out=$(timeout 5 bash -c 'REDISCLI_AUTH=$0 redis-cli --user certplane -p "$1" "${@:2}" 2>&1' \
        "$(cat "$dir/password")" "$port" $cmd)
    case "$out" in *NOPERM*) ;; *) fail "the ACL user may run $cmd: ${out:0:120}" ;; esac
done
set +f
# The default user is off in this file: no command at all without the password.
case "$(redis-cli -p "$port" GET cert:acl-test 2>&1)" in *NOAUTH* | *NOPERM*) ;;
*) fail "Redis answered the default user" ;; esac
kill -TERM "$rpid"; wait "$rpid" 2>/dev/null; rpid=
[ $failures -eq 0 ] && echo "ok   the ACL user's limits (FLUSHALL, CONFIG, KEYS, ACL, other keys... NOPERM)"

# ---- 2. a dead controller's jobs and lock, taken over by a controller logged in as the ACL user ----
# (the reclaim script's XPENDING/XCLAIM/XACK, XAUTOCLAIM of a job held too long, a lock takeover):
# the state a controller killed with kill -9 leaves, made by the default user, then one controller.
printf 'admin-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/admin.password"
{ printf 'user default on #%s ~* &* +@all\n' "$(tr -d '\n' <"$dir/admin.password" | sha256sum | cut -d' ' -f1)"
  "$src/helm/certplane/files/redis-acl-user" certplane "$dir/password" "$rules"; } >"$dir/users2.acl"
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" \
    --aclfile "$dir/users2.acl" --daemonize no >"$dir/redis2.log" 2>&1 &
rpid=$!
admin() { REDISCLI_AUTH=$(cat "$dir/admin.password") redis-cli -p "$port" "$@" 2>&1; }
for _ in $(seq 1 100); do [ "$(admin PING)" = PONG ] && break; sleep 0.05; done
admin XGROUP CREATE jobs controllers 0 MKSTREAM >/dev/null
for n in orphan-1 orphan-2; do admin XADD jobs '*' kind issue name "$n" revision 1 >/dev/null; done
# orphan-1 pending at a consumer whose controller (ghost) has no presence key; orphan-2 at a live
# one's (presence set, lock held) for longer than --job-timeout.
admin XREADGROUP GROUP controllers 'ghost/0@abcd' COUNT 1 STREAMS jobs '>' >/dev/null
admin SET controller:busy 'ef01' PX 60000 >/dev/null
admin XREADGROUP GROUP controllers 'busy/0@ef01' COUNT 1 STREAMS jobs '>' >/dev/null
admin SET lock:cert:orphan-1 'ghost@abcd|ff' PX 60000 >/dev/null
cport=$((port + 1)) hport=$((port + 2))
CERTPLANE_CONTROLLER_ID=acl-test "$CP_CONTROLLER_BIN" --grpc-listen "127.0.0.1:$cport" \
    --http-listen "127.0.0.1:$hport" --insecure-no-auth --insecure-plaintext-keys \
    --redis-url "redis://127.0.0.1:$port/0" --redis-user certplane --redis-password-file "$dir/password" \
    --job-timeout 1s >"$dir/controller.log" 2>&1 &
cpid=$!
pending=
for _ in $(seq 1 150); do
    pending=$(admin XPENDING jobs controllers | head -n 1)
    [ "$pending" = 0 ] && break
    sleep 0.1
done
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/readyz" || true)
kill -TERM "$cpid"; wait "$cpid" 2>/dev/null
admin ACL LOG >"$dir/acl-log-reclaim.txt"
admin SHUTDOWN NOSAVE >/dev/null; wait "$rpid" 2>/dev/null; rpid=
reclaimed=$(grep -c 'reclaimed after' "$dir/controller.log" || true)
if [ "$pending" = 0 ] && [ "$reclaimed" -ge 2 ] && [ "$ready" = 200 ] && ! grep -q '^reason$' "$dir/acl-log-reclaim.txt"; then
    echo "ok   a dead controller's job and an expired one reclaimed, ready, nothing denied"
else
    fail "reclaim as the ACL user: pending $pending, $reclaimed reclaimed, readyz $ready; ACL LOG:"
    awk '/^(reason|object)$/ {k=$0; getline; printf "       %s=%s\n", k, $0}' "$dir/acl-log-reclaim.txt"
    tail -n 20 "$dir/controller.log"
fi

# ---- 3. controllers through every path, as the ACL user -------------------------------------------
mkdir -p "$dir/acl-logs"
as_acl_user() { CP_TEST_REDIS_ACL_RULES=$rules CP_TEST_ACL_LOG_DIR=$dir/acl-logs "$@"; }
for t in "$@"; do
    name=$(basename "$t")
    start=$(date +%s)
    if as_acl_user "$t" >"$dir/$name.log" 2>&1; then
        echo "ok   $name as the ACL user ($(($(date +%s) - start)) s)"
    elif echo "     $name failed once; again:" && grep -h 'FAILED\|ERROR' "$dir/$name.log" | head -n 5 &&
        as_acl_user "$t" >"$dir/$name.retry.log" 2>&1; then
        echo "ok   $name as the ACL user, on the second run ($(($(date +%s) - start)) s)"
    else
        fail "$name as the ACL user; its output:"
        tail -n 60 "$dir/$name.retry.log"
    fi
done
n=$(find "$dir/acl-logs" -type f | wc -l)
[ "$n" -ge "$#" ] || fail "only $n ACL LOGs read for $# tests"
denied=$(cat "$dir"/acl-logs/* 2>/dev/null | grep -A 9 '^reason$' || true)
if [ -n "$denied" ]; then
    fail "Redis denied the controller's ACL user (ACL LOG):"
    cat "$dir"/acl-logs/* | awk '/^(reason|object|username)$/ {k=$0; getline; printf "       %s=%s\n", k, $0}'
else
    echo "ok   ACL LOG empty on all $n Redis servers"
fi
if [ $failures -ne 0 ]; then echo "redis_acl: $failures check(s) FAILED"; exit 1; fi
ok=1
echo "redis_acl: all checks passed"
