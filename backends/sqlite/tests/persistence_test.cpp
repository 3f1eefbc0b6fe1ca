// Closing every instance and opening a new one keeps the whole store.

#include <vector>

#include "test_support.hpp"

namespace taskstore::sqlite_test {
namespace {

// Checks: SQL-7
TEST(SqlitePersistence, ReopenKeepsTasksResultsStatusesAndDequeueOrder) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  asio::io_context io;
  std::vector<Task> tasks_before;
  std::vector<std::optional<TaskResult>> results_before;
  const std::vector<std::string> ids = {"done", "failed", "retrying", "claimed", "p3", "p1", "p2"};
  {
    SqliteStorage storage(options_for(db, at(70'000)));
    sync_wait(io, storage.enqueue(make_task("done", 1)));
    sync_wait(io, storage.enqueue(make_task("failed", 1)));
    sync_wait(io, storage.enqueue(make_task("retrying", 1)));
    sync_wait(io, storage.enqueue(make_task("claimed", 1)));
    Task scheduled = make_task("p3", 30);
    scheduled.schedule = IntervalSchedule{Duration(5'000'000)};
    sync_wait(io, storage.enqueue(scheduled));
    sync_wait(io, storage.enqueue(make_task("p1", 20)));
    sync_wait(io, storage.enqueue(make_task("p2", 30)));  // ties with p3, enqueued after it

    EXPECT_EQ(sync_wait(io, storage.dequeue(at(5)))->id, "done");
    sync_wait(io, storage.mark_done("done", TaskResult{.task_id = "done",
                                                 .value = to_bytes(std::string("ok\0", 3)),
                                                 .finished_at = at(123)}));
    sync_wait(io, storage.mark_failed("failed", "fatal", false));
    sync_wait(io, storage.mark_failed("retrying", "transient", true));
    EXPECT_EQ(sync_wait(io, storage.dequeue(at(5)))->id, "claimed");
    for (const auto& id : ids) {
      tasks_before.push_back(*sync_wait(io, storage.get_task(id)));
      results_before.push_back(sync_wait(io, storage.get_result(id)));
    }
  }

  SqliteStorage reopened(options_for(db, at(80'000)));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto task = sync_wait(io, reopened.get_task(ids[i]));
    ASSERT_TRUE(task.has_value()) << ids[i];
    EXPECT_EQ(*task, tasks_before[i]) << describe(*task);
    EXPECT_EQ(sync_wait(io, reopened.get_result(ids[i])), results_before[i]) << ids[i];
  }
  std::vector<std::string> order;
  while (auto task = sync_wait(io, reopened.dequeue(at(100)))) order.push_back(task->id);
  EXPECT_EQ(order, (std::vector<std::string>{"p1", "p3", "p2"}));
  // Sequence numbers continue after the reopen: a new task ties after the old ones.
  sync_wait(io, reopened.reschedule("p3", at(200)));
  sync_wait(io, reopened.enqueue(make_task("new", 200)));
  sync_wait(io, reopened.reschedule("p1", at(200)));
  EXPECT_EQ(sync_wait(io, reopened.dequeue(at(200)))->id, "p3");
  EXPECT_EQ(sync_wait(io, reopened.dequeue(at(200)))->id, "p1");
  EXPECT_EQ(sync_wait(io, reopened.dequeue(at(200)))->id, "new");
}

}  // namespace
}  // namespace taskstore::sqlite_test
