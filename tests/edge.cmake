# SPDX-License-Identifier: Apache-2.0
# tests/edge.cmake - unit and integration tests of certplane-edge
add_library(edge_testcert STATIC ${CMAKE_CURRENT_LIST_DIR}/unit/edge/testcert.c)
target_link_libraries(edge_testcert PUBLIC edge_core certplane_testsupport)

cp_unit_test(edge certmap DEPS edge_core edge_testcert)
cp_unit_test(edge sni DEPS edge_core edge_testcert)
cp_unit_test(edge certparse DEPS edge_core)
cp_unit_test(edge proxy DEPS edge_runtime)
cp_unit_test(edge watch_apply DEPS edge_watch_apply edge_testcert)

# Integration: the certplane-edge binary against a real controller and redis-server.
add_executable(test_integration_edge ${CMAKE_CURRENT_LIST_DIR}/integration/test_edge.c)
target_link_libraries(test_integration_edge PRIVATE certplane_testsupport cp_x509 Threads::Threads)
add_dependencies(test_integration_edge certplane-edge certplane-controller)
add_test(NAME integration.edge COMMAND test_integration_edge)
set_tests_properties(integration.edge PROPERTIES TIMEOUT 300 LABELS "integration;redis;edge"
  ENVIRONMENT "${CP_TEST_ENV};CP_CONTROLLER_BIN=$<TARGET_FILE:certplane-controller>;CP_EDGE_BIN=$<TARGET_FILE:certplane-edge>")

# End to end: Pebble validates HTTP-01 through an edge; two edges serve what the controller issued.
add_executable(test_integration_edge_acme ${CMAKE_CURRENT_LIST_DIR}/integration/test_edge_acme.c)
target_link_libraries(test_integration_edge_acme PRIVATE certplane_testsupport PkgConfig::JANSSON Threads::Threads)
add_dependencies(test_integration_edge_acme certplane-edge certplane-controller)
add_test(NAME integration.edge_acme COMMAND test_integration_edge_acme)
set_tests_properties(integration.edge_acme PROPERTIES TIMEOUT 300 LABELS "integration;pebble;edge"
  ENVIRONMENT "${CP_TEST_ENV};CP_CONTROLLER_BIN=$<TARGET_FILE:certplane-controller>;CP_EDGE_BIN=$<TARGET_FILE:certplane-edge>")
