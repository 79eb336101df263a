# SPDX-License-Identifier: Apache-2.0
# controller/gateway.cmake - the HTTP/JSON gateway (h2o evloop) and the metrics registry
#
# ctl_service is defined by controller/service.cmake, which may be included after this file (or not yet
# exist): $<TARGET_NAME_IF_EXISTS:...> resolves at generate time, so the order does not matter.

# Metrics: counters anyone may call; ctl_metrics_render lists certificates through the service core.
add_library(ctl_metrics STATIC controller/metrics.c controller/metrics_scrape.c)
target_include_directories(ctl_metrics PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(ctl_metrics PUBLIC cp_err certplane_proto $<TARGET_NAME_IF_EXISTS:ctl_service>
  m)

# The route table and status mapping alone (no h2o, no service), for the docs check.
add_library(ctl_gateway_routes STATIC controller/gateway_routes.c)
target_include_directories(ctl_gateway_routes PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_definitions(ctl_gateway_routes PUBLIC H2O_USE_LIBUV=0)
target_link_libraries(ctl_gateway_routes PUBLIC cp_err)

add_library(ctl_gateway STATIC controller/gateway.c controller/gateway_req.c
  controller/gateway_watch.c)
target_include_directories(ctl_gateway PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_definitions(ctl_gateway PUBLIC H2O_USE_LIBUV=0)
target_link_libraries(ctl_gateway PUBLIC ctl_gateway_routes ctl_metrics ctl_http01 cp_json
  certplane_shared PkgConfig::H2O PkgConfig::OPENSSL PkgConfig::JANSSON Threads::Threads
  $<TARGET_NAME_IF_EXISTS:ctl_service>)
