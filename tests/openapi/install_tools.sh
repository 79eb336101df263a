#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/openapi/install_tools.sh - fetches the OpenAPI validator from the npm registry, once
#
# Usage: install_tools.sh TOOLS_DIR
# Idempotent: a TOOLS_DIR/openapi holding the pinned version is kept, so only the first run needs the
# registry. Result: TOOLS_DIR/openapi/node_modules/{@apidevtools/swagger-parser,yaml}.
set -euo pipefail

PKGS=("@apidevtools/swagger-parser@12.1.0" "yaml@2.8.1")

tools=${1:?usage: install_tools.sh TOOLS_DIR}
die() { echo "openapi install_tools: FAIL: $*" >&2; exit 1; }
for cmd in npm node flock; do
    command -v "$cmd" >/dev/null || die "'$cmd' not found (apt: nodejs npm util-linux)"
done
dir="$tools/openapi"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
want=${PKGS[0]##*@}
have=$(node -p "require('$dir/node_modules/@apidevtools/swagger-parser/package.json').version" 2>/dev/null || true)
if [ "$have" != "$want" ] || ! [ -f "$dir/node_modules/yaml/package.json" ]; then
    [ -f "$dir/package.json" ] || echo '{"name":"certplane-openapi-tools","private":true}' >"$dir/package.json"
    echo "openapi install_tools: npm install ${PKGS[*]} (once)"
    if ! (cd "$dir" && npm install --silent --no-audit --no-fund --ignore-scripts "${PKGS[@]}" \
            >install.log 2>&1); then
        sed 's/^/    /' "$dir/install.log" | tail -15 >&2
        die "cannot install ${PKGS[*]} from the npm registry ($(npm config get registry)); needed once to fill $dir"
    fi
fi
