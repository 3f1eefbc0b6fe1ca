#pragma once
// How an AsyncTaskQueue runs: its workers, its clock and its housekeeping.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "taskstore/queue/clock.hpp"
#include "taskstore/queue/retry_policy.hpp"
#include "taskstore/time.hpp"

namespace taskstore::queue {

// Results older than `ttl` are purged every `period` (spec QUE-14).
struct ResultTtl {
  Duration ttl{0};
  Duration period{0};
};

struct QueueOptions {
  // Concurrent workers, each running one task at a time (≥ 1).
  std::size_t workers = 4;
  // Tasks claimed ahead of the workers (spec QUE-17): when the storage claims batches
  // (BaseStorage::claims_batches), a worker that finds nothing claimed ahead claims its own
  // task and up to `prefetch` more in one dequeue_batch, and the other workers take those
  // from a local buffer instead of asking the storage. Never more than `prefetch` wait
  // there, claimed (RUNNING) but not started; shutdown hands them back (QUE-15). 0 turns
  // prefetching off; other storages always claim one task at a time.
  std::size_t prefetch = kDefaultPrefetch;
  // Measured (bench queue_drain, 8 workers): 8 beat 0 on sqlite NORMAL and postgres in
  // every run, and 32 was no better while it keeps four times as many tasks waiting.
  static constexpr std::size_t kDefaultPrefetch = 8;
  // The longest an idle worker sleeps before it asks the storage again (> 0). Local
  // enqueues and known etas wake workers sooner (spec QUE-13).
  Duration poll_interval = std::chrono::seconds(1);
  // Every `now` and every sleep; a RealClock when null.
  std::shared_ptr<QueueClock> clock;
  // Purge old results in the background; off when absent.
  std::optional<ResultTtl> result_ttl;
  // Draws retry jitter; seeded from std::random_device when empty.
  UniformRandom random;
  // Where workers report storage errors they survive; one line to std::cerr when empty.
  std::function<void(std::string_view message)> log;
};

}  // namespace taskstore::queue
