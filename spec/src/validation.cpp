#include "taskstore/validation.hpp"

#include <cstdint>
#include <string>

#include "taskstore/errors.hpp"
#include "taskstore/storage.hpp"

namespace taskstore {

namespace {

[[noreturn]] void reject(std::string_view operation, const std::string& what) {
  throw InvalidArgumentError(std::string(operation) + ": " + what);
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

void validate_task_id(std::string_view operation, std::string_view id) {
  if (id.empty()) reject(operation, "task id is empty");
  if (id.size() > Task::kMaxIdBytes) {
    reject(operation, "task id is " + std::to_string(id.size()) + " bytes, the limit is " +
                          std::to_string(Task::kMaxIdBytes));
  }
  if (id.find('\0') != std::string_view::npos) reject(operation, "task id contains a NUL byte");
  if (!is_valid_utf8(id)) reject(operation, "task id is not valid UTF-8");
}

void validate_new_task(const Task& task) {
  constexpr std::string_view op = "enqueue";
  validate_task_id(op, task.id);
  const std::string who = "task '" + task.id + "'";
  if (task.name.empty()) reject(op, who + " has an empty name");
  if (task.status != TaskStatus::PENDING) {
    reject(op, who + " has status " + std::string(to_string(task.status)) +
                   ", only PENDING tasks can be enqueued");
  }
  if (task.attempts < 0) reject(op, who + " has negative attempts");
  if (task.max_retries < 0) {
    reject(op, who + " has negative max_retries (" + std::to_string(task.max_retries) + ")");
  }
  if (!parse_backoff(to_string(task.retry.backoff))) {
    reject(op, who + " has an unknown retry backoff (" +
                   std::to_string(static_cast<int>(task.retry.backoff)) + ")");
  }
  if (task.retry.delay.count() < 0 || task.retry.max_delay.count() < 0) {
    reject(op, who + " has a negative retry delay");
  }
  if (task.schedule && task.schedule->interval.count() <= 0) {
    reject(op, who + " has a non-positive schedule interval");
  }
}

void validate_success_result(std::string_view task_id, const TaskResult& result) {
  constexpr std::string_view op = "mark_done";
  validate_task_id(op, task_id);
  if (result.task_id != task_id) {
    reject(op, "result names task '" + result.task_id + "' but was given for task '" +
                   std::string(task_id) + "'");
  }
  if (result.status != TaskStatus::SUCCESS) {
    reject(op, "result for task '" + std::string(task_id) + "' has status " +
                   std::string(to_string(result.status)) + ", mark_done takes SUCCESS");
  }
}

void validate_batch_size(std::size_t max) {
  if (max == 0 || max > BaseStorage::kMaxBatchClaim) {
    reject("dequeue_batch", "max is " + std::to_string(max) + ", outside 1.." +
                                std::to_string(BaseStorage::kMaxBatchClaim));
  }
}

}  // namespace taskstore
