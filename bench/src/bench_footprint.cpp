// footprint/<backend>/tasks:N: the resident memory a process needs for a store of N tasks
// (100-byte payloads), measured in a fresh forked child so earlier benchmarks' heap does
// not count. In-process backends are loaded in the child through enqueue; durable
// backends are loaded on disk first, and the child measures what it holds while it has
// the store open (after one get_task and one dequeue have touched its index).
#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "backends.hpp"
#include "child.hpp"
#include "drain.hpp"
#include "families.hpp"
#include "registration.hpp"

namespace taskstore::bench {

namespace {

// Resident set size now, in bytes (/proc/self/statm).
long long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<long long>(::sysconf(_SC_PAGESIZE));
}

// The peak resident set size since the last reset_peak(), in bytes (VmHWM).
long long peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      long long kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

// Resets VmHWM to the current RSS (Linux 4.0+). Without it the peak is the child's
// whole life, which is the same here: the child is fresh.
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

struct Footprint {
  long long before = 0;  // resident bytes before the store was opened
  long long held = 0;    // resident bytes with the store open and loaded
  long long peak = 0;    // peak resident bytes since `before`
};

Footprint measure(const BackendSpec& spec, const std::filesystem::path& location,
                  std::size_t tasks, std::size_t payload_bytes) {
  const std::string text = run_in_child([&] {
    ::malloc_trim(0);  // hand back what the parent freed, so it is not reused unseen
    reset_peak();
    const long long before = resident_bytes();
    auto store = spec.open(location, spec.durable ? 0 : tasks, payload_bytes);
    if (spec.durable) {
      run_sync(store->get_task(task_id(tasks / 2)));
      run_sync(store->dequeue(now_utc()));
    }
    const long long held = resident_bytes();
    const long long peak = peak_resident_bytes();
    return std::to_string(before) + " " + std::to_string(held) + " " + std::to_string(peak);
  });
  Footprint footprint;
  std::istringstream(text) >> footprint.before >> footprint.held >> footprint.peak;
  return footprint;
}

void footprint_body(benchmark::State& state, const BackendSpec& spec, const Settings& settings) {
  const auto tasks = static_cast<std::size_t>(state.range(0));
  Footprint footprint;
  try {
    const ScratchDir scratch(settings.root, "footprint");
    const auto location = store_location(scratch.path());
    if (spec.durable) spec.open(location, tasks, settings.payload_bytes).reset();
    for (auto _ : state) {
      footprint = measure(spec, location, tasks, settings.payload_bytes);
    }
  } catch (const std::exception& e) {
    fail(state, e.what());
    return;
  }
  const double n = static_cast<double>(tasks);
  const double payload = static_cast<double>(settings.payload_bytes);
  const auto growth = static_cast<double>(footprint.held - footprint.before);
  const auto peak_growth = static_cast<double>(std::max(footprint.peak, footprint.held) -
                                               footprint.before);
  state.counters["tasks"] = n;
  state.counters["rss_growth_bytes"] = growth;
  state.counters["peak_growth_bytes"] = peak_growth;
  state.counters["bytes_per_task"] = growth / n;
  state.counters["peak_bytes_per_task"] = peak_growth / n;
  if (!spec.durable) {
    // An in-process store holds every payload; what it costs beyond them is the figure.
    state.counters["beyond_payload_bytes_per_task"] = growth / n - payload;
    state.counters["peak_beyond_payload_bytes_per_task"] = peak_growth / n - payload;
  }
}

}  // namespace

void register_footprint_benchmarks(const Settings& settings) {
  for (const BackendSpec& spec : backends()) {
    const std::size_t tasks = settings.sizes(spec.sizes).max_store;
    add_store_size_benchmark("footprint/" + spec.name, tasks,
                             [&spec, settings](benchmark::State& state) {
                               footprint_body(state, spec, settings);
                             })
        ->UseRealTime();
  }
}

}  // namespace taskstore::bench
