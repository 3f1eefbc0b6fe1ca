// Arbitrary tasks and results survive a store round trip unchanged, on every registered
// backend.
#include <gtest/gtest.h>

#include <iostream>

#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/property/property.hpp"

namespace taskstore::conformance {
namespace {

class RoundTripProperty : public BackendTest {};

TEST_P(RoundTripProperty, AnyValidTask_SurvivesEnqueueThenGetTaskUnchanged) {
  TASKSTORE_REQUIREMENTS("RT-1", "ENQ-1", "GET-1");
  const PropertyVerdict verdict = check_task_round_trip(GetParam(), property_runs());
  if (!verdict.passed) {
    record_violated_requirements(verdict.violated);
    FAIL() << verdict.report;
  }
  std::cout << verdict.report << '\n';
}

TEST_P(RoundTripProperty, AnySuccessResult_SurvivesMarkDoneThenGetResultUnchanged) {
  TASKSTORE_REQUIREMENTS("RT-2", "DONE-1", "RES-1");
  const PropertyVerdict verdict = check_result_round_trip(GetParam(), property_runs());
  if (!verdict.passed) {
    record_violated_requirements(verdict.violated);
    FAIL() << verdict.report;
  }
  std::cout << verdict.report << '\n';
}

INSTANTIATE_TEST_SUITE_P(Property, RoundTripProperty, ::testing::ValuesIn(registered_backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param.name;
                         });

}  // namespace

}  // namespace taskstore::conformance
