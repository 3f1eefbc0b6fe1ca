#pragma once
// The data a storage backend keeps: tasks and their results.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "taskstore/time.hpp"

namespace taskstore {

// Arbitrary bytes (payloads and result values may contain NUL and non-UTF-8 data). A type
// of its own, not an alias of std::vector<std::byte>, so that the printers below are found
// through its namespace (googletest's PrintTo, operator<<) and bytes print as text.
class Bytes : public std::vector<std::byte> {
 public:
  using std::vector<std::byte>::vector;
  Bytes() = default;
  Bytes(std::vector<std::byte> bytes)  // NOLINT(google-explicit-constructor): a plain vector is bytes
      : std::vector<std::byte>(std::move(bytes)) {}
};

// Bytes holding a copy of `text`.
Bytes to_bytes(std::string_view text);

enum class TaskStatus : std::uint8_t { PENDING, RUNNING, SUCCESS, FAILED, RETRYING };

// "PENDING", "RUNNING", ...
std::string_view to_string(TaskStatus status);
// The inverse of to_string; nullopt for anything else.
std::optional<TaskStatus> parse_task_status(std::string_view text);

// How the queue spaces retries. Backends store it verbatim (it is "retry metadata"):
// reschedule and every other storage operation leave it unchanged.
struct RetryPolicy {
  enum class Backoff : std::uint8_t { fixed, exponential };

  Backoff backoff = Backoff::fixed;
  Duration delay{0};      // fixed delay, or the first delay of an exponential backoff
  Duration max_delay{0};  // cap for exponential backoff; 0 means no cap
  bool jitter = false;    // randomise each delay (exponential backoff only)

  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

// "fixed" or "exponential" ("INVALID" for a value outside the enum).
std::string_view to_string(RetryPolicy::Backoff backoff);
// The inverse of to_string; nullopt for anything else.
std::optional<RetryPolicy::Backoff> parse_backoff(std::string_view text);

// A task that runs again every `interval` after each run.
struct IntervalSchedule {
  Duration interval{0};

  friend bool operator==(const IntervalSchedule&, const IntervalSchedule&) = default;
};

struct Task {
  std::string id;    // 1 to kMaxIdBytes bytes of UTF-8, no NUL; unique in a store
  std::string name;  // the handler's name; never empty
  Bytes payload;
  TaskStatus status = TaskStatus::PENDING;
  Timestamp eta{};   // not due before this time
  std::int32_t attempts = 0;     // claims so far (dequeue adds one)
  std::int32_t max_retries = 0;  // retries allowed after the first attempt
  RetryPolicy retry;
  std::optional<IntervalSchedule> schedule;
  std::optional<std::string> last_error;
  Timestamp created_at{};
  Timestamp updated_at{};

  static constexpr std::size_t kMaxIdBytes = 100;

  friend bool operator==(const Task&, const Task&) = default;
};

struct TaskResult {
  std::string task_id;
  TaskStatus status = TaskStatus::SUCCESS;  // SUCCESS or FAILED
  Bytes value;
  std::optional<std::string> error;
  Timestamp finished_at{};

  friend bool operator==(const TaskResult&, const TaskResult&) = default;
};

// Human-readable one-line descriptions, for test failures and logs.
std::string describe(const Task& task);
std::string describe(const TaskResult& result);

// Stream forms, which googletest's failure messages use too: a status or backoff by its
// name, a policy and a schedule in words, a task or result as describe() gives it (never
// the raw bytes of the object).
std::ostream& operator<<(std::ostream& out, TaskStatus status);
std::ostream& operator<<(std::ostream& out, RetryPolicy::Backoff backoff);
std::ostream& operator<<(std::ostream& out, const RetryPolicy& policy);
std::ostream& operator<<(std::ostream& out, const IntervalSchedule& schedule);
// Bytes in double quotes, printable ASCII as itself and the rest as \xNN, capped (with the
// full size) so that a large payload stays readable.
std::ostream& operator<<(std::ostream& out, const Bytes& bytes);
// googletest's printer for Bytes (found by argument-dependent lookup): as operator<<.
void PrintTo(const Bytes& bytes, std::ostream* out);
std::ostream& operator<<(std::ostream& out, const Task& task);
std::ostream& operator<<(std::ostream& out, const TaskResult& result);

}  // namespace taskstore
