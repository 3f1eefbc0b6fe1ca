#pragma once
// The requirement catalogue: every rule of spec/requirements.md with its stable ID. The
// table is generated from that file at build time, so the code and the spec can't drift.

#include <span>
#include <string>
#include <string_view>
#include <vector>

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

// Whether `id` matches `pattern`: an ID ("DEQ-4") or a glob with * and ? ("DEQ-*").
bool requirement_matches(std::string_view pattern, std::string_view id);

// Restricts the conformance tests that run to those naming at least one requirement that
// matches one of `patterns` (each as in requirement_matches); the others skip at once and
// give no verdict. An empty list selects everything (the default). Throws
// std::invalid_argument, naming the pattern, if a pattern matches no requirement.
void select_requirements(const std::vector<std::string>& patterns);

// Whether the current selection includes requirement `id`.
bool requirement_selected(std::string_view id);

}  // namespace taskstore::conformance
