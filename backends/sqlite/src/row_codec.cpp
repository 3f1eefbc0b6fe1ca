#include "row_codec.hpp"

#include <cstdint>
#include <limits>
#include <optional>

namespace taskstore::sqlite {

namespace {

std::string_view type_name(int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "INTEGER";
    case SQLITE_FLOAT:
      return "REAL";
    case SQLITE_TEXT:
      return "TEXT";
    case SQLITE_BLOB:
      return "BLOB";
    case SQLITE_NULL:
      return "NULL";
    default:
      return "unknown";
  }
}

// Reads the columns of one row, each checked against the type the schema gives it.
// `row` names the row in messages ("task 'abc'"), once its id is known.
class RowReader {
 public:
  RowReader(const Statement& stmt, std::string row) : stmt_(stmt), row_(std::move(row)) {}

  void set_row(std::string row) { row_ = std::move(row); }

  std::int64_t integer(int column) {
    expect(column, SQLITE_INTEGER);
    return stmt_.column_int64(column);
  }

  std::int32_t int32(int column) {
    const std::int64_t value = integer(column);
    if (value < std::numeric_limits<std::int32_t>::min() ||
        value > std::numeric_limits<std::int32_t>::max()) {
      corrupt(column, "holds " + std::to_string(value) + ", outside the 32-bit range");
    }
    return static_cast<std::int32_t>(value);
  }

  std::string text(int column) {
    expect(column, SQLITE_TEXT);
    return stmt_.column_text(column);
  }

  std::optional<std::string> optional_text(int column) {
    if (stmt_.column_type(column) == SQLITE_NULL) return std::nullopt;
    return text(column);
  }

  std::optional<std::int64_t> optional_integer(int column) {
    if (stmt_.column_type(column) == SQLITE_NULL) return std::nullopt;
    return integer(column);
  }

  Bytes blob(int column) {
    expect(column, SQLITE_BLOB);
    return stmt_.column_blob(column);
  }

  TaskStatus status(int column) {
    const std::string value = text(column);
    const auto status = parse_task_status(value);
    if (!status) corrupt(column, "holds the unknown status '" + value + "'");
    return *status;
  }

  [[noreturn]] void corrupt(int column, const std::string& what) const {
    throw CorruptionError(stmt_.connection().where() + ": " + row_ + " column " +
                          std::string(stmt_.column_name(column)) + " " + what);
  }

 private:
  void expect(int column, int type) const {
    const int actual = stmt_.column_type(column);
    if (actual != type) {
      corrupt(column, "has type " + std::string(type_name(actual)) + ", expected " +
                          std::string(type_name(type)));
    }
  }

  const Statement& stmt_;
  std::string row_;
};

}  // namespace

const std::string& task_columns() {
  static const std::string columns = "seq, " + task_insert_columns();
  return columns;
}

const std::string& task_insert_columns() {
  static const std::string columns =
      "id, name, payload, status, eta, attempts, max_retries, retry_backoff, retry_delay_us, "
      "retry_max_delay_us, retry_jitter, interval_us, last_error, created_at, updated_at";
  return columns;
}

void bind_task(Statement& stmt, const Task& task) {
  stmt.bind_text(1, task.id);
  stmt.bind_text(2, task.name);
  stmt.bind_blob(3, task.payload);
  stmt.bind_text(4, to_string(task.status));
  stmt.bind_int64(5, to_micros(task.eta));
  stmt.bind_int64(6, task.attempts);
  stmt.bind_int64(7, task.max_retries);
  stmt.bind_text(8, to_string(task.retry.backoff));
  stmt.bind_int64(9, task.retry.delay.count());
  stmt.bind_int64(10, task.retry.max_delay.count());
  stmt.bind_int64(11, task.retry.jitter ? 1 : 0);
  if (task.schedule) {
    stmt.bind_int64(12, task.schedule->interval.count());
  } else {
    stmt.bind_null(12);
  }
  stmt.bind_optional_text(13, task.last_error);
  stmt.bind_int64(14, to_micros(task.created_at));
  stmt.bind_int64(15, to_micros(task.updated_at));
}

Task read_task(const Statement& stmt) {
  RowReader row(stmt, "task row seq " + std::to_string(stmt.column_int64(0)));
  Task task;
  task.id = row.text(1);
  row.set_row("task '" + task.id + "'");
  task.name = row.text(2);
  task.payload = row.blob(3);
  task.status = row.status(4);
  task.eta = from_micros(row.integer(5));
  task.attempts = row.int32(6);
  task.max_retries = row.int32(7);
  const std::string backoff = row.text(8);
  if (backoff == to_string(RetryPolicy::Backoff::fixed)) {
    task.retry.backoff = RetryPolicy::Backoff::fixed;
  } else if (backoff == to_string(RetryPolicy::Backoff::exponential)) {
    task.retry.backoff = RetryPolicy::Backoff::exponential;
  } else {
    row.corrupt(8, "holds the unknown backoff '" + backoff + "'");
  }
  task.retry.delay = Duration(row.integer(9));
  task.retry.max_delay = Duration(row.integer(10));
  const std::int64_t jitter = row.integer(11);
  if (jitter != 0 && jitter != 1) {
    row.corrupt(11, "holds " + std::to_string(jitter) + ", not 0 or 1");
  }
  task.retry.jitter = jitter == 1;
  if (const auto interval = row.optional_integer(12)) {
    task.schedule = IntervalSchedule{Duration(*interval)};
  }
  task.last_error = row.optional_text(13);
  task.created_at = from_micros(row.integer(14));
  task.updated_at = from_micros(row.integer(15));
  return task;
}

const std::string& result_columns() {
  static const std::string columns = "task_id, status, value, error, finished_at";
  return columns;
}

void bind_result(Statement& stmt, const TaskResult& result) {
  stmt.bind_text(1, result.task_id);
  stmt.bind_text(2, to_string(result.status));
  stmt.bind_blob(3, result.value);
  stmt.bind_optional_text(4, result.error);
  stmt.bind_int64(5, to_micros(result.finished_at));
}

TaskResult read_result(const Statement& stmt) {
  RowReader row(stmt, "result row");
  TaskResult result;
  result.task_id = row.text(0);
  row.set_row("result of task '" + result.task_id + "'");
  result.status = row.status(1);
  if (result.status != TaskStatus::SUCCESS && result.status != TaskStatus::FAILED) {
    row.corrupt(
        1, "holds " + std::string(to_string(result.status)) + ", a result is SUCCESS or FAILED");
  }
  result.value = row.blob(2);
  result.error = row.optional_text(3);
  result.finished_at = from_micros(row.integer(4));
  return result;
}

}  // namespace taskstore::sqlite
