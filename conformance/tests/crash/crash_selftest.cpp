// The crash driver's own tests: it must catch stores that break CRASH-1 and CRASH-2, say
// which cycle and seed showed it, and report a child that fails instead of hanging. Also
// the bookkeeping it checks with (crash_model.hpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "crash_history.hpp"
#include "crash_model.hpp"
#include "selftest_stores.hpp"
#include "taskstore/conformance/crash_driver.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {
namespace {

using namespace selftest;
using detail::CrashOp;
using detail::CrashOpKind;

// Breaks CRASH-1: acknowledges changes before storing them. Up to three wait in memory
// until the next dequeue or read, or until a fourth arrives.
class BufferingStorage final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;

  Awaitable<std::string> enqueue(Task task) override {
    std::string id = task.id;
    Change change = [inner = shared_target(), task] { return discard(inner->enqueue(task)); };
    co_await later(std::move(change));
    co_return id;
  }
  Awaitable<void> mark_running(std::string id) override {
    Change change = [inner = shared_target(), id] { return inner->mark_running(id); };
    co_await later(std::move(change));
  }
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    Change change = [inner = shared_target(), id, result] { return inner->mark_done(id, result); };
    co_await later(std::move(change));
  }
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    Change change = [inner = shared_target(), id, error, will_retry] {
      return inner->mark_failed(id, error, will_retry);
    };
    co_await later(std::move(change));
  }
  Awaitable<void> reschedule(std::string id, Timestamp new_eta) override {
    Change change = [inner = shared_target(), id, new_eta] { return inner->reschedule(id, new_eta); };
    co_await later(std::move(change));
  }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    co_await flush();
    co_return co_await target().dequeue(now);
  }
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    co_await flush();
    co_return co_await target().get_task(std::move(id));
  }
  Awaitable<std::optional<TaskResult>> get_result(std::string id) override {
    co_await flush();
    co_return co_await target().get_result(std::move(id));
  }

 private:
  using Change = std::function<Awaitable<void>()>;

  static Awaitable<void> discard(Awaitable<std::string> op) { co_await std::move(op); }

  Awaitable<void> later(Change change) {
    buffer_.push_back(std::move(change));
    if (buffer_.size() > 3) co_await flush();
  }
  Awaitable<void> flush() {
    std::vector<Change> changes;
    changes.swap(buffer_);
    for (auto& change : changes) {
      auto op = change();
      co_await std::move(op);
    }
  }

  std::vector<Change> buffer_;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// One thread per child: the broken stores below are not safe to call from several.
CrashRunOptions quick_run(int kills) {
  CrashRunOptions options;
  options.kills = kills;
  options.seed = 7;
  options.max_threads = 1;
  return options;
}

// Breaks DEQ-3 only where threads meet: a dequeue that starts while another is still
// running hands out the task that one claimed, as a store whose claim reads and writes
// without a lock would.
class ClaimSharedByOverlappingDequeues final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;

  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    if (running_.fetch_add(1) > 0) {
      const std::optional<Task> shared = last_claim();
      if (shared) {
        running_.fetch_sub(1);
        co_return shared;
      }
    }
    std::optional<Task> task = co_await target().dequeue(now);
    if (task) {
      const std::lock_guard lock(mutex_);
      last_ = task;
    }
    // Let a dequeue of another thread start while this one still counts as running.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    running_.fetch_sub(1);
    co_return task;
  }

 private:
  std::optional<Task> last_claim() {
    const std::lock_guard lock(mutex_);
    return last_;
  }

  std::atomic<int> running_{0};
  std::mutex mutex_;
  std::optional<Task> last_;
};

// Checks: CRASH-1
TEST(CrashDriverSelfTest, StoreThatAcknowledgesBeforeStoring_IsCaught) {
  TempDir dir;
  WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) {
    return std::make_shared<BufferingStorage>(std::move(inner));
  });
  const CrashRunReport report = run_crash_cycles(environment, quick_run(30));
  ASSERT_FALSE(report.violations.empty()) << "a store that loses acknowledged changes passed: "
                                          << report.summary();
  const std::string& first = report.violations.front();
  EXPECT_NE(first.find("(seed 7, "), std::string::npos) << first;
  EXPECT_TRUE(first.find("acknowledged history") != std::string::npos ||
              first.find("never claimed") != std::string::npos)
      << first;
  EXPECT_LT(report.kills, 30) << "the run went on after a broken promise";
  EXPECT_FALSE(report.before_first_kill) << "a lost change only shows after a crash";
  EXPECT_TRUE(report.acknowledged_lost) << "a lost change is CRASH-1's: " << first;
}

// Checks: CRASH-2
TEST(CrashDriverSelfTest, StoreThatHandsAClaimOutTwice_IsCaught) {
  TempDir dir;
  WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) {
    return std::make_shared<UnclaimingStorage>(std::move(inner));
  });
  const CrashRunReport report = run_crash_cycles(environment, quick_run(30));
  ASSERT_FALSE(report.violations.empty()) << "a store that claims tasks twice passed";
  EXPECT_NE(joined(report.violations).find("second claim"), std::string::npos)
      << joined(report.violations);
  EXPECT_TRUE(report.inconsistent) << "a second claim is CRASH-2's: " << joined(report.violations);
  EXPECT_FALSE(report.acknowledged_lost) << joined(report.violations);
}

// A wrong answer with nothing crashed yet: a dequeue that never claims anything.
class NeverClaims final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  Awaitable<std::optional<Task>> dequeue(Timestamp) override { co_return std::nullopt; }
};

TEST(CrashDriverSelfTest, AWrongAnswerBeforeAnyKill_IsLeftToTheRequirementItBreaks) {
  TempDir dir;
  WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) {
    return std::make_shared<NeverClaims>(std::move(inner));
  });
  CrashRunOptions options = quick_run(5);
  options.max_acknowledged_per_kill = 200;  // the first child runs long enough to dequeue
  const CrashRunReport report = run_crash_cycles(environment, options);
  ASSERT_FALSE(report.violations.empty()) << "a store that never claims passed";
  EXPECT_NE(report.violations.front().find("returned nothing"), std::string::npos)
      << report.violations.front();
  EXPECT_TRUE(report.before_first_kill) << report.violations.front();
  EXPECT_EQ(report.kills, 0);
}

TEST(CrashDriverSelfTest, ChildThatCannotOpenTheStore_FailsTheRunWithItsError) {
  TempDir dir;
  const pid_t parent = ::getpid();
  WrappedEnvironment environment(dir.path(), [parent](std::shared_ptr<BaseStorage> inner) {
    if (::getpid() != parent) throw StorageError("this store refuses other processes");
    return inner;
  });
  const CrashRunReport report = run_crash_cycles(environment, quick_run(10));
  ASSERT_FALSE(report.violations.empty());
  EXPECT_NE(report.violations.front().find("the child was not killed: it exited with code 2: "
                                           "this store refuses other processes"),
            std::string::npos)
      << report.violations.front();
  // Only the crash run sees this (a child cannot open the store): it fails CRASH-1 and
  // CRASH-2, it is not a wrong answer to leave to another requirement.
  EXPECT_FALSE(report.before_first_kill);
  EXPECT_EQ(report.kills, 0);
}

TEST(CrashDriverSelfTest, HealthyFileStore_KeepsEveryPromise) {
  TempDir dir;
  WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) { return inner; });
  CrashRunOptions options = quick_run(12);
  options.max_threads = 3;
  const CrashRunReport report = run_crash_cycles(environment, options);
  EXPECT_TRUE(report.violations.empty()) << joined(report.violations);
  EXPECT_EQ(report.kills, 12);
  EXPECT_FALSE(report.before_first_kill);
  // The workload really ran on several threads, its operations overlapping.
  EXPECT_GT(report.concurrent_kills, 0) << report.summary();
  EXPECT_GT(report.overlapping, 0) << report.summary();
}

// Checks: CRASH-2
TEST(CrashDriverSelfTest, ClaimHandedToTwoThreads_IsCaughtOnlyWhenThreadsRun) {
  const auto run = [](int max_threads) {
    TempDir dir;
    WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) {
      return std::make_shared<ClaimSharedByOverlappingDequeues>(std::move(inner));
    });
    CrashRunOptions options = quick_run(20);
    options.max_threads = max_threads;
    options.max_acknowledged_per_kill = 60;
    return run_crash_cycles(environment, options);
  };
  const CrashRunReport one_thread = run(1);
  EXPECT_TRUE(one_thread.violations.empty())
      << "one thread never overlaps two dequeues: " << joined(one_thread.violations);
  const CrashRunReport threads = run(3);
  ASSERT_FALSE(threads.violations.empty()) << "a claim handed to two threads passed: "
                                           << threads.summary();
  EXPECT_NE(joined(threads.violations).find("second claim"), std::string::npos)
      << joined(threads.violations);
  EXPECT_TRUE(threads.inconsistent) << joined(threads.violations);
}

// Checks: CRASH-1, CRASH-2
TEST(CrashDriverSelfTest, HealthyFileStoreWithBatchClaims_KeepsEveryPromise) {
  TempDir dir;
  WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) { return inner; });
  CrashRunOptions options = quick_run(12);
  options.max_threads = 3;
  options.batch_claims = true;
  const CrashRunReport report = run_crash_cycles(environment, options);
  EXPECT_TRUE(report.violations.empty()) << joined(report.violations);
  EXPECT_EQ(report.kills, 12);
  EXPECT_GT(report.batch_claims, 0) << report.summary();
  EXPECT_NE(report.summary().find("batch claims"), std::string::npos) << report.summary();
}

// The parent's bookkeeping of overlapping operations (crash_history.hpp), fed report lines
// by hand.
class CrashHistoryTest : public ::testing::Test {
 protected:
  CrashHistoryTest() : history_(report_) {}

  void begin(int thread, CrashOp op) {
    flights_[thread] = detail::Flight{.op = std::move(op), .begun = ++line_, .applied = false};
  }
  void ack(int thread, const std::string& claimed = "-") {
    history_.acknowledge(thread, claimed, ++line_, flights_, "test: ");
  }
  static CrashOp enqueue(const std::string& id, int eta_seconds) {
    return CrashOp{.kind = CrashOpKind::enqueue,
                   .id = id,
                   .time = detail::kCrashBase + std::chrono::seconds(eta_seconds),
                   .text = ""};
  }
  static CrashOp dequeue() {
    return CrashOp{.kind = CrashOpKind::dequeue, .id = "-", .time = detail::kChildNow, .text = ""};
  }
  static CrashOp batch(int max) {
    return CrashOp{.kind = CrashOpKind::dequeue_batch,
                   .id = "-",
                   .time = detail::kChildNow,
                   .text = std::to_string(max)};
  }
  void enqueue_due(std::initializer_list<const char*> ids) {
    for (const char* id : ids) {
      begin(0, enqueue(id, 0));
      ack(0);
    }
  }

  CrashRunReport report_;
  detail::CrashHistory history_;
  detail::Flights flights_;
  long line_ = 0;
};

TEST_F(CrashHistoryTest, AClaimMayReturnBeforeTheEnqueueOfItsTask) {
  begin(0, enqueue("x", 0));
  begin(1, dequeue());
  ack(1, "x");  // the enqueue had taken effect, though it had not returned yet
  ack(0);
  EXPECT_TRUE(report_.violations.empty()) << joined(report_.violations);
  begin(1, dequeue());
  ack(1, "x");
  EXPECT_NE(joined(report_.violations).find("second claim"), std::string::npos)
      << joined(report_.violations);
}

TEST_F(CrashHistoryTest, AnEmptyClaim_IsExcusedOnlyByAnotherDequeueInFlight) {
  begin(0, enqueue("x", 0));
  ack(0);
  begin(1, dequeue());
  begin(2, dequeue());
  ack(2);  // thread 1's dequeue may have taken x
  EXPECT_TRUE(report_.violations.empty()) << joined(report_.violations);
  ack(1, "x");
  begin(0, enqueue("y", 0));
  ack(0);
  begin(2, dequeue());
  ack(2);  // nothing else in flight: y was due all along
  EXPECT_NE(joined(report_.violations).find("returned nothing, but task 'y'"), std::string::npos)
      << joined(report_.violations);
}

TEST_F(CrashHistoryTest, AnEmptyClaim_ExcusedByADequeueThatTookAnotherTask_IsCaught) {
  begin(0, enqueue("x", 0));
  ack(0);
  begin(1, dequeue());
  begin(2, dequeue());
  ack(1);  // excused for now: thread 2's dequeue may take x
  EXPECT_TRUE(report_.violations.empty()) << joined(report_.violations);
  begin(0, enqueue("z", 0));
  ack(0);
  ack(2, "z");  // it did not: x was due all along
  EXPECT_NE(joined(report_.violations).find("returned nothing while task 'x' was due"),
            std::string::npos)
      << joined(report_.violations);
}

TEST_F(CrashHistoryTest, AnEmptyClaim_BeganBeforeTheTaskWasDue_IsAllowed) {
  begin(1, dequeue());
  begin(0, enqueue("x", 0));
  ack(0);
  ack(1);  // it may have run before the enqueue did
  EXPECT_TRUE(report_.violations.empty()) << joined(report_.violations);
}

TEST_F(CrashHistoryTest, AShortBatch_IsExcusedOnlyByOtherClaimsInFlight) {
  enqueue_due({"x", "y", "z"});
  begin(1, batch(3));
  begin(2, dequeue());
  ack(1, "x,y");  // thread 2's dequeue may have taken z
  EXPECT_TRUE(report_.violations.empty()) << joined(report_.violations);
  ack(2, "z");
  EXPECT_TRUE(report_.violations.empty()) << joined(report_.violations);
  enqueue_due({"u", "v"});
  begin(1, batch(2));
  ack(1, "u");  // nothing else in flight: v was due all along
  EXPECT_NE(joined(report_.violations).find("batch claim of up to 2 returned 1 task, but task 'v'"),
            std::string::npos)
      << joined(report_.violations);
}

TEST_F(CrashHistoryTest, AShortDequeue_ExcusedByABatchThatLeftATaskBehind_IsCaught) {
  enqueue_due({"x", "y"});
  begin(1, dequeue());
  begin(2, batch(3));
  ack(1);  // excused for now: thread 2's batch may take both
  EXPECT_TRUE(report_.violations.empty()) << joined(report_.violations);
  ack(2, "x");  // it did not: y was due all along
  EXPECT_NE(joined(report_.violations).find("returned nothing while task 'y' was due"),
            std::string::npos)
      << joined(report_.violations);
}

TEST_F(CrashHistoryTest, ABatchOverItsMaxOrTakingATaskTwice_IsCaught) {
  enqueue_due({"x", "y", "z"});
  begin(1, batch(2));
  ack(1, "x,y,z");
  EXPECT_NE(joined(report_.violations).find("of up to 2 returned 3 tasks"), std::string::npos)
      << joined(report_.violations);
  report_.violations.clear();
  begin(1, batch(2));
  ack(1, "z,z");
  EXPECT_NE(joined(report_.violations).find("second claim"), std::string::npos)
      << joined(report_.violations);
}

// Checks: CRASH-2
TEST(CrashHistoryVerify, ABatchCutShort_MayShowSomeOfItsClaimsButNoMoreThanItsMax) {
  for (const int shown : {0, 1, 2, 3}) {
    SCOPED_TRACE("claims shown: " + std::to_string(shown));
    TempDir dir;
    const auto environment = file_backend(dir.path()).make_environment();
    const auto store = environment->open();
    boost::asio::io_context io;
    CrashRunReport report;
    detail::CrashHistory history(report);
    detail::Flights flights;
    long line = 0;
    for (const char* id : {"x", "y", "z"}) {
      const CrashOp op{.kind = CrashOpKind::enqueue, .id = id, .time = detail::kCrashBase};
      flights[0] = detail::Flight{.op = op, .begun = ++line};
      sync_wait(io, store->enqueue(detail::crash_task(id, op.time, detail::kCrashBase)));
      history.acknowledge(0, "-", ++line, flights, "test: ");
    }
    // A batch of up to 2 in flight at the kill; `shown` claims reached the store.
    flights[1] = detail::Flight{
        .op = CrashOp{.kind = CrashOpKind::dequeue_batch, .id = "-", .time = detail::kChildNow,
                      .text = "2"},
        .begun = ++line};
    for (int i = 0; i < shown; ++i) sync_wait(io, store->dequeue(detail::kChildNow));
    history.verify(*store, io, flights, "test: ");
    if (shown <= 2) {
      EXPECT_TRUE(report.violations.empty()) << joined(report.violations);
    } else {
      EXPECT_NE(joined(report.violations).find("is RUNNING"), std::string::npos)
          << "a third claim by a batch of up to 2 passed: " << joined(report.violations);
      EXPECT_TRUE(report.inconsistent) << joined(report.violations);
    }
  }
}

TEST(CrashModel, OperationLines_RoundTrip) {
  const CrashOp op{.kind = CrashOpKind::mark_failed_final,
                   .id = "c3-7",
                   .time = from_micros(-42),
                   .text = "e3.7"};
  const auto back = detail::decode_op(detail::encode(op));
  ASSERT_TRUE(back.has_value()) << detail::encode(op);
  EXPECT_EQ(back->kind, op.kind);
  EXPECT_EQ(back->id, op.id);
  EXPECT_EQ(back->time, op.time);
  EXPECT_EQ(back->text, op.text);
  EXPECT_FALSE(detail::decode_op("mark_done c1 12x v").has_value());
  EXPECT_FALSE(detail::decode_op("frobnicate c1 12 v").has_value());
  EXPECT_FALSE(detail::decode_op("dequeue - 12").has_value());
  const CrashOp batch{.kind = CrashOpKind::dequeue_batch, .id = "-", .time = from_micros(9), .text = "4"};
  const auto batch_back = detail::decode_op(detail::encode(batch));
  ASSERT_TRUE(batch_back.has_value()) << detail::encode(batch);
  EXPECT_EQ(detail::claim_capacity(*batch_back), 4u);
  EXPECT_FALSE(detail::decode_op("dequeue_batch - 12 -").has_value()) << "a batch needs its max";
}

TEST(CrashModel, OnlyResultWritingOperations_MayShowByTheirResultAlone) {
  const Timestamp t = from_micros(1'000'000);
  const detail::ExpectedTask before{.task = detail::crash_task("a", t, t)};
  const CrashOp done{.kind = CrashOpKind::mark_done, .id = "a", .time = t, .text = "v"};
  const auto partial = detail::result_only(before, done);
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->task.status, TaskStatus::PENDING);
  EXPECT_EQ(partial->result, detail::done_result(done));
  for (const auto kind : {CrashOpKind::enqueue, CrashOpKind::dequeue, CrashOpKind::mark_running,
                          CrashOpKind::mark_failed_retry, CrashOpKind::reschedule}) {
    EXPECT_FALSE(detail::result_only(before, CrashOp{.kind = kind, .id = "a"}).has_value())
        << detail::to_string(kind);
  }
}

TEST(CrashModel, WithinReach_TellsAHalfWayOperationFromALostOne) {
  const Timestamp t = from_micros(1'000'000);
  const detail::ExpectedTask pending{.task = detail::crash_task("a", t, t)};
  const CrashOp claim{.kind = CrashOpKind::dequeue, .id = "a", .time = t};
  Task half_claimed = pending.task;
  half_claimed.status = TaskStatus::RUNNING;  // its attempt not counted
  EXPECT_TRUE(detail::within_reach(pending, claim, half_claimed, std::nullopt));

  const detail::ExpectedTask retrying = detail::applied(
      detail::applied(pending, claim),
      CrashOp{.kind = CrashOpKind::mark_failed_retry, .id = "a", .text = "e"});
  Task error_lost = retrying.task;
  error_lost.last_error.reset();
  const CrashOp reschedule{.kind = CrashOpKind::reschedule, .id = "a", .time = t};
  EXPECT_FALSE(detail::within_reach(retrying, reschedule, error_lost, std::nullopt))
      << "a reschedule never touches last_error: the acknowledged mark_failed was lost";
  EXPECT_FALSE(detail::within_reach(retrying, reschedule, std::nullopt, std::nullopt));
}

TEST(CrashModel, Matches_IgnoresUpdatedAtAndAnUnknownFinishedAt) {
  const Timestamp t = from_micros(1'000'000);
  const detail::ExpectedTask before{.task = detail::crash_task("a", t, t)};
  const CrashOp failed{.kind = CrashOpKind::mark_failed_final, .id = "a", .time = t, .text = "e"};
  const detail::ExpectedTask after = detail::applied(before, failed);
  Task stored = after.task;
  stored.updated_at = t + std::chrono::hours(5);
  TaskResult result = *after.result;
  result.finished_at = t + std::chrono::hours(6);
  EXPECT_TRUE(detail::matches(after, stored, result));
  stored.attempts += 1;
  EXPECT_FALSE(detail::matches(after, stored, result));
  EXPECT_FALSE(detail::matches(after, after.task, std::nullopt));
}

}  // namespace
}  // namespace taskstore::conformance
