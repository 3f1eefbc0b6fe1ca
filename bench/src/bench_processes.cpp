// dequeue_processes/<backend>/processes:N: N forked worker processes, each with its own
// instance on one preloaded directory or database file, claim until it is empty; the
// aggregate claims/s over the wall time from the start signal to the last worker's report
// (manual time). Durable backends only: sharing a store between processes is what they
// promise (DEQ-7, CON-3). The store is preloaded and closed before the fork, so the
// parent holds no threads and no instance when it forks.
#include "backends.hpp"
#include "child.hpp"
#include "drain.hpp"
#include "families.hpp"
#include "registration.hpp"

namespace taskstore::bench {

namespace {

void processes_body(benchmark::State& state, const BackendSpec& spec, const Settings& settings,
                    std::size_t tasks) {
  const auto processes = static_cast<int>(state.range(0));
  ProcessDrain drain;
  try {
    for (auto _ : state) {
      const ScratchDir scratch(settings.root, "processes");
      const auto location = store_location(scratch.path());
      spec.open(location, tasks, settings.payload_bytes).reset();
      drain = drain_in_processes(
          processes, [&] { return spec.open(location, 0, settings.payload_bytes); });
      state.SetIterationTime(drain.seconds);
    }
  } catch (const std::exception& e) {
    fail(state, e.what());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(drain.total.claims));
  state.counters["tasks"] = static_cast<double>(tasks);
  state.counters["errors"] = static_cast<double>(drain.total.errors);
  if (drain.total.errors > 0) state.SetLabel("first error: " + drain.total.first_error);
  if (drain.total.claims != tasks) {
    fail(state, "claimed " + std::to_string(drain.total.claims) + " of " +
                    std::to_string(tasks) + " tasks");
  }
}

}  // namespace

void register_process_benchmarks(const Settings& settings) {
  for (const BackendSpec& spec : backends()) {
    if (!spec.durable) continue;
    const std::size_t tasks = settings.sizes(spec.sizes).drain;
    auto* benchmark = add_benchmark("dequeue_processes/" + spec.name,
                                    [&spec, settings, tasks](benchmark::State& state) {
                                      processes_body(state, spec, settings, tasks);
                                    });
    benchmark->ArgName("processes");
    for (const int processes : settings.process_counts) benchmark->Arg(processes);
    benchmark->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  }
}

}  // namespace taskstore::bench
