// open/<backend>/tasks:N: how long opening an existing store of N tasks takes, up to the
// first claim (durable backends only). The file store reads every task file at open
// (FILE-8) and builds its due index from queue/ (FILE-9), so its open grows with N; this
// is where that cost shows. The store is preloaded and closed with the timer paused.
#include <memory>
#include <string>

#include "backends.hpp"
#include "families.hpp"
#include "registration.hpp"
#include "workload.hpp"

namespace taskstore::bench {

namespace {

void open_body(benchmark::State& state, const BackendSpec& spec, const Settings& settings) {
  const auto tasks = static_cast<std::size_t>(state.range(0));
  try {
    for (auto _ : state) {
      state.PauseTiming();
      auto scratch = std::make_unique<ScratchDir>(settings.root, "open");
      const std::filesystem::path location = scratch->path() / "store";
      spec.open(location, tasks, settings.payload_bytes).reset();
      state.ResumeTiming();
      auto store = spec.open(location, 0, settings.payload_bytes);
      const auto claimed = run_sync(store->dequeue(now_utc()));
      state.PauseTiming();
      if (!claimed) throw std::runtime_error("the reopened store had no due task");
      store.reset();
      scratch.reset();
      state.ResumeTiming();
    }
  } catch (const std::exception& e) {
    fail(state, e.what());
    return;
  }
  state.counters["tasks"] = static_cast<double>(tasks);
}

}  // namespace

void register_open_benchmarks(const Settings& settings) {
  for (const BackendSpec& spec : backends()) {
    if (!spec.durable) continue;
    for (const std::size_t tasks : settings.store_sizes_up_to(settings.sizes(spec.sizes).max_store)) {
      add_store_size_benchmark("open/" + spec.name, tasks,
                               [&spec, settings](benchmark::State& state) {
                                 open_body(state, spec, settings);
                               })
          ->UseRealTime();
    }
  }
}

}  // namespace taskstore::bench
