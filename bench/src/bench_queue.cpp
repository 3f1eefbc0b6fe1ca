// queue_drain/<backend>/tasks:N/workers:W: AsyncTaskQueue's worker pool (W workers on one
// io_context thread, the real clock; 8 for every backend, and more where the backend
// lists more in BackendSpec::queue_workers) drains N preloaded no-op tasks; tasks/s from start()
// until shutdown() has returned; then (untimed) every task, or an even sample of 1,000,
// must be SUCCESS. Each task costs the queue a claim (a dequeue, or a share of a
// dequeue_batch with the default prefetch) and a mark_done, plus a mark_running for a task
// taken from the prefetch buffer (QUE-17, QUE-18).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <chrono>

#include "backends.hpp"
#include "drain.hpp"
#include "families.hpp"
#include "registration.hpp"
#include "taskstore/queue/async_task_queue.hpp"

namespace taskstore::bench {

namespace {

namespace asio = boost::asio;
using queue::AsyncTaskQueue;

constexpr auto kWatchdog = std::chrono::minutes(10);  // a drain that never ends fails

// What the handler, the stopper and the watchdog share; lives on the benchmark's stack
// and is touched only on the io_context's one thread.
struct Drain {
  Drain(asio::io_context& io, std::size_t tasks) : tasks(tasks), watchdog(io, kWatchdog) {}

  std::size_t tasks;
  std::size_t handled = 0;
  std::size_t logged = 0;  // storage errors the workers survived
  std::string first_log;
  bool stop_requested = false;
  bool timed_out = false;
  std::size_t released = 0;
  asio::steady_timer watchdog;
};

Awaitable<void> stop_queue(AsyncTaskQueue& queue, Drain& drain) {
  auto op = queue.shutdown(std::chrono::seconds(60));
  const queue::ShutdownReport report = co_await std::move(op);
  drain.released = report.released.size() + report.errors.size();
  drain.watchdog.cancel();
}

void request_stop(asio::io_context& io, AsyncTaskQueue& queue, Drain& drain) {
  if (drain.stop_requested) return;
  drain.stop_requested = true;
  asio::co_spawn(io, stop_queue(queue, drain), asio::detached);
}

Awaitable<Bytes> noop_handler(asio::io_context& io, AsyncTaskQueue& queue, Drain& drain) {
  if (++drain.handled == drain.tasks) request_stop(io, queue, drain);
  co_return Bytes();
}

void queue_body(benchmark::State& state, const BackendSpec& spec, const Settings& settings) {
  const auto tasks = static_cast<std::size_t>(state.range(0));
  const auto workers = static_cast<std::size_t>(state.range(1));
  asio::io_context io;
  Drain drain(io, tasks);
  std::size_t unfinished = 0;
  try {
    const ScratchDir scratch(settings.root, "queue_drain");
    const auto store = spec.open(store_location(scratch.path()), tasks, settings.payload_bytes);
    queue::QueueOptions options;
    options.workers = workers;
    options.poll_interval = std::chrono::milliseconds(100);
    options.log = [&drain](std::string_view message) {
      if (drain.logged++ == 0) drain.first_log = std::string(message);
    };
    AsyncTaskQueue queue(store, io.get_executor(), std::move(options));
    queue.register_handler(std::string(kTaskName), [&io, &queue, &drain](Task) {
      return noop_handler(io, queue, drain);
    });
    drain.watchdog.async_wait([&](const boost::system::error_code& error) {
      if (error) return;  // cancelled: the drain ended
      drain.timed_out = true;
      request_stop(io, queue, drain);
    });
    for (auto _ : state) {
      queue.start();
      io.run();
    }
    // Not timed: every task (an even sample of 1,000 in large drains) must be SUCCESS.
    const std::size_t step = std::max<std::size_t>(1, tasks / 1000);
    for (std::size_t i = 0; i < tasks; i += step) {
      const std::optional<Task> task = run_sync(store->get_task(task_id(i)));
      if (!task || task->status != TaskStatus::SUCCESS) ++unfinished;
    }
  } catch (const std::exception& e) {
    fail(state, e.what());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(drain.handled));
  state.counters["tasks"] = static_cast<double>(tasks);
  state.counters["workers"] = static_cast<double>(workers);
  state.counters["errors"] = static_cast<double>(drain.logged);
  if (drain.logged > 0) state.SetLabel("first error: " + drain.first_log);
  if (drain.timed_out || drain.handled != tasks || drain.released != 0 || unfinished != 0) {
    fail(state, "handled " + std::to_string(drain.handled) + " of " + std::to_string(tasks) +
                    " tasks" + (drain.timed_out ? " before the watchdog fired" : "") +
                    (drain.released != 0 ? ", released claims at shutdown" : "") +
                    (unfinished != 0 ? ", " + std::to_string(unfinished) +
                                           " checked tasks not SUCCESS"
                                     : ""));
  }
}

}  // namespace

void register_queue_benchmarks(const Settings& settings) {
  for (const BackendSpec& spec : backends()) {
    const std::size_t tasks = settings.sizes(spec.sizes).queue_drain;
    for (const std::size_t workers : spec.queue_workers) {
      add_benchmark("queue_drain/" + spec.name,
                    [&spec, settings](benchmark::State& state) {
                      queue_body(state, spec, settings);
                    })
          ->ArgNames({"tasks", "workers"})
          ->Args({static_cast<std::int64_t>(tasks), static_cast<std::int64_t>(workers)})
          ->Iterations(1)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace taskstore::bench
