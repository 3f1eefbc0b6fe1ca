// The result TTL loop (QUE-14): purge_results(now − ttl) at start and every period.
#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class ResultTtlTest : public QueueTest {
 protected:
  void add_result(const std::string& id, Timestamp finished_at) {
    add_task(id);
    run(store().mark_done(id, TaskResult{.task_id = id, .finished_at = finished_at}));
  }
  bool has_result(const std::string& id) { return run(store().get_result(id)).has_value(); }

  std::vector<StorageCall> purges() const {
    std::vector<StorageCall> found;
    for (const auto& c : counting().calls()) {
      if (c.operation == StorageOperation::purge_results) found.push_back(c);
    }
    return found;
  }
};

TEST_P(ResultTtlTest, PurgesNowMinusTtlAtStartAndEveryPeriod) {
  TASKSTORE_REQUIREMENTS("QUE-14");
  add_result("old", t0() - 2h);
  add_result("recent", t0() - 50min);
  add_result("fresh", t0() - 5min);
  QueueOptions o = options(1);
  o.result_ttl = ResultTtl{.ttl = 1h, .period = 10min};
  make_queue(o);
  start();
  EXPECT_EQ(purges(), (std::vector{call_of(StorageOperation::purge_results, "", t0() - 1h)}));
  EXPECT_FALSE(has_result("old"));
  EXPECT_TRUE(has_result("recent"));

  advance(10min - 1us);
  EXPECT_EQ(purges().size(), 1u) << "purged before the period was up";
  advance(1us);
  EXPECT_EQ(purges().back(), call_of(StorageOperation::purge_results, "", t0() - 50min));
  EXPECT_TRUE(has_result("recent")) << "a result exactly at the cutoff was purged";
  advance(10min);
  EXPECT_EQ(purges().back(), call_of(StorageOperation::purge_results, "", t0() - 40min));
  EXPECT_FALSE(has_result("recent"));
  EXPECT_TRUE(has_result("fresh"));
  EXPECT_EQ(must_get("recent").status, TaskStatus::SUCCESS) << "purging touched a task";

  shutdown(Duration::zero());
  const auto before = purges().size();
  clock().advance(24h);
  EXPECT_EQ(call(queue().shutdown(Duration::zero())).released.size(), 0u);
  EXPECT_EQ(purges().size(), before) << "the TTL loop ran on after shutdown";
}

TEST_P(ResultTtlTest, WithoutTtl_NothingIsPurged) {
  TASKSTORE_REQUIREMENTS("QUE-14");
  add_result("old", t0() - 100h);
  make_queue();
  start();
  advance(24h);
  EXPECT_EQ(counting().count(StorageOperation::purge_results), 0u);
  EXPECT_TRUE(has_result("old"));
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(ResultTtlTest);

}  // namespace
}  // namespace taskstore::queue::testing
