// retry_delay: fixed, exponential with cap and saturation, equal jitter (QUE-8).
#include "taskstore/queue/retry_policy.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace taskstore::queue {
namespace {

using namespace std::chrono_literals;
using Backoff = RetryPolicy::Backoff;

const UniformRandom kNoRandom;

// Checks: QUE-8
TEST(QueueRetryDelay, Fixed_IsTheSameForEveryAttempt) {
  const RetryPolicy policy{.backoff = Backoff::fixed, .delay = 30s};
  for (const int attempt : {1, 2, 10, 1000})
    EXPECT_EQ(retry_delay(policy, attempt, kNoRandom), 30s);
}

// Checks: QUE-8
TEST(QueueRetryDelay, Exponential_DoublesFromTheDelay) {
  const RetryPolicy policy{.backoff = Backoff::exponential, .delay = 1s};
  EXPECT_EQ(retry_delay(policy, 1, kNoRandom), 1s);
  EXPECT_EQ(retry_delay(policy, 2, kNoRandom), 2s);
  EXPECT_EQ(retry_delay(policy, 3, kNoRandom), 4s);
  EXPECT_EQ(retry_delay(policy, 11, kNoRandom), 1024s);
  EXPECT_EQ(retry_delay(policy, 0, kNoRandom), 1s) << "attempt 0 counts as the first";
  EXPECT_EQ(retry_delay(policy, -3, kNoRandom), 1s);
}

// Checks: QUE-8
TEST(QueueRetryDelay, Exponential_IsCappedAtMaxDelay) {
  const RetryPolicy policy{.backoff = Backoff::exponential, .delay = 1s, .max_delay = 10s};
  EXPECT_EQ(retry_delay(policy, 4, kNoRandom), 8s);
  EXPECT_EQ(retry_delay(policy, 5, kNoRandom), 10s);
  EXPECT_EQ(retry_delay(policy, 500, kNoRandom), 10s);
}

// Checks: QUE-8
TEST(QueueRetryDelay, Exponential_SaturatesInsteadOfOverflowing) {
  const RetryPolicy policy{.backoff = Backoff::exponential, .delay = 3s};
  const Duration largest = Duration::max();
  EXPECT_EQ(retry_delay(policy, 100, kNoRandom), largest);
  EXPECT_EQ(retry_delay(policy, std::numeric_limits<std::int32_t>::max(), kNoRandom), largest);
  const RetryPolicy zero{.backoff = Backoff::exponential, .delay = 0s};
  EXPECT_EQ(retry_delay(zero, std::numeric_limits<std::int32_t>::max(), kNoRandom), 0s);
}

// Checks: QUE-8
TEST(QueueRetryDelay, EqualJitter_DrawsFromHalfToFull) {
  const RetryPolicy policy{.backoff = Backoff::exponential, .delay = 10s, .jitter = true};
  const UniformRandom random = seeded_uniform_random(7);
  Duration lowest = Duration::max();
  Duration highest = Duration::zero();
  for (int i = 0; i < 2000; ++i) {
    const Duration d = retry_delay(policy, 2, random);  // d = 20 s
    ASSERT_GE(d, 10s);
    ASSERT_LE(d, 20s);
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  EXPECT_LT(lowest, 11s) << "the draws do not spread over [d/2, d]";
  EXPECT_GT(highest, 19s) << "the draws do not spread over [d/2, d]";
}

// Checks: QUE-8
TEST(QueueRetryDelay, Jitter_IsReproducibleFromTheSeed) {
  const RetryPolicy policy{.backoff = Backoff::exponential, .delay = 1s, .jitter = true};
  const UniformRandom a = seeded_uniform_random(99);
  const UniformRandom b = seeded_uniform_random(99);
  for (int attempt = 1; attempt <= 20; ++attempt) {
    EXPECT_EQ(retry_delay(policy, attempt, a), retry_delay(policy, attempt, b));
  }
}

// Checks: QUE-8
TEST(QueueRetryDelay, Jitter_ClampsADrawOutsideTheRange_AndIsIgnoredWhenFixed) {
  const RetryPolicy policy{.backoff = Backoff::exponential, .delay = 8s, .jitter = true};
  const UniformRandom too_low = [](std::int64_t, std::int64_t) { return std::int64_t{-5}; };
  const UniformRandom too_high = [](std::int64_t, std::int64_t) { return std::int64_t{1} << 60; };
  EXPECT_EQ(retry_delay(policy, 1, too_low), 4s);
  EXPECT_EQ(retry_delay(policy, 1, too_high), 8s);
  const RetryPolicy fixed{.backoff = Backoff::fixed, .delay = 8s, .jitter = true};
  EXPECT_EQ(retry_delay(fixed, 1, too_low), 8s);
}

}  // namespace
}  // namespace taskstore::queue
