# Reads spec/requirements.md and writes the C++ requirement table, so the suite knows
# exactly the IDs the spec defines. Requirement headings look like
#   #### DEQ-4 · Earliest eta first, ties in enqueue order
# and belong to the numbered section ("## 1. ...") above them.
function(taskstore_generate_requirement_catalogue spec_file output_file)
  file(STRINGS "${spec_file}" lines ENCODING UTF-8)
  set(entries "")
  set(scope "")
  set(seen "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^## ([0-9]+)\\.")
      set(section "${CMAKE_MATCH_1}")
      if(section STREQUAL "1")
        set(scope "storage")
      elseif(section STREQUAL "2")
        set(scope "queue")
      elseif(section STREQUAL "3")
        set(scope "backend")
      else()
        message(FATAL_ERROR "${spec_file}: unknown section ${section}")
      endif()
    elseif(line MATCHES "^#### ([A-Z]+-[0-9]+) · (.+)$")
      set(id "${CMAKE_MATCH_1}")
      set(title "${CMAKE_MATCH_2}")
      if(scope STREQUAL "")
        message(FATAL_ERROR "${spec_file}: ${id} is outside a numbered section")
      endif()
      if(id IN_LIST seen)
        message(FATAL_ERROR "${spec_file}: requirement ${id} is defined twice")
      endif()
      list(APPEND seen "${id}")
      string(REPLACE "\\" "\\\\" title "${title}")
      string(REPLACE "\"" "\\\"" title "${title}")
      string(APPEND entries "    {\"${id}\", \"${title}\", RequirementScope::${scope}},\n")
    elseif(line MATCHES "^#+ *[A-Z]+-[0-9]+")
      message(FATAL_ERROR "${spec_file}: malformed requirement heading: ${line}")
    endif()
  endforeach()
  list(LENGTH seen count)
  if(count EQUAL 0)
    message(FATAL_ERROR "${spec_file}: no requirements found")
  endif()
  set(content "// Generated from spec/requirements.md by cmake/GenerateRequirementCatalogue.cmake.
// Do not edit: change the spec instead.
#include \"taskstore/conformance/requirements.hpp\"

#include <array>

namespace taskstore::conformance {

namespace {
constexpr std::array<Requirement, ${count}> kRequirements = {{
${entries}}};
}  // namespace

std::span<const Requirement> all_requirements() { return kRequirements; }

}  // namespace taskstore::conformance
")
  file(CONFIGURE OUTPUT "${output_file}" CONTENT "${content}" @ONLY)
endfunction()
