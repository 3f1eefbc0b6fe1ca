#pragma once
// The I/O-error sweep: the helper behind the suite's IOERR-1 and IOERR-2 test, public so a
// backend author can run it on their own store. Needs the fault layer in this process
// (FaultLayer::loaded(); the test programs load it themselves) and a backend whose
// environments name the directory of their files (StoreEnvironment::files_directory())
// and run the store where faults armed here fire (StoreEnvironment::shares_fault_layer():
// this process, or an exec driver started after the layer's control was shared).
//
// A dry run of a fixed mixed workload (enqueues, claims, mark_done, mark_failed with and
// without retry, mark_running, reschedule, purge_results; with batch_only, then a batch
// claim) on a new store counts the calls
// the layer sees under the store's directory. Then, for every one of those calls, each
// errno and both modes (the call fails once, or it and every later call fail until the
// fault is cleared), the workload runs again on a new store with that call failing, and:
//  - IOERR-1: every operation that failed raised StorageError; nothing acknowledged is
//    missing, no task is RUNNING that no acknowledged dequeue handed out, and every PENDING
//    task can be claimed: checked on the same instance once the fault is cleared, and again
//    after a reopen;
//  - IOERR-2: once the fault is cleared, the same instance enqueues, claims and completes a
//    new task, and the store reopens;
//  - BAT-6: a batch claim that raised left none of its tasks RUNNING.
// A case replays with TASKSTORE_FAULT_TRACE=1, which prints the calls the layer counts.

#include <cerrno>
#include <string>
#include <vector>

#include "taskstore/conformance/registry.hpp"

namespace taskstore::conformance {

struct IoErrorSweepOptions {
  std::vector<int> errors{EIO, ENOSPC};
  // BAT-6: the workload ends with a dequeue_batch (on a store that claims batches), and
  // only the calls that batch makes fail in turn; the findings about it go to
  // batch_all_or_nothing.
  bool batch_only = false;
};

struct IoErrorSweepReport {
  long calls = 0;        // calls of the workload, each failed in turn
  long cases = 0;        // cases run (calls x errors x 2 modes)
  long fired = 0;        // cases in which the armed fault really fired
  // Findings, each naming its case and listing what the workload saw.
  std::vector<std::string> all_or_nothing;  // IOERR-1
  std::vector<std::string> recovery;        // IOERR-2
  // BAT-6, with batch_only: a batch that raised left a task RUNNING that nobody holds.
  std::vector<std::string> batch_all_or_nothing;
  bool batches = false;  // with batch_only: the store claims batches, and the workload made one
  long batch_raised = 0;  // with batch_only: cases in which the batch raised
  // The sweep could not run as meant (the workload fails without a fault, or the layer
  // sees almost no I/O of the store): a finding of both requirements.
  std::vector<std::string> unusable;
  // Set when the store runs in another process and the layer saw none of its calls there:
  // the faults can't reach it, so neither requirement was checked (the reason, for a SKIP).
  std::string unreachable;

  // "91 calls x 2 errnos x once/persisting: 364 cases, 362 fired a fault".
  std::string summary() const;
};

// Runs the sweep on new stores of `backend`. Throws std::invalid_argument if the layer is
// not loaded or the backend's environments have no files_directory().
IoErrorSweepReport run_io_error_sweep(const Backend& backend, const IoErrorSweepOptions& options = {});

}  // namespace taskstore::conformance
