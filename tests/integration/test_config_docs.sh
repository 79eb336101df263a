#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_config_docs.sh - every flag and environment variable in the --help of both binaries (and every
# certplanectl command's options) is documented in docs/configuration.md.
# Usage: test_config_docs.sh BIN_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
doc=$here/docs/configuration.md
pass=0 fail=0
check() { # word, where
    if grep -qF -- "$1" "$doc"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL - $1 ($2) is not in docs/configuration.md"; fi
}
for b in certplane-controller certplane-edge; do
    help=$("$1/$b" --help)
    for f in $(grep -oE '^  --[a-z0-9-]+' <<<"$help"); do check "\`$f\`" "$b"; done
    for e in $(grep -oE '\[\$CERTPLANE_[A-Z0-9_]+\]' <<<"$help" | tr -d '[]$'); do check "\`$e\`" "$b"; done
done
for c in create get list delete renew revoke import watch status edges account; do
    for f in $("$1/certplanectl" help "$c" | grep -oE -- '--[a-z0-9-]+' | sort -u); do check "$f" "certplanectl $c"; done
done
echo "config_docs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
