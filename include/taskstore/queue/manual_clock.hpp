#pragma once
// ManualClock: a clock that moves only when told to, for tests. advance() wakes every
// sleeper whose deadline it passes. A test waits for the queue to go quiet with
// wait_for_sleepers(): once every worker (and the TTL loop) sleeps on this clock, nothing
// happens until the test advances time or enqueues work.

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "taskstore/queue/clock.hpp"

namespace taskstore::queue {

class ManualClock final : public QueueClock {
 public:
  explicit ManualClock(Timestamp start);
  ~ManualClock() override;

  Timestamp now() const override;
  std::unique_ptr<Alarm> make_alarm(boost::asio::any_io_executor executor) override;

  // Moves time forward by `by` (≥ 0; std::invalid_argument otherwise) and wakes every
  // sleeper whose deadline is now reached. Sleepers stop counting as asleep before this
  // returns, even though they resume later on their executors.
  void advance(Duration by);

  // How many coroutines are asleep on this clock's alarms right now.
  std::size_t sleepers() const;

  // The deadlines of the current sleepers, earliest first.
  std::vector<Timestamp> sleeper_deadlines() const;

  // Blocks the calling thread until exactly `count` coroutines are asleep, or until
  // `timeout` of real time has passed; returns whether the count was reached. A bound for
  // tests, never a way to pass time.
  bool wait_for_sleepers(std::size_t count, std::chrono::milliseconds timeout) const;

  class Shared;  // the state alarms share with their clock

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace taskstore::queue
