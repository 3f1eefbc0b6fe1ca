#include "taskstore/queue/clock.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace taskstore::queue {

Awaitable<void> sleep_until(QueueClock& clock, Timestamp deadline) {
  auto executor = co_await boost::asio::this_coro::executor;
  const auto alarm = clock.make_alarm(executor);
  co_await alarm->sleep_until(deadline);
}

}  // namespace taskstore::queue
