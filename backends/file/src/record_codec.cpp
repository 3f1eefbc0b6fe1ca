#include "record_codec.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "taskstore/errors.hpp"

namespace taskstore::file_backend {

std::uint32_t checksum(std::span<const std::byte> body) {
  const auto initial = crc32_z(0L, Z_NULL, 0);
  return static_cast<std::uint32_t>(
      crc32_z(initial, reinterpret_cast<const Bytef*>(body.data()), body.size()));
}

namespace {

constexpr std::array<char, 8> kMagic = {'T', 'S', 'K', 'S', 'T', 'O', 'R', 'E'};
constexpr std::size_t kFieldHeaderSize = 6;  // tag u16 + length u32

enum class Kind : std::uint8_t { task = 1, result = 2 };

// The stored codes are part of the format: reordering the enums must not change them.
static_assert(static_cast<int>(TaskStatus::PENDING) == 0);
static_assert(static_cast<int>(TaskStatus::RUNNING) == 1);
static_assert(static_cast<int>(TaskStatus::SUCCESS) == 2);
static_assert(static_cast<int>(TaskStatus::FAILED) == 3);
static_assert(static_cast<int>(TaskStatus::RETRYING) == 4);
static_assert(static_cast<int>(RetryPolicy::Backoff::fixed) == 0);
static_assert(static_cast<int>(RetryPolicy::Backoff::exponential) == 1);

namespace task_tag {
constexpr std::uint16_t kId = 1, kName = 2, kPayload = 3, kStatus = 4, kEta = 5, kAttempts = 6,
                        kMaxRetries = 7, kBackoff = 8, kDelay = 9, kMaxDelay = 10, kJitter = 11,
                        kScheduleInterval = 12, kLastError = 13, kCreatedAt = 14, kUpdatedAt = 15,
                        kSeq = 16;
constexpr std::uint16_t kLast = kSeq;
}  // namespace task_tag

namespace result_tag {
constexpr std::uint16_t kTaskId = 1, kStatus = 2, kValue = 3, kError = 4, kFinishedAt = 5;
constexpr std::uint16_t kLast = kFinishedAt;
}  // namespace result_tag

// ---- encoding ----

class Writer {
 public:
  void put_le(std::uint64_t value, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
      out_.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
    }
  }
  void put_raw(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::byte*>(data);
    out_.insert(out_.end(), p, p + size);
  }

  void field(std::uint16_t tag, const void* data, std::size_t size) {
    if (size > std::numeric_limits<std::uint32_t>::max()) {
      throw StorageError("field " + std::to_string(tag) + " is " + std::to_string(size) +
                         " bytes, too large for a file store record");
    }
    put_le(tag, 2);
    put_le(size, 4);
    put_raw(data, size);
  }
  void text(std::uint16_t tag, std::string_view value) { field(tag, value.data(), value.size()); }
  void bytes(std::uint16_t tag, const Bytes& value) { field(tag, value.data(), value.size()); }
  void u8(std::uint16_t tag, std::uint8_t value) { field(tag, &value, 1); }
  void integer(std::uint16_t tag, std::uint64_t value, std::size_t width) {
    put_le(tag, 2);
    put_le(width, 4);
    put_le(value, width);
  }
  void i32(std::uint16_t tag, std::int32_t value) {
    integer(tag, static_cast<std::uint32_t>(value), 4);
  }
  void i64(std::uint16_t tag, std::int64_t value) {
    integer(tag, static_cast<std::uint64_t>(value), 8);
  }

  Bytes& data() { return out_; }

 private:
  Bytes out_;
};

Bytes frame(Kind kind, const Bytes& body) {
  if (body.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw StorageError("record body is " + std::to_string(body.size()) +
                       " bytes, too large for a file store record");
  }
  Writer out;
  out.data().reserve(kRecordHeaderSize + body.size());
  out.put_raw(kMagic.data(), kMagic.size());
  out.put_le(kRecordVersion, 2);
  out.put_le(static_cast<std::uint8_t>(kind), 1);
  out.put_le(0, 1);  // reserved
  out.put_le(body.size(), 4);
  out.put_le(checksum(body), 4);
  out.put_raw(body.data(), body.size());
  return std::move(out.data());
}

// ---- decoding ----

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw CorruptionError(path + ": " + what);
}

std::uint64_t read_le(const std::byte* p, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value |= static_cast<std::uint64_t>(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  }
  return value;
}

std::string_view kind_name(std::uint8_t kind) {
  switch (kind) {
    case static_cast<std::uint8_t>(Kind::task):
      return "task";
    case static_cast<std::uint8_t>(Kind::result):
      return "result";
    default:
      return "unknown";
  }
}

// Checks the header and returns the body, which is then known to be complete and intact.
std::span<const std::byte> checked_body(std::span<const std::byte> bytes, Kind expected,
                                        const std::string& path) {
  const std::size_t magic_seen = std::min(bytes.size(), kMagic.size());
  if (magic_seen > 0 && std::memcmp(bytes.data(), kMagic.data(), magic_seen) != 0) {
    corrupt(path, "not a taskstore record (foreign file)");
  }
  if (bytes.size() < kRecordHeaderSize) {
    corrupt(path, "truncated: expected at least " + std::to_string(kRecordHeaderSize) +
                      " bytes of header, found " + std::to_string(bytes.size()));
  }
  const auto version = read_le(bytes.data() + 8, 2);
  if (version != kRecordVersion) {
    corrupt(path, "unsupported record version " + std::to_string(version) +
                      " (this build reads version " + std::to_string(kRecordVersion) + ")");
  }
  const auto kind = std::to_integer<std::uint8_t>(bytes[10]);
  if (kind != static_cast<std::uint8_t>(expected)) {
    corrupt(path, "holds a " + std::string(kind_name(kind)) + " record (kind " +
                      std::to_string(kind) + "), expected a " +
                      std::string(kind_name(static_cast<std::uint8_t>(expected))) + " record");
  }
  const auto reserved = std::to_integer<std::uint8_t>(bytes[11]);
  if (reserved != 0) {
    corrupt(path, "reserved header byte is " + std::to_string(reserved) + ", expected 0");
  }
  // Compared with what the file holds before anything is allocated: a hostile length
  // can only produce an error.
  const auto body_length = read_le(bytes.data() + 12, 4);
  const auto available = bytes.size() - kRecordHeaderSize;
  if (available < body_length) {
    corrupt(path, "truncated: expected " + std::to_string(kRecordHeaderSize + body_length) +
                      " bytes, found " + std::to_string(bytes.size()));
  }
  if (available > body_length) {
    corrupt(path, std::to_string(available - body_length) + " trailing bytes after the record");
  }
  const auto body = bytes.subspan(kRecordHeaderSize);
  const auto stored_crc = static_cast<std::uint32_t>(read_le(bytes.data() + 16, 4));
  const auto actual_crc = checksum(body);
  if (stored_crc != actual_crc) {
    corrupt(path, "checksum mismatch (stored " + std::to_string(stored_crc) + ", computed " +
                      std::to_string(actual_crc) + ")");
  }
  return body;
}

// The body's fields by tag, for tags 1..last; unknown tags are skipped.
class Fields {
 public:
  Fields(std::span<const std::byte> body, std::uint16_t last_tag, const std::string& path)
      : path_(path), by_tag_(static_cast<std::size_t>(last_tag) + 1) {
    std::size_t pos = 0;
    while (pos < body.size()) {
      const std::size_t remaining = body.size() - pos;
      if (remaining < kFieldHeaderSize) {
        corrupt(path, "truncated field header at body offset " + std::to_string(pos));
      }
      const auto tag = static_cast<std::uint16_t>(read_le(body.data() + pos, 2));
      const auto length = read_le(body.data() + pos + 2, 4);
      if (length > remaining - kFieldHeaderSize) {
        corrupt(path, "field " + std::to_string(tag) + " at body offset " + std::to_string(pos) +
                          " claims " + std::to_string(length) + " bytes, only " +
                          std::to_string(remaining - kFieldHeaderSize) + " remain");
      }
      const auto value = body.subspan(pos + kFieldHeaderSize, length);
      if (tag != 0 && tag <= last_tag) {
        if (by_tag_[tag]) corrupt(path, "duplicate field " + std::to_string(tag));
        by_tag_[tag] = value;
      }
      pos += kFieldHeaderSize + length;
    }
  }

  std::optional<std::span<const std::byte>> optional(std::uint16_t tag) const {
    return by_tag_[tag];
  }

  std::span<const std::byte> required(std::uint16_t tag, std::string_view name) const {
    if (!by_tag_[tag]) {
      corrupt(path_, "missing field " + std::string(name) + " (tag " + std::to_string(tag) + ")");
    }
    return *by_tag_[tag];
  }

  std::string text(std::uint16_t tag, std::string_view name) const {
    return to_text(required(tag, name));
  }
  Bytes bytes(std::uint16_t tag, std::string_view name) const {
    const auto v = required(tag, name);
    return Bytes(v.begin(), v.end());
  }
  std::uint64_t integer(std::uint16_t tag, std::string_view name, std::size_t width) const {
    return integer_of(required(tag, name), tag, name, width);
  }
  std::uint8_t u8(std::uint16_t tag, std::string_view name) const {
    return static_cast<std::uint8_t>(integer(tag, name, 1));
  }
  std::int32_t i32(std::uint16_t tag, std::string_view name) const {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(integer(tag, name, 4)));
  }
  std::int64_t i64(std::uint16_t tag, std::string_view name) const {
    return static_cast<std::int64_t>(integer(tag, name, 8));
  }
  std::optional<std::string> optional_text(std::uint16_t tag) const {
    const auto v = optional(tag);
    if (!v) return std::nullopt;
    return to_text(*v);
  }
  std::optional<std::int64_t> optional_i64(std::uint16_t tag, std::string_view name) const {
    const auto v = optional(tag);
    if (!v) return std::nullopt;
    return static_cast<std::int64_t>(integer_of(*v, tag, name, 8));
  }

  [[noreturn]] void fail(const std::string& what) const { corrupt(path_, what); }

 private:
  static std::string to_text(std::span<const std::byte> v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size());
  }
  std::uint64_t integer_of(std::span<const std::byte> v, std::uint16_t tag, std::string_view name,
                           std::size_t width) const {
    if (v.size() != width) {
      corrupt(path_, "field " + std::string(name) + " (tag " + std::to_string(tag) + ") has " +
                         std::to_string(v.size()) + " bytes, expected " + std::to_string(width));
    }
    return read_le(v.data(), width);
  }

  const std::string& path_;
  std::vector<std::optional<std::span<const std::byte>>> by_tag_;
};

TaskStatus task_status(const Fields& fields, std::uint16_t tag) {
  const auto raw = fields.u8(tag, "status");
  if (raw > static_cast<std::uint8_t>(TaskStatus::RETRYING)) {
    fields.fail("unknown task status " + std::to_string(raw));
  }
  return static_cast<TaskStatus>(raw);
}

}  // namespace

Bytes encode_task(const StoredTask& stored) {
  namespace t = task_tag;
  const Task& task = stored.task;
  Writer body;
  body.text(t::kId, task.id);
  body.text(t::kName, task.name);
  body.bytes(t::kPayload, task.payload);
  body.u8(t::kStatus, static_cast<std::uint8_t>(task.status));
  body.i64(t::kEta, to_micros(task.eta));
  body.i32(t::kAttempts, task.attempts);
  body.i32(t::kMaxRetries, task.max_retries);
  body.u8(t::kBackoff, static_cast<std::uint8_t>(task.retry.backoff));
  body.i64(t::kDelay, task.retry.delay.count());
  body.i64(t::kMaxDelay, task.retry.max_delay.count());
  body.u8(t::kJitter, task.retry.jitter ? 1 : 0);
  if (task.schedule) body.i64(t::kScheduleInterval, task.schedule->interval.count());
  if (task.last_error) body.text(t::kLastError, *task.last_error);
  body.i64(t::kCreatedAt, to_micros(task.created_at));
  body.i64(t::kUpdatedAt, to_micros(task.updated_at));
  body.integer(t::kSeq, stored.seq, 8);
  return frame(Kind::task, body.data());
}

Bytes encode_result(const TaskResult& result) {
  namespace r = result_tag;
  Writer body;
  body.text(r::kTaskId, result.task_id);
  body.u8(r::kStatus, static_cast<std::uint8_t>(result.status));
  body.bytes(r::kValue, result.value);
  if (result.error) body.text(r::kError, *result.error);
  body.i64(r::kFinishedAt, to_micros(result.finished_at));
  return frame(Kind::result, body.data());
}

StoredTask decode_task(std::span<const std::byte> bytes, const std::string& path) {
  namespace t = task_tag;
  const Fields f(checked_body(bytes, Kind::task, path), t::kLast, path);
  StoredTask stored;
  Task& task = stored.task;
  task.id = f.text(t::kId, "id");
  task.name = f.text(t::kName, "name");
  task.payload = f.bytes(t::kPayload, "payload");
  task.status = task_status(f, t::kStatus);
  task.eta = from_micros(f.i64(t::kEta, "eta"));
  task.attempts = f.i32(t::kAttempts, "attempts");
  task.max_retries = f.i32(t::kMaxRetries, "max_retries");
  const auto backoff = f.u8(t::kBackoff, "backoff");
  if (backoff > static_cast<std::uint8_t>(RetryPolicy::Backoff::exponential)) {
    f.fail("unknown retry backoff " + std::to_string(backoff));
  }
  task.retry.backoff = static_cast<RetryPolicy::Backoff>(backoff);
  task.retry.delay = Duration{f.i64(t::kDelay, "retry delay")};
  task.retry.max_delay = Duration{f.i64(t::kMaxDelay, "retry max_delay")};
  const auto jitter = f.u8(t::kJitter, "jitter");
  if (jitter > 1) f.fail("jitter flag is " + std::to_string(jitter) + ", expected 0 or 1");
  task.retry.jitter = jitter == 1;
  if (const auto interval = f.optional_i64(t::kScheduleInterval, "schedule interval")) {
    task.schedule = IntervalSchedule{Duration{*interval}};
  }
  task.last_error = f.optional_text(t::kLastError);
  task.created_at = from_micros(f.i64(t::kCreatedAt, "created_at"));
  task.updated_at = from_micros(f.i64(t::kUpdatedAt, "updated_at"));
  stored.seq = f.integer(t::kSeq, "seq", 8);
  return stored;
}

TaskResult decode_result(std::span<const std::byte> bytes, const std::string& path) {
  namespace r = result_tag;
  const Fields f(checked_body(bytes, Kind::result, path), r::kLast, path);
  TaskResult result;
  result.task_id = f.text(r::kTaskId, "task_id");
  result.status = task_status(f, r::kStatus);
  if (result.status != TaskStatus::SUCCESS && result.status != TaskStatus::FAILED) {
    f.fail("result status is " + std::string(to_string(result.status)) +
           ", expected SUCCESS or FAILED");
  }
  result.value = f.bytes(r::kValue, "value");
  result.error = f.optional_text(r::kError);
  result.finished_at = from_micros(f.i64(r::kFinishedAt, "finished_at"));
  return result;
}

}  // namespace taskstore::file_backend
