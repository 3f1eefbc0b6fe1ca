// What the file store does when a write fails and putting things back fails too (FILE-7),
// with the system-call fault layer preloaded (ctest runs this program with
// LD_PRELOAD=libtaskstore_faults.so).

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
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

// Checks: FILE-7
TEST(FileIoErrors, ClaimWhoseUndoFails_IsPutBackBeforeTheNextWrite) {
  const auto layer = FaultLayer::loaded();
  ASSERT_TRUE(layer) << "run with LD_PRELOAD=" << conformance::fault_layer_library();
  conformance::TemporaryDirectory dir("file-io-error");
  layer->set_scope(dir.path().string());
  boost::asio::io_context io;
  FileStorage store(FileStorageOptions{.directory = dir.path() / "store"});
  sync_wait(io, store.enqueue(make_task("t")));

  // The claim's record is renamed into place, then the directory's fsync fails, and so
  // does every fsync after it: the claim fails and its undo can't be made durable.
  layer->arm(conformance::kFaultSync, 2, EIO, /*persist=*/true);
  EXPECT_THROW(sync_wait(io, store.dequeue(t0())), StorageError);
  // While the fault lasts, every write says why it can't go on.
  try {
    sync_wait(io, store.enqueue(make_task("u")));
    ADD_FAILURE() << "a write went on with a failed claim not put back";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("could not be undone yet"), std::string::npos)
        << e.what();
  }
  layer->clear();

  // The next write puts the task back first: it is PENDING and claimable, once.
  sync_wait(io, store.enqueue(make_task("u")));
  const auto task = sync_wait(io, store.get_task("t"));
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->status, TaskStatus::PENDING) << "the failed claim left the task held";
  EXPECT_EQ(task->attempts, 0);
  const auto first = sync_wait(io, store.dequeue(t0()));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id, "t");
  const auto second = sync_wait(io, store.dequeue(t0()));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id, "u");
  EXPECT_FALSE(sync_wait(io, store.dequeue(t0())).has_value());
}

}  // namespace
}  // namespace taskstore::file_test
