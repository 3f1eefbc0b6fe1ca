#pragma once
// Backends with one deliberate contract violation each, for the suite's self-test.

#include <vector>

#include "taskstore/conformance/suite.hpp"

namespace taskstore::conformance::selftest {

// broken_mark_failed: mark_failed(will_retry = true) sets FAILED (breaks FAIL-1).
// broken_purge: purge_results removes results at the cutoff too (breaks PUR-2).
// broken_eta_boundary: a task whose eta equals now is not due (breaks DEQ-3).
std::vector<BackendScheme> broken_schemes();

}  // namespace taskstore::conformance::selftest
