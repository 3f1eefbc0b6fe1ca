#pragma once
// Backends with one deliberate contract violation each, for the suite's self-test.

#include <string>
#include <vector>

#include "taskstore/conformance/suite.hpp"

namespace taskstore::conformance::selftest {

// broken_mark_failed: mark_failed(will_retry = true) sets FAILED (breaks FAIL-1).
// broken_purge: purge_results removes results at the cutoff too (breaks PUR-2).
// broken_eta_boundary: a task whose eta equals now is not due (breaks DEQ-3).
// broken_final_failure: mark_failed(will_retry = false) always fails (breaks FAIL-3, and
//   is a setup step of DEQ-2, DEQ-8 and PUR-3, which must not fail for it).
// datetime_times: refuses times outside years 1 to 9999 and declares that range (correct:
//   the suite must draw every time inside it).
// broken_century_times: refuses times outside 1970 to 2100 and declares that range
//   (breaks RT-3 alone).
// broken_busy_timeout: its writes give up after 50 ms while hold_write_lock holds its lock
//   (breaks CON-5).
// A backend with one seeded bug, and exactly the requirement IDs the suite must fail it on.
struct SeededBug {
  BackendScheme scheme;  // its name is the backend's, its help says the bug
  std::vector<std::string> fails;
};
std::vector<SeededBug> seeded_bugs();

// A bug planted where only a self-test of one of the kit's drivers can show it (a crash,
// worker processes, another language), and the ctest test that shows it.
struct BugShownElsewhere {
  std::string test;
  std::string bug;
  std::vector<std::string> fails;
};
std::vector<BugShownElsewhere> bugs_shown_elsewhere();

// Every seeded bug's scheme, and datetime_times (correct, for the time-range checks).
std::vector<BackendScheme> broken_schemes();

}  // namespace taskstore::conformance::selftest
