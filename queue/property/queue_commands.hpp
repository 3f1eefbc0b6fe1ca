#pragma once
// Model-based property tests of AsyncTaskQueue (spec section 2) on any registered backend,
// built on the storage property tests' seam (taskstore/conformance/property/storage_commands.hpp):
// random sequences mix the nine storage commands with the queue's own commands
//
//   queue.enqueue(name, payload, options)       QUE-4, QUE-16
//   worker_step(handler plan)                   a worker's dequeue → handler →
//                                               complete_task (QUE-5 … QUE-9, QUE-18)
//   run_workers(handler plan)                   a started queue's own workers, prefetching,
//                                               until all sleep (QUE-10, QUE-12, QUE-17,
//                                               QUE-18)
//   queue.complete_task(id, outcome, task)      QUE-2, QUE-5 … QUE-9, QUE-16
//   queue.complete_task(id, outcome)            QUE-1, QUE-3, QUE-5 … QUE-9, QUE-16
//   worker_sleeps_until_next_eta()              moves the clock to the next eta
//
// The model stays the storage's ReferenceModel: each queue command says what the queue
// must do to the store as a list of storage calls (the model's operations), which the
// model plays; the step then compares the calls the queue made (through a CountingStorage),
// its answer, and every task and result in the store with the model. A difference fails
// the case naming the requirement it breaks ("QUE-8 violated ..."), so the minimal failing
// sequence reads with the ID.
//
// This is test code for the queue, not part of taskstore::conformance (which must not
// depend on the queue).

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "taskstore/conformance/counting_storage.hpp"
#include "taskstore/conformance/property/property.hpp"
#include "taskstore/conformance/registry.hpp"
#include "taskstore/conformance/property/storage_commands.hpp"
#include "taskstore/conformance/property/store_under_test.hpp"
#include "taskstore/queue/async_task_queue.hpp"
#include "taskstore/queue/manual_clock.hpp"

namespace taskstore::queue::property {

namespace tc = taskstore::conformance;

// Puts something between the queue and the store (a seeded bug, for the self-test). The
// property's checks read the store itself, as the storage commands do.
using StoreDecorator =
    std::function<std::shared_ptr<BaseStorage>(std::shared_ptr<BaseStorage> store)>;

// The system under test: a fresh store of one backend (StoreUnderTest, whose clock the
// storage commands move) and an AsyncTaskQueue over it, not started (no worker runs on
// its own: worker_step does what a worker does, one task at a time), on a ManualClock
// that each queue command sets to the model's clock. The queue reaches the store through
// a CountingStorage (and the wrapper, if any), so each step sees which calls it made.
// run_workers starts a second queue on the same store and clock, whose workers do run.
class QueueSystem {
 public:
  // The workers of run_workers' queue, and the prefetch buffer they share (QUE-17).
  static constexpr std::size_t kWorkers = 2;
  static constexpr std::size_t kPrefetch = 2;
  // The task names run_workers' queue has handlers for (queue.enqueue's names); a task
  // with any other name fails for good when a worker runs it (QUE-10).
  static bool has_handler(const std::string& name) { return name == "job" || name == "mail.send"; }

  QueueSystem(const tc::Backend& backend, Timestamp start, const StoreDecorator& wrap = {});
  ~QueueSystem();

  QueueSystem(const QueueSystem&) = delete;
  QueueSystem& operator=(const QueueSystem&) = delete;

  // The seam: storage commands run on this.
  tc::StoreUnderTest& storage() { return store_; }
  AsyncTaskQueue& queue() { return *queue_; }
  // The store as the queue sees it, recording every call.
  tc::CountingStorage& calls() { return *counting_; }

  // Moves the queue's clock forward to `now`, the model's clock (which never goes back).
  void sync_clock(Timestamp now);

  // Runs `handler` on `task` as a worker does (workers.cpp): its bytes are a success; a
  // std::exception its what(), anything else a fixed text, is a failure (QUE-11).
  TaskOutcome run_handler(const TaskHandler& handler, Task task);

  // What run_workers saw.
  struct WorkersRun {
    bool went_idle = false;  // every worker came to sleep on the clock in time
    ShutdownReport shutdown;  // of the queue, stopped once its workers slept
    // The ids each claim returned, one list per dequeue or dequeue_batch, in the order the
    // claims returned.
    std::vector<std::vector<std::string>> claims;
  };
  // Starts a queue of kWorkers workers with prefetch kPrefetch on this store (through the
  // CountingStorage, which records its calls) and clock, with `handler` for every name
  // has_handler() knows; runs it until every worker sleeps on the clock, so nothing is left
  // that they could do at its now, or until `timeout` has passed; then shuts it down.
  WorkersRun run_workers(const TaskHandler& handler, std::chrono::milliseconds timeout);

  // How many queue steps ended under each rule ("QUE-6") and how many reschedules each
  // rule timed ("QUE-8 reschedule"), for the run's summary.
  std::map<std::string, std::size_t> tally;

 private:
  // The options of both queues (the unstarted one's workers never run).
  QueueOptions queue_options() const;

  tc::StoreUnderTest store_;
  boost::asio::io_context io_;  // the queue's executor (never run) and the handlers'
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<tc::CountingStorage> counting_;
  std::unique_ptr<AsyncTaskQueue> queue_;
};

// The queue's source of jitter: a fixed draw from [lo, hi], hi − (hi − lo) / 3, which the
// model computes too. It tells equal jitter ([d/2, d]) from full jitter ([0, d]).
std::int64_t fixed_jitter_draw(std::int64_t lo, std::int64_t hi);

// The failure text a worker records for a handler that throws something that is not a
// std::exception (workers.cpp).
inline constexpr const char* kNonStandardException =
    "the handler threw an exception that is not a std::exception";

using QueueCommand = rc::state::Command<tc::ReferenceModel, QueueSystem>;

// The generator function for rc::state: the storage commands and the queue's, mixed.
std::function<rc::Gen<std::shared_ptr<const QueueCommand>>(const tc::ReferenceModel&)>
queue_commands(tc::GenerationOptions options);

// `runs` random sequences (up to 60 steps) of the storage and queue commands, each on a
// fresh store of `backend` with a fresh queue, every step compared with the model.
tc::PropertyVerdict check_queue_against_model(const tc::Backend& backend, int runs,
                                              const StoreDecorator& wrap = {});

}  // namespace taskstore::queue::property
