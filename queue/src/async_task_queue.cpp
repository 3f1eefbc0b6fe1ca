#include "taskstore/queue/async_task_queue.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "queue_state.hpp"
#include "taskstore/validation.hpp"
#include "time_arithmetic.hpp"

namespace taskstore::queue {

namespace {

using Phase = QueueState::Phase;

[[noreturn]] void reject(std::string_view operation, const std::string& what) {
  throw InvalidArgumentError(std::string(operation) + ": " + what);
}

void check_options(const QueueOptions& options) {
  constexpr std::string_view op = "AsyncTaskQueue";
  if (options.workers == 0) reject(op, "workers is 0; a queue needs at least one worker");
  if (options.poll_interval <= Duration::zero()) {
    reject(op, "poll_interval must be positive (got " +
                   detail::describe_duration(options.poll_interval) + ")");
  }
  if (options.prefetch >= BaseStorage::kMaxBatchClaim) {
    reject(op, "prefetch is " + std::to_string(options.prefetch) + "; at most " +
                   std::to_string(BaseStorage::kMaxBatchClaim - 1) +
                   " (one batch claims the worker's task and the prefetched ones)");
  }
  if (options.result_ttl) {
    if (options.result_ttl->ttl <= Duration::zero()) {
      reject(op, "result_ttl.ttl must be positive (got " +
                     detail::describe_duration(options.result_ttl->ttl) + ")");
    }
    if (options.result_ttl->period <= Duration::zero()) {
      reject(op, "result_ttl.period must be positive (got " +
                     detail::describe_duration(options.result_ttl->period) + ")");
    }
  }
}

std::shared_ptr<QueueState> make_state(std::shared_ptr<BaseStorage> storage,
                                       boost::asio::any_io_executor executor,
                                       QueueOptions options) {
  if (!storage) throw std::invalid_argument("AsyncTaskQueue: storage is null");
  check_options(options);
  return std::make_shared<QueueState>(std::move(storage), std::move(executor), std::move(options));
}

}  // namespace

AsyncTaskQueue::AsyncTaskQueue(std::shared_ptr<BaseStorage> storage,
                               boost::asio::any_io_executor executor, QueueOptions options)
    : state_(make_state(std::move(storage), std::move(executor), std::move(options))) {}

AsyncTaskQueue::~AsyncTaskQueue() {
  std::lock_guard lock(state_->mutex);
  if (state_->started && !state_->stopping) state_->request_stop_locked();
}

void AsyncTaskQueue::register_handler(std::string name, TaskHandler handler) {
  constexpr std::string_view op = "register_handler";
  if (name.empty()) reject(op, "the task name is empty");
  if (!handler) reject(op, "the handler for '" + name + "' is empty");
  std::lock_guard lock(state_->mutex);
  if (state_->handlers.contains(name)) {
    reject(op, "a handler for '" + name + "' is already registered");
  }
  state_->handlers.emplace(std::move(name), std::move(handler));
}

void AsyncTaskQueue::start() {
  const auto s = state_;
  {
    std::lock_guard lock(s->mutex);
    if (s->shutdown_begun) throw std::logic_error("AsyncTaskQueue::start: the queue was shut down");
    if (s->started) throw std::logic_error("AsyncTaskQueue::start: the queue is already started");
    s->started = true;
    s->workers.resize(s->worker_count);
    s->live_loops = s->worker_count + (s->result_ttl ? 1 : 0);
  }
  for (std::size_t i = 0; i < s->worker_count; ++i) {
    boost::asio::co_spawn(s->executor, run_worker(s, i), [s, i](std::exception_ptr error) {
      if (!error) return;
      // Only something like bad_alloc gets here: keep the books straight for shutdown.
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        s->report("worker " + std::to_string(i) + " stopped: " + e.what());
      } catch (...) {
        s->report("worker " + std::to_string(i) + " stopped by an unknown exception");
      }
      std::lock_guard lock(s->mutex);
      auto& worker = s->workers[i];
      if (worker.phase != Phase::exited && worker.phase != Phase::abandoned) {
        worker.phase = Phase::exited;
        worker.alarm = nullptr;
        s->loop_exited_locked();
      }
    });
  }
  if (s->result_ttl) {
    boost::asio::co_spawn(s->executor, run_result_ttl(s), [s](std::exception_ptr error) {
      if (!error) return;
      s->report("the result TTL loop stopped by an exception");
      std::lock_guard lock(s->mutex);
      if (s->ttl_alarm != nullptr) {
        s->ttl_alarm = nullptr;
        s->loop_exited_locked();
      }
    });
  }
}

Awaitable<std::string> AsyncTaskQueue::enqueue(std::string name, Bytes payload,
                                               EnqueueOptions options) {
  const auto s = state_;
  std::string id = options.id ? std::string() : s->ids.next();
  const Task task = detail::make_new_task(std::move(name), std::move(payload), options,
                                          s->clock->now(), std::move(id));
  std::string stored = co_await s->storage->enqueue(task);
  s->note_eta(task.eta);
  co_return stored;
}

Awaitable<void> AsyncTaskQueue::complete_task(std::string task_id, TaskOutcome result,
                                              std::optional<Task> task) {
  const auto s = state_;
  validate_task_id("complete_task", task_id);
  if (task) {
    if (task->id != task_id) {
      reject("complete_task", "the task given is '" + task->id + "', not '" + task_id + "'");
    }
  } else {
    // The one storage read (QUE-1); an unknown id is an error, never "nothing" (QUE-3).
    task = co_await s->storage->get_task(task_id);
    if (!task) throw NotFoundError("complete_task: task '" + task_id + "' not found in storage");
  }
  auto completion = s->finish(std::move(*task), std::move(result));
  co_await std::move(completion);
}

Awaitable<ShutdownReport> AsyncTaskQueue::shutdown(Duration grace) {
  const auto s = state_;
  ShutdownReport report;
  if (grace < Duration::zero()) {
    reject("shutdown", "grace must not be negative (got " + detail::describe_duration(grace) + ")");
  }
  auto executor = co_await boost::asio::this_coro::executor;
  const std::unique_ptr<Alarm> alarm = s->clock->make_alarm(executor);
  const Timestamp deadline = detail::add_saturating(s->clock->now(), grace);
  std::deque<Task> prefetched;
  {
    std::lock_guard lock(s->mutex);
    if (s->shutdown_begun) co_return report;  // someone else is stopping it
    s->shutdown_begun = true;
    s->shutdown_alarm = alarm.get();
    s->request_stop_locked();
    prefetched.swap(s->prefetched);  // no worker takes from it once stopping is set
  }
  // Claimed ahead but never started: handed back at once (QUE-15).
  for (Task& task : prefetched) {
    auto release = s->release_claim(std::move(task.id));
    co_await std::move(release);
  }
  for (;;) {
    std::vector<std::string> abandoned;
    bool done = false;
    Timestamp wait_until{};
    {
      std::lock_guard lock(s->mutex);
      const Timestamp now = s->clock->now();
      if (!s->past_deadline && s->live_loops > 0 && now >= deadline) {
        // Grace is over: leave running handlers behind and hand their claims back.
        s->past_deadline = true;
        for (auto& worker : s->workers) {
          if (worker.phase != Phase::handling) continue;
          worker.phase = Phase::abandoned;
          worker.alarm = nullptr;
          abandoned.push_back(worker.task_id);
          --s->live_loops;
        }
      }
      done = s->live_loops == 0;
      // Past the deadline only storage calls remain; their workers wake us when they
      // exit, and the poll interval bounds the wait in case a wake-up went astray.
      wait_until = s->past_deadline ? detail::add_saturating(now, s->poll_interval) : deadline;
    }
    for (auto& id : abandoned) {
      auto release = s->release_claim(std::move(id));
      co_await std::move(release);
    }
    if (done) break;
    if (abandoned.empty()) co_await alarm->sleep_until(wait_until);
  }
  std::lock_guard lock(s->mutex);
  s->shutdown_alarm = nullptr;
  report.released = std::move(s->released);
  report.errors = std::move(s->release_errors);
  co_return report;
}

bool AsyncTaskQueue::stopping() const {
  std::lock_guard lock(state_->mutex);
  return state_->stopping;
}

QueueClock& AsyncTaskQueue::clock() const { return *state_->clock; }

BaseStorage& AsyncTaskQueue::storage() const { return *state_->storage; }

}  // namespace taskstore::queue
