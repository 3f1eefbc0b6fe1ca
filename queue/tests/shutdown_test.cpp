// Graceful shutdown (QUE-15): in-flight handlers may finish within the grace; those still
// running at the deadline are abandoned and their claims released; nothing is lost or
// left RUNNING, and a restarted queue finishes everything.
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class ShutdownTest : public QueueTest {
 protected:
  // "slow" handlers stay busy until `busy_until` on the manual clock.
  void handle_slow(Timestamp busy_until) {
    queue().register_handler("slow", [this, busy_until](Task task) -> Awaitable<Bytes> {
      ++slow_started_;
      co_await sleep_until(clock(), busy_until);
      ++slow_finished_;
      co_return to_bytes("slept " + task.id);
    });
  }
  void handle_quick() {
    queue().register_handler(
        "quick", [](Task task) -> Awaitable<Bytes> { co_return to_bytes("quick " + task.id); });
  }

  // Every task in `ids` is SUCCESS, FAILED or PENDING: none was left RUNNING.
  void expect_none_running(std::initializer_list<std::string> ids) {
    for (const auto& id : ids) {
      const Task task = must_get(id);
      EXPECT_NE(task.status, TaskStatus::RUNNING) << "left claimed: " << describe(task);
      EXPECT_NE(task.status, TaskStatus::RETRYING) << "left unscheduled: " << describe(task);
    }
  }

  std::atomic<int> slow_started_{0};
  std::atomic<int> slow_finished_{0};
};

TEST_P(ShutdownTest, InFlightHandlersFinishWithinTheGrace) {
  TASKSTORE_REQUIREMENTS("QUE-15");
  make_queue(options(2));
  handle_slow(t0() + 5min);
  handle_quick();
  start();
  enqueue("slow", "", {.id = "slow-1"});
  enqueue("slow", "", {.id = "slow-2"});
  settle(2);  // both handlers asleep, both workers busy
  auto stopped = spawn(queue().shutdown(10min));
  settle(3);  // and shutdown, waiting for them
  EXPECT_TRUE(queue().stopping());
  enqueue("quick", "", {.id = "late"});  // after the stop: must not be dequeued
  clock().advance(5min);
  const ShutdownReport report = wait(stopped);
  EXPECT_TRUE(report.released.empty());
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(slow_finished_, 2);
  EXPECT_EQ(must_get("slow-1").status, TaskStatus::SUCCESS);
  EXPECT_EQ(must_get("slow-2").status, TaskStatus::SUCCESS);
  EXPECT_EQ(run(store().get_result("slow-2"))->finished_at, t0() + 5min);
  const Task late = must_get("late");
  EXPECT_EQ(late.status, TaskStatus::PENDING) << "a task was dequeued after the stop";
  EXPECT_EQ(late.attempts, 0);
}

TEST_P(ShutdownTest, HandlersPastTheDeadline_AreAbandonedAndTheirClaimsReleased) {
  TASKSTORE_REQUIREMENTS("QUE-15");
  // No prefetch: "waiting" must stay unclaimed while both workers are busy (a task claimed
  // ahead is handed back at once instead: PrefetchTest).
  QueueOptions o = options(2);
  o.prefetch = 0;
  make_queue(o);
  handle_slow(t0() + 1h);
  handle_quick();
  start();
  enqueue("slow", "", {.id = "stuck-1"});
  enqueue("slow", "", {.id = "stuck-2"});
  enqueue("quick", "", {.id = "waiting"});  // both workers are busy: stays PENDING
  settle(2);
  auto stopped = spawn(queue().shutdown(1min));
  settle(3);
  clock().advance(1min);
  const ShutdownReport report = wait(stopped);

  auto released = report.released;
  std::sort(released.begin(), released.end());
  EXPECT_EQ(released, (std::vector<std::string>{"stuck-1", "stuck-2"}));
  EXPECT_TRUE(report.errors.empty());
  expect_none_running({"stuck-1", "stuck-2", "waiting"});
  for (const char* id : {"stuck-1", "stuck-2"}) {
    SCOPED_TRACE(id);
    const Task task = must_get(id);
    EXPECT_EQ(task.status, TaskStatus::PENDING) << describe(task);
    EXPECT_EQ(task.eta, t0() + 1min) << "the claim was not released to the stop's now";
    EXPECT_EQ(task.attempts, 1) << "a released claim keeps the attempt it used";
    EXPECT_EQ(calls_for(id).back(), call_of(StorageOperation::reschedule, id, t0() + 1min));
  }
  EXPECT_EQ(must_get("waiting").attempts, 0);

  // The abandoned handlers finish late; their outcomes must be dropped, not recorded.
  clock().advance(1h);
  auto barrier = []() -> Awaitable<void> { co_return; };
  call(barrier());  // the executor has one thread: the handlers ran before this
  EXPECT_EQ(slow_finished_, 2);
  EXPECT_EQ(counting().count(StorageOperation::mark_done), 0u) << describe(counting().calls());
  expect_none_running({"stuck-1", "stuck-2"});
  EXPECT_EQ(must_get("stuck-1").status, TaskStatus::PENDING);

  // A restarted queue (a fresh store instance) picks every task up.
  make_queue(options(2));
  handle_quick();
  queue().register_handler("slow", [](Task) -> Awaitable<Bytes> { co_return to_bytes("done"); });
  start();
  for (const char* id : {"stuck-1", "stuck-2", "waiting"}) {
    SCOPED_TRACE(id);
    const Task task = must_get(id);
    EXPECT_EQ(task.status, TaskStatus::SUCCESS) << describe(task);
  }
  EXPECT_EQ(must_get("stuck-1").attempts, 2);
  EXPECT_EQ(must_get("waiting").attempts, 1);
}

TEST_P(ShutdownTest, AClaimRacingWithTheStop_IsReleasedWithoutRunning) {
  TASKSTORE_REQUIREMENTS("QUE-15");
  make_queue(options(1));
  handle_quick();
  std::atomic<bool> armed{false};
  std::future<Settled<ShutdownReport>> stopped;
  std::promise<void> stop_begun;
  // Right after the dequeue that claims "raced", before its worker resumes, the stop
  // begins: the observer starts shutdown and lets it run first.
  counting().set_observer([&](const StorageCall& c) -> Awaitable<void> {
    if (!is_claim(c.operation) || !armed.exchange(false)) co_return;
    stopped = spawn(queue().shutdown(1min));
    stop_begun.set_value();
    co_await boost::asio::post(executor(), boost::asio::use_awaitable);
  });
  start();
  armed = true;
  enqueue("quick", "", {.id = "raced"});
  auto begun = stop_begun.get_future();
  ASSERT_EQ(begun.wait_for(kPatience), std::future_status::ready) << "the claim never came";
  const ShutdownReport report = wait(stopped);
  EXPECT_EQ(report.released, (std::vector<std::string>{"raced"}));
  const Task task = must_get("raced");
  EXPECT_EQ(task.status, TaskStatus::PENDING) << describe(task);
  EXPECT_EQ(task.attempts, 1);
  // Run, it would have been completed (a claim made just now is not marked running: QUE-18).
  EXPECT_EQ(counting().count(StorageOperation::mark_done), 0u) << "the raced claim was run";
  EXPECT_FALSE(run(store().get_result("raced")).has_value()) << "the raced claim was run";
}

TEST_P(ShutdownTest, IdleQueue_StopsAtOnceAndCannotRestart) {
  TASKSTORE_REQUIREMENTS("QUE-15");
  make_queue(options(3));
  start();
  const ShutdownReport first = shutdown(1h);  // nothing in flight: no need to wait
  EXPECT_TRUE(first.released.empty());
  EXPECT_EQ(clock().sleepers(), 0u) << "a loop is still asleep after shutdown";
  EXPECT_TRUE(shutdown(1h).released.empty());
  EXPECT_THROW(queue().start(), std::logic_error);
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(ShutdownTest);

}  // namespace
}  // namespace taskstore::queue::testing
