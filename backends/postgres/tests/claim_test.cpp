// Claims racing on threads, through one instance and through one instance per thread:
// every task is handed out exactly once.

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace taskstore::postgres_test {
namespace {

using ClaimTest = PgTest;

constexpr int kTasks = 400;
constexpr int kThreads = 6;

// Enqueues kTasks due tasks, then drains them from kThreads threads, each claiming through
// `store_for(thread)` until nothing is due; returns every claimed id in claim order per
// thread, all threads concatenated.
template <typename StoreFor>
std::vector<std::string> drain(BaseStorage& loader, StoreFor store_for) {
  asio::io_context io;
  for (int i = 0; i < kTasks; ++i) {
    sync_wait(io, loader.enqueue(make_task("t" + std::to_string(i), i % 17)));
  }
  std::vector<std::vector<std::string>> claimed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      asio::io_context own;
      BaseStorage& store = store_for(t);
      while (auto task = sync_wait(own, store.dequeue(at(1'000)))) {
        claimed[static_cast<std::size_t>(t)].push_back(task->id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<std::string> all;
  for (const auto& ids : claimed) all.insert(all.end(), ids.begin(), ids.end());
  return all;
}

void expect_each_claimed_once(const std::vector<std::string>& claimed) {
  const std::set<std::string> distinct(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), distinct.size()) << "a task was claimed twice";
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kTasks)) << "a due task was never claimed";
}

// Checks: DEQ-6, PG-2
TEST_F(ClaimTest, ThreadsSharingOneInstanceClaimEachTaskOnce) {
  PostgresStorageOptions opts = options();
  opts.connections = 4;
  PostgresStorage storage(opts);
  expect_each_claimed_once(drain(storage, [&](int) -> BaseStorage& { return storage; }));
}

// Checks: DEQ-7, PG-2
TEST_F(ClaimTest, ThreadsWithTheirOwnInstanceClaimEachTaskOnce) {
  std::vector<std::unique_ptr<PostgresStorage>> stores;
  for (int t = 0; t < kThreads; ++t) stores.push_back(std::make_unique<PostgresStorage>(options()));
  expect_each_claimed_once(drain(*stores.front(), [&](int t) -> BaseStorage& {
    return *stores[static_cast<std::size_t>(t)];
  }));
  // Every claim counted one attempt and left the task RUNNING.
  EXPECT_EQ(raw()->query("SELECT count(*) FROM tasks WHERE status = 'RUNNING' AND attempts = 1"),
            std::to_string(kTasks));
}

// Checks: DEQ-4
TEST_F(ClaimTest, ClaimsComeInEtaOrderTiesInEnqueueOrder) {
  PostgresStorage storage(options());
  sync_wait(io_, storage.enqueue(make_task("late", 30)));
  sync_wait(io_, storage.enqueue(make_task("tie-first", 20)));
  sync_wait(io_, storage.enqueue(make_task("tie-second", 20)));
  sync_wait(io_, storage.enqueue(make_task("early", -10)));
  std::vector<std::string> order;
  while (auto task = sync_wait(io_, storage.dequeue(at(30)))) order.push_back(task->id);
  EXPECT_EQ(order, (std::vector<std::string>{"early", "tie-first", "tie-second", "late"}));
}

// Checks: DEQ-9, DEQ-5
TEST_F(ClaimTest, ARowWhoseAttemptsOverflowEveryIntegerIsPassedOverUntouched) {
  PostgresStorage storage(options());
  sync_wait(io_, storage.enqueue(make_task("damaged", 100)));
  sync_wait(io_, storage.enqueue(make_task("fine", 200)));
  // attempts + 1 would overflow bigint on the server; the claim must neither fail nor
  // hide the damage by saturating it.
  raw()->exec("UPDATE tasks SET attempts = 9223372036854775807 WHERE id = 'damaged'");
  const auto first = sync_wait(io_, storage.dequeue(at(1'000)));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id, "fine");
  EXPECT_FALSE(sync_wait(io_, storage.dequeue(at(1'000))).has_value());
  EXPECT_EQ(raw()->query("SELECT status || ' ' || attempts FROM tasks WHERE id = 'damaged'"),
            "PENDING 9223372036854775807");
  EXPECT_THROW(sync_wait(io_, storage.get_task("damaged")), CorruptionError);
}

// Checks: PG-6
TEST_F(ClaimTest, AnInstanceVacuumsItsTasksTableEveryNWrites) {
  PostgresStorageOptions small = options();
  small.vacuum_every = 20;
  PostgresStorage storage(small);
  for (int i = 0; i < 15; ++i) {
    sync_wait(io_, storage.enqueue(make_task("t" + std::to_string(i))));
  }
  EXPECT_EQ(storage.vacuums(), 0u);  // 15 writes: not yet
  for (int i = 0; i < 15; ++i) {
    const auto task = sync_wait(io_, storage.dequeue(at(1'000'000)));
    ASSERT_TRUE(task.has_value());
  }
  // 30 writes: one VACUUM, in the background (bounded wait, no claim about speed).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (storage.vacuums() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(storage.vacuums(), 1u);
  EXPECT_EQ(raw()->query("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE "
                         "schemaname = current_schema() AND relname = 'tasks'"),
            "t");
}

// Checks: PG-6
TEST_F(ClaimTest, VacuumEveryZeroLeavesItToAutovacuum) {
  PostgresStorageOptions off = options();
  off.vacuum_every = 0;
  PostgresStorage storage(off);
  for (int i = 0; i < 50; ++i) {
    sync_wait(io_, storage.enqueue(make_task("t" + std::to_string(i))));
  }
  EXPECT_EQ(storage.vacuums(), 0u);
}

}  // namespace
}  // namespace taskstore::postgres_test
