# syntax=docker/dockerfile:1
# SPDX-License-Identifier: Apache-2.0
# deploy/controller.Dockerfile - certplane-controller image: Debian 12 build stage, slim runtime stage
#
# Build from the repository root:
#   docker build -f deploy/controller.Dockerfile -t certplane/certplane-controller:dev .
# The runtime image holds the binary, the shared libraries it links and the CA store; it runs as uid
# 10001 with no shell tools beyond Debian's base. Configuration comes from CERTPLANE_* variables.

ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev \
      libhiredis-dev libcurl4-openssl-dev libssl-dev libh2o-evloop-dev libjansson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTPLANE_TESTS=OFF \
 && cmake --build /build --target certplane-controller -j"$(nproc)" \
 && strip --strip-debug /build/bin/certplane-controller \
 && /build/bin/certplane-controller --version

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc29 libprotobuf-c1 libhiredis0.14 libcurl4 libssl3 libh2o-evloop0.13 libjansson4 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 certplane \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin certplane
COPY --from=build /build/bin/certplane-controller /usr/local/bin/certplane-controller
# Listen on every address inside the container (the binary's defaults are loopback only).
ENV CERTPLANE_HTTP_LISTEN=0.0.0.0:8080 \
    CERTPLANE_GRPC_LISTEN=0.0.0.0:8443
# A numeric user, so Kubernetes can verify runAsNonRoot.
USER 10001:10001
# 8080: HTTP/JSON gateway, /healthz, /readyz, /metrics. 8443: gRPC.
EXPOSE 8080 8443
ENTRYPOINT ["/usr/local/bin/certplane-controller"]
