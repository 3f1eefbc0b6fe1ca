// Batch claims: BAT-1 … BAT-5, on backends that declare `batch_claims`. BAT-6 (all or
// nothing under a failure) needs a fault to fail the batch: the I/O-error sweep checks it.
#include <algorithm>
#include <limits>

#include "taskstore/conformance/claim_check.hpp"
#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> ids_of(const std::vector<Task>& tasks) {
  std::vector<std::string> ids;
  for (const Task& task : tasks) ids.push_back(task.id);
  return ids;
}

class BatchTest : public ConformanceTest {
 protected:
  std::vector<Task> batch(Timestamp now, std::size_t max) {
    return run(store().dequeue_batch(now, max));
  }

  // The precondition of the tests that build on batches, checked on fresh stores of the
  // backend: with nothing due a batch is empty (BAT-3), with one due task it holds just that
  // task (BAT-1). Otherwise those requirements fail, not the test that needed them.
  void given_batches_work() {
    for (const bool with_task : {false, true}) {
      std::string fault;
      try {
        const auto environment = backend().make_environment();
        const auto fresh = environment->open();
        boost::asio::io_context io;
        if (with_task) sync_wait(io, fresh->enqueue(make_task(kDequeueProbeId)));
        const std::vector<Task> got = sync_wait(io, fresh->dequeue_batch(t0(), 5));
        if (with_task && ids_of(got) != std::vector<std::string>{kDequeueProbeId}) {
          fault = "on a fresh store with one due task it returned " + std::to_string(got.size()) +
                  " tasks";
        }
        if (!with_task && !got.empty()) {
          fault = "on a fresh, empty store it returned '" + got.front().id + "'";
        }
      } catch (const std::exception& e) {
        fault = std::string("on a fresh store ") +
                (with_task ? "with one due task" : "that is empty") + " it raised " +
                type_name_of(e) + " (" + e.what() + ")";
      }
      given_that(fault.empty(), with_task ? "BAT-1" : "BAT-3",
                 with_task ? "dequeue_batch(max 5) of the one due task"
                           : "dequeue_batch(max 5) with nothing due",
                 fault);
    }
  }

  // `threads` threads claim 1000 tasks due at t0() through `instance_for(thread)` until
  // nothing is due.
  void race(int threads, const std::function<std::shared_ptr<BaseStorage>(int)>& instance_for) {
    given_batches_work();
    std::vector<std::string> ids;
    for (int i = 0; i < 1000; ++i) {
      ids.push_back("race-" + std::to_string(i));
      add_task(ids.back());
    }
    const std::string problems = race_threads(threads, [&](int w) {
      auto instance = instance_for(w);
      boost::asio::io_context io;
      std::vector<std::string> mine;
      // Even threads claim in batches of 1 to 7, odd ones one dequeue at a time.
      for (std::size_t round = 0;; ++round) {
        if (w % 2 == 1) {
          auto task = sync_wait(io, instance->dequeue(t0()));
          if (!task) break;
          mine.push_back(task->id);
          continue;
        }
        const std::vector<Task> got = sync_wait(io, instance->dequeue_batch(t0(), 1 + round % 7));
        if (got.empty()) break;
        for (const Task& task : got) mine.push_back(task.id);
      }
      return mine;
    }, ids);
    EXPECT_TRUE(problems.empty()) << problems;
  }
};

TEST_P(BatchTest, Batch_FirstDueTasks_InDequeueOrder) {
  TASKSTORE_REQUIREMENTS("BAT-1");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  EXPECT_TRUE(store().claims_batches())
      << "the backend declares batch_claims but its instance's claims_batches() is false";
  // Tasks in other states at the front, ties whose ids sort against enqueue order, and a
  // task not yet due: the batch must be exactly what dequeue would hand out, in its order.
  add_task("running", t0() - 9s);
  given("RUN-1", "mark_running of 'running'", store().mark_running("running"));
  add_task("t3", t0() - 1s);
  add_task("t1-z", t0() - 3s);
  add_task("t2", t0() - 2s);
  add_task("t1-a", t0() - 3s);
  add_task("t0", t0() - 4s);
  add_task("future", t0() + 1us);
  EXPECT_EQ(ids_of(batch(t0(), 3)), (std::vector<std::string>{"t0", "t1-z", "t1-a"}))
      << "the first batch is not the first three due tasks in dequeue order";
  EXPECT_EQ(ids_of(batch(t0(), 10)), (std::vector<std::string>{"t2", "t3"}))
      << "the second batch is not the rest of the due tasks in dequeue order";
}

TEST_P(BatchTest, Batch_EachTask_ClaimedAsOneDequeueWould) {
  TASKSTORE_REQUIREMENTS("BAT-2");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  given_batches_work();
  Task tired = make_task("tired", t0() - 2s);
  tired.attempts = 2;
  tired.last_error = "earlier failure";
  Task worn_out = make_task("worn-out", t0() - 1s);
  worn_out.attempts = std::numeric_limits<std::int32_t>::max();
  run(store().enqueue(tired));
  run(store().enqueue(worn_out));
  const Timestamp now = t0() + 7s + 123us;
  const std::vector<Task> got = batch(now, 2);
  ASSERT_EQ(got.size(), 2u) << "a batch of 2 with 2 tasks due returned " << got.size();
  for (Task expected : {tired, worn_out}) {
    expected.status = TaskStatus::RUNNING;
    if (expected.attempts < std::numeric_limits<std::int32_t>::max()) expected.attempts += 1;
    expected.updated_at = now;
    const auto found = std::find_if(got.begin(), got.end(),
                                    [&](const Task& t) { return t.id == expected.id; });
    ASSERT_NE(found, got.end()) << "the batch lacks '" << expected.id << "'";
    EXPECT_EQ(*found, expected) << "returned: " << describe(*found)
                                << "\nexpected: " << describe(expected);
    EXPECT_EQ(must_get(expected.id), expected)
        << "the stored task '" << expected.id << "' does not show the claim";
  }
}

TEST_P(BatchTest, Batch_FewerDueThanMax_ReturnsThoseOnly) {
  TASKSTORE_REQUIREMENTS("BAT-3");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  EXPECT_TRUE(batch(t0(), 5).empty()) << "a batch on an empty store returned tasks";
  add_task("a");
  add_task("b");
  add_task("later", t0() + 1h);
  EXPECT_EQ(ids_of(batch(t0(), 5)), (std::vector<std::string>{"a", "b"}))
      << "a batch of 5 with 2 tasks due";
  EXPECT_TRUE(batch(t0(), 5).empty()) << "a batch with nothing left due returned tasks";
}

TEST_P(BatchTest, Batch_MaxOutsideTheRange_IsRejectedAndClaimsNothing) {
  TASKSTORE_REQUIREMENTS("BAT-3");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  add_task("waiting");
  for (const std::size_t max : {std::size_t{0}, BaseStorage::kMaxBatchClaim + 1}) {
    const std::string message =
        TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().dequeue_batch(t0(), max)));
    EXPECT_NE(message.find("max"), std::string::npos)
        << "the error for max " << max << " does not name max: " << message;
  }
  EXPECT_EQ(must_get("waiting").status, TaskStatus::PENDING)
      << "a rejected batch claimed a task anyway";
  EXPECT_EQ(ids_of(batch(t0(), BaseStorage::kMaxBatchClaim)),
            std::vector<std::string>{"waiting"})
      << "a batch of the largest size the contract allows";
}

TEST_P(BatchTest, Batch_RacingDequeuesOneInstance_EachTaskClaimedOnce) {
  TASKSTORE_REQUIREMENTS("BAT-4");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  TASKSTORE_REQUIRE_CAPABILITY(concurrent_calls);
  auto shared = std::shared_ptr<BaseStorage>(&store(), [](BaseStorage*) {});
  race(8, [&](int) { return shared; });
}

TEST_P(BatchTest, Batch_RacingDequeuesSeparateInstances_EachTaskClaimedOnce) {
  TASKSTORE_REQUIREMENTS("BAT-4");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  TASKSTORE_REQUIRE_CAPABILITY(concurrent_calls);
  std::vector<std::shared_ptr<BaseStorage>> instances;
  for (int i = 0; i < 8; ++i) instances.push_back(open_another_instance());
  race(8, [&](int w) { return instances[static_cast<std::size_t>(w)]; });
}

TEST_P(BatchTest, Batch_DamagedTasksAmongTheDue_ArePassedOver) {
  TASKSTORE_REQUIREMENTS("BAT-5");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  given_batches_work();
  add_task("damaged-first", t0() - 3s);
  add_task("healthy-1", t0() - 2s);
  add_task("damaged-middle", t0() - 2s);
  add_task("healthy-2", t0() - 1s);
  add_task("healthy-3", t0() - 1s);
  if (const auto why_not = damage("damaged-first")) GTEST_SKIP() << *why_not;
  if (const auto why_not = damage("damaged-middle")) GTEST_SKIP() << *why_not;
  EXPECT_EQ(ids_of(batch(t0(), 3)),
            (std::vector<std::string>{"healthy-1", "healthy-2", "healthy-3"}))
      << "damaged tasks stopped or shortened the batch";
  EXPECT_TRUE(batch(t0(), 3).empty()) << "a damaged task was handed out";
  TASKSTORE_ERROR_MESSAGE(CorruptionError, run(store().get_task("damaged-first")));
  TASKSTORE_ERROR_MESSAGE(CorruptionError, run(store().get_task("damaged-middle")));
}

TASKSTORE_INSTANTIATE_SUITE(BatchTest);

}  // namespace
}  // namespace taskstore::conformance
