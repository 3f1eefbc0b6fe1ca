// run_claim_race's own tests: it reports what the worker processes really claimed (so a
// store that hands a task out twice shows it), wakes idle workers for an enqueuer process,
// and reports a child that fails instead of hanging.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "selftest_stores.hpp"
#include "taskstore/conformance/process_workers.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {
namespace {

using namespace selftest;
using namespace std::chrono_literals;

constexpr Timestamp kNow = from_micros(1'767'225'600'000'001);

std::vector<Task> tasks(int count) {
  std::vector<Task> out;
  for (int i = 0; i < count; ++i) {
    Task task;
    task.id = "t" + std::to_string(i);
    task.name = "selftest";
    task.eta = kNow - std::chrono::seconds(i % 3);
    task.created_at = kNow;
    task.updated_at = kNow;
    out.push_back(std::move(task));
  }
  return out;
}

void enqueue_here(StoreEnvironment& environment, const std::vector<Task>& all) {
  boost::asio::io_context io;
  const auto store = environment.open();
  for (const Task& task : all) sync_wait(io, store->enqueue(task));
}

std::map<std::string, int> claim_counts(const ClaimRaceReport& report) {
  std::map<std::string, int> counts;
  for (const auto& worker : report.workers) {
    for (const auto& id : worker.claimed) ++counts[id];
  }
  return counts;
}

TEST(ClaimRaceSelfTest, StoreThatHandsAClaimOutTwice_ShowsInTheReport) {
  TempDir dir;
  WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) {
    return std::make_shared<UnclaimingStorage>(std::move(inner));
  });
  enqueue_here(environment, tasks(20));
  const ClaimRaceReport report =
      run_claim_race(environment, ClaimRaceOptions{.workers = 4, .now = kNow});
  EXPECT_EQ(report.failures(), "");
  const auto counts = claim_counts(report);
  EXPECT_EQ(counts.size(), 20u);
  for (const auto& [id, n] : counts) EXPECT_GE(n, 2) << id << " was handed out only once";
}

TEST(ClaimRaceSelfTest, IdleWorkers_WaitForTheEnqueuerProcess) {
  TempDir dir;
  WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) { return inner; });
  // Nothing is there when the workers start: they must wait for the enqueuer, not give up.
  const ClaimRaceReport report = run_claim_race(
      environment, ClaimRaceOptions{.workers = 4, .now = kNow, .to_enqueue = tasks(40)});
  EXPECT_EQ(report.failures(), "");
  EXPECT_EQ(report.enqueued.size(), 40u);
  const auto counts = claim_counts(report);
  EXPECT_EQ(counts.size(), 40u) << "some enqueued tasks were never claimed";
  for (const auto& [id, n] : counts) EXPECT_EQ(n, 1) << id;
}

TEST(ClaimRaceSelfTest, ChildThatCannotOpenTheStore_IsReportedWithItsError) {
  TempDir dir;
  const pid_t parent = ::getpid();
  WrappedEnvironment environment(dir.path(), [parent](std::shared_ptr<BaseStorage> inner) {
    if (::getpid() != parent) throw StorageError("this store refuses other processes");
    return inner;
  });
  const ClaimRaceReport report = run_claim_race(
      environment, ClaimRaceOptions{.workers = 2, .now = kNow, .to_enqueue = tasks(3)});
  EXPECT_FALSE(report.timed_out);
  ASSERT_EQ(report.workers.size(), 2u);
  for (const auto& worker : report.workers) {
    EXPECT_EQ(worker.failure, "this store refuses other processes; exited with code 2");
  }
  EXPECT_EQ(report.enqueuer_failure, "this store refuses other processes; exited with code 2");
}

}  // namespace
}  // namespace taskstore::conformance

namespace taskstore::conformance {
namespace {

// An instance that leaves a file named after its process when it closes.
class MarksItsClose final : public selftest::ForwardingStorage {
 public:
  MarksItsClose(std::shared_ptr<BaseStorage> inner, std::filesystem::path marker)
      : ForwardingStorage(std::move(inner)), marker_(std::move(marker)) {}
  ~MarksItsClose() override { std::ofstream(marker_ / std::to_string(::getpid())) << "closed"; }

 private:
  std::filesystem::path marker_;
};

// Two StoreProcesses alive at once: ending the first must end its child cleanly (its
// instance closed), although the second child was forked while the first one's pipes were
// open in the parent.
TEST(StoreProcessSelfTest, SeveralAtOnce_EachEndsItsChildCleanly) {
  selftest::TempDir dir;
  const std::filesystem::path markers = dir.path() / "closed";
  std::filesystem::create_directories(markers);
  selftest::WrappedEnvironment environment(dir.path(), [&](std::shared_ptr<BaseStorage> inner) {
    return std::make_shared<MarksItsClose>(std::move(inner), markers);
  });
  const StoreProcess::Step noop = [](BaseStorage&, boost::asio::io_context&) {};
  auto first = std::make_unique<StoreProcess>(environment, std::vector{noop}, 3s);
  auto second = std::make_unique<StoreProcess>(environment, std::vector{noop}, 3s);
  ASSERT_EQ(first->run(0), "");
  ASSERT_EQ(second->run(0), "");
  first.reset();
  std::size_t closed = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(markers)) ++closed;
  EXPECT_EQ(closed, 1u) << "the first child did not end when its StoreProcess did (it was "
                           "killed at the timeout instead)";
  second.reset();
}

}  // namespace
}  // namespace taskstore::conformance
