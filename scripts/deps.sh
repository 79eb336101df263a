# SPDX-License-Identifier: Apache-2.0
# scripts/deps.sh - the Debian packages certplane needs, and one function that installs the missing ones
# Sourced by scripts/test and scripts/run.

# Building: compiler, CMake, and every library the binaries link.
CP_BUILD_PACKAGES="build-essential cmake pkg-config git clang-format
  libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev
  libhiredis-dev libcurl4-openssl-dev libssl-dev libh2o-evloop-dev libjansson-dev"
# Building the patched libh2o-evloop (scripts/build-h2o): Debian's source tools and h2o's build needs.
CP_H2O_BUILD_PACKAGES="build-essential cmake pkg-config dpkg-dev xz-utils patch ca-certificates
  libssl-dev zlib1g-dev libyaml-dev"  # libyaml-dev: h2o's CMake requires it
# Testing: the unit test framework, the real servers and clients the tests run against, and clang
# (libFuzzer, for scripts/fuzz).
CP_TEST_PACKAGES="libcmocka-dev redis-server redis-sentinel redis-tools pebble curl openssl
  python3 python3-grpcio python3-h2 python3-protobuf python3-yaml protobuf-compiler protobuf-compiler-grpc
  unzip util-linux haproxy clang
  prometheus python3-jsonschema zsh"  # issue 16: promtool; live OpenAPI validation; zsh -n
# The web console's browser test (tests/browser) drives Debian's chromium headless.
CP_TEST_PACKAGES="$CP_TEST_PACKAGES chromium"
# Running the whole system locally (scripts/run).
CP_RUN_PACKAGES="redis-server pebble curl openssl python3"

# cp_install_packages PKG...: apt-get installs those that are not installed yet (as root, or with sudo).
cp_install_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "== installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/tmp/certplane-apt.log 2>&1 || { tail -30 /tmp/certplane-apt.log; return 1; }
}

# cp_install_node: node and npm (the Helm chart test fetches helm and a schema validator from the npm
# registry). Machines that already have them (from any source) are left alone.
cp_install_node() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
    cp_install_packages nodejs npm
}
