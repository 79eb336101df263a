# SPDX-License-Identifier: Apache-2.0
# tests/controller.cmake - integration tests of the certplane-controller binary
function(cp_binary_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "LABELS" ${ARGN})
  add_executable(test_integration_${name} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/integration/test_${name}.c)
  target_link_libraries(test_integration_${name} PRIVATE certplane_testsupport)
  add_dependencies(test_integration_${name} certplane-controller)
  add_test(NAME integration.${name} COMMAND test_integration_${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(integration.${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    LABELS "integration;${T_LABELS}"
    ENVIRONMENT "${CP_TEST_ENV};CP_CONTROLLER_BIN=$<TARGET_FILE:certplane-controller>")
endfunction()

cp_binary_test(api_clients LABELS redis)

# gRPC over TLS and mTLS: python3-grpcio clients and a real edge against a TLS controller.
cp_binary_test(grpc_tls LABELS redis TIMEOUT 120)
add_dependencies(test_integration_grpc_tls certplane-edge)
set_property(TEST integration.grpc_tls APPEND PROPERTY ENVIRONMENT
  "CP_EDGE_BIN=$<TARGET_FILE:certplane-edge>")
cp_binary_test(controller_ha LABELS pebble TIMEOUT 400)
