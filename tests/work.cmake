# SPDX-License-Identifier: Apache-2.0
# tests/work.cmake - tests of the controller's work machinery (renewal policy, workers, scheduler)
cp_unit_test(controller renew DEPS ctl_renew)

# Integration tests: real redis-server, pebble and pebble-challtestsrv (tests/support, acme_env).
if(TARGET cp_test_acme_env)
  add_library(cp_test_work_env STATIC integration/test_work_env.c)
  target_link_libraries(cp_test_work_env PUBLIC ctl_work cp_test_acme_env PkgConfig::HIREDIS)

  function(cp_work_integration_test name)
    add_executable(test_integration_${name} integration/test_${name}.c)
    target_link_libraries(test_integration_${name} PRIVATE cp_test_work_env)
    add_test(NAME integration.${name} COMMAND test_integration_${name})
    set_tests_properties(integration.${name} PROPERTIES TIMEOUT 180 LABELS "integration;pebble"
      ENVIRONMENT "${CP_TEST_ENV}")
  endfunction()

  cp_work_integration_test(work_issue)
  cp_work_integration_test(work_renew)
  cp_work_integration_test(work_fail)
  cp_work_integration_test(work_ha)
  cp_work_integration_test(work_edges)
endif()
