#include "taskstore/time.hpp"

#include <gtest/gtest.h>

namespace taskstore {
namespace {

TEST(Time, MicrosRoundTripAndFormat) {
  const Timestamp t = from_micros(1'700'000'000'123'456);
  EXPECT_EQ(to_micros(t), 1'700'000'000'123'456);
  EXPECT_EQ(format_timestamp(t), "2023-11-14T22:13:20.123456Z");
}

TEST(Time, NowIsMicrosecondResolution) {
  const Timestamp a = now_utc();
  const Timestamp b = system_clock()();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace taskstore
