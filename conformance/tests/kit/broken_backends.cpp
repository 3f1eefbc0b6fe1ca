#include "broken_backends.hpp"

#include <condition_variable>
#include <mutex>

#include "one_bug_stores.hpp"
#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/conformance/file_backend.hpp"

namespace taskstore::conformance::selftest {

namespace {

using namespace std::chrono_literals;

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

// One DamageableStore (or subclass) shared by every open(), with corrupt_task.
template <typename Store>
class DamageableEnvironment final : public StoreEnvironment {
 public:
  std::shared_ptr<BaseStorage> open() override { return store_; }
  std::string location() const override { return DamageableStore::kLocation; }
  bool corrupt_task(const std::string& task_id) override {
    boost::asio::io_context io;
    sync_wait(io, store_->damage(task_id));
    return true;
  }
  bool corrupt_result(const std::string& task_id) override {
    boost::asio::io_context io;
    return sync_wait(io, store_->damage_result(task_id));
  }

 private:
  std::shared_ptr<Store> store_ = std::make_shared<Store>();
};

// A file store in a directory of its own, each instance wrapped in `Store`, the instances
// sharing one SharedAcrossInstances.
template <typename Store>
class FileBackedEnvironment final : public StoreEnvironment {
 public:
  std::shared_ptr<BaseStorage> open() override {
    return std::make_shared<Store>(inner_->open(), shared_);
  }
  std::string location() const override { return inner_->location(); }

 private:
  TemporaryDirectory directory_{"taskstore-bug"};
  std::unique_ptr<StoreEnvironment> inner_ = file_backend(directory_.path()).make_environment();
  std::shared_ptr<SharedAcrossInstances> shared_ = [this] {
    auto shared = std::make_shared<SharedAcrossInstances>();
    shared->directory = directory_.path();
    return shared;
  }();
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

std::vector<SeededBug> seeded_bugs() {
  return {
      {scheme<FailsInsteadOfRetrying>("broken_mark_failed",
                                      "mark_failed(will_retry = true) sets FAILED"),
       {"FAIL-1", "FAIL-4", "GET-4"}},
      {scheme<PurgesAtTheCutoff>("broken_purge", "purge_results removes results at the cutoff"),
       {"PUR-2"}},
      {scheme<StrictEtaBoundary>("broken_eta_boundary", "a task due exactly now is not due"),
       {"DEQ-3", "DEQ-5"}},
      {scheme<RefusesFinalFailure>("broken_final_failure",
                                   "mark_failed(will_retry = false) always fails"),
       {"ENQ-5", "FAIL-3", "ERR-1", "ERR-2"}},
      {scheme<CenturyStore>("broken_century_times", "stores 1970 to 2100 only, and says so",
                            {.times = kCenturyTimes}),
       {"RT-3"}},
      {scheme<GivesUpWhenLocked, LockableEnvironment>(
           "broken_busy_timeout", "writes give up after 50 ms while another writer holds the lock"),
       {"CON-5"}},
      {scheme<WrongIdFromEnqueue>("bug_enqueue_id", "enqueue returns another id"), {"ENQ-1", "ENQ-5"}},
      {scheme<SilentDuplicateEnqueue>("bug_duplicate_enqueue",
                                      "enqueue of a held id returns as if it stored it"),
       {"ENQ-3", "ERR-2"}},
      {scheme<LaxEnqueueChecks>("bug_enqueue_checks", "a negative max_retries is stored as 0"),
       {"ENQ-4"}},
      {scheme<LaxIdChecks>("bug_id_checks", "get_task and get_result take malformed ids"),
       {"ENQ-5"}},
      {scheme<ThrowsWhenNothingDue>("bug_empty_dequeue", "dequeue raises when nothing is due"),
       {"DEQ-2"}},
      {scheme<ClaimCountsNoAttempt>("bug_claim_attempts", "a claim counts no attempt"),
       {"DEQ-5"}},
      {scheme<RunningCountsAnAttempt>("bug_running_attempts", "mark_running counts an attempt"),
       {"RUN-2"}},
      {scheme<RescheduleDropsSchedule>("bug_reschedule_schedule",
                                       "reschedule drops the interval schedule"),
       {"RSC-5", "RSC-6"}},
      {scheme<RescheduledTooEarly>("bug_reschedule_early",
                                   "a rescheduled task is due an hour early"),
       {"DEQ-4", "RSC-7"}},
      {scheme<MarkRunningDoesNothing>("bug_mark_running", "mark_running changes nothing"),
       {"RUN-1"}},
      {scheme<FirstResultWins>("bug_first_result_wins", "a later mark_done keeps the first result"),
       {"DONE-2", "RT-2"}},
      {scheme<LaxResultChecks>("bug_result_checks", "mark_done stores a FAILED result as SUCCESS"),
       {"DONE-3"}},
      {scheme<EmptyResultForNone>("bug_empty_result", "get_result invents an empty result"),
       {"RES-2"}},
      {scheme<ResultLosesError>("bug_result_error", "get_result loses the error text"),
       {"RT-2"}},
      {scheme<PurgeCountsNothing>("bug_purge_count", "purge_results says it removed nothing"),
       {"PUR-1"}},
      {scheme<PurgeRepeatsItsCount>("bug_purge_repeat",
                                    "a repeated purge repeats the earlier count"),
       {"PUR-1", "PUR-4"}},
      {scheme<LongOverdueNeverDue>("bug_long_overdue",
                                   "a task enqueued more than a day overdue is never due"),
       {"ENQ-2", "DEQ-1"}},
      {scheme<LongIdsUnreadable>("bug_long_id_read", "get_task of an id over 64 bytes raises"),
       {"GET-1", "GET-2", "RT-1"}},
      {scheme<UnknownTaskIsAnError>("bug_get_unknown", "get_task of an unknown id raises"),
       {"GET-2"}},
      {scheme<RescheduleIgnoresUnknownIds>("bug_reschedule_unknown",
                                           "reschedule of an unknown id does nothing"),
       {"RSC-2", "ERR-1", "ERR-2"}},
      {scheme<VagueErrors>("bug_vague_errors", "mark_running's NotFoundError names nothing"),
       {"ERR-1", "ERR-2"}},
      {scheme<RescheduleKeepsEta>("bug_reschedule_eta", "reschedule keeps the old eta"),
       {"RSC-1", "RSC-4"}},
      {scheme<RetryingIsDue>("bug_retrying_due", "a RETRYING task is claimed"), {"DEQ-8", "FAIL-2"}},
      {scheme<DropsOverlappingWrites>("bug_overlapping_writes",
                                      "a write overlapping another on one instance is dropped"),
       {"CON-1"}},
      {scheme<SharedClaimSlot>("bug_shared_claim_slot",
                               "overlapping claims on one instance share one result slot"),
       {"DEQ-6", "CON-2"}},
      {scheme<DequeueLosesItsClaim>("bug_lost_claim", "dequeue claims a task but returns nothing"),
       {"DEQ-1"}},
      {scheme<DoneKeepsStatus>("bug_done_status", "after mark_done the task does not show SUCCESS"),
       {"DONE-1", "RES-1", "PUR-3"}},
      {scheme<DoneLosesSchedule>("bug_done_schedule",
                                 "after mark_done get_task shows no interval schedule"),
       {"DONE-1", "GET-5", "RSC-5"}},
      {scheme<EmptyErrorIsNone>("bug_empty_error", "an empty last_error reads back as none"),
       {"FAIL-1", "RT-1"}},
      {scheme<ResumesOnItsOwnThread>("bug_foreign_thread",
                                     "dequeue completes on a thread of its own"),
       {"ASY-1"}},
      {scheme<DamageIsNotCorruption, DamageableEnvironment<DamageIsNotCorruption>>(
           "bug_damage_type", "a damaged task raises StorageError, not CorruptionError"),
       {"DEQ-9", "GET-3"}},
      {scheme<RescheduleIgnoresDamage, DamageableEnvironment<RescheduleIgnoresDamage>>(
           "bug_damage_reschedule", "reschedule of a damaged task succeeds"),
       {"RSC-3"}},
      {scheme<DamageStopsTheQueue, DamageableEnvironment<DamageStopsTheQueue>>(
           "bug_damage_stops_queue", "a damaged task makes every dequeue fail"),
       {"DEQ-9", "RSC-3"}},
      {scheme<BatchSortedById>("bug_batch_order", "a batch comes back sorted by eta, then id",
                               {.batch_claims = true}),
       {"BAT-1"}},
      {scheme<BatchShowsOldAttempts>("bug_batch_attempts",
                                     "a batch returns its tasks with their attempts before the claim",
                                     {.batch_claims = true}),
       {"BAT-2"}},
      {scheme<BatchOfZeroClaimsOne>("bug_batch_zero", "a batch of 0 claims one task",
                                    {.batch_claims = true}),
       {"BAT-3"}},
      {scheme<BatchesShareASlot>("bug_batch_slot",
                                 "overlapping batches on one instance share one result slot",
                                 {.batch_claims = true}),
       {"BAT-4"}},
      {scheme<DamageStopsTheBatch, DamageableEnvironment<DamageStopsTheBatch>>(
           "bug_damage_stops_batch", "a damaged task makes every batch claim fail",
           {.batch_claims = true}),
       {"BAT-5"}},
      {scheme<DamageStopsThePurge, DamageableEnvironment<DamageStopsThePurge>>(
           "bug_damage_stops_purge", "a damaged result makes every purge fail"),
       {"PUR-5"}},
      {scheme<SharedSlotAcrossInstances, FileBackedEnvironment<SharedSlotAcrossInstances>>(
           "bug_slot_across_instances",
           "claims through different instances share one result slot",
           {.multi_process = true}),
       {"DEQ-7", "CON-2"}},
      {scheme<DropsWritesAcrossProcesses, FileBackedEnvironment<DropsWritesAcrossProcesses>>(
           "bug_writes_across_processes",
           "a write that meets another process's write in progress is dropped",
           {.multi_process = true}),
       {"CON-6"}},
      {scheme<CachesTasks, FileBackedEnvironment<CachesTasks>>(
           "bug_task_cache", "an instance answers get_task from its own copy",
           {.multi_process = true}),
       {"CON-4"}},
      {scheme<KeepsErrorsInMemory, FileBackedEnvironment<KeepsErrorsInMemory>>(
           "bug_errors_in_memory", "an instance keeps mark_failed's error text to itself",
           {.persistent = true, .multi_process = true}),
       {"RT-1", "DUR-1", "CON-4", "CON-6", "CRASH-1"}},
  };
}

std::vector<BugShownElsewhere> bugs_shown_elsewhere() {
  return {
      {"ClaimRaceSelfTest.StoreThatHandsAClaimOutTwice_ShowsInTheReport",
       "a file store that hands each claim out a second time, raced by worker processes",
       {"CON-3"}},
      {"CrashDriverSelfTest.StoreThatAcknowledgesBeforeStoring_IsCaught",
       "a file store that acknowledges writes it only buffers", {"CRASH-1"}},
      {"CrashDriverSelfTest.StoreThatHandsAClaimOutTwice_IsCaught",
       "a file store that hands each claim out a second time, killed at random", {"CRASH-2"}},
      {"IoErrorSweep.StoreThatSwallowsAnEnqueueError_IsCaught",
       "SQLite whose enqueue swallows StorageError, under the I/O-error sweep", {"IOERR-1"}},
      {"IoErrorSweep.StoreThatStaysBrokenAfterAnError_IsCaught",
       "SQLite whose instance refuses every call after a failed enqueue, under the I/O-error sweep",
       {"IOERR-2"}},
      {"IoErrorSweep.BatchOfSeparateCommits_IsCaught",
       "SQLite whose dequeue_batch commits each claim on its own, under the I/O-error sweep",
       {"BAT-6"}},
      {"PowerCutTest.SqliteThatNeverSyncs_IsCaught",
       "SQLite with synchronous=OFF (it never syncs), under simulated power cuts", {"CRASH-3"}},
      {"PowerCutTest.StoreThatHandsAClaimOutTwice_IsCaughtAsCrash4",
       "a file store that hands each claim out a second time, under simulated power cuts",
       {"CRASH-4"}},
      {"python_driver_without_fsync_is_caught",
       "the Python driver with SQLite's synchronous=OFF (it never syncs), under simulated power cuts",
       {"CRASH-3"}},
      {"python_driver_shared_connection_is_caught",
       "the Python driver with one SQLite connection shared by all its threads", {"DEQ-6"}},
      {"PropertySelfTest.RescheduleThatResetsAttempts_IsCaughtAsRsc6",
       "reschedule writes attempts = 0", {"RSC-6"}},
      {"PropertySelfTest.TimestampKeptToTheMillisecond_IsCaughtAsRt1",
       "enqueue keeps created_at to the millisecond", {"RT-1"}},
  };
}

std::vector<BackendScheme> broken_schemes() {
  std::vector<BackendScheme> schemes;
  for (auto& bug : seeded_bugs()) schemes.push_back(std::move(bug.scheme));
  schemes.push_back(scheme<DatetimeStore>("datetime_times", "stores years 1 to 9999 only, and says so",
                                          {.times = kDatetimeTimes}));
  return schemes;
}

}  // namespace taskstore::conformance::selftest
