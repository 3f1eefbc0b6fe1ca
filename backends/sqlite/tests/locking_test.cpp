// Waiting on a write lock another connection holds: the backend waits on its own pool,
// retries within its budget, and gives up with a clear error instead of hanging.

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <thread>

#include "test_support.hpp"

namespace taskstore::sqlite_test {
namespace {

using namespace std::chrono_literals;

class SqliteLocking : public ::testing::Test {
 protected:
  // A store with one due task, "a", and the given busy settings.
  std::unique_ptr<SqliteStorage> open(std::chrono::milliseconds busy_timeout, int busy_retries) {
    auto options = options_for(db_, at(0));
    options.busy_timeout = busy_timeout;
    options.busy_retries = busy_retries;
    auto storage = std::make_unique<SqliteStorage>(options);
    if (!sync_wait(io_, storage->get_task("a"))) sync_wait(io_, storage->enqueue(make_task("a", 1)));
    return storage;
  }

  TempDir dir_;
  std::filesystem::path db_ = dir_.path() / "q.db";
  asio::io_context io_;
};

// Checks: SQL-3
TEST_F(SqliteLocking, DequeueWaitsForAWriteLockHeldBriefly) {
  auto storage = open(5000ms, 20);
  RawDb holder(db_);
  holder.exec("BEGIN IMMEDIATE");
  std::thread release([&] {
    std::this_thread::sleep_for(200ms);
    holder.exec("COMMIT");
  });
  const auto claimed = sync_wait(io_, storage->dequeue(at(10)));
  release.join();
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, "a");
}

// Checks: SQL-3
TEST_F(SqliteLocking, RetriesTheTransactionWhenTheBusyTimeoutRunsOut) {
  // A busy timeout far shorter than the hold: only retrying the whole transaction gets
  // the claim through.
  auto storage = open(5ms, 1000);
  RawDb holder(db_);
  holder.exec("BEGIN IMMEDIATE");
  std::thread release([&] {
    std::this_thread::sleep_for(200ms);
    holder.exec("COMMIT");
  });
  const auto claimed = sync_wait(io_, storage->dequeue(at(10)));
  release.join();
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->attempts, 1);
}

// Checks: SQL-3
TEST_F(SqliteLocking, ALockHeldPastTheBudgetRaisesStorageErrorNamingTheDatabase) {
  auto storage = open(1ms, 2);
  RawDb holder(db_);
  holder.exec("BEGIN IMMEDIATE");
  try {
    sync_wait(io_, storage->dequeue(at(10)));
    FAIL() << "dequeue succeeded while another connection held the write lock";
  } catch (const StorageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(db_.string()), std::string::npos) << message;
    EXPECT_NE(message.find("dequeue"), std::string::npos) << message;
    EXPECT_NE(message.find("locked"), std::string::npos) << message;
  }
  try {
    sync_wait(io_, storage->mark_running("a"));
    FAIL() << "mark_running succeeded while another connection held the write lock";
  } catch (const StorageError& e) {
    // The error names the task too, not just the operation (ERR-2).
    EXPECT_NE(std::string(e.what()).find("mark_running of task 'a'"), std::string::npos)
        << e.what();
  }
  holder.exec("ROLLBACK");
  // Nothing was half-done: the task is still due and unclaimed.
  const auto claimed = sync_wait(io_, storage->dequeue(at(10)));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->attempts, 1);
}

// Checks: SQL-5
TEST_F(SqliteLocking, WaitingOnALockDoesNotBlockTheCallersExecutor) {
  auto storage = open(5000ms, 20);
  RawDb holder(db_);
  holder.exec("BEGIN IMMEDIATE");

  bool dequeue_done = false;
  bool timer_fired_first = false;
  std::optional<Task> claimed;
  auto dequeue = asio::co_spawn(
      io_,
      [&]() -> Awaitable<void> {
        claimed = co_await storage->dequeue(at(10));
        dequeue_done = true;
      },
      asio::use_future);
  auto timer = asio::co_spawn(
      io_,
      [&]() -> Awaitable<void> {
        asio::steady_timer wait(co_await asio::this_coro::executor);
        wait.expires_after(20ms);
        co_await wait.async_wait(asio::use_awaitable);
        timer_fired_first = !dequeue_done;
        holder.exec("COMMIT");  // only now can the dequeue get the lock
      },
      asio::use_future);
  io_.restart();
  io_.run();
  timer.get();
  dequeue.get();
  EXPECT_TRUE(timer_fired_first);
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, "a");
}

}  // namespace
}  // namespace taskstore::sqlite_test
