// Claims from a preloaded store:
//   dequeue/<backend>/threads:N     N threads drain one preloaded store (one instance,
//                                   shared) until it is empty; claims/s over the drain
//   dequeue/raw_<medium>/threads:N  the same drain with the medium's own calls
//   dequeue_size/<backend>/tasks:N  one thread times a fixed number of claims from stores
//                                   of N tasks: how claim cost grows with the store
//   dequeue_size/raw_<medium>/tasks:N  the same with the medium's own calls (memory and
//                                   SQLite: their raw claims read an order too)
// Each run gets a fresh preloaded store, built before the timer starts and removed after
// it stops. A drain's time is taken by hand: from the moment every thread has its
// contender ready (a barrier) to the moment the last thread finds the store empty, and
// every thread reports that same span. Google Benchmark's own per-thread real time would
// let a thread that got the CPU only after the drain was over report almost nothing, which
// drags the average down and inflates claims/s for fast stores.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "backends.hpp"
#include "baselines.hpp"
#include "drain.hpp"
#include "families.hpp"
#include "registration.hpp"

namespace taskstore::bench {

namespace {

// What the threads of one run share. Thread 0 sets it up before the start barrier and
// tears it down after the stop barrier.
struct DrainRun {
  std::optional<ScratchDir> scratch;
  std::shared_ptr<DrainTarget> target;
  std::string setup_error;
  std::mutex mutex;
  ClaimCount total;
  std::unique_ptr<std::barrier<>> ready;     // every contender built
  std::unique_ptr<std::barrier<>> finished;  // every thread done claiming
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point end;
};

void drain_body(benchmark::State& state, DrainRun& run, const DrainTargetFactory& factory,
                const Settings& settings, std::size_t tasks) {
  if (state.thread_index() == 0) {
    run.target.reset();
    run.scratch.reset();
    run.setup_error.clear();
    run.total = ClaimCount{};
    run.start = std::chrono::steady_clock::time_point::max();
    run.end = {};
    try {
      run.scratch.emplace(settings.root, "dequeue");
      run.target = factory(run.scratch->path(), tasks, settings.payload_bytes);
    } catch (const std::exception& e) {
      run.setup_error = e.what();
    }
  }
  if (state.thread_index() == 0) {
    const auto threads = static_cast<std::ptrdiff_t>(state.threads());
    run.ready = std::make_unique<std::barrier<>>(threads);
    run.finished = std::make_unique<std::barrier<>>(threads);
  }
  ClaimCount count;
  for (auto _ : state) {
    // Every thread reaches both barriers, even one that fails, so none waits forever.
    const std::shared_ptr<DrainTarget> target = run.target;
    std::unique_ptr<Contender> contender;
    std::string error = target ? "" : "setup: " + run.setup_error;
    if (target) {
      try {
        contender = target->contender();
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    run.ready->arrive_and_wait();
    const auto started = std::chrono::steady_clock::now();
    if (contender) {
      try {
        count = contender->claim(UINT64_MAX);
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    {
      std::lock_guard lock(run.mutex);
      run.start = std::min(run.start, started);
      run.end = std::max(run.end, std::chrono::steady_clock::now());
      run.total += count;
    }
    run.finished->arrive_and_wait();
    contender.reset();
    state.SetIterationTime(std::chrono::duration<double>(run.end - run.start).count());
    if (!error.empty()) {
      fail(state, error);
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(count.claims));
  state.counters["errors"] = static_cast<double>(count.errors);  // summed over threads
  if (state.thread_index() == 0) {
    state.counters["tasks"] = static_cast<double>(tasks);
    if (run.total.errors > 0) state.SetLabel("first error: " + run.total.first_error);
    if (run.total.claims != tasks && !state.error_occurred()) {
      fail(state, "claimed " + std::to_string(run.total.claims) + " of " +
                      std::to_string(tasks) + " tasks");
    }
    run.target.reset();
    run.scratch.reset();
  }
}

void register_drain(const std::string& name, DrainTargetFactory factory, std::size_t tasks,
                    const Settings& settings, int threads) {
  auto run = std::make_shared<DrainRun>();
  add_benchmark(name, [run, factory = std::move(factory), settings,
                       tasks](benchmark::State& state) {
    drain_body(state, *run, factory, settings, tasks);
  })
      ->Threads(threads)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// Times `claims` claims from stores of `tasks` tasks: one store if it holds that many,
// else fresh stores one after another (each built and removed with the timer paused),
// so every size times the same number of claims.
void size_body(benchmark::State& state, const DrainTargetFactory& factory,
               const Settings& settings, std::size_t claims) {
  const auto tasks = static_cast<std::size_t>(state.range(0));
  ClaimCount count;
  try {
    for (auto _ : state) {
      while (count.claims < claims) {
        state.PauseTiming();
        auto scratch = std::make_unique<ScratchDir>(settings.root, "dequeue_size");
        auto target = factory(scratch->path(), tasks, settings.payload_bytes);
        auto contender = target->contender();
        state.ResumeTiming();
        const ClaimCount round = contender->claim(std::min(tasks, claims - count.claims));
        state.PauseTiming();
        contender.reset();
        target.reset();
        scratch.reset();
        state.ResumeTiming();
        count += round;
        if (round.claims == 0) break;
      }
    }
  } catch (const std::exception& e) {
    fail(state, e.what());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(count.claims));
  state.counters["tasks"] = static_cast<double>(tasks);
  state.counters["errors"] = static_cast<double>(count.errors);
  if (count.claims != claims) {
    fail(state, "claimed " + std::to_string(count.claims) + " of " + std::to_string(claims));
  }
}

void register_size(const std::string& name, DrainTargetFactory factory, std::size_t claims,
                   const Settings& settings, std::size_t tasks) {
  add_store_size_benchmark(name, tasks,
                           [factory = std::move(factory), settings,
                            claims](benchmark::State& state) {
                             size_body(state, factory, settings, claims);
                           })
      ->UseRealTime();
}

}  // namespace

// A backend's run and its baseline's with the same parameters are registered one after
// the other, so they run seconds apart: a disk or a machine whose speed drifts during the
// run (other jobs on it) shifts both figures of a ratio alike.
void register_dequeue_benchmarks(const Settings& settings) {
  for (const BackendSpec& spec : backends()) {
    const std::size_t tasks = settings.sizes(spec.sizes).drain;
    const BaselineSpec* baseline = baseline_for(spec);
    for (const int threads : settings.thread_counts) {
      register_drain("dequeue/" + spec.name, backend_drain_target(spec), tasks, settings,
                     threads);
      if (baseline != nullptr) {
        register_drain("dequeue/raw_" + baseline->medium, baseline->drain, tasks, settings,
                       threads);
      }
    }
  }
  for (const BackendSpec& spec : backends()) {
    const BackendSizes sizes = settings.sizes(spec.sizes);
    const BaselineSpec* baseline = baseline_for(spec);
    for (const std::size_t tasks : settings.store_sizes_up_to(sizes.max_store)) {
      register_size("dequeue_size/" + spec.name, backend_drain_target(spec), sizes.size_claims,
                    settings, tasks);
      if (baseline != nullptr && baseline->sized) {
        register_size("dequeue_size/raw_" + baseline->medium, baseline->drain,
                      sizes.size_claims, settings, tasks);
      }
    }
  }
}

}  // namespace taskstore::bench
