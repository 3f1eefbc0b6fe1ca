#pragma once
// A preloaded store that contenders drain together: the common shape of every claim
// benchmark, for a backend (claims through BaseStorage) and for a raw baseline (claims
// with the medium's own calls).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "backends.hpp"
#include "workload.hpp"

namespace taskstore::bench {

// One thread's (or process's) claimer.
class Contender {
 public:
  virtual ~Contender() = default;
  // Claims until nothing is due or `limit` claims were made.
  virtual ClaimCount claim(std::uint64_t limit) = 0;
};

class DrainTarget {
 public:
  virtual ~DrainTarget() = default;
  // A claimer for the calling thread (a raw SQLite contender opens its own connection;
  // a backend's contenders share the one instance). Made outside the timed region.
  virtual std::unique_ptr<Contender> contender() = 0;
};

// Makes a target holding `tasks` due tasks, in `scratch` (a fresh directory).
using DrainTargetFactory = std::function<std::unique_ptr<DrainTarget>(
    const std::filesystem::path& scratch, std::size_t tasks, std::size_t payload_bytes)>;

// One instance of the backend, preloaded; its contenders claim through dequeue.
DrainTargetFactory backend_drain_target(const BackendSpec& spec);

// dequeue_long's worker: what a queue's worker does to the store for a no-op task.
class Finisher {
 public:
  virtual ~Finisher() = default;
  // Claims one due task and marks it finished (SUCCESS); false if nothing was due.
  virtual bool finish_one() = 0;
};

class FinishTarget {
 public:
  virtual ~FinishTarget() = default;
  // A worker for the calling thread, made outside the timed region.
  virtual std::unique_ptr<Finisher> finisher() = 0;
};

using FinishTargetFactory = std::function<std::unique_ptr<FinishTarget>(
    const std::filesystem::path& scratch, std::size_t tasks, std::size_t payload_bytes)>;

// One instance of the backend, preloaded, shared by the workers: dequeue then mark_done.
FinishTargetFactory backend_finish_target(const BackendSpec& spec);

// Where a backend keeps its store inside a scratch directory.
std::filesystem::path store_location(const std::filesystem::path& scratch);

}  // namespace taskstore::bench
