// The reference model on hand-written cases: the oracle of the property tests is checked
// against the spec's own examples before it judges any backend.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "taskstore/conformance/property/generators.hpp"
#include "taskstore/conformance/property/model.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;
using generators::kT0;

Task plain_task(std::string id, Timestamp eta = kT0) {
  Task task;
  task.id = std::move(id);
  task.name = "job";
  task.eta = eta;
  task.created_at = kT0;
  task.updated_at = kT0;
  return task;
}

// Checks: DEQ-5 (found by fuzz_ops_*: the model overflowed where every backend saturates)
TEST(ReferenceModel, Dequeue_AttemptsAtTheLimit_StayThere) {
  ReferenceModel model(kT0);
  Task task = plain_task("t");
  task.attempts = std::numeric_limits<std::int32_t>::max();
  model.enqueue(task);
  const auto claim = model.dequeue(kT0);
  ASSERT_TRUE(claim.value.has_value());
  EXPECT_EQ(claim.value->attempts, std::numeric_limits<std::int32_t>::max());
}

// Checks: DEQ-3, DEQ-4, DEQ-5
TEST(ReferenceModel, Dequeue_EarliestEtaThenEnqueueOrder_AtTheBoundary) {
  ReferenceModel model(kT0);
  model.enqueue(plain_task("late", kT0 + 1us));
  model.enqueue(plain_task("first", kT0));
  model.enqueue(plain_task("second", kT0));
  EXPECT_EQ(model.dequeue(kT0).value->id, "first");
  const auto claim = model.dequeue(kT0);
  ASSERT_TRUE(claim.value.has_value());
  EXPECT_EQ(claim.value->id, "second");
  EXPECT_EQ(claim.value->status, TaskStatus::RUNNING);
  EXPECT_EQ(claim.value->attempts, 1);
  EXPECT_EQ(claim.value->updated_at, kT0);
  EXPECT_FALSE(model.dequeue(kT0).value.has_value()) << "due 1us early";
  EXPECT_EQ(model.dequeue(kT0 + 1us).value->id, "late");
}

// Checks: DEQ-4, RSC-6, RSC-7
TEST(ReferenceModel, Reschedule_KeepsAttemptsAndEnqueueOrder) {
  ReferenceModel model(kT0);
  model.enqueue(plain_task("a"));
  model.enqueue(plain_task("b"));
  ASSERT_EQ(model.dequeue(kT0).value->id, "a");
  model.set_clock(kT0 + 3s);
  ASSERT_TRUE(model.mark_failed("a", "boom", true).ok());
  ASSERT_TRUE(model.reschedule("a", kT0).ok());
  const Task* a = model.find_task("a");
  EXPECT_EQ(a->attempts, 1);
  EXPECT_EQ(a->status, TaskStatus::PENDING);
  EXPECT_EQ(a->last_error, "boom");
  EXPECT_EQ(a->updated_at, kT0 + 3s);
  EXPECT_EQ(model.dequeue(kT0).value->id, "a") << "ties go by enqueue order, not reschedule order";
}

// Checks: PUR-1, PUR-2, PUR-3, PUR-4, FAIL-3
TEST(ReferenceModel, Purge_IsStrictlyBeforeTheCutoff) {
  ReferenceModel model(kT0);
  model.enqueue(plain_task("old"));
  model.enqueue(plain_task("edge"));
  model.mark_done("old", TaskResult{.task_id = "old", .finished_at = kT0 - 1us});
  model.set_clock(kT0);
  model.mark_failed("edge", "gone", false);
  EXPECT_EQ(model.find_result("edge")->finished_at, kT0);
  const auto purge = model.purge_results(kT0);
  EXPECT_EQ(purge.value, 1u);
  EXPECT_EQ(purge.rule, "PUR-2");
  EXPECT_EQ(model.find_result("old"), nullptr);
  EXPECT_NE(model.find_result("edge"), nullptr);
  EXPECT_NE(model.find_task("old"), nullptr);
  EXPECT_EQ(model.purge_results(kT0).value, 0u);
}

// Checks: ENQ-3, ENQ-4, ENQ-5, DONE-3, ERR-1, RSC-2
TEST(ReferenceModel, Errors_AreTypedAndChangeNothing) {
  ReferenceModel model(kT0);
  model.enqueue(plain_task("a"));
  const ReferenceModel before = model;
  EXPECT_EQ(model.enqueue(plain_task("a")).error, ErrorKind::conflict);
  Task nameless = plain_task("a");
  nameless.name.clear();
  const auto both = model.enqueue(nameless);
  EXPECT_EQ(both.error, ErrorKind::invalid_argument);
  EXPECT_TRUE(both.allows(ErrorKind::conflict));
  EXPECT_EQ(model.get_task(std::string("a\0b", 3)).error, ErrorKind::invalid_argument);
  EXPECT_EQ(model.mark_running("nope").error, ErrorKind::not_found);
  EXPECT_EQ(model.reschedule("nope", kT0).rule, "RSC-2");
  const auto mismatched = model.mark_done("nope", TaskResult{.task_id = "other"});
  EXPECT_EQ(mismatched.error, ErrorKind::invalid_argument);
  EXPECT_TRUE(mismatched.allows(ErrorKind::not_found));
  EXPECT_EQ(model.mark_done("a", TaskResult{.task_id = "a", .status = TaskStatus::FAILED}).rule,
            "DONE-3");
  EXPECT_EQ(model, before);
}

}  // namespace
}  // namespace taskstore::conformance
