// A server outage under a live storage object: operations fail with StorageError while
// the server is down and succeed again once it is back, without recreating the object.
// It stops the server, so it runs only when told how (and ctest runs it alone):
//   TASKSTORE_PG_STOP, TASKSTORE_PG_START  shell commands that stop / start the server
//                                          (e.g. bash ci/postgres-cluster.sh stop DIR);
//   TASKSTORE_PG_RESTART                   or one command that restarts it (then only the
//                                          recovery is checked, not the failure).

#include <cstdlib>

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

}  // namespace
}  // namespace taskstore::postgres_test
