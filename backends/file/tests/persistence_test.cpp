// Everything survives closing the store and opening it again (FILE-5), and opening
// heals the due index (FILE-8).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "taskstore/file_storage.hpp"
#include "test_support.hpp"

namespace taskstore::file_test {
namespace {

// Checks: FILE-5
TEST(FilePersistence, ReopenKeepsTasksResultsStatusesAndDequeueOrder) {
  TempDir dir;
  boost::asio::io_context io;
  TestClock clock(2'000'000);
  std::map<std::string, Task> tasks_before;
  std::map<std::string, std::optional<TaskResult>> results_before;
  const std::vector<std::string> ids = {"tie-c", "tie-a",  "tie-b",    "early",   "late",
                                        "done",  "failed", "retrying", "running", "moved"};
  {
    auto store = open_store(dir.path(), clock.clock());
    sync_wait(io, store->enqueue(make_task("moved", 500)));  // enqueued first, rescheduled later
    sync_wait(io, store->enqueue(make_task("tie-c", 500)));
    sync_wait(io, store->enqueue(make_task("tie-a", 500)));
    sync_wait(io, store->enqueue(tricky_task("tie-b")));
    sync_wait(io, store->reschedule("tie-b", from_micros(500)));
    sync_wait(io, store->enqueue(make_task("early", -7)));
    sync_wait(io, store->enqueue(make_task("late", 900)));
    for (const char* id : {"done", "failed", "retrying", "running"}) {
      sync_wait(io, store->enqueue(make_task(id, -100)));
      ASSERT_EQ(sync_wait(io, store->dequeue(from_micros(-100)))->id, id);
    }
    sync_wait(io, store->mark_done("done", TaskResult{.task_id = "done",
                                                .value = to_bytes(std::string("\0ok", 3)),
                                                .finished_at = from_micros(42)}));
    sync_wait(io, store->mark_failed("failed", "fatal", false));
    sync_wait(io, store->mark_failed("retrying", "again", true));
    sync_wait(io, store->reschedule("moved", from_micros(100)));
    sync_wait(io, store->reschedule("moved", from_micros(500)));  // back: keeps its first place
    for (const auto& id : ids) {
      tasks_before[id] = *sync_wait(io, store->get_task(id));
      results_before[id] = sync_wait(io, store->get_result(id));
    }
  }

  {
    auto store = open_store(dir.path(), clock.clock());
    for (const auto& id : ids) {
      EXPECT_EQ(sync_wait(io, store->get_task(id)), tasks_before[id]) << id;
      EXPECT_EQ(sync_wait(io, store->get_result(id)), results_before[id]) << id;
    }
    EXPECT_EQ(tasks_before["retrying"].status, TaskStatus::RETRYING);
    ASSERT_TRUE(results_before["failed"]);
    EXPECT_EQ(results_before["failed"]->error, "fatal");
    // A task enqueued after the reopen ties after the older ones.
    sync_wait(io, store->enqueue(make_task("tie-new", 500)));
    EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(1'000)))->id, "early");
    EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(1'000)))->id, "moved");
  }

  auto store = open_store(dir.path(), clock.clock());
  std::vector<std::string> order;
  while (auto task = sync_wait(io, store->dequeue(from_micros(1'000)))) order.push_back(task->id);
  EXPECT_EQ(order, (std::vector<std::string>{"tie-c", "tie-a", "tie-b", "tie-new", "late"}));
  EXPECT_EQ(sync_wait(io, store->get_task("moved"))->status, TaskStatus::RUNNING);
  EXPECT_EQ(sync_wait(io, store->get_task("running"))->status, TaskStatus::RUNNING);
}

// A PENDING task whose due marker a failure lost (a process that died owing a put-back,
// a marker removed by hand) gets it back when the store opens, and its place in the order:
// sequence numbers already used by tasks are never handed out again.
// Checks: FILE-8
TEST(FilePersistence, OpenRestoresADueMarkerAPendingTaskLost) {
  TempDir dir;
  boost::asio::io_context io;
  TestClock clock(2'000'000);
  {
    auto store = open_store(dir.path(), clock.clock());
    sync_wait(io, store->enqueue(make_task("first", 500)));
    sync_wait(io, store->enqueue(make_task("lost", 500)));
  }
  const std::filesystem::path queue = dir.path() / "queue";
  std::vector<std::filesystem::path> markers;
  for (const auto& entry : std::filesystem::directory_iterator(queue)) markers.push_back(entry.path());
  ASSERT_EQ(markers.size(), 2U);
  std::sort(markers.begin(), markers.end());
  std::filesystem::remove(markers.back());  // "lost", enqueued last

  auto store = open_store(dir.path(), clock.clock());
  sync_wait(io, store->enqueue(make_task("after", 500)));
  std::vector<std::string> order;
  while (auto task = sync_wait(io, store->dequeue(from_micros(1'000)))) order.push_back(task->id);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "lost", "after"}));
}

}  // namespace
}  // namespace taskstore::file_test
