// Random sequences of all nine operations and clock steps, on every registered backend,
// compared step by step with the reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/property/property.hpp"
#include "taskstore/conformance/property/storage_commands.hpp"
#include "taskstore/conformance/requirements.hpp"

namespace taskstore::conformance {
namespace {

class StorageModelProperty : public BackendTest {};

#define TASKSTORE_MODEL_REQUIREMENTS                                                            \
  "ENQ-1", "ENQ-2", "ENQ-3", "ENQ-4", "ENQ-5", "DEQ-1", "DEQ-2", "DEQ-3", "DEQ-4", "DEQ-5",      \
      "DEQ-8", "RUN-1", "RUN-2", "DONE-1", "DONE-2", "DONE-3", "RES-1", "RES-2", "PUR-1",        \
      "PUR-2", "PUR-3", "PUR-4", "FAIL-1", "FAIL-2", "FAIL-3", "GET-1", "GET-2", "RSC-1",        \
      "RSC-2", "RSC-4", "RSC-6", "RSC-7", "ERR-1", "ERR-2", "RT-1", "RT-2"

// Runs the model check (`runs` sequences) with the commands that reach the selected ones of
// `ids` (all of them without --filter), less those in `left_out`, and reports its verdict.
void check_model(const Backend& backend, std::initializer_list<const char*> ids,
                 std::uint32_t left_out, int runs) {
  std::vector<std::string> selected;
  for (const char* id : ids) {
    if (requirement_selected(id)) selected.emplace_back(id);
  }
  const PropertyVerdict verdict =
      check_against_model(backend, runs, commands_for(selected) & ~left_out);
  const bool hits_selection =
      std::any_of(verdict.violated.begin(), verdict.violated.end(),
                  [](const std::string& id) { return requirement_selected(id); });
  if (!verdict.passed && !verdict.violated.empty() && !hits_selection) {
    // The run stopped at a failure the selection leaves out: the selected requirements
    // were not checked to the end, and the failure is not theirs to report.
    std::string ids;
    for (const auto& id : verdict.violated) ids += (ids.empty() ? "" : ", ") + id;
    GTEST_SKIP() << "not checked: the random sequences stopped at a failure of " << ids
                 << ", which --filter leaves out (run with --filter " << verdict.violated.front()
                 << " to see it)";
  }
  if (!verdict.passed) {
    record_violated_requirements(verdict.violated);
    FAIL() << verdict.report;
  }
  std::cout << verdict.report << '\n';
}

TEST_P(StorageModelProperty, RandomSequences_MatchTheReferenceModel) {
  TASKSTORE_REQUIREMENTS(TASKSTORE_MODEL_REQUIREMENTS);
  // Batch claims are the next test's: a batch bug must not show under these IDs.
  check_model(GetParam(), {TASKSTORE_MODEL_REQUIREMENTS}, command_bit(Operation::dequeue_batch),
              property_runs());
}

TEST_P(StorageModelProperty, RandomSequencesWithBatchClaims_MatchTheReferenceModel) {
  TASKSTORE_REQUIREMENTS("BAT-1", "BAT-2", "BAT-3");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  // Half as many sequences: the rules they reach are few, and those of a single dequeue
  // have the test above.
  check_model(GetParam(), {"BAT-1", "BAT-2", "BAT-3"}, 0, std::max(1, property_runs() / 2));
}

INSTANTIATE_TEST_SUITE_P(Property, StorageModelProperty, ::testing::ValuesIn(registered_backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param.name;
                         });

}  // namespace

}  // namespace taskstore::conformance
