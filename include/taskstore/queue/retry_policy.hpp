#pragma once
// How long the queue waits before retrying a failed task (spec QUE-8). The policy itself
// is taskstore::RetryPolicy, stored with every task as its retry metadata, so the queue
// computes each delay from the stored task alone.

#include <cstdint>
#include <functional>

#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::queue {

// Returns a number drawn uniformly from [lo, hi] (lo ≤ hi). The queue draws jitter from
// one; tests give it a seeded or a fixed one.
using UniformRandom = std::function<std::int64_t(std::int64_t lo, std::int64_t hi)>;

// A thread-safe UniformRandom on a 64-bit Mersenne Twister seeded with `seed`.
UniformRandom seeded_uniform_random(std::uint64_t seed);

// The delay before the retry that follows failed attempt number `attempt` (1 for the
// first run; values below 1 count as 1):
//  - fixed: policy.delay;
//  - exponential: policy.delay × 2^(attempt − 1), saturating at the largest Duration,
//    then capped at policy.max_delay unless that is 0;
//  - with jitter (exponential only), a value drawn by `random` from [d/2, d] ("equal
//    jitter"); a draw outside that range is clamped into it.
Duration retry_delay(const RetryPolicy& policy, std::int32_t attempt, const UniformRandom& random);

}  // namespace taskstore::queue
