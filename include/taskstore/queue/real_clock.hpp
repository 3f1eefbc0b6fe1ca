#pragma once
// RealClock: the queue's production clock. now() is taskstore::now_utc(); sleeps run on
// Asio steady timers, so they are immune to the wall clock being set back or forward
// while they wait (the distance to the deadline is measured once, when the sleep starts).

#include "taskstore/queue/clock.hpp"

namespace taskstore::queue {

class RealClock final : public QueueClock {
 public:
  Timestamp now() const override;
  std::unique_ptr<Alarm> make_alarm(boost::asio::any_io_executor executor) override;
};

}  // namespace taskstore::queue
