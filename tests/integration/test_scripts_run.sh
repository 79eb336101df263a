#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_scripts_run.sh - scripts/run reaches a served demo certificate, twice in a row on the same data
# (the second run finds the certificate in its Redis and renews it from that run's CA).
# Usage: test_scripts_run.sh BIN_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$(mktemp -d /tmp/cp-run-test.XXXXXX)
ok=0
# Logs stay on failure (the path is printed), so a crash can be read afterwards.
trap '[ "$ok" = 1 ] && rm -rf "$dir" || echo "scripts_run: logs kept in $dir"' EXIT
# A port base far from the ephemeral range the other tests draw their free ports from.
base=$((20000 + ($$ % 200) * 50))
run() {
    CERTPLANE_RUN_BIN=$1 CERTPLANE_SKIP_INSTALL=1 CERTPLANE_RUN_EXIT=1 CERTPLANE_RUN_DIR=$dir \
        CERTPLANE_RUN_PORT_BASE=$base timeout 300 "$here/scripts/run" >"$dir/out.log" 2>&1 || {
        cat "$dir/out.log"; tail -n 30 "$dir"/logs/*.log; return 1; }
    cat "$dir/out.log"
    grep -q "demo done: the certificate was issued through the edge's HTTP-01" "$dir/out.log"
    grep -q "curl: HTTP 200 over HTTP/2, certificate verified" "$dir/out.log"
    grep -q "page: Hello from behind certplane-edge" "$dir/out.log"
    grep -q 'metrics: certplane_certificates{state="VALID"} 1' "$dir/out.log"
    grep -q 'metrics: certplane_acme_request_duration_seconds_count' "$dir/out.log"
}
run "$1"
first=$(sed -n 's/.*served certificate serial: \([0-9a-f]*\).*/\1/p' "$dir/out.log")
run "$1"
grep -q "exists from an earlier run (data persisted in Redis): renewing it" "$dir/out.log"
grep -q 'metrics: certplane_issuances_total{kind="renew",result="success"} 1' "$dir/out.log"
second=$(sed -n 's/.*served certificate serial: \([0-9a-f]*\).*/\1/p' "$dir/out.log")
[ -n "$first" ] && [ -n "$second" ] && [ "$first" != "$second" ]
ok=1
echo "scripts_run: 2 passed, 0 failed (serials $first then $second)"
