// Single operations, time-driven (Google Benchmark picks the iteration count):
//   enqueue/<backend>      one enqueue of a new task into a store that starts empty
//   enqueue/raw_<medium>   the medium's own insert (baselines.hpp)
//   cycle/<backend>        enqueue → dequeue → mark_running → mark_done of one task
//   get_task/<backend>     get_task of a random id in a large preloaded store
// Every call goes through the async interface: the timed loop runs inside a coroutine on
// an io_context of the benchmark thread, awaiting each operation in turn.
#include <random>

#include "backends.hpp"
#include "baselines.hpp"
#include "drain.hpp"
#include "families.hpp"
#include "registration.hpp"

namespace taskstore::bench {

namespace {

Awaitable<void> enqueue_loop(benchmark::State& state, BaseStorage& store,
                             std::size_t payload_bytes) {
  std::size_t index = 0;
  for (auto _ : state) {
    Task task = make_task(index++, payload_bytes, now_utc());
    auto op = store.enqueue(std::move(task));
    co_await std::move(op);
  }
}

Awaitable<void> cycle_loop(benchmark::State& state, BaseStorage& store,
                           std::size_t payload_bytes) {
  std::size_t index = 0;
  for (auto _ : state) {
    Task task = make_task(index++, payload_bytes, now_utc());
    auto enqueue = store.enqueue(std::move(task));
    const std::string id = co_await std::move(enqueue);
    auto dequeue = store.dequeue(now_utc());
    const std::optional<Task> claimed = co_await std::move(dequeue);
    if (!claimed || claimed->id != id) {
      throw std::runtime_error("cycle: dequeue did not return the task just enqueued");
    }
    auto running = store.mark_running(id);
    co_await std::move(running);
    TaskResult result = make_result(id);
    auto done = store.mark_done(id, std::move(result));
    co_await std::move(done);
  }
}

Awaitable<void> get_task_loop(benchmark::State& state, BaseStorage& store, std::size_t tasks) {
  std::minstd_rand random(42);
  std::uniform_int_distribution<std::size_t> pick(0, tasks - 1);
  for (auto _ : state) {
    std::string id = task_id(pick(random));
    auto op = store.get_task(std::move(id));
    const std::optional<Task> task = co_await std::move(op);
    if (!task) throw std::runtime_error("get_task: a preloaded task is missing");
    benchmark::DoNotOptimize(task);
  }
}

// A store that starts empty, in a scratch directory of its own, for one run.
struct EmptyStore {
  EmptyStore(const BackendSpec& spec, const Settings& settings, std::string_view label)
      : scratch(settings.root, label),
        store(spec.open(store_location(scratch.path()), 0, settings.payload_bytes)) {}

  ScratchDir scratch;
  std::shared_ptr<BaseStorage> store;
};

// A preloaded store kept across the runs of one get_task benchmark.
struct LargeStore {
  LargeStore(const BackendSpec& spec, const Settings& settings, std::size_t tasks)
      : scratch(settings.root, "get_task"),
        store(spec.open(store_location(scratch.path()), tasks, settings.payload_bytes)) {}

  ScratchDir scratch;
  std::shared_ptr<BaseStorage> store;
};

template <typename Loop>
void run_loop(benchmark::State& state, Loop loop) {
  try {
    run_sync(loop());
  } catch (const std::exception& e) {
    fail(state, e.what());
  }
}

void register_backend_operations(const BackendSpec& spec, const Settings& settings) {
  add_benchmark("enqueue/" + spec.name, [&spec, settings](benchmark::State& state) {
    try {
      const EmptyStore empty(spec, settings, "enqueue");
      run_loop(state, [&] { return enqueue_loop(state, *empty.store, settings.payload_bytes); });
    } catch (const std::exception& e) {
      fail(state, e.what());
    }
    state.SetItemsProcessed(state.iterations());
  })->UseRealTime();
}

void register_raw_enqueue(const BaselineSpec& baseline, const Settings& settings) {
  add_benchmark("enqueue/raw_" + baseline.medium, [&baseline, settings](benchmark::State& state) {
    try {
      const ScratchDir scratch(settings.root, "enqueue_raw");
      const auto enqueuer = baseline.enqueuer(scratch.path(), settings.payload_bytes);
      std::size_t index = 0;
      for (auto _ : state) enqueuer->enqueue(index++);
    } catch (const std::exception& e) {
      fail(state, e.what());
    }
    state.SetItemsProcessed(state.iterations());
  })->UseRealTime();
}

void register_cycle(const BackendSpec& spec, const Settings& settings) {
  add_benchmark("cycle/" + spec.name, [&spec, settings](benchmark::State& state) {
    try {
      const EmptyStore empty(spec, settings, "cycle");
      run_loop(state, [&] { return cycle_loop(state, *empty.store, settings.payload_bytes); });
    } catch (const std::exception& e) {
      fail(state, e.what());
    }
    state.SetItemsProcessed(state.iterations());
  })->UseRealTime();
}

void register_get_task(const BackendSpec& spec, const Settings& settings) {
  const std::size_t tasks = settings.sizes(spec.sizes).large_store;
  add_benchmark("get_task/" + spec.name, [&spec, settings, tasks](benchmark::State& state) {
    try {
      const auto large = std::static_pointer_cast<LargeStore>(cached_fixture(
          [&] { return std::make_shared<LargeStore>(spec, settings, tasks); }));
      run_loop(state, [&] { return get_task_loop(state, *large->store, tasks); });
    } catch (const std::exception& e) {
      fail(state, e.what());
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["tasks"] = static_cast<double>(tasks);
  })->UseRealTime();
}

}  // namespace

void register_operation_benchmarks(const Settings& settings) {
  for (const BackendSpec& spec : backends()) {
    register_backend_operations(spec, settings);
    if (const BaselineSpec* baseline = baseline_for(spec)) register_raw_enqueue(*baseline, settings);
  }
  for (const BackendSpec& spec : backends()) register_cycle(spec, settings);
  for (const BackendSpec& spec : backends()) register_get_task(spec, settings);
}

}  // namespace taskstore::bench
