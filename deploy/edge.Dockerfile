# syntax=docker/dockerfile:1
# SPDX-License-Identifier: Apache-2.0
# deploy/edge.Dockerfile - certplane-edge image: Debian 12 build stage, slim runtime stage
#
# Build from the repository root:
#   docker build -f deploy/edge.Dockerfile -t certplane/certplane-edge:dev .
# The edge listens on unprivileged ports inside the container (8080 HTTP, 8443 HTTPS, 9180 admin), so
# it runs as uid 10001 with no capability; publish them as 80/443 (compose, a Service, a load balancer).

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
# libh2o-evloop 2.2.5 from Debian's source with deploy/h2o/patches (HTTP/2 rapid reset, conflicting
# Content-Length), linked statically: see docs/operations.md "Edge HTTP/2 defenses".
RUN scripts/build-h2o /opt/certplane-h2o \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTPLANE_TESTS=OFF \
      -DCERTPLANE_H2O_PREFIX=/opt/certplane-h2o -DCERTPLANE_REQUIRE_PATCHED_H2O=ON \
 && cmake --build /build --target certplane-edge -j"$(nproc)" \
 && strip --strip-debug /build/bin/certplane-edge \
 && /build/bin/certplane-edge --version

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# The edge links gRPC, protobuf-c and OpenSSL (its h2o is static; libh2o-evloop0.13 stays for shared
# layers); hiredis, libcurl and jansson are listed too so both images share one set of layers and the
# edge keeps working if it starts to use them.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc29 libprotobuf-c1 libhiredis0.14 libcurl4 libssl3 libh2o-evloop0.13 libjansson4 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 certplane \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin certplane
COPY --from=build /build/bin/certplane-edge /usr/local/bin/certplane-edge
ENV CERTPLANE_EDGE_LISTEN=0.0.0.0:8443 \
    CERTPLANE_EDGE_HTTP_LISTEN=0.0.0.0:8080 \
    CERTPLANE_EDGE_ADMIN_LISTEN=0.0.0.0:9180
USER 10001:10001
# 8080: HTTP (HTTP-01 answers, redirects). 8443: HTTPS. 9180: /healthz, /readyz, /metrics.
EXPOSE 8080 8443 9180
ENTRYPOINT ["/usr/local/bin/certplane-edge"]
