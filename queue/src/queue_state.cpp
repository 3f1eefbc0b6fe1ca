#include "queue_state.hpp"

#include <iostream>
#include <random>

#include "taskstore/queue/real_clock.hpp"
#include "time_arithmetic.hpp"

namespace taskstore::queue {

namespace {

UniformRandom default_random() {
  std::random_device device;
  return seeded_uniform_random((std::uint64_t{device()} << 32) | device());
}

void log_to_stderr(std::string_view message) {
  std::cerr << "taskstore queue: " << message << '\n';
}

}  // namespace

AsyncTaskQueue::State::State(std::shared_ptr<BaseStorage> storage_,
                             boost::asio::any_io_executor executor_, QueueOptions options)
    : storage(std::move(storage_)),
      executor(std::move(executor_)),
      clock(options.clock ? std::move(options.clock) : std::make_shared<RealClock>()),
      worker_count(options.workers),
      prefetch(storage->claims_batches() ? options.prefetch : 0),
      poll_interval(options.poll_interval),
      result_ttl(options.result_ttl),
      random(options.random ? std::move(options.random) : default_random()),
      log(options.log ? std::move(options.log) : log_to_stderr) {}

void QueueState::note_eta(Timestamp eta) {
  std::lock_guard lock(mutex);
  ++generation;
  if (known_etas.size() >= kMaxKnownEtas) {
    // Keep the earliest ones: they are the next to come due.
    if (eta >= *known_etas.rbegin()) {
      wake_for_locked(eta);
      return;
    }
    known_etas.erase(std::prev(known_etas.end()));
  }
  known_etas.insert(eta);
  wake_for_locked(eta);
}

void QueueState::wake_for_locked(Timestamp eta) {
  Worker* sleeper = nullptr;
  for (auto& worker : workers) {
    if (worker.phase != Phase::idle) continue;
    if (worker.idle_until <= eta) return;  // it looks again in time
    if (sleeper == nullptr) sleeper = &worker;
  }
  if (sleeper == nullptr) return;  // every worker is busy and looks again when it is done
  sleeper->phase = Phase::claiming;
  sleeper->alarm->wake();
}

void QueueState::wake_idle_locked(std::size_t count) {
  for (auto& worker : workers) {
    if (count == 0) return;
    if (worker.phase != Phase::idle) continue;
    worker.phase = Phase::claiming;
    worker.alarm->wake();
    --count;
  }
}

void QueueState::request_stop_locked() {
  stopping = true;
  for (auto& worker : workers) {
    if (worker.phase == Phase::idle) {
      worker.phase = Phase::claiming;
      worker.alarm->wake();
    }
  }
  if (ttl_alarm != nullptr) ttl_alarm->wake();
}

void QueueState::loop_exited_locked() {
  --live_loops;
  if (shutdown_alarm != nullptr) shutdown_alarm->wake();
}

Awaitable<void> QueueState::finish(Task task, TaskOutcome outcome) {
  const Timestamp now = clock->now();
  const std::string id = task.id;
  std::optional<Timestamp> next_eta;
  if (outcome.succeeded()) {
    const TaskResult result{.task_id = id,
                            .status = TaskStatus::SUCCESS,
                            .value = outcome.value(),
                            .error = std::nullopt,
                            .finished_at = now};
    co_await storage->mark_done(id, result);
    if (task.schedule) next_eta = detail::add_saturating(now, task.schedule->interval);
  } else if (task.attempts <= task.max_retries) {
    co_await storage->mark_failed(id, outcome.error(), true);
    const Duration delay = retry_delay(task.retry, task.attempts, random);
    next_eta = detail::add_saturating(now, delay);
  } else {
    co_await storage->mark_failed(id, outcome.error(), false);
    // The schedule goes on after a final failure (QUE-9).
    if (task.schedule) next_eta = detail::add_saturating(now, task.schedule->interval);
  }
  if (next_eta) {
    co_await storage->reschedule(id, *next_eta);
    note_eta(*next_eta);
  }
}

Awaitable<void> QueueState::release_claim(std::string task_id) {
  std::string failure;
  try {
    co_await storage->reschedule(task_id, clock->now());
  } catch (const std::exception& e) {
    failure = "could not release the claim of task '" + task_id + "': " + e.what();
  }
  if (!failure.empty()) report(failure);
  std::lock_guard lock(mutex);
  if (failure.empty()) {
    released.push_back(std::move(task_id));
  } else {
    release_errors.push_back(std::move(failure));
  }
}

void QueueState::report(const std::string& message) const {
  try {
    log(message);
  } catch (...) {
    // A failing log must not take a worker down with it.
  }
}

}  // namespace taskstore::queue
