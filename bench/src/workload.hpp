#pragma once
// The tasks every benchmark stores, and the loops that drive a store through the async
// interface.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "taskstore/storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::bench {

// Every benchmark task has this name (queue_drain registers a no-op handler for it).
inline constexpr std::string_view kTaskName = "noop";

// "task-0000000042": ids 15 bytes long, like short application ids.
std::string task_id(std::size_t index);

// When preloaded task `index` is due: a fixed time in the past plus `index` µs, so every
// preloaded task is due and they are claimed in index order.
Timestamp preload_eta(std::size_t index);

// Task `index`: PENDING, named kTaskName, a payload of `payload_bytes` bytes, due at `eta`.
Task make_task(std::size_t index, std::size_t payload_bytes, Timestamp eta);

// A SUCCESS result for `id`, as a no-op handler would give.
TaskResult make_result(const std::string& id);

// What one contender (thread or process) achieved while claiming.
struct ClaimCount {
  std::uint64_t claims = 0;
  std::uint64_t errors = 0;  // operations that raised (e.g. a lock given up on)
  std::string first_error;

  ClaimCount& operator+=(const ClaimCount& other);
};

// Claims through `store` until it has nothing due or `limit` claims were made; an error
// is counted and the loop goes on (at most 100 errors in a row).
Awaitable<void> claim_loop(BaseStorage& store, std::uint64_t limit, ClaimCount& count);

// Enqueues tasks [first, first + count) (preload_eta etas) through `store`.
Awaitable<void> enqueue_range(BaseStorage& store, std::size_t first, std::size_t count,
                              std::size_t payload_bytes);

// Runs `op` to completion on a fresh io_context on this thread.
template <typename T>
T run_sync(Awaitable<T> op) {
  boost::asio::io_context io;
  return sync_wait(io, std::move(op));
}

}  // namespace taskstore::bench
