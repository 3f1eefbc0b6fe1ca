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

# A ctest entry that runs `program`'s postgres tests with TASKSTORE_PG unset and checks that
# every one is skipped with the reason, none crashes or passes (CheckSkipsWithoutServer.cmake),
# so a fixture that runs on after a skip cannot come back unseen when CI has a server.
function(taskstore_add_skip_check program label)
  add_test(NAME ${program}_skips_without_postgres
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${program}>
            -P ${PROJECT_SOURCE_DIR}/cmake/CheckSkipsWithoutServer.cmake)
  set_tests_properties(${program}_skips_without_postgres PROPERTIES LABELS "${label}")
endfunction()
