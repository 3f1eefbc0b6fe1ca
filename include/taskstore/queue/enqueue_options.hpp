#pragma once
// What a producer may say about a task besides its name and payload (spec QUE-4, QUE-16).

#include <cstdint>
#include <optional>
#include <string>

#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::queue {

struct EnqueueOptions {
  // The task's id; the queue makes a random one (32 hex digits) when absent.
  std::optional<std::string> id;
  // When the task becomes due: at `eta`, or `delay` after now (≥ 0), or now if neither is
  // given. Giving both is an error.
  std::optional<Timestamp> eta;
  std::optional<Duration> delay;
  // Retries allowed after the first run (≥ 0), and how they are spaced.
  std::int32_t max_retries = 0;
  RetryPolicy retry;
  // Run again this long (> 0) after each run.
  std::optional<Duration> interval;
};

}  // namespace taskstore::queue
