#include "exec_protocol.hpp"

#include <array>
#include <limits>

#include "taskstore/errors.hpp"

namespace taskstore::conformance::exec_detail {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

[[noreturn]] void bad(std::string_view what, std::string_view problem) {
  throw ProtocolError(std::string(what) + " " + std::string(problem));
}

const Json& member(const Json& object, std::string_view what, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) bad(what, std::string("has no member \"") + key + "\"");
  return *it;
}

std::string field(std::string_view what, const char* key) { return std::string(what) + "." + key; }

std::int64_t decode_int64(const Json& value, std::string_view what) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      bad(what, "is out of the range of a 64-bit integer");
    }
    return static_cast<std::int64_t>(u);
  }
  if (!value.is_number_integer()) bad(what, "is not an integer: " + quote(value.dump()));
  return value.get<std::int64_t>();
}

std::int32_t decode_int32(const Json& value, std::string_view what) {
  const std::int64_t v = decode_int64(value, what);
  if (v < std::numeric_limits<std::int32_t>::min() ||
      v > std::numeric_limits<std::int32_t>::max()) {
    bad(what, "is out of the range of a 32-bit integer: " + std::to_string(v));
  }
  return static_cast<std::int32_t>(v);
}

bool decode_bool(const Json& value, std::string_view what) {
  if (!value.is_boolean()) bad(what, "is not true or false: " + quote(value.dump()));
  return value.get<bool>();
}

TaskStatus decode_status(const Json& value, std::string_view what) {
  if (!value.is_string()) bad(what, "is not a string: " + quote(value.dump()));
  const auto status = parse_task_status(value.get_ref<const std::string&>());
  if (!status) bad(what, "is not a task status: " + quote(value.dump()));
  return *status;
}

void require_object(const Json& value, std::string_view what) {
  if (!value.is_object()) bad(what, "is not an object: " + quote(value.dump()));
}

}  // namespace

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                            static_cast<std::uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string decode_base64(std::string_view text, std::string_view what) {
  if (text.size() % 4 != 0) bad(what, "is not base64 (its length is not a multiple of 4)");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t n = 0;
    int padding = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      std::uint32_t v = 0;
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++padding;
      } else {
        if (padding > 0) bad(what, "is not base64 (data after '=')");
        const auto pos = kAlphabet.find(c);
        if (pos == std::string_view::npos)
          bad(what, "is not base64 (a character outside A-Z a-z 0-9 + /)");
        v = static_cast<std::uint32_t>(pos);
      }
      n = (n << 6) | v;
    }
    out += static_cast<char>((n >> 16) & 0xFF);
    if (padding < 2) out += static_cast<char>((n >> 8) & 0xFF);
    if (padding < 1) out += static_cast<char>(n & 0xFF);
  }
  return out;
}

Json encode_text(std::string_view text) {
  if (is_valid_utf8(text)) return Json(std::string(text));
  return Json{{"base64", encode_base64(text)}};
}

std::string decode_text(const Json& value, std::string_view what) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.size() == 1 && value.contains("base64") &&
      value["base64"].is_string()) {
    return decode_base64(value["base64"].get_ref<const std::string&>(), what);
  }
  bad(what, "is neither a string nor {\"base64\": \"...\"}: " + quote(value.dump()));
}

Json encode_bytes(const Bytes& bytes) {
  return Json(
      encode_base64(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
}

Bytes decode_bytes(const Json& value, std::string_view what) {
  if (!value.is_string()) bad(what, "is not a base64 string: " + quote(value.dump()));
  const std::string raw = decode_base64(value.get_ref<const std::string&>(), what);
  Bytes out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = static_cast<std::byte>(raw[i]);
  return out;
}

Json encode_time(Timestamp t) { return Json(to_micros(t)); }

Timestamp decode_time(const Json& value, std::string_view what) {
  return from_micros(decode_int64(value, what));
}

Json encode_task(const Task& task) {
  Json out = Json::object();
  out["id"] = encode_text(task.id);
  out["name"] = encode_text(task.name);
  out["payload"] = encode_bytes(task.payload);
  out["status"] = std::string(to_string(task.status));
  out["eta"] = encode_time(task.eta);
  out["attempts"] = task.attempts;
  out["max_retries"] = task.max_retries;
  Json retry = Json::object();
  retry["backoff"] = std::string(to_string(task.retry.backoff));
  retry["delay"] = task.retry.delay.count();
  retry["max_delay"] = task.retry.max_delay.count();
  retry["jitter"] = task.retry.jitter;
  out["retry"] = std::move(retry);
  if (task.schedule) {
    Json schedule = Json::object();
    schedule["interval"] = task.schedule->interval.count();
    out["schedule"] = std::move(schedule);
  } else {
    out["schedule"] = nullptr;
  }
  out["last_error"] = task.last_error ? encode_text(*task.last_error) : Json(nullptr);
  out["created_at"] = encode_time(task.created_at);
  out["updated_at"] = encode_time(task.updated_at);
  return out;
}

Task decode_task(const Json& value, std::string_view what) {
  require_object(value, what);
  Task task;
  const auto f = [&](const char* key) { return field(what, key); };
  task.id = decode_text(member(value, what, "id"), f("id"));
  task.name = decode_text(member(value, what, "name"), f("name"));
  task.payload = decode_bytes(member(value, what, "payload"), f("payload"));
  task.status = decode_status(member(value, what, "status"), f("status"));
  task.eta = decode_time(member(value, what, "eta"), f("eta"));
  task.attempts = decode_int32(member(value, what, "attempts"), f("attempts"));
  task.max_retries = decode_int32(member(value, what, "max_retries"), f("max_retries"));
  const Json& retry = member(value, what, "retry");
  const std::string retry_what = f("retry");
  require_object(retry, retry_what);
  const Json& backoff = member(retry, retry_what, "backoff");
  const auto parsed = backoff.is_string() ? parse_backoff(backoff.get<std::string>()) : std::nullopt;
  if (!parsed) {
    bad(field(retry_what, "backoff"),
        "is neither \"fixed\" nor \"exponential\": " + quote(backoff.dump()));
  }
  task.retry.backoff = *parsed;
  task.retry.delay =
      Duration{decode_int64(member(retry, retry_what, "delay"), field(retry_what, "delay"))};
  task.retry.max_delay = Duration{
      decode_int64(member(retry, retry_what, "max_delay"), field(retry_what, "max_delay"))};
  task.retry.jitter = decode_bool(member(retry, retry_what, "jitter"), field(retry_what, "jitter"));
  const Json& schedule = member(value, what, "schedule");
  if (!schedule.is_null()) {
    const std::string schedule_what = f("schedule");
    require_object(schedule, schedule_what);
    task.schedule = IntervalSchedule{Duration{decode_int64(
        member(schedule, schedule_what, "interval"), field(schedule_what, "interval"))}};
  }
  const Json& last_error = member(value, what, "last_error");
  if (!last_error.is_null()) task.last_error = decode_text(last_error, f("last_error"));
  task.created_at = decode_time(member(value, what, "created_at"), f("created_at"));
  task.updated_at = decode_time(member(value, what, "updated_at"), f("updated_at"));
  return task;
}

Json encode_result(const TaskResult& result) {
  Json out = Json::object();
  out["task_id"] = encode_text(result.task_id);
  out["status"] = std::string(to_string(result.status));
  out["value"] = encode_bytes(result.value);
  out["error"] = result.error ? encode_text(*result.error) : Json(nullptr);
  out["finished_at"] = encode_time(result.finished_at);
  return out;
}

TaskResult decode_result(const Json& value, std::string_view what) {
  require_object(value, what);
  TaskResult result;
  const auto f = [&](const char* key) { return field(what, key); };
  result.task_id = decode_text(member(value, what, "task_id"), f("task_id"));
  result.status = decode_status(member(value, what, "status"), f("status"));
  result.value = decode_bytes(member(value, what, "value"), f("value"));
  const Json& error = member(value, what, "error");
  if (!error.is_null()) result.error = decode_text(error, f("error"));
  result.finished_at = decode_time(member(value, what, "finished_at"), f("finished_at"));
  return result;
}

std::string quote(std::string_view text, std::size_t limit) {
  std::string out;
  for (const char c : text) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7F) {
      static constexpr std::string_view kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return "'" + out + "'";
}

void throw_error_answer(const Json& error) {
  if (!error.is_object()) bad("\"error\"", "is not an object: " + quote(error.dump()));
  const Json& type = member(error, "\"error\"", "type");
  const std::string message = decode_text(member(error, "\"error\"", "message"), "error.message");
  if (!type.is_string()) bad("error.type", "is not a string: " + quote(type.dump()));
  const auto& kind = type.get_ref<const std::string&>();
  if (kind == "not_found") throw NotFoundError(message);
  if (kind == "conflict") throw ConflictError(message);
  if (kind == "corruption") throw CorruptionError(message);
  if (kind == "invalid_argument") throw InvalidArgumentError(message);
  if (kind == "storage") throw StorageError(message);
  if (kind == "unsupported") throw NotSupportedError(message);
  bad("error.type",
      "is not one of not_found, conflict, corruption, invalid_argument, storage, unsupported: " +
                        quote(kind) + " (message: " + message + ")");
}

}  // namespace taskstore::conformance::exec_detail
