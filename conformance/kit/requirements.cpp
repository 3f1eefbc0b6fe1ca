#include "taskstore/conformance/requirements.hpp"

#include <algorithm>
#include <stdexcept>

namespace taskstore::conformance {

namespace {

// Set once by the driver before the tests run, read by the tests.
std::vector<std::string>& selection() {
  static std::vector<std::string> patterns;
  return patterns;
}

}  // namespace

const Requirement* find_requirement(std::string_view id) {
  const auto all = all_requirements();
  const auto it = std::find_if(all.begin(), all.end(),
                               [&](const Requirement& r) { return r.id == id; });
  return it == all.end() ? nullptr : &*it;
}

bool requirement_matches(std::string_view pattern, std::string_view id) {
  // Iterative glob match with backtracking to the last '*'.
  std::size_t p = 0;
  std::size_t i = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (i < id.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == id[i])) {
      ++p;
      ++i;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void select_requirements(const std::vector<std::string>& patterns) {
  for (const auto& pattern : patterns) {
    const auto all = all_requirements();
    const bool any = std::any_of(all.begin(), all.end(), [&](const Requirement& r) {
      return r.scope == RequirementScope::storage && requirement_matches(pattern, r.id);
    });
    if (!any) {
      throw std::invalid_argument("requirement pattern '" + pattern +
                                  "' matches no storage requirement (see --list)");
    }
  }
  selection() = patterns;
}

bool requirement_selected(std::string_view id) {
  const auto& patterns = selection();
  return patterns.empty() ||
         std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return requirement_matches(p, id); });
}

}  // namespace taskstore::conformance
