// Group commit (SQL-8): writes that queue up behind a commit share the next one, and each
// caller still gets its own outcome. The tests hold the database's write lock from a raw
// connection so that the backend's first commit waits and the other writes queue behind
// it; the groups are then read from the backend's counters, not inferred from timing.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "group_commit_harness.hpp"
#include "test_support.hpp"

namespace taskstore::sqlite_test {
namespace {

using namespace std::chrono_literals;

// A write under test, and the outcome it must have whatever group it lands in.
using Write = test_support::GroupWrite<SqliteStorage>;
using test_support::finished;

std::vector<Write> mixed_writes() {
  return {
      {"mark_running a", [](SqliteStorage& s) { return finished(s.mark_running("a")); }, "ok"},
      {"mark_running missing", [](SqliteStorage& s) { return finished(s.mark_running("missing")); },
       "not found"},
      {"enqueue a again",
       [](SqliteStorage& s) -> Awaitable<std::string> {
         Task task = make_task("a");
         co_await s.enqueue(std::move(task));
         co_return std::string();
       },
       "conflict"},
      {"enqueue d",
       [](SqliteStorage& s) -> Awaitable<std::string> {
         Task task = make_task("d");
         co_await s.enqueue(std::move(task));
         co_return std::string();
       },
       "ok"},
      {"mark_done b",
       [](SqliteStorage& s) {
         TaskResult result{.task_id = "b",
                           .status = TaskStatus::SUCCESS,
                           .value = to_bytes("42"),
                           .error = {},
                           .finished_at = at(6000)};
         return finished(s.mark_done("b", std::move(result)));
       },
       "ok"},
      {"reschedule c", [](SqliteStorage& s) { return finished(s.reschedule("c", at(7000))); }, "ok"},
      {"mark_failed missing2",
       [](SqliteStorage& s) { return finished(s.mark_failed("missing2", "boom", false)); }, "not found"},
  };
}

// Makes every COMMIT fail, after the transaction's statements have run, on each
// connection opened while an instance lives (an SQLite auto extension installs a commit
// hook that refuses while armed): the one way to fail a COMMIT of a WAL database on demand.
class RefusedCommits {
 public:
  RefusedCommits() { sqlite3_auto_extension(reinterpret_cast<void (*)()>(&install)); }
  ~RefusedCommits() {
    armed().store(false);
    sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(&install));
  }
  RefusedCommits(const RefusedCommits&) = delete;
  RefusedCommits& operator=(const RefusedCommits&) = delete;

  void arm() { armed().store(true); }

 private:
  static std::atomic<bool>& armed() {
    static std::atomic<bool> on{false};
    return on;
  }
  static int refuse(void*) { return armed().load() ? 1 : 0; }
  static int install(sqlite3* db, char**, const sqlite3_api_routines*) {
    sqlite3_commit_hook(db, &refuse, nullptr);
    return SQLITE_OK;
  }
};

class SqliteGroupCommit : public ::testing::Test {
 protected:
  SqliteStorageOptions options(std::size_t max_group_size) const {
    auto result = options_for(db_, at(5000));
    result.max_group_size = max_group_size;
    return result;
  }

  void preload(SqliteStorage& storage) {
    for (const char* id : {"a", "b", "c"}) sync_wait(io_, storage.enqueue(make_task(id)));
  }

  // Runs `writes` while a raw connection holds the database's write lock, so the
  // backend's first group waits on it and the rest queue behind; with `release_lock`
  // false the lock outlasts the writes.
  std::map<std::string, std::string> run_behind_lock(SqliteStorage& storage,
                                                     const std::vector<Write>& writes,
                                                     bool release_lock = true) {
    RawDb holder(db_);
    holder.exec("BEGIN IMMEDIATE");
    return test_support::run_behind_hold(
        io_, storage, writes, [&] { holder.exec("ROLLBACK"); }, release_lock);
  }

  // The state the mixed writes must leave, read through a fresh instance so it is what
  // reached the database file.
  void expect_mixed_writes_durable() {
    SqliteStorage reopened(options(1));
    const auto a = sync_wait(io_, reopened.get_task("a"));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->status, TaskStatus::RUNNING);
    EXPECT_EQ(sync_wait(io_, reopened.get_task("b"))->status, TaskStatus::SUCCESS);
    const auto b_result = sync_wait(io_, reopened.get_result("b"));
    ASSERT_TRUE(b_result.has_value());
    EXPECT_EQ(b_result->value, to_bytes("42"));
    const auto c = sync_wait(io_, reopened.get_task("c"));
    EXPECT_EQ(c->status, TaskStatus::PENDING);
    EXPECT_EQ(c->eta, at(7000));
    EXPECT_TRUE(sync_wait(io_, reopened.get_task("d")).has_value());
    EXPECT_FALSE(sync_wait(io_, reopened.get_task("missing")).has_value());
    EXPECT_FALSE(sync_wait(io_, reopened.get_result("missing2")).has_value());
  }

  TempDir dir_;
  std::filesystem::path db_ = dir_.path() / "q.db";
  asio::io_context io_;
};

// Checks: SQL-8, ERR-1
TEST_F(SqliteGroupCommit, WritesQueuedBehindACommitShareOneAndKeepTheirOwnOutcomes) {
  SqliteStorage storage(options(256));
  preload(storage);
  const GroupCommitStats before = storage.group_commit_stats();
  const auto writes = mixed_writes();
  const auto outcomes = run_behind_lock(storage, writes);
  for (const Write& write : writes) EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;

  // The first group (whatever had queued when a pool thread took the lead) waited on the
  // lock; everything queued behind it shared the next commit.
  const GroupCommitStats after = storage.group_commit_stats();
  EXPECT_EQ(after.operations - before.operations, writes.size());
  EXPECT_LE(after.groups - before.groups, 2u);
  EXPECT_GE(after.largest_group, (writes.size() + 1) / 2);
  expect_mixed_writes_durable();
}

// Checks: SQL-8
TEST_F(SqliteGroupCommit, AGroupSizeOfOneCommitsEveryWriteAlone) {
  SqliteStorage storage(options(1));
  preload(storage);
  const GroupCommitStats before = storage.group_commit_stats();
  const auto writes = mixed_writes();
  const auto outcomes = run_behind_lock(storage, writes);
  for (const Write& write : writes) EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  const GroupCommitStats after = storage.group_commit_stats();
  EXPECT_EQ(after.groups - before.groups, writes.size());
  EXPECT_EQ(after.largest_group, 1u);
  expect_mixed_writes_durable();
}

// Checks: SQL-8, ERR-1
TEST_F(SqliteGroupCommit, AWriteThatFailsHalfwayIsUndoneAloneAndTheRestCommit) {
  SqliteStorage storage(options(256));
  preload(storage);
  sync_wait(io_, storage.enqueue(make_task("poison")));
  {
    // mark_done of "poison" updates its task row, then fails storing the result: a
    // failure after the operation has written, inside a healthy transaction.
    RawDb raw(db_);
    raw.exec(
        "CREATE TRIGGER poison_result BEFORE INSERT ON results WHEN NEW.task_id = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned result'); END");
  }
  auto mark_done = [](std::string id) {
    return [id](SqliteStorage& s) {
      TaskResult result{.task_id = id,
                        .status = TaskStatus::SUCCESS,
                        .value = to_bytes("42"),
                        .error = {},
                        .finished_at = at(6000)};
      return finished(s.mark_done(id, std::move(result)));
    };
  };
  const std::vector<Write> writes = {
      {"mark_running a", [](SqliteStorage& s) { return finished(s.mark_running("a")); }, "ok"},
      {"mark_done poison", mark_done("poison"), "poisoned result"},
      {"mark_done b", mark_done("b"), "ok"},
      {"reschedule c", [](SqliteStorage& s) { return finished(s.reschedule("c", at(7000))); }, "ok"},
  };
  const auto outcomes = run_behind_lock(storage, writes);
  for (const Write& write : writes) {
    EXPECT_NE(outcomes.at(write.label).find(write.expected), std::string::npos)
        << write.label << ": " << outcomes.at(write.label);
  }
  SqliteStorage reopened(options(1));
  // The poisoned task's half-done update was undone; every other write committed.
  EXPECT_EQ(sync_wait(io_, reopened.get_task("poison"))->status, TaskStatus::PENDING);
  EXPECT_FALSE(sync_wait(io_, reopened.get_result("poison")).has_value());
  EXPECT_EQ(sync_wait(io_, reopened.get_task("a"))->status, TaskStatus::RUNNING);
  EXPECT_EQ(sync_wait(io_, reopened.get_task("b"))->status, TaskStatus::SUCCESS);
  EXPECT_EQ(sync_wait(io_, reopened.get_task("c"))->eta, at(7000));
}

// Checks: SQL-8, SQL-3, ERR-2
TEST_F(SqliteGroupCommit, ACommitThatFailsFailsEveryWriteInItNamingEachOne) {
  // A short budget, and the lock is held until every group has given up.
  auto opts = options(256);
  opts.busy_timeout = 50ms;
  opts.busy_retries = 1;
  SqliteStorage storage(opts);
  preload(storage);
  const std::vector<Write> writes = {
      {"mark_running a", [](SqliteStorage& s) { return finished(s.mark_running("a")); }, ""},
      {"mark_running b", [](SqliteStorage& s) { return finished(s.mark_running("b")); }, ""},
      {"reschedule c", [](SqliteStorage& s) { return finished(s.reschedule("c", at(9000))); }, ""},
  };
  const auto outcomes = run_behind_lock(storage, writes, /*release_lock=*/false);
  const std::map<std::string, std::string> named = {{"mark_running a", "mark_running of task 'a'"},
                                                    {"mark_running b", "mark_running of task 'b'"},
                                                    {"reschedule c", "reschedule of task 'c'"}};
  for (const auto& [label, expected_name] : named) {
    const std::string& outcome = outcomes.at(label);
    EXPECT_NE(outcome.find("other error: " + expected_name), std::string::npos) << outcome;
    EXPECT_NE(outcome.find("locked"), std::string::npos) << outcome;
    EXPECT_NE(outcome.find(db_.string()), std::string::npos) << outcome;
  }
  // Nothing of the failed groups reached the database.
  EXPECT_EQ(sync_wait(io_, storage.get_task("a"))->status, TaskStatus::PENDING);
  EXPECT_EQ(sync_wait(io_, storage.get_task("c"))->eta, make_task("c").eta);
}

// Checks: SQL-9, SQL-8
TEST_F(SqliteGroupCommit, AFailedCommitLeavesAWriteThatFailedOnItsOwnWithItsOwnError) {
  RefusedCommits commits;  // before the store opens its connections
  SqliteStorage storage(options(256));
  preload(storage);
  commits.arm();
  const std::vector<Write> writes = {
      {"mark_running a", [](SqliteStorage& s) { return finished(s.mark_running("a")); }, ""},
      {"mark_running missing", [](SqliteStorage& s) { return finished(s.mark_running("missing")); },
       ""},
      {"enqueue b again",
       [](SqliteStorage& s) -> Awaitable<std::string> {
         Task task = make_task("b");
         co_await s.enqueue(std::move(task));
         co_return std::string();
       },
       ""},
      {"mark_running b", [](SqliteStorage& s) { return finished(s.mark_running("b")); }, ""},
      {"reschedule c", [](SqliteStorage& s) { return finished(s.reschedule("c", at(9000))); }, ""},
  };
  const auto outcomes = run_behind_lock(storage, writes);
  // The two that failed on their own keep their own errors ...
  EXPECT_EQ(outcomes.at("mark_running missing"), "not found");
  EXPECT_EQ(outcomes.at("enqueue b again"), "conflict");
  // ... and the two the refused COMMIT took down are told so, each named, counted without them.
  for (const auto& [label, name] : std::map<std::string, std::string>{
           {"mark_running b", "mark_running of task 'b'"}, {"reschedule c", "reschedule of task 'c'"}}) {
    const std::string& outcome = outcomes.at(label);
    EXPECT_TRUE(outcome.starts_with("other error: " + name + " (one of 2 writes committed together)"))
        << outcome;
  }
  // The first write's COMMIT was refused too, alone.
  EXPECT_TRUE(outcomes.at("mark_running a").starts_with("other error: ")) << outcomes.at("mark_running a");
  EXPECT_NE(outcomes.at("mark_running a").find("'a'"), std::string::npos) << outcomes.at("mark_running a");
  SqliteStorage reopened(options(1));
  for (const char* id : {"a", "b", "c"}) {
    const auto task = sync_wait(io_, reopened.get_task(id));
    ASSERT_TRUE(task.has_value()) << id;
    EXPECT_EQ(task->status, TaskStatus::PENDING) << id;
    EXPECT_EQ(task->eta, make_task(id).eta) << id;
  }
}

// Checks: SQL-9, ERR-2
TEST_F(SqliteGroupCommit, AFailedCommitNamesTheOneWriteLeftOfAGroup) {
  RefusedCommits commits;  // before the store opens its connections
  SqliteStorage storage(options(256));
  preload(storage);
  commits.arm();
  // Behind the first write, a group of three in which two fail on their own: the refused
  // COMMIT takes down only the third, and its error must still say which write it was.
  const std::vector<Write> writes = {
      {"mark_running a", [](SqliteStorage& s) { return finished(s.mark_running("a")); }, ""},
      {"mark_running missing", [](SqliteStorage& s) { return finished(s.mark_running("missing")); },
       ""},
      {"mark_failed missing2",
       [](SqliteStorage& s) { return finished(s.mark_failed("missing2", "boom", false)); }, ""},
      {"mark_running b", [](SqliteStorage& s) { return finished(s.mark_running("b")); }, ""},
  };
  const auto outcomes = run_behind_lock(storage, writes);
  EXPECT_EQ(outcomes.at("mark_running missing"), "not found");
  EXPECT_EQ(outcomes.at("mark_failed missing2"), "not found");
  const std::string& left = outcomes.at("mark_running b");
  EXPECT_TRUE(left.starts_with("other error: mark_running of task 'b': ")) << left;
  EXPECT_EQ(left.find("writes committed together"), std::string::npos) << left;
}

}  // namespace
}  // namespace taskstore::sqlite_test
