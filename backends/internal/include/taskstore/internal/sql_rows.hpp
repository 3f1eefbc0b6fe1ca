#pragma once
// What the SQLite and PostgreSQL backends share about their rows: the column lists, and
// how a row's columns become a Task or a TaskResult. Each backend brings a reader for its
// own driver (SQLite's typed columns, libpq's text values); the checks every column gets
// (32-bit range, a known status or backoff, a result that is SUCCESS or FAILED) are written
// once here, so that the two backends cannot drift apart on what counts as damage.
//
// A Reader provides, for a column index:
//   std::int64_t integer(int);                  std::optional<std::int64_t> optional_integer(int);
//   std::string text(int);                      (ids and enum names)
//   std::string any_text(int);                  (names and errors: any bytes)
//   std::optional<std::string> optional_any_text(int);
//   Bytes blob(int);                            bool flag(int);
//   [[noreturn]] void corrupt(int, const std::string& what);
//   void set_row_name(std::string);             (how corrupt() names the row)
// and each accessor raises CorruptionError (through corrupt) on a column of the wrong type.

#include <cstdint>
#include <limits>
#include <string>

#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::internal {

// The insertable task columns (all but seq), in the order the bind helpers number them.
inline const std::string& task_insert_columns() {
  static const std::string columns =
      "id, name, payload, status, eta, attempts, max_retries, retry_backoff, retry_delay_us, "
      "retry_max_delay_us, retry_jitter, interval_us, last_error, created_at, updated_at";
  return columns;
}

// The task columns every SELECT or RETURNING lists, in the order read_task_row expects.
inline const std::string& task_columns() {
  static const std::string columns = "seq, " + task_insert_columns();
  return columns;
}

// The result columns every SELECT lists, in the order read_result_row expects.
inline const std::string& result_columns() {
  static const std::string columns = "task_id, status, value, error, finished_at";
  return columns;
}

template <typename Reader>
std::int32_t read_int32(Reader& reader, int column) {
  const std::int64_t value = reader.integer(column);
  if (value < std::numeric_limits<std::int32_t>::min() ||
      value > std::numeric_limits<std::int32_t>::max()) {
    reader.corrupt(column, "holds " + std::to_string(value) + ", outside the 32-bit range");
  }
  return static_cast<std::int32_t>(value);
}

template <typename Reader>
TaskStatus read_status(Reader& reader, int column) {
  const std::string value = reader.text(column);
  const auto status = parse_task_status(value);
  if (!status) reader.corrupt(column, "holds the unknown status '" + value + "'");
  return *status;
}

template <typename Reader>
RetryPolicy::Backoff read_backoff(Reader& reader, int column) {
  const std::string value = reader.text(column);
  const auto backoff = parse_backoff(value);
  if (!backoff) reader.corrupt(column, "holds the unknown backoff '" + value + "'");
  return *backoff;
}

// A row read with task_columns().
template <typename Reader>
Task read_task_row(Reader& reader) {
  reader.set_row_name("task row seq " + std::to_string(reader.integer(0)));
  Task task;
  task.id = reader.text(1);
  reader.set_row_name("task '" + task.id + "'");
  task.name = reader.any_text(2);
  task.payload = reader.blob(3);
  task.status = read_status(reader, 4);
  task.eta = from_micros(reader.integer(5));
  task.attempts = read_int32(reader, 6);
  task.max_retries = read_int32(reader, 7);
  task.retry.backoff = read_backoff(reader, 8);
  task.retry.delay = Duration(reader.integer(9));
  task.retry.max_delay = Duration(reader.integer(10));
  task.retry.jitter = reader.flag(11);
  if (const auto interval = reader.optional_integer(12)) {
    task.schedule = IntervalSchedule{Duration(*interval)};
  }
  task.last_error = reader.optional_any_text(13);
  task.created_at = from_micros(reader.integer(14));
  task.updated_at = from_micros(reader.integer(15));
  return task;
}

// A row read with result_columns().
template <typename Reader>
TaskResult read_result_row(Reader& reader) {
  reader.set_row_name("result row");
  TaskResult result;
  result.task_id = reader.text(0);
  reader.set_row_name("result of task '" + result.task_id + "'");
  result.status = read_status(reader, 1);
  if (result.status != TaskStatus::SUCCESS && result.status != TaskStatus::FAILED) {
    reader.corrupt(1, "holds " + std::string(to_string(result.status)) +
                          ", a result is SUCCESS or FAILED");
  }
  result.value = reader.blob(2);
  result.error = reader.optional_any_text(3);
  result.finished_at = from_micros(reader.integer(4));
  return result;
}

}  // namespace taskstore::internal
