// The fault layer at work (run with LD_PRELOAD=libtaskstore_faults.so, as ctest does):
// first the layer's own contract, then the I/O-error sweep's (run_io_error_sweep, which
// the suite runs on every backend for IOERR-1 and IOERR-2): it must catch a store that
// acknowledges a failed write and one that stays broken after the fault clears, and it
// runs the file store's other write path, which the suite's default environment does not.
// A case replays with TASKSTORE_FAULT_TRACE=1, which prints each call the layer counts.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "taskstore/conformance/claim_check.hpp"
#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/fault_layer.hpp"
#include "taskstore/conformance/io_error_sweep.hpp"
#include "taskstore/errors.hpp"
#include "taskstore/file_storage.hpp"
#include "taskstore/sqlite_storage.hpp"
#include "taskstore/storage_wrapper.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const FaultLayer& layer() {
  static const std::optional<FaultLayer> loaded = FaultLayer::loaded();
  if (!loaded) {
    ADD_FAILURE() << "the fault layer is not loaded: run with LD_PRELOAD=" << fault_layer_library();
    std::abort();
  }
  return *loaded;
}

int open_file(const fs::path& path) { return ::open(path.c_str(), O_RDWR | O_CREAT, 0644); }

// An exec driver runs the store in a process of its own: faults armed here must fire
// there, and its calls count here (taskstore_faults_share). The shell stands in for it.
TEST(FaultLayer, SharedControl_ReachesAProcessStartedLater) {
  ASSERT_TRUE(layer().share_with_processes_started_later());
  TemporaryDirectory dir("faults");
  layer().set_scope(dir.path().string());
  const std::string create = "/bin/sh -c ': > \"" + (dir.path() / "f").string() + "\"'";
  const long before = layer().calls(kFaultOpen);
  ASSERT_EQ(std::system(create.c_str()), 0);
  EXPECT_GT(layer().calls(kFaultOpen), before) << "the child's open was not counted here";
  const long fired = layer().fired();
  layer().arm(kFaultOpen, 1, EIO, true);
  EXPECT_NE(std::system(create.c_str()), 0) << "a fault armed here did not fire in the child";
  layer().clear();
  EXPECT_GT(layer().fired(), fired);
  EXPECT_EQ(std::system(create.c_str()), 0) << "the fault outlived clear()";
  layer().set_scope("");
}

TEST(FaultLayer, FailsTheNthCallInScopeOnce) {
  TemporaryDirectory dir("faults");
  layer().set_scope(dir.path().string());
  const int fd = open_file(dir.path() / "f");
  ASSERT_GE(fd, 0);
  layer().arm(kFaultSync, 2, EIO, false);
  EXPECT_EQ(::fsync(fd), 0);
  EXPECT_EQ(::fsync(fd), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(::fsync(fd), 0) << "a fault armed once fired again";
  EXPECT_EQ(::write(fd, "x", 1), 1) << "a kind not armed failed";
  layer().clear();
  ::close(fd);
}

TEST(FaultLayer, PersistsUntilClearedAndIgnoresFilesOutsideItsScope) {
  TemporaryDirectory dir("faults");
  TemporaryDirectory outside("elsewhere");
  layer().set_scope(dir.path().string());
  const int in = open_file(dir.path() / "f");
  const int out = open_file(outside.path() / "f");
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  const long before = layer().calls(kFaultWrite);
  layer().arm(kFaultWrite, 1, ENOSPC, true);
  EXPECT_EQ(::write(out, "x", 1), 1) << "a file outside the scope was failed";
  EXPECT_EQ(::write(in, "x", 1), -1);
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_EQ(::write(in, "x", 1), -1) << "a persistent fault stopped on its own";
  EXPECT_EQ(::rename((dir.path() / "f").c_str(), (dir.path() / "g").c_str()), 0)
      << "a kind not armed failed";
  layer().clear();
  EXPECT_EQ(::write(in, "x", 1), 1) << "the fault outlived clear()";
  EXPECT_EQ(layer().calls(kFaultWrite) - before, 3) << "writes outside the scope were counted";
  ::close(in);
  ::close(out);
}

// --- The sweep's own tests -----------------------------------------------------------------

// A store in a directory of its own, each instance made by `open` and wrapped by `wrap`.
class SweepEnvironment final : public StoreEnvironment {
 public:
  using Open = std::function<std::shared_ptr<BaseStorage>(const fs::path& directory, Clock clock)>;
  explicit SweepEnvironment(Open open) : open_(std::move(open)) {}

  std::shared_ptr<BaseStorage> open() override { return open_(directory_.path(), system_clock()); }
  std::shared_ptr<BaseStorage> open_with_clock(Clock clock) override {
    return open_(directory_.path(), std::move(clock));
  }
  std::string location() const override { return directory_.path().string(); }
  std::optional<fs::path> files_directory() const override { return directory_.path(); }

 private:
  TemporaryDirectory directory_{"io-sweep"};
  Open open_;
};

Backend sweep_backend(const std::string& name, SweepEnvironment::Open open) {
  return Backend{.name = name,
                 .capabilities = {.persistent = true},
                 .make_environment = [open] { return std::make_unique<SweepEnvironment>(open); }};
}

std::shared_ptr<BaseStorage> open_sqlite(const fs::path& directory, Clock clock) {
  return std::make_shared<SqliteStorage>(
      SqliteStorageOptions{.path = directory / "q.db", .clock = std::move(clock)});
}

std::string joined(const std::vector<std::string>& findings) {
  std::string text;
  for (const auto& f : findings) text += f;
  return text;
}

// Acknowledges an enqueue whatever happened (it swallows StorageError): IOERR-1.
class SwallowsEnqueueErrors final : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  Awaitable<std::string> enqueue(Task task) override {
    const std::string id = task.id;
    try {
      auto op = target().enqueue(std::move(task));
      co_await std::move(op);
    } catch (const StorageError&) {
    }
    co_return id;
  }
};

// Checks: IOERR-1
TEST(IoErrorSweep, StoreThatSwallowsAnEnqueueError_IsCaught) {
  const IoErrorSweepReport report = run_io_error_sweep(
      sweep_backend("sqlite_swallowing_enqueue_errors", [](const fs::path& directory, Clock clock) {
        return std::make_shared<SwallowsEnqueueErrors>(open_sqlite(directory, std::move(clock)));
      }));
  EXPECT_TRUE(report.unusable.empty()) << joined(report.unusable);
  EXPECT_NE(joined(report.all_or_nothing).find("acknowledged enqueue of"), std::string::npos)
      << "the sweep did not see acknowledged enqueues go missing: " << report.summary();
  EXPECT_TRUE(report.recovery.empty()) << joined(report.recovery);
}

// After one StorageError, raises StorageError on every call until it is reopened: IOERR-2.
class StaysBrokenAfterAnError final : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  Awaitable<std::string> enqueue(Task task) override {
    check();
    try {
      auto op = target().enqueue(std::move(task));
      co_return co_await std::move(op);
    } catch (const StorageError&) {
      broken_ = true;
      throw;
    }
  }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    check();
    auto op = target().dequeue(now);
    co_return co_await std::move(op);
  }

 private:
  void check() const {
    if (broken_) throw StorageError("this instance gave up after an earlier I/O error");
  }
  bool broken_ = false;
};

// Checks: IOERR-2
TEST(IoErrorSweep, StoreThatStaysBrokenAfterAnError_IsCaught) {
  const IoErrorSweepReport report = run_io_error_sweep(
      sweep_backend("sqlite_staying_broken", [](const fs::path& directory, Clock clock) {
        return std::make_shared<StaysBrokenAfterAnError>(open_sqlite(directory, std::move(clock)));
      }));
  EXPECT_TRUE(report.unusable.empty()) << joined(report.unusable);
  EXPECT_NE(joined(report.recovery).find("the same instance failed"), std::string::npos)
      << "the sweep did not see an instance stay broken: " << report.summary();
  EXPECT_TRUE(report.all_or_nothing.empty()) << joined(report.all_or_nothing);
}

// Claims a batch one dequeue at a time, each committed on its own: a failure part way
// leaves the claims before it made, with nobody holding them (BAT-6).
class BatchOfSeparateCommits final : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  bool claims_batches() const override { return forwards_batches(); }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    std::vector<Task> batch;
    while (batch.size() < max) {
      auto op = target().dequeue(now);
      std::optional<Task> task = co_await std::move(op);
      if (!task) break;
      batch.push_back(std::move(*task));
    }
    co_return batch;
  }
};

// Checks: BAT-6
TEST(IoErrorSweep, BatchOfSeparateCommits_IsCaught) {
  const IoErrorSweepReport report = run_io_error_sweep(
      sweep_backend("sqlite_batch_of_separate_commits",
                    [](const fs::path& directory, Clock clock) {
                      return std::make_shared<BatchOfSeparateCommits>(
                          open_sqlite(directory, std::move(clock)));
                    }),
      IoErrorSweepOptions{.batch_only = true});
  EXPECT_TRUE(report.unusable.empty()) << joined(report.unusable);
  EXPECT_TRUE(report.batches) << "the sweep's workload made no batch claim";
  EXPECT_NE(joined(report.batch_all_or_nothing).find("after a dequeue_batch that raised"),
            std::string::npos)
      << "the sweep did not see a failed batch leave a claim behind: " << report.summary();
  EXPECT_TRUE(report.all_or_nothing.empty()) << joined(report.all_or_nothing);
  EXPECT_TRUE(report.recovery.empty()) << joined(report.recovery);
}

// Before issue 16's fixes the sweep found, on both write paths of the file store, a
// PENDING task without its due entry and claims left RUNNING with nobody holding them.
// The suite sweeps the grouped path (the default); this is the other one.
TEST(IoErrorSweep, FileStoreWritingDirectly_KeepsIoErr1AndIoErr2) {
  const IoErrorSweepReport report = run_io_error_sweep(
      sweep_backend("file_direct", [](const fs::path& directory, Clock clock) {
        return std::make_shared<FileStorage>(FileStorageOptions{
            .directory = directory / "store", .clock = std::move(clock), .max_group_size = 1});
      }));
  std::cout << "I/O-error sweep on the file store, every write alone: " << report.summary() << "\n";
  EXPECT_TRUE(report.unusable.empty()) << joined(report.unusable);
  EXPECT_TRUE(report.all_or_nothing.empty()) << joined(report.all_or_nothing);
  EXPECT_TRUE(report.recovery.empty()) << joined(report.recovery);
}

}  // namespace
}  // namespace taskstore::conformance
