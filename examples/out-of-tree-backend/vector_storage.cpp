#include "vector_storage.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "taskstore/errors.hpp"
#include "taskstore/validation.hpp"

namespace vector_example {

using taskstore::Awaitable;
using taskstore::Task;
using taskstore::TaskResult;
using taskstore::TaskStatus;
using taskstore::Timestamp;

VectorStorage::VectorStorage(taskstore::Clock clock)
    : clock_(clock ? std::move(clock) : taskstore::system_clock()) {}

// --- The contract's nine operations -------------------------------------------------------

Awaitable<std::string> VectorStorage::enqueue(Task task) {
  co_return do_enqueue(std::move(task));
}

Awaitable<std::optional<Task>> VectorStorage::dequeue(Timestamp now) {
  co_return do_dequeue(now);
}

Awaitable<void> VectorStorage::mark_running(std::string task_id) {
  do_mark_running(task_id);
  co_return;
}

Awaitable<void> VectorStorage::mark_done(std::string task_id, TaskResult result) {
  do_mark_done(task_id, std::move(result));
  co_return;
}

Awaitable<std::optional<TaskResult>> VectorStorage::get_result(std::string task_id) {
  co_return do_get_result(task_id);
}

Awaitable<std::size_t> VectorStorage::purge_results(Timestamp older_than) {
  co_return do_purge_results(older_than);
}

Awaitable<void> VectorStorage::mark_failed(std::string task_id, std::string error,
                                           bool will_retry) {
  do_mark_failed(task_id, std::move(error), will_retry);
  co_return;
}

Awaitable<std::optional<Task>> VectorStorage::get_task(std::string task_id) {
  co_return do_get_task(task_id);
}

Awaitable<void> VectorStorage::reschedule(std::string task_id, Timestamp new_eta) {
  do_reschedule(task_id, new_eta);
  co_return;
}

// --- The work -------------------------------------------------------------------------
// Input is checked before the lock is taken and before anything changes (ENQ-4, ENQ-5,
// DONE-3), with taskstore's shared checks so the messages match every other backend. The
// clock is read before anything changes too, so a clock that throws leaves the store as
// it was.

std::string VectorStorage::do_enqueue(Task task) {
  taskstore::validate_new_task(task);  // id, name, PENDING, counters, delays, interval
  std::lock_guard lock(mutex_);
  if (find_task(task.id) != nullptr) {
    throw taskstore::ConflictError("enqueue: task '" + task.id +
                                   "' already exists in vector store");
  }
  tasks_.push_back(std::move(task));  // stored exactly as given (RT-1)
  return tasks_.back().id;
}

std::optional<Task> VectorStorage::do_dequeue(Timestamp now) {
  std::lock_guard lock(mutex_);
  // Due: PENDING with eta <= now (DEQ-3). The earliest eta wins; on a tie the first in
  // the vector, which is the first enqueued, since a reschedule never moves a task
  // (DEQ-4). RETRYING, RUNNING and finished tasks are passed over (DEQ-8, FAIL-2).
  Task* claim = nullptr;
  for (Task& task : tasks_) {
    if (task.status != TaskStatus::PENDING || task.eta > now) continue;
    if (claim == nullptr || task.eta < claim->eta) claim = &task;
  }
  if (claim == nullptr) return std::nullopt;  // DEQ-2
  // The claim happens under the same lock as the search, so no other dequeue, on any
  // thread, can return it too (DEQ-6, CON-2). DEQ-5: RUNNING, one more attempt (never
  // past the int32 maximum), updated_at = now.
  claim->status = TaskStatus::RUNNING;
  if (claim->attempts < std::numeric_limits<std::int32_t>::max()) claim->attempts += 1;
  claim->updated_at = now;
  return *claim;
}

void VectorStorage::do_mark_running(const std::string& id) {
  taskstore::validate_task_id("mark_running", id);
  std::lock_guard lock(mutex_);
  Task& task = must_find_task("mark_running", id);
  const Timestamp now = clock_();
  task.status = TaskStatus::RUNNING;  // attempts stays as the claim left it (RUN-2)
  task.updated_at = now;
}

void VectorStorage::do_mark_done(const std::string& id, TaskResult result) {
  taskstore::validate_task_id("mark_done", id);
  taskstore::validate_success_result(id, result);  // SUCCESS, and for this task (DONE-3)
  std::lock_guard lock(mutex_);
  Task& task = must_find_task("mark_done", id);  // no orphan result (ERR-1)
  const Timestamp now = clock_();
  put_result(std::move(result));  // replaces an earlier result (DONE-2)
  task.status = TaskStatus::SUCCESS;
  task.updated_at = now;
}

std::optional<TaskResult> VectorStorage::do_get_result(const std::string& id) {
  taskstore::validate_task_id("get_result", id);
  std::lock_guard lock(mutex_);
  const auto it = std::find_if(results_.begin(), results_.end(),
                               [&](const TaskResult& result) { return result.task_id == id; });
  if (it == results_.end()) return std::nullopt;  // RES-2
  return *it;
}

std::size_t VectorStorage::do_purge_results(Timestamp older_than) {
  std::lock_guard lock(mutex_);
  // Strictly before the cutoff (PUR-2); tasks stay (PUR-3).
  return std::erase_if(results_,
                       [&](const TaskResult& result) { return result.finished_at < older_than; });
}

void VectorStorage::do_mark_failed(const std::string& id, std::string error, bool will_retry) {
  taskstore::validate_task_id("mark_failed", id);
  std::lock_guard lock(mutex_);
  Task& task = must_find_task("mark_failed", id);
  const Timestamp now = clock_();
  if (!will_retry) {
    // FAIL-3: FAILED, with a FAILED result carrying the error, stamped by our clock.
    TaskResult failed{.task_id = id,
                      .status = TaskStatus::FAILED,
                      .value = {},
                      .error = error,
                      .finished_at = now};
    put_result(std::move(failed));
  }
  task.status = will_retry ? TaskStatus::RETRYING : TaskStatus::FAILED;  // FAIL-1
  task.last_error = std::move(error);
  task.updated_at = now;
}

std::optional<Task> VectorStorage::do_get_task(const std::string& id) {
  taskstore::validate_task_id("get_task", id);
  std::lock_guard lock(mutex_);
  const Task* task = find_task(id);
  if (task == nullptr) return std::nullopt;  // GET-2
  return *task;
}

void VectorStorage::do_reschedule(const std::string& id, Timestamp new_eta) {
  taskstore::validate_task_id("reschedule", id);
  std::lock_guard lock(mutex_);
  Task& task = must_find_task("reschedule", id);  // RSC-2
  const Timestamp now = clock_();
  // From any status (RSC-6); attempts, max_retries, retry policy, last_error and the
  // schedule are left alone. The task keeps its place in the vector, so its enqueue order.
  task.status = TaskStatus::PENDING;
  task.eta = new_eta;
  task.updated_at = now;
}

// --- Lookups (mutex_ held) ------------------------------------------------------------

Task* VectorStorage::find_task(const std::string& id) {
  const auto it =
      std::find_if(tasks_.begin(), tasks_.end(), [&](const Task& task) { return task.id == id; });
  return it == tasks_.end() ? nullptr : &*it;
}

Task& VectorStorage::must_find_task(std::string_view operation, const std::string& id) {
  Task* task = find_task(id);
  if (task == nullptr) {
    // ERR-2: the operation and the id, and which store.
    throw taskstore::NotFoundError(std::string(operation) + ": task '" + id +
                                   "' not found in vector store");
  }
  return *task;
}

void VectorStorage::put_result(TaskResult result) {
  const auto it = std::find_if(results_.begin(), results_.end(), [&](const TaskResult& stored) {
    return stored.task_id == result.task_id;
  });
  if (it == results_.end()) {
    results_.push_back(std::move(result));
  } else {
    *it = std::move(result);
  }
}

}  // namespace vector_example
