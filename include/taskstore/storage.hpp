#pragma once
// BaseStorage: the asynchronous contract every task-queue storage backend implements.
// Each comment below is the contract for that operation; spec/requirements.md gives every
// rule a stable ID, and the conformance suite checks them on any backend.

#include <cstddef>
#include <optional>
#include <string>

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

  // Persists a new PENDING task exactly as given and returns its id. It becomes due once
  // now >= eta. Throws ConflictError if the id exists, InvalidArgumentError for a task
  // validate_new_task rejects.
  virtual Awaitable<std::string> enqueue(Task task) = 0;

  // Atomically claims the due task (PENDING, eta <= now) with the earliest eta, ties in
  // enqueue order: it becomes RUNNING, attempts += 1, updated_at = now, and is returned
  // as it now stands. Returns nullopt if nothing is due. No two calls, from any thread or
  // process sharing the store, return the same claim.
  virtual Awaitable<std::optional<Task>> dequeue(Timestamp now) = 0;

  // Sets RUNNING and refreshes updated_at; attempts is unchanged. NotFoundError if unknown.
  virtual Awaitable<void> mark_running(std::string task_id) = 0;

  // Persists `result` (status SUCCESS, task_id matching), replacing any earlier result,
  // and sets the task to SUCCESS. NotFoundError if unknown (and no result is stored).
  virtual Awaitable<void> mark_done(std::string task_id, TaskResult result) = 0;

  // The stored result of the task, or nullopt if it has none or the id is unknown.
  virtual Awaitable<std::optional<TaskResult>> get_result(std::string task_id) = 0;

  // Removes every result whose finished_at is strictly before `older_than` and returns
  // how many it removed. Tasks are not touched.
  virtual Awaitable<std::size_t> purge_results(Timestamp older_than) = 0;

  // Records `error` as last_error. With will_retry the task becomes RETRYING, which is
  // never due until rescheduled; without, it becomes FAILED and a FAILED TaskResult
  // carrying the error is stored. NotFoundError if unknown.
  virtual Awaitable<void> mark_failed(std::string task_id, std::string error,
                                      bool will_retry = true) = 0;

  // The task as stored, or nullopt if the id is unknown. StorageError if it can't be read.
  virtual Awaitable<std::optional<Task>> get_task(std::string task_id) = 0;

  // From any status: eta = new_eta and status PENDING; attempts, max_retries, retry
  // policy, last_error and schedule are kept. Not due before new_eta. NotFoundError if
  // unknown.
  virtual Awaitable<void> reschedule(std::string task_id, Timestamp new_eta) = 0;
};

}  // namespace taskstore
