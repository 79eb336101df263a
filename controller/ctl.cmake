# SPDX-License-Identifier: Apache-2.0
# controller/ctl.cmake - certplanectl, the command-line client over the REST API (libcurl)
#
# ctl_cli holds every module but main.c, so unit tests link the modules they test.
add_library(ctl_cli STATIC
  ${CMAKE_SOURCE_DIR}/controller/ctl/args.c
  ${CMAKE_SOURCE_DIR}/controller/ctl/table.c
  ${CMAKE_SOURCE_DIR}/controller/ctl/http.c
  ${CMAKE_SOURCE_DIR}/controller/ctl/cmd_certs.c
  ${CMAKE_SOURCE_DIR}/controller/ctl/cmd_watch.c
  ${CMAKE_SOURCE_DIR}/controller/ctl/cmd_status.c)
target_include_directories(ctl_cli PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(ctl_cli PUBLIC certplane_shared certplane_proto PkgConfig::CURL PkgConfig::JANSSON)

add_executable(certplanectl ${CMAKE_SOURCE_DIR}/controller/ctl/main.c)
target_link_libraries(certplanectl PRIVATE ctl_cli)
set_target_properties(certplanectl PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
