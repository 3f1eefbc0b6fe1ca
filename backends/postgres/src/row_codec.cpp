#include "row_codec.hpp"

#include <charconv>
#include <cstdint>
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

// Reads the columns of one row for internal::read_task_row / read_result_row, each checked
// against the type the schema gives it.
class RowReader {
 public:
  RowReader(const Connection& connection, const Result& result, int row)
      : connection_(connection), result_(result), row_(row) {}

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

  std::optional<std::int64_t> optional_integer(int column) {
    if (result_.is_null(row_, column)) return std::nullopt;
    return integer(column);
  }

  bool flag(int column) {
    const std::string_view text = value(column, kBool);
    if (text != "t" && text != "f") corrupt(column, "holds '" + std::string(text) + "'");
    return text == "t";
  }

  std::string text(int column) { return std::string(value(column, kText)); }

  // Names and errors are bytea: they may hold bytes that are not valid UTF-8.
  std::string any_text(int column) { return bytes(column); }

  std::optional<std::string> optional_any_text(int column) {
    if (result_.is_null(row_, column)) return std::nullopt;
    return bytes(column);
  }

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
  std::string row_name_ = "row";
};

}  // namespace

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
  RowReader reader(connection, result, row);
  reader.set_row_name("task row");
  return reader.integer(0);
}

Task read_task(const Connection& connection, const Result& result, int row) {
  RowReader reader(connection, result, row);
  return internal::read_task_row(reader);
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
  RowReader reader(connection, rows, row);
  return internal::read_result_row(reader);
}

}  // namespace taskstore::postgres
