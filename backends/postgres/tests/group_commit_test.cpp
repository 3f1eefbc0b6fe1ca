// Group commit with batches (PG-5): writes that queue up behind a group share the next
// transaction; the claims, mark_running and mark_done among them go through one statement
// of each kind, and every caller still gets its own outcome, as if the operations had run
// one at a time. A raw connection locks the tasks table so that the backend's first group
// waits and the rest queue behind it.

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "group_commit_harness.hpp"
#include "test_support.hpp"

namespace taskstore::postgres_test {
namespace {

using test_support::GroupWrite;
using Write = GroupWrite<PostgresStorage>;

Write dequeue_at(std::string label, std::int64_t now, std::string expected) {
  return Write{std::move(label),
               [now](PostgresStorage& s) -> Awaitable<std::string> {
                 auto claim = s.dequeue(at(now));
                 const std::optional<Task> task = co_await std::move(claim);
                 co_return task ? " " + task->id : std::string(" (nothing)");
               },
               std::move(expected)};
}

Write mark_running(std::string id, std::string expected) {
  return Write{"mark_running " + id,
               [id](PostgresStorage& s) -> Awaitable<std::string> {
                 auto op = s.mark_running(id);
                 co_await std::move(op);
                 co_return std::string();
               },
               std::move(expected)};
}

TaskResult success_of(const std::string& id) {
  return TaskResult{.task_id = id,
                    .status = TaskStatus::SUCCESS,
                    .value = to_bytes("42"),
                    .error = {},
                    .finished_at = at(6000)};
}

Write mark_done(std::string id, std::string expected) {
  return Write{"mark_done " + id,
               [id](PostgresStorage& s) -> Awaitable<std::string> {
                 auto op = s.mark_done(id, success_of(id));
                 co_await std::move(op);
                 co_return std::string();
               },
               std::move(expected)};
}

Write enqueue(std::string id, std::string expected) {
  return Write{"enqueue " + id,
               [id](PostgresStorage& s) -> Awaitable<std::string> {
                 auto op = s.enqueue(make_task(id, 1'000'000'000));
                 co_await std::move(op);
                 co_return std::string();
               },
               std::move(expected)};
}

Write reschedule(std::string id, std::int64_t eta, std::string expected) {
  return Write{"reschedule " + id,
               [id, eta](PostgresStorage& s) -> Awaitable<std::string> {
                 auto op = s.reschedule(id, at(eta));
                 co_await std::move(op);
                 co_return std::string();
               },
               std::move(expected)};
}

class PgGroupCommit : public PgTest {
 protected:
  PostgresStorageOptions grouped(std::size_t max_group_size) const {
    PostgresStorageOptions result = options(at(5000));
    result.max_group_size = max_group_size;
    result.concurrent_groups = 1;  // the writes behind the lock all share one group
    return result;
  }

  void add(PostgresStorage& storage, const std::string& id, std::int64_t eta) {
    sync_wait(io_, storage.enqueue(make_task(id, eta)));
  }

  // Runs `writes` while a raw connection holds the tasks table locked, so the backend's
  // first group waits on it and the others queue behind.
  std::map<std::string, std::string> run_behind_lock(PostgresStorage& storage,
                                                     const std::vector<Write>& writes) {
    auto holder = raw();
    holder->exec("BEGIN");
    holder->exec("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
    return test_support::run_behind_hold(io_, storage, writes, [&] { holder->exec("COMMIT"); });
  }

  // The tasks the mixed writes start from: s (the write that waits on the lock), a and b
  // due before the claims' now, c due after it, r and d to mark, and "damaged", whose row
  // cannot be read back (due far in the future, so no claim meets it).
  void preload_mixed(PostgresStorage& storage) {
    for (const auto& [id, eta] : std::vector<std::pair<std::string, std::int64_t>>{
             {"s", 1'000'000'000}, {"a", 100}, {"b", 200}, {"c", 300}, {"r", 1'000'000'000},
             {"d", 1'000'000'000}, {"damaged", 1'000'000'000}}) {
      add(storage, id, eta);
    }
    raw()->exec("UPDATE tasks SET retry_backoff = 'sideways' WHERE id = 'damaged'");
  }

  std::vector<Write> mixed_writes() const {
    return {mark_running("s", "ok"),
            dequeue_at("dequeue 1", 250, "ok a"),
            mark_running("missing", "not found"),
            dequeue_at("dequeue 2", 250, "ok b"),
            mark_done("d", "ok"),
            mark_running("r", "ok"),
            mark_done("damaged", "corruption"),
            dequeue_at("dequeue 3", 250, "ok (nothing)"),
            enqueue("e", "ok"),
            enqueue("a", "conflict"),
            reschedule("c", 400, "ok")};
  }

  // What the mixed writes leave, read through a fresh instance.
  void expect_mixed_writes_durable() {
    PostgresStorage reopened(grouped(1));
    for (const char* id : {"a", "b"}) {
      const auto task = sync_wait(io_, reopened.get_task(id));
      ASSERT_TRUE(task.has_value()) << id;
      EXPECT_EQ(task->status, TaskStatus::RUNNING) << id;
      EXPECT_EQ(task->attempts, 1) << id;
      EXPECT_EQ(task->updated_at, at(250)) << id;
    }
    const auto c = sync_wait(io_, reopened.get_task("c"));
    EXPECT_EQ(c->status, TaskStatus::PENDING);
    EXPECT_EQ(c->eta, at(400));
    EXPECT_EQ(sync_wait(io_, reopened.get_task("r"))->status, TaskStatus::RUNNING);
    EXPECT_EQ(sync_wait(io_, reopened.get_task("d"))->status, TaskStatus::SUCCESS);
    const auto result = sync_wait(io_, reopened.get_result("d"));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, success_of("d"));
    EXPECT_TRUE(sync_wait(io_, reopened.get_task("e")).has_value());
    // The damaged row and its (absent) result are as they were.
    EXPECT_EQ(raw()->query("SELECT status || ' ' || retry_backoff FROM tasks WHERE id = 'damaged'"),
              "PENDING sideways");
    EXPECT_FALSE(sync_wait(io_, reopened.get_result("damaged")).has_value());
  }
};

// Checks: PG-5, PG-2, ERR-1, ERR-2
TEST_F(PgGroupCommit, BatchedClaimsAndWritesKeepTheirOwnOutcomes) {
  PostgresStorage storage(grouped(256));
  preload_mixed(storage);
  const GroupCommitStats before = storage.group_commit_stats();
  const auto writes = mixed_writes();
  const auto outcomes = run_behind_lock(storage, writes);
  for (const Write& write : writes) {
    EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  }
  const GroupCommitStats after = storage.group_commit_stats();
  EXPECT_EQ(after.operations - before.operations, writes.size());
  // The first write's group waited on the lock; every other write shared the next one.
  EXPECT_EQ(after.groups - before.groups, 2u);
  EXPECT_EQ(after.largest_group, writes.size() - 1);
  expect_mixed_writes_durable();
}

// Checks: PG-5
TEST_F(PgGroupCommit, AGroupSizeOfOneCommitsEveryWriteAlone) {
  PostgresStorage storage(grouped(1));
  preload_mixed(storage);
  const GroupCommitStats before = storage.group_commit_stats();
  const auto writes = mixed_writes();
  const auto outcomes = run_behind_lock(storage, writes);
  for (const Write& write : writes) {
    EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  }
  const GroupCommitStats after = storage.group_commit_stats();
  EXPECT_EQ(after.groups - before.groups, writes.size());
  EXPECT_EQ(after.largest_group, 1u);
  expect_mixed_writes_durable();
}

// Checks: PG-5, DEQ-9
TEST_F(PgGroupCommit, BatchedClaimsPassOverADamagedRowAndLeaveItUntouched) {
  PostgresStorage storage(grouped(256));
  for (const auto& [id, eta] : std::vector<std::pair<std::string, std::int64_t>>{
           {"s", 1'000'000'000}, {"x1", 100}, {"x2", 200}, {"x3", 300}}) {
    add(storage, id, eta);
  }
  raw()->exec("UPDATE tasks SET retry_backoff = 'sideways' WHERE id = 'x1'");
  const std::vector<Write> writes = {mark_running("s", "ok"),
                                     dequeue_at("dequeue 1", 1000, "ok x2"),
                                     dequeue_at("dequeue 2", 1000, "ok x3"),
                                     dequeue_at("dequeue 3", 1000, "ok (nothing)")};
  const auto outcomes = run_behind_lock(storage, writes);
  for (const Write& write : writes) {
    EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  }
  EXPECT_EQ(raw()->query("SELECT status || ' ' || attempts FROM tasks WHERE id = 'x1'"),
            "PENDING 0");
}

// Checks: PG-5, DEQ-1
TEST_F(PgGroupCommit, EachBatchedClaimGetsOnlyATaskDueAtItsOwnNow) {
  PostgresStorage storage(grouped(256));
  add(storage, "s", 1'000'000'000);
  add(storage, "p", 100);
  add(storage, "q", 500);
  // The claim made at 200 must not get q (due at 500); the one made at 1000 may.
  const std::vector<Write> writes = {mark_running("s", "ok"), dequeue_at("at 200", 200, "ok p"),
                                     dequeue_at("at 1000", 1000, "ok q"),
                                     dequeue_at("at 150", 150, "ok (nothing)")};
  const auto outcomes = run_behind_lock(storage, writes);
  for (const Write& write : writes) {
    EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  }
  // Each claim stamps the task with its own now.
  EXPECT_EQ(sync_wait(io_, storage.get_task("p"))->updated_at, at(200));
  EXPECT_EQ(sync_wait(io_, storage.get_task("q"))->updated_at, at(1000));
}

// Checks: PG-5
TEST_F(PgGroupCommit, TwoWritesToOneTaskInAGroupBothTakeEffect) {
  PostgresStorage storage(grouped(256));
  add(storage, "s", 1'000'000'000);
  add(storage, "t", 100);
  const std::vector<Write> writes = {mark_running("s", "ok"), mark_running("t", "ok"),
                                     mark_done("t", "ok")};
  const auto outcomes = run_behind_lock(storage, writes);
  for (const Write& write : writes) {
    EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  }
  // One after the other in arrival order: running, then done.
  EXPECT_EQ(sync_wait(io_, storage.get_task("t"))->status, TaskStatus::SUCCESS);
  EXPECT_EQ(sync_wait(io_, storage.get_result("t")), success_of("t"));
}

// Checks: PG-5
TEST_F(PgGroupCommit, TwoGroupsCommitSideBySideOnTheirOwnConnections) {
  PostgresStorageOptions options = grouped(256);
  options.concurrent_groups = 2;
  options.connections = 3;  // two lanes, and a thread left for reads
  PostgresStorage storage(options);
  add(storage, "a", 100);
  add(storage, "b", 100);
  const GroupCommitStats before = storage.group_commit_stats();
  auto holder = raw();
  holder->exec("BEGIN");
  holder->exec("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
  io_.restart();
  auto guard = asio::make_work_guard(io_);
  std::thread runner([this] { io_.run(); });
  std::map<std::string, std::exception_ptr> errors;
  std::atomic<int> finished{0};
  auto start = [&](const std::string& id) {
    asio::co_spawn(
        io_, [&storage, id]() -> Awaitable<void> { co_await storage.mark_running(id); },
        [&errors, &finished, id](std::exception_ptr error) {
          errors[id] = error;
          ++finished;
        });
  };
  start("a");
  ASSERT_TRUE(test_support::eventually(
      [&] { return storage.group_commit_stats().groups == before.groups + 1; }));
  // The first group is stuck on the lock; the second write starts a second group beside
  // it instead of queueing behind it.
  start("b");
  const bool side_by_side = test_support::eventually(
      [&] { return storage.group_commit_stats().groups == before.groups + 2; });
  holder->exec("COMMIT");
  EXPECT_TRUE(test_support::eventually([&] { return finished == 2; }));
  guard.reset();
  runner.join();
  EXPECT_TRUE(side_by_side);
  EXPECT_EQ(test_support::outcome_of(errors["a"]), "ok");
  EXPECT_EQ(test_support::outcome_of(errors["b"]), "ok");
  EXPECT_EQ(sync_wait(io_, storage.get_task("b"))->status, TaskStatus::RUNNING);
}

// Checks: SQL-9, PG-5
TEST_F(PgGroupCommit, AFailedCommitLeavesAWriteThatFailedOnItsOwnWithItsOwnError) {
  PostgresStorage storage(grouped(256));
  for (const char* id : {"s", "a", "b"}) add(storage, id, 1'000'000'000);
  // A deferred constraint trigger fails every COMMIT that wrote a task row, after the
  // group's statements have all run.
  raw()->exec(
      "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$");
  raw()->exec(
      "CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT OR UPDATE ON tasks "
      "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()");
  const std::vector<Write> writes = {mark_running("s", ""), mark_running("missing", ""),
                                     enqueue("a", ""), mark_running("a", ""),
                                     reschedule("b", 400, "")};
  const auto outcomes = run_behind_lock(storage, writes);
  // The two that failed on their own keep their own errors ...
  EXPECT_EQ(outcomes.at("mark_running missing"), "not found");
  EXPECT_EQ(outcomes.at("enqueue a"), "conflict");
  // ... and the two the refused COMMIT took down are told so, each named, counted without them.
  for (const auto& [label, name] : std::map<std::string, std::string>{
           {"mark_running a", "mark_running of task 'a'"}, {"reschedule b", "reschedule of task 'b'"}}) {
    const std::string& outcome = outcomes.at(label);
    EXPECT_TRUE(outcome.starts_with("other error: " + name + " (one of 2 writes committed together)"))
        << outcome;
    EXPECT_NE(outcome.find("commit refused by the test"), std::string::npos) << outcome;
  }
  EXPECT_NE(outcomes.at("mark_running s").find("commit refused by the test"), std::string::npos)
      << outcomes.at("mark_running s");
  raw()->exec("DROP TRIGGER refuse_commit ON tasks");
  for (const char* id : {"s", "a", "b"}) {
    const auto task = sync_wait(io_, storage.get_task(id));
    ASSERT_TRUE(task.has_value()) << id;
    EXPECT_EQ(task->status, TaskStatus::PENDING) << id;
    EXPECT_EQ(task->eta, at(1'000'000'000)) << id;
  }
}

}  // namespace
}  // namespace taskstore::postgres_test
