// Errors: ERR-1, ERR-2.
#include <algorithm>

#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

class ErrorsTest : public ConformanceTest {};

TEST_P(ErrorsTest, UnknownId_EveryMutation_ThrowsNotFoundAndLeavesNothing) {
  TASKSTORE_REQUIREMENTS("ERR-1", "ERR-2");
  add_task("bystander");
  const std::string ghost = "ghost";
  struct Case {
    const char* operation;
    std::function<void()> call;
  };
  const Case cases[] = {
      {"mark_running", [&] { run(store().mark_running(ghost)); }},
      {"mark_done",
       [&] { run(store().mark_done(ghost, TaskResult{.task_id = ghost, .finished_at = t0()})); }},
      {"mark_failed", [&] { run(store().mark_failed(ghost, "boom", true)); }},
      {"mark_failed", [&] { run(store().mark_failed(ghost, "boom", false)); }},
      {"reschedule", [&] { run(store().reschedule(ghost, t0())); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.operation);
    const std::string message = error_message<NotFoundError>("NotFoundError", c.call);
    EXPECT_NE(message.find(ghost), std::string::npos) << "message lacks the id: " << message;
    EXPECT_NE(message.find(c.operation), std::string::npos)
        << "message lacks the operation: " << message;
    EXPECT_TRUE(no_task(ghost)) << "the operation created a task";
    EXPECT_TRUE(no_result(ghost)) << "an orphan result was stored";
  }
  // A century on, or the last time the backend stores if that comes first.
  const Timestamp later =
      std::min(t0() + std::chrono::hours(24 * 365 * 100), backend().capabilities.times.latest);
  EXPECT_EQ(run(store().purge_results(later)), 0u)
      << "a result was stored somewhere for an unknown task";
  EXPECT_EQ(must_get("bystander").status, TaskStatus::PENDING);
}

TEST_P(ErrorsTest, Errors_AreStorageErrorsNamingOperationAndId) {
  TASKSTORE_REQUIREMENTS("ERR-2");
  add_task("twice");
  try {
    run(store().enqueue(make_task("twice")));
    ADD_FAILURE() << "duplicate enqueue did not throw";
  } catch (const StorageError& e) {
    EXPECT_NE(dynamic_cast<const ConflictError*>(&e), nullptr) << "not a ConflictError: " << e.what();
    EXPECT_NE(std::string(e.what()).find("twice"), std::string::npos) << e.what();
  }
  try {
    run(store().mark_running("missing-id"));
    ADD_FAILURE() << "mark_running of an unknown id did not throw";
  } catch (const StorageError& e) {
    EXPECT_NE(dynamic_cast<const NotFoundError*>(&e), nullptr) << "not a NotFoundError: " << e.what();
    EXPECT_NE(std::string(e.what()).find("missing-id"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mark_running"), std::string::npos) << e.what();
  }
}

TASKSTORE_INSTANTIATE_SUITE(ErrorsTest);

}  // namespace


}  // namespace taskstore::conformance
