// The storage contract on the file backend, operation by operation. The cross-backend
// conformance suite checks the same rules in depth; these keep the backend honest on
// its own.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/detached.hpp>
#include <string>

#include "taskstore/errors.hpp"
#include "taskstore/file_storage.hpp"
#include "test_support.hpp"

namespace taskstore::file_test {
namespace {

namespace fs = std::filesystem;

class FileStorageSmoke : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(dir_.path(), clock_.clock()); }

  std::string enqueue(Task task) { return sync_wait(io_, store_->enqueue(std::move(task))); }
  std::optional<Task> dequeue(std::int64_t now) {
    return sync_wait(io_, store_->dequeue(from_micros(now)));
  }
  std::optional<Task> get(const std::string& id) { return sync_wait(io_, store_->get_task(id)); }
  std::optional<TaskResult> result(const std::string& id) {
    return sync_wait(io_, store_->get_result(id));
  }
  std::vector<std::string> markers() { return file_names(dir_.path() / "queue"); }
  // The default argument of mark_failed lives on the interface.
  BaseStorage& base() { return *store_; }

  TempDir dir_;
  TestClock clock_{5'000'000};
  boost::asio::io_context io_;
  std::unique_ptr<FileStorage> store_;
};

TEST_F(FileStorageSmoke, EnqueueStoresEveryFieldExactly) {
  const Task task = tricky_task("t\xC3\xA9st-\xF0\x9F\x98\x80");
  EXPECT_EQ(enqueue(task), task.id);
  EXPECT_EQ(get(task.id), task);
  EXPECT_TRUE(fs::exists(store_->task_path(task.id)));

  Task plain = make_task("plain");
  plain.last_error.reset();
  plain.schedule.reset();
  enqueue(plain);
  EXPECT_EQ(get("plain"), plain);
  EXPECT_EQ(get("unknown"), std::nullopt);
  EXPECT_EQ(result("plain"), std::nullopt);

  std::string id;
  for (int i = 0; i < 25; ++i) id += "\xF0\x9F\x98\x80";  // 100 bytes of 4-byte UTF-8
  enqueue(make_task(id));
  EXPECT_EQ(get(id)->id, id);
}

TEST_F(FileStorageSmoke, DequeueTakesEarliestEtaThenEnqueueOrder) {
  enqueue(make_task("late", 300));
  enqueue(make_task("tie-first", 200));
  enqueue(make_task("early", -50));  // before 1970 sorts first
  enqueue(make_task("tie-second", 200));
  enqueue(make_task("future", 10'000));

  EXPECT_EQ(dequeue(-51), std::nullopt);  // eta 1 µs after now is not due
  EXPECT_EQ(dequeue(-50)->id, "early");   // eta == now is due
  EXPECT_EQ(dequeue(1'000)->id, "tie-first");
  EXPECT_EQ(dequeue(1'000)->id, "tie-second");
  EXPECT_EQ(dequeue(1'000)->id, "late");
  EXPECT_EQ(dequeue(1'000), std::nullopt);
  EXPECT_EQ(markers().size(), 1u);  // only "future" is still waiting
}

TEST_F(FileStorageSmoke, DequeueClaimsRunningCountsAttemptAndStampsNow) {
  Task task = make_task("a", 10);
  task.attempts = 4;
  enqueue(task);
  const auto claimed = dequeue(77);
  ASSERT_TRUE(claimed);
  Task expected = task;
  expected.status = TaskStatus::RUNNING;
  expected.attempts = 5;
  expected.updated_at = from_micros(77);
  EXPECT_EQ(*claimed, expected);
  EXPECT_EQ(get("a"), expected);
  EXPECT_EQ(dequeue(1'000), std::nullopt);
  EXPECT_TRUE(markers().empty());
}

TEST_F(FileStorageSmoke, DuplicateEnqueueConflictsAndKeepsTheStoredTask) {
  const Task original = make_task("dup", 10);
  enqueue(original);
  Task other = make_task("dup", 5);
  other.name = "other";
  EXPECT_THROW(enqueue(other), ConflictError);
  EXPECT_EQ(get("dup"), original);
  EXPECT_EQ(markers().size(), 1u);
}

TEST_F(FileStorageSmoke, InvalidInputIsRejectedBeforeAnythingIsWritten) {
  Task running = make_task("x");
  running.status = TaskStatus::RUNNING;
  EXPECT_THROW(enqueue(running), InvalidArgumentError);
  EXPECT_THROW(enqueue(make_task("")), InvalidArgumentError);
  EXPECT_THROW(get(""), InvalidArgumentError);
  EXPECT_THROW(result(std::string(101, 'a')), InvalidArgumentError);
  EXPECT_THROW(sync_wait(io_, store_->reschedule(std::string("a\0b", 3), from_micros(0))),
               InvalidArgumentError);
  enqueue(make_task("ok"));
  EXPECT_THROW(sync_wait(io_, store_->mark_done("ok", TaskResult{.task_id = "other"})),
               InvalidArgumentError);
  EXPECT_THROW(
      sync_wait(io_, store_->mark_done("ok", TaskResult{.task_id = "ok", .status = TaskStatus::FAILED})),
      InvalidArgumentError);
  EXPECT_EQ(result("ok"), std::nullopt);
  EXPECT_EQ(file_names(dir_.path() / "tasks").size(), 1u);
}

TEST_F(FileStorageSmoke, UnknownIdsAreNotFoundAndLeaveNothingBehind) {
  const auto expect_not_found = [&](Awaitable<void> op, const std::string& operation) {
    try {
      sync_wait(io_, std::move(op));
      ADD_FAILURE() << operation << " did not throw";
    } catch (const NotFoundError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(operation + ": task 'ghost' not found in file store " +
                             store_->directory().string()),
                std::string::npos)
          << message;
    }
  };
  expect_not_found(store_->mark_running("ghost"), "mark_running");
  expect_not_found(store_->mark_done("ghost", TaskResult{.task_id = "ghost"}), "mark_done");
  expect_not_found(store_->mark_failed("ghost", "e", true), "mark_failed");
  expect_not_found(store_->mark_failed("ghost", "e", false), "mark_failed");
  expect_not_found(store_->reschedule("ghost", from_micros(0)), "reschedule");
  EXPECT_TRUE(file_names(dir_.path() / "tasks").empty());
  EXPECT_TRUE(file_names(dir_.path() / "results").empty());
  EXPECT_TRUE(markers().empty());
}

TEST_F(FileStorageSmoke, MarkRunningKeepsAttemptsAndStampsTheClock) {
  enqueue(make_task("a", 10));
  dequeue(20);
  clock_.set(6'000'000);
  sync_wait(io_, store_->mark_running("a"));
  const auto task = get("a");
  EXPECT_EQ(task->status, TaskStatus::RUNNING);
  EXPECT_EQ(task->attempts, 1);
  EXPECT_EQ(task->updated_at, from_micros(6'000'000));

  enqueue(make_task("pending", 10));
  sync_wait(io_, store_->mark_running("pending"));  // from PENDING: no longer due
  EXPECT_EQ(dequeue(1'000), std::nullopt);
  EXPECT_TRUE(markers().empty());
}

TEST_F(FileStorageSmoke, MarkDoneStoresAndReplacesTheResult) {
  enqueue(make_task("a", 10));
  dequeue(20);
  const TaskResult first{.task_id = "a",
                         .value = to_bytes(std::string("r\0s", 3)),
                         .error = std::string(),
                         .finished_at = from_micros(30)};
  sync_wait(io_, store_->mark_done("a", first));
  EXPECT_EQ(result("a"), first);
  EXPECT_EQ(get("a")->status, TaskStatus::SUCCESS);
  EXPECT_EQ(get("a")->updated_at, clock_.now());
  EXPECT_TRUE(fs::exists(store_->result_path("a")));

  const TaskResult second{.task_id = "a", .value = to_bytes("two"), .finished_at = from_micros(40)};
  sync_wait(io_, store_->mark_done("a", second));
  EXPECT_EQ(result("a"), second);
}

TEST_F(FileStorageSmoke, MarkFailedWithRetryIsNotDueUntilRescheduled) {
  Task task = make_task("a", 10);
  task.schedule = IntervalSchedule{Duration{5}};
  task.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::exponential, .delay = Duration{7}};
  enqueue(task);
  dequeue(20);
  clock_.set(7'000'000);
  sync_wait(io_, base().mark_failed("a", "boom"));  // will_retry defaults to true
  auto failed = get("a");
  EXPECT_EQ(failed->status, TaskStatus::RETRYING);
  EXPECT_EQ(failed->last_error, "boom");
  EXPECT_EQ(failed->updated_at, from_micros(7'000'000));
  EXPECT_EQ(result("a"), std::nullopt);
  EXPECT_EQ(dequeue(1'000'000), std::nullopt);

  clock_.set(8'000'000);
  sync_wait(io_, store_->reschedule("a", from_micros(500)));
  Task expected = *failed;
  expected.status = TaskStatus::PENDING;
  expected.eta = from_micros(500);
  expected.updated_at = from_micros(8'000'000);
  EXPECT_EQ(get("a"), expected);
  EXPECT_EQ(dequeue(499), std::nullopt);
  const auto again = dequeue(500);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempts, 2);
  EXPECT_EQ(again->schedule, task.schedule);
  EXPECT_EQ(again->retry, task.retry);
}

TEST_F(FileStorageSmoke, MarkFailedWithoutRetryStoresAFailedResult) {
  enqueue(make_task("a", 10));
  dequeue(20);
  clock_.set(9'000'000);
  sync_wait(io_, store_->mark_failed("a", "fatal", false));
  EXPECT_EQ(get("a")->status, TaskStatus::FAILED);
  EXPECT_EQ(get("a")->last_error, "fatal");
  const TaskResult expected{.task_id = "a",
                            .status = TaskStatus::FAILED,
                            .value = {},
                            .error = "fatal",
                            .finished_at = from_micros(9'000'000)};
  EXPECT_EQ(result("a"), expected);
}

TEST_F(FileStorageSmoke, RescheduleFromAnyStatusKeepsCountersAndLeavesOneMarker) {
  enqueue(make_task("a", 10));
  enqueue(make_task("b", 10));
  sync_wait(io_, store_->reschedule("a", from_micros(100)));  // PENDING -> later
  EXPECT_EQ(markers().size(), 2u);
  EXPECT_EQ(dequeue(50)->id, "b");
  EXPECT_EQ(dequeue(99), std::nullopt);
  EXPECT_EQ(dequeue(100)->id, "a");

  for (const auto status : {TaskStatus::SUCCESS, TaskStatus::FAILED, TaskStatus::RUNNING}) {
    if (status == TaskStatus::SUCCESS) sync_wait(io_, store_->mark_done("a", TaskResult{.task_id = "a"}));
    if (status == TaskStatus::FAILED) sync_wait(io_, store_->mark_failed("a", "x", false));
    const Task before = *get("a");
    EXPECT_EQ(before.status, status);
    sync_wait(io_, store_->reschedule("a", from_micros(200)));
    Task expected = before;
    expected.status = TaskStatus::PENDING;
    expected.eta = from_micros(200);
    expected.updated_at = clock_.now();
    EXPECT_EQ(get("a"), expected);
    EXPECT_EQ(dequeue(200)->id, "a");
  }
  // Rescheduling to the same eta twice keeps exactly one marker.
  sync_wait(io_, store_->reschedule("b", from_micros(300)));
  sync_wait(io_, store_->reschedule("b", from_micros(300)));
  EXPECT_EQ(markers().size(), 1u);
}

TEST_F(FileStorageSmoke, TasksInOtherStatesNeverBlockDueTasks) {
  for (const char* id : {"running", "retrying", "done", "failed"}) enqueue(make_task(id, 1));
  enqueue(make_task("due", 50));
  sync_wait(io_, store_->mark_running("running"));
  sync_wait(io_, base().mark_failed("retrying", "e"));
  sync_wait(io_, store_->mark_done("done", TaskResult{.task_id = "done"}));
  sync_wait(io_, store_->mark_failed("failed", "e", false));
  EXPECT_EQ(dequeue(100)->id, "due");
}

TEST_F(FileStorageSmoke, PurgeRemovesStrictlyOlderResultsOnly) {
  for (const char* id : {"a", "b", "c"}) enqueue(make_task(id));
  sync_wait(io_, store_->mark_done("a", TaskResult{.task_id = "a", .finished_at = from_micros(99)}));
  sync_wait(io_, store_->mark_done("b", TaskResult{.task_id = "b", .finished_at = from_micros(100)}));
  sync_wait(io_, store_->mark_done("c", TaskResult{.task_id = "c", .finished_at = from_micros(101)}));
  EXPECT_EQ(sync_wait(io_, store_->purge_results(from_micros(100))), 1u);
  EXPECT_EQ(sync_wait(io_, store_->purge_results(from_micros(100))), 0u);
  EXPECT_EQ(result("a"), std::nullopt);
  EXPECT_TRUE(result("b"));
  EXPECT_TRUE(result("c"));
  EXPECT_EQ(get("a")->status, TaskStatus::SUCCESS);
}

TEST(FileStorageThreads, ConcurrentDequeuesThroughTwoInstancesClaimEachTaskOnce) {
  TempDir dir;
  constexpr int kTasks = 120;
  {
    boost::asio::io_context io;
    auto store = open_store(dir.path());
    for (int i = 0; i < kTasks; ++i)
      sync_wait(io, store->enqueue(make_task("t" + std::to_string(i), i % 7)));
  }
  auto first = open_store(dir.path(), TestClock().clock(), 4);
  auto second = open_store(dir.path(), TestClock().clock(), 4);
  boost::asio::io_context io;
  std::vector<std::string> claimed;
  for (int worker = 0; worker < 8; ++worker) {
    FileStorage* store = worker % 2 == 0 ? first.get() : second.get();
    boost::asio::co_spawn(
        io,
        [store, &claimed]() -> Awaitable<void> {
          while (auto task = co_await store->dequeue(from_micros(1'000)))
            claimed.push_back(task->id);
        },
        boost::asio::detached);
  }
  io.run();
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(std::adjacent_find(claimed.begin(), claimed.end()), claimed.end())
      << "a task was claimed twice";
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kTasks));
}

}  // namespace
}  // namespace taskstore::file_test
