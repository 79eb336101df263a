# SPDX-License-Identifier: Apache-2.0
# tests/ctl.cmake - certplanectl: unit tests of its modules, and an integration test against a real
# controller + Redis
cp_unit_test(ctl args  DEPS ctl_cli)
cp_unit_test(ctl table DEPS ctl_cli)
cp_unit_test(ctl http  DEPS ctl_cli)

add_executable(test_integration_ctl ${CMAKE_CURRENT_LIST_DIR}/integration/test_ctl.c)
target_link_libraries(test_integration_ctl PRIVATE certplane_testsupport PkgConfig::JANSSON
  PkgConfig::CURL)
add_dependencies(test_integration_ctl certplanectl certplane-controller)
add_test(NAME integration.ctl COMMAND test_integration_ctl)
set_tests_properties(integration.ctl PROPERTIES TIMEOUT 300 LABELS "integration;redis"
  ENVIRONMENT "${CP_TEST_ENV};CP_CONTROLLER_BIN=$<TARGET_FILE:certplane-controller>;CP_CTL_BIN=$<TARGET_FILE:certplanectl>")
