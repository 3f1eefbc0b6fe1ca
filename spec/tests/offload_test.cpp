#include "taskstore/offload.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <stdexcept>
#include <thread>

namespace taskstore {
namespace {

namespace asio = boost::asio;

TEST(Offload, RunsOnThePoolAndResumesOnTheCallersExecutor) {
  asio::io_context io;
  asio::thread_pool pool(1);
  std::thread::id work_thread;
  std::thread::id resumed_thread;
  auto fut = asio::co_spawn(
      io,
      [&]() -> Awaitable<int> {
        auto work = [&] {
          work_thread = std::this_thread::get_id();
          return 42;
        };
        const int v = co_await offload(pool.get_executor(), work);
        resumed_thread = std::this_thread::get_id();
        co_return v;
      },
      asio::use_future);
  io.run();  // must not return before the pool's work came back
  EXPECT_EQ(fut.get(), 42);
  EXPECT_NE(work_thread, std::this_thread::get_id());
  EXPECT_EQ(resumed_thread, std::this_thread::get_id());
}

TEST(Offload, RethrowsTheWorksExceptionInTheCaller) {
  asio::io_context io;
  asio::thread_pool pool(1);
  auto fut = asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        auto work = []() -> void { throw std::logic_error("boom"); };
        co_await offload(pool.get_executor(), work);
      },
      asio::use_future);
  io.run();
  EXPECT_THROW(fut.get(), std::logic_error);
}

TEST(Offload, CallerExecutorKeepsRunningWhileWorkBlocks) {
  asio::io_context io;
  asio::thread_pool pool(1);
  std::atomic<bool> release{false};
  bool timer_fired_while_blocked = false;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        auto work = [&] {
          while (!release.load()) std::this_thread::yield();
        };
        co_await offload(pool.get_executor(), work);
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(std::chrono::milliseconds(1));
        co_await timer.async_wait(asio::use_awaitable);
        timer_fired_while_blocked = !release.load();
        release = true;
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(timer_fired_while_blocked);
}

}  // namespace
}  // namespace taskstore
