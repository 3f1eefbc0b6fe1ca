// Enqueue: ENQ-1 … ENQ-5.
#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class EnqueueTest : public ConformanceTest {};

TEST_P(EnqueueTest, Enqueue_ValidTask_PersistsAndReturnsId) {
  TASKSTORE_REQUIREMENTS("ENQ-1");
  const Task task = make_task("enq-1");
  EXPECT_EQ(run(store().enqueue(task)), "enq-1");
  const auto stored = run(store().get_task("enq-1"));
  ASSERT_TRUE(stored.has_value()) << "enqueued task is not in the store";
  EXPECT_EQ(*stored, task) << "stored:   " << describe(*stored) << "\nenqueued: " << describe(task);
}

TEST_P(EnqueueTest, Enqueue_Task_BecomesDueAtItsEta) {
  TASKSTORE_REQUIREMENTS("ENQ-2");
  // Claims a second after each eta: the instant itself is DEQ-3's boundary.
  add_task("later", t0() + 10s);
  add_task("now", t0() - 1s);
  EXPECT_TRUE(dequeue_returns(t0(), "now")) << "a task whose eta has passed was not returned";
  EXPECT_TRUE(dequeue_returns_nothing(t0() + 9s)) << "a task due in the future was returned early";
  EXPECT_TRUE(dequeue_returns(t0() + 11s, "later")) << "a task was not returned once its eta arrived";
  // However long ago the eta passed, the task is due: the contract knows no expiry.
  add_task("long-overdue", t0() - 24h * 400);
  EXPECT_TRUE(dequeue_returns(t0() + 11s, "long-overdue")) << "an overdue task was not returned";
}

TEST_P(EnqueueTest, Enqueue_ExistingId_ThrowsConflictAndKeepsOriginal) {
  TASKSTORE_REQUIREMENTS("ENQ-3", "ERR-2");
  const Task original = add_task("dup");
  Task other = make_task("dup", t0() + 1h);
  other.name = "something.else";
  const std::string message = TASKSTORE_ERROR_MESSAGE(ConflictError, run(store().enqueue(other)));
  EXPECT_NE(message.find("dup"), std::string::npos) << "message does not name the id: " << message;
  EXPECT_NE(message.find("enqueue"), std::string::npos)
      << "message does not name the operation: " << message;
  EXPECT_EQ(must_get("dup"), original) << "a rejected enqueue changed the stored task";
}

TEST_P(EnqueueTest, Enqueue_InvalidTask_ThrowsInvalidArgumentAndStoresNothing) {
  TASKSTORE_REQUIREMENTS("ENQ-4");
  struct Case {
    const char* what;
    std::function<void(Task&)> spoil;
  };
  const Case cases[] = {
      {"empty name", [](Task& t) { t.name.clear(); }},
      {"status RUNNING", [](Task& t) { t.status = TaskStatus::RUNNING; }},
      {"status SUCCESS", [](Task& t) { t.status = TaskStatus::SUCCESS; }},
      {"negative max_retries", [](Task& t) { t.max_retries = -1; }},
      {"negative attempts", [](Task& t) { t.attempts = -2; }},
      {"negative retry delay", [](Task& t) { t.retry.delay = -1us; }},
      {"zero interval", [](Task& t) { t.schedule = IntervalSchedule{0us}; }},
      {"status outside the enum", [](Task& t) { t.status = static_cast<TaskStatus>(9); }},
      {"backoff outside the enum",
       [](Task& t) { t.retry.backoff = static_cast<RetryPolicy::Backoff>(7); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Task task = make_task("invalid");
    c.spoil(task);
    TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().enqueue(task)));
    EXPECT_TRUE(no_task("invalid")) << "a rejected task was stored anyway";
  }
  EXPECT_TRUE(dequeue_returns_nothing(t0() + 24h)) << "a rejected task was queued anyway";
}

TEST_P(EnqueueTest, MalformedId_EveryOperation_ThrowsInvalidArgument) {
  TASKSTORE_REQUIREMENTS("ENQ-5");
  const std::string bad_ids[] = {"", std::string(101, 'x'), "bad\xff", std::string("a\0b", 3)};
  for (const auto& id : bad_ids) {
    SCOPED_TRACE("id of " + std::to_string(id.size()) + " bytes");
    TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().enqueue(make_task(id))));
    TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().get_task(id)));
    TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().get_result(id)));
    TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().mark_running(id)));
    TASKSTORE_ERROR_MESSAGE(
        InvalidArgumentError,
        run(store().mark_done(id, TaskResult{.task_id = id, .finished_at = t0()})));
    TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().mark_failed(id, "e", false)));
    TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, run(store().reschedule(id, t0())));
  }
  const std::string longest(Task::kMaxIdBytes, 'k');
  EXPECT_EQ(run(store().enqueue(make_task(longest))), longest) << "a 100-byte id was refused";
}

TASKSTORE_INSTANTIATE_SUITE(EnqueueTest);

}  // namespace


}  // namespace taskstore::conformance
