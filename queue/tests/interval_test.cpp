// Interval tasks (QUE-9): run, then run again one interval after each run, same id.
#include <atomic>

#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class IntervalTest : public QueueTest {};

TEST_P(IntervalTest, RunsThreeTimesAtTheExpectedEtasKeepingItsId) {
  TASKSTORE_REQUIREMENTS("QUE-9", "QUE-5");
  make_queue();
  std::atomic<int> runs{0};
  std::vector<std::string> seen_ids;
  queue().register_handler("tick", [&](Task task) -> Awaitable<Bytes> {
    seen_ids.push_back(task.id);
    co_return to_bytes("run " + std::to_string(++runs));
  });
  start();
  const std::string id = enqueue("tick", "", {.delay = 30s, .interval = 1min});
  EXPECT_EQ(must_get(id).eta, t0() + 30s);

  const Timestamp expected_runs[] = {t0() + 30s, t0() + 90s, t0() + 150s};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("run " + std::to_string(i + 1));
    const Timestamp due = expected_runs[i];
    advance(due - 1us - clock().now());
    EXPECT_EQ(runs, i) << "ran before its eta";
    advance(1us);
    EXPECT_EQ(runs, i + 1) << "did not run at its eta";
    const Task task = must_get(id);
    EXPECT_EQ(task.status, TaskStatus::PENDING) << describe(task);
    EXPECT_EQ(task.eta, due + 1min);
    EXPECT_EQ(task.schedule, IntervalSchedule{1min});
    EXPECT_EQ(task.attempts, i + 1);
    const auto result = run(store().get_result(id));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(text(result->value), "run " + std::to_string(i + 1)) << "not the latest run's result";
    EXPECT_EQ(result->finished_at, due);
  }
  EXPECT_EQ(seen_ids, (std::vector<std::string>{id, id, id}));
  std::vector<StorageCall> reschedules;
  for (const auto& c : calls_for(id)) {
    if (c.operation == StorageOperation::reschedule) reschedules.push_back(c);
  }
  EXPECT_EQ(reschedules, (std::vector{call_of(StorageOperation::reschedule, id, t0() + 90s),
                                      call_of(StorageOperation::reschedule, id, t0() + 150s),
                                      call_of(StorageOperation::reschedule, id, t0() + 210s)}))
      << describe(calls_for(id));
}

TEST_P(IntervalTest, AFailedRunDoesNotEndTheSchedule) {
  TASKSTORE_REQUIREMENTS("QUE-9", "QUE-7");
  make_queue();
  std::atomic<int> runs{0};
  queue().register_handler("tick", [&](Task) -> Awaitable<Bytes> {
    if (++runs == 1) throw std::runtime_error("first run broke");
    co_return to_bytes("fine");
  });
  start();
  const std::string id = enqueue("tick", "", {.interval = 10s});  // no retries
  settle();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(run(store().get_result(id))->status, TaskStatus::FAILED);
  EXPECT_EQ(must_get(id).eta, t0() + 10s);
  advance(10s);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(run(store().get_result(id))->status, TaskStatus::SUCCESS);
  EXPECT_EQ(must_get(id).eta, t0() + 20s);
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(IntervalTest);

}  // namespace
}  // namespace taskstore::queue::testing
