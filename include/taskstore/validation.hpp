#pragma once
// Input checks shared by every backend, so they all reject the same things with the same
// words. Each throws InvalidArgumentError naming the operation and the offending field.

#include <cstddef>
#include <string_view>

#include "taskstore/task.hpp"

namespace taskstore {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// A task id: 1 to Task::kMaxIdBytes bytes of valid UTF-8 without NUL.
void validate_task_id(std::string_view operation, std::string_view id);

// What enqueue accepts: a valid id, a non-empty name, status PENDING, attempts >= 0,
// max_retries >= 0, non-negative retry delays, a positive interval if scheduled.
void validate_new_task(const Task& task);

// What mark_done accepts: a result for `task_id` with status SUCCESS.
void validate_success_result(std::string_view task_id, const TaskResult& result);

// What dequeue_batch accepts: 1 <= max <= BaseStorage::kMaxBatchClaim (BAT-3).
void validate_batch_size(std::size_t max);

}  // namespace taskstore
