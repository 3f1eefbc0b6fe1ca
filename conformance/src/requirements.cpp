#include "taskstore/conformance/requirements.hpp"

#include <algorithm>

namespace taskstore::conformance {

const Requirement* find_requirement(std::string_view id) {
  const auto all = all_requirements();
  const auto it = std::find_if(all.begin(), all.end(),
                               [&](const Requirement& r) { return r.id == id; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace taskstore::conformance
