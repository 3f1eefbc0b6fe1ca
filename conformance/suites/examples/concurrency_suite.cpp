// Concurrency and asynchrony: CON-1, CON-4 (within one process), CON-5, ASY-1.
#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <mutex>
#include <thread>

#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class ConcurrencyTest : public ConformanceTest {};

TEST_P(ConcurrencyTest, ConcurrentWrites_OneInstance_AllTakeEffect) {
  TASKSTORE_REQUIREMENTS("CON-1");
  TASKSTORE_REQUIRE_CAPABILITY(concurrent_calls);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  auto id = [](int thread, int i) {
    return "w" + std::to_string(thread) + "-" + std::to_string(i);
  };
  // Each operation once and alone first: one that is wrong even then is its own
  // requirement's finding, not this race's.
  add_task("alone-done");
  add_task("alone-failed");
  add_task("alone-rescheduled");
  given("DONE-1", "mark_done of 'alone-done'",
        store().mark_done("alone-done", TaskResult{.task_id = "alone-done", .finished_at = t0()}));
  given_that(must_get("alone-done").status == TaskStatus::SUCCESS, "DONE-1",
             "mark_done of 'alone-done'", "the task is not SUCCESS");
  given("FAIL-3", "mark_failed of 'alone-failed' for good",
        store().mark_failed("alone-failed", "gave up", false));
  given_that(must_get("alone-failed").status == TaskStatus::FAILED, "FAIL-3",
             "mark_failed of 'alone-failed' for good", "the task is not FAILED");
  given("RSC-1", "reschedule of 'alone-rescheduled'",
        store().reschedule("alone-rescheduled", t0() + 1s));
  given_that(must_get("alone-rescheduled").eta == t0() + 1s, "RSC-1",
             "reschedule of 'alone-rescheduled'", "its eta is not the new one");
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) add_task(id(t, i));
  }
  // Each thread drives its own tasks through a different operation, all at once: thread
  // t marks done (t % 3 == 0), fails for good (1) or reschedules (2).
  std::mutex mutex;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      boost::asio::io_context io;
      try {
        for (int i = 0; i < kPerThread; ++i) {
          const std::string task_id = id(t, i);
          switch (t % 3) {
            case 0:
              sync_wait(io, store().mark_done(task_id, TaskResult{.task_id = task_id,
                                                               .value = to_bytes(task_id),
                                                               .finished_at = t0()}));
              break;
            case 1:
              sync_wait(io, store().mark_failed(task_id, "error of " + task_id, false));
              break;
            default:
              sync_wait(io, store().reschedule(task_id, t0() + std::chrono::seconds(i + 1)));
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        errors.push_back(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) ADD_FAILURE() << "a writer failed: " << e;

  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string task_id = id(t, i);
      SCOPED_TRACE(task_id);
      const Task task = must_get(task_id);
      const auto result = run(store().get_result(task_id));
      switch (t % 3) {
        case 0:
          EXPECT_EQ(task.status, TaskStatus::SUCCESS);
          ASSERT_TRUE(result.has_value());
          EXPECT_EQ(result->value, to_bytes(task_id));
          break;
        case 1:
          EXPECT_EQ(task.status, TaskStatus::FAILED);
          EXPECT_EQ(task.last_error, "error of " + task_id);
          ASSERT_TRUE(result.has_value());
          EXPECT_EQ(result->error, "error of " + task_id);
          break;
        default:
          EXPECT_EQ(task.status, TaskStatus::PENDING);
          EXPECT_EQ(task.eta, t0() + std::chrono::seconds(i + 1));
          EXPECT_TRUE(no_result(task_id));
      }
    }
  }
}

TEST_P(ConcurrencyTest, TwoInstances_EachSeesTheOthersWritesAtOnce) {
  TASKSTORE_REQUIREMENTS("CON-4");
  TASKSTORE_REQUIRE_CAPABILITY(multi_process);
  // A reads each task before B changes it, so an instance that keeps copies answers from
  // a stale one; every later read through A must show B's write.
  const auto other = open_another_instance();
  BaseStorage& a = store();
  BaseStorage& b = *other;
  add_task("x", t0());
  add_task("y", t0());
  add_task("z", t0() + 1h);
  for (const char* id : {"x", "y", "z", "new"}) run(a.get_task(id));
  for (const char* id : {"x", "y"}) run(a.get_result(id));
  // What A says of a task: its status, or "(none)" (never a dereference of nothing).
  const auto status_through_a = [&](const std::string& id) {
    const auto task = run(a.get_task(id));
    return task ? std::string(to_string(task->status)) : std::string("(none)");
  };

  const auto claimed = run(b.dequeue(t0()));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, "x");
  const auto x = run(a.get_task("x"));
  EXPECT_TRUE(x && x->status == TaskStatus::RUNNING && x->attempts == 1)
      << "A does not see B's claim of x: " << (x ? describe(*x) : "no task");
  EXPECT_TRUE(dequeue_returns(t0(), "y")) << "A handed out a task B had claimed";

  run(b.mark_done("x", TaskResult{.task_id = "x", .value = to_bytes("42"), .finished_at = t0()}));
  EXPECT_EQ(status_through_a("x"), "SUCCESS") << "A does not see B's mark_done";
  const auto result = run(a.get_result("x"));
  EXPECT_TRUE(result && result->value == to_bytes("42")) << "A does not see B's result of x";

  run(b.mark_failed("y", "boom", false));
  EXPECT_EQ(status_through_a("y"), "FAILED") << "A does not see B's mark_failed";
  const auto failure = run(a.get_result("y"));
  EXPECT_TRUE(failure && failure->error == "boom") << "A does not see the result B's mark_failed wrote";

  run(b.reschedule("z", t0()));
  const auto z = run(a.get_task("z"));
  EXPECT_TRUE(z && z->eta == t0()) << "A does not see B's reschedule";
  EXPECT_TRUE(dequeue_returns(t0(), "z")) << "A's dequeue does not see B's reschedule";

  run(b.enqueue(make_task("new", t0())));
  EXPECT_TRUE(run(a.get_task("new")).has_value()) << "A does not see B's enqueue";
  EXPECT_TRUE(dequeue_returns(t0(), "new")) << "A's dequeue does not see B's enqueue";

  run(b.purge_results(t0() + 1s));
  EXPECT_TRUE(no_result("x")) << "A still sees a result B purged";  // A is store()
}

TEST_P(ConcurrencyTest, Operations_ResumeOnTheCallersExecutor) {
  TASKSTORE_REQUIREMENTS("ASY-1");
  // Coroutines on a strand of a two-thread pool: after every await they must be back
  // on that strand, whatever threads the backend used meanwhile.
  boost::asio::thread_pool pool(2);
  auto strand = boost::asio::make_strand(pool.get_executor());
  std::vector<std::string> lost;
  auto check = [&](const char* step) {
    if (!strand.running_in_this_thread()) lost.push_back(step);
  };
  // Arguments are named locals, not temporaries inside co_await expressions: g++ 12
  // destroys such temporaries twice in some coroutines (see README, toolchain notes).
  auto body = [&]() -> Awaitable<void> {
    const std::string id = "async";
    const Task task = make_task(id);
    co_await store().enqueue(task);
    check("enqueue");
    co_await store().get_task(id);
    check("get_task");
    co_await store().dequeue(t0());
    check("dequeue");
    co_await store().mark_running(id);
    check("mark_running");
    co_await store().mark_failed(id, "x");
    check("mark_failed");
    co_await store().reschedule(id, t0());
    check("reschedule");
    const TaskResult result{.task_id = id, .finished_at = t0()};
    co_await store().mark_done(id, result);
    check("mark_done");
    co_await store().get_result(id);
    check("get_result");
    co_await store().purge_results(t0());
    check("purge_results");
    const std::string unknown = "unknown";
    try {
      co_await store().mark_running(unknown);
    } catch (const NotFoundError&) {
    }
    check("mark_running (throwing)");
  };
  auto done = boost::asio::co_spawn(strand, body(), boost::asio::use_future);
  done.get();
  pool.join();
  EXPECT_TRUE(lost.empty()) << "resumed off the caller's strand after: "
                            << ::testing::PrintToString(lost);
}

// CON-5: each kind of write, started while another writer holds the store's write lock for
// kHold, waits for it and then takes effect. Contention is made, not measured: the test
// asserts only that nothing failed and everything took effect.
TEST_P(ConcurrencyTest, WriteLockHeldElsewhere_EveryWriteWaitsThenSucceeds) {
  TASKSTORE_REQUIREMENTS("CON-5");
  constexpr auto kHold = 500ms;
  add_task("claim-me");
  for (const char* id : {"run-me", "done-me", "fail-me", "retry-me", "move-me"}) {
    add_task(id, t0() + 1h);
  }
  const TaskResult result{.task_id = "done-me",
                          .status = TaskStatus::SUCCESS,
                          .value = to_bytes("v"),
                          .finished_at = t0()};
  struct Write {
    const char* what;
    std::function<void()> call;
  };
  std::size_t purged = 0;
  std::string claimed;
  const std::vector<Write> writes{
      {"enqueue", [&] { run(store().enqueue(make_task("new", t0() + 1h))); }},
      {"dequeue", [&] { claimed = claim_id(t0()); }},
      {"mark_running", [&] { run(store().mark_running("run-me")); }},
      {"mark_done", [&] { run(store().mark_done("done-me", result)); }},
      {"mark_failed for good", [&] { run(store().mark_failed("fail-me", "gave up", false)); }},
      {"mark_failed to retry", [&] { run(store().mark_failed("retry-me", "again")); }},
      {"reschedule", [&] { run(store().reschedule("move-me", t0() + 2h)); }},
      {"purge_results", [&] { purged = run(store().purge_results(t0() + 1us)); }},
  };
  std::vector<std::string> waited;
  bool failed = false;
  for (const Write& write : writes) {
    std::unique_ptr<HeldLock> held;
    const auto hold = [&] { held = environment().hold_write_lock(); };
    if (const auto why = try_hook("hold_write_lock", hold)) GTEST_SKIP() << *why;
    std::atomic<bool> released{false};
    std::thread releaser([&] {
      std::this_thread::sleep_for(kHold);
      released = true;
      held.reset();
    });
    try {
      write.call();
      if (released) waited.emplace_back(write.what);
    } catch (const std::exception& e) {
      failed = true;
      ADD_FAILURE() << write.what << ", started while another writer held the store's write "
                    << "lock for " << kHold.count() << " ms, raised " << type_name_of(e) << ": "
                    << e.what();
    }
    releaser.join();
  }
  if (failed) return;  // the other checks would only repeat it
  ASSERT_FALSE(waited.empty()) << "no write waited for hold_write_lock's lock: the hook holds "
                                  "nothing the backend's writes take, so nothing was checked";
  EXPECT_EQ(must_get("new").status, TaskStatus::PENDING);
  EXPECT_EQ(claimed, "claim-me");
  EXPECT_EQ(must_get("claim-me").status, TaskStatus::RUNNING);
  EXPECT_EQ(must_get("run-me").status, TaskStatus::RUNNING);
  EXPECT_TRUE(no_result("done-me")) << "purged at t0 + 1us";
  EXPECT_EQ(purged, 1u);
  EXPECT_EQ(must_get("done-me").status, TaskStatus::SUCCESS);
  EXPECT_EQ(must_get("fail-me").status, TaskStatus::FAILED);
  EXPECT_EQ(must_get("retry-me").status, TaskStatus::RETRYING);
  EXPECT_EQ(must_get("move-me").eta, t0() + 2h);
}

TASKSTORE_INSTANTIATE_SUITE(ConcurrencyTest);

}  // namespace


}  // namespace taskstore::conformance
