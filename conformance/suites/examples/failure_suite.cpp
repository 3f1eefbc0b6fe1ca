// Failures and retries: FAIL-1 … FAIL-4.
#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class FailureTest : public ConformanceTest {
 protected:
  // A task claimed once, as a worker would have it when its handler fails.
  void add_claimed(const std::string& id) {
    add_task(id);
    claim(id);
  }
};

TEST_P(FailureTest, MarkFailed_WillRetry_SetsRetryingAndRecordsError) {
  TASKSTORE_REQUIREMENTS("FAIL-1");
  add_claimed("f");
  const Timestamp before = now_utc();
  run(store().mark_failed("f", "connection reset", true));
  const Task task = must_get("f");
  EXPECT_EQ(task.status, TaskStatus::RETRYING) << describe(task);
  EXPECT_EQ(task.last_error, "connection reset");
  EXPECT_EQ(task.attempts, 1) << "mark_failed changed attempts";
  EXPECT_GE(task.updated_at, before) << "updated_at was not refreshed";
  EXPECT_TRUE(no_result("f")) << "a failure that will be retried stored a result";
}

TEST_P(FailureTest, MarkFailed_Retrying_NotDueUntilRescheduled) {
  TASKSTORE_REQUIREMENTS("FAIL-2");
  add_claimed("f");
  given("FAIL-1", "mark_failed of 'f', to retry", store().mark_failed("f", "timeout", true));
  EXPECT_TRUE(dequeue_returns_nothing(t0() + 24h * 365))
      << "a RETRYING task was dequeued before it was rescheduled";
  given("RSC-4", "reschedule of 'f'", store().reschedule("f", t0() + 30s));
  EXPECT_TRUE(dequeue_returns(t0() + 31s, "f")) << "a rescheduled RETRYING task never became due";
}

TEST_P(FailureTest, MarkFailed_NoRetry_SetsFailedAndStoresFailedResult) {
  TASKSTORE_REQUIREMENTS("FAIL-3");
  add_claimed("f");
  const Timestamp before = now_utc();
  run(store().mark_failed("f", "permanent: bad input", false));
  const Timestamp after = now_utc();
  const Task task = must_get("f");
  EXPECT_EQ(task.status, TaskStatus::FAILED) << describe(task);
  EXPECT_EQ(task.last_error, "permanent: bad input");
  const auto result = run(store().get_result("f"));
  ASSERT_TRUE(result.has_value()) << "no FAILED result was stored";
  EXPECT_EQ(result->task_id, "f");
  EXPECT_EQ(result->status, TaskStatus::FAILED);
  EXPECT_EQ(result->error, "permanent: bad input");
  EXPECT_TRUE(result->value.empty());
  EXPECT_GE(result->finished_at, before);
  EXPECT_LE(result->finished_at, after);
  EXPECT_TRUE(dequeue_returns_nothing(t0() + 24h * 365)) << "a FAILED task was due";
}

TEST_P(FailureTest, MarkFailed_DefaultWillRetry_IsTrue) {
  TASKSTORE_REQUIREMENTS("FAIL-4");
  add_claimed("f");
  run(store().mark_failed("f", "flaky"));  // no will_retry argument
  EXPECT_EQ(must_get("f").status, TaskStatus::RETRYING);
  EXPECT_TRUE(no_result("f")) << "a failure that will be retried stored a result";
}

TASKSTORE_INSTANTIATE_SUITE(FailureTest);

}  // namespace


}  // namespace taskstore::conformance
