#pragma once
// What an AsyncTaskQueue shares with its workers. Workers hold it by shared_ptr, so an
// abandoned handler (spec QUE-15) can finish after the queue object is gone. Everything
// below `mutex` is guarded by it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "new_task.hpp"
#include "taskstore/queue/async_task_queue.hpp"

namespace taskstore::queue {

class AsyncTaskQueue::State {
 public:
  // What a worker is doing, as far as waking it and stopping it are concerned.
  enum class Phase {
    not_started,  // spawned, not yet running
    claiming,     // about to dequeue, or dequeuing
    idle,         // asleep on its alarm until idle_until (or a wake-up)
    starting,     // about to run it: mark_running in progress for a task claimed ahead
    handling,     // the handler runs: the only phase shutdown may abandon
    completing,   // complete_task's storage calls in progress
    releasing,    // handing a claim back during shutdown
    abandoned,    // left behind by shutdown; its outcome will be discarded
    exited,
  };

  struct Worker {
    Phase phase = Phase::not_started;
    Alarm* alarm = nullptr;  // owned by the worker's coroutine; null once it can't be woken
    Timestamp idle_until{};
    std::string task_id;  // the claim it holds, if any
  };

  State(std::shared_ptr<BaseStorage> storage, boost::asio::any_io_executor executor,
        QueueOptions options);

  // Fixed at construction.
  const std::shared_ptr<BaseStorage> storage;
  const boost::asio::any_io_executor executor;
  const std::shared_ptr<QueueClock> clock;
  const std::size_t worker_count;
  const std::size_t prefetch;  // 0 unless the storage claims batches
  const Duration poll_interval;
  const std::optional<ResultTtl> result_ttl;
  const UniformRandom random;
  const std::function<void(std::string_view)> log;
  detail::TaskIdGenerator ids;

  mutable std::mutex mutex;
  std::unordered_map<std::string, TaskHandler> handlers;
  std::vector<Worker> workers;
  Alarm* ttl_alarm = nullptr;
  Alarm* shutdown_alarm = nullptr;
  // Future etas learnt from local enqueues and reschedules: idle workers sleep no later
  // than the first one. Bounded; a forgotten eta is still found by polling.
  std::set<Timestamp> known_etas;
  // Bumped by every note_eta, so a worker whose dequeue raced with an enqueue looks again
  // instead of sleeping.
  std::uint64_t generation = 0;
  // Tasks claimed ahead by a batch, in claim order, not yet taken by a worker (QUE-17).
  std::deque<Task> prefetched;
  // Places in `prefetched` that batches in flight may fill: prefetched.size() plus this
  // never exceeds `prefetch`.
  std::size_t prefetch_reserved = 0;
  bool batches_refused = false;  // dequeue_batch raised NotSupportedError: claim one at a time
  std::size_t live_loops = 0;  // workers and the TTL loop not yet exited or abandoned
  bool started = false;
  bool stopping = false;       // no more dequeues
  bool past_deadline = false;  // shutdown's grace is over: handlers still running are abandoned
  bool shutdown_begun = false;
  std::vector<std::string> released;        // claims handed back during shutdown
  std::vector<std::string> release_errors;  // claims that could not be

  static constexpr std::size_t kMaxKnownEtas = 10'000;

  // A local enqueue or reschedule to `eta`: remember it and make sure an idle worker
  // wakes by then.
  void note_eta(Timestamp eta);
  // Wakes one idle worker unless one wakes by `eta` anyway.
  void wake_for_locked(Timestamp eta);
  // Wakes up to `count` idle workers, for tasks waiting in `prefetched`.
  void wake_idle_locked(std::size_t count);
  // Stops dequeuing and wakes every sleeping loop so it can exit.
  void request_stop_locked();
  // A worker or the TTL loop is gone.
  void loop_exited_locked();

  // complete_task once the task is known (spec QUE-5 … QUE-9).
  Awaitable<void> finish(Task task, TaskOutcome outcome);
  // Reschedules a claimed task to now so that another queue picks it up (QUE-15).
  Awaitable<void> release_claim(std::string task_id);

  void report(const std::string& message) const;
};

using QueueState = AsyncTaskQueue::State;

// The loops the queue spawns.
Awaitable<void> run_worker(std::shared_ptr<QueueState> state, std::size_t index);
Awaitable<void> run_result_ttl(std::shared_ptr<QueueState> state);

}  // namespace taskstore::queue
