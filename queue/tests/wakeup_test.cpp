// When idle workers look for work (QUE-13): at once after a local enqueue, exactly at the
// next known eta, at least every poll interval, and a claim wakes another idle worker.
#include <atomic>

#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class WakeupTest : public QueueTest {
 protected:
  // The `now` of every claim (dequeue or dequeue_batch) so far.
  std::vector<Timestamp> dequeue_times() const {
    std::vector<Timestamp> times;
    for (const auto& c : counting().calls()) {
      if (is_claim(c.operation)) times.push_back(*c.time);
    }
    return times;
  }

  std::atomic<int> runs_{0};
  TaskHandler count_runs() {
    return [this](Task) -> Awaitable<Bytes> {
      ++runs_;
      co_return Bytes{};
    };
  }
};

TEST_P(WakeupTest, LocalEnqueue_WakesAnIdleWorkerWithoutTimeMoving) {
  TASKSTORE_REQUIREMENTS("QUE-13");
  make_queue();  // polls only every hour
  queue().register_handler("job", count_runs());
  start();
  const std::string id = enqueue("job", "");
  settle();
  EXPECT_EQ(runs_, 1) << "the enqueue did not wake a worker";
  EXPECT_EQ(must_get(id).status, TaskStatus::SUCCESS);
  EXPECT_EQ(clock().now(), t0());
}

TEST_P(WakeupTest, FutureEta_AWorkerWakesExactlyAtIt) {
  TASKSTORE_REQUIREMENTS("QUE-13");
  make_queue();
  queue().register_handler("job", count_runs());
  start();
  const std::string id = enqueue("job", "", {.delay = 30s});
  settle();
  EXPECT_EQ(clock().sleeper_deadlines(), (std::vector<Timestamp>{t0() + 30s, t0() + 1h}))
      << "no idle worker sleeps until the task's eta";
  counting().clear();
  advance(30s);
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(dequeue_times().front(), t0() + 30s);
  EXPECT_EQ(run(store().get_result(id))->finished_at, t0() + 30s);
}

TEST_P(WakeupTest, EarlierEta_ReplansASleepingWorker) {
  TASKSTORE_REQUIREMENTS("QUE-13");
  make_queue();
  queue().register_handler("job", count_runs());
  start();
  enqueue("job", "", {.delay = 50s});
  settle();
  enqueue("job", "", {.delay = 20s});
  settle();
  EXPECT_EQ(clock().sleeper_deadlines().front(), t0() + 20s) << "no worker was woken to replan";
  advance(20s);
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(clock().sleeper_deadlines().front(), t0() + 50s) << "the next known eta was forgotten";
  advance(30s);
  EXPECT_EQ(runs_, 2);
}

TEST_P(WakeupTest, TaskFromElsewhere_IsFoundByPolling) {
  TASKSTORE_REQUIREMENTS("QUE-13");
  QueueOptions o = options();
  o.poll_interval = 10s;
  make_queue(o);
  queue().register_handler("conformance.noop", count_runs());
  start();
  add_task("foreign");  // straight into the store, as another process would
  settle();
  EXPECT_EQ(runs_, 0);
  for (const Timestamp deadline : clock().sleeper_deadlines()) {
    EXPECT_LE(deadline, t0() + 10s) << "an idle worker sleeps longer than the poll interval";
  }
  advance(10s);
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(must_get("foreign").status, TaskStatus::SUCCESS);
}

TEST_P(WakeupTest, AClaim_WakesAnotherIdleWorker) {
  TASKSTORE_REQUIREMENTS("QUE-13", "QUE-12");
  make_queue(options(4));  // polls only every hour
  // Handlers that stay busy until t0 + 1 min, so each task holds its own worker.
  queue().register_handler("conformance.noop", [this](Task) -> Awaitable<Bytes> {
    ++runs_;
    co_await sleep_until(clock(), t0() + 1min);
    co_return Bytes{};
  });
  start();
  for (const char* id : {"a", "b", "c"}) add_task(id);  // straight into the store: unannounced
  // One local enqueue wakes one worker. Each claim wakes the next idle worker, so all
  // four tasks run at once, with no poll and no time passing.
  enqueue("conformance.noop", "", {.id = "d"});
  settle(4);  // asleep: four handlers and no idle worker (without the chain: one and three)
  EXPECT_EQ(runs_, 4) << "claims did not wake the other idle workers";
  EXPECT_EQ(clock().sleeper_deadlines(), std::vector<Timestamp>(4, t0() + 1min));
  advance(1min);
  for (const char* id : {"a", "b", "c", "d"}) EXPECT_EQ(must_get(id).status, TaskStatus::SUCCESS);
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(WakeupTest);

}  // namespace
}  // namespace taskstore::queue::testing
