// Exclusivity (QUE-12): many workers over many due tasks run each task's handler exactly
// once. The executor has several threads, so workers really run at the same time even on
// the memory store, whose operations complete inline.
#include <atomic>
#include <memory>

#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class ExclusivityTest : public QueueTest {
 protected:
  std::size_t executor_threads() const override { return 4; }

  // A handler that counts its invocations per task (the payload is the task's number).
  TaskHandler counting_handler() {
    return [this](Task task) -> Awaitable<Bytes> {
      const std::size_t n = std::stoul(text(task.payload));
      invocations_[n].fetch_add(1);
      co_return task.payload;
    };
  }

  // Enqueues tasks 0 … count − 1 through `into`, all due now.
  void enqueue_numbered(AsyncTaskQueue& into, std::size_t count) {
    invocations_ = std::make_unique<std::atomic<int>[]>(count);
    auto producer = [&into, count]() -> Awaitable<void> {
      const std::string name = "count";
      for (std::size_t i = 0; i < count; ++i) {
        const Bytes payload = to_bytes(std::to_string(i));
        EnqueueOptions o;
        o.id = "task-" + std::to_string(i);
        co_await into.enqueue(name, payload, o);
      }
    };
    call(producer());
  }

  void expect_each_handled_once(std::size_t count) {
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const int n = invocations_[i].load();
      if (n != 1 && ++wrong <= 10)
        ADD_FAILURE() << "task-" << i << " was handled " << n << " times";
    }
    EXPECT_EQ(wrong, 0u) << "tasks not handled exactly once";
    for (std::size_t i = 0; i < count; i += count / 20) {  // a sample of the stored state
      const Task task = must_get("task-" + std::to_string(i));
      EXPECT_EQ(task.status, TaskStatus::SUCCESS) << describe(task);
      EXPECT_EQ(task.attempts, 1) << describe(task);
    }
  }

  std::unique_ptr<std::atomic<int>[]> invocations_;
};

TEST_P(ExclusivityTest, EightWorkers_TwoThousandTasks_EachHandledExactlyOnce) {
  TASKSTORE_REQUIREMENTS("QUE-12", "QUE-13");
  constexpr std::size_t kTasks = 2'000;
  make_queue(options(8));
  queue().register_handler("count", counting_handler());
  start();
  enqueue_numbered(queue(), kTasks);
  settle();  // every worker asleep with the clock stopped: nothing is due any more
  expect_each_handled_once(kTasks);
  EXPECT_EQ(counting().count(StorageOperation::mark_done), kTasks);
  // Only tasks taken from the prefetch buffer are marked running (QUE-18): with prefetch
  // on, some are; never more than the tasks.
  EXPECT_LE(counting().count(StorageOperation::mark_running), kTasks);
  if (store().claims_batches()) {
    EXPECT_GT(counting().count(StorageOperation::dequeue_batch), 0u) << "the queue never prefetched";
  }
}

TEST_P(ExclusivityTest, TwoQueuesOnTwoInstances_EachTaskHandledExactlyOnce) {
  TASKSTORE_REQUIREMENTS("QUE-12");
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  constexpr std::size_t kTasks = 500;
  make_queue(options(4));
  queue().register_handler("count", counting_handler());
  // A second queue on its own instance of the same store, as another process would run.
  AsyncTaskQueue other(open_another_instance(), executor(), options(4));
  other.register_handler("count", counting_handler());
  queue().start();
  other.start();
  settle(8);
  // Half the tasks through each queue, so both wake their own workers.
  invocations_ = std::make_unique<std::atomic<int>[]>(kTasks);
  auto producer = [&]() -> Awaitable<void> {
    const std::string name = "count";
    for (std::size_t i = 0; i < kTasks; ++i) {
      const Bytes payload = to_bytes(std::to_string(i));
      EnqueueOptions o;
      o.id = "task-" + std::to_string(i);
      AsyncTaskQueue& via = i % 2 == 0 ? queue() : other;
      co_await via.enqueue(name, payload, o);
    }
  };
  call(producer());
  // Tasks enqueued through one queue are not announced to the other, which finds them
  // only by polling: move time by a poll interval so both look once more.
  clock().advance(1h);
  settle(8);
  expect_each_handled_once(kTasks);
  call(other.shutdown(Duration::zero()));
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(ExclusivityTest);

}  // namespace
}  // namespace taskstore::queue::testing
