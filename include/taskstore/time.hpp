#pragma once
// Time as taskstore stores it: UTC points of std::chrono::system_clock at microsecond
// resolution. Every backend round-trips these exactly, so the type itself carries the
// resolution instead of silently truncating nanoseconds somewhere in a backend.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace taskstore {

using Duration = std::chrono::microseconds;
using Timestamp = std::chrono::time_point<std::chrono::system_clock, Duration>;

// A source of "now" that backends and the queue can be given, so tests control time.
using Clock = std::function<Timestamp()>;

// The current UTC time, truncated to microseconds.
Timestamp now_utc();

// The default Clock: now_utc.
Clock system_clock();

// Microseconds since the Unix epoch, the form backends persist.
constexpr std::int64_t to_micros(Timestamp t) { return t.time_since_epoch().count(); }
constexpr Timestamp from_micros(std::int64_t us) { return Timestamp{Duration{us}}; }

// ISO-8601 UTC with microseconds, e.g. "2026-11-23T18:20:56.123456Z", for messages.
std::string format_timestamp(Timestamp t);

// The times a backend stores exactly, both ends included. A backend declares its range
// (conformance::Capabilities::times); the contract sets the least one (RT-3).
struct TimeRange {
  Timestamp earliest;
  Timestamp latest;

  constexpr bool contains(Timestamp t) const { return earliest <= t && t <= latest; }
  constexpr bool covers(const TimeRange& other) const {
    return earliest <= other.earliest && other.latest <= latest;
  }
  friend constexpr bool operator==(const TimeRange&, const TimeRange&) = default;
};

// ±2^61 µs, about 73,000 years either side of 1970: what a 64-bit microsecond count holds
// with room for offsets. The default a backend is assumed to store.
inline constexpr TimeRange kWidestTimeRange{from_micros(-(std::int64_t{1} << 61)),
                                            from_micros(std::int64_t{1} << 61)};
// 0001-01-01T00:00:00.000000Z to 9999-12-31T23:59:59.999999Z: the least range every
// backend must store (RT-3), which date types with four-digit years (Python's datetime,
// SQL's timestamp) cover.
inline constexpr TimeRange kContractTimeRange{from_micros(-62'135'596'800'000'000),
                                              from_micros(253'402'300'799'999'999)};

// "0001-01-01T00:00:00.000000Z .. 9999-12-31T23:59:59.999999Z".
std::string format_time_range(const TimeRange& range);

}  // namespace taskstore
