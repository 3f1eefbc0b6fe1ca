// complete_task as seed A describes it (QUE-1 … QUE-3), and what it records for each
// outcome (QUE-5 … QUE-7, QUE-9). The queue is not started: the test calls complete_task
// itself, as a worker would, and CountingStorage shows every storage call it made.
#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class CompleteTaskTest : public QueueTest {
 protected:
  void SetUpBackend() override {
    QueueTest::SetUpBackend();
    make_queue();
  }

  // A task claimed `claims` times, as a worker holds it when its run ends.
  Task claimed(const std::string& id, std::int32_t max_retries, int claims = 1,
               std::optional<IntervalSchedule> schedule = std::nullopt,
               RetryPolicy retry = RetryPolicy{.delay = 30s}) {
    Task task = make_task(id);
    task.max_retries = max_retries;
    task.schedule = schedule;
    task.retry = retry;
    run(store().enqueue(task));
    std::optional<Task> claim;
    for (int i = 0; i < claims; ++i) {
      if (i > 0) run(store().reschedule(id, t0()));
      claim = run(store().dequeue(t0()));
      if (!claim || claim->id != id) throw std::runtime_error("could not claim " + id);
    }
    counting().clear();
    return *claim;
  }

  void complete(const std::string& id, TaskOutcome outcome, std::optional<Task> task) {
    call(queue().complete_task(id, std::move(outcome), std::move(task)));
  }
};

TEST_P(CompleteTaskTest, GivenTask_UsesItWithoutReadingStorage) {
  TASKSTORE_REQUIREMENTS("QUE-2", "QUE-5");
  // Seed A, "Task Completion with Provided Task Object".
  claimed("task-123", 3);
  const auto task = run(store().get_task("task-123"));
  ASSERT_TRUE(task.has_value());
  complete("task-123", TaskOutcome::success(to_bytes("success")), task);

  EXPECT_EQ(counting().count(StorageOperation::get_task), 0u) << describe(counting().calls());
  EXPECT_EQ(counting().calls(), (std::vector{call_of(StorageOperation::mark_done, "task-123")}))
      << describe(counting().calls());
  EXPECT_EQ(must_get("task-123").status, TaskStatus::SUCCESS);
  const auto result = run(store().get_result("task-123"));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, TaskStatus::SUCCESS);
  EXPECT_EQ(text(result->value), "success");
  EXPECT_EQ(result->finished_at, t0()) << "finished_at is not the queue clock's now";
}

TEST_P(CompleteTaskTest, NoTask_FetchesItOnceThenRetries) {
  TASKSTORE_REQUIREMENTS("QUE-1", "QUE-6");
  // Seed A, "Task Completion with Retry Logic": complete_task(id, result, task=None).
  claimed("task-123", 3);
  complete("task-123", TaskOutcome::failure("connection reset"), std::nullopt);

  EXPECT_EQ(counting().count(StorageOperation::get_task), 1u) << describe(counting().calls());
  EXPECT_EQ(counting().calls(),
            (std::vector{call_of(StorageOperation::get_task, "task-123"),
                         call_of(StorageOperation::mark_failed, "task-123", std::nullopt, true),
                         call_of(StorageOperation::reschedule, "task-123", t0() + 30s)}))
      << describe(counting().calls());
  const Task task = must_get("task-123");
  EXPECT_EQ(task.status, TaskStatus::PENDING) << describe(task);
  EXPECT_EQ(task.eta, t0() + 30s);
  EXPECT_EQ(task.attempts, 1);
  EXPECT_EQ(task.last_error, "connection reset");
  EXPECT_FALSE(run(store().get_result("task-123")).has_value())
      << "a failure that will be retried stored a result";
}

TEST_P(CompleteTaskTest, NoTask_FetchesItOnceThenReschedulesAnIntervalTask) {
  TASKSTORE_REQUIREMENTS("QUE-1", "QUE-9");
  // Seed A: get_task returns the interval task with its schedule, so the queue can
  // reschedule it (the fallback that returned nothing broke exactly this).
  claimed("interval-task-456", 0, 1, IntervalSchedule{5min});
  complete("interval-task-456", TaskOutcome::success(to_bytes("tick")), std::nullopt);

  EXPECT_EQ(counting().calls(),
            (std::vector{call_of(StorageOperation::get_task, "interval-task-456"),
                         call_of(StorageOperation::mark_done, "interval-task-456"),
                         call_of(StorageOperation::reschedule, "interval-task-456", t0() + 5min)}))
      << describe(counting().calls());
  const Task task = must_get("interval-task-456");
  EXPECT_EQ(task.status, TaskStatus::PENDING);
  EXPECT_EQ(task.eta, t0() + 5min);
  EXPECT_EQ(task.schedule, IntervalSchedule{5min});
}

TEST_P(CompleteTaskTest, UnknownId_RaisesNotFoundAfterOneRead) {
  TASKSTORE_REQUIREMENTS("QUE-3", "QUE-1");
  // Seed A, "Fallback Removal": no lookup that quietly yields "no task".
  const std::string message = TASKSTORE_ERROR_MESSAGE(
      NotFoundError, complete("ghost-task", TaskOutcome::success({}), std::nullopt));
  EXPECT_NE(message.find("ghost-task"), std::string::npos) << message;
  EXPECT_NE(message.find("complete_task"), std::string::npos) << message;
  EXPECT_EQ(counting().calls(), (std::vector{call_of(StorageOperation::get_task, "ghost-task")}))
      << describe(counting().calls());
  EXPECT_FALSE(run(store().get_task("ghost-task")).has_value()) << "complete_task made a task";
}

TEST_P(CompleteTaskTest, FailureWithinBudget_MarksRetryingThenReschedules) {
  TASKSTORE_REQUIREMENTS("QUE-6", "QUE-2");
  // attempts == max_retries is still within the budget: the last retry.
  const Task task = claimed("failed-task-789", 2, 2);
  ASSERT_EQ(task.attempts, 2);
  complete("failed-task-789", TaskOutcome::failure("timeout"), task);
  EXPECT_EQ(
      counting().calls(),
      (std::vector{call_of(StorageOperation::mark_failed, "failed-task-789", std::nullopt, true),
                   call_of(StorageOperation::reschedule, "failed-task-789", t0() + 30s)}))
      << describe(counting().calls());
  EXPECT_EQ(must_get("failed-task-789").status, TaskStatus::PENDING);
}

TEST_P(CompleteTaskTest, FailureOverBudget_EndsFailedWithAFailureResult) {
  TASKSTORE_REQUIREMENTS("QUE-7", "QUE-2");
  const Task task = claimed("failed-task-789", 2, 3);
  ASSERT_EQ(task.attempts, 3);
  complete("failed-task-789", TaskOutcome::failure("still broken"), task);
  EXPECT_EQ(
      counting().calls(),
      (std::vector{call_of(StorageOperation::mark_failed, "failed-task-789", std::nullopt, false)}))
      << describe(counting().calls());
  const Task stored = must_get("failed-task-789");
  EXPECT_EQ(stored.status, TaskStatus::FAILED) << describe(stored);
  EXPECT_EQ(stored.last_error, "still broken");
  const auto result = run(store().get_result("failed-task-789"));
  ASSERT_TRUE(result.has_value()) << "no failure result";
  EXPECT_EQ(result->status, TaskStatus::FAILED);
  EXPECT_EQ(result->error, "still broken");
}

TEST_P(CompleteTaskTest, NoRetries_FirstFailureIsFinal) {
  TASKSTORE_REQUIREMENTS("QUE-7");
  const Task task = claimed("once", 0);
  complete("once", TaskOutcome::failure("nope"), task);
  EXPECT_EQ(must_get("once").status, TaskStatus::FAILED);
  EXPECT_EQ(counting().count(StorageOperation::reschedule), 0u) << describe(counting().calls());
}

TEST_P(CompleteTaskTest, IntervalTask_FinalFailureKeepsTheSchedule) {
  TASKSTORE_REQUIREMENTS("QUE-9", "QUE-7");
  const Task task = claimed("cron", 0, 1, IntervalSchedule{1h});
  complete("cron", TaskOutcome::failure("disk full"), task);
  EXPECT_EQ(counting().calls(),
            (std::vector{call_of(StorageOperation::mark_failed, "cron", std::nullopt, false),
                         call_of(StorageOperation::reschedule, "cron", t0() + 1h)}))
      << describe(counting().calls());
  const Task stored = must_get("cron");
  EXPECT_EQ(stored.status, TaskStatus::PENDING);
  EXPECT_EQ(stored.eta, t0() + 1h);
  const auto result = run(store().get_result("cron"));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, TaskStatus::FAILED) << "the failed run left no result";
}

TEST_P(CompleteTaskTest, IntervalTask_FailureWithinBudgetRetriesInsteadOfWaiting) {
  TASKSTORE_REQUIREMENTS("QUE-9", "QUE-6");
  const Task task = claimed("cron", 1, 1, IntervalSchedule{1h}, RetryPolicy{.delay = 10s});
  complete("cron", TaskOutcome::failure("flaky"), task);
  EXPECT_EQ(counting().calls(),
            (std::vector{call_of(StorageOperation::mark_failed, "cron", std::nullopt, true),
                         call_of(StorageOperation::reschedule, "cron", t0() + 10s)}))
      << describe(counting().calls());
}

TEST_P(CompleteTaskTest, CompletionTime_IsTheQueueClocksNow) {
  TASKSTORE_REQUIREMENTS("QUE-5", "QUE-9");
  const Task task = claimed("later", 0, 1, IntervalSchedule{1min});
  clock().advance(42s);
  complete("later", TaskOutcome::success(to_bytes("x")), task);
  EXPECT_EQ(run(store().get_result("later"))->finished_at, t0() + 42s);
  EXPECT_EQ(must_get("later").eta, t0() + 42s + 1min);
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(CompleteTaskTest);

}  // namespace
}  // namespace taskstore::queue::testing
