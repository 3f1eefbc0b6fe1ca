# Fails when a co_await expression builds a braced temporary or a lambda on the same line.
# g++ 12 destroys such a temporary twice inside a coroutine (a double free); name the
# argument first and co_await std::move(it). Run as:
#   cmake -DROOT=<source dir> -P CheckCoawaitTemporaries.cmake
if(NOT ROOT)
  message(FATAL_ERROR "pass -DROOT=<source dir>")
endif()
file(GLOB_RECURSE sources
  "${ROOT}/include/*.hpp" "${ROOT}/spec/*.cpp" "${ROOT}/backends/*.cpp" "${ROOT}/backends/*.hpp"
  "${ROOT}/conformance/*.cpp" "${ROOT}/conformance/*.hpp" "${ROOT}/queue/*.cpp"
  "${ROOT}/queue/*.hpp" "${ROOT}/examples/*.cpp" "${ROOT}/bench/*.cpp" "${ROOT}/fuzz/*.cpp")
set(offences "")
foreach(source IN LISTS sources)
  file(STRINGS "${source}" lines REGEX "co_await")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*//")
      continue()
    endif()
    if(line MATCHES "co_await[^;]*[[{]")
      file(RELATIVE_PATH where "${ROOT}" "${source}")
      string(STRIP "${line}" line)
      string(APPEND offences "  ${where}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(offences)
  message(FATAL_ERROR "co_await with a braced temporary or lambda in the expression "
                      "(g++ 12 destroys it twice; name it first):\n${offences}")
endif()
message(STATUS "no braced temporaries inside co_await expressions")
