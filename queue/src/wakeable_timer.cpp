#include "wakeable_timer.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace taskstore::queue::detail {

namespace asio = boost::asio;

WakeableTimer::WakeableTimer(asio::any_io_executor executor) : timer_(std::move(executor)) {}

Awaitable<void> WakeableTimer::wait_until(std::chrono::steady_clock::time_point expiry) {
  auto initiate = [this, expiry](auto handler) {
    std::lock_guard lock(mutex_);
    // An expiry in the past completes the wait at once, through the same path.
    timer_.expires_at(woken_ ? std::chrono::steady_clock::time_point{} : expiry);
    woken_ = false;
    waiting_ = true;
    timer_.async_wait(std::move(handler));
  };
  // Cancellation by wake() arrives as operation_aborted: an ordinary way to end the wait.
  boost::system::error_code ignored;
  auto token = asio::redirect_error(asio::use_awaitable, ignored);
  co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(
      std::move(initiate), token);
  std::lock_guard lock(mutex_);
  waiting_ = false;
}

void WakeableTimer::wake() {
  std::lock_guard lock(mutex_);
  if (waiting_) {
    timer_.cancel();
  } else {
    woken_ = true;
  }
}

}  // namespace taskstore::queue::detail
