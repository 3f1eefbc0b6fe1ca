#pragma once
// Stores with one seeded bug each, over a correct MemoryStorage, for the kit's coverage
// self-test (seeded_bugs.hpp lists each with the requirement IDs it must fail).
//
// Each operation that changes what it forwards is a coroutine that names its inner
// awaitable before co_await (g++ 12 destroys a temporary inside co_await twice).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "taskstore/errors.hpp"
#include "taskstore/memory_storage.hpp"
#include "taskstore/storage_wrapper.hpp"
#include "taskstore/sync_wait.hpp"
#include "taskstore/validation.hpp"

namespace taskstore::conformance::selftest {

// Forwards every operation to a MemoryStorage; each store below overrides what it breaks.
class ForwardingStorage : public StorageWrapper {
 public:
  ForwardingStorage() : StorageWrapper(std::make_shared<MemoryStorage>()) {}
  explicit ForwardingStorage(std::shared_ptr<BaseStorage> target)
      : StorageWrapper(std::move(target)) {}
};

// ENQ-1: enqueue returns another id than the task's.
class WrongIdFromEnqueue final : public ForwardingStorage {
 public:
  Awaitable<std::string> enqueue(Task task) override {
    auto op = target().enqueue(std::move(task));
    co_return co_await std::move(op) + "#";
  }
};

// ENQ-3: enqueue of an id the store holds returns as if it had stored it.
class SilentDuplicateEnqueue final : public ForwardingStorage {
 public:
  Awaitable<std::string> enqueue(Task task) override {
    const std::string id = task.id;
    auto op = target().enqueue(std::move(task));
    try {
      co_return co_await std::move(op);
    } catch (const ConflictError&) {
    }
    co_return id;
  }
};

// ENQ-4: a negative max_retries is stored as 0 instead of being refused.
class LaxEnqueueChecks final : public ForwardingStorage {
 public:
  Awaitable<std::string> enqueue(Task task) override {
    if (task.max_retries < 0) task.max_retries = 0;
    auto op = target().enqueue(std::move(task));
    co_return co_await std::move(op);
  }
};

// ENQ-5: get_task and get_result answer "nothing" for a malformed id.
class LaxIdChecks final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    if (!valid(id)) co_return std::nullopt;
    auto op = target().get_task(std::move(id));
    co_return co_await std::move(op);
  }
  Awaitable<std::optional<TaskResult>> get_result(std::string id) override {
    if (!valid(id)) co_return std::nullopt;
    auto op = target().get_result(std::move(id));
    co_return co_await std::move(op);
  }

 private:
  static bool valid(const std::string& id) {
    try {
      validate_task_id("check", id);
      return true;
    } catch (const InvalidArgumentError&) {
      return false;
    }
  }
};

// DEQ-2: dequeue raises NotFoundError when nothing is due.
class ThrowsWhenNothingDue final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto op = target().dequeue(now);
    auto task = co_await std::move(op);
    if (!task) throw NotFoundError("dequeue: no task is due");
    co_return task;
  }
};

// A view that changes what reads show: `adjust` edits each task a read returns.
class AdjustedReads : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto op = target().dequeue(now);
    auto task = co_await std::move(op);
    if (task) adjust(*task);
    co_return task;
  }
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    auto op = target().get_task(std::move(id));
    auto task = co_await std::move(op);
    if (task) adjust(*task);
    co_return task;
  }

 protected:
  virtual void adjust(Task& task) = 0;
  // Ids the store has marked for `adjust`, shared by the threads of a test.
  void mark(const std::string& id) {
    const std::lock_guard lock(mutex_);
    marked_.insert(id);
  }
  bool marked(const std::string& id) {
    const std::lock_guard lock(mutex_);
    return marked_.count(id) > 0;
  }

 private:
  std::mutex mutex_;
  std::set<std::string> marked_;
};

// DEQ-5: a claim shows no attempt counted.
class ClaimCountsNoAttempt final : public AdjustedReads {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto op = target().dequeue(now);
    auto task = co_await std::move(op);
    if (task) {
      mark(task->id);
      adjust(*task);
    }
    co_return task;
  }

 protected:
  void adjust(Task& task) override {
    if (marked(task.id)) task.attempts -= 1;
  }
};

// RUN-2: mark_running shows one more attempt.
class RunningCountsAnAttempt final : public AdjustedReads {
 public:
  Awaitable<void> mark_running(std::string id) override {
    const std::string marked_id = id;
    auto op = target().mark_running(std::move(id));
    co_await std::move(op);
    mark(marked_id);
  }

 protected:
  void adjust(Task& task) override {
    if (marked(task.id)) task.attempts += 1;
  }
};

// RSC-5: reschedule drops the task's interval schedule.
class RescheduleDropsSchedule final : public AdjustedReads {
 public:
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    const std::string marked_id = id;
    auto op = target().reschedule(std::move(id), eta);
    co_await std::move(op);
    mark(marked_id);
  }

 protected:
  void adjust(Task& task) override {
    if (marked(task.id)) task.schedule.reset();
  }
};

// RSC-7: a rescheduled task is due an hour before its new eta (reads show the new eta).
class RescheduledTooEarly final : public AdjustedReads {
 public:
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    const std::string marked_id = id;
    auto op = target().reschedule(std::move(id), eta - std::chrono::hours(1));
    co_await std::move(op);
    mark(marked_id);
  }

 protected:
  void adjust(Task& task) override {
    if (marked(task.id)) task.eta += std::chrono::hours(1);
  }
};

// RUN-1: mark_running changes nothing.
class MarkRunningDoesNothing final : public ForwardingStorage {
 public:
  Awaitable<void> mark_running(std::string id) override {
    validate_task_id("mark_running", id);
    auto op = target().get_task(id);
    if (!co_await std::move(op)) throw NotFoundError("mark_running: task '" + id + "' not found");
  }
};

// DONE-2: a later mark_done keeps the earlier result.
class FirstResultWins final : public ForwardingStorage {
 public:
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    auto existing = target().get_result(id);
    if (co_await std::move(existing)) co_return;
    auto op = target().mark_done(std::move(id), std::move(result));
    co_await std::move(op);
  }
};

// DONE-3: mark_done stores a result of another status as SUCCESS.
class LaxResultChecks final : public ForwardingStorage {
 public:
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    result.status = TaskStatus::SUCCESS;
    auto op = target().mark_done(std::move(id), std::move(result));
    co_await std::move(op);
  }
};

// RES-2: get_result of a task without a result returns an empty result.
class EmptyResultForNone final : public ForwardingStorage {
 public:
  Awaitable<std::optional<TaskResult>> get_result(std::string id) override {
    auto op = target().get_result(id);
    auto result = co_await std::move(op);
    if (!result) result = TaskResult{.task_id = id};
    co_return result;
  }
};

// RT-2: get_result loses the result's error text.
class ResultLosesError final : public ForwardingStorage {
 public:
  Awaitable<std::optional<TaskResult>> get_result(std::string id) override {
    auto op = target().get_result(std::move(id));
    auto result = co_await std::move(op);
    if (result && result->status == TaskStatus::SUCCESS) result->error.reset();
    co_return result;
  }
};

// PUR-1: purge_results removes what it should but says it removed nothing.
class PurgeCountsNothing final : public ForwardingStorage {
 public:
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    auto op = target().purge_results(older_than);
    co_await std::move(op);
    co_return 0;
  }
};

// PUR-4: a repeated purge with the same cutoff repeats the earlier count.
class PurgeRepeatsItsCount final : public ForwardingStorage {
 public:
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    auto op = target().purge_results(older_than);
    const std::size_t removed = co_await std::move(op);
    const std::lock_guard lock(mutex_);
    std::size_t& last = counts_[older_than];
    last = std::max(last, removed);
    co_return last;
  }

 private:
  std::mutex mutex_;
  std::map<Timestamp, std::size_t> counts_;
};

// ENQ-2: a task enqueued more than a day overdue is never due (the store takes it for
// expired), though reads show its eta; a reschedule brings it back.
class LongOverdueNeverDue final : public AdjustedReads {
 public:
  Awaitable<std::string> enqueue(Task task) override {
    const bool hidden = task.eta < task.created_at - std::chrono::hours(24);
    const std::string id = task.id;
    const Timestamp eta = task.eta;
    if (hidden) task.eta = kWidestTimeRange.latest;
    auto op = target().enqueue(std::move(task));
    std::string stored = co_await std::move(op);
    if (hidden) remember(id, eta);  // only once stored: a refused enqueue changes nothing
    co_return stored;
  }
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    forget(id);
    auto op = target().reschedule(std::move(id), eta);
    co_await std::move(op);
  }

 protected:
  void adjust(Task& task) override {
    const std::lock_guard lock(mutex_);
    if (const auto it = real_etas_.find(task.id); it != real_etas_.end()) task.eta = it->second;
  }

 private:
  void remember(const std::string& id, Timestamp eta) {
    const std::lock_guard lock(mutex_);
    real_etas_.insert_or_assign(id, eta);
  }
  void forget(const std::string& id) {
    const std::lock_guard lock(mutex_);
    real_etas_.erase(id);
  }
  std::mutex mutex_;
  std::map<std::string, Timestamp> real_etas_;
};

// GET-1: get_task of an id longer than 64 bytes raises (a fixed-size lookup key).
class LongIdsUnreadable final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    if (id.size() > 64 && id.size() <= Task::kMaxIdBytes) throw StorageError("get_task: id of " + std::to_string(id.size()) +
                                           " bytes does not fit the 64-byte lookup key");
    auto op = target().get_task(std::move(id));
    co_return co_await std::move(op);
  }
};

// GET-2: get_task of an unknown id raises NotFoundError.
class UnknownTaskIsAnError final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    auto op = target().get_task(id);
    auto task = co_await std::move(op);
    if (!task) throw NotFoundError("get_task: task '" + id + "' not found");
    co_return task;
  }
};

// RSC-2 and ERR-1: reschedule of an unknown id does nothing and raises nothing.
class RescheduleIgnoresUnknownIds final : public ForwardingStorage {
 public:
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    auto op = target().reschedule(std::move(id), eta);
    try {
      co_await std::move(op);
    } catch (const NotFoundError&) {
    }
  }
};

// ERR-2: errors about an unknown id do not say which id or operation.
class VagueErrors final : public ForwardingStorage {
 public:
  Awaitable<void> mark_running(std::string id) override {
    auto op = target().mark_running(std::move(id));
    try {
      co_await std::move(op);
    } catch (const NotFoundError&) {
      throw NotFoundError("not found");
    }
  }
};

// RSC-1: reschedule keeps the old eta.
class RescheduleKeepsEta final : public ForwardingStorage {
 public:
  Awaitable<void> reschedule(std::string id, Timestamp) override {
    auto read = target().get_task(id);
    const auto task = co_await std::move(read);
    auto op = target().reschedule(id, task ? task->eta : Timestamp{});
    co_await std::move(op);
  }
};

// FAIL-2: a RETRYING task is claimed as if it were PENDING.
class RetryingIsDue final : public ForwardingStorage {
 public:
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    const std::string failed_id = id;
    auto op = target().mark_failed(std::move(id), std::move(error), will_retry);
    co_await std::move(op);
    if (will_retry) {
      const std::lock_guard lock(mutex_);
      retrying_.insert(failed_id);
    }
  }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    std::set<std::string> retrying;
    {
      const std::lock_guard lock(mutex_);
      retrying.swap(retrying_);
    }
    for (const std::string& id : retrying) {
      auto read = target().get_task(id);
      const auto task = co_await std::move(read);
      if (task && task->status == TaskStatus::RETRYING) {
        auto back = target().reschedule(id, task->eta);
        co_await std::move(back);
      }
    }
    auto op = target().dequeue(now);
    co_return co_await std::move(op);
  }

 private:
  std::mutex mutex_;
  std::set<std::string> retrying_;
};

// CON-1: a write that overlaps another write through the same instance is dropped.
class DropsOverlappingWrites final : public ForwardingStorage {
 public:
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    const Overlap overlap(in_flight_);
    if (overlap.dropped()) co_return;
    auto op = target().mark_done(std::move(id), std::move(result));
    co_await std::move(op);
  }
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    const Overlap overlap(in_flight_);
    if (overlap.dropped()) co_return;
    auto op = target().mark_failed(std::move(id), std::move(error), will_retry);
    co_await std::move(op);
  }
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    const Overlap overlap(in_flight_);
    if (overlap.dropped()) co_return;
    auto op = target().reschedule(std::move(id), eta);
    co_await std::move(op);
  }

 private:
  // Counts the writes in flight; a write that starts while another runs is dropped.
  class Overlap {
   public:
    // The write waits a little inside the window, as a slow store would, so that writes
    // from several threads really overlap.
    explicit Overlap(std::atomic<int>& count) : count_(count), others_(count_++) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ~Overlap() { --count_; }
    bool dropped() const { return others_ > 0; }

   private:
    std::atomic<int>& count_;
    int others_;
  };

  std::atomic<int> in_flight_{0};
};

// DEQ-6 and CON-2: a claim made while another is in flight on the same instance returns
// that other claim (a shared "last claimed" slot without a lock), so one task goes to
// two callers and another to none.
class SharedClaimSlot final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    const int others = in_flight_++;
    auto op = target().dequeue(now);
    std::optional<Task> task;
    try {
      task = co_await std::move(op);
    } catch (...) {
      --in_flight_;
      throw;
    }
    std::optional<Task> answer = task;
    {
      const std::lock_guard lock(mutex_);
      if (task && others > 0 && last_) answer = last_;  // never when nothing was due
      if (task) last_ = task;
    }
    --in_flight_;
    co_return answer;
  }

 private:
  std::atomic<int> in_flight_{0};
  std::mutex mutex_;
  std::optional<Task> last_;
};

// BAT-1: a batch comes back sorted by eta and then id, not in claim order (ties lose their
// enqueue order).
class BatchSortedById final : public ForwardingStorage {
 public:
  bool claims_batches() const override { return forwards_batches(); }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    auto op = target().dequeue_batch(now, max);
    std::vector<Task> batch = co_await std::move(op);
    std::sort(batch.begin(), batch.end(), [](const Task& a, const Task& b) {
      return std::tie(a.eta, a.id) < std::tie(b.eta, b.id);
    });
    co_return batch;
  }
};

// BAT-2: a batch returns its tasks with the attempts they had before the claim (the stored
// tasks are right).
class BatchShowsOldAttempts final : public ForwardingStorage {
 public:
  bool claims_batches() const override { return forwards_batches(); }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    auto op = target().dequeue_batch(now, max);
    std::vector<Task> batch = co_await std::move(op);
    for (Task& task : batch) {
      if (task.attempts < std::numeric_limits<std::int32_t>::max()) task.attempts -= 1;
    }
    co_return batch;
  }
};

// BAT-3: a batch of 0 is taken as a batch of 1.
class BatchOfZeroClaimsOne final : public ForwardingStorage {
 public:
  bool claims_batches() const override { return forwards_batches(); }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    auto op = target().dequeue_batch(now, max == 0 ? 1 : max);
    co_return co_await std::move(op);
  }
};

// BAT-4: overlapping batches on one instance share a "last claimed" slot: a batch that
// finishes while another is in flight returns that one's last task in place of its first.
class BatchesShareASlot final : public ForwardingStorage {
 public:
  bool claims_batches() const override { return forwards_batches(); }
  // The memory store claims in microseconds: a pause in every claim, as a store's round
  // trip would take, keeps racing batches in flight together. Without it in dequeue too,
  // the threads that claim one at a time drained the race before two batches overlapped.
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    std::this_thread::sleep_for(kRoundTrip);
    auto op = target().dequeue(now);
    co_return co_await std::move(op);
  }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    const int others = in_flight_++;
    std::this_thread::sleep_for(kRoundTrip);
    auto op = target().dequeue_batch(now, max);
    std::vector<Task> batch;
    try {
      batch = co_await std::move(op);
    } catch (...) {
      --in_flight_;
      throw;
    }
    {
      const std::lock_guard lock(mutex_);
      std::optional<Task> mine;
      if (!batch.empty()) mine = batch.back();
      if (!batch.empty() && others > 0 && last_) batch.front() = *last_;
      if (mine) last_ = mine;
    }
    --in_flight_;
    co_return batch;
  }

 private:
  static constexpr std::chrono::microseconds kRoundTrip{300};
  std::atomic<int> in_flight_{0};
  std::mutex mutex_;
  std::optional<Task> last_;
};

// DEQ-1: a claim is made but dequeue returns nothing (the claimed task is lost).
class DequeueLosesItsClaim final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto op = target().dequeue(now);
    co_await std::move(op);
    co_return std::nullopt;
  }
};

// Reads adjusted for the tasks mark_done has completed.
class AdjustedAfterDone : public AdjustedReads {
 public:
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    const std::string marked_id = id;
    auto op = target().mark_done(std::move(id), std::move(result));
    co_await std::move(op);
    mark(marked_id);
  }
};

// DONE-1: mark_done stores the result but reads show the task's earlier status.
class DoneKeepsStatus final : public AdjustedAfterDone {
 protected:
  void adjust(Task& task) override {
    if (marked(task.id) && task.status == TaskStatus::SUCCESS) task.status = TaskStatus::RUNNING;
  }
};

// GET-5: after mark_done, get_task shows no interval schedule.
class DoneLosesSchedule final : public AdjustedAfterDone {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto op = target().dequeue(now);  // claims show the schedule as stored
    co_return co_await std::move(op);
  }

 protected:
  void adjust(Task& task) override {
    if (marked(task.id)) task.schedule.reset();
  }
};

// RT-1: an empty last_error reads back as none.
class EmptyErrorIsNone final : public AdjustedReads {
 protected:
  void adjust(Task& task) override {
    if (task.last_error && task.last_error->empty()) task.last_error.reset();
  }
};

// ASY-1: dequeue completes from a thread of its own, calling its caller's completion
// handler there instead of on the caller's executor (the classic slip of a backend with
// worker threads), so the caller's coroutine goes on on that thread.
class ResumesOnItsOwnThread final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto op = target().dequeue(now);
    auto task = co_await std::move(op);
    auto hop = boost::asio::async_initiate<const boost::asio::use_awaitable_t<>,
                                           void(std::optional<Task>)>(
        [](auto handler, std::optional<Task> value) {
          std::thread([handler = std::move(handler), value = std::move(value)]() mutable {
            std::move(handler)(std::move(value));
          }).detach();
        },
        boost::asio::use_awaitable, std::move(task));
    co_return co_await std::move(hop);
  }
};

// A store whose environment can damage a task (corrupt_task): the damaged task is moved out
// of the queue's way in the inner store, reads of it raise CorruptionError naming the store,
// and reschedule of it fails the same way. Results can be damaged too (corrupt_result): a
// read of one raises CorruptionError, and a purge removes it by its age, as a store that
// can still read a damaged record's finished_at would. Correct as it stands; its subclasses
// break one of the rules about damaged records.
class DamageableStore : public ForwardingStorage {
 public:
  static constexpr const char* kLocation = "memory (damageable, deliberately broken)";

  Awaitable<void> damage(std::string id) {
    {
      const std::lock_guard lock(mutex_);
      damaged_.insert(id);
    }
    // Far in the future: the inner store never claims it.
    auto op = target().reschedule(std::move(id), from_micros(std::int64_t{1} << 60));
    co_await std::move(op);
  }
  Awaitable<bool> damage_result(std::string id) {
    auto op = target().get_result(id);
    if (!(co_await std::move(op))) co_return false;
    const std::lock_guard lock(mutex_);
    damaged_results_.insert(std::move(id));
    co_return true;
  }

  Awaitable<std::optional<Task>> get_task(std::string id) override {
    if (damaged(id)) throw corrupt("get_task", id);
    auto op = target().get_task(std::move(id));
    co_return co_await std::move(op);
  }
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    if (damaged(id)) throw corrupt("reschedule", id);
    auto op = target().reschedule(std::move(id), eta);
    co_await std::move(op);
  }
  Awaitable<std::optional<TaskResult>> get_result(std::string id) override {
    auto op = target().get_result(id);
    auto result = co_await std::move(op);
    if (result && result_damaged(id)) {
      throw CorruptionError("get_result of task '" + id + "': its result in " + kLocation +
                            " is damaged");
    }
    co_return result;
  }

 protected:
  bool damaged(const std::string& id) {
    const std::lock_guard lock(mutex_);
    return damaged_.count(id) > 0;
  }
  bool any_damaged() {
    const std::lock_guard lock(mutex_);
    return !damaged_.empty();
  }
  bool result_damaged(const std::string& id) {
    const std::lock_guard lock(mutex_);
    return damaged_results_.count(id) > 0;
  }
  bool any_result_damaged() {
    const std::lock_guard lock(mutex_);
    return !damaged_results_.empty();
  }
  static CorruptionError corrupt(const char* op, const std::string& id) {
    return CorruptionError(std::string(op) + " of task '" + id + "': its record in " +
                           kLocation + " is damaged");
  }

 private:
  std::mutex mutex_;
  std::set<std::string> damaged_;
  std::set<std::string> damaged_results_;
};

// GET-3: reading a damaged task raises a plain StorageError.
class DamageIsNotCorruption final : public DamageableStore {
 public:
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    if (damaged(id)) throw StorageError("get_task of task '" + id + "': cannot read it");
    auto op = target().get_task(std::move(id));
    co_return co_await std::move(op);
  }
};

// RSC-3: reschedule of a damaged task succeeds and changes nothing.
class RescheduleIgnoresDamage final : public DamageableStore {
 public:
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    if (damaged(id)) co_return;
    auto op = target().reschedule(std::move(id), eta);
    co_await std::move(op);
  }
};

// DEQ-9: a damaged task stops the queue: dequeue raises CorruptionError.
class DamageStopsTheQueue final : public DamageableStore {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    if (any_damaged()) throw CorruptionError("dequeue: a task in " + std::string(kLocation) +
                                             " is damaged");
    auto op = target().dequeue(now);
    co_return co_await std::move(op);
  }
};

// BAT-5: a damaged task makes every batch claim fail (single dequeues pass over it).
class DamageStopsTheBatch final : public DamageableStore {
 public:
  bool claims_batches() const override { return forwards_batches(); }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    if (any_damaged()) {
      throw CorruptionError("dequeue_batch: a task in " + std::string(kLocation) + " is damaged");
    }
    auto op = target().dequeue_batch(now, max);
    co_return co_await std::move(op);
  }
};

// PUR-5: a damaged result makes every purge fail.
class DamageStopsThePurge final : public DamageableStore {
 public:
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    if (any_result_damaged()) {
      throw CorruptionError("purge_results: a result in " + std::string(kLocation) +
                            " is damaged");
    }
    auto op = target().purge_results(older_than);
    co_return co_await std::move(op);
  }
};

// What the instances of one store share, for the stores below that break a rule only
// between instances.
struct SharedAcrossInstances {
  std::filesystem::path directory;  // a scratch directory of the store's own
  std::mutex mutex;
  std::optional<Task> last_claim;
  std::atomic<int> claims_in_flight{0};
};

// DEQ-7 and CON-2: claims through different instances of one store share a "last claimed"
// slot without a lock: a claim made while another instance's is in flight returns that
// one's task. Calls on one instance are serialised, so one instance alone is correct.
class SharedSlotAcrossInstances final : public ForwardingStorage {
 public:
  SharedSlotAcrossInstances(std::shared_ptr<BaseStorage> target,
                            std::shared_ptr<SharedAcrossInstances> shared)
      : ForwardingStorage(std::move(target)), shared_(std::move(shared)) {}

  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    const std::lock_guard one_call(instance_mutex_);
    const int others = shared_->claims_in_flight++;
    std::optional<Task> task;
    try {
      task = sync_wait(io_, target().dequeue(now));
    } catch (...) {
      --shared_->claims_in_flight;
      throw;
    }
    std::optional<Task> answer = task;
    {
      const std::lock_guard lock(shared_->mutex);
      if (task && others > 0 && shared_->last_claim) answer = shared_->last_claim;
      if (task) shared_->last_claim = task;
    }
    --shared_->claims_in_flight;
    co_return answer;
  }

 private:
  std::shared_ptr<SharedAcrossInstances> shared_;
  std::mutex instance_mutex_;
  boost::asio::io_context io_;
};

// CON-4: an instance answers get_task from a copy it keeps, refreshed only by its own writes.
class CachesTasks final : public ForwardingStorage {
 public:
  CachesTasks(std::shared_ptr<BaseStorage> target, std::shared_ptr<SharedAcrossInstances>)
      : ForwardingStorage(std::move(target)) {}

  Awaitable<std::optional<Task>> get_task(std::string id) override {
    {
      const std::lock_guard lock(mutex_);
      if (const auto it = cache_.find(id); it != cache_.end()) co_return it->second;
    }
    auto op = target().get_task(id);
    auto task = co_await std::move(op);
    const std::lock_guard lock(mutex_);
    cache_[id] = task;
    co_return task;
  }
  Awaitable<std::string> enqueue(Task task) override {
    forget(task.id);
    auto op = target().enqueue(std::move(task));
    co_return co_await std::move(op);
  }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto op = target().dequeue(now);
    auto task = co_await std::move(op);
    if (task) forget(task->id);
    co_return task;
  }
  Awaitable<void> mark_running(std::string id) override {
    forget(id);
    auto op = target().mark_running(std::move(id));
    co_await std::move(op);
  }
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    forget(id);
    auto op = target().mark_done(std::move(id), std::move(result));
    co_await std::move(op);
  }
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    forget(id);
    auto op = target().mark_failed(std::move(id), std::move(error), will_retry);
    co_await std::move(op);
  }
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    forget(id);
    auto op = target().reschedule(std::move(id), eta);
    co_await std::move(op);
  }

 private:
  void forget(const std::string& id) {
    const std::lock_guard lock(mutex_);
    cache_.erase(id);
  }

  std::mutex mutex_;
  std::map<std::string, std::optional<Task>> cache_;
};

// DUR-1: an instance keeps the error text of mark_failed to itself and stores an empty one,
// so it is gone once the instance is.
class KeepsErrorsInMemory final : public ForwardingStorage {
 public:
  KeepsErrorsInMemory(std::shared_ptr<BaseStorage> target, std::shared_ptr<SharedAcrossInstances>)
      : ForwardingStorage(std::move(target)) {}

  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    {
      const std::lock_guard lock(mutex_);
      errors_[id] = error;
    }
    auto op = target().mark_failed(std::move(id), std::string(), will_retry);
    co_await std::move(op);
  }
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    auto op = target().get_task(id);
    auto task = co_await std::move(op);
    if (task && task->last_error) {
      if (const auto error = remembered(id)) task->last_error = *error;
    }
    co_return task;
  }
  Awaitable<std::optional<TaskResult>> get_result(std::string id) override {
    auto op = target().get_result(id);
    auto result = co_await std::move(op);
    if (result && result->status == TaskStatus::FAILED) {
      if (const auto error = remembered(id)) result->error = *error;
    }
    co_return result;
  }

 private:
  std::optional<std::string> remembered(const std::string& id) {
    const std::lock_guard lock(mutex_);
    const auto it = errors_.find(id);
    if (it == errors_.end()) return std::nullopt;
    return it->second;
  }

  std::mutex mutex_;
  std::map<std::string, std::string> errors_;
};

// CON-6: a write that meets another process's write in progress is dropped (it takes a
// POSIX record lock without waiting, and gives up if another process holds it). Record locks
// never conflict within one process, so threads and instances of one process are served.
class DropsWritesAcrossProcesses final : public ForwardingStorage {
 public:
  DropsWritesAcrossProcesses(std::shared_ptr<BaseStorage> target,
                             std::shared_ptr<SharedAcrossInstances> shared)
      : ForwardingStorage(std::move(target)),
        fd_(::open((shared->directory / "writers.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC,
                   0600)) {}
  ~DropsWritesAcrossProcesses() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    if (!try_lock()) co_return;
    const Unlock unlock_at_end{this};
    auto op = target().mark_done(std::move(id), std::move(result));
    co_await std::move(op);
  }
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    if (!try_lock()) co_return;
    const Unlock unlock_at_end{this};
    auto op = target().mark_failed(std::move(id), std::move(error), will_retry);
    co_await std::move(op);
  }
  Awaitable<void> reschedule(std::string id, Timestamp eta) override {
    if (!try_lock()) co_return;
    const Unlock unlock_at_end{this};
    auto op = target().reschedule(std::move(id), eta);
    co_await std::move(op);
  }

 private:
  bool try_lock() {
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (::fcntl(fd_, F_SETLK, &lock) != 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a slow write, held longer
    return true;
  }
  // Lets the lock go when the write ends, also by an error.
  struct Unlock {
    DropsWritesAcrossProcesses* store;
    ~Unlock() { store->unlock(); }
  };

  void unlock() {
    struct flock lock {};
    lock.l_type = F_UNLCK;
    lock.l_whence = SEEK_SET;
    ::fcntl(fd_, F_SETLK, &lock);
  }

  int fd_;
};

}  // namespace taskstore::conformance::selftest
