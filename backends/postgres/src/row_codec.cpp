#include "row_codec.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

namespace taskstore::postgres {

namespace {

// Type oids of the columns the schema uses (pg_type.h is a server header).
constexpr Oid kBool = 16;
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;

std::string_view type_name(Oid type) {
  switch (type) {
    case kBool:
      return "boolean";
    case kBytea:
      return "bytea";
    case kInt8:
      return "bigint";
    case kText:
      return "text";
    default:
      return "another type";
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the columns of one row, each checked against the type the schema gives it.
// `row_name` names the row in messages ("task 'abc'"), once its id is known.
class RowReader {
 public:
  RowReader(const Connection& connection, const Result& result, int row, std::string row_name)
      : connection_(connection), result_(result), row_(row), row_name_(std::move(row_name)) {}

  void set_row_name(std::string row_name) { row_name_ = std::move(row_name); }

  std::int64_t integer(int column) {
    const std::string_view text = value(column, kInt8);
    std::int64_t out = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (error != std::errc() || end != text.data() + text.size()) {
      corrupt(column, "holds '" + std::string(text) + "', not an integer");
    }
    return out;
  }

  std::int32_t int32(int column) {
    const std::int64_t value = integer(column);
    if (value < std::numeric_limits<std::int32_t>::min() ||
        value > std::numeric_limits<std::int32_t>::max()) {
      corrupt(column, "holds " + std::to_string(value) + ", outside the 32-bit range");
    }
    return static_cast<std::int32_t>(value);
  }

  std::optional<std::int64_t> optional_integer(int column) {
    if (result_.is_null(row_, column)) return std::nullopt;
    return integer(column);
  }

  bool boolean(int column) {
    const std::string_view text = value(column, kBool);
    if (text != "t" && text != "f") corrupt(column, "holds '" + std::string(text) + "'");
    return text == "t";
  }

  std::string text(int column) { return std::string(value(column, kText)); }

  // bytea arrives in its hex output form, "\x" then two hex digits a byte.
  std::string bytes(int column) {
    const std::string_view hex = value(column, kBytea);
    if (hex.size() < 2 || hex[0] != '\\' || hex[1] != 'x' || hex.size() % 2 != 0) {
      corrupt(column, "is not in bytea's hex form");
    }
    std::string out;
    out.reserve(hex.size() / 2 - 1);
    for (std::size_t i = 2; i < hex.size(); i += 2) {
      const int high = hex_digit(hex[i]);
      const int low = hex_digit(hex[i + 1]);
      if (high < 0 || low < 0) corrupt(column, "is not in bytea's hex form");
      out += static_cast<char>((high << 4) | low);
    }
    return out;
  }

  Bytes blob(int column) { return to_bytes(bytes(column)); }

  std::optional<std::string> optional_bytes(int column) {
    if (result_.is_null(row_, column)) return std::nullopt;
    return bytes(column);
  }

  TaskStatus status(int column) {
    const std::string value = text(column);
    const auto status = parse_task_status(value);
    if (!status) corrupt(column, "holds the unknown status '" + value + "'");
    return *status;
  }

  [[noreturn]] void corrupt(int column, const std::string& what) const {
    throw CorruptionError(connection_.where() + ": " + row_name_ + " column " +
                          result_.column_name(column) + " " + what);
  }

 private:
  // The column's text, checked to be of `type` and not NULL.
  std::string_view value(int column, Oid type) {
    if (result_.type(column) != type) {
      corrupt(column, "has type " + std::string(type_name(result_.type(column))) +
                          ", expected " + std::string(type_name(type)));
    }
    if (result_.is_null(row_, column)) corrupt(column, "is NULL");
    return result_.value(row_, column);
  }

  const Connection& connection_;
  const Result& result_;
  int row_;
  std::string row_name_;
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

Params task_params(const Task& task) {
  Params params;
  params.text(task.id)
      .bytes(task.name)
      .bytes(task.payload)
      .text(to_string(task.status))
      .int64(to_micros(task.eta))
      .int64(task.attempts)
      .int64(task.max_retries)
      .text(to_string(task.retry.backoff))
      .int64(task.retry.delay.count())
      .int64(task.retry.max_delay.count())
      .boolean(task.retry.jitter)
      .optional_int64(task.schedule ? std::optional<std::int64_t>(task.schedule->interval.count())
                                    : std::nullopt)
      .optional_bytes(task.last_error)
      .int64(to_micros(task.created_at))
      .int64(to_micros(task.updated_at));
  return params;
}

std::int64_t read_seq(const Connection& connection, const Result& result, int row) {
  RowReader reader(connection, result, row, "task row");
  return reader.integer(0);
}

Task read_task(const Connection& connection, const Result& result, int row) {
  RowReader reader(connection, result, row, "task row");
  reader.set_row_name("task row seq " + std::to_string(reader.integer(0)));
  Task task;
  task.id = reader.text(1);
  reader.set_row_name("task '" + task.id + "'");
  task.name = reader.bytes(2);
  task.payload = reader.blob(3);
  task.status = reader.status(4);
  task.eta = from_micros(reader.integer(5));
  task.attempts = reader.int32(6);
  task.max_retries = reader.int32(7);
  const std::string backoff = reader.text(8);
  if (backoff == to_string(RetryPolicy::Backoff::fixed)) {
    task.retry.backoff = RetryPolicy::Backoff::fixed;
  } else if (backoff == to_string(RetryPolicy::Backoff::exponential)) {
    task.retry.backoff = RetryPolicy::Backoff::exponential;
  } else {
    reader.corrupt(8, "holds the unknown backoff '" + backoff + "'");
  }
  task.retry.delay = Duration(reader.integer(9));
  task.retry.max_delay = Duration(reader.integer(10));
  task.retry.jitter = reader.boolean(11);
  if (const auto interval = reader.optional_integer(12)) {
    task.schedule = IntervalSchedule{Duration(*interval)};
  }
  task.last_error = reader.optional_bytes(13);
  task.created_at = from_micros(reader.integer(14));
  task.updated_at = from_micros(reader.integer(15));
  return task;
}

const std::string& result_columns() {
  static const std::string columns = "task_id, status, value, error, finished_at";
  return columns;
}

Params result_params(const TaskResult& result) {
  Params params;
  params.text(result.task_id)
      .text(to_string(result.status))
      .bytes(result.value)
      .optional_bytes(result.error)
      .int64(to_micros(result.finished_at));
  return params;
}

TaskResult read_result(const Connection& connection, const Result& rows, int row) {
  RowReader reader(connection, rows, row, "result row");
  TaskResult result;
  result.task_id = reader.text(0);
  reader.set_row_name("result of task '" + result.task_id + "'");
  result.status = reader.status(1);
  if (result.status != TaskStatus::SUCCESS && result.status != TaskStatus::FAILED) {
    reader.corrupt(1, "holds " + std::string(to_string(result.status)) +
                          ", a result is SUCCESS or FAILED");
  }
  result.value = reader.blob(2);
  result.error = reader.optional_bytes(3);
  result.finished_at = from_micros(reader.integer(4));
  return result;
}

}  // namespace taskstore::postgres
