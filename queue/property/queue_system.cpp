#include <mutex>
#include <stdexcept>

#include "queue_commands.hpp"
#include "taskstore/storage_wrapper.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::queue::property {

namespace {

// The StoreUnderTest owns its store; the queue holds it without owning it (the queue is
// destroyed first: it is declared after the store).
std::shared_ptr<BaseStorage> not_owned(BaseStorage& store) {
  return std::shared_ptr<BaseStorage>(std::shared_ptr<void>(), &store);
}

// Records what each claim returned (CountingStorage records only what was asked), and
// passes batch claims on when the store below makes them.
class ClaimLog final : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;

  bool claims_batches() const override { return forwards_batches(); }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto claim = target().dequeue(now);
    std::optional<Task> task = co_await std::move(claim);
    record(task ? std::vector<std::string>{task->id} : std::vector<std::string>{});
    co_return task;
  }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    auto claim = target().dequeue_batch(now, max);
    std::vector<Task> tasks = co_await std::move(claim);
    std::vector<std::string> ids;
    for (const Task& task : tasks) ids.push_back(task.id);
    record(std::move(ids));
    co_return tasks;
  }

  std::vector<std::vector<std::string>> claims() const {
    std::lock_guard lock(mutex_);
    return claims_;
  }

 private:
  void record(std::vector<std::string> ids) {
    std::lock_guard lock(mutex_);
    claims_.push_back(std::move(ids));
  }

  mutable std::mutex mutex_;
  std::vector<std::vector<std::string>> claims_;
};

}  // namespace

std::int64_t fixed_jitter_draw(std::int64_t lo, std::int64_t hi) {
  return hi - (hi - lo) / 3;
}

QueueSystem::QueueSystem(const tc::Backend& backend, Timestamp start, const StoreDecorator& wrap)
    : store_(backend, start), clock_(std::make_shared<ManualClock>(start)) {
  std::shared_ptr<BaseStorage> seen = not_owned(store_.store());
  if (wrap) seen = wrap(std::move(seen));
  counting_ = std::make_shared<tc::CountingStorage>(std::move(seen));
  queue_ = std::make_unique<AsyncTaskQueue>(counting_, io_.get_executor(), queue_options());
}

QueueOptions QueueSystem::queue_options() const {
  QueueOptions options;
  options.workers = kWorkers;
  options.prefetch = kPrefetch;
  options.poll_interval = std::chrono::hours(1);  // workers wake for the clock, not a poll
  options.clock = clock_;
  options.random = fixed_jitter_draw;
  options.log = [](std::string_view) {};  // a storage error shows in the store's state
  return options;
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

QueueSystem::WorkersRun QueueSystem::run_workers(const TaskHandler& handler,
                                                 std::chrono::milliseconds timeout) {
  WorkersRun run;
  const auto log = std::make_shared<ClaimLog>(counting_);
  boost::asio::io_context io;
  {
    AsyncTaskQueue queue(log, io.get_executor(), queue_options());
    for (const char* name : {"job", "mail.send"}) queue.register_handler(name, handler);
    queue.start();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // A worker joins the clock's sleepers only when it has nothing left to do: with all
    // of them there, no task is due, waiting in the buffer or in a call in flight.
    while (clock_->sleepers() < kWorkers && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(1));
    }
    run.went_idle = clock_->sleepers() == kWorkers;
    // Stopped either way, so that no call of its workers outlives this function.
    run.shutdown = sync_wait(io, queue.shutdown(Duration::zero()));
  }
  run.claims = log->claims();
  return run;
}

}  // namespace taskstore::queue::property
