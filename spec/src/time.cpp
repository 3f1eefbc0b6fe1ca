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
  const std::time_t tt = std::chrono::system_clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char head[32];
  std::strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%06lldZ", head, static_cast<long long>(micros));
  return out;
}

}  // namespace taskstore
