#pragma once
// How big a run is (full or smoke), where its stores live, and the scratch directories
// each benchmark makes and removes.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace taskstore::bench {

enum class Mode { full, smoke };

// The sizes of one backend's runs. Backends bound by fsync get smaller ones than the
// memory store (see backends.cpp); a smoke run replaces them all with tiny ones.
struct BackendSizes {
  std::size_t drain = 0;        // tasks drained by dequeue/threads:N and dequeue_processes
  std::size_t queue_drain = 0;  // no-op tasks drained by queue_drain
  std::size_t size_claims = 0;  // claims timed at each store size of dequeue_size
  std::size_t max_store = 0;    // largest store size of dequeue_size, and footprint's size
  std::size_t large_store = 0;  // the store get_task reads from
  std::size_t long_drain = 0;   // tasks claimed and finished by dequeue_long; 0: no such run
};

struct Settings {
  Mode mode = Mode::full;
  // This run's scratch root, inside TASKSTORE_BENCH_DIR or the system temp directory;
  // removed when the run ends.
  std::filesystem::path root;
  std::vector<int> thread_counts{1, 2, 4, 8, 16};
  std::vector<int> process_counts{1, 2, 4, 8};
  std::vector<std::size_t> store_sizes{1'000, 10'000, 100'000, 1'000'000};
  std::size_t payload_bytes = 100;

  // The sizes a backend's benchmarks use in this mode.
  BackendSizes sizes(const BackendSizes& full) const;
  // The store sizes of dequeue_size up to `max_store`, in this mode.
  std::vector<std::size_t> store_sizes_up_to(std::size_t max_store) const;
};

// Mode from TASKSTORE_BENCH_SMOKE (1, true, yes, on) unless `smoke_flag` is set.
Mode mode_from_environment(bool smoke_flag);

// The directory stores are made in: TASKSTORE_BENCH_DIR if set, else the system temp
// directory.
std::filesystem::path bench_parent_directory();

// True if `path` is on a RAM file system (tmpfs, ramfs), where fsync costs nothing and
// durable backends' figures mean little.
bool on_memory_file_system(const std::filesystem::path& path);

// The 1, 5 and 15 minute load averages, "7.33 7.16 5.52", or "" if unknown.
std::string load_average();

// A fresh directory (mkdtemp) under `parent`, removed with everything in it on
// destruction, after the cleanups registered for locations inside it have run.
class ScratchDir {
 public:
  ScratchDir(const std::filesystem::path& parent, std::string_view label);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs `cleanup` when the ScratchDir holding `location` is removed, in this process only
// (a forked child's copy of the registration never runs): for what a store keeps outside
// its directory, e.g. the PostgreSQL schema named after a location. A location may be
// opened, closed and reopened (preloaded, then opened by worker processes), so its store
// lives as long as its directory, not as long as one instance.
void at_scratch_removal(const std::filesystem::path& location, std::function<void()> cleanup);

}  // namespace taskstore::bench
