#pragma once
// The queue's view of time: what time it is, and a way to sleep until a deadline that
// another thread can cut short. The queue takes every `now` (etas, dequeue, retry and
// interval times, results' finished_at) and every wait from one QueueClock, so tests drive
// it with a ManualClock and never sleep for real.

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "taskstore/storage.hpp"
#include "taskstore/time.hpp"

namespace taskstore::queue {

// One sleeper's wake-up call. One coroutine at a time sleeps on an alarm; any thread may
// wake it.
class Alarm {
 public:
  virtual ~Alarm() = default;

  // Completes once the clock reaches `deadline` (at once if it already has), or earlier
  // when wake() is called. A wake() that comes while nobody sleeps is kept, and makes the
  // next sleep_until complete at once, so a wake-up between "nothing to do" and "sleep"
  // is never lost.
  virtual Awaitable<void> sleep_until(Timestamp deadline) = 0;

  // Ends the current sleep now, or the next one if none is in progress. Thread-safe.
  virtual void wake() = 0;
};

class QueueClock {
 public:
  virtual ~QueueClock() = default;

  virtual Timestamp now() const = 0;

  // A new alarm whose sleeps complete on `executor`.
  virtual std::unique_ptr<Alarm> make_alarm(boost::asio::any_io_executor executor) = 0;
};

// Sleeps on `clock` until `deadline`, on the calling coroutine's executor (for handlers
// that want to wait in queue time).
Awaitable<void> sleep_until(QueueClock& clock, Timestamp deadline);

}  // namespace taskstore::queue
