#include "taskstore/conformance/property/show.hpp"

#include <cstdio>
#include <cstdlib>

#include "taskstore/conformance/property/generators.hpp"

namespace taskstore::conformance {

namespace {

constexpr std::size_t kShownBytes = 32;

std::string signed_part(std::int64_t value, std::string_view unit) {
  return (value < 0 ? "-" : "+") + std::to_string(value < 0 ? -value : value) + std::string(unit);
}

// Times near t0 read as whole seconds plus a few microseconds.
std::string seconds_and_micros(std::int64_t us) {
  constexpr std::int64_t kSecond = 1'000'000;
  const std::int64_t seconds = (us >= 0 ? us + kSecond / 2 : us - kSecond / 2) / kSecond;
  const std::int64_t rest = us - seconds * kSecond;
  std::string out;
  if (seconds != 0) out += signed_part(seconds, "s");
  if (rest != 0) out += signed_part(rest, "us");
  return out;
}

}  // namespace

std::string show_time(Timestamp t) {
  const std::int64_t from_t0 = to_micros(t) - to_micros(generators::kT0);
  return "t0" + seconds_and_micros(from_t0);
}

std::string show_duration(Duration d) {
  return d.count() == 0 ? std::string("+0us") : seconds_and_micros(d.count());
}

std::string show_text(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kShownBytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
      out += buffer;
    }
  }
  out += '"';
  if (text.size() > kShownBytes) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string show_bytes(const Bytes& bytes) {
  return show_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string show_task(const Task& task, std::string_view eta_text) {
  std::string out = "{" + show_text(task.id);
  if (task.name != "job") out += " name=" + show_text(task.name);
  if (task.status != TaskStatus::PENDING) out += " status=" + std::string(to_string(task.status));
  out += " eta=" + (eta_text.empty() ? show_time(task.eta) : std::string(eta_text));
  if (task.attempts != 0) out += " attempts=" + std::to_string(task.attempts);
  if (task.max_retries != 0) out += " max_retries=" + std::to_string(task.max_retries);
  if (!(task.retry == RetryPolicy{})) {
    out += " retry={" + std::string(to_string(task.retry.backoff)) +
           " delay=" + std::to_string(task.retry.delay.count()) +
           "us max_delay=" + std::to_string(task.retry.max_delay.count()) + "us" +
           (task.retry.jitter ? " jitter" : "") + "}";
  }
  if (task.schedule) out += " every=" + std::to_string(task.schedule->interval.count()) + "us";
  if (task.last_error) out += " last_error=" + show_text(*task.last_error);
  if (!task.payload.empty()) out += " payload=" + show_bytes(task.payload);
  if (task.created_at != generators::kT0) out += " created_at=" + show_time(task.created_at);
  if (task.updated_at != generators::kT0) out += " updated_at=" + show_time(task.updated_at);
  return out + "}";
}

std::string show_result(const TaskResult& result, std::string_view finished_at_text) {
  std::string out =
      "{task=" + show_text(result.task_id) + " " + std::string(to_string(result.status)) +
      " finished_at=" +
      (finished_at_text.empty() ? show_time(result.finished_at) : std::string(finished_at_text));
  if (!result.value.empty()) out += " value=" + show_bytes(result.value);
  if (result.error) out += " error=" + show_text(*result.error);
  return out + "}";
}

}  // namespace taskstore::conformance
