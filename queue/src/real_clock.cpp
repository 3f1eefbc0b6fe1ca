#include "taskstore/queue/real_clock.hpp"

#include <algorithm>

#include "wakeable_timer.hpp"

namespace taskstore::queue {

namespace {

class RealAlarm final : public Alarm {
 public:
  explicit RealAlarm(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}

  Awaitable<void> sleep_until(Timestamp deadline) override {
    // Converted once to the steady clock; far deadlines are clamped so the steady time
    // point cannot overflow (a century is "never" for a sleeping worker).
    constexpr Duration kFarAway = std::chrono::hours(24 * 365 * 100);
    const Timestamp now = now_utc();
    const Duration remaining =
        deadline <= now ? Duration::zero() : std::min(deadline - now, kFarAway);
    co_await timer_.wait_until(std::chrono::steady_clock::now() + remaining);
  }

  void wake() override { timer_.wake(); }

 private:
  detail::WakeableTimer timer_;
};

}  // namespace

Timestamp RealClock::now() const { return now_utc(); }

std::unique_ptr<Alarm> RealClock::make_alarm(boost::asio::any_io_executor executor) {
  return std::make_unique<RealAlarm>(std::move(executor));
}

}  // namespace taskstore::queue
