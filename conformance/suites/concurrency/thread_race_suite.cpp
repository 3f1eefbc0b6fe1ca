// Dequeuers racing enqueuers on threads: CON-2 (with DEQ-6 for one shared instance and
// DEQ-7 for an instance per thread).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "taskstore/conformance/claim_check.hpp"
#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/fixture.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class ThreadRaceTest : public ConformanceTest {
 protected:
  static constexpr int kRounds = 20;
  static constexpr int kEnqueuers = 3;
  static constexpr int kDequeuers = 4;
  static constexpr int kPerEnqueuer = 20;  // every fifth is not due yet
  // A round that runs this long has hung: it fails instead.
  static constexpr auto kRoundTimeout = 120s;

  // Runs kRounds rounds on the test's store. In each, kEnqueuers threads enqueue fresh tasks
  // while kDequeuers threads claim with dequeue(t0()) until the enqueuers are done and
  // nothing is due; thread `i` uses the instance `instance_for(i)` (enqueuers first). Then
  // checks that every due task of the round was claimed exactly once and nothing else was.
  void race_rounds(const std::function<std::shared_ptr<BaseStorage>(int)>& instance_for) {
    given_dequeue_works();
    for (int round = 0; round < kRounds && !HasFailure(); ++round) {
      SCOPED_TRACE("round " + std::to_string(round + 1) + " of " + std::to_string(kRounds));
      race_round(round, instance_for);
    }
  }

 private:
  static std::string task_id(int round, int enqueuer, int i) {
    return "r" + std::to_string(round) + "-e" + std::to_string(enqueuer) + "-" + std::to_string(i);
  }
  static bool is_due(int i) { return i % 5 != 4; }

  void race_round(int round, const std::function<std::shared_ptr<BaseStorage>(int)>& instance_for) {
    // Dequeuers wait on this instead of polling: an empty dequeue ends a dequeuer only if it
    // began after every enqueuer had finished, so each due task was in the store by then.
    std::mutex mutex;
    std::condition_variable progress;
    std::uint64_t enqueued = 0;
    int enqueuers_left = kEnqueuers;
    std::vector<std::string> errors;
    std::vector<std::vector<std::string>> claims(kDequeuers);
    const auto deadline = std::chrono::steady_clock::now() + kRoundTimeout;
    const auto fail = [&](const std::string& what) {
      const std::lock_guard lock(mutex);
      errors.push_back(what);
    };

    std::vector<std::thread> threads;
    for (int e = 0; e < kEnqueuers; ++e) {
      threads.emplace_back([&, e] {
        try {
          const auto instance = instance_for(e);
          boost::asio::io_context io;
          for (int i = 0; i < kPerEnqueuer; ++i) {
            const Timestamp eta = is_due(i) ? t0() - std::chrono::seconds(1 + i % 3) : t0() + 1h;
            sync_wait(io, instance->enqueue(make_task(task_id(round, e, i), eta)));
            {
              const std::lock_guard lock(mutex);
              ++enqueued;
            }
            progress.notify_all();
          }
        } catch (const std::exception& ex) {
          fail("enqueuer " + std::to_string(e) + ": " + ex.what());
        }
        {
          const std::lock_guard lock(mutex);
          --enqueuers_left;
        }
        progress.notify_all();
      });
    }
    for (int d = 0; d < kDequeuers; ++d) {
      threads.emplace_back([&, d] {
        try {
          const auto instance = instance_for(kEnqueuers + d);
          boost::asio::io_context io;
          for (;;) {
            bool finished = false;
            std::uint64_t seen = 0;
            {
              const std::lock_guard lock(mutex);
              finished = enqueuers_left == 0;
              seen = enqueued;
            }
            if (const auto task = sync_wait(io, instance->dequeue(t0()))) {
              claims[static_cast<std::size_t>(d)].push_back(task->id);
              continue;
            }
            if (finished) break;
            std::unique_lock lock(mutex);
            if (!progress.wait_until(lock, deadline,
                                     [&] { return enqueued != seen || enqueuers_left == 0; })) {
              lock.unlock();
              fail("dequeuer " + std::to_string(d) + ": the round did not end in time");
              break;
            }
          }
        } catch (const std::exception& ex) {
          fail("dequeuer " + std::to_string(d) + ": " + ex.what());
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& e : errors) ADD_FAILURE() << e;

    ClaimCheck check("dequeuer");
    for (int d = 0; d < kDequeuers; ++d) {
      for (const auto& id : claims[static_cast<std::size_t>(d)]) {
        check.claimed(id, static_cast<std::size_t>(d));
      }
    }
    std::vector<std::string> due;
    std::vector<std::string> not_due;
    for (int e = 0; e < kEnqueuers; ++e) {
      for (int i = 0; i < kPerEnqueuer; ++i) {
        (is_due(i) ? due : not_due).push_back(task_id(round, e, i));
      }
    }
    const std::string problems = check.problems(due, not_due);
    EXPECT_TRUE(problems.empty()) << problems;
    EXPECT_TRUE(dequeue_returns_nothing(t0())) << "a due task was left unclaimed";
    FailureDigest wrong("tasks are not in the state their claims give them");
    for (int e = 0; e < kEnqueuers; ++e) {
      for (int i = 0; i < kPerEnqueuer; ++i) {
        const Task task = must_get(task_id(round, e, i));
        const TaskStatus status = is_due(i) ? TaskStatus::RUNNING : TaskStatus::PENDING;
        const int attempts = is_due(i) ? 1 : 0;
        // More attempts than claims is a claim seen twice; fewer is a claim that counts no
        // attempt, DEQ-5's to report.
        if (task.status != status || task.attempts > attempts) {
          wrong.add("'" + task.id + "' is " + std::string(to_string(task.status)) + " after " +
                    std::to_string(task.attempts) + " attempts, expected " +
                    std::string(to_string(status)) + " after " + std::to_string(attempts));
        }
      }
    }
    EXPECT_TRUE(wrong.empty()) << wrong.str();
  }
};

TEST_P(ThreadRaceTest, DequeuersRaceEnqueuers_OneInstance_EveryDueTaskClaimedOnce) {
  TASKSTORE_REQUIREMENTS("CON-2", "DEQ-6");
  TASKSTORE_REQUIRE_CAPABILITY(concurrent_calls);
  const auto shared = std::shared_ptr<BaseStorage>(&store(), [](BaseStorage*) {});
  race_rounds([&](int) { return shared; });
}

TEST_P(ThreadRaceTest, DequeuersRaceEnqueuers_InstancePerThread_EveryDueTaskClaimedOnce) {
  TASKSTORE_REQUIREMENTS("CON-2", "DEQ-7");
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  TASKSTORE_REQUIRE_CAPABILITY(concurrent_calls);
  std::vector<std::shared_ptr<BaseStorage>> instances;
  for (int i = 0; i < kEnqueuers + kDequeuers; ++i) instances.push_back(open_another_instance());
  race_rounds([&](int thread) { return instances[static_cast<std::size_t>(thread)]; });
}

INSTANTIATE_TEST_SUITE_P(Concurrency, ThreadRaceTest, ::testing::ValuesIn(registered_backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace

}  // namespace taskstore::conformance
