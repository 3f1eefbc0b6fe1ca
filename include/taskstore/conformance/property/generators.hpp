#pragma once
// RapidCheck generators for the contract's data: ids (valid and malformed), arbitrary
// bytes and text, timestamps, tasks and results. Part of taskstore::conformance.

#include <rapidcheck.h>

#include <string>

#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::conformance::generators {

// The instant sequences start at and show() measures from: 2026-01-01T00:00:00.000001Z,
// the conformance suite's t0 (its non-zero microsecond catches backends that round).
inline constexpr Timestamp kT0 = from_micros(1'767'225'600'000'001);

// Arbitrary bytes, NUL and non-UTF-8 included, at most `max_size` of them.
rc::Gen<Bytes> bytes(int max_size);
// An arbitrary std::string of bytes (NUL included), at most `max_size` long.
rc::Gen<std::string> text(int max_size);
// A valid task id: 1 to 100 bytes of UTF-8 without NUL, any code points, sometimes
// exactly 100 bytes long.
rc::Gen<std::string> valid_task_id();
// An id every operation must reject (ENQ-5): empty, 101 bytes, NUL, invalid UTF-8.
rc::Gen<std::string> malformed_task_id();

// Any microsecond timestamp in `range` (by default ±2^61 µs, about 73,000 years either
// side of 1970), its ends and their neighbours included now and then.
rc::Gen<Timestamp> any_timestamp(TimeRange range = kWidestTimeRange);

rc::Gen<RetryPolicy> retry_policy();

// An arbitrary task that enqueue must accept (RT-1's domain): every field arbitrary
// within validate_new_task's rules, optional fields absent or present.
// Its times are inside `times` (the backend's declared range).
rc::Gen<Task> valid_task(TimeRange times = kWidestTimeRange);
// A result mark_done must accept for `task_id` (RT-2's domain), finished inside `times`.
rc::Gen<TaskResult> success_result(std::string task_id, TimeRange times = kWidestTimeRange);

}  // namespace taskstore::conformance::generators
