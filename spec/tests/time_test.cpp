#include "taskstore/time.hpp"

#include <gtest/gtest.h>

namespace taskstore {
namespace {

TEST(Time, MicrosRoundTripAndFormat) {
  const Timestamp t = from_micros(1'700'000'000'123'456);
  EXPECT_EQ(to_micros(t), 1'700'000'000'123'456);
  EXPECT_EQ(format_timestamp(t), "2023-11-14T22:13:20.123456Z");
}

TEST(Time, FormatsTheWholeRangeTasksUse) {
  EXPECT_EQ(format_timestamp(from_micros(-62'135'596'800'000'000)), "0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(from_micros(-1)), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(from_micros(253'402'300'799'999'999)),
            "9999-12-31T23:59:59.999999Z");
}

TEST(Time, TheContractRangeIsYearsOneToNineThousandNineHundredNinetyNine) {
  EXPECT_EQ(format_time_range(kContractTimeRange),
            "0001-01-01T00:00:00.000000Z .. 9999-12-31T23:59:59.999999Z");
  EXPECT_TRUE(kWidestTimeRange.covers(kContractTimeRange));
  EXPECT_FALSE(kContractTimeRange.covers(kWidestTimeRange));
  EXPECT_TRUE(kContractTimeRange.contains(kContractTimeRange.latest));
  EXPECT_FALSE(kContractTimeRange.contains(kContractTimeRange.latest + Duration{1}));
  EXPECT_FALSE(kContractTimeRange.contains(kContractTimeRange.earliest - Duration{1}));
}

TEST(Time, NowIsMicrosecondResolution) {
  const Timestamp a = now_utc();
  const Timestamp b = system_clock()();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace taskstore
