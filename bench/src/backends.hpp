#pragma once
// The backends under benchmark. Each is one BackendSpec in backends(): every benchmark
// family registers itself once per entry, so a later backend is one more entry.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "settings.hpp"
#include "taskstore/storage.hpp"

namespace taskstore::bench {

struct BackendSpec {
  // "<operation>/<name>" in benchmark names.
  std::string name;
  // Its baseline is "<operation>/raw_<medium>" (baselines.hpp).
  std::string medium;
  // Persistent and safe for several processes on one store: gets dequeue_processes, and
  // footprint measures the process holding the store open rather than loading it.
  bool durable = false;
  // Full-run sizes; backends bound by fsync get smaller drains than in-process ones.
  BackendSizes sizes;
  // Opens (creating if missing) the store at `location`, a path inside a fresh scratch
  // directory that in-process backends ignore (postgres keeps one schema per location,
  // dropped with the directory), after adding tasks [0, preload)
  // (make_task with preload_eta, all due) to it quickly and durably. Preloading is never
  // timed; durable backends write the store directly rather than one fsync'd enqueue at a
  // time (loaders.hpp).
  std::function<std::shared_ptr<BaseStorage>(const std::filesystem::path& location,
                                             std::size_t preload, std::size_t payload_bytes)>
      open;
  // The worker counts queue_drain runs the queue with: 8 for every backend, so figures
  // compare; postgres adds a wide pool (see backends.cpp).
  std::vector<std::size_t> queue_workers{8};
  // Optional: run on the preloaded store at `location`, while it is open, before
  // dequeue_long's drain starts. postgres turns autovacuum off on the store's tables, so
  // the dead index entries the drain leaves stay until it ends (bench_long.cpp says why).
  std::function<void(const std::filesystem::path& location)> before_long_drain;
};

// memory, file, sqlite (synchronous FULL), sqlite_normal (synchronous NORMAL), and
// postgres when TASKSTORE_PG names a server.
const std::vector<BackendSpec>& backends();

}  // namespace taskstore::bench
