#include "broken_backends.hpp"

#include <condition_variable>
#include <mutex>

#include "taskstore/errors.hpp"
#include "taskstore/memory_storage.hpp"
#include "taskstore/storage_wrapper.hpp"

namespace taskstore::conformance::selftest {

namespace {

using namespace std::chrono_literals;

// Forwards every operation to a MemoryStorage; each broken backend overrides one.
class ForwardingStorage : public StorageWrapper {
 public:
  ForwardingStorage() : StorageWrapper(std::make_shared<MemoryStorage>()) {}
};

class FailsInsteadOfRetrying final : public ForwardingStorage {
 public:
  Awaitable<void> mark_failed(std::string id, std::string error, bool) override {
    return target().mark_failed(std::move(id), std::move(error), false);
  }
};

class PurgesAtTheCutoff final : public ForwardingStorage {
 public:
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    return target().purge_results(older_than + 1us);
  }
};

class StrictEtaBoundary final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    return target().dequeue(now - 1us);
  }
};

class RefusesFinalFailure final : public ForwardingStorage {
 public:
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    if (!will_retry) throw StorageError("mark_failed of task '" + id + "': refused on purpose");
    auto op = target().mark_failed(std::move(id), std::move(error), will_retry);
    co_await std::move(op);
  }
};

// A store whose times are a date type's, like Python's datetime: any time outside `times`
// is refused with InvalidArgumentError. Correct as long as it declares no more than that.
class DateTypeStore : public ForwardingStorage {
 public:
  explicit DateTypeStore(TimeRange times) : times_(times) {}

  Awaitable<std::string> enqueue(Task task) override {
    check(task.eta, "enqueue", task.id);
    check(task.created_at, "enqueue", task.id);
    check(task.updated_at, "enqueue", task.id);
    auto op = target().enqueue(std::move(task));
    co_return co_await std::move(op);
  }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    check(now, "dequeue", "");
    auto op = target().dequeue(now);
    co_return co_await std::move(op);
  }
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    check(result.finished_at, "mark_done", id);
    auto op = target().mark_done(std::move(id), std::move(result));
    co_await std::move(op);
  }
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    check(older_than, "purge_results", "");
    auto op = target().purge_results(older_than);
    co_return co_await std::move(op);
  }
  Awaitable<void> reschedule(std::string id, Timestamp new_eta) override {
    check(new_eta, "reschedule", id);
    auto op = target().reschedule(std::move(id), new_eta);
    co_await std::move(op);
  }

 private:
  void check(Timestamp t, const char* op, const std::string& id) const {
    if (times_.contains(t)) return;
    throw InvalidArgumentError(std::string(op) + (id.empty() ? "" : " of task '" + id + "'") +
                               ": time " + format_timestamp(t) + " is outside " +
                               format_time_range(times_));
  }

  TimeRange times_;
};

// Years 1 to 9999, declared as such: passes everything.
inline constexpr TimeRange kDatetimeTimes = kContractTimeRange;
class DatetimeStore final : public DateTypeStore {
 public:
  DatetimeStore() : DateTypeStore(kDatetimeTimes) {}
};

// 1970 to 2100, declared as such: narrower than years 1 to 9999 (breaks RT-3 alone).
inline constexpr TimeRange kCenturyTimes{from_micros(0), from_micros(4'102'444'800'000'000)};
class CenturyStore final : public DateTypeStore {
 public:
  CenturyStore() : DateTypeStore(kCenturyTimes) {}
};

// The write lock of a store that hold_write_lock can take, as another writer would.
struct WriteLock {
  std::mutex mutex;
  std::condition_variable released;
  bool held = false;
};

// Its writes give up with "database is locked" after 50 ms of waiting for the lock
// (breaks CON-5).
class GivesUpWhenLocked final : public ForwardingStorage {
 public:
  explicit GivesUpWhenLocked(std::shared_ptr<WriteLock> lock) : lock_(std::move(lock)) {}

  Awaitable<std::string> enqueue(Task task) override {
    wait_briefly("enqueue of task '" + task.id + "'");
    auto op = target().enqueue(std::move(task));
    co_return co_await std::move(op);
  }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    wait_briefly("dequeue");
    auto op = target().dequeue(now);
    co_return co_await std::move(op);
  }
  Awaitable<void> mark_running(std::string id) override {
    wait_briefly("mark_running of task '" + id + "'");
    auto op = target().mark_running(std::move(id));
    co_await std::move(op);
  }
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    wait_briefly("mark_done of task '" + id + "'");
    auto op = target().mark_done(std::move(id), std::move(result));
    co_await std::move(op);
  }
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    wait_briefly("purge_results");
    auto op = target().purge_results(older_than);
    co_return co_await std::move(op);
  }
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    wait_briefly("mark_failed of task '" + id + "'");
    auto op = target().mark_failed(std::move(id), std::move(error), will_retry);
    co_await std::move(op);
  }
  Awaitable<void> reschedule(std::string id, Timestamp new_eta) override {
    wait_briefly("reschedule of task '" + id + "'");
    auto op = target().reschedule(std::move(id), new_eta);
    co_await std::move(op);
  }

 private:
  void wait_briefly(const std::string& what) {
    std::unique_lock guard(lock_->mutex);
    if (!lock_->released.wait_for(guard, 50ms, [&] { return !lock_->held; })) {
      throw StorageError(what + ": database is locked (gave up after 50 ms)");
    }
  }

  std::shared_ptr<WriteLock> lock_;
};

class LockableEnvironment final : public StoreEnvironment {
 public:
  std::shared_ptr<BaseStorage> open() override {
    if (!store_) store_ = std::make_shared<GivesUpWhenLocked>(lock_);
    return store_;
  }
  std::string location() const override { return "memory (deliberately broken)"; }
  std::unique_ptr<HeldLock> hold_write_lock() override {
    class Hold final : public HeldLock {
     public:
      explicit Hold(std::shared_ptr<WriteLock> lock) : lock_(std::move(lock)) {
        const std::lock_guard guard(lock_->mutex);
        lock_->held = true;
      }
      ~Hold() override {
        {
          const std::lock_guard guard(lock_->mutex);
          lock_->held = false;
        }
        lock_->released.notify_all();
      }

     private:
      std::shared_ptr<WriteLock> lock_;
    };
    return std::make_unique<Hold>(lock_);
  }

 private:
  std::shared_ptr<WriteLock> lock_ = std::make_shared<WriteLock>();
  std::shared_ptr<GivesUpWhenLocked> store_;
};

template <typename Storage>
class Environment final : public StoreEnvironment {
 public:
  std::shared_ptr<BaseStorage> open() override {
    if (!store_) store_ = std::make_shared<Storage>();
    return store_;
  }
  std::string location() const override { return "memory (deliberately broken)"; }

 private:
  std::shared_ptr<Storage> store_;
};

template <typename Storage, typename Env = Environment<Storage>>
BackendScheme scheme(std::string name, std::string help, Capabilities capabilities = {}) {
  return BackendScheme{
      .name = name,
      .arg_help = "",
      .help = std::move(help),
      .make = [name, capabilities](const std::string&) {
        return Backend{.name = name,
                       .capabilities = capabilities,
                       .make_environment = [] { return std::make_unique<Env>(); }};
      },
      .default_arg = nullptr};
}

}  // namespace

std::vector<BackendScheme> broken_schemes() {
  return {scheme<FailsInsteadOfRetrying>("broken_mark_failed", "breaks FAIL-1"),
          scheme<PurgesAtTheCutoff>("broken_purge", "breaks PUR-2"),
          scheme<StrictEtaBoundary>("broken_eta_boundary", "breaks DEQ-3"),
          scheme<RefusesFinalFailure>("broken_final_failure", "breaks FAIL-3"),
          scheme<DatetimeStore>("datetime_times", "stores years 1 to 9999 only, and says so",
                                {.times = kDatetimeTimes}),
          scheme<CenturyStore>("broken_century_times", "stores 1970 to 2100 only (breaks RT-3)",
                               {.times = kCenturyTimes}),
          scheme<GivesUpWhenLocked, LockableEnvironment>(
              "broken_busy_timeout", "writes give up after 50 ms on a held lock (breaks CON-5)")};
}

}  // namespace taskstore::conformance::selftest
