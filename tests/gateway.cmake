# SPDX-License-Identifier: Apache-2.0
# tests/gateway.cmake - tests of the HTTP/JSON gateway and the metrics registry
cp_unit_test(controller gateway_routes DEPS ctl_gateway_routes)
cp_unit_test(controller metrics DEPS ctl_metrics)

# End to end against a real redis-server; needs the service core (controller/service.cmake).
if(TARGET ctl_service)
  cp_unit_test(controller gateway DEPS ctl_gateway ctl_service ctl_config PkgConfig::CURL LABELS redis)
endif()
