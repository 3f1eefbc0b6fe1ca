#pragma once
// CountingStorage: a BaseStorage decorator that forwards every call to another store and
// records it (operation, task id, and the arguments a test may want to check), so a test
// can say exactly which storage calls a user of the contract made: "complete_task with a
// task made no get_task call", "the retry was rescheduled to t0 + 30 s".

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "taskstore/storage_wrapper.hpp"

namespace taskstore::conformance {

enum class StorageOperation : std::uint8_t {
  enqueue,
  dequeue,
  mark_running,
  mark_done,
  get_result,
  purge_results,
  mark_failed,
  get_task,
  reschedule,
  dequeue_batch,
};

std::string_view to_string(StorageOperation operation);

struct StorageCall {
  StorageOperation operation;
  std::string task_id;             // empty for dequeue and purge_results
  std::optional<Timestamp> time;   // dequeue's now, purge_results' older_than, reschedule's new_eta
  std::optional<bool> will_retry;  // mark_failed only
  std::optional<std::size_t> max;  // dequeue_batch only (its now is `time`)

  friend bool operator==(const StorageCall&, const StorageCall&) = default;
};

// "reschedule('t1', 2026-01-01T00:00:30.000001Z)", for test messages.
std::string describe(const StorageCall& call);
std::string describe(const std::vector<StorageCall>& calls);

class CountingStorage final : public StorageWrapper {
 public:
  // Throws std::invalid_argument for a null store.
  explicit CountingStorage(std::shared_ptr<BaseStorage> inner);

  // Every call is recorded when it is made, before it is forwarded, whether or not the
  // inner store then succeeds. Thread-safe.
  Awaitable<std::string> enqueue(Task task) override;
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override;
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override;
  bool claims_batches() const override { return forwards_batches(); }
  Awaitable<void> mark_running(std::string task_id) override;
  Awaitable<void> mark_done(std::string task_id, TaskResult result) override;
  Awaitable<std::optional<TaskResult>> get_result(std::string task_id) override;
  Awaitable<std::size_t> purge_results(Timestamp older_than) override;
  Awaitable<void> mark_failed(std::string task_id, std::string error, bool will_retry) override;
  Awaitable<std::optional<Task>> get_task(std::string task_id) override;
  Awaitable<void> reschedule(std::string task_id, Timestamp new_eta) override;

  // The calls so far, in the order they were made.
  std::vector<StorageCall> calls() const;
  // The calls naming `task_id`, in order.
  std::vector<StorageCall> calls_for(std::string_view task_id) const;
  std::size_t count(StorageOperation operation) const;
  std::size_t count(StorageOperation operation, std::string_view task_id) const;
  // Forgets the calls so far.
  void clear();

  // Runs `observer` after every call that the inner store completed without an error,
  // before the caller resumes, e.g. to read the task's state between two calls of a
  // sequence. Set it before the store is shared; the observer may use inner().
  using Observer = std::function<Awaitable<void>(const StorageCall& call)>;
  void set_observer(Observer observer);

  BaseStorage& inner() const { return target(); }

 private:
  void record(const StorageCall& call);
  Awaitable<void> observe(const StorageCall& call);

  Observer observer_;
  mutable std::mutex mutex_;
  std::vector<StorageCall> calls_;
};

}  // namespace taskstore::conformance
