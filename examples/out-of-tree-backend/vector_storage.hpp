#pragma once
// VectorStorage: a small storage backend written outside taskstore, against its installed
// package only. Tasks live in a std::vector in enqueue order, results in a second vector;
// every operation takes one mutex and scans linearly. Thread-safe, not persistent, one
// process: fine for a test double, and enough to pass the whole conformance suite.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "taskstore/storage.hpp"

namespace vector_example {

class VectorStorage final : public taskstore::BaseStorage {
 public:
  // `clock` stamps updated_at and finished_at where an operation has no `now` argument.
  explicit VectorStorage(taskstore::Clock clock = taskstore::system_clock());

  taskstore::Awaitable<std::string> enqueue(taskstore::Task task) override;
  taskstore::Awaitable<std::optional<taskstore::Task>> dequeue(taskstore::Timestamp now) override;
  taskstore::Awaitable<void> mark_running(std::string task_id) override;
  taskstore::Awaitable<void> mark_done(std::string task_id, taskstore::TaskResult result) override;
  taskstore::Awaitable<std::optional<taskstore::TaskResult>> get_result(
      std::string task_id) override;
  taskstore::Awaitable<std::size_t> purge_results(taskstore::Timestamp older_than) override;
  taskstore::Awaitable<void> mark_failed(std::string task_id, std::string error,
                                         bool will_retry) override;
  taskstore::Awaitable<std::optional<taskstore::Task>> get_task(std::string task_id) override;
  taskstore::Awaitable<void> reschedule(std::string task_id,
                                        taskstore::Timestamp new_eta) override;

 private:
  // The synchronous work of each operation. The coroutines above only wrap these: nothing
  // here waits on anything but the mutex, so they run inline on the caller's executor.
  std::string do_enqueue(taskstore::Task task);
  std::optional<taskstore::Task> do_dequeue(taskstore::Timestamp now);
  void do_mark_running(const std::string& id);
  void do_mark_done(const std::string& id, taskstore::TaskResult result);
  std::optional<taskstore::TaskResult> do_get_result(const std::string& id);
  std::size_t do_purge_results(taskstore::Timestamp older_than);
  void do_mark_failed(const std::string& id, std::string error, bool will_retry);
  std::optional<taskstore::Task> do_get_task(const std::string& id);
  void do_reschedule(const std::string& id, taskstore::Timestamp new_eta);

  // With mutex_ held: the task with this id, or nullptr / NotFoundError naming `operation`.
  taskstore::Task* find_task(const std::string& id);
  taskstore::Task& must_find_task(std::string_view operation, const std::string& id);
  // With mutex_ held: stores `result` as the task's one result, replacing an earlier one.
  void put_result(taskstore::TaskResult result);

  taskstore::Clock clock_;
  std::mutex mutex_;
  std::vector<taskstore::Task> tasks_;  // enqueue order: the index breaks eta ties (DEQ-4)
  std::vector<taskstore::TaskResult> results_;
};

}  // namespace vector_example
