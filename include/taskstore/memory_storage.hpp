#pragma once
// MemoryStorage: the in-process reference backend. Thread-safe; not persistent. The other
// backends are compared with it.

#include <memory>

#include "taskstore/storage.hpp"

namespace taskstore {

class MemoryStorage final : public BaseStorage {
 public:
  // `clock` stamps updated_at and finished_at where an operation has no `now` argument.
  explicit MemoryStorage(Clock clock = system_clock());
  ~MemoryStorage() override;

  Awaitable<std::string> enqueue(Task task) override;
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override;
  bool claims_batches() const override { return true; }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override;
  Awaitable<void> mark_running(std::string task_id) override;
  Awaitable<void> mark_done(std::string task_id, TaskResult result) override;
  Awaitable<std::optional<TaskResult>> get_result(std::string task_id) override;
  Awaitable<std::size_t> purge_results(Timestamp older_than) override;
  Awaitable<void> mark_failed(std::string task_id, std::string error, bool will_retry) override;
  Awaitable<std::optional<Task>> get_task(std::string task_id) override;
  Awaitable<void> reschedule(std::string task_id, Timestamp new_eta) override;

 private:
  class State;
  std::unique_ptr<State> state_;
};

}  // namespace taskstore
