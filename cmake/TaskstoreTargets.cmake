# Shared settings for taskstore's own targets. Only target_* commands: no global flags,
# so third-party code never sees our warning level.

# Applies the project's compile options to one of our own targets.
function(taskstore_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  # Designated initialisers leave the rest defaulted on purpose; gcc would flag each one.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  # g++ 12 false positives, both gone in g++ 13: -Wrestrict inside libstdc++'s std::string
  # when optimising (GCC bug 105329), and -Wmismatched-new-delete on Asio's coroutine
  # frames, whose class-specific operator new/delete pair g++ fails to match once inlined.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict -Wno-mismatched-new-delete)
  endif()
  if(TASKSTORE_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Boost 1.74 Asio has two known traps (see the README's toolchain notes):
#  - with g++ 12, awaitable.hpp uses std::exchange without including <utility>;
#  - with clang 14 and libstdc++, Asio does not detect coroutine support.
# Every target that includes Asio links this interface target.
add_library(taskstore_asio INTERFACE)
target_link_libraries(taskstore_asio INTERFACE Boost::headers Threads::Threads)
target_compile_options(taskstore_asio INTERFACE "SHELL:-include utility")
target_compile_definitions(taskstore_asio INTERFACE BOOST_ASIO_NO_DEPRECATED
  $<$<CXX_COMPILER_ID:Clang>:BOOST_ASIO_HAS_CO_AWAIT=1 BOOST_ASIO_HAS_STD_COROUTINE=1>)
add_library(taskstore::asio ALIAS taskstore_asio)

# A test program that runs suites on the reference backends: the suites' objects (OBJECT
# libraries, so googletest's registrations are linked without anchors) plus the one shared
# main (backends/reference/reference_test_main.cpp), one ctest entry per test and backend,
# and the check that its postgres tests skip cleanly without a server.
#   taskstore_add_reference_test_program(NAME name LABEL label
#     [BACKENDS memory file ...]   default: memory file sqlite postgres
#     [SCRATCH_SHM]                keep file and SQLite stores under /dev/shm
#     [SOURCES ...] [LIBRARIES ...] [DISCOVERY_TIMEOUT s])
function(taskstore_add_reference_test_program)
  cmake_parse_arguments(PARSE_ARGV 0 arg "SCRATCH_SHM" "NAME;LABEL;DISCOVERY_TIMEOUT"
                        "BACKENDS;SOURCES;LIBRARIES")
  if(NOT arg_BACKENDS)
    set(arg_BACKENDS memory file sqlite postgres)
  endif()
  if(NOT arg_DISCOVERY_TIMEOUT)
    set(arg_DISCOVERY_TIMEOUT 120)
  endif()
  set(scratch_shm 0)
  if(arg_SCRATCH_SHM)
    set(scratch_shm 1)
  endif()
  list(JOIN arg_BACKENDS "," backends)
  add_executable(${arg_NAME} ${PROJECT_SOURCE_DIR}/backends/reference/reference_test_main.cpp
                             ${arg_SOURCES})
  target_compile_definitions(${arg_NAME} PRIVATE
    TASKSTORE_TEST_PROGRAM="${arg_NAME}"
    TASKSTORE_TEST_BACKENDS="${backends}"
    TASKSTORE_TEST_SCRATCH_SHM=${scratch_shm})
  target_link_libraries(${arg_NAME} PRIVATE ${arg_LIBRARIES} taskstore::reference_conformance)
  taskstore_target_defaults(${arg_NAME})
  if(arg_BACKENDS STREQUAL "unavailable")
    # Nothing runs: only the check that every backend-parameterised test skips.
    taskstore_add_skip_check(${arg_NAME} ${arg_LABEL} BACKEND unavailable
                             REASON "a backend that is never available")
    return()
  endif()
  gtest_discover_tests(${arg_NAME}
    PROPERTIES LABELS "${arg_LABEL}"
    DISCOVERY_TIMEOUT ${arg_DISCOVERY_TIMEOUT})
  if(postgres IN_LIST arg_BACKENDS)
    taskstore_add_skip_check(${arg_NAME} ${arg_LABEL})
  endif()
endfunction()

# A ctest entry that runs `program`'s tests on one unavailable backend (by default
# postgres, with TASKSTORE_PG unset) and checks that every one is skipped with the reason,
# none crashes or passes (CheckSkipsWithoutServer.cmake), so a fixture that runs on after a
# skip cannot come back unseen when CI has a server.
#   taskstore_add_skip_check(program label [BACKEND name] [REASON text])
function(taskstore_add_skip_check program label)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "BACKEND;REASON" "")
  if(NOT arg_BACKEND)
    set(arg_BACKEND postgres)
  endif()
  if(NOT arg_REASON)
    set(arg_REASON "TASKSTORE_PG is not set")
  endif()
  add_test(NAME ${program}_skips_without_${arg_BACKEND}
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${program}>
            "-DFILTER=*/${arg_BACKEND}" "-DREASON=${arg_REASON}"
            -P ${PROJECT_SOURCE_DIR}/cmake/CheckSkipsWithoutServer.cmake)
  set_tests_properties(${program}_skips_without_${arg_BACKEND} PROPERTIES LABELS "${label}")
endfunction()
