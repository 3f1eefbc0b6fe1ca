#include "taskstore/task.hpp"

#include <array>
#include <cstdio>
#include <ostream>
#include <sstream>

namespace taskstore {

Bytes to_bytes(std::string_view text) {
  Bytes out(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) out[i] = static_cast<std::byte>(text[i]);
  return out;
}

namespace {
constexpr std::array<std::string_view, 5> kStatusNames = {"PENDING", "RUNNING", "SUCCESS",
                                                          "FAILED", "RETRYING"};

// Bytes shown as text where printable, \xNN otherwise, capped so a huge payload
// doesn't flood a test log.
std::string quote_bytes(const Bytes& bytes) {
  constexpr std::size_t kShown = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += "\"";
  if (bytes.size() > kShown) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

std::string quote_optional(const std::optional<std::string>& text) {
  return text ? "\"" + *text + "\"" : "none";
}
}  // namespace

std::string_view to_string(TaskStatus status) {
  const auto index = static_cast<std::size_t>(status);
  return index < kStatusNames.size() ? kStatusNames[index] : "INVALID";
}

std::optional<TaskStatus> parse_task_status(std::string_view text) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == text) return static_cast<TaskStatus>(i);
  }
  return std::nullopt;
}

std::string_view to_string(RetryPolicy::Backoff backoff) {
  switch (backoff) {
    case RetryPolicy::Backoff::fixed:
      return "fixed";
    case RetryPolicy::Backoff::exponential:
      return "exponential";
  }
  return "INVALID";  // a value outside the enum, which validate_new_task rejects
}

std::optional<RetryPolicy::Backoff> parse_backoff(std::string_view text) {
  for (const auto backoff : {RetryPolicy::Backoff::fixed, RetryPolicy::Backoff::exponential}) {
    if (to_string(backoff) == text) return backoff;
  }
  return std::nullopt;
}

std::string describe(const Task& task) {
  std::ostringstream out;
  out << "Task{id=\"" << task.id << "\", name=\"" << task.name
      << "\", payload=" << quote_bytes(task.payload) << ", status=" << to_string(task.status)
      << ", eta=" << format_timestamp(task.eta) << ", attempts=" << task.attempts
      << ", max_retries=" << task.max_retries << ", retry=" << to_string(task.retry.backoff)
      << "/" << task.retry.delay.count() << "us/max " << task.retry.max_delay.count() << "us"
      << (task.retry.jitter ? "/jitter" : "") << ", schedule="
      << (task.schedule ? std::to_string(task.schedule->interval.count()) + "us" : "none")
      << ", last_error=" << quote_optional(task.last_error)
      << ", created_at=" << format_timestamp(task.created_at)
      << ", updated_at=" << format_timestamp(task.updated_at) << "}";
  return out.str();
}

std::string describe(const TaskResult& result) {
  std::ostringstream out;
  out << "TaskResult{task_id=\"" << result.task_id << "\", status=" << to_string(result.status)
      << ", value=" << quote_bytes(result.value) << ", error=" << quote_optional(result.error)
      << ", finished_at=" << format_timestamp(result.finished_at) << "}";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, TaskStatus status) { return out << to_string(status); }

std::ostream& operator<<(std::ostream& out, RetryPolicy::Backoff backoff) {
  return out << to_string(backoff);
}

std::ostream& operator<<(std::ostream& out, const RetryPolicy& policy) {
  return out << to_string(policy.backoff) << "/" << policy.delay.count() << "us/max "
             << policy.max_delay.count() << "us" << (policy.jitter ? "/jitter" : "");
}

std::ostream& operator<<(std::ostream& out, const IntervalSchedule& schedule) {
  return out << "every " << schedule.interval.count() << "us";
}

std::ostream& operator<<(std::ostream& out, const Bytes& bytes) { return out << quote_bytes(bytes); }

void PrintTo(const Bytes& bytes, std::ostream* out) { *out << bytes; }

std::ostream& operator<<(std::ostream& out, const Task& task) { return out << describe(task); }

std::ostream& operator<<(std::ostream& out, const TaskResult& result) {
  return out << describe(result);
}

}  // namespace taskstore
