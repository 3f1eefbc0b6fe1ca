#pragma once
// The on-disk form of one task or one result. Pure functions, no I/O, so tests and a
// fuzzer can feed them arbitrary bytes.
//
// Layout (all integers little-endian):
//   magic "TSKSTORE" (8) | version u16 | kind u8 (1 task, 2 result) | reserved u8 (0)
//   | body length u32 | crc32 of body u32 | body
// The body is a sequence of fields: tag u16 | length u32 | bytes. Every required field
// of the version must be present; unknown tags are skipped so a later minor addition
// stays readable. Optional fields (schedule, last_error, error) are absent for "none",
// so an empty string and none stay distinct.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "taskstore/task.hpp"

namespace taskstore::file_backend {

inline constexpr std::uint16_t kRecordVersion = 1;

// The CRC-32 (zlib's) of `bytes`, as a record's header carries it for its body.
std::uint32_t checksum(std::span<const std::byte> bytes);
inline constexpr std::size_t kRecordHeaderSize = 20;

// A task as the file store keeps it: the task plus its enqueue sequence number, which
// orders tasks with equal etas and survives reschedule.
struct StoredTask {
  Task task;
  std::uint64_t seq = 0;

  friend bool operator==(const StoredTask&, const StoredTask&) = default;
};

Bytes encode_task(const StoredTask& stored);
Bytes encode_result(const TaskResult& result);

// Decode `bytes`, read from `path` (used only in messages). Throw CorruptionError whose
// message starts with `path` for anything that is not a complete, intact record of the
// expected kind and a supported version.
StoredTask decode_task(std::span<const std::byte> bytes, const std::string& path);
TaskResult decode_result(std::span<const std::byte> bytes, const std::string& path);

}  // namespace taskstore::file_backend
