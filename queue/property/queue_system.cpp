#include <stdexcept>

#include "queue_commands.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::queue::property {

namespace {

// The StoreUnderTest owns its store; the queue holds it without owning it (the queue is
// destroyed first: it is declared after the store).
std::shared_ptr<BaseStorage> not_owned(BaseStorage& store) {
  return std::shared_ptr<BaseStorage>(std::shared_ptr<void>(), &store);
}

}  // namespace

std::int64_t fixed_jitter_draw(std::int64_t lo, std::int64_t hi) {
  return hi - (hi - lo) / 3;
}

QueueSystem::QueueSystem(const tc::Backend& backend, Timestamp start, const StoreDecorator& wrap)
    : store_(backend, start), clock_(std::make_shared<ManualClock>(start)) {
  std::shared_ptr<BaseStorage> seen = not_owned(store_.store());
  if (wrap) seen = wrap(std::move(seen));
  counting_ = std::make_shared<tc::CountingStorage>(std::move(seen));
  QueueOptions options;
  options.workers = 1;
  options.poll_interval = std::chrono::hours(1);
  options.clock = clock_;
  options.random = fixed_jitter_draw;
  options.log = [](std::string_view) {};  // no worker runs, so nothing is logged
  queue_ = std::make_unique<AsyncTaskQueue>(counting_, io_.get_executor(), std::move(options));
}

QueueSystem::~QueueSystem() {
  queue_.reset();  // before the store it uses
  counting_.reset();
}

void QueueSystem::sync_clock(Timestamp now) {
  const Timestamp current = clock_->now();
  if (now < current) {
    throw std::logic_error("QueueSystem::sync_clock: the model's clock went back");
  }
  clock_->advance(now - current);
}

TaskOutcome QueueSystem::run_handler(const TaskHandler& handler, Task task) {
  try {
    Bytes value = sync_wait(io_, handler(std::move(task)));
    return TaskOutcome::success(std::move(value));
  } catch (const std::exception& e) {
    return TaskOutcome::failure(e.what());
  } catch (...) {
    return TaskOutcome::failure(kNonStandardException);
  }
}

}  // namespace taskstore::queue::property
