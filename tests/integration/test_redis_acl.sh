#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_redis_acl.sh - least privilege in Redis: the controller works as the ACL user of
# helm/certplane/files/redis-acl.rules (the rule scripts/run and the chart use) and Redis denies it
# nothing, while the user cannot run what the controller does not need.
#
# Usage: test_redis_acl.sh SOURCE_DIR TEST_BINARY...
# 1. A redis-server with the user (helm/certplane/files/redis-acl-user): it reads and writes certplane's keys;
#    FLUSHALL, CONFIG, KEYS, ACL, SCRIPT FLUSH, SHUTDOWN, keys of other prefixes are NOPERM.
# 2. Each TEST_BINARY (integration tests driving controller processes: certplanectl's every command,
#    create/import/list/renew/revoke/delete, Watch over gRPC and REST, two controllers sharing jobs
#    and reclaiming a killed one's, locks, ACME issuance) runs in the harness's ACL mode
#    (tests/support/redis_acl.h): every controller logs in as the ACL user. Each test must pass and
#    every server's ACL LOG must be empty. CP_TEST_REDIS_ACL_RULES overrides the rules file (to check
#    that removing a needed command fails this test).
set -uo pipefail
src=${1:?usage: test_redis_acl.sh SOURCE_DIR TEST_BINARY...}
shift
rules=${CP_TEST_REDIS_ACL_RULES:-$src/helm/certplane/files/redis-acl.rules}
dir=$(mktemp -d "${TMPDIR:-/tmp}/cp-redis-acl.XXXXXX")
rpid=
ok=0
trap '[ -n "$rpid" ] && kill -TERM "$rpid" 2>/dev/null; [ "$ok" = 1 ] && rm -rf "$dir" || echo "redis_acl: kept $dir"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# ---- 1. the user's limits -------------------------------------------------------------------------
printf 'acl-test-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/password"
{ echo "user default off"; "$src/helm/certplane/files/redis-acl-user" certplane "$dir/password" "$rules"; } >"$dir/users.acl"
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

# ---- 2. controllers through every path, as the ACL user -------------------------------------------
mkdir -p "$dir/acl-logs"
for t in "$@"; do
    name=$(basename "$t")
    start=$(date +%s)
    if CP_TEST_REDIS_ACL_RULES=$rules CP_TEST_ACL_LOG_DIR=$dir/acl-logs "$t" >"$dir/$name.log" 2>&1; then
        echo "ok   $name as the ACL user ($(($(date +%s) - start)) s)"
    else
        fail "$name as the ACL user; its output:"
        tail -n 60 "$dir/$name.log"
    fi
done
n=$(find "$dir/acl-logs" -type f | wc -l)
[ "$n" -ge "$#" ] || fail "only $n ACL LOGs read for $# tests"
denied=$(cat "$dir"/acl-logs/* | grep -A 9 '^reason$' || true)
if [ -n "$denied" ]; then
    fail "Redis denied the controller's ACL user (ACL LOG):"
    cat "$dir"/acl-logs/* | awk '/^(reason|object|username)$/ {k=$0; getline; printf "       %s=%s\n", k, $0}'
else
    echo "ok   ACL LOG empty on all $n Redis servers"
fi
if [ $failures -ne 0 ]; then echo "redis_acl: $failures check(s) FAILED"; exit 1; fi
ok=1
echo "redis_acl: all checks passed"
