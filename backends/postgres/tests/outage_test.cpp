// A server outage under a live storage object: operations fail with StorageError while
// the server is down and succeed again once it is back, without recreating the object.
// It stops the server, so it runs only when told how (and ctest runs it alone):
//   TASKSTORE_PG_STOP, TASKSTORE_PG_START  shell commands that stop / start the server
//                                          (e.g. bash ci/postgres-cluster.sh stop DIR);
//   TASKSTORE_PG_RESTART                   or one command that restarts it (then only the
//                                          recovery is checked, not the failure);
//   TASKSTORE_PG_KILL                      a command that SIGKILLs the server and its
//                                          backends (bash ci/postgres-cluster.sh kill DIR),
//                                          with TASKSTORE_PG_START to bring it back.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "test_support.hpp"

namespace taskstore::postgres_test {
namespace {

using OutageTest = PgTest;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

void run_command(const std::string& command) {
  ASSERT_EQ(std::system(command.c_str()), 0) << "command failed: " << command;
}

// One operation of each kind, checked to succeed; `n` keeps the ids apart.
void exercise(PostgresStorage& storage, asio::io_context& io, int n) {
  const std::string id = "after-" + std::to_string(n);
  sync_wait(io, storage.enqueue(make_task(id, 0)));
  const auto claimed = sync_wait(io, storage.dequeue(at(1'000'000)));
  ASSERT_TRUE(claimed.has_value());
  sync_wait(io, storage.mark_done(claimed->id, TaskResult{.task_id = claimed->id}));
  EXPECT_EQ(sync_wait(io, storage.get_task(claimed->id))->status, TaskStatus::SUCCESS);
}

// Checks: ERR-2, PG-3
TEST_F(OutageTest, StorageFailsDuringAnOutageAndWorksAgainAfterIt) {
  const std::string stop = env("TASKSTORE_PG_STOP");
  const std::string start = env("TASKSTORE_PG_START");
  const std::string restart = env("TASKSTORE_PG_RESTART");
  if ((stop.empty() || start.empty()) && restart.empty()) {
    GTEST_SKIP() << "postgres outage: set TASKSTORE_PG_STOP and TASKSTORE_PG_START (or "
                    "TASKSTORE_PG_RESTART) to commands that control the TASKSTORE_PG server";
  }
  PostgresStorageOptions opts = options();
  opts.connections = 3;
  PostgresStorage storage(opts);
  exercise(storage, io_, 0);
  exercise(storage, io_, 1);  // with luck on another pool connection

  if (!stop.empty() && !start.empty()) {
    run_command(stop);
    // Every pool connection has been used or will try to connect: each attempt fails.
    for (int i = 0; i < 4; ++i) {
      try {
        sync_wait(io_, storage.get_task("after-0"));
        ADD_FAILURE() << "get_task succeeded with the server down";
      } catch (const StorageError& e) {
        EXPECT_NE(std::string(e.what()).find("get_task of task 'after-0'"), std::string::npos)
            << e.what();
      }
      EXPECT_THROW(sync_wait(io_, storage.enqueue(make_task("during"))), StorageError);
    }
    run_command(start);
  } else {
    run_command(restart);
  }
  // The same object works again on every pool connection.
  for (int n = 2; n < 8; ++n) exercise(storage, io_, n);
  EXPECT_FALSE(sync_wait(io_, storage.get_task("during")).has_value());
}

// Waits until `done()` holds, up to `limit`; false if it never did.
template <typename Done>
bool wait_for(Done done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The server dies mid-workload (no shutdown, no checkpoint: crash recovery on restart).
// Checks: ERR-2, PG-3
TEST_F(OutageTest, ServerKilledMidWorkload_NothingAcknowledgedIsLostAndTheSameObjectReconnects) {
  const std::string kill = env("TASKSTORE_PG_KILL");
  const std::string start = env("TASKSTORE_PG_START");
  if (kill.empty() || start.empty()) {
    GTEST_SKIP() << "postgres outage: set TASKSTORE_PG_KILL and TASKSTORE_PG_START to commands "
                    "that SIGKILL and start the TASKSTORE_PG server";
  }
  PostgresStorageOptions opts = options();
  opts.connections = 3;
  PostgresStorage storage(opts);
  exercise(storage, io_, 0);

  // Enqueues on a thread of its own until stopped, noting what was acknowledged.
  std::mutex mutex;
  std::vector<std::string> acknowledged;
  std::vector<std::string> wrong_errors;
  std::atomic<int> failed{0};
  std::atomic<bool> stop{false};
  const auto count = [&] {
    const std::lock_guard lock(mutex);
    return acknowledged.size();
  };
  std::thread workload([&] {
    asio::io_context io;
    for (int n = 0; !stop; ++n) {
      const std::string id = "k-" + std::to_string(n);
      try {
        sync_wait(io, storage.enqueue(make_task(id, 0)));
        const std::lock_guard lock(mutex);
        acknowledged.push_back(id);
      } catch (const StorageError&) {
        ++failed;
      } catch (const std::exception& e) {
        const std::lock_guard lock(mutex);
        wrong_errors.push_back(id + ": " + e.what());
      }
    }
  });
  const bool started = wait_for([&] { return count() >= 20; }, std::chrono::seconds(60));
  run_command(kill);
  const bool failed_while_down = wait_for([&] { return failed >= 3; }, std::chrono::seconds(60));
  run_command(start);
  const std::size_t before_recovery = count();
  const bool recovered =
      wait_for([&] { return count() >= before_recovery + 20; }, std::chrono::seconds(120));
  stop = true;
  workload.join();
  ASSERT_TRUE(started) << "the workload acknowledged nothing before the kill";
  EXPECT_TRUE(failed_while_down) << "no enqueue failed while the server was dead";
  ASSERT_TRUE(recovered) << "the same object acknowledged nothing once the server was back";
  EXPECT_TRUE(wrong_errors.empty()) << "not StorageError: " << wrong_errors.front();

  // Every acknowledged enqueue survived the crash, and each is claimed exactly once.
  std::set<std::string> claimed;
  while (const auto task = sync_wait(io_, storage.dequeue(at(1'000'000'000)))) {
    ASSERT_TRUE(claimed.insert(task->id).second) << "'" << task->id << "' was claimed twice";
  }
  for (const auto& id : acknowledged) {
    EXPECT_EQ(claimed.count(id), 1U) << "acknowledged enqueue of '" << id << "' was lost";
  }
  exercise(storage, io_, 1);
}

}  // namespace
}  // namespace taskstore::postgres_test
