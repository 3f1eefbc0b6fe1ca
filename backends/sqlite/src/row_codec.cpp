#include "row_codec.hpp"

#include <cstdint>
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

// Reads the columns of one row for internal::read_task_row / read_result_row, each checked
// against the storage type the schema gives it.
class RowReader {
 public:
  explicit RowReader(const Statement& stmt) : stmt_(stmt) {}

  void set_row_name(std::string row) { row_ = std::move(row); }

  std::int64_t integer(int column) {
    expect(column, SQLITE_INTEGER);
    return stmt_.column_int64(column);
  }

  std::optional<std::int64_t> optional_integer(int column) {
    if (stmt_.column_type(column) == SQLITE_NULL) return std::nullopt;
    return integer(column);
  }

  std::string text(int column) {
    expect(column, SQLITE_TEXT);
    return stmt_.column_text(column);
  }

  std::string any_text(int column) { return text(column); }

  std::optional<std::string> optional_any_text(int column) {
    if (stmt_.column_type(column) == SQLITE_NULL) return std::nullopt;
    return text(column);
  }

  Bytes blob(int column) {
    expect(column, SQLITE_BLOB);
    return stmt_.column_blob(column);
  }

  // SQLite has no boolean: 0 or 1.
  bool flag(int column) {
    const std::int64_t value = integer(column);
    if (value != 0 && value != 1) {
      corrupt(column, "holds " + std::to_string(value) + ", not 0 or 1");
    }
    return value == 1;
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
  std::string row_ = "row";
};

}  // namespace

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
  RowReader reader(stmt);
  return internal::read_task_row(reader);
}

void bind_result(Statement& stmt, const TaskResult& result) {
  stmt.bind_text(1, result.task_id);
  stmt.bind_text(2, to_string(result.status));
  stmt.bind_blob(3, result.value);
  stmt.bind_optional_text(4, result.error);
  stmt.bind_int64(5, to_micros(result.finished_at));
}

TaskResult read_result(const Statement& stmt) {
  RowReader reader(stmt);
  return internal::read_result_row(reader);
}

}  // namespace taskstore::sqlite
