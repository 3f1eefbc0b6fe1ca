// Handlers: a missing one fails the task for good (QUE-10); one that throws fails its
// task and never its worker (QUE-11).
#include <atomic>
#include <mutex>
#include <string_view>

#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class HandlersTest : public QueueTest {};

TEST_P(HandlersTest, UnregisteredName_FailsForGoodNamingTheHandler) {
  TASKSTORE_REQUIREMENTS("QUE-10");
  make_queue();
  start();
  const std::string id = enqueue("report.build", "", {.max_retries = 5, .interval = 1min});
  settle();
  const Task task = must_get(id);
  EXPECT_EQ(task.status, TaskStatus::FAILED) << describe(task);
  EXPECT_EQ(task.attempts, 1) << "a task without a handler was retried";
  ASSERT_TRUE(task.last_error.has_value());
  EXPECT_NE(task.last_error->find("no handler"), std::string::npos) << *task.last_error;
  EXPECT_NE(task.last_error->find("'report.build'"), std::string::npos) << *task.last_error;
  const auto result = run(store().get_result(id));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, TaskStatus::FAILED);
  EXPECT_EQ(result->error, task.last_error);
  EXPECT_EQ(calls_for(id),
            (std::vector{call_of(StorageOperation::enqueue, id),
                         call_of(StorageOperation::mark_failed, id, std::nullopt, false)}))
      << describe(calls_for(id));
  advance(1h);
  EXPECT_EQ(must_get(id).status, TaskStatus::FAILED) << "the schedule went on without a handler";
}

TEST_P(HandlersTest, ThrowingHandlers_FailTheirTasksAndTheWorkerGoesOn) {
  TASKSTORE_REQUIREMENTS("QUE-11");
  make_queue(options(1));  // one worker: it must survive every failure below
  queue().register_handler("throws.std", [](Task) -> Awaitable<Bytes> {
    throw std::runtime_error("kaput");
    co_return Bytes{};
  });
  queue().register_handler("throws.int", [](Task) -> Awaitable<Bytes> {
    throw 42;
    co_return Bytes{};
  });
  // Not a coroutine: throws while being called, before there is anything to await.
  queue().register_handler(
      "throws.early", [](Task) -> Awaitable<Bytes> { throw std::logic_error("no coroutine"); });
  queue().register_handler("after.suspending", [this](Task) -> Awaitable<Bytes> {
    co_await sleep_until(clock(), t0() + 1s);
    throw std::runtime_error("woke up broken");
  });
  std::atomic<int> ok_runs{0};
  queue().register_handler("ok", [&](Task) -> Awaitable<Bytes> {
    ++ok_runs;
    co_return to_bytes("fine");
  });
  start();

  const std::string std_id = enqueue("throws.std", "");
  const std::string int_id = enqueue("throws.int", "");
  const std::string early_id = enqueue("throws.early", "");
  const std::string late_id = enqueue("after.suspending", "");
  settle(1);  // the worker's handler sleeps on the clock
  advance(1s);
  const std::string ok_id = enqueue("ok", "");
  settle();

  const std::pair<std::string, std::string> expected[] = {
      {std_id, "kaput"},
      {int_id, "the handler threw an exception that is not a std::exception"},
      {early_id, "no coroutine"},
      {late_id, "woke up broken"},
  };
  for (const auto& [id, error] : expected) {
    SCOPED_TRACE(id);
    const Task task = must_get(id);
    EXPECT_EQ(task.status, TaskStatus::FAILED) << describe(task);
    EXPECT_EQ(task.last_error, error);
    const auto result = run(store().get_result(id));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->error, error);
  }
  EXPECT_EQ(ok_runs, 1) << "the worker did not go on after the failing handlers";
  EXPECT_EQ(must_get(ok_id).status, TaskStatus::SUCCESS);
}

TEST_P(HandlersTest, ThrowingHandler_IsRetriedLikeAnyFailure) {
  TASKSTORE_REQUIREMENTS("QUE-11", "QUE-6");
  make_queue(options(1));
  queue().register_handler("throws", [](Task) -> Awaitable<Bytes> {
    throw std::runtime_error("again");
    co_return Bytes{};
  });
  start();
  const std::string id = enqueue("throws", "", {.max_retries = 1, .retry = {.delay = 1s}});
  settle();
  EXPECT_EQ(must_get(id).status, TaskStatus::PENDING);
  advance(1s);
  EXPECT_EQ(must_get(id).status, TaskStatus::FAILED);
  EXPECT_EQ(must_get(id).attempts, 2);
}

TEST_P(HandlersTest, StorageErrorInAWorker_IsLoggedAndTheWorkerBacksOffOnePollInterval) {
  TASKSTORE_REQUIREMENTS("QUE-11", "QUE-13");
  std::mutex mutex;
  std::vector<std::string> logged;
  QueueOptions o = options(1);
  o.poll_interval = 10s;
  o.log = [&](std::string_view message) {
    std::lock_guard lock(mutex);
    logged.emplace_back(message);
  };
  make_queue(o);
  std::atomic<bool> fail_next_dequeue{false};
  counting().set_observer([&](const StorageCall& c) -> Awaitable<void> {
    if (is_claim(c.operation) && fail_next_dequeue.exchange(false)) {
      throw StorageError("dequeue: the disk is on fire");
    }
    co_return;
  });
  queue().register_handler("job", [](Task) -> Awaitable<Bytes> { co_return to_bytes("ok"); });
  start();
  fail_next_dequeue = true;
  // Not due yet: the enqueue wakes the worker to replan, and its dequeue fails.
  const std::string id = enqueue("job", "", {.delay = 5s});
  settle();
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_NE(logged[0].find("dequeue failed"), std::string::npos) << logged[0];
    EXPECT_NE(logged[0].find("the disk is on fire"), std::string::npos) << logged[0];
  }
  EXPECT_EQ(clock().sleeper_deadlines(), std::vector<Timestamp>{t0() + 10s})
      << "after a storage error the worker must wait a poll interval, not the next eta";
  advance(10s);
  EXPECT_EQ(must_get(id).status, TaskStatus::SUCCESS) << "the worker did not survive the error";
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(HandlersTest);

}  // namespace
}  // namespace taskstore::queue::testing
