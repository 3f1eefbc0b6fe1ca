// Retries driven by the workers (QUE-6 … QUE-8): a handler that fails k times and then
// succeeds, one that always fails, and backoff etas between the tries.
#include <atomic>
#include <map>
#include <mutex>

#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class RetryFlowTest : public QueueTest {
 protected:
  // A handler that fails its first `failures` runs of each task and then succeeds.
  void handle_flaky(int failures) {
    queue().register_handler("flaky", [this, failures](Task task) -> Awaitable<Bytes> {
      const int run = ++runs_;
      EXPECT_EQ(task.attempts, run) << "the handler did not get the task as claimed";
      if (run <= failures) throw std::runtime_error("attempt " + std::to_string(run) + " failed");
      co_return to_bytes("done on attempt " + std::to_string(run));
    });
  }

  // Records each task's status right after every mark_failed, before the reschedule.
  void watch_statuses_after_mark_failed() {
    counting().set_observer([this](const StorageCall& c) -> Awaitable<void> {
      if (c.operation != StorageOperation::mark_failed) co_return;
      const auto task = co_await counting().inner().get_task(c.task_id);
      std::lock_guard lock(mutex_);
      statuses_after_mark_failed_.push_back(task ? task->status : TaskStatus::PENDING);
    });
  }

  std::vector<TaskStatus> statuses_after_mark_failed() {
    std::lock_guard lock(mutex_);
    return statuses_after_mark_failed_;
  }

  std::atomic<int> runs_{0};
  std::mutex mutex_;
  std::vector<TaskStatus> statuses_after_mark_failed_;
};

TEST_P(RetryFlowTest, FailsTwiceThenSucceeds_EndsSuccessAfterThreeRunsAtBackoffEtas) {
  TASKSTORE_REQUIREMENTS("QUE-6", "QUE-8", "QUE-5");
  make_queue();
  watch_statuses_after_mark_failed();
  handle_flaky(2);
  start();
  // Exponential: 10 s after the first failure, then 20 s capped to 15 s.
  const std::string id = enqueue(
      "flaky", "payload",
      {.max_retries = 3,
       .retry = {.backoff = RetryPolicy::Backoff::exponential, .delay = 10s, .max_delay = 15s}});
  settle();
  EXPECT_EQ(runs_, 1);
  Task task = must_get(id);
  EXPECT_EQ(task.status, TaskStatus::PENDING) << describe(task);
  EXPECT_EQ(task.attempts, 1);
  EXPECT_EQ(task.eta, t0() + 10s);
  EXPECT_EQ(task.last_error, "attempt 1 failed");

  advance(10s - 1us);
  EXPECT_EQ(runs_, 1) << "the retry ran before its eta";
  advance(1us);
  EXPECT_EQ(runs_, 2) << "the retry did not run at its eta";
  task = must_get(id);
  EXPECT_EQ(task.attempts, 2);
  EXPECT_EQ(task.eta, t0() + 10s + 15s) << "the exponential delay was not capped at 15 s";

  advance(15s);
  EXPECT_EQ(runs_, 3);
  task = must_get(id);
  EXPECT_EQ(task.status, TaskStatus::SUCCESS) << describe(task);
  EXPECT_EQ(task.attempts, 3) << "attempts is not k + 1";
  const auto result = run(store().get_result(id));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(text(result->value), "done on attempt 3");
  EXPECT_EQ(result->finished_at, t0() + 25s);

  EXPECT_EQ(
      calls_for(id),
      (std::vector{
          call_of(StorageOperation::enqueue, id),
          call_of(StorageOperation::mark_failed, id, std::nullopt, true),
          call_of(StorageOperation::reschedule, id, t0() + 10s),
          call_of(StorageOperation::mark_failed, id, std::nullopt, true),
          call_of(StorageOperation::reschedule, id, t0() + 25s),
          call_of(StorageOperation::mark_done, id)}))
      << describe(calls_for(id));
  EXPECT_EQ(statuses_after_mark_failed(), (std::vector{TaskStatus::RETRYING, TaskStatus::RETRYING}))
      << "the task was not RETRYING between a failure and its retry";
}

TEST_P(RetryFlowTest, AlwaysFails_EndsFailedAfterMaxRetriesPlusOneRuns) {
  TASKSTORE_REQUIREMENTS("QUE-7", "QUE-6", "QUE-8");
  make_queue();
  handle_flaky(1'000);
  start();
  const std::string id =
      enqueue("flaky", "", {.max_retries = 2, .retry = {.delay = 5s}});  // fixed 5 s
  settle();
  advance(5s);
  advance(5s);
  EXPECT_EQ(runs_, 3);
  const Task task = must_get(id);
  EXPECT_EQ(task.status, TaskStatus::FAILED) << describe(task);
  EXPECT_EQ(task.attempts, 3);
  const auto result = run(store().get_result(id));
  ASSERT_TRUE(result.has_value()) << "no failure result";
  EXPECT_EQ(result->status, TaskStatus::FAILED);
  EXPECT_EQ(result->error, "attempt 3 failed");
  EXPECT_TRUE(result->value.empty());

  EXPECT_EQ(calls_for(id),
            (std::vector{call_of(StorageOperation::enqueue, id),
                         call_of(StorageOperation::mark_failed, id, std::nullopt, true),
                         call_of(StorageOperation::reschedule, id, t0() + 5s),
                         call_of(StorageOperation::mark_failed, id, std::nullopt, true),
                         call_of(StorageOperation::reschedule, id, t0() + 10s),
                         call_of(StorageOperation::mark_failed, id, std::nullopt, false)}))
      << describe(calls_for(id));

  advance(24h);
  EXPECT_EQ(runs_, 3) << "a FAILED task ran again";
}

TEST_P(RetryFlowTest, Jitter_DrawsTheDelayFromTheQueuesRandomSource) {
  TASKSTORE_REQUIREMENTS("QUE-8");
  QueueOptions o = options();
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
  o.random = [&ranges](std::int64_t lo, std::int64_t hi) {
    ranges.emplace_back(lo, hi);
    return lo + (hi - lo) / 4;
  };
  make_queue(o);
  handle_flaky(1);
  start();
  const std::string id = enqueue(
      "flaky", "",
      {.max_retries = 1,
       .retry = {.backoff = RetryPolicy::Backoff::exponential, .delay = 8s, .jitter = true}});
  settle();
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], (std::pair<std::int64_t, std::int64_t>{4'000'000, 8'000'000}))
      << "equal jitter draws from [d/2, d]";
  EXPECT_EQ(must_get(id).eta, t0() + 5s);
  advance(5s);
  EXPECT_EQ(must_get(id).status, TaskStatus::SUCCESS);
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(RetryFlowTest);

}  // namespace
}  // namespace taskstore::queue::testing
