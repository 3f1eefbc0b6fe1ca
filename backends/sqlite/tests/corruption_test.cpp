// Rows damaged behind the backend's back raise CorruptionError naming the database and
// the task, from every operation that reads them.

#include "test_support.hpp"

namespace taskstore::sqlite_test {
namespace {

class SqliteCorruption : public ::testing::Test {
 protected:
  SqliteCorruption() : storage_(options_for(db_, at(0))) {
    sync_wait(io_, storage_.enqueue(make_task("abc", 1)));
  }

  // Runs `op`, expecting CorruptionError whose message holds each of `needles`.
  template <typename T>
  void expect_corruption(Awaitable<T> op, std::initializer_list<std::string> needles) {
    try {
      sync_wait(io_, std::move(op));
      ADD_FAILURE() << "read a damaged row without an error";
    } catch (const CorruptionError& e) {
      for (const auto& needle : needles) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "'" << needle << "' missing from: " << e.what();
      }
    }
  }

  TempDir dir_;
  std::filesystem::path db_ = dir_.path() / "q.db";
  SqliteStorage storage_;
  asio::io_context io_;
};

// Checks: SQL-4
TEST_F(SqliteCorruption, WrongColumnTypeNamesTheDatabaseTaskAndColumn) {
  RawDb(db_).exec("UPDATE tasks SET created_at = 'yesterday' WHERE id = 'abc'");
  expect_corruption(storage_.get_task("abc"),
                    {db_.string(), "get_task", "task 'abc'", "created_at", "TEXT", "INTEGER"});
}

// Checks: SQL-4
TEST_F(SqliteCorruption, DamagedDueTaskIsPassedOverAndLeftAsItWas) {
  RawDb(db_).exec("UPDATE tasks SET payload = 'text, not a blob' WHERE id = 'abc'");
  Task later = make_task("later", 20);
  sync_wait(io_, storage_.enqueue(later));
  // The claim of 'abc' is undone and the next due task claimed instead (DEQ-9).
  const auto claimed = sync_wait(io_, storage_.dequeue(at(100)));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, "later");
  EXPECT_FALSE(sync_wait(io_, storage_.dequeue(at(100))).has_value());
  RawDb raw(db_);
  EXPECT_EQ(raw.query("SELECT status || '/' || attempts FROM tasks WHERE id = 'abc'"), "PENDING/0");
  expect_corruption(storage_.get_task("abc"), {db_.string(), "get_task", "task 'abc'", "payload"});
}

// Checks: SQL-4
TEST_F(SqliteCorruption, MutationsRefuseADamagedTaskAndLeaveItAsItWas) {
  RawDb(db_).exec("UPDATE tasks SET eta = 'not a time', status = 'FAILED' WHERE id = 'abc'");
  expect_corruption(storage_.reschedule("abc", at(5)), {db_.string(), "reschedule", "task 'abc'"});
  expect_corruption(storage_.mark_running("abc"), {"mark_running", "task 'abc'"});
  expect_corruption(storage_.mark_done("abc", TaskResult{.task_id = "abc"}),
                    {"mark_done", "task 'abc'"});
  expect_corruption(storage_.mark_failed("abc", "e", false), {"mark_failed", "task 'abc'"});
  RawDb raw(db_);
  EXPECT_EQ(raw.query("SELECT status || '/' || eta FROM tasks WHERE id = 'abc'"),
            "FAILED/not a time");
  EXPECT_EQ(raw.query("SELECT count(*) FROM results"), "0");
  EXPECT_FALSE(sync_wait(io_, storage_.dequeue(at(1'000'000))).has_value());
}

// Checks: SQL-4
TEST_F(SqliteCorruption, UnknownStatusOrBackoffNamesTheTask) {
  RawDb(db_).exec("UPDATE tasks SET status = 'PAUSED' WHERE id = 'abc'");
  expect_corruption(storage_.get_task("abc"), {db_.string(), "task 'abc'", "PAUSED"});
  RawDb(db_).exec("UPDATE tasks SET status = 'PENDING', retry_backoff = 'linear'");
  expect_corruption(storage_.get_task("abc"), {db_.string(), "task 'abc'", "linear"});
}

// Checks: SQL-4
TEST_F(SqliteCorruption, OutOfRangeCountersAreCorruption) {
  RawDb(db_).exec("UPDATE tasks SET attempts = 5000000000 WHERE id = 'abc'");
  expect_corruption(storage_.get_task("abc"), {"task 'abc'", "attempts"});
}

// Checks: SQL-4
TEST_F(SqliteCorruption, DamagedResultNamesTheTask) {
  sync_wait(io_, storage_.mark_done("abc", TaskResult{.task_id = "abc"}));
  RawDb(db_).exec("UPDATE results SET finished_at = 1.5 WHERE task_id = 'abc'");
  expect_corruption(storage_.get_result("abc"),
                    {db_.string(), "get_result", "task 'abc'", "finished_at", "REAL"});
}

}  // namespace
}  // namespace taskstore::sqlite_test
