// The queue's model-based property, on every registered backend (queue_property_tests runs
// it on the reference backends). Random sequences mix the storage commands with
// queue.enqueue, worker steps, runs of a started queue's prefetching workers and
// complete_task (queue_commands.hpp), every step compared with the reference model.
#include <gtest/gtest.h>

#include <iostream>

#include "queue_commands.hpp"
#include "taskstore/conformance/fixture.hpp"

namespace taskstore::queue::property {
namespace {

class QueueModelProperty : public tc::BackendTest {};

TEST_P(QueueModelProperty, RandomSequences_OfQueueAndStorageCommands_MatchTheReferenceModel) {
  TASKSTORE_REQUIREMENTS("QUE-1", "QUE-2", "QUE-3", "QUE-4", "QUE-5", "QUE-6", "QUE-7", "QUE-8",
                         "QUE-9", "QUE-10", "QUE-12", "QUE-13", "QUE-16", "QUE-17", "QUE-18");
  const tc::PropertyVerdict verdict = check_queue_against_model(GetParam(), tc::property_runs());
  if (!verdict.passed) {
    tc::record_violated_requirements(verdict.violated);
    FAIL() << verdict.report;
  }
  std::cout << verdict.report << '\n';
}

INSTANTIATE_TEST_SUITE_P(QueueProperty, QueueModelProperty,
                         ::testing::ValuesIn(tc::registered_backends()),
                         [](const ::testing::TestParamInfo<tc::Backend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace taskstore::queue::property
