// I/O errors: IOERR-1 and IOERR-2, through run_io_error_sweep
// (taskstore/conformance/io_error_sweep.hpp): every system call a fixed workload makes on
// the store's files fails in turn, with EIO and ENOSPC, once and persisting.
#include <gtest/gtest.h>

#include <iostream>

#include "taskstore/conformance/fault_layer.hpp"
#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/io_error_sweep.hpp"

namespace taskstore::conformance {
namespace {

// Makes its own stores, one per case: it holds no instance.
class IoErrorTest : public BackendTest {
 protected:
  void SetUpBackend() override {}
  void TearDownBackend() override {}
};

TEST_P(IoErrorTest, EveryCallOfAWorkloadFails_OperationsAreAllOrNothingAndRecover) {
  TASKSTORE_REQUIREMENTS("IOERR-1", "IOERR-2");
  TASKSTORE_REQUIRE_CAPABILITY(persistent);
  if (const std::string why_not = fault_injection_absence(
          backend().name, *backend().make_environment(), "I/O error", true);
      !why_not.empty()) {
    GTEST_SKIP() << why_not;
  }
  const IoErrorSweepReport report = run_io_error_sweep(backend());
  RecordProperty("io_error_sweep", report.summary());
  std::cout << "I/O-error sweep on " << backend().name << ": " << report.summary()
            << " (TASKSTORE_FAULT_TRACE=1 lists each call)" << std::endl;
  if (!report.unreachable.empty()) GTEST_SKIP() << report.unreachable;
  for (const auto& why : report.unusable) ADD_FAILURE() << why;
  if (!report.unusable.empty()) return;
  // One root cause, one ID where the findings allow it.
  std::vector<std::string> violated;
  if (!report.all_or_nothing.empty()) violated.push_back("IOERR-1");
  if (!report.recovery.empty()) violated.push_back("IOERR-2");
  if (!violated.empty()) record_violated_requirements(violated);
  // The first few cases in full: the rest are usually the same finding at another call.
  constexpr std::size_t kShown = 3;
  for (const auto* findings : {&report.all_or_nothing, &report.recovery}) {
    for (std::size_t i = 0; i < findings->size() && i < kShown; ++i) ADD_FAILURE() << (*findings)[i];
    if (findings->size() > kShown) {
      ADD_FAILURE() << "... and " << findings->size() - kShown << " more cases like these";
    }
  }
}

TASKSTORE_INSTANTIATE_SUITE(IoErrorTest);

}  // namespace
}  // namespace taskstore::conformance
