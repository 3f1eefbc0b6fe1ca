// I/O errors: IOERR-1 and IOERR-2, and BAT-6 on a store that claims batches, through
// run_io_error_sweep
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

  // Runs the sweep on this backend and says so.
  IoErrorSweepReport sweep(const IoErrorSweepOptions& options) {
    IoErrorSweepReport report = run_io_error_sweep(backend(), options);
    RecordProperty("io_error_sweep", report.summary());
    std::cout << "I/O-error sweep on " << backend().name << (options.batch_only ? " (batch)" : "")
              << ": " << report.summary() << " (TASKSTORE_FAULT_TRACE=1 lists each call)"
              << std::endl;
    return report;
  }

  // Why the sweep can't run on this backend, or "".
  std::string absence() {
    return fault_injection_absence(backend().name, *backend().make_environment(), "I/O error",
                                   true);
  }

  // The first few findings in full: the rest are usually the same finding at another call.
  static void show(const std::vector<std::string>& findings) {
    constexpr std::size_t kShown = 3;
    for (std::size_t i = 0; i < findings.size() && i < kShown; ++i) ADD_FAILURE() << findings[i];
    if (findings.size() > kShown) {
      ADD_FAILURE() << "... and " << findings.size() - kShown << " more cases like these";
    }
  }
};

TEST_P(IoErrorTest, EveryCallOfAWorkloadFails_OperationsAreAllOrNothingAndRecover) {
  TASKSTORE_REQUIREMENTS("IOERR-1", "IOERR-2");
  TASKSTORE_REQUIRE_CAPABILITY(persistent);
  if (const std::string why_not = absence(); !why_not.empty()) GTEST_SKIP() << why_not;
  const IoErrorSweepReport report = sweep({});
  if (!report.unreachable.empty()) GTEST_SKIP() << report.unreachable;
  for (const auto& why : report.unusable) ADD_FAILURE() << why;
  if (!report.unusable.empty()) return;
  // One root cause, one ID where the findings allow it.
  std::vector<std::string> violated;
  if (!report.all_or_nothing.empty()) violated.push_back("IOERR-1");
  if (!report.recovery.empty()) violated.push_back("IOERR-2");
  if (!violated.empty()) record_violated_requirements(violated);
  show(report.all_or_nothing);
  show(report.recovery);
}

TEST_P(IoErrorTest, BatchClaimMeetsAnIoError_ClaimsNoneOfItsTasks) {
  TASKSTORE_REQUIREMENTS("BAT-6");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  TASKSTORE_REQUIRE_CAPABILITY(persistent);
  if (const std::string why_not = absence(); !why_not.empty()) GTEST_SKIP() << why_not;
  // Only the calls of the batch at the workload's end fail in turn: the rest is IOERR-1's.
  const IoErrorSweepReport report = sweep({.batch_only = true});
  if (!report.unreachable.empty()) GTEST_SKIP() << report.unreachable;
  // An unusable sweep is IOERR-1's and IOERR-2's finding; it checked nothing here.
  if (!report.unusable.empty()) {
    GTEST_SKIP() << "not checked: the I/O-error sweep could not run (see IOERR-1)";
  }
  if (!report.batches) {
    GTEST_SKIP() << "not checked: the sweep's workload made no batch claim (the instance's "
                    "claims_batches() is false; BAT-1 reports that)";
  }
  if (report.batch_raised == 0) {
    GTEST_SKIP() << "not checked: no fault made the batch raise (" << report.summary() << ")";
  }
  show(report.batch_all_or_nothing);
  // Every fault here hits the batch: what else the sweep found is the batch's doing too.
  show(report.all_or_nothing);
  show(report.recovery);
}

TASKSTORE_INSTANTIATE_SUITE(IoErrorTest);

}  // namespace
}  // namespace taskstore::conformance
