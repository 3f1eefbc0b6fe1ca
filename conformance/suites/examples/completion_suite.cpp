// Running, completion, results and purging: RUN-*, DONE-*, RES-*, PUR-*, RT-2.
#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class CompletionTest : public ConformanceTest {
 protected:
  TaskResult success(const std::string& id, Timestamp finished_at, std::string value = "ok") {
    return TaskResult{.task_id = id,
                      .status = TaskStatus::SUCCESS,
                      .value = to_bytes(value),
                      .finished_at = finished_at};
  }

  // A task with a result finished at `finished_at`.
  void add_finished(const std::string& id, Timestamp finished_at) {
    add_task(id);
    given("DONE-1", "mark_done of '" + id + "'", store().mark_done(id, success(id, finished_at)));
  }
};

TEST_P(CompletionTest, MarkRunning_SetsRunningAndRefreshesUpdatedAt) {
  TASKSTORE_REQUIREMENTS("RUN-1");
  add_task("r");
  const Timestamp before = now_utc();
  run(store().mark_running("r"));
  const Timestamp after = now_utc();
  const Task task = must_get("r");
  EXPECT_EQ(task.status, TaskStatus::RUNNING);
  EXPECT_GE(task.updated_at, before) << "updated_at was not refreshed";
  EXPECT_LE(task.updated_at, after) << "updated_at lies in the future";
}

TEST_P(CompletionTest, MarkRunning_AfterClaim_KeepsAttempts) {
  TASKSTORE_REQUIREMENTS("RUN-2");
  add_task("r");
  claim("r");
  run(store().mark_running("r"));
  run(store().mark_running("r"));
  EXPECT_EQ(must_get("r").attempts, 1) << "mark_running counted an attempt";
}

TEST_P(CompletionTest, MarkDone_StoresResultSetsSuccessAndGetResultReturnsIt) {
  TASKSTORE_REQUIREMENTS("DONE-1", "RES-1");
  add_task("d");
  claim("d");
  const TaskResult result = success("d", t0() + 1s, "the answer");
  run(store().mark_done("d", result));
  EXPECT_EQ(must_get("d").status, TaskStatus::SUCCESS);
  const auto stored = run(store().get_result("d"));
  ASSERT_TRUE(stored.has_value()) << "get_result found no result after mark_done";
  EXPECT_EQ(*stored, result) << "stored: " << describe(*stored);
}

TEST_P(CompletionTest, MarkDone_Again_ReplacesTheResult) {
  TASKSTORE_REQUIREMENTS("DONE-2");
  add_task("interval");
  run(store().mark_done("interval", success("interval", t0() + 1s, "run 1")));
  run(store().reschedule("interval", t0() + 1min));
  run(store().mark_done("interval", success("interval", t0() + 61s, "run 2")));
  const auto stored = run(store().get_result("interval"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*stored, success("interval", t0() + 61s, "run 2")) << describe(*stored);
  // The purge counts the results it removes: two for one task means both were kept. A
  // purge that removes nothing, or says so, is PUR-1's finding, not this test's.
  const std::size_t purged = run(store().purge_results(t0() + 1h));
  given_that(purged > 0 && no_result("interval"), "PUR-1", "purge_results(t0 + 1h)",
             "it reported " + std::to_string(purged) + " results removed");
  EXPECT_EQ(purged, 1u) << "the first result was kept as well";
}

TEST_P(CompletionTest, MarkDone_MismatchedOrFailedResult_ThrowsInvalidArgument) {
  TASKSTORE_REQUIREMENTS("DONE-3");
  add_task("d");
  add_task("other");
  TASKSTORE_ERROR_MESSAGE(InvalidArgumentError,
                          run(store().mark_done("d", success("other", t0()))));
  TaskResult failed = success("d", t0());
  failed.status = TaskStatus::FAILED;
  TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().mark_done("d", failed)));
  EXPECT_EQ(must_get("d").status, TaskStatus::PENDING) << "a rejected mark_done changed the task";
  EXPECT_TRUE(no_result("d")) << "a rejected result was stored";
  EXPECT_TRUE(no_result("other")) << "a rejected result was stored";
}

TEST_P(CompletionTest, GetResult_NoResultOrUnknownId_ReturnsEmpty) {
  TASKSTORE_REQUIREMENTS("RES-2");
  add_task("pending");
  EXPECT_TRUE(no_result("pending"));
  EXPECT_TRUE(no_result("no-such-task"));
}

TEST_P(CompletionTest, Result_EveryField_RoundTripsExactly) {
  TASKSTORE_REQUIREMENTS("RT-2");
  TASKSTORE_REQUIRE_TIMES(from_micros(-1'234'567));
  add_task("rt");
  TaskResult result{.task_id = "rt",
                    .status = TaskStatus::SUCCESS,
                    .value = to_bytes(std::string("\0\x01\xff binary \0 value", 18)),
                    .error = std::string(""),  // present but empty: not the same as none
                    .finished_at = from_micros(-1'234'567)};
  run(store().mark_done("rt", result));
  EXPECT_EQ(run(store().get_result("rt")), result);
  TaskResult empty{.task_id = "rt", .status = TaskStatus::SUCCESS, .finished_at = t0() + 1us};
  run(store().mark_done("rt", empty));
  EXPECT_EQ(run(store().get_result("rt")), empty);
}

TEST_P(CompletionTest, Purge_RemovesOldResultsAndReturnsTheCount) {
  TASKSTORE_REQUIREMENTS("PUR-1");
  add_finished("old-1", t0() - 2h);
  add_finished("old-2", t0() - 1h);
  add_finished("new", t0() + 1h);
  EXPECT_EQ(run(store().purge_results(t0())), 2u);
  EXPECT_TRUE(no_result("old-1"));
  EXPECT_TRUE(no_result("old-2"));
  EXPECT_TRUE(run(store().get_result("new")).has_value());
}

TEST_P(CompletionTest, Purge_Cutoff_RemovesStrictlyBeforeKeepsAtAndAfter) {
  TASKSTORE_REQUIREMENTS("PUR-2");
  const Timestamp cutoff = t0() + 30s;
  add_finished("before", cutoff - 1us);
  add_finished("at", cutoff);
  add_finished("after", cutoff + 1us);
  run(store().purge_results(cutoff));  // its count is PUR-1's
  EXPECT_TRUE(no_result("before")) << "1us before the cutoff was kept";
  EXPECT_TRUE(run(store().get_result("at")).has_value()) << "a result at the cutoff was purged";
  EXPECT_TRUE(run(store().get_result("after")).has_value());
}

TEST_P(CompletionTest, Purge_KeepsTasks) {
  TASKSTORE_REQUIREMENTS("PUR-3");
  add_finished("done", t0());
  add_task("failed");
  given("FAIL-3", "mark_failed of 'failed' for good",
        store().mark_failed("failed", "gave up", false));
  run(store().purge_results(t0() + 24h * 365));  // its count is PUR-1's
  given_that(static_cast<bool>(no_result("done")), "PUR-1", "purge_results a year after t0",
             "the result of 'done' is still there");
  EXPECT_EQ(must_get("done").status, TaskStatus::SUCCESS);
  const Task failed = must_get("failed");
  EXPECT_EQ(failed.status, TaskStatus::FAILED);
  EXPECT_EQ(failed.last_error, "gave up");
}

TEST_P(CompletionTest, Purge_Repeated_ReturnsZero) {
  TASKSTORE_REQUIREMENTS("PUR-4");
  EXPECT_EQ(run(store().purge_results(t0())), 0u) << "purge of an empty store";
  add_finished("a", t0() - 1s);
  add_finished("b", t0() + 1s);
  const std::size_t first = run(store().purge_results(t0()));
  given_that(first == 1, "PUR-1", "the first purge_results(t0)",
             "it reported " + std::to_string(first) + " results removed, not 1");
  EXPECT_EQ(run(store().purge_results(t0())), 0u) << "a second purge removed or counted more";
}

TEST_P(CompletionTest, Purge_DamagedResultAmongOldOnes_RemovesTheOthers) {
  TASKSTORE_REQUIREMENTS("PUR-5");
  add_finished("old-1", t0() - 3h);
  add_finished("damaged", t0() - 2h);
  add_finished("old-2", t0() - 1h);
  add_finished("new", t0() + 1h);
  if (const auto why_not = damage_result("damaged")) GTEST_SKIP() << *why_not;
  std::size_t removed = 0;
  try {
    removed = run(store().purge_results(t0()));
  } catch (const std::exception& e) {
    FAIL() << "a damaged result stopped the purge: " << type_name_of(e) << ": " << e.what();
  }
  EXPECT_TRUE(no_result("old-1")) << "an old result was kept after the damaged one";
  EXPECT_TRUE(no_result("old-2")) << "an old result was kept after the damaged one";
  EXPECT_TRUE(run(store().get_result("new")).has_value()) << "a result after the cutoff was purged";
  // The damaged result: removed and counted, or left in place and still reported as damaged.
  try {
    const auto left = run(store().get_result("damaged"));
    EXPECT_FALSE(left.has_value()) << "the damaged result reads back as if it were whole";
    if (!left) {
      EXPECT_EQ(removed, 3u) << "the damaged result was removed but not counted";
    }
  } catch (const CorruptionError&) {
    EXPECT_EQ(removed, 2u) << "the damaged result was left in place but counted as removed";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "get_result of the damaged result left in place raised " << type_name_of(e)
                  << " instead of CorruptionError: " << e.what();
  }
}

TASKSTORE_INSTANTIATE_SUITE(CompletionTest);

}  // namespace


}  // namespace taskstore::conformance
