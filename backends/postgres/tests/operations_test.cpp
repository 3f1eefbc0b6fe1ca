// The operations against a real server: exact round trips, typed errors, damaged rows and
// statement timeouts.

#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>

#include "test_support.hpp"

namespace taskstore::postgres_test {
namespace {

using OperationsTest = PgTest;

// Checks: RT-1, PG-4
TEST_F(OperationsTest, EveryTaskFieldRoundTripsExactly) {
  PostgresStorage storage(options());
  // Times beyond timestamptz's range (the suite generates ±2^61 µs) and before 1970, to
  // the microsecond; names and errors with NUL and invalid UTF-8.
  Task full = make_task("full-\xc3\xa9", -(std::int64_t{1} << 61));
  full.name = std::string("na\0me\xff", 6);
  full.payload = to_bytes(std::string("\0\0\x01\x7f\x80\xff\0 end", 11));
  full.attempts = std::numeric_limits<std::int32_t>::max();
  full.max_retries = 7;
  full.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::fixed,
                           .delay = Duration(std::int64_t{1} << 61),
                           .max_delay = Duration(1),
                           .jitter = false};
  full.schedule = IntervalSchedule{Duration(123'456'789)};
  full.last_error = std::string("boom\0!", 6);
  full.created_at = at(-1);
  full.updated_at = at(std::int64_t{1} << 61);
  Task bare = make_task("bare", 1'700'000'000'123'457);
  bare.payload = {};
  bare.last_error = std::string();  // "" is not "none"
  Task none = make_task("none");
  for (const Task& task : {full, bare, none}) {
    sync_wait(io_, storage.enqueue(task));
    const auto back = sync_wait(io_, storage.get_task(task.id));
    ASSERT_TRUE(back.has_value()) << task.id;
    EXPECT_EQ(*back, task) << describe(*back) << "\nexpected " << describe(task);
  }
}

// Checks: RT-2, PG-4
TEST_F(OperationsTest, EveryResultFieldRoundTripsExactly) {
  PostgresStorage storage(options(at(-5)));
  sync_wait(io_, storage.enqueue(make_task("a")));
  const TaskResult result{.task_id = "a",
                          .status = TaskStatus::SUCCESS,
                          .value = to_bytes(std::string("v\0\xffv", 4)),
                          .error = std::string(),
                          .finished_at = at(-(std::int64_t{1} << 61))};
  sync_wait(io_, storage.mark_done("a", result));
  EXPECT_EQ(sync_wait(io_, storage.get_result("a")), result);

  sync_wait(io_, storage.enqueue(make_task("b")));
  sync_wait(io_, storage.mark_failed("b", std::string("bad\0\xfe", 5), false));
  const auto failed = sync_wait(io_, storage.get_result("b"));
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status, TaskStatus::FAILED);
  EXPECT_EQ(failed->error, std::string("bad\0\xfe", 5));
  EXPECT_EQ(failed->finished_at, at(-5));
}

// Checks: ERR-1, ERR-2
TEST_F(OperationsTest, UnknownIdRaisesNotFoundNamingOperationAndTaskAndLeavesNothing) {
  PostgresStorage storage(options());
  const auto expect_not_found = [&](Awaitable<void> op, const std::string& operation) {
    try {
      sync_wait(io_, std::move(op));
      ADD_FAILURE() << operation << " of an unknown id did not throw";
    } catch (const NotFoundError& e) {
      EXPECT_NE(std::string(e.what()).find(operation), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("'ghost'"), std::string::npos) << e.what();
    }
  };
  expect_not_found(storage.mark_running("ghost"), "mark_running");
  expect_not_found(storage.mark_done("ghost", TaskResult{.task_id = "ghost"}), "mark_done");
  expect_not_found(storage.mark_failed("ghost", "e", true), "mark_failed");
  expect_not_found(storage.mark_failed("ghost", "e", false), "mark_failed");
  expect_not_found(storage.reschedule("ghost", at(1)), "reschedule");
  EXPECT_FALSE(sync_wait(io_, storage.get_task("ghost")).has_value());
  EXPECT_FALSE(sync_wait(io_, storage.get_result("ghost")).has_value());
  EXPECT_EQ(raw()->query("SELECT count(*) FROM tasks"), "0");
  EXPECT_EQ(raw()->query("SELECT count(*) FROM results"), "0");
}

// Checks: ENQ-3
TEST_F(OperationsTest, DuplicateEnqueueRaisesConflictAndKeepsTheStoredTask) {
  PostgresStorage storage(options());
  sync_wait(io_, storage.enqueue(make_task("a", 10)));
  EXPECT_THROW(sync_wait(io_, storage.enqueue(make_task("a", 20))), ConflictError);
  EXPECT_EQ(sync_wait(io_, storage.get_task("a"))->eta, at(10));
}

// Checks: DEQ-9
TEST_F(OperationsTest, DamagedRowRaisesCorruptionNamingTheTaskAndIsPassedOverByDequeue) {
  PostgresStorage storage(options());
  sync_wait(io_, storage.enqueue(make_task("damaged", 1)));
  sync_wait(io_, storage.enqueue(make_task("healthy", 2)));
  raw()->exec("UPDATE tasks SET retry_backoff = 'sideways' WHERE id = 'damaged'");
  try {
    sync_wait(io_, storage.get_task("damaged"));
    ADD_FAILURE() << "a damaged row was read back";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find("'damaged'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("retry_backoff"), std::string::npos) << e.what();
  }
  const auto claimed = sync_wait(io_, storage.dequeue(at(100)));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, "healthy");
  EXPECT_FALSE(sync_wait(io_, storage.dequeue(at(100))).has_value());
  EXPECT_EQ(raw()->query("SELECT status FROM tasks WHERE id = 'damaged'"), "PENDING");
  EXPECT_THROW(sync_wait(io_, storage.reschedule("damaged", at(5))), CorruptionError);
}

// Checks: ERR-2, PG-3
TEST_F(OperationsTest, StatementTimeoutRaisesStorageErrorWithTheServerMessage) {
  PostgresStorageOptions opts = options();
  opts.statement_timeout = std::chrono::milliseconds(100);
  PostgresStorage storage(opts);
  sync_wait(io_, storage.enqueue(make_task("locked")));
  // Another session holds the row lock, so mark_running waits on it until the server's
  // statement timeout cancels the wait: no timing is assumed, only that it ends.
  auto holder = raw();
  holder->exec("BEGIN");
  holder->exec("SELECT 1 FROM tasks WHERE id = 'locked' FOR UPDATE");
  try {
    sync_wait(io_, storage.mark_running("locked"));
    ADD_FAILURE() << "mark_running went through a held row lock";
  } catch (const StorageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("statement timeout"), std::string::npos) << message;
    EXPECT_NE(message.find("mark_running of task 'locked'"), std::string::npos) << message;
  }
  holder->exec("ROLLBACK");
  // The connection is still usable once the lock is gone.
  sync_wait(io_, storage.mark_running("locked"));
  EXPECT_EQ(sync_wait(io_, storage.get_task("locked"))->status, TaskStatus::RUNNING);
}

// Checks: ERR-2
TEST_F(OperationsTest, ForkedChildMustOpenItsOwnInstance) {
  PostgresStorage storage(options());
  const pid_t child = ::fork();
  if (child == 0) {
    asio::io_context io;
    int code = 1;
    try {
      sync_wait(io, storage.get_task("a"));
    } catch (const StorageError& e) {
      code = std::string(e.what()).find("forked child") != std::string::npos ? 0 : 2;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
}  // namespace taskstore::postgres_test
