// Reading tasks: GET-1 … GET-5.
#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class GetTaskTest : public ConformanceTest {};

TEST_P(GetTaskTest, GetTask_KnownId_ReturnsTheTask) {
  TASKSTORE_REQUIREMENTS("GET-1");
  const Task a = add_task("a");
  const Task b = add_task("b", t0() + 1s);
  const auto found = run(store().get_task("b"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, b);
  EXPECT_EQ(run(store().get_task("a")), a);
  const Task longest = add_task(std::string(Task::kMaxIdBytes, 'g'));
  EXPECT_EQ(run(store().get_task(longest.id)), longest) << "the longest id allowed";
}

TEST_P(GetTaskTest, GetTask_UnknownId_ReturnsEmpty) {
  TASKSTORE_REQUIREMENTS("GET-2");
  EXPECT_TRUE(no_task("task-123")) << "empty store";
  add_task("task-1234");
  EXPECT_TRUE(no_task("task-123")) << "a prefix of a stored id";
}

TEST_P(GetTaskTest, GetTask_DamagedTask_ThrowsCorruptionNamingTheLocation) {
  TASKSTORE_REQUIREMENTS("GET-3");
  add_task("damaged");
  add_task("intact");
  if (const auto why_not = damage("damaged")) GTEST_SKIP() << *why_not;
  const std::string message =
      TASKSTORE_ERROR_MESSAGE(CorruptionError, run(store().get_task("damaged")));
  EXPECT_NE(message.find(where()), std::string::npos)
      << "message does not name the store location '" << where() << "': " << message;
  EXPECT_TRUE(run(store().get_task("intact")).has_value()) << "damage spread to another task";
}

TEST_P(GetTaskTest, Scenario_RetrievalForRetryLogic) {
  TASKSTORE_REQUIREMENTS("GET-4");
  add_task("task-123");  // max_retries = 3
  claim("task-123");
  run(store().mark_failed("task-123", "transient"));
  const auto task = run(store().get_task("task-123"));
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->id, "task-123");
  EXPECT_LT(task->attempts, task->max_retries);
  EXPECT_EQ(task->attempts, 1);
  EXPECT_EQ(task->status, TaskStatus::RETRYING);
}

TEST_P(GetTaskTest, Scenario_RetrievalForIntervalRescheduling) {
  TASKSTORE_REQUIREMENTS("GET-5");
  Task task = make_task("interval-task-456");
  task.schedule = IntervalSchedule{5min};
  given("ENQ-1", "enqueue of 'interval-task-456'", store().enqueue(task));
  claim("interval-task-456");
  given("DONE-1", "mark_done of 'interval-task-456'",
        store().mark_done("interval-task-456", TaskResult{.task_id = "interval-task-456", .finished_at = t0()}));
  const auto found = run(store().get_task("interval-task-456"));
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(found->schedule.has_value()) << "the schedule was lost";
  EXPECT_EQ(found->schedule->interval, 5min);
}

TASKSTORE_INSTANTIATE_SUITE(GetTaskTest);

}  // namespace


}  // namespace taskstore::conformance
