#pragma once
// Saturating time arithmetic: a huge retry delay or interval must give "far in the
// future", never a wrapped-around eta in the past.

#include <cstdint>
#include <limits>

#include "taskstore/time.hpp"

namespace taskstore::queue::detail {

// `t + d` for d ≥ 0, at most the largest Timestamp.
inline Timestamp add_saturating(Timestamp t, Duration d) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::int64_t at = t.time_since_epoch().count();
  if (at > 0 && d.count() > kMax - at) return Timestamp::max();
  return t + d;
}

// `t - d` for d ≥ 0, at least the smallest Timestamp.
inline Timestamp subtract_saturating(Timestamp t, Duration d) {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  const std::int64_t at = t.time_since_epoch().count();
  if (at < 0 && d.count() > at - kMin) return Timestamp::min();
  return t - d;
}

}  // namespace taskstore::queue::detail
