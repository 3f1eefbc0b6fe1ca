#include "taskstore/queue/retry_policy.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <random>

namespace taskstore::queue {

UniformRandom seeded_uniform_random(std::uint64_t seed) {
  struct Engine {
    std::mutex mutex;
    std::mt19937_64 engine;
  };
  auto shared = std::make_shared<Engine>();
  shared->engine.seed(seed);
  return [shared](std::int64_t lo, std::int64_t hi) {
    std::lock_guard lock(shared->mutex);
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(shared->engine);
  };
}

Duration retry_delay(const RetryPolicy& policy, std::int32_t attempt, const UniformRandom& random) {
  const std::int64_t base = std::max<std::int64_t>(0, policy.delay.count());
  if (policy.backoff == RetryPolicy::Backoff::fixed) return Duration{base};

  // delay × 2^(attempt − 1), doubling step by step so that saturation is exact. Once the
  // value passes half the range the next doubling would overflow: stop there.
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t delay = base;
  for (std::int32_t doublings = std::max(attempt, 1) - 1; doublings > 0 && delay > 0; --doublings) {
    if (delay > kMax / 2) {
      delay = kMax;
      break;
    }
    delay *= 2;
  }
  if (policy.max_delay.count() > 0) delay = std::min(delay, policy.max_delay.count());

  if (policy.jitter && random) {
    const std::int64_t lo = delay / 2;
    delay = std::clamp(random(lo, delay), lo, delay);
  }
  return Duration{delay};
}

}  // namespace taskstore::queue
