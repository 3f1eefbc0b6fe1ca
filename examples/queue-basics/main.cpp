// queue-basics: an AsyncTaskQueue with two workers on an in-memory store and the real
// clock. It enqueues four tasks (one that works at once, one that fails twice before it
// works, one that always fails, and one that runs every 10 ms), waits until they have
// played out, shuts the queue down and prints how each one ended.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "taskstore/memory_storage.hpp"
#include "taskstore/queue/async_task_queue.hpp"
#include "taskstore/queue/real_clock.hpp"

using namespace std::chrono_literals;
using namespace taskstore;
using namespace taskstore::queue;

namespace {

std::string text(const Bytes& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

struct Example {
  std::string label;
  std::string id;
};

// One line per task: its status, attempts, and its result or error.
Awaitable<void> print(BaseStorage& storage, const Example& example) {
  const std::optional<Task> task = co_await storage.get_task(example.id);
  const std::optional<TaskResult> result = co_await storage.get_result(example.id);
  std::string outcome = "no result";
  if (result && result->status == TaskStatus::SUCCESS)
    outcome = "result=\"" + text(result->value) + "\"";
  if (result && result->error) outcome = "error=\"" + *result->error + "\"";
  std::printf("%-7s %-8s attempts=%d  %s\n", example.label.c_str(),
              std::string(to_string(task->status)).c_str(), task->attempts, outcome.c_str());
}

Awaitable<int> run(AsyncTaskQueue& queue, BaseStorage& storage, QueueClock& clock) {
  queue.start();

  const std::string greet_name = "greet";
  const Bytes world = to_bytes("world");
  const std::string greet = co_await queue.enqueue(greet_name, world);
  const Bytes nothing;

  // Fails on attempts 1 and 2, then works: retried after 5 ms, then 10 ms.
  EnqueueOptions flaky_options;
  flaky_options.max_retries = 3;
  flaky_options.retry = {
      .backoff = RetryPolicy::Backoff::exponential, .delay = 5ms, .max_delay = 50ms};
  const std::string flaky_name = "flaky";
  const std::string flaky = co_await queue.enqueue(flaky_name, nothing, flaky_options);

  // Always fails: one run plus one retry, then FAILED.
  EnqueueOptions doomed_options;
  doomed_options.max_retries = 1;
  doomed_options.retry = {.delay = 5ms};
  const std::string doomed_name = "doomed";
  const std::string doomed = co_await queue.enqueue(doomed_name, nothing, doomed_options);

  // Runs again 10 ms after each run, until the queue stops.
  EnqueueOptions tick_options;
  tick_options.interval = 10ms;
  const std::string tick_name = "tick";
  const std::string tick = co_await queue.enqueue(tick_name, nothing, tick_options);

  // Wait, at most 30 s, until the one-off tasks are over and the interval task ran 3 times.
  const std::vector<std::string> one_offs = {greet, flaky, doomed};
  auto settled = [&]() -> Awaitable<bool> {
    for (const auto& id : one_offs) {
      const std::optional<Task> task = co_await storage.get_task(id);
      if (task->status != TaskStatus::SUCCESS && task->status != TaskStatus::FAILED)
        co_return false;
    }
    const std::optional<Task> ticking = co_await storage.get_task(tick);
    co_return ticking->attempts >= 3;
  };
  for (int i = 0; i < 3000; ++i) {
    auto check = settled();
    if (co_await std::move(check)) break;
    co_await sleep_until(clock, clock.now() + 10ms);
  }
  const ShutdownReport report = co_await queue.shutdown(1s);

  const std::vector<Example> examples = {
      {"greet", greet}, {"flaky", flaky}, {"doomed", doomed}, {"tick", tick}};
  for (const auto& example : examples) co_await print(storage, example);

  // Say whether everything ended as the comments above promise.
  const auto g = co_await storage.get_task(greet);
  const auto f = co_await storage.get_task(flaky);
  const auto d = co_await storage.get_task(doomed);
  const auto t = co_await storage.get_task(tick);
  const bool expected =
      g->status == TaskStatus::SUCCESS && g->attempts == 1 && f->status == TaskStatus::SUCCESS &&
      f->attempts == 3 && d->status == TaskStatus::FAILED && d->attempts == 2 &&
      t->status == TaskStatus::PENDING && t->attempts >= 3 && report.released.empty();
  std::printf("queue-basics: %s\n",
              expected ? "every task ended as expected" : "SOMETHING ENDED UNEXPECTEDLY");
  co_return expected ? 0 : 1;
}

}  // namespace

int main() {
  boost::asio::io_context io;
  const auto storage = std::make_shared<MemoryStorage>();
  const auto clock = std::make_shared<RealClock>();
  AsyncTaskQueue queue(storage, io.get_executor(),
                       {.workers = 2, .poll_interval = 100ms, .clock = clock});

  queue.register_handler("greet", [](Task task) -> Awaitable<Bytes> {
    co_return to_bytes("hello, " + text(task.payload));
  });
  queue.register_handler("flaky", [](Task task) -> Awaitable<Bytes> {
    if (task.attempts < 3)
      throw std::runtime_error("not yet (attempt " + std::to_string(task.attempts) + ")");
    co_return to_bytes("worked on attempt " + std::to_string(task.attempts));
  });
  queue.register_handler("doomed", [](Task) -> Awaitable<Bytes> {
    throw std::runtime_error("always broken");
    co_return Bytes{};
  });
  int ticks = 0;  // one executor thread: handlers never run at the same time
  queue.register_handler("tick", [&ticks](Task) -> Awaitable<Bytes> {
    co_return to_bytes("tick " + std::to_string(++ticks));
  });

  auto outcome = boost::asio::co_spawn(io, run(queue, *storage, *clock), boost::asio::use_future);
  io.run();
  try {
    return outcome.get();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "queue-basics: %s\n", e.what());
    return 2;
  }
}
