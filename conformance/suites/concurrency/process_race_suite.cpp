// Worker processes sharing one store: CON-3 and DEQ-7 across processes, through
// run_claim_race; CON-4 and CON-6 across processes, through StoreProcess
// (taskstore/conformance/process_workers.hpp).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

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
      } else if (task->status != status || task->attempts > attempts) {  // fewer: DEQ-5's
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

TEST_P(ProcessRaceTest, WorkerProcessesClaimingInBatches_WhileAProcessEnqueues_EachDueTaskOnce) {
  TASKSTORE_REQUIREMENTS("BAT-4");
  TASKSTORE_REQUIRE_CAPABILITY(batch_claims);
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1) + " of " + std::to_string(kRounds));
    std::vector<Task> tasks;
    for (int i = 0; i < kTasks; ++i) tasks.push_back(make_task(round, i));
    const auto split = tasks.begin() + kTasks / 2;
    enqueue_here(std::vector<Task>(tasks.begin(), split));
    const ClaimRaceReport report = run_claim_race(
        environment(), ClaimRaceOptions{.workers = kWorkers,
                                        .now = now(),
                                        .to_enqueue = std::vector<Task>(split, tasks.end()),
                                        .batch = static_cast<std::size_t>(2 + round * 3)});
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

// What a worker of the mixed-write race does with task `id` at its claim number `attempts`:
// decided by the id alone, so the test knows each task's end state whichever worker
// claimed it. 0: mark_done; 1: mark_failed for good; 2: mark_failed to retry and reschedule
// to due again, then mark_done at the second claim.
int plan_of(const std::string& id) { return static_cast<int>(std::hash<std::string>{}(id) % 3); }

// One worker's round: claims until nothing is due and writes each claimed task by its plan.
void work_by_plan(BaseStorage& store, boost::asio::io_context& io, Timestamp now, int tasks) {
  int claims = 0;
  while (const auto task = sync_wait(io, store.dequeue(now))) {
    const std::string& id = task->id;
    // Each task is claimed at most twice; more is a store that keeps handing tasks out
    // (attempts reset by reschedule, say): stop rather than spin until the timeout.
    if (++claims > 2 * tasks) {
      throw std::runtime_error("more claims than the tasks' plans allow (last '" + id +
                               "' at attempt " + std::to_string(task->attempts) + ")");
    }
    const int plan = plan_of(id);
    if (plan == 1) {
      sync_wait(io, store.mark_failed(id, "gave up", false));
    } else if (plan == 2 && task->attempts == 1) {
      sync_wait(io, store.mark_failed(id, "retry"));
      sync_wait(io, store.reschedule(id, now - 1s));
    } else {
      sync_wait(io, store.mark_done(id, TaskResult{.task_id = id,
                                                   .value = to_bytes("done " + id),
                                                   .finished_at = now}));
    }
  }
}

TEST_P(ProcessRaceTest, WorkerProcesses_ClaimAndWriteAtOnce_NoWriteIsLost) {
  TASKSTORE_REQUIREMENTS("CON-6");
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  std::vector<Task> tasks;
  for (int i = 0; i < kTasks; ++i) {
    Task task = make_task(0, i);
    task.eta = now() - std::chrono::seconds(1 + i % 4);  // all due
    tasks.push_back(task);
  }
  enqueue_here(tasks);
  const auto work = [](BaseStorage& store, boost::asio::io_context& io) {
    work_by_plan(store, io, now(), kTasks);
  };
  std::vector<std::unique_ptr<StoreProcess>> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(
        std::make_unique<StoreProcess>(environment(), std::vector<StoreProcess::Step>{work}));
  }
  // Two rounds of all workers at once: a task one worker set due again while another had
  // just found nothing due is claimed in the second.
  for (int round = 0; round < 2; ++round) {
    std::vector<std::string> failures(workers.size());
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < workers.size(); ++w) {
      threads.emplace_back([&, w] { failures[w] = workers[w]->run(0); });
    }
    for (auto& thread : threads) thread.join();
    for (std::size_t w = 0; w < failures.size(); ++w) {
      EXPECT_EQ(failures[w], "") << "worker " << w << ", round " << round;
    }
  }
  workers.clear();

  // Each task ends as its plan says: a write lost, or applied to a task another worker held
  // at the time (a claim seen twice), shows here.
  boost::asio::io_context io;
  const auto store = environment().open();
  FailureDigest wrong("tasks do not end as their workers' writes leave them");
  for (const Task& task : tasks) {
    const auto end = sync_wait(io, store->get_task(task.id));
    const auto result = sync_wait(io, store->get_result(task.id));
    const int plan = plan_of(task.id);
    const TaskStatus status = plan == 1 ? TaskStatus::FAILED : TaskStatus::SUCCESS;
    const int attempts = plan == 2 ? 2 : 1;
    std::string problem;
    const std::optional<std::string> last_error =
        plan == 1 ? std::optional<std::string>("gave up")
                  : plan == 2 ? std::optional<std::string>("retry") : std::nullopt;
    if (!end) {
      problem = "is gone";
    } else if (end->status != status || end->attempts > attempts) {  // fewer: DEQ-5's
      problem = "is " + std::string(to_string(end->status)) + " after " +
                std::to_string(end->attempts) + " attempts, expected " +
                std::string(to_string(status)) + " after " + std::to_string(attempts);
    } else if (!result || result->status != status) {
      problem = "has no " + std::string(to_string(status)) + " result";
    } else if (plan != 1 && result->value != to_bytes("done " + task.id)) {
      problem = "has another result than its worker's";
    } else if (plan == 1 && result->error != last_error) {
      problem = "has a FAILED result without its error";
    } else if (end->last_error != last_error) {
      problem = "has last_error " + (end->last_error ? "'" + *end->last_error + "'" : "none") +
                ", expected " + (last_error ? "'" + *last_error + "'" : "none");
    }
    if (!problem.empty()) wrong.add("'" + task.id + "' " + problem);
  }
  EXPECT_TRUE(wrong.empty()) << wrong.str();
}

INSTANTIATE_TEST_SUITE_P(Concurrency, ProcessRaceTest, ::testing::ValuesIn(registered_backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace

}  // namespace taskstore::conformance
