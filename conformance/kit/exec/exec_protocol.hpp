#pragma once
// The JSON forms of docs/driver-protocol.md (version 1): text, bytes, tasks, results and
// error answers. Part of the exec backend (taskstore/conformance/exec_backend.hpp).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "taskstore/task.hpp"
#include "taskstore/validation.hpp"

namespace taskstore::conformance::exec_detail {

// ordered_json keeps members in the order they were added, so request lines read
// {"id":1,"op":"enqueue",...} in logs.
using Json = nlohmann::ordered_json;

// An answer that does not follow the protocol (a missing field, a wrong type). The
// message says what is wrong; the caller adds which request it answered.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Strict UTF-8, as validate_task_id and JSON require: the spec's own check.
using taskstore::is_valid_utf8;

std::string encode_base64(std::string_view bytes);
// Throws ProtocolError naming `what` for anything but canonical, padded base64.
std::string decode_base64(std::string_view text, std::string_view what);

// Text (ids, names, errors, messages) is a JSON string when its bytes are valid UTF-8,
// otherwise {"base64": "..."}, so any bytes go through.
Json encode_text(std::string_view text);
std::string decode_text(const Json& value, std::string_view what);

// Bytes (payloads, result values) are always a base64 string.
Json encode_bytes(const Bytes& bytes);
Bytes decode_bytes(const Json& value, std::string_view what);

Json encode_time(Timestamp t);
Timestamp decode_time(const Json& value, std::string_view what);

Json encode_task(const Task& task);
Task decode_task(const Json& value, std::string_view what);

Json encode_result(const TaskResult& result);
TaskResult decode_result(const Json& value, std::string_view what);

// A JSON value as a short, one-line quote for messages (at most `limit` bytes).
std::string quote(std::string_view text, std::size_t limit = 200);

// Throws the typed error (NotFoundError, ConflictError, CorruptionError,
// InvalidArgumentError, StorageError) of an error answer's "error" member, with its
// message verbatim. Throws ProtocolError if the member is malformed.
[[noreturn]] void throw_error_answer(const Json& error);

}  // namespace taskstore::conformance::exec_detail
