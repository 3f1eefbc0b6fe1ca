// Rescheduling: RSC-1 … RSC-7.
#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class RescheduleTest : public ConformanceTest {
 protected:
  // Reschedules `id` to `eta` as a setup step of RSC-1's: a reschedule that does not set
  // the eta it was given is RSC-1's finding, and the test stops there rather than report
  // the same cause under its own requirement. Returns the task as it then stands.
  Task reschedule_to(const std::string& id, Timestamp eta) {
    const std::string step = "reschedule of '" + id + "' to " + format_timestamp(eta);
    given("RSC-1", step, store().reschedule(id, eta));
    const Task task = must_get(id);
    given_that(task.eta == eta, "RSC-1", step, "its eta is " + format_timestamp(task.eta));
    return task;
  }

  // A task with every counter and piece of metadata set to something non-default.
  Task rich_task(const std::string& id) {
    Task task = make_task(id);
    task.max_retries = 7;
    task.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::exponential,
                             .delay = 250ms,
                             .max_delay = 30s,
                             .jitter = true};
    task.schedule = IntervalSchedule{90s};
    task.last_error = "old error";
    return task;
  }
};

TEST_P(RescheduleTest, Reschedule_SetsTheNewEta) {
  TASKSTORE_REQUIREMENTS("RSC-1");
  add_task("r");
  run(store().reschedule("r", t0() + 42s + 17us));
  EXPECT_EQ(must_get("r").eta, t0() + 42s + 17us);
}

TEST_P(RescheduleTest, Reschedule_UnknownId_ThrowsNotFound) {
  TASKSTORE_REQUIREMENTS("RSC-2", "ERR-2");
  add_task("known");
  const std::string message =
      TASKSTORE_ERROR_MESSAGE(NotFoundError, run(store().reschedule("failed-task-789", t0())));
  EXPECT_NE(message.find("failed-task-789"), std::string::npos)
      << "message does not name the id: " << message;
  EXPECT_NE(message.find("reschedule"), std::string::npos)
      << "message does not name the operation: " << message;
  EXPECT_TRUE(no_task("failed-task-789")) << "reschedule created a task";
}

TEST_P(RescheduleTest, Reschedule_DamagedTask_ThrowsStorageErrorAndIsNotDue) {
  TASKSTORE_REQUIREMENTS("RSC-3");
  add_task("damaged", t0() + 1h);
  if (const auto why_not = damage("damaged")) GTEST_SKIP() << *why_not;
  TASKSTORE_ERROR_MESSAGE(StorageError, run(store().reschedule("damaged", t0())));
  // The damaged task must not come back as a claim, nor may it stop the queue.
  add_task("healthy");
  // Plain dequeues: one that raises here is this test's finding, not DEQ-1's or DEQ-2's.
  EXPECT_EQ(claim_id(t0()), "healthy") << "the damaged task stopped the queue";
  EXPECT_EQ(claim_id(t0() + 2h), "(nothing)") << "the damaged task was handed out";
}

TEST_P(RescheduleTest, Scenario_RetryRescheduling_PendingWithNewEta) {
  TASKSTORE_REQUIREMENTS("RSC-4");
  add_task("failed-task-789");
  claim("failed-task-789");
  run(store().mark_failed("failed-task-789", "503 from upstream"));
  // The scenario is the retry's new eta as much as its status: it checks both itself.
  const Timestamp retry_eta = t0() + 30s;
  run(store().reschedule("failed-task-789", retry_eta));
  const Task task = must_get("failed-task-789");
  EXPECT_EQ(task.status, TaskStatus::PENDING);
  EXPECT_EQ(task.eta, retry_eta);
}

TEST_P(RescheduleTest, Scenario_IntervalRescheduling_KeepsIdAndSchedule) {
  TASKSTORE_REQUIREMENTS("RSC-5");
  Task task = make_task("interval-task-101");
  task.schedule = IntervalSchedule{5min};
  given("ENQ-1", "enqueue of 'interval-task-101'", store().enqueue(task));
  claim("interval-task-101");
  given("DONE-1", "mark_done of 'interval-task-101'",
        store().mark_done("interval-task-101", TaskResult{.task_id = "interval-task-101", .finished_at = t0()}));
  const Timestamp next_run = t0() + 5min;
  const Task after = reschedule_to("interval-task-101", next_run);
  EXPECT_EQ(after.status, TaskStatus::PENDING);
  EXPECT_EQ(after.schedule, task.schedule);
  EXPECT_TRUE(dequeue_returns(next_run + 1s, "interval-task-101"));
}

TEST_P(RescheduleTest, Reschedule_FromEveryStatus_KeepsCountersAndMetadata) {
  TASKSTORE_REQUIREMENTS("RSC-6");
  // Each status is reached through another operation: a failure there is that
  // operation's requirement's, and ends the test with RSC-6 not checked by it (given()),
  // unless a status before had already shown RSC-6 broken.
  struct Case {
    const char* status;
    const char* reached_by;  // the requirement of the operation that gets there
    std::function<void(const std::string&)> bring_to_status;
  };
  const Case cases[] = {
      {"PENDING", "ENQ-1", [](const std::string&) {}},
      {"RUNNING", "RUN-1",
       [&](const std::string& id) {
         given("RUN-1", "mark_running of '" + id + "'", store().mark_running(id));
       }},
      {"RETRYING", "FAIL-1",
       [&](const std::string& id) {
         given("FAIL-1", "mark_failed of '" + id + "'", store().mark_failed(id, "again"));
       }},
      {"FAILED", "FAIL-3",
       [&](const std::string& id) {
         given("FAIL-3", "mark_failed of '" + id + "' for good",
               store().mark_failed(id, "final", false));
       }},
      {"SUCCESS", "DONE-1",
       [&](const std::string& id) {
         given("DONE-1", "mark_done of '" + id + "'",
               store().mark_done(id, TaskResult{.task_id = id, .finished_at = t0()}));
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string("from ") + c.status);
    const std::string id = std::string("from-") + c.status;
    Task task = rich_task(id);
    task.attempts = 4;  // as if claimed four times already
    given("ENQ-1", "enqueue of '" + id + "'", store().enqueue(task));
    c.bring_to_status(id);
    const Task before = must_get(id);
    given_that(to_string(before.status) == c.status, c.reached_by,
               "bringing '" + id + "' to " + c.status,
               "it is " + std::string(to_string(before.status)));
    const Task after = reschedule_to(id, t0() + 2h + 3us);
    EXPECT_EQ(after.status, TaskStatus::PENDING);
    EXPECT_EQ(after.attempts, before.attempts) << "reschedule changed attempts";
    EXPECT_EQ(after.max_retries, before.max_retries);
    EXPECT_EQ(after.retry, before.retry) << "reschedule lost the retry policy";
    EXPECT_EQ(after.last_error, before.last_error) << "reschedule changed last_error";
    EXPECT_EQ(after.schedule, before.schedule) << "reschedule lost the schedule";
    EXPECT_EQ(after.name, before.name);
    EXPECT_EQ(after.payload, before.payload);
    EXPECT_EQ(after.created_at, before.created_at);
  }
}

TEST_P(RescheduleTest, Reschedule_NotDueBeforeNewEta_DueAfterIt) {
  TASKSTORE_REQUIREMENTS("RSC-7");
  add_task("r");  // due before t0
  const Timestamp new_eta = t0() + 10min;
  reschedule_to("r", new_eta);  // stored as asked: what follows is about when it is due
  EXPECT_TRUE(dequeue_returns_nothing(t0())) << "due at its old eta";
  EXPECT_TRUE(dequeue_returns_nothing(new_eta - 1us)) << "due 1us before new_eta";
  // A second after it: the instant itself is DEQ-3's boundary.
  EXPECT_TRUE(dequeue_returns(new_eta + 1s, "r")) << "not due after new_eta";
  // Moving a task earlier works too, and only once.
  add_task("s", t0() + 1h);
  reschedule_to("s", t0() - 1s);
  EXPECT_TRUE(dequeue_returns(t0(), "s")) << "not due after an earlier new eta";
  EXPECT_TRUE(dequeue_returns_nothing(t0() + 2h)) << "the old eta left a second entry";
}

TASKSTORE_INSTANTIATE_SUITE(RescheduleTest);

}  // namespace


}  // namespace taskstore::conformance
