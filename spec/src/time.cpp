#include "taskstore/time.hpp"

#include <ctime>
#include <cstdio>

namespace taskstore {

Timestamp now_utc() {
  return std::chrono::floor<Duration>(std::chrono::system_clock::now());
}

Clock system_clock() { return &now_utc; }

std::string format_timestamp(Timestamp t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const auto micros = (t - seconds).count();
  // Not system_clock::to_time_t: it converts through nanoseconds, which overflow int64
  // outside about 1678-2262, and every microsecond Timestamp must format.
  const std::time_t tt = static_cast<std::time_t>(seconds.time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return out;
}

std::string format_time_range(const TimeRange& range) {
  return format_timestamp(range.earliest) + " .. " + format_timestamp(range.latest);
}

}  // namespace taskstore
