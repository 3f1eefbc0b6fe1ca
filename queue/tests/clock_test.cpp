// The clocks the queue sleeps on (the machinery behind QUE-13 and QUE-15): sleeps end at
// their deadline or on wake(), a wake-up before a sleep is not lost, and the manual
// clock counts its sleepers exactly.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "taskstore/queue/manual_clock.hpp"
#include "taskstore/queue/real_clock.hpp"

namespace taskstore::queue {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

constexpr auto kPatience = 60s;
const Timestamp kStart = from_micros(1'767'225'600'000'000);

// An io_context running on its own thread for the length of a test.
class Executor {
 public:
  Executor() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~Executor() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

  template <typename T>
  std::future<T> spawn(Awaitable<T> op) {
    return asio::co_spawn(io_, std::move(op), asio::use_future);
  }

 private:
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

Awaitable<Timestamp> sleep_then_read(Alarm& alarm, const QueueClock& clock, Timestamp deadline) {
  co_await alarm.sleep_until(deadline);
  co_return clock.now();
}

// Checks: QUE-13
TEST(QueueManualClock, SleepEndsWhenAdvanceReachesTheDeadline) {
  Executor ex;
  ManualClock clock(kStart);
  const auto alarm = clock.make_alarm(ex.io().get_executor());
  auto woke = ex.spawn(sleep_then_read(*alarm, clock, kStart + 10s));
  ASSERT_TRUE(clock.wait_for_sleepers(1, kPatience));
  EXPECT_EQ(clock.sleeper_deadlines(), std::vector<Timestamp>{kStart + 10s});
  clock.advance(10s - 1us);
  EXPECT_EQ(clock.sleepers(), 1u) << "woke before the deadline";
  clock.advance(1us);
  EXPECT_EQ(clock.sleepers(), 0u) << "a woken sleeper still counts as asleep";
  ASSERT_EQ(woke.wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(woke.get(), kStart + 10s);
}

// Checks: QUE-13
TEST(QueueManualClock, WakeEndsASleepEarly_AndAWakeBeforeASleepIsKept) {
  Executor ex;
  ManualClock clock(kStart);
  const auto alarm = clock.make_alarm(ex.io().get_executor());
  auto first = ex.spawn(sleep_then_read(*alarm, clock, kStart + 1h));
  ASSERT_TRUE(clock.wait_for_sleepers(1, kPatience));
  alarm->wake();
  EXPECT_EQ(clock.sleepers(), 0u);
  ASSERT_EQ(first.wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(first.get(), kStart) << "time moved";

  alarm->wake();  // nobody sleeps: the next sleep must end at once, without counting
  auto second = ex.spawn(sleep_then_read(*alarm, clock, kStart + 1h));
  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready) << "the wake-up was lost";
  EXPECT_EQ(clock.sleepers(), 0u);

  // The kept wake-up was used up: the next sleep waits again.
  auto third = ex.spawn(sleep_then_read(*alarm, clock, kStart + 1h));
  ASSERT_TRUE(clock.wait_for_sleepers(1, kPatience));
  clock.advance(1h);
  ASSERT_EQ(third.wait_for(kPatience), std::future_status::ready);
}

// Checks: QUE-13
TEST(QueueManualClock, PastDeadline_DoesNotSleep_AndTimeOnlyMovesForward) {
  Executor ex;
  ManualClock clock(kStart);
  const auto alarm = clock.make_alarm(ex.io().get_executor());
  auto done = ex.spawn(sleep_then_read(*alarm, clock, kStart));
  ASSERT_EQ(done.wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(clock.sleepers(), 0u);
  EXPECT_THROW(clock.advance(-1us), std::invalid_argument);
}

// Checks: QUE-13
TEST(QueueManualClock, FreeSleepUntil_SleepsOnTheCallersExecutor) {
  Executor ex;
  ManualClock clock(kStart);
  auto done = ex.spawn(sleep_until(clock, kStart + 5s));
  ASSERT_TRUE(clock.wait_for_sleepers(1, kPatience));
  clock.advance(5s);
  EXPECT_EQ(done.wait_for(kPatience), std::future_status::ready);
}

// Checks: QUE-13
TEST(QueueRealClock, WakeEndsAFarSleep) {
  Executor ex;
  RealClock clock;
  const auto alarm = clock.make_alarm(ex.io().get_executor());
  auto woke = ex.spawn(sleep_then_read(*alarm, clock, clock.now() + 24h));
  alarm->wake();  // before or during the sleep: either way it must end it
  EXPECT_EQ(woke.wait_for(kPatience), std::future_status::ready) << "wake() did not end the sleep";
}

// Checks: QUE-13
TEST(QueueRealClock, ReachedDeadline_EndsTheSleep) {
  Executor ex;
  RealClock clock;
  const auto alarm = clock.make_alarm(ex.io().get_executor());
  const Timestamp deadline = clock.now() + 1ms;
  auto woke = ex.spawn(sleep_then_read(*alarm, clock, deadline));
  ASSERT_EQ(woke.wait_for(kPatience), std::future_status::ready);
  EXPECT_GE(woke.get(), deadline) << "the sleep ended before its deadline";
  auto past = ex.spawn(sleep_then_read(*alarm, clock, Timestamp::min()));
  EXPECT_EQ(past.wait_for(kPatience), std::future_status::ready);
}

}  // namespace
}  // namespace taskstore::queue
