// Dequeue: DEQ-1 … DEQ-8.
#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "taskstore/conformance/claim_check.hpp"
#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class DequeueTest : public ConformanceTest {
 protected:
  // Ids returned by dequeue(now) until it returns nothing. A test that drains calls
  // given_dequeue_works() first, so that what the drain shows is about order.
  std::vector<std::string> drain(Timestamp now) {
    std::vector<std::string> ids;
    while (auto task = run(store().dequeue(now))) ids.push_back(task->id);
    return ids;
  }

  // Enqueues `count` tasks due at t0() and has `threads` threads dequeue them until the
  // store is empty, each thread through the instance `instance_for(thread)` gives.
  // Checks that every task was claimed exactly once.
  void race(int count, int threads,
            const std::function<std::shared_ptr<BaseStorage>(int)>& instance_for) {
    given_dequeue_works();
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      ids.push_back("race-" + std::to_string(i));
      add_task(ids.back());
    }
    const std::string problems = race_threads(threads, [&](int w) {
      auto instance = instance_for(w);
      boost::asio::io_context io;
      std::vector<std::string> mine;
      while (auto task = sync_wait(io, instance->dequeue(t0()))) mine.push_back(task->id);
      return mine;
    }, ids);
    EXPECT_TRUE(problems.empty()) << problems;
    for (int i = 0; i < count; i += count / 10) {
      const Task task = must_get("race-" + std::to_string(i));
      EXPECT_EQ(task.status, TaskStatus::RUNNING);
      // Fewer than one is a claim that counts no attempt: DEQ-5 reports that.
      EXPECT_LE(task.attempts, 1) << "attempts show more than one claim of " << task.id;
    }
  }
};

TEST_P(DequeueTest, Dequeue_OneDueTask_ReturnsIt) {
  TASKSTORE_REQUIREMENTS("DEQ-1");
  add_task("a");
  add_task("b");
  const auto task = run(store().dequeue(t0()));
  ASSERT_TRUE(task.has_value()) << "nothing returned although two tasks are due";
  EXPECT_TRUE(task->id == "a" || task->id == "b") << "returned unknown task " << task->id;
}

TEST_P(DequeueTest, Dequeue_NothingDue_ReturnsEmpty) {
  TASKSTORE_REQUIREMENTS("DEQ-2");
  EXPECT_TRUE(dequeue_returns_nothing(t0())) << "empty store returned a task";
  add_task("future", t0() + 1h);
  add_task("failed");
  given("FAIL-3", "mark_failed of 'failed' for good", store().mark_failed("failed", "boom", false));
  add_task("done");
  given("DONE-1", "mark_done of 'done'",
        store().mark_done("done", TaskResult{.task_id = "done", .finished_at = t0()}));
  EXPECT_TRUE(dequeue_returns_nothing(t0())) << "returned a task that is not due or not PENDING";
}

TEST_P(DequeueTest, Dequeue_EtaBoundary_DueAtEtaNotOneMicrosecondBefore) {
  TASKSTORE_REQUIREMENTS("DEQ-3");
  const Timestamp eta = t0() + 5s;
  add_task("edge", eta);
  EXPECT_TRUE(dequeue_returns_nothing(eta - 1us)) << "task returned 1us before its eta";
  EXPECT_TRUE(dequeue_returns(eta, "edge")) << "task not returned at exactly its eta";
}

TEST_P(DequeueTest, Dequeue_EarliestEtaFirst_TiesInEnqueueOrder) {
  TASKSTORE_REQUIREMENTS("DEQ-4");
  given_dequeue_works();
  add_task("t3", t0() + 3s);
  add_task("t1-first", t0() + 1s);
  add_task("t2", t0() + 2s);
  add_task("t1-second", t0() + 1s);
  add_task("t0-z", t0());
  add_task("t0-a", t0());  // enqueued after t0-z: ties are not broken by id
  const std::vector<std::string> expected = {"t0-z", "t0-a", "t1-first", "t1-second", "t2", "t3"};
  EXPECT_EQ(drain(t0() + 1h), expected);
}

// Ids for many-way ties: enqueued in an order that is not their lexical order, nor its
// reverse, nor their length order, so a store that breaks ties by id, by file name or by
// a hash passes only by a 1-in-24! chance.
std::vector<std::string> tie_ids() {
  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) {
    const int n = (i * 37 + 11) % 101;  // a fixed permutation of 24 distinct numbers
    ids.push_back("tie-" + std::string(static_cast<std::size_t>(n % 3), 'x') + std::to_string(n));
  }
  return ids;
}

TEST_P(DequeueTest, Dequeue_ManyWayTies_InEnqueueOrderWhateverTheIds) {
  TASKSTORE_REQUIREMENTS("DEQ-4");
  given_dequeue_works();
  const std::vector<std::string> ids = tie_ids();
  std::vector<std::string> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_NE(sorted, ids) << "the test's ids must not be enqueued in lexical order";
  for (const std::string& id : ids) add_task(id);
  EXPECT_EQ(drain(t0()), ids) << "24 tasks due at one eta must come out in enqueue order";
}

TEST_P(DequeueTest, Dequeue_ManyWayTies_KeepEnqueueOrderAcrossReopen) {
  TASKSTORE_REQUIREMENTS("DEQ-4");
  TASKSTORE_REQUIRE_CAPABILITY(persistent);
  given_dequeue_works();
  // Two etas, their tasks enqueued interleaved: the reopened store must still know which
  // of each eta's tasks came first.
  const std::vector<std::string> ids = tie_ids();
  std::vector<std::string> early;
  std::vector<std::string> late;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    (i % 2 == 0 ? late : early).push_back(ids[i]);
    add_task(ids[i], i % 2 == 0 ? t0() : t0() - 1s);
  }
  reopen();
  std::vector<std::string> expected = early;
  expected.insert(expected.end(), late.begin(), late.end());
  EXPECT_EQ(drain(t0()), expected) << "ties lost their enqueue order across a reopen";
}

TEST_P(DequeueTest, Dequeue_Claim_SetsRunningCountsAttemptAndStampsNow) {
  TASKSTORE_REQUIREMENTS("DEQ-5");
  Task original = make_task("claim");
  original.attempts = 2;
  original.last_error = "earlier failure";
  run(store().enqueue(original));
  const Timestamp now = t0() + 7s + 123us;
  const auto claimed = dequeue_for(now, "claim");
  ASSERT_TRUE(claimed.has_value()) << "the due task was not returned";
  Task expected = original;
  expected.status = TaskStatus::RUNNING;
  expected.attempts = 3;
  expected.updated_at = now;
  EXPECT_EQ(*claimed, expected) << "returned: " << describe(*claimed)
                                << "\nexpected: " << describe(expected);
  EXPECT_EQ(must_get("claim"), expected) << "the stored task does not show the claim";
}

TEST_P(DequeueTest, Dequeue_AttemptsAtTheInt32Maximum_StayThere) {
  TASKSTORE_REQUIREMENTS("DEQ-5");
  Task task = make_task("worn-out");
  task.attempts = std::numeric_limits<std::int32_t>::max();
  run(store().enqueue(task));
  const auto claimed = dequeue_for(t0(), "worn-out");
  ASSERT_TRUE(claimed.has_value()) << "a task with the maximum attempts could not be claimed";
  EXPECT_EQ(claimed->attempts, std::numeric_limits<std::int32_t>::max());
  EXPECT_EQ(must_get("worn-out").attempts, std::numeric_limits<std::int32_t>::max());
  add_task("next");
  EXPECT_TRUE(dequeue_returns(t0(), "next")) << "the saturated task broke later claims";
}

TEST_P(DequeueTest, Dequeue_DamagedTaskFirstInLine_IsPassedOver) {
  TASKSTORE_REQUIREMENTS("DEQ-9");
  add_task("damaged", t0() - 1s);
  add_task("healthy", t0());
  if (const auto why_not = damage("damaged")) GTEST_SKIP() << *why_not;
  // Plain dequeues: one that raises here is this test's finding, not DEQ-1's or DEQ-2's.
  EXPECT_EQ(claim_id(t0()), "healthy") << "a damaged task stopped the queue";
  EXPECT_EQ(claim_id(t0()), "(nothing)") << "the damaged task was handed out";
  TASKSTORE_ERROR_MESSAGE(CorruptionError, run(store().get_task("damaged")));
}

TEST_P(DequeueTest, Dequeue_EightThreadsOneInstance_EachTaskClaimedOnce) {
  TASKSTORE_REQUIREMENTS("DEQ-6");
  TASKSTORE_REQUIRE_CAPABILITY(concurrent_calls);
  auto shared = std::shared_ptr<BaseStorage>(&store(), [](BaseStorage*) {});
  race(1000, 8, [&](int) { return shared; });
}

TEST_P(DequeueTest, Dequeue_EightThreadsSeparateInstances_EachTaskClaimedOnce) {
  TASKSTORE_REQUIREMENTS("DEQ-7");
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  TASKSTORE_REQUIRE_CAPABILITY(concurrent_calls);
  std::vector<std::shared_ptr<BaseStorage>> instances;
  for (int i = 0; i < 8; ++i) instances.push_back(open_another_instance());
  race(1000, 8, [&](int w) { return instances[static_cast<std::size_t>(w)]; });
}

TEST_P(DequeueTest, Dequeue_TasksInOtherStates_NeverBlockDueTasks) {
  TASKSTORE_REQUIREMENTS("DEQ-8");
  // Non-PENDING tasks with the earliest etas, where a careless index would look first.
  add_task("running", t0() - 4s);
  add_task("retrying", t0() - 3s);
  add_task("succeeded", t0() - 2s);
  add_task("failed", t0() - 1s);
  given("RUN-1", "mark_running of 'running'", store().mark_running("running"));
  given("FAIL-1", "mark_failed of 'retrying'", store().mark_failed("retrying", "try again"));
  given("DONE-1", "mark_done of 'succeeded'",
        store().mark_done("succeeded", TaskResult{.task_id = "succeeded", .finished_at = t0()}));
  given("FAIL-3", "mark_failed of 'failed' for good",
        store().mark_failed("failed", "gave up", false));
  // Each step must have left its status: this test is about the claim past them.
  const std::tuple<const char*, TaskStatus, const char*> steps[] = {
      {"running", TaskStatus::RUNNING, "RUN-1"},
      {"retrying", TaskStatus::RETRYING, "FAIL-1"},
      {"succeeded", TaskStatus::SUCCESS, "DONE-1"},
      {"failed", TaskStatus::FAILED, "FAIL-3"}};
  for (const auto& [id, status, requirement] : steps) {
    const TaskStatus now_is = must_get(id).status;
    given_that(now_is == status, requirement, std::string("the step on '") + id + "'",
               "the task is " + std::string(to_string(now_is)) + ", not " +
                   std::string(to_string(status)));
  }
  add_task("due");
  EXPECT_TRUE(dequeue_returns(t0(), "due")) << "a due task was hidden behind tasks in other states";
}

TASKSTORE_INSTANTIATE_SUITE(DequeueTest);

}  // namespace


}  // namespace taskstore::conformance
