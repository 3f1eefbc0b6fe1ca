// The record format on its own: round trips and every kind of damage (FILE-1).

#include "record_codec.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <functional>
#include <string>

#include "taskstore/errors.hpp"
#include "test_support.hpp"

namespace taskstore::file_backend {
namespace {

const std::string kPath = "/store/tasks/6162.task";

// Runs `decode` and checks it throws CorruptionError whose message starts with kPath and
// contains `fragment`.
void expect_corruption(const std::function<void()>& decode, const std::string& fragment = "") {
  try {
    decode();
    ADD_FAILURE() << "no CorruptionError; expected one containing \"" << fragment << "\"";
  } catch (const CorruptionError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(kPath + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

void put_le(Bytes& out, std::size_t offset, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) {
    out[offset + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
  }
}

void append_le(Bytes& out, std::uint64_t value, std::size_t width) {
  out.resize(out.size() + width);
  put_le(out, out.size() - width, value, width);
}

// Rewrites the header's body length and checksum to match the body, so a test can
// change the body and reach the checks behind the checksum.
void reseal(Bytes& record) {
  const std::size_t body = record.size() - kRecordHeaderSize;
  put_le(record, 12, body, 4);
  const auto crc = crc32_z(crc32_z(0L, Z_NULL, 0),
                           reinterpret_cast<const Bytef*>(record.data() + kRecordHeaderSize), body);
  put_le(record, 16, crc, 4);
}

void append_field(Bytes& record, std::uint16_t tag, const Bytes& value) {
  append_le(record, tag, 2);
  append_le(record, value.size(), 4);
  record.insert(record.end(), value.begin(), value.end());
}

StoredTask sample() { return StoredTask{file_test::tricky_task("ab"), 0xfedcba9876543210ULL}; }

// Checks: FILE-1
TEST(RecordCodec, TaskRoundTripsEveryField) {
  const StoredTask full = sample();
  EXPECT_EQ(decode_task(encode_task(full), kPath), full);

  StoredTask plain = full;
  plain.task.schedule.reset();
  plain.task.last_error.reset();
  plain.task.payload.clear();
  plain.task.status = TaskStatus::RETRYING;
  plain.seq = 0;
  const StoredTask decoded = decode_task(encode_task(plain), kPath);
  EXPECT_EQ(decoded, plain);
  EXPECT_FALSE(decoded.task.last_error.has_value());
  EXPECT_FALSE(decoded.task.schedule.has_value());

  StoredTask with_error = full;
  with_error.task.last_error = std::string("boom\0\xE2\x9C\x93", 7);
  EXPECT_EQ(decode_task(encode_task(with_error), kPath), with_error);
}

// Checks: FILE-1
TEST(RecordCodec, ResultRoundTripsEveryField) {
  TaskResult result{.task_id = "t\xC3\xA9",
                    .status = TaskStatus::SUCCESS,
                    .value = to_bytes(std::string("\0v\0", 3)),
                    .error = std::nullopt,
                    .finished_at = from_micros(-42)};
  EXPECT_EQ(decode_result(encode_result(result), kPath), result);
  result.error = std::string();
  result.status = TaskStatus::FAILED;
  result.value.clear();
  const TaskResult decoded = decode_result(encode_result(result), kPath);
  EXPECT_EQ(decoded, result);
  ASSERT_TRUE(decoded.error.has_value());
  EXPECT_TRUE(decoded.error->empty());
}

// Checks: FILE-1
TEST(RecordCodec, TruncationAtEveryLengthIsCorruption) {
  const Bytes task = encode_task(sample());
  for (std::size_t length = 0; length < task.size(); ++length) {
    SCOPED_TRACE("length " + std::to_string(length));
    const Bytes cut(task.begin(), task.begin() + static_cast<std::ptrdiff_t>(length));
    expect_corruption([&] { decode_task(cut, kPath); }, "truncated");
  }
  const Bytes result = encode_result(TaskResult{.task_id = "ab", .value = to_bytes("v")});
  for (std::size_t length = 0; length < result.size(); ++length) {
    const Bytes cut(result.begin(), result.begin() + static_cast<std::ptrdiff_t>(length));
    expect_corruption([&] { decode_result(cut, kPath); }, "truncated");
  }
}

// Checks: FILE-1
TEST(RecordCodec, AnyFlippedByteIsCorruption) {
  const Bytes task = encode_task(sample());
  for (std::size_t pos = 0; pos < task.size(); ++pos) {
    for (const auto mask : {std::byte{0x01}, std::byte{0x80}, std::byte{0xff}}) {
      SCOPED_TRACE("byte " + std::to_string(pos));
      Bytes damaged = task;
      damaged[pos] ^= mask;
      expect_corruption([&] { decode_task(damaged, kPath); });
    }
  }
}

// Checks: FILE-1
TEST(RecordCodec, ForeignFileIsNamedAsSuch) {
  expect_corruption(
      [] { decode_task(to_bytes("{\"id\": \"ab\", \"status\": \"PENDING\"}"), kPath); },
      "not a taskstore record (foreign file)");
  expect_corruption([] { decode_task(to_bytes("X"), kPath); }, "foreign file");
  expect_corruption([] { decode_task(Bytes{}, kPath); }, "truncated");
}

// Checks: FILE-1
TEST(RecordCodec, OtherVersionsAndKindsAreRejected) {
  Bytes record = encode_task(sample());
  put_le(record, 8, 2, 2);
  expect_corruption([&] { decode_task(record, kPath); }, "unsupported record version 2");

  const Bytes task = encode_task(sample());
  expect_corruption([&] { decode_result(task, kPath); }, "expected a result record");
  const Bytes result = encode_result(TaskResult{.task_id = "ab"});
  expect_corruption([&] { decode_task(result, kPath); }, "expected a task record");
}

// Checks: FILE-1
TEST(RecordCodec, HostileLengthsNeverAllocate) {
  Bytes record = encode_task(sample());
  put_le(record, 12, 0xffffffffu, 4);
  expect_corruption([&] { decode_task(record, kPath); }, "truncated: expected 4294967315 bytes");

  // A field that claims more than the body holds, behind a valid checksum.
  Bytes field = encode_task(sample());
  append_le(field, 1, 2);
  append_le(field, 0xfffffff0u, 4);
  reseal(field);
  expect_corruption([&] { decode_task(field, kPath); }, "claims 4294967280 bytes");

  // A body that ends inside a field header.
  Bytes short_header = encode_task(sample());
  append_le(short_header, 1, 2);
  reseal(short_header);
  expect_corruption([&] { decode_task(short_header, kPath); }, "truncated field header");
}

// Checks: FILE-1
TEST(RecordCodec, UnknownFieldsAreSkipped) {
  const StoredTask stored = sample();
  Bytes record = encode_task(stored);
  append_field(record, 999, to_bytes("from a later minor version"));
  append_field(record, 0, Bytes{});
  reseal(record);
  EXPECT_EQ(decode_task(record, kPath), stored);
}

// Checks: FILE-1
TEST(RecordCodec, MissingDuplicateOrMalformedFieldsAreCorruption) {
  const Bytes full = encode_task(sample());
  Bytes missing(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(kRecordHeaderSize));
  append_field(missing, 1, to_bytes("ab"));
  reseal(missing);
  expect_corruption([&] { decode_task(missing, kPath); }, "missing field name");

  Bytes duplicate = encode_task(sample());
  append_field(duplicate, 1, to_bytes("cd"));
  reseal(duplicate);
  expect_corruption([&] { decode_task(duplicate, kPath); }, "duplicate field 1");

  // The fields are written in tag order: id, name, payload, then status (1 byte).
  const StoredTask stored = sample();
  const std::size_t status_at = kRecordHeaderSize + 3 * 6 + stored.task.id.size() +
                                stored.task.name.size() + stored.task.payload.size() + 6;
  Bytes bad_status = encode_task(stored);
  ASSERT_EQ(bad_status[status_at], std::byte{0});  // PENDING
  bad_status[status_at] = std::byte{9};
  reseal(bad_status);
  expect_corruption([&] { decode_task(bad_status, kPath); }, "unknown task status 9");

  Bytes wide_status = encode_task(stored);
  put_le(wide_status, status_at - 4, 2, 4);  // status claims 2 bytes
  reseal(wide_status);
  expect_corruption([&] { decode_task(wide_status, kPath); });

  // A result may only be SUCCESS or FAILED.
  Bytes running = encode_result(TaskResult{.task_id = "ab"});
  const std::size_t result_status_at = kRecordHeaderSize + 6 + 2 + 6;
  ASSERT_EQ(running[result_status_at], std::byte{2});  // SUCCESS
  running[result_status_at] = std::byte{1};
  reseal(running);
  expect_corruption([&] { decode_result(running, kPath); }, "expected SUCCESS or FAILED");
}

}  // namespace
}  // namespace taskstore::file_backend
