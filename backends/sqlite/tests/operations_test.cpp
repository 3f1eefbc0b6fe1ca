// A smoke test of every operation's semantics on the SQLite backend. The cross-backend
// conformance suite checks the contract in full; these catch a slip close to the code.

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace taskstore::sqlite_test {
namespace {

class SqliteOperations : public ::testing::Test {
 protected:
  SqliteOperations()
      : db_(dir_.path() / "q.db"),
        storage_(SqliteStorageOptions{
            .path = db_, .connections = 3, .clock = [this] { return at(clock_us_.load()); }}) {}

  std::size_t result_rows() { return std::stoul(RawDb(db_).query("SELECT count(*) FROM results")); }

  TempDir dir_;
  std::filesystem::path db_;
  std::atomic<std::int64_t> clock_us_{50'000};
  SqliteStorage storage_;
  asio::io_context io_;
};

TEST_F(SqliteOperations, EnqueueRoundTripsEveryField) {
  Task task = make_task("tâche-✓-1");
  task.payload = to_bytes(std::string("\0\x01\xff\0", 4));
  task.eta = at(-1'234'567);  // before 1970
  task.attempts = 2;
  task.schedule = IntervalSchedule{Duration(60'000'001)};
  task.last_error = "";  // empty, which is not "none"
  EXPECT_EQ(sync_wait(io_, storage_.enqueue(task)), task.id);
  const auto stored = sync_wait(io_, storage_.get_task(task.id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*stored, task) << describe(*stored);

  Task plain = make_task("plain");
  plain.payload.clear();
  plain.retry = RetryPolicy{};
  sync_wait(io_, storage_.enqueue(plain));
  const auto stored_plain = sync_wait(io_, storage_.get_task("plain"));
  ASSERT_TRUE(stored_plain.has_value());
  EXPECT_EQ(*stored_plain, plain) << describe(*stored_plain);
  EXPECT_FALSE(stored_plain->last_error.has_value());
}

TEST_F(SqliteOperations, DuplicateIdIsAConflictAndKeepsTheStoredTask) {
  const Task first = make_task("dup");
  sync_wait(io_, storage_.enqueue(first));
  Task second = make_task("dup", 7);
  second.name = "other";
  try {
    sync_wait(io_, storage_.enqueue(second));
    FAIL() << "duplicate accepted";
  } catch (const ConflictError& e) {
    EXPECT_NE(std::string(e.what()).find("dup"), std::string::npos) << e.what();
  }
  EXPECT_EQ(sync_wait(io_, storage_.get_task("dup")), first);
}

TEST_F(SqliteOperations, InvalidInputIsRejectedBeforeAnythingIsWritten) {
  Task bad = make_task("bad");
  bad.name.clear();
  EXPECT_THROW(sync_wait(io_, storage_.enqueue(bad)), InvalidArgumentError);
  EXPECT_FALSE(sync_wait(io_, storage_.get_task("bad")).has_value());
  EXPECT_THROW(sync_wait(io_, storage_.get_task("")), InvalidArgumentError);
  EXPECT_THROW(sync_wait(io_, storage_.get_result(std::string(101, 'x'))), InvalidArgumentError);
  EXPECT_THROW(sync_wait(io_, storage_.reschedule("\xff", at(0))), InvalidArgumentError);
  sync_wait(io_, storage_.enqueue(make_task("ok")));
  EXPECT_THROW(sync_wait(io_, storage_.mark_done("ok", TaskResult{.task_id = "other"})),
               InvalidArgumentError);
  EXPECT_THROW(
      sync_wait(io_, storage_.mark_done("ok", TaskResult{.task_id = "ok", .status = TaskStatus::FAILED})),
      InvalidArgumentError);
  EXPECT_EQ(sync_wait(io_, storage_.get_task("ok"))->status, TaskStatus::PENDING);
  EXPECT_EQ(result_rows(), 0u);
}

TEST_F(SqliteOperations, DequeueTakesEarliestEtaThenEnqueueOrder) {
  sync_wait(io_, storage_.enqueue(make_task("late", 300)));
  sync_wait(io_, storage_.enqueue(make_task("tie-1", 200)));
  sync_wait(io_, storage_.enqueue(make_task("early", 100)));
  sync_wait(io_, storage_.enqueue(make_task("tie-2", 200)));
  sync_wait(io_, storage_.enqueue(make_task("future", 1'000)));
  std::vector<std::string> order;
  while (auto task = sync_wait(io_, storage_.dequeue(at(999)))) order.push_back(task->id);
  EXPECT_EQ(order, (std::vector<std::string>{"early", "tie-1", "tie-2", "late"}));
  // eta == now is due, 1 us before is not.
  EXPECT_FALSE(sync_wait(io_, storage_.dequeue(at(999))).has_value());
  EXPECT_EQ(sync_wait(io_, storage_.dequeue(at(1'000)))->id, "future");
}

TEST_F(SqliteOperations, DequeueClaimsTheTask) {
  const Task task = make_task("a", 100);
  sync_wait(io_, storage_.enqueue(task));
  const auto claimed = sync_wait(io_, storage_.dequeue(at(4'242)));
  ASSERT_TRUE(claimed.has_value());
  Task expected = task;
  expected.status = TaskStatus::RUNNING;
  expected.attempts = 1;
  expected.updated_at = at(4'242);
  EXPECT_EQ(*claimed, expected) << describe(*claimed);
  EXPECT_EQ(sync_wait(io_, storage_.get_task("a")), expected);
}

TEST_F(SqliteOperations, TasksInOtherStatesNeverBlockDueOnes) {
  for (const char* id : {"running", "retrying", "done", "failed"}) {
    sync_wait(io_, storage_.enqueue(make_task(id, 1)));
  }
  sync_wait(io_, storage_.enqueue(make_task("due", 50)));
  sync_wait(io_, storage_.mark_running("running"));
  sync_wait(io_, storage_.mark_failed("retrying", "boom", true));
  sync_wait(io_, storage_.mark_done("done", TaskResult{.task_id = "done"}));
  sync_wait(io_, storage_.mark_failed("failed", "boom", false));
  EXPECT_EQ(sync_wait(io_, storage_.dequeue(at(100)))->id, "due");
  EXPECT_FALSE(sync_wait(io_, storage_.dequeue(at(100))).has_value());
}

TEST_F(SqliteOperations, MarkRunningStampsTheClockAndKeepsAttempts) {
  sync_wait(io_, storage_.enqueue(make_task("a", 1)));
  sync_wait(io_, storage_.dequeue(at(10)));
  clock_us_ = 77'000;
  sync_wait(io_, storage_.mark_running("a"));
  const auto task = sync_wait(io_, storage_.get_task("a"));
  EXPECT_EQ(task->status, TaskStatus::RUNNING);
  EXPECT_EQ(task->attempts, 1);
  EXPECT_EQ(task->updated_at, at(77'000));
}

TEST_F(SqliteOperations, MarkDoneStoresAndReplacesTheResult) {
  sync_wait(io_, storage_.enqueue(make_task("a", 1)));
  const TaskResult first{.task_id = "a",
                         .value = to_bytes(std::string("\0v1", 3)),
                         .error = "",
                         .finished_at = at(-5)};
  clock_us_ = 60'000;
  sync_wait(io_, storage_.mark_done("a", first));
  EXPECT_EQ(sync_wait(io_, storage_.get_result("a")), first);
  const auto task = sync_wait(io_, storage_.get_task("a"));
  EXPECT_EQ(task->status, TaskStatus::SUCCESS);
  EXPECT_EQ(task->updated_at, at(60'000));

  const TaskResult second{.task_id = "a", .value = {}, .finished_at = at(9)};
  sync_wait(io_, storage_.mark_done("a", second));
  EXPECT_EQ(sync_wait(io_, storage_.get_result("a")), second);
  EXPECT_EQ(result_rows(), 1u);
}

TEST_F(SqliteOperations, MarkFailedWithRetryIsRetryingUntilRescheduled) {
  sync_wait(io_, storage_.enqueue(make_task("a", 1)));
  sync_wait(io_, storage_.dequeue(at(10)));
  BaseStorage& base = storage_;
  clock_us_ = 61'000;
  sync_wait(io_, base.mark_failed("a", "timeout"));  // will_retry defaults to true
  auto task = sync_wait(io_, storage_.get_task("a"));
  EXPECT_EQ(task->status, TaskStatus::RETRYING);
  EXPECT_EQ(task->last_error, "timeout");
  EXPECT_EQ(task->updated_at, at(61'000));
  EXPECT_FALSE(sync_wait(io_, storage_.dequeue(at(1'000'000))).has_value());
  EXPECT_FALSE(sync_wait(io_, storage_.get_result("a")).has_value());

  clock_us_ = 62'000;
  sync_wait(io_, storage_.reschedule("a", at(500)));
  task = sync_wait(io_, storage_.get_task("a"));
  EXPECT_EQ(task->status, TaskStatus::PENDING);
  EXPECT_EQ(task->eta, at(500));
  EXPECT_EQ(task->attempts, 1);
  EXPECT_EQ(task->last_error, "timeout");
  EXPECT_EQ(task->max_retries, 3);
  EXPECT_EQ(task->retry, make_task("x").retry);
  EXPECT_EQ(task->created_at, at(500));
  EXPECT_EQ(task->updated_at, at(62'000));
  EXPECT_FALSE(sync_wait(io_, storage_.dequeue(at(499))).has_value());
  EXPECT_EQ(sync_wait(io_, storage_.dequeue(at(500)))->attempts, 2);
}

TEST_F(SqliteOperations, MarkFailedWithoutRetryStoresAFailedResult) {
  sync_wait(io_, storage_.enqueue(make_task("a", 1)));
  clock_us_ = 63'000;
  sync_wait(io_, storage_.mark_failed("a", "gave up", false));
  const auto task = sync_wait(io_, storage_.get_task("a"));
  EXPECT_EQ(task->status, TaskStatus::FAILED);
  EXPECT_EQ(task->last_error, "gave up");
  const TaskResult expected{.task_id = "a",
                            .status = TaskStatus::FAILED,
                            .value = {},
                            .error = "gave up",
                            .finished_at = at(63'000)};
  EXPECT_EQ(sync_wait(io_, storage_.get_result("a")), expected);
}

TEST_F(SqliteOperations, RescheduleWorksFromEveryStatusAndKeepsSequence) {
  sync_wait(io_, storage_.enqueue(make_task("first", 1)));
  sync_wait(io_, storage_.enqueue(make_task("second", 1)));
  sync_wait(io_, storage_.mark_done("first", TaskResult{.task_id = "first"}));
  sync_wait(io_, storage_.mark_failed("second", "x", false));
  // Rescheduled in reverse order to the same eta: enqueue order still breaks the tie.
  sync_wait(io_, storage_.reschedule("second", at(5)));
  sync_wait(io_, storage_.reschedule("first", at(5)));
  EXPECT_EQ(sync_wait(io_, storage_.dequeue(at(5)))->id, "first");
  EXPECT_EQ(sync_wait(io_, storage_.dequeue(at(5)))->id, "second");
}

TEST_F(SqliteOperations, UnknownIdsAreNotFoundAndLeaveNothingBehind) {
  EXPECT_FALSE(sync_wait(io_, storage_.get_task("ghost")).has_value());
  EXPECT_FALSE(sync_wait(io_, storage_.get_result("ghost")).has_value());
  try {
    sync_wait(io_, storage_.reschedule("ghost", at(1)));
    FAIL() << "reschedule of an unknown id succeeded";
  } catch (const NotFoundError& e) {
    EXPECT_EQ(std::string(e.what()),
              "reschedule: task 'ghost' not found in sqlite store " + db_.string());
  }
  EXPECT_THROW(sync_wait(io_, storage_.mark_running("ghost")), NotFoundError);
  EXPECT_THROW(sync_wait(io_, storage_.mark_done("ghost", TaskResult{.task_id = "ghost"})),
               NotFoundError);
  EXPECT_THROW(sync_wait(io_, storage_.mark_failed("ghost", "e", true)), NotFoundError);
  EXPECT_THROW(sync_wait(io_, storage_.mark_failed("ghost", "e", false)), NotFoundError);
  EXPECT_FALSE(sync_wait(io_, storage_.get_task("ghost")).has_value());
  EXPECT_EQ(result_rows(), 0u);
}

TEST_F(SqliteOperations, PurgeRemovesStrictlyOlderResultsOnly) {
  for (int i = 0; i < 4; ++i) {
    const std::string id = "t" + std::to_string(i);
    sync_wait(io_, storage_.enqueue(make_task(id, 1)));
    sync_wait(io_, storage_.mark_done(id, TaskResult{.task_id = id, .finished_at = at(100 + i)}));
  }
  EXPECT_EQ(sync_wait(io_, storage_.purge_results(at(102))), 2u);
  EXPECT_EQ(sync_wait(io_, storage_.purge_results(at(102))), 0u);
  EXPECT_FALSE(sync_wait(io_, storage_.get_result("t1")).has_value());
  EXPECT_TRUE(sync_wait(io_, storage_.get_result("t2")).has_value());
  EXPECT_EQ(sync_wait(io_, storage_.get_task("t0"))->status, TaskStatus::SUCCESS);
}

// Checks: SQL-5
TEST_F(SqliteOperations, ResumesOnTheCallersThread) {
  sync_wait(io_, storage_.enqueue(make_task("a", 1)));
  std::thread::id resumed;
  sync_wait(io_, [&]() -> Awaitable<void> {
    co_await storage_.dequeue(at(10));
    resumed = std::this_thread::get_id();
  }());
  EXPECT_EQ(resumed, std::this_thread::get_id());
}

TEST_F(SqliteOperations, ConcurrentDequeuesThroughOneInstanceClaimEachTaskOnce) {
  constexpr int kTasks = 200;
  for (int i = 0; i < kTasks; ++i) {
    sync_wait(io_, storage_.enqueue(make_task("t" + std::to_string(i), i)));
  }
  std::vector<std::vector<std::string>> claimed(4);
  std::vector<std::thread> workers;
  for (auto& mine : claimed) {
    workers.emplace_back([&] {
      asio::io_context io;
      while (auto task = sync_wait(io, storage_.dequeue(at(kTasks)))) mine.push_back(task->id);
    });
  }
  for (auto& worker : workers) worker.join();
  std::multiset<std::string> all;
  for (const auto& mine : claimed) all.insert(mine.begin(), mine.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), static_cast<std::size_t>(kTasks));
}

}  // namespace
}  // namespace taskstore::sqlite_test
