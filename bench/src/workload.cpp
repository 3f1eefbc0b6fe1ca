#include "workload.hpp"

#include <cstdio>
#include <exception>

namespace taskstore::bench {

std::string task_id(std::size_t index) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "task-%010zu", index);
  return buffer;
}

Timestamp preload_eta(std::size_t index) {
  // 2020-01-01T00:00:00Z: long past, whenever the benchmark runs.
  constexpr std::int64_t kBase = 1'577'836'800'000'000;
  return from_micros(kBase + static_cast<std::int64_t>(index));
}

Task make_task(std::size_t index, std::size_t payload_bytes, Timestamp eta) {
  Task task;
  task.id = task_id(index);
  task.name = std::string(kTaskName);
  task.payload.resize(payload_bytes);
  for (std::size_t i = 0; i < payload_bytes; ++i) {
    task.payload[i] = static_cast<std::byte>((index + i) & 0xff);
  }
  task.eta = eta;
  task.created_at = eta;
  task.updated_at = eta;
  return task;
}

TaskResult make_result(const std::string& id) {
  TaskResult result;
  result.task_id = id;
  result.status = TaskStatus::SUCCESS;
  result.finished_at = now_utc();
  return result;
}

ClaimCount& ClaimCount::operator+=(const ClaimCount& other) {
  claims += other.claims;
  errors += other.errors;
  if (first_error.empty()) first_error = other.first_error;
  return *this;
}

Awaitable<void> claim_loop(BaseStorage& store, std::uint64_t limit, ClaimCount& count) {
  int errors_in_a_row = 0;
  while (count.claims < limit) {
    bool failed = false;
    try {
      auto op = store.dequeue(now_utc());
      const std::optional<Task> task = co_await std::move(op);
      if (!task) break;
      ++count.claims;
      errors_in_a_row = 0;
    } catch (const std::exception& e) {
      failed = true;
      if (count.first_error.empty()) count.first_error = e.what();
    }
    if (failed) {
      ++count.errors;
      if (++errors_in_a_row >= 100) break;
    }
  }
}

Awaitable<void> enqueue_range(BaseStorage& store, std::size_t first, std::size_t count,
                              std::size_t payload_bytes) {
  for (std::size_t i = first; i < first + count; ++i) {
    Task task = make_task(i, payload_bytes, preload_eta(i));
    auto op = store.enqueue(std::move(task));
    co_await std::move(op);
  }
}

}  // namespace taskstore::bench
