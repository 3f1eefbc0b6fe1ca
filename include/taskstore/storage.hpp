#pragma once
// BaseStorage: the asynchronous contract every task-queue storage backend implements.
// Each comment below is the contract for that operation in short, with the IDs of its
// rules in spec/requirements.md (the full text) and every error it may raise. The
// conformance suite checks the rules on any backend. For every operation: the caller
// resumes on its own executor (ASY-1), and concurrent calls through one instance all take
// effect (CON-1).
//
// Errors (taskstore/errors.hpp) all derive from StorageError, and their messages name the
// operation and the task id (ERR-2):
//  - InvalidArgumentError: bad input; nothing is changed. Every operation that takes an
//    id raises it for a malformed id (empty, over 100 bytes, invalid UTF-8, with NUL),
//    get_task and get_result included (ENQ-5).
//  - NotFoundError: a write named an id the store does not hold; nothing is left behind
//    (ERR-1).
//  - ConflictError: enqueue of an id the store already holds (ENQ-3).
//  - CorruptionError: a stored form the operation had to read is damaged (a truncated
//    file, a column of the wrong type); the message names the file or row.
//  - StorageError itself: the store could not be read or written (I/O, database or server
//    failure, a lock held past the retry budget).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "taskstore/errors.hpp"
#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore {

template <typename T>
using Awaitable = boost::asio::awaitable<T>;

class BaseStorage {
 public:
  virtual ~BaseStorage() = default;

  BaseStorage() = default;
  BaseStorage(const BaseStorage&) = delete;
  BaseStorage& operator=(const BaseStorage&) = delete;

  // Persists a new PENDING task exactly as given and returns its id (ENQ-1, RT-1). It
  // becomes due once now >= eta (ENQ-2).
  // Errors: InvalidArgumentError, with nothing stored, for a task validate_new_task rejects
  // (ENQ-4), a malformed id included (ENQ-5); ConflictError if the id exists, the stored
  // task left as it was (ENQ-3); CorruptionError if the store's own stored form is damaged;
  // StorageError on an I/O or database failure.
  virtual Awaitable<std::string> enqueue(Task task) = 0;

  // Atomically claims the due task (PENDING, eta <= now; DEQ-3, DEQ-8) with the earliest
  // eta, ties in enqueue order (DEQ-1, DEQ-4): it becomes RUNNING, attempts += 1,
  // updated_at = now, and is returned as it now stands (DEQ-5). Returns nullopt if nothing
  // is due (DEQ-2). No two calls, from any thread or process sharing the store, return the
  // same claim (DEQ-6, DEQ-7, CON-2, CON-3).
  // Errors: a damaged due task raises nothing here: it is passed over and left in place
  // (DEQ-9). CorruptionError only if the store's own stored form is damaged; StorageError
  // on an I/O or database failure.
  virtual Awaitable<std::optional<Task>> dequeue(Timestamp now) = 0;

  // Optional capability `batch_claims` (BAT-1..BAT-6): whether dequeue_batch claims many
  // tasks in one atomic step. A backend that offers it overrides both functions; callers
  // (the queue's prefetch) ask before they use it.
  virtual bool claims_batches() const { return false; }

  // Claims the first `max` due tasks at once, each exactly as dequeue(now) would (BAT-2):
  // with no other claim in flight, the tasks `max` dequeue(now) calls in a row would
  // return, in that order (BAT-1); fewer if fewer are due, none if none is (BAT-3). No two
  // claims, batch or single, from any thread or process, return the same task (BAT-4). A
  // damaged due task is passed over and left in place (BAT-5). All or nothing: if it
  // raises, none of its tasks is left claimed (BAT-6).
  // Errors: InvalidArgumentError, claiming nothing, for max outside 1..kMaxBatchClaim
  // (BAT-3); NotSupportedError from a backend without the capability (the default);
  // CorruptionError only if the store's own stored form is damaged; StorageError on an I/O
  // or database failure.
  static constexpr std::size_t kMaxBatchClaim = 10000;
  virtual Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max);

  // Sets RUNNING and refreshes updated_at (RUN-1); attempts is unchanged (RUN-2).
  // Errors: InvalidArgumentError for a malformed id (ENQ-5); NotFoundError if unknown
  // (ERR-1); CorruptionError if the stored task is damaged; StorageError on an I/O or
  // database failure.
  virtual Awaitable<void> mark_running(std::string task_id) = 0;

  // Persists `result` exactly as given, replacing any earlier result, and sets the task to
  // SUCCESS (DONE-1, DONE-2, RT-2).
  // Errors: InvalidArgumentError, changing nothing, for a malformed id (ENQ-5) or a
  // result whose status is not SUCCESS or whose task_id differs (DONE-3); NotFoundError
  // if unknown, and no result is stored (ERR-1); CorruptionError if the stored task is
  // damaged; StorageError on an I/O or database failure.
  virtual Awaitable<void> mark_done(std::string task_id, TaskResult result) = 0;

  // The stored result of the task (RES-1, RT-2), or nullopt if it has none or the id is
  // unknown (RES-2): an unknown id is not an error here.
  // Errors: InvalidArgumentError for a malformed id (ENQ-5); CorruptionError if the stored
  // result is damaged; StorageError on an I/O or database failure.
  virtual Awaitable<std::optional<TaskResult>> get_result(std::string task_id) = 0;

  // Removes every result whose finished_at is strictly before `older_than` (PUR-2) and
  // returns exactly how many it removed (PUR-1, PUR-4). Tasks are not touched (PUR-3). A
  // damaged result never stops it: the others are still removed (PUR-5).
  // Errors: CorruptionError only if the store's own stored form is damaged; StorageError on
  // an I/O or database failure.
  virtual Awaitable<std::size_t> purge_results(Timestamp older_than) = 0;

  // Records `error` as last_error. With will_retry (the default, FAIL-4) the task becomes
  // RETRYING, which is never due until rescheduled (FAIL-1, FAIL-2); without, it becomes
  // FAILED and a FAILED TaskResult carrying the error is stored (FAIL-3).
  // Errors: InvalidArgumentError for a malformed id (ENQ-5); NotFoundError if unknown, and
  // nothing is stored (ERR-1); CorruptionError if the stored task is damaged; StorageError
  // on an I/O or database failure.
  virtual Awaitable<void> mark_failed(std::string task_id, std::string error,
                                      bool will_retry = true) = 0;

  // The task as stored (GET-1, GET-4, GET-5, RT-1), or nullopt if the id is unknown
  // (GET-2).
  // Errors: InvalidArgumentError for a malformed id (ENQ-5); CorruptionError, naming the
  // file or row, if the stored task is damaged, never a made-up task (GET-3); StorageError
  // on an I/O or database failure.
  virtual Awaitable<std::optional<Task>> get_task(std::string task_id) = 0;

  // From any status: eta = new_eta and status PENDING (RSC-1, RSC-4, RSC-5); attempts,
  // max_retries, retry policy, last_error and schedule are kept (RSC-6). Not due before
  // new_eta (RSC-7).
  // Errors: InvalidArgumentError for a malformed id (ENQ-5); NotFoundError if unknown
  // (RSC-2, ERR-1); CorruptionError if the stored task is damaged, and StorageError on an
  // I/O or database failure, neither making the task due (RSC-3).
  virtual Awaitable<void> reschedule(std::string task_id, Timestamp new_eta) = 0;
};

// Out of line: a coroutine, so the error reaches the caller when it awaits, as any other
// operation's does.
inline Awaitable<std::vector<Task>> BaseStorage::dequeue_batch(Timestamp now, std::size_t max) {
  (void)now;
  (void)max;
  throw NotSupportedError("dequeue_batch: this store does not claim batches (capability "
                          "batch_claims); call dequeue once per task");
  co_return std::vector<Task>{};
}

}  // namespace taskstore
