# SPDX-License-Identifier: Apache-2.0
# controller/work.cmake - the controller's work machinery: renewal policy, ACME workers, scheduler

# Renewal policy: pure functions, no dependencies.
add_library(ctl_renew STATIC ${CMAKE_SOURCE_DIR}/controller/renew.c)
target_include_directories(ctl_renew PUBLIC ${CMAKE_SOURCE_DIR})

# Workers (jobs stream -> ACME -> Redis) and the renewal scheduler.
add_library(ctl_work STATIC
  ${CMAKE_SOURCE_DIR}/controller/work.c
  ${CMAKE_SOURCE_DIR}/controller/work_job.c
  ${CMAKE_SOURCE_DIR}/controller/work_acme.c
  ${CMAKE_SOURCE_DIR}/controller/work_rec.c
  ${CMAKE_SOURCE_DIR}/controller/work_sched.c)
target_include_directories(ctl_work PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(ctl_work PUBLIC ctl_renew ctl_acme ctl_metrics certplane_shared Threads::Threads)
