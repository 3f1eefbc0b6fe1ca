# Runs one googletest program's tests on an unavailable backend (by default postgres with
# no server configured: TASKSTORE_PG unset) and checks that each of them was reported as
# skipped with the reason: the program exits 0, runs at least one test, passes none and
# fails none, and prints the reason. A test that goes on after its skip and touches a store
# that was never made crashes the program, which this catches. Run as:
#   cmake -DPROGRAM=<test program> [-DFILTER=<gtest filter>] [-DREASON=<text>]
#         -P CheckSkipsWithoutServer.cmake
cmake_minimum_required(VERSION 3.25)
if(NOT PROGRAM)
  message(FATAL_ERROR "pass -DPROGRAM=<googletest program>")
endif()
if(NOT FILTER)
  set(FILTER "*/postgres")
endif()
if(NOT REASON)
  set(REASON "TASKSTORE_PG is not set")
endif()

unset(ENV{TASKSTORE_PG})
unset(ENV{TASKSTORE_PG_STOP})
unset(ENV{TASKSTORE_PG_START})
execute_process(COMMAND "${PROGRAM}" "--gtest_filter=${FILTER}" --gtest_color=no
  OUTPUT_VARIABLE output ERROR_VARIABLE output RESULT_VARIABLE rc)
get_filename_component(name "${PROGRAM}" NAME)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${name} --gtest_filter=${FILTER} on an unavailable backend exited with "
                      "'${rc}' instead of 0 (a skipped test went on?):\n${output}")
endif()
if(NOT output MATCHES "\\[  SKIPPED \\] ([0-9]+) test")
  message(FATAL_ERROR "${name}: no test was skipped for ${FILTER}:\n${output}")
endif()
set(skipped ${CMAKE_MATCH_1})
if(NOT output MATCHES "\\[  PASSED  \\] 0 tests")
  message(FATAL_ERROR "${name}: a test of ${FILTER} passed on an unavailable backend:\n${output}")
endif()
string(FIND "${output}" "${REASON}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${name}: the skips do not give the reason '${REASON}':\n${output}")
endif()
message(STATUS "${name}: ${skipped} tests of ${FILTER} skipped, with the reason")
