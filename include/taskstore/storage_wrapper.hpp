#pragma once
// StorageWrapper: a BaseStorage that forwards every operation to another one (its target).
// Derive from it and override only the operations you want to change: to count or log
// calls, to inject faults into a backend under test, or to seed one bug for a kit
// self-test. Like LevelDB's EnvWrapper, it spares every decorator nine forwarding methods.
// It does not offer the optional batch claims unless the decorator says so (see
// claims_batches below).
//
//   class FlakyDequeue final : public StorageWrapper {
//    public:
//     using StorageWrapper::StorageWrapper;
//     Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
//       if (++calls_ % 10 == 0) throw StorageError("dequeue: injected fault");
//       return StorageWrapper::dequeue(now);
//     }
//    private:
//     int calls_ = 0;
//   };

#include <memory>
#include <stdexcept>
#include <utility>

#include "taskstore/storage.hpp"

namespace taskstore {

class StorageWrapper : public BaseStorage {
 public:
  // Throws std::invalid_argument for a null target.
  explicit StorageWrapper(std::shared_ptr<BaseStorage> target) : target_(std::move(target)) {
    if (!target_) throw std::invalid_argument("StorageWrapper: the target store is null");
  }

  Awaitable<std::string> enqueue(Task task) override { return target_->enqueue(std::move(task)); }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override { return target_->dequeue(now); }
  // Batch claims are opt-in: a decorator that changes dequeue would be bypassed by a batch
  // forwarded as is. One that handles dequeue_batch too (or changes neither) overrides
  // claims_batches to return forwards_batches().
  bool claims_batches() const override { return false; }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    return target_->dequeue_batch(now, max);
  }
  Awaitable<void> mark_running(std::string task_id) override {
    return target_->mark_running(std::move(task_id));
  }
  Awaitable<void> mark_done(std::string task_id, TaskResult result) override {
    return target_->mark_done(std::move(task_id), std::move(result));
  }
  Awaitable<std::optional<TaskResult>> get_result(std::string task_id) override {
    return target_->get_result(std::move(task_id));
  }
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    return target_->purge_results(older_than);
  }
  Awaitable<void> mark_failed(std::string task_id, std::string error, bool will_retry) override {
    return target_->mark_failed(std::move(task_id), std::move(error), will_retry);
  }
  Awaitable<std::optional<Task>> get_task(std::string task_id) override {
    return target_->get_task(std::move(task_id));
  }
  Awaitable<void> reschedule(std::string task_id, Timestamp new_eta) override {
    return target_->reschedule(std::move(task_id), new_eta);
  }

  // Whether the target claims batches: what claims_batches() returns in a decorator that
  // forwards them.
  bool forwards_batches() const { return target_->claims_batches(); }

  // The store every operation goes to.
  BaseStorage& target() const { return *target_; }
  const std::shared_ptr<BaseStorage>& shared_target() const { return target_; }

 private:
  std::shared_ptr<BaseStorage> target_;
};

}  // namespace taskstore
