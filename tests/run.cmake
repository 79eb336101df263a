# SPDX-License-Identifier: Apache-2.0
# tests/run.cmake - scripts/run, the newcomer's first command, run twice in a row with the built binaries
add_test(NAME integration.scripts_run
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/test_scripts_run.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.scripts_run PROPERTIES TIMEOUT 400
  LABELS "integration;pebble;edge" ENVIRONMENT "${CP_TEST_ENV}")

# Every flag and variable of --help is documented in docs/configuration.md.
add_test(NAME integration.config_docs
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/integration/test_config_docs.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.config_docs PROPERTIES TIMEOUT 60 LABELS "docs"
  ENVIRONMENT "${CP_TEST_ENV}")
