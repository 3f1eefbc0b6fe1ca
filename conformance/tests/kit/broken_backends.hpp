#pragma once
// Backends with one deliberate contract violation each, for the suite's self-test.

#include <vector>

#include "taskstore/conformance/suite.hpp"

namespace taskstore::conformance::selftest {

// broken_mark_failed: mark_failed(will_retry = true) sets FAILED (breaks FAIL-1).
// broken_purge: purge_results removes results at the cutoff too (breaks PUR-2).
// broken_eta_boundary: a task whose eta equals now is not due (breaks DEQ-3).
// broken_final_failure: mark_failed(will_retry = false) always fails (breaks FAIL-3, and
//   is a setup step of DEQ-2, DEQ-8 and PUR-3, which must not fail for it).
std::vector<BackendScheme> broken_schemes();

}  // namespace taskstore::conformance::selftest
