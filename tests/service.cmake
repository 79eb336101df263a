# SPDX-License-Identifier: Apache-2.0
# tests/service.cmake - unit tests of the service core against a real redis-server
cp_unit_test(controller service       DEPS ctl_service LABELS redis)
cp_unit_test(controller service_watch DEPS ctl_service LABELS redis)
cp_unit_test(controller certcache      DEPS ctl_service)
cp_unit_test(controller service_cache DEPS ctl_service LABELS redis)
