// Worker processes sharing one store: CON-3 and DEQ-7 across processes, through
// run_claim_race, and CON-4 across processes, through StoreProcess
// (taskstore/conformance/process_workers.hpp).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>
#include <stdexcept>

#include "taskstore/conformance/claim_check.hpp"
#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/process_workers.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

// Unlike ConformanceTest, holds no open instance: the test process forks the workers, and
// a forked child must not inherit an instance (or its threads) from its parent.
class ProcessRaceTest : public BackendTest {
 protected:
  static constexpr int kRounds = 3;
  static constexpr int kWorkers = 4;
  static constexpr int kTasks = 150;  // per round; every sixth is not due

  void SetUpBackend() override { environment_ = backend().make_environment(); }
  void TearDownBackend() override { environment_.reset(); }

  StoreEnvironment& environment() { return *environment_; }

  static Timestamp now() { return from_micros(1'767'225'600'000'001); }
  static bool is_due(int i) { return i % 6 != 5; }

  // Task i of a round: due at now() or slightly before, or an hour later.
  static Task make_task(int round, int i) {
    Task task;
    task.id = "p" + std::to_string(round) + "-" + std::to_string(i);
    task.name = "conformance.process";
    task.payload = to_bytes("payload of " + task.id);
    task.eta = is_due(i) ? now() - std::chrono::seconds(i % 4) : now() + 1h;
    task.created_at = now();
    task.updated_at = now();
    return task;
  }

  // Enqueues through an instance that is closed before this returns, so the process holds
  // no instance and no backend threads when it forks.
  void enqueue_here(const std::vector<Task>& tasks) {
    boost::asio::io_context io;
    const auto store = environment().open();
    for (const Task& task : tasks) sync_wait(io, store->enqueue(task));
  }

  // Checks a race over `tasks` (all enqueued by the end of it): every due task claimed by
  // exactly one worker, nothing else claimed, and the store agrees.
  void check_race(const ClaimRaceReport& report, const std::vector<Task>& tasks, int round) {
    EXPECT_EQ(report.failures(), "") << "a worker process failed";
    ClaimCheck check("worker");
    for (std::size_t w = 0; w < report.workers.size(); ++w) {
      for (const auto& id : report.workers[w].claimed) check.claimed(id, w);
    }
    std::vector<std::string> due;
    std::vector<std::string> not_due;
    for (int i = 0; i < kTasks; ++i) {
      (is_due(i) ? due : not_due).push_back(tasks[static_cast<std::size_t>(i)].id);
    }
    const std::string problems = check.problems(due, not_due);
    EXPECT_TRUE(problems.empty()) << "round " << round << ": " << problems;
    boost::asio::io_context io;
    const auto store = environment().open();
    const auto left = sync_wait(io, store->dequeue(now()));
    EXPECT_FALSE(left.has_value()) << "due task '" << (left ? left->id : "") << "' was never claimed";
    FailureDigest wrong("tasks are not in the state their claims give them");
    for (int i = 0; i < kTasks; ++i) {
      const std::string& id = tasks[static_cast<std::size_t>(i)].id;
      const auto task = sync_wait(io, store->get_task(id));
      const TaskStatus status = is_due(i) ? TaskStatus::RUNNING : TaskStatus::PENDING;
      const int attempts = is_due(i) ? 1 : 0;
      if (!task) {
        wrong.add("'" + id + "' is gone");
      } else if (task->status != status || task->attempts != attempts) {
        wrong.add("'" + id + "' is " + std::string(to_string(task->status)) + " after " +
                  std::to_string(task->attempts) + " attempts, expected " +
                  std::string(to_string(status)) + " after " + std::to_string(attempts));
      }
    }
    EXPECT_TRUE(wrong.empty()) << wrong.str();
  }

 private:
  std::unique_ptr<StoreEnvironment> environment_;
};

TEST_P(ProcessRaceTest, WorkerProcesses_ClaimAFixedSet_EachDueTaskClaimedByExactlyOne) {
  TASKSTORE_REQUIREMENTS("CON-3", "DEQ-7");
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1) + " of " + std::to_string(kRounds));
    std::vector<Task> tasks;
    for (int i = 0; i < kTasks; ++i) tasks.push_back(make_task(round, i));
    enqueue_here(tasks);
    const ClaimRaceReport report =
        run_claim_race(environment(), ClaimRaceOptions{.workers = kWorkers, .now = now()});
    check_race(report, tasks, round);
  }
}

TEST_P(ProcessRaceTest, WorkerProcesses_WhileAProcessEnqueues_EachDueTaskClaimedByExactlyOne) {
  TASKSTORE_REQUIREMENTS("CON-3", "DEQ-7");
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1) + " of " + std::to_string(kRounds));
    std::vector<Task> tasks;
    for (int i = 0; i < kTasks; ++i) tasks.push_back(make_task(round, i));
    // A third is there before the workers start; the enqueuer process adds the rest while
    // they claim.
    const auto split = tasks.begin() + kTasks / 3;
    enqueue_here(std::vector<Task>(tasks.begin(), split));
    const ClaimRaceReport report = run_claim_race(
        environment(), ClaimRaceOptions{.workers = kWorkers,
                                        .now = now(),
                                        .to_enqueue = std::vector<Task>(split, tasks.end())});
    std::vector<std::string> expected;
    for (auto it = split; it != tasks.end(); ++it) expected.push_back(it->id);
    EXPECT_EQ(report.enqueued, expected) << "the enqueuer process did not enqueue everything";
    check_race(report, tasks, round);
  }
}

TEST_P(ProcessRaceTest, AnotherProcessesWrites_AreSeenAtOnceByAnOpenInstance) {
  TASKSTORE_REQUIREMENTS("CON-4");
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  // x due first, then y; z an hour later.
  enqueue_here({make_task(0, 1), make_task(0, 0), make_task(0, 5)});
  const std::string x = make_task(0, 1).id;
  const std::string y = make_task(0, 0).id;
  const std::string z = make_task(0, 5).id;
  const Task fresh = make_task(1, 0);
  // The other process's writes, each run when the test asks.
  const auto claim = [x](BaseStorage& store, boost::asio::io_context& io) {
    const auto task = sync_wait(io, store.dequeue(now()));
    if (!task || task->id != x) throw std::runtime_error("the other process did not claim x");
  };
  const auto done = [x](BaseStorage& store, boost::asio::io_context& io) {
    sync_wait(io, store.mark_done(x, TaskResult{.task_id = x, .value = to_bytes("42"),
                                                .finished_at = now()}));
  };
  const auto fail = [y](BaseStorage& store, boost::asio::io_context& io) {
    sync_wait(io, store.mark_failed(y, "boom", false));
  };
  const auto move_up = [z](BaseStorage& store, boost::asio::io_context& io) {
    sync_wait(io, store.reschedule(z, now()));
  };
  const auto add = [fresh](BaseStorage& store, boost::asio::io_context& io) {
    sync_wait(io, store.enqueue(fresh));
  };
  StoreProcess other(environment(), {claim, done, fail, move_up, add});

  // Opened only now, after the fork; it reads every task before the other process writes.
  boost::asio::io_context io;
  const auto a = environment().open();
  for (const std::string& id : {x, y, z, fresh.id}) sync_wait(io, a->get_task(id));
  const auto status_of = [&](const std::string& id) {
    const auto task = sync_wait(io, a->get_task(id));
    return task ? std::string(to_string(task->status)) : std::string("(none)");
  };

  ASSERT_EQ(other.run(0), "");
  EXPECT_EQ(status_of(x), "RUNNING") << "an open instance does not see another process's claim";
  const auto next = sync_wait(io, a->dequeue(now()));
  EXPECT_EQ(next ? next->id : "(nothing)", y) << "an open instance handed out a claimed task";
  ASSERT_EQ(other.run(1), "");
  EXPECT_EQ(status_of(x), "SUCCESS") << "an open instance does not see another process's mark_done";
  EXPECT_TRUE(sync_wait(io, a->get_result(x)).has_value()) << "nor its result";
  ASSERT_EQ(other.run(2), "");
  EXPECT_EQ(status_of(y), "FAILED") << "an open instance does not see another process's mark_failed";
  ASSERT_EQ(other.run(3), "");
  const auto moved = sync_wait(io, a->dequeue(now()));
  EXPECT_EQ(moved ? moved->id : "(nothing)", z)
      << "an open instance's dequeue does not see another process's reschedule";
  ASSERT_EQ(other.run(4), "");
  EXPECT_EQ(status_of(fresh.id), "PENDING") << "an open instance does not see another process's enqueue";
}

INSTANTIATE_TEST_SUITE_P(Concurrency, ProcessRaceTest, ::testing::ValuesIn(registered_backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace

}  // namespace taskstore::conformance
