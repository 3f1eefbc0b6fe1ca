#pragma once
// AsyncTaskQueue: a task queue with a worker pool, on any BaseStorage (spec section 2).
//
//   auto queue = AsyncTaskQueue(storage, io.get_executor(), {.workers = 8});
//   queue.register_handler("email.send", [](Task task) -> Awaitable<Bytes> { ... });
//   queue.start();
//   std::string id = co_await queue.enqueue("email.send", payload, {.max_retries = 3});
//   ...
//   co_await queue.shutdown(std::chrono::seconds(30));
//
// Each worker loops claim → handler → complete_task, claiming ahead in batches where the
// storage allows (QueueOptions::prefetch) and marking a task running when it starts one
// claimed ahead (QUE-17, QUE-18). Everything the
// queue knows lives in the storage, so several queues (in one process or many) may share
// one store, and a restarted queue carries on where a stopped one left off.

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "taskstore/queue/clock.hpp"
#include "taskstore/queue/enqueue_options.hpp"
#include "taskstore/queue/queue_options.hpp"
#include "taskstore/queue/task_outcome.hpp"
#include "taskstore/storage.hpp"

namespace taskstore::queue {

// Runs one task: gets the task as claimed (status RUNNING, attempts counting this run)
// and returns the result bytes, or throws to fail the run. It runs on the queue's
// executor; take the Task by value.
using TaskHandler = std::function<Awaitable<Bytes>(Task task)>;

struct ShutdownReport {
  // Tasks whose claims were handed back (rescheduled to now) because their handler was
  // still running at the deadline, or their claim raced with the stop.
  std::vector<std::string> released;
  // Claims that could not be released because the storage failed; the message says why.
  std::vector<std::string> errors;
};

class AsyncTaskQueue {
 public:
  // Workers and housekeeping run on `executor` (single- or multi-threaded). Throws
  // InvalidArgumentError for options QUE-16 rejects, std::invalid_argument for a null
  // storage.
  AsyncTaskQueue(std::shared_ptr<BaseStorage> storage, boost::asio::any_io_executor executor,
                 QueueOptions options = {});
  // Asks a running queue to stop without waiting: workers finish what they are doing and
  // exit. Call shutdown() for a clean stop.
  ~AsyncTaskQueue();

  AsyncTaskQueue(const AsyncTaskQueue&) = delete;
  AsyncTaskQueue& operator=(const AsyncTaskQueue&) = delete;

  // Registers the handler for tasks named `name`, before or after start(). Throws
  // InvalidArgumentError for an empty name, an empty handler or a name already taken.
  void register_handler(std::string name, TaskHandler handler);

  // Starts the workers (and the TTL loop, if configured). Throws std::logic_error if the
  // queue was started before.
  void start();

  // Stores a new PENDING task and returns its id (spec QUE-4), waking an idle worker if
  // it is due before any of them would look again (QUE-13). InvalidArgumentError for bad
  // options (QUE-16), ConflictError for an id already stored; nothing is stored then.
  Awaitable<std::string> enqueue(std::string name, Bytes payload, EnqueueOptions options = {});

  // Records the outcome of a run of `task_id` (spec QUE-1 … QUE-9): a success is marked
  // done; a failure is retried while attempts ≤ max_retries, else marked FAILED; an
  // interval task is then rescheduled to its next run. Without `task` the task is read
  // once with get_task (NotFoundError if unknown); with it, no storage read is made.
  Awaitable<void> complete_task(std::string task_id, TaskOutcome result,
                                std::optional<Task> task = std::nullopt);

  // Stops the queue (spec QUE-15): no more dequeues; in-flight handlers may finish until
  // now + grace on the queue clock; those still running are abandoned and their claims
  // released (rescheduled to now). Returns when every worker has stopped or been
  // abandoned. A second call returns at once with an empty report.
  Awaitable<ShutdownReport> shutdown(Duration grace);

  // True once shutdown() (or the destructor) has asked the queue to stop, so a
  // long-running handler can give up early.
  bool stopping() const;

  QueueClock& clock() const;
  BaseStorage& storage() const;

  class State;  // shared with the workers, which may outlive the queue object

 private:
  std::shared_ptr<State> state_;
};

}  // namespace taskstore::queue
