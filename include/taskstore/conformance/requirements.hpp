#pragma once
// The requirement catalogue: every rule of spec/requirements.md with its stable ID. The
// table is generated from that file at build time, so the code and the spec can't drift.

#include <span>
#include <string_view>

namespace taskstore::conformance {

enum class RequirementScope {
  storage,  // section 1: checked on every backend by the conformance suite
  queue,    // section 2: AsyncTaskQueue's rules, checked by the queue's tests
  backend,  // section 3: one reference backend's own rules, checked by its tests
};

struct Requirement {
  std::string_view id;     // e.g. "DEQ-4"
  std::string_view title;  // e.g. "Earliest eta first, ties in enqueue order"
  RequirementScope scope;
};

// Every requirement, in the order of spec/requirements.md.
std::span<const Requirement> all_requirements();

// The requirement with this ID, or nullptr.
const Requirement* find_requirement(std::string_view id);

}  // namespace taskstore::conformance
