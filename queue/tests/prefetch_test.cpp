// Prefetch (QUE-17): on a store that claims batches, workers claim ahead in one
// dequeue_batch and share a bounded buffer; shutdown hands the claimed-ahead tasks back
// (QUE-15); a store without batch claims, or prefetch 0, is claimed one task at a time.
#include <atomic>
#include <map>
#include <mutex>

#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

// Hides the store's batch claims, as a backend without the capability would.
class WithoutBatchClaims final : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  bool claims_batches() const override { return false; }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    auto unsupported = BaseStorage::dequeue_batch(now, max);
    co_return co_await std::move(unsupported);
  }
};

// Says it claims batches, then refuses them (NotSupportedError), as a decorator that
// forwards claims_batches but not dequeue_batch would.
class RefusesBatches final : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  bool claims_batches() const override { return true; }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    auto unsupported = BaseStorage::dequeue_batch(now, max);
    co_return co_await std::move(unsupported);
  }
};

class PrefetchTest : public QueueTest {
 protected:
  // The store must claim batches for prefetching to be tested here.
  bool store_claims_batches() { return store().claims_batches(); }

  QueueOptions prefetching(std::size_t workers, std::size_t prefetch) const {
    QueueOptions o = options(workers);
    o.prefetch = prefetch;
    return o;
  }

  // "slow" handlers sleep until `busy_until` on the manual clock; each run is counted.
  void handle_slow(Timestamp busy_until) {
    queue().register_handler("slow", [this, busy_until](Task task) -> Awaitable<Bytes> {
      {
        std::lock_guard lock(mutex_);
        ++runs_[task.id];
      }
      co_await sleep_until(clock(), busy_until);
      co_return to_bytes("done " + task.id);
    });
  }

  // Enqueues slow-i, due, straight into the store (the queue does not hear of it).
  void add_slow(int i) {
    Task task = make_task("slow-" + std::to_string(i));
    task.name = "slow";
    given("ENQ-1", "enqueue of " + task.id, store().enqueue(task));
  }

  void enqueue_slow(int count) {
    for (int i = 0; i < count; ++i) enqueue("slow", "", {.id = "slow-" + std::to_string(i)});
  }

  std::size_t count_status(int count, TaskStatus status) {
    std::size_t n = 0;
    for (int i = 0; i < count; ++i) n += must_get("slow-" + std::to_string(i)).status == status;
    return n;
  }

  void expect_each_run_once(int count) {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < count; ++i) {
      const std::string id = "slow-" + std::to_string(i);
      EXPECT_EQ(runs_[id], 1) << id << " was run " << runs_[id] << " times";
    }
  }

  std::mutex mutex_;
  std::map<std::string, int> runs_;
};

TEST_P(PrefetchTest, BusyWorkers_AtMostPrefetchTasksWaitClaimed) {
  TASKSTORE_REQUIREMENTS("QUE-17", "QUE-12");
  if (!store_claims_batches()) GTEST_SKIP() << "not checked: the store does not claim batches";
  make_queue(prefetching(2, 3));
  handle_slow(t0() + 5min);
  for (int i = 0; i < 10; ++i) add_slow(i);
  start();  // both workers claim: one batch fills the buffer, and both handlers sleep
  // Two tasks run, at most three more wait claimed: the rest stay PENDING for anyone.
  const std::size_t running = count_status(10, TaskStatus::RUNNING);
  EXPECT_GE(running, 2u);
  EXPECT_LE(running, 2u + 3u) << "more tasks were claimed ahead than prefetch allows";
  for (const StorageCall& call : counting().calls()) {
    if (call.operation == StorageOperation::dequeue_batch) {
      EXPECT_LE(*call.max, 4u) << "a batch larger than the worker's task plus prefetch";
    }
  }
  EXPECT_GE(counting().count(StorageOperation::dequeue_batch), 1u) << describe(counting().calls());
  // Time for every handler: each task runs once and ends SUCCESS.
  for (int round = 0; round < 10 && count_status(10, TaskStatus::SUCCESS) < 10; ++round) {
    advance(5min);
  }
  EXPECT_EQ(count_status(10, TaskStatus::SUCCESS), 10u);
  expect_each_run_once(10);
}

TEST_P(PrefetchTest, OneBatch_FeedsTheIdleWorkers) {
  TASKSTORE_REQUIREMENTS("QUE-17");
  if (!store_claims_batches()) GTEST_SKIP() << "not checked: the store does not claim batches";
  make_queue(prefetching(4, 8));
  handle_slow(t0() + 5min);
  start();  // every worker idle until the poll interval: nothing is due
  // Three tasks due behind the queue's back, then a local enqueue, which wakes one worker:
  // its batch claims all four, and the tasks it claimed ahead must wake the others.
  for (int i = 0; i < 3; ++i) add_slow(i);
  counting().clear();
  enqueue("slow", "", {.id = "slow-3"});
  settle();
  EXPECT_EQ(count_status(4, TaskStatus::RUNNING), 4u);
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(runs_.size(), 4u) << "tasks claimed ahead waited while workers slept";
  }
  EXPECT_EQ(counting().count(StorageOperation::dequeue_batch), 1u) << describe(counting().calls());
  EXPECT_EQ(counting().count(StorageOperation::dequeue), 0u) << describe(counting().calls());
}

TEST_P(PrefetchTest, Shutdown_HandsBackTasksClaimedAheadAtOnce) {
  TASKSTORE_REQUIREMENTS("QUE-15", "QUE-17");
  if (!store_claims_batches()) GTEST_SKIP() << "not checked: the store does not claim batches";
  make_queue(prefetching(1, 4));
  handle_slow(t0() + 5min);
  for (int i = 0; i < 5; ++i) add_slow(i);
  start();  // one handler runs; the others wait claimed
  ASSERT_EQ(count_status(5, TaskStatus::RUNNING), 5u)
      << "one worker with prefetch 4 should have claimed all five";
  auto stopped = spawn(queue().shutdown(10min));
  settle(2);  // the handler and shutdown, waiting for it
  // The four waiting tasks are PENDING again before the handler is done.
  EXPECT_EQ(count_status(5, TaskStatus::PENDING), 4u);
  clock().advance(5min);
  const ShutdownReport report = wait(stopped);
  EXPECT_EQ(report.released.size(), 4u);
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(count_status(5, TaskStatus::SUCCESS), 1u);
  EXPECT_EQ(count_status(5, TaskStatus::PENDING), 4u);
  EXPECT_EQ(count_status(5, TaskStatus::RUNNING), 0u) << "shutdown left a claim behind";
  // A new queue runs each of them once.
  make_queue(prefetching(2, 4));
  handle_slow(t0() + 5min);
  start();
  for (int round = 0; round < 10 && count_status(5, TaskStatus::SUCCESS) < 5; ++round) {
    advance(5min);
  }
  EXPECT_EQ(count_status(5, TaskStatus::SUCCESS), 5u);
}

TEST_P(PrefetchTest, OnlyTasksClaimedAhead_AreMarkedRunningWhenStarted) {
  TASKSTORE_REQUIREMENTS("QUE-18");
  if (!store_claims_batches()) GTEST_SKIP() << "not checked: the store does not claim batches";
  make_queue(prefetching(1, 2));
  handle_slow(t0() + 5min);
  for (int i = 0; i < 3; ++i) add_slow(i);
  start();  // the worker runs slow-0, which it claimed; slow-1 and slow-2 wait claimed
  EXPECT_EQ(counting().count(StorageOperation::mark_running), 0u)
      << "a task claimed just now was marked running again: " << describe(counting().calls());
  EXPECT_EQ(must_get("slow-0").updated_at, t0()) << "the claim stamps the start";
  advance(5min);  // slow-0 done; the worker starts slow-1 from the buffer at t0 + 5 min
  EXPECT_EQ(counting().count(StorageOperation::mark_running, "slow-1"), 1u)
      << describe(counting().calls());
  // The store stamps mark_running from its own clock: later than the claim's t0, at least.
  EXPECT_GT(must_get("slow-1").updated_at, t0()) << "a task claimed ahead must show when it started";
}

TEST_P(PrefetchTest, PrefetchOff_ClaimsOneTaskAtATime) {
  TASKSTORE_REQUIREMENTS("QUE-17");
  make_queue(prefetching(2, 0));
  handle_slow(t0() + 5min);
  start();
  enqueue_slow(4);
  settle();
  EXPECT_EQ(count_status(4, TaskStatus::RUNNING), 2u) << "tasks were claimed ahead";
  EXPECT_EQ(counting().count(StorageOperation::dequeue_batch), 0u) << describe(counting().calls());
}

TEST_P(PrefetchTest, StoreWithoutBatchClaims_ClaimsOneTaskAtATime) {
  TASKSTORE_REQUIREMENTS("QUE-17");
  make_queue(prefetching(2, 8), [](std::shared_ptr<BaseStorage> store) {
    return std::make_shared<WithoutBatchClaims>(std::move(store));
  });
  handle_slow(t0() + 5min);
  start();
  enqueue_slow(4);
  settle();
  EXPECT_EQ(count_status(4, TaskStatus::RUNNING), 2u) << "tasks were claimed ahead";
  EXPECT_EQ(counting().count(StorageOperation::dequeue_batch), 0u) << describe(counting().calls());
  EXPECT_GE(counting().count(StorageOperation::dequeue), 2u) << describe(counting().calls());
}

TEST_P(PrefetchTest, BatchesRefused_FallsBackToOneTaskAtATime) {
  TASKSTORE_REQUIREMENTS("QUE-17");
  make_queue(prefetching(2, 8), [](std::shared_ptr<BaseStorage> store) {
    return std::make_shared<RefusesBatches>(std::move(store));
  });
  handle_slow(t0() + 5min);
  start();
  enqueue_slow(2);
  settle();
  EXPECT_EQ(count_status(2, TaskStatus::RUNNING), 2u) << "the refused batch stopped the workers";
  EXPECT_GE(counting().count(StorageOperation::dequeue), 2u) << describe(counting().calls());
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(PrefetchTest);

}  // namespace
}  // namespace taskstore::queue::testing
