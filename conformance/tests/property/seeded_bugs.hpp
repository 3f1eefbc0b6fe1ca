#pragma once
// Backends with one seeded bug each, for the property tests' self-test, and an honest one
// that can't take a clock.

#include "taskstore/conformance/registry.hpp"

namespace taskstore::conformance::seeded {

// reschedule writes attempts = 0 (breaks RSC-6).
Backend reschedule_resets_attempts();
// purge_results removes results finished exactly at the cutoff too, i.e. <= (breaks PUR-2).
Backend purge_at_cutoff();
// enqueue keeps created_at to the millisecond only (breaks RT-1).
Backend created_at_in_milliseconds();
// A correct store whose environment has no open_with_clock, so it stamps times from the
// system clock: the property run must still pass, comparing what it can predict.
Backend correct_without_clock();

}  // namespace taskstore::conformance::seeded
