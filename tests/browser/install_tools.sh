#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/browser/install_tools.sh - puppeteer-core (the DevTools protocol client) from npm, once
#
# Usage: install_tools.sh TOOLS_DIR
# Idempotent: a TOOLS_DIR/browser/node_modules/puppeteer-core of the pinned version is kept, so only
# the first run needs the npm registry. puppeteer-core downloads no browser: the test drives Debian's
# chromium (scripts/deps.sh installs it with the test packages). Needs: npm, node, flock.
set -euo pipefail

PKG="puppeteer-core@24.37.2"

tools=${1:?usage: install_tools.sh TOOLS_DIR}
mkdir -p "$tools/browser"
dir=$(cd "$tools/browser" && pwd)
die() { echo "install_tools: FAIL: $*" >&2; exit 1; }
for cmd in npm node flock; do
    command -v "$cmd" >/dev/null || die "'$cmd' not found (apt: nodejs+npm, util-linux for flock)"
done
exec 9>"$dir/.lock"
flock 9
want=${PKG##*@}
have=$(node -p "require('$dir/node_modules/puppeteer-core/package.json').version" 2>/dev/null || true)
if [ "$have" != "$want" ]; then
    [ -f "$dir/package.json" ] || echo '{"name":"certplane-browser-tools","private":true}' >"$dir/package.json"
    echo "install_tools: npm install $PKG (once)"
    if ! (cd "$dir" && npm install --silent --no-audit --no-fund --ignore-scripts "$PKG" >install.log 2>&1); then
        sed 's/^/    /' "$dir/install.log" | tail -15 >&2
        die "cannot install $PKG from the npm registry ($(npm config get registry)); the console test needs it once to fill $dir"
    fi
fi
echo "install_tools: ok: puppeteer-core $(node -p "require('$dir/node_modules/puppeteer-core/package.json').version")"
