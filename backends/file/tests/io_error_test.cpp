// What the file store does when a write fails and putting things back fails too (FILE-7),
// with the system-call fault layer preloaded (ctest runs this program with
// LD_PRELOAD=libtaskstore_faults.so).

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <cerrno>
#include <optional>
#include <string>

#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/conformance/fault_layer.hpp"
#include "taskstore/errors.hpp"
#include "taskstore/file_storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::file_test {
namespace {

using conformance::FaultLayer;

Timestamp t0() { return from_micros(1'767'225'600'000'001); }

Task make_task(const std::string& id) {
  Task task;
  task.id = id;
  task.name = "io-error";
  task.eta = t0() - std::chrono::seconds(1);
  task.created_at = t0();
  task.updated_at = t0();
  return task;
}

// Claims `t` on `store` while the second fsync and every later one fail: the claim's record
// is renamed into place, then the directory's fsync fails, and so does putting the record
// back, so the store owes it.
void fail_a_claim_and_its_undo(const FaultLayer& layer, boost::asio::io_context& io,
                               FileStorage& store) {
  layer.arm(conformance::kFaultSync, 2, EIO, /*persist=*/true);
  EXPECT_THROW(sync_wait(io, store.dequeue(t0())), StorageError);
  // While the fault lasts, every write says why it can't go on.
  try {
    sync_wait(io, store.enqueue(make_task("u")));
    ADD_FAILURE() << "a write went on with a failed claim not put back";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("could not be undone yet"), std::string::npos)
        << e.what();
  }
  layer.clear();
}

class FileIoErrors : public ::testing::TestWithParam<std::size_t> {
 protected:
  FileIoErrors() : layer_(FaultLayer::loaded()) {}
  FileStorageOptions options() const {
    return {.directory = dir_.path() / "store", .max_group_size = GetParam()};
  }
  const std::optional<FaultLayer> layer_;
  conformance::TemporaryDirectory dir_{"file-io-error"};
  boost::asio::io_context io_;
};

// Checks: FILE-7
TEST_P(FileIoErrors, ClaimWhoseUndoFails_IsPutBackBeforeTheNextWrite) {
  ASSERT_TRUE(layer_) << "run with LD_PRELOAD=" << conformance::fault_layer_library();
  layer_->set_scope(dir_.path().string());
  FileStorage store(options());
  sync_wait(io_, store.enqueue(make_task("t")));
  fail_a_claim_and_its_undo(*layer_, io_, store);

  // The next write puts the task back first: it is PENDING and claimable, once.
  sync_wait(io_, store.enqueue(make_task("u")));
  const auto task = sync_wait(io_, store.get_task("t"));
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->status, TaskStatus::PENDING) << "the failed claim left the task held";
  EXPECT_EQ(task->attempts, 0);
  const auto first = sync_wait(io_, store.dequeue(t0()));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id, "t");
  const auto second = sync_wait(io_, store.dequeue(t0()));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id, "u");
  EXPECT_FALSE(sync_wait(io_, store.dequeue(t0())).has_value());
}

// Checks: FILE-7
TEST_P(FileIoErrors, OwedPutBack_NeverUndoesAnotherInstancesLaterWrite) {
  ASSERT_TRUE(layer_) << "run with LD_PRELOAD=" << conformance::fault_layer_library();
  layer_->set_scope(dir_.path().string());
  FileStorage store(options());
  FileStorage other(options());
  sync_wait(io_, store.enqueue(make_task("t")));
  fail_a_claim_and_its_undo(*layer_, io_, store);
  // Another instance finishes the task (it found it RUNNING) before the first one writes.
  sync_wait(io_, other.mark_done("t", TaskResult{.task_id = "t", .finished_at = t0()}));
  sync_wait(io_, store.enqueue(make_task("u")));  // settles what it owes: nothing to undo
  const auto task = sync_wait(io_, store.get_task("t"));
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->status, TaskStatus::SUCCESS) << "the owed put-back undid a later write";
  EXPECT_TRUE(sync_wait(io_, store.get_result("t")).has_value());
}

// Checks: FILE-7
TEST_P(FileIoErrors, ProcessThatDiesOwingAPutBack_TheNextOpenPutsItBack) {
  ASSERT_TRUE(layer_) << "run with LD_PRELOAD=" << conformance::fault_layer_library();
  layer_->set_scope(dir_.path().string());
  {
    FileStorage store(options());
    sync_wait(io_, store.enqueue(make_task("t")));
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Fails a claim and its undo, then dies without closing the store (no last try).
    boost::asio::io_context io;
    FileStorage store(options());
    fail_a_claim_and_its_undo(*layer_, io, store);
    ::_exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child's claim and undo did not fail as planned (status " << status << ")";

  FileStorage store(options());
  const auto task = sync_wait(io_, store.get_task("t"));
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->status, TaskStatus::PENDING) << "the dead process's failed claim is still held";
  EXPECT_EQ(task->attempts, 0);
  const auto first = sync_wait(io_, store.dequeue(t0()));
  ASSERT_TRUE(first.has_value()) << "the task put back at open is not claimable";
  EXPECT_EQ(first->id, "t");
  EXPECT_FALSE(sync_wait(io_, store.dequeue(t0())).has_value());
  const std::filesystem::path owed = options().directory / "owed";
  ASSERT_TRUE(std::filesystem::exists(owed)) << "the dying process wrote no note";
  EXPECT_TRUE(std::filesystem::is_empty(owed)) << "a settled note was left behind";
}

INSTANTIATE_TEST_SUITE_P(WritePaths, FileIoErrors, ::testing::Values(256, 1),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           return info.param == 1 ? std::string("Direct") : std::string("Grouped");
                         });

}  // namespace
}  // namespace taskstore::file_test
