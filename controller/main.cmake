# SPDX-License-Identifier: Apache-2.0
# controller/main.cmake - the certplane-controller binary and its gRPC transport
add_library(ctl_config STATIC ${CMAKE_SOURCE_DIR}/controller/config.c)
target_include_directories(ctl_config PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(ctl_config PUBLIC cp_cfg)

add_library(ctl_grpc STATIC
  ${CMAKE_SOURCE_DIR}/controller/grpc_server.c
  ${CMAKE_SOURCE_DIR}/controller/grpc_api.c)
target_include_directories(ctl_grpc PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(ctl_grpc PUBLIC ctl_config ctl_service ctl_metrics certplane_shared PkgConfig::GRPC
  Threads::Threads)

add_executable(certplane-controller ${CMAKE_SOURCE_DIR}/controller/main.c)
target_link_libraries(certplane-controller PRIVATE ctl_grpc ctl_gateway ctl_work ctl_service
  PkgConfig::CURL)
set_target_properties(certplane-controller PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
