#pragma once
// A steady timer that one coroutine waits on and any thread may cut short. Asio timers are
// not safe to use from two threads at once, so every touch of the timer (starting a wait,
// cancelling it) happens under one mutex; the wait is started from inside async_initiate
// so that even the start of the wait is covered.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <mutex>

#include "taskstore/storage.hpp"

namespace taskstore::queue::detail {

class WakeableTimer {
 public:
  explicit WakeableTimer(boost::asio::any_io_executor executor);

  // Waits until `expiry`, or until wake(). A wake() that came while no wait was in
  // progress makes this wait complete at once.
  Awaitable<void> wait_until(std::chrono::steady_clock::time_point expiry);

  // Ends the wait in progress, or the next one.
  void wake();

 private:
  std::mutex mutex_;
  boost::asio::steady_timer timer_;
  bool waiting_ = false;
  bool woken_ = false;
};

}  // namespace taskstore::queue::detail
