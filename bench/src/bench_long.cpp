// dequeue_long/<backend>/tasks:N: 8 worker threads (a queue's worker pool) share one
// preloaded instance; each claims a task and marks it finished (dequeue, then mark_done
// with a SUCCESS result) until none is due. Reports the rate over the whole drain and
// over its first and last fifths: a claim must cost the same when the store is mostly
// finished rows (the dead index entries that claimed and finished rows leave behind) as
// when it is fresh. dequeue_long/raw_<medium>/tasks:N runs the same loop with the
// medium's own calls on a naive table (baselines.hpp), for contrast.
//
// Autovacuum is off on the store's tables during the drain (BackendSpec::
// before_long_drain; the naive table too), so the dead entries of every claimed and
// finished row stay in the indexes until the drain ends: the worst case of a large table
// between two vacuums (autovacuum waits until a fifth of a table is dead, which on a
// table of millions is millions of rows). With autovacuum on, a 200,000-row table is
// vacuumed every 40,000 dead rows or so, at moments set by its one-minute naptime: the
// ratio then says more about when vacuum ran than about the claim (three such runs of
// the same build read 0.65, 1.19 and 0.83 on a busy 2-core machine).
//
// Eight threads rather than one: at one thread each claim waits for its own WAL flush,
// which dilutes what the claim's index walk costs; with eight, concurrent commits share
// flushes and the claims' own work (CPU on the server) is what the rate shows, as in a
// queue. It also keeps 200,000 tasks within two minutes or so, where one thread (two
// commits a task, ~1.4 ms) would take five.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "backends.hpp"
#include "baselines.hpp"
#include "drain.hpp"
#include "families.hpp"
#include "registration.hpp"

namespace taskstore::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kWorkers = 8;

struct LongDrain {
  std::uint64_t finished = 0;
  double seconds = 0;              // the whole drain
  double first_fifth_seconds = 0;  // until a fifth of the tasks were finished
  double last_fifth_seconds = 0;   // from four fifths finished until the last worker stopped
};

// Runs the workers over `target` until nothing is due. Each worker makes its finisher on
// its own thread before the start barrier; the time runs from the barrier to the last
// worker's stop. Throws the first worker's error.
LongDrain drain_long(FinishTarget& target, std::size_t tasks) {
  const std::uint64_t fifth = std::max<std::uint64_t>(1, tasks / 5);
  std::atomic<std::uint64_t> finished{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::string error;
  SteadyClock::time_point start, first_fifth, four_fifths, end;
  std::barrier ready(kWorkers, [&]() noexcept { start = SteadyClock::now(); });

  const auto worker = [&] {
    std::unique_ptr<Finisher> finisher;
    std::string failure;
    try {
      finisher = target.finisher();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    ready.arrive_and_wait();
    try {
      while (finisher && !stop.load(std::memory_order_relaxed) && finisher->finish_one()) {
        const std::uint64_t n = finished.fetch_add(1) + 1;
        if (n == fifth || n == tasks - fifth) {
          const auto now = SteadyClock::now();
          std::lock_guard lock(mutex);
          (n == fifth ? first_fifth : four_fifths) = now;
        }
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
    const auto stopped = SteadyClock::now();
    std::lock_guard lock(mutex);
    end = std::max(end, stopped);
    if (!failure.empty()) {
      stop = true;
      if (error.empty()) error = failure;
    }
    finisher.reset();
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkers; ++i) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  if (!error.empty()) throw std::runtime_error(error);

  const auto seconds = [](auto from, auto to) {
    return std::chrono::duration<double>(to - from).count();
  };
  LongDrain drain;
  drain.finished = finished.load();
  if (drain.finished != tasks) {
    throw std::runtime_error("finished " + std::to_string(drain.finished) + " of " +
                             std::to_string(tasks) + " tasks");
  }
  drain.seconds = seconds(start, end);
  drain.first_fifth_seconds = seconds(start, first_fifth);
  drain.last_fifth_seconds = seconds(four_fifths, end);
  return drain;
}

void long_body(benchmark::State& state, const FinishTargetFactory& factory,
               const Settings& settings) {
  const auto tasks = static_cast<std::size_t>(state.range(0));
  LongDrain drain;
  try {
    for (auto _ : state) {
      const ScratchDir scratch(settings.root, "dequeue_long");
      const auto target = factory(scratch.path(), tasks, settings.payload_bytes);
      drain = drain_long(*target, tasks);
      state.SetIterationTime(drain.seconds);
    }
  } catch (const std::exception& e) {
    fail(state, e.what());
    return;
  }
  const double fifth = static_cast<double>(std::max<std::size_t>(1, tasks / 5));
  const double first = fifth / drain.first_fifth_seconds;
  const double last = fifth / drain.last_fifth_seconds;
  state.SetItemsProcessed(static_cast<std::int64_t>(drain.finished));
  state.counters["tasks"] = static_cast<double>(tasks);
  state.counters["workers"] = kWorkers;
  state.counters["first_fifth_per_second"] = first;
  state.counters["last_fifth_per_second"] = last;
  state.counters["last_to_first"] = last / first;
}

void register_long(const std::string& name, FinishTargetFactory factory, const Settings& settings,
                   std::size_t tasks) {
  add_store_size_benchmark(name, tasks,
                           [factory = std::move(factory), settings](benchmark::State& state) {
                             long_body(state, factory, settings);
                           })
      ->UseManualTime();
}

}  // namespace

void register_long_benchmarks(const Settings& settings) {
  for (const BackendSpec& spec : backends()) {
    const std::size_t tasks = settings.sizes(spec.sizes).long_drain;
    if (tasks == 0) continue;
    register_long("dequeue_long/" + spec.name, backend_finish_target(spec), settings, tasks);
    const BaselineSpec* baseline = baseline_for(spec);
    if (baseline != nullptr && baseline->long_drain) {
      register_long("dequeue_long/raw_" + baseline->medium, baseline->long_drain, settings,
                    tasks);
    }
  }
}

}  // namespace taskstore::bench
