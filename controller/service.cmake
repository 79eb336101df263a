# SPDX-License-Identifier: Apache-2.0
# controller/service.cmake - the service core (every RPC once, for both transports) and the event relay
add_library(ctl_service STATIC
  ${CMAKE_SOURCE_DIR}/controller/service.c
  ${CMAKE_SOURCE_DIR}/controller/service_auth.c
  ${CMAKE_SOURCE_DIR}/controller/service_certs.c
  ${CMAKE_SOURCE_DIR}/controller/service_list.c
  ${CMAKE_SOURCE_DIR}/controller/service_import.c
  ${CMAKE_SOURCE_DIR}/controller/service_edges.c
  ${CMAKE_SOURCE_DIR}/controller/service_watch.c
  ${CMAKE_SOURCE_DIR}/controller/relay.c
  ${CMAKE_SOURCE_DIR}/controller/certcache.c)
target_include_directories(ctl_service PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(ctl_service PUBLIC certplane_shared ctl_acme PkgConfig::JANSSON PkgConfig::OPENSSL
  Threads::Threads)
