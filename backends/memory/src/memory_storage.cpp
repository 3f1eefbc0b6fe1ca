#include "taskstore/memory_storage.hpp"

#include <cstdint>
#include <limits>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "taskstore/validation.hpp"

namespace taskstore {

// All state behind one mutex. Operations are short and never wait on anything else, so
// they run inline on the caller's executor.
class MemoryStorage::State {
 public:
  explicit State(Clock clock) : clock_(clock ? std::move(clock) : system_clock()) {}

  std::string enqueue(Task task) {
    validate_new_task(task);
    std::lock_guard lock(mutex_);
    if (tasks_.contains(task.id)) {
      throw ConflictError("enqueue: task '" + task.id + "' already exists in memory store");
    }
    const std::uint64_t seq = next_seq_++;
    std::string id = task.id;
    const Timestamp eta = task.eta;
    Entry& entry = tasks_.emplace(id, Entry{std::move(task), seq}).first->second;
    due_.insert(DueKey{eta, seq, &entry});  // validated: it is PENDING
    return id;
  }

  std::optional<Task> dequeue(Timestamp now) {
    std::lock_guard lock(mutex_);
    return claim_next(now);
  }

  // Every claim under one hold of the lock: no other call sees the batch half made.
  std::vector<Task> dequeue_batch(Timestamp now, std::size_t max) {
    validate_batch_size(max);
    std::vector<Task> batch;
    std::lock_guard lock(mutex_);
    while (batch.size() < max) {
      std::optional<Task> task = claim_next(now);
      if (!task) break;
      batch.push_back(std::move(*task));
    }
    return batch;
  }

  void mark_running(const std::string& id) {
    std::lock_guard lock(mutex_);
    Entry& entry = find("mark_running", id);
    set_status(entry, TaskStatus::RUNNING);
  }

  void mark_done(const std::string& id, TaskResult result) {
    validate_success_result(id, result);
    std::lock_guard lock(mutex_);
    Entry& entry = find("mark_done", id);
    results_.insert_or_assign(id, std::move(result));
    set_status(entry, TaskStatus::SUCCESS);
  }

  std::optional<TaskResult> get_result(const std::string& id) {
    validate_task_id("get_result", id);
    std::lock_guard lock(mutex_);
    const auto it = results_.find(id);
    if (it == results_.end()) return std::nullopt;
    return it->second;
  }

  std::size_t purge_results(Timestamp older_than) {
    std::lock_guard lock(mutex_);
    return std::erase_if(results_,
                         [&](const auto& item) { return item.second.finished_at < older_than; });
  }

  void mark_failed(const std::string& id, std::string error, bool will_retry) {
    validate_task_id("mark_failed", id);
    std::lock_guard lock(mutex_);
    Entry& entry = find("mark_failed", id);
    const Timestamp now = clock_();
    entry.task.last_error = error;
    if (will_retry) {
      set_status(entry, TaskStatus::RETRYING, now);
      return;
    }
    results_.insert_or_assign(id, TaskResult{.task_id = id,
                                             .status = TaskStatus::FAILED,
                                             .error = std::move(error),
                                             .finished_at = now});
    set_status(entry, TaskStatus::FAILED, now);
  }

  std::optional<Task> get_task(const std::string& id) {
    validate_task_id("get_task", id);
    std::lock_guard lock(mutex_);
    const auto it = tasks_.find(id);
    if (it == tasks_.end()) return std::nullopt;
    return it->second.task;
  }

  void reschedule(const std::string& id, Timestamp new_eta) {
    validate_task_id("reschedule", id);
    std::lock_guard lock(mutex_);
    Entry& entry = find("reschedule", id);
    set_status(entry, TaskStatus::PENDING);  // takes it out of the due index at its old eta
    entry.task.eta = new_eta;
    due_.insert(DueKey{new_eta, entry.seq, &entry});
  }

 private:
  struct Entry {
    Task task;
    std::uint64_t seq;  // enqueue order, the tie-breaker among equal etas
  };

  // A PENDING task's place in the due order. It points at its entry (unordered_map nodes
  // never move) instead of copying the id: smaller nodes, and a claim needs no hash lookup.
  struct DueKey {
    Timestamp eta;
    std::uint64_t seq;
    Entry* entry;
    bool operator<(const DueKey& other) const {
      return std::tie(eta, seq) < std::tie(other.eta, other.seq);  // seq is unique
    }
  };

  // Claims the first due task; the caller holds the lock.
  std::optional<Task> claim_next(Timestamp now) {
    if (due_.empty() || due_.begin()->eta > now) return std::nullopt;
    Task& task = due_.begin()->entry->task;
    due_.erase(due_.begin());
    task.status = TaskStatus::RUNNING;
    if (task.attempts < std::numeric_limits<std::int32_t>::max()) task.attempts += 1;
    task.updated_at = now;
    return task;
  }

  Entry& find(std::string_view operation, const std::string& id) {
    validate_task_id(operation, id);
    const auto it = tasks_.find(id);
    if (it == tasks_.end()) {
      throw NotFoundError(std::string(operation) + ": task '" + id +
                          "' not found in memory store");
    }
    return it->second;
  }

  // Changes status and updated_at, keeping the due index in step (only PENDING tasks are
  // in it). The caller adds a rescheduled task back with its new eta.
  void set_status(Entry& entry, TaskStatus status, std::optional<Timestamp> at = {}) {
    const Timestamp updated_at = at ? *at : clock_();  // first: a throwing clock changes nothing
    if (entry.task.status == TaskStatus::PENDING) {
      due_.erase(DueKey{entry.task.eta, entry.seq, &entry});
    }
    entry.task.status = status;
    entry.task.updated_at = updated_at;
  }

  Clock clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> tasks_;
  std::unordered_map<std::string, TaskResult> results_;
  std::set<DueKey> due_;  // PENDING tasks only
  std::uint64_t next_seq_ = 0;
};

MemoryStorage::MemoryStorage(Clock clock) : state_(std::make_unique<State>(std::move(clock))) {}
MemoryStorage::~MemoryStorage() = default;

Awaitable<std::string> MemoryStorage::enqueue(Task task) {
  co_return state_->enqueue(std::move(task));
}
Awaitable<std::optional<Task>> MemoryStorage::dequeue(Timestamp now) {
  co_return state_->dequeue(now);
}
Awaitable<std::vector<Task>> MemoryStorage::dequeue_batch(Timestamp now, std::size_t max) {
  co_return state_->dequeue_batch(now, max);
}
Awaitable<void> MemoryStorage::mark_running(std::string task_id) {
  state_->mark_running(task_id);
  co_return;
}
Awaitable<void> MemoryStorage::mark_done(std::string task_id, TaskResult result) {
  state_->mark_done(task_id, std::move(result));
  co_return;
}
Awaitable<std::optional<TaskResult>> MemoryStorage::get_result(std::string task_id) {
  co_return state_->get_result(task_id);
}
Awaitable<std::size_t> MemoryStorage::purge_results(Timestamp older_than) {
  co_return state_->purge_results(older_than);
}
Awaitable<void> MemoryStorage::mark_failed(std::string task_id, std::string error,
                                           bool will_retry) {
  state_->mark_failed(task_id, std::move(error), will_retry);
  co_return;
}
Awaitable<std::optional<Task>> MemoryStorage::get_task(std::string task_id) {
  co_return state_->get_task(task_id);
}
Awaitable<void> MemoryStorage::reschedule(std::string task_id, Timestamp new_eta) {
  state_->reschedule(task_id, new_eta);
  co_return;
}

}  // namespace taskstore
