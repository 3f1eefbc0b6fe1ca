// VectorStorage's own tests, beside the conformance suite: what this backend does beyond
// the contract, or how it does it (plain googletest, no taskstore fixture needed).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <utility>

#include "taskstore/sync_wait.hpp"
#include "vector_storage.hpp"

namespace {

using namespace std::chrono_literals;
using taskstore::Task;
using taskstore::TaskStatus;
using taskstore::Timestamp;

const Timestamp kStart = taskstore::from_micros(1'700'000'000'000'000);

Task make_task(std::string id, Timestamp eta) {
  Task task;
  task.id = std::move(id);
  task.name = "example";
  task.eta = eta;
  return task;
}

TEST(VectorStorage, Clock_StampsEveryOperationWithoutANowArgument) {
  const Timestamp stamp = kStart + 42s;
  vector_example::VectorStorage store([stamp] { return stamp; });
  boost::asio::io_context io;
  taskstore::sync_wait(io, store.enqueue(make_task("a", kStart)));
  taskstore::sync_wait(io, store.mark_failed("a", "broken", false));
  EXPECT_EQ(taskstore::sync_wait(io, store.get_task("a"))->updated_at, stamp);
  EXPECT_EQ(taskstore::sync_wait(io, store.get_result("a"))->finished_at, stamp);
}

TEST(VectorStorage, Reschedule_KeepsEnqueueOrderAmongEqualEtas) {
  vector_example::VectorStorage store;
  boost::asio::io_context io;
  taskstore::sync_wait(io, store.enqueue(make_task("first", kStart)));
  taskstore::sync_wait(io, store.enqueue(make_task("second", kStart)));
  // Moving "first" away and back must not send it behind "second".
  taskstore::sync_wait(io, store.reschedule("first", kStart + 1h));
  taskstore::sync_wait(io, store.reschedule("first", kStart));
  const auto claim = taskstore::sync_wait(io, store.dequeue(kStart));
  ASSERT_TRUE(claim.has_value());
  EXPECT_EQ(claim->id, "first");
  EXPECT_EQ(claim->status, TaskStatus::RUNNING);
}

}  // namespace
