// Blocking file I/O, including waiting for the lock, runs on the backend's pool (FILE-4).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "taskstore/file_storage.hpp"
#include "test_support.hpp"

namespace taskstore::file_test {
namespace {

namespace asio = boost::asio;

// Checks: FILE-4
TEST(FilePool, DequeueWaitingForTheLockDoesNotBlockTheCallersExecutor) {
  TempDir dir;
  asio::io_context io;
  auto store = open_store(dir.path(), TestClock().clock(), 1);
  sync_wait(io, store->enqueue(make_task("a", 10)));

  // Another holder (as another process would) takes the store's lock.
  const int lock_fd = ::open((store->directory() / "LOCK").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(lock_fd, 0);
  ASSERT_EQ(::flock(lock_fd, LOCK_EX), 0);

  // Only a guard against hanging the test run if the backend blocks the io_context: it
  // releases the lock after a long time and the test then fails on the flags below.
  std::mutex mutex;
  std::condition_variable done_cv;
  bool finished = false;
  bool watchdog_fired = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (!done_cv.wait_for(lock, std::chrono::seconds(60), [&] { return finished; })) {
      watchdog_fired = true;
      ::flock(lock_fd, LOCK_UN);
    }
  });

  bool dequeue_done = false;
  bool timer_fired_before_dequeue = false;
  std::optional<Task> claimed;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        claimed = co_await store->dequeue(from_micros(100));
        dequeue_done = true;
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(asio::use_awaitable);
        timer_fired_before_dequeue = !dequeue_done;
        ::flock(lock_fd, LOCK_UN);  // now the dequeue can finish
      },
      asio::detached);
  io.restart();
  io.run();

  {
    std::lock_guard lock(mutex);
    finished = true;
  }
  done_cv.notify_one();
  watchdog.join();
  ::close(lock_fd);

  EXPECT_FALSE(watchdog_fired);
  EXPECT_TRUE(timer_fired_before_dequeue);
  EXPECT_TRUE(dequeue_done);
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->id, "a");
  EXPECT_EQ(claimed->status, TaskStatus::RUNNING);
}

// Checks: FILE-4
TEST(FilePool, OperationsResumeOnTheCallersThread) {
  TempDir dir;
  asio::io_context io;
  auto store = open_store(dir.path(), TestClock().clock(), 3);
  const auto caller = std::this_thread::get_id();
  bool all_on_caller = true;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        co_await store->enqueue(make_task("a", 1));
        all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
        co_await store->dequeue(from_micros(5));
        all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
        // Named, not a braced temporary: g++ 12 destroys those twice inside co_await.
        TaskResult result{.task_id = "a"};
        co_await store->mark_done("a", std::move(result));
        all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
        co_await store->get_result("a");
        all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(all_on_caller);
}

}  // namespace
}  // namespace taskstore::file_test
