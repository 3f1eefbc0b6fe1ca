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

}  // namespace taskstore
