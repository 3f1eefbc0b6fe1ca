#include "taskstore/queue/manual_clock.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "time_arithmetic.hpp"
#include "wakeable_timer.hpp"

namespace taskstore::queue {

// Time and the table of sleepers, under one mutex. A sleeper leaves the table the moment
// it is woken (by advance() or by its alarm's wake()), so sleepers() never counts a
// coroutine that is about to run.
class ManualClock::Shared {
 public:
  struct Sleeper {
    Timestamp deadline;
    detail::WakeableTimer* timer;
  };

  explicit Shared(Timestamp start) : now(start) {}

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  Timestamp now;
  std::unordered_map<const void*, Sleeper> sleepers;  // keyed by alarm
};

namespace {

class ManualAlarm final : public Alarm {
 public:
  ManualAlarm(std::shared_ptr<ManualClock::Shared> shared, boost::asio::any_io_executor executor)
      : shared_(std::move(shared)), timer_(std::move(executor)) {}

  ~ManualAlarm() override {
    std::lock_guard lock(shared_->mutex);
    if (shared_->sleepers.erase(this) > 0) shared_->changed.notify_all();
  }

  Awaitable<void> sleep_until(Timestamp deadline) override {
    {
      std::lock_guard lock(shared_->mutex);
      if (woken_) {
        woken_ = false;
        co_return;
      }
      if (deadline <= shared_->now) co_return;
      shared_->sleepers[this] = ManualClock::Shared::Sleeper{deadline, &timer_};
      shared_->changed.notify_all();
    }
    // Only advance() or wake() end this wait: both take the sleeper out of the table first.
    co_await timer_.wait_until(std::chrono::steady_clock::time_point::max());
  }

  void wake() override {
    std::lock_guard lock(shared_->mutex);
    if (shared_->sleepers.erase(this) > 0) {
      timer_.wake();
      shared_->changed.notify_all();
    } else {
      woken_ = true;
    }
  }

 private:
  std::shared_ptr<ManualClock::Shared> shared_;
  detail::WakeableTimer timer_;
  bool woken_ = false;  // guarded by shared_->mutex
};

}  // namespace

ManualClock::ManualClock(Timestamp start) : shared_(std::make_shared<Shared>(start)) {}

ManualClock::~ManualClock() = default;

Timestamp ManualClock::now() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->now;
}

std::unique_ptr<Alarm> ManualClock::make_alarm(boost::asio::any_io_executor executor) {
  return std::make_unique<ManualAlarm>(shared_, std::move(executor));
}

void ManualClock::advance(Duration by) {
  if (by < Duration::zero()) {
    throw std::invalid_argument("ManualClock::advance: time only moves forward (got " +
                                std::to_string(by.count()) + " µs)");
  }
  std::lock_guard lock(shared_->mutex);
  shared_->now = detail::add_saturating(shared_->now, by);
  auto& sleepers = shared_->sleepers;
  for (auto it = sleepers.begin(); it != sleepers.end();) {
    if (it->second.deadline <= shared_->now) {
      it->second.timer->wake();
      it = sleepers.erase(it);
    } else {
      ++it;
    }
  }
  shared_->changed.notify_all();
}

std::size_t ManualClock::sleepers() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->sleepers.size();
}

std::vector<Timestamp> ManualClock::sleeper_deadlines() const {
  std::vector<Timestamp> deadlines;
  {
    std::lock_guard lock(shared_->mutex);
    for (const auto& [alarm, sleeper] : shared_->sleepers) deadlines.push_back(sleeper.deadline);
  }
  std::sort(deadlines.begin(), deadlines.end());
  return deadlines;
}

bool ManualClock::wait_for_sleepers(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(shared_->mutex);
  return shared_->changed.wait_for(lock, timeout,
                                   [&] { return shared_->sleepers.size() == count; });
}

}  // namespace taskstore::queue
