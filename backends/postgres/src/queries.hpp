#pragma once
// The SQL of each storage operation, run synchronously on one connection. Inputs are
// already validated. The semantics are SqliteStorage's (backends/sqlite/src/queries.cpp)
// in PostgreSQL's dialect: every mutation of an existing task reads and locks the row
// first, so an unknown id or a damaged row fails before anything is written.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connection.hpp"
#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::postgres {

// ConflictError if the id exists (the stored task is untouched).
void insert_task(Connection& connection, const Task& task);

// The error of an operation (the connection's current one) that names an unknown task.
NotFoundError not_found(const Connection& connection, const std::string& task_id);

// Thrown by an operation that wrote and must be undone, then run again (with what it
// learned, e.g. a damaged row to pass over): the group commit rolls back and reruns.
struct UndoAndRetry {};

// Claims the due task with the earliest (eta, seq): RUNNING, attempts + 1, updated_at = now.
// Runs inside the caller's transaction. Rows in `damaged` are passed over; a claimed row
// that fails to decode is added to it and UndoAndRetry is thrown.
std::optional<Task> claim_due_task(Connection& connection, Timestamp now,
                                   std::vector<std::int64_t>& damaged);

// Claims up to `max` due tasks in one statement, returned in claim order; otherwise as
// claim_due_task. Rows other transactions hold locked are passed over (SKIP LOCKED), so
// a batch may come back short while another claim is in flight.
std::vector<Task> claim_due_tasks(Connection& connection, Timestamp now, std::size_t max,
                                  std::vector<std::int64_t>& damaged);

std::optional<Task> find_task(Connection& connection, const std::string& task_id);
std::optional<TaskResult> find_result(Connection& connection, const std::string& task_id);

// Each raises NotFoundError for an unknown id and CorruptionError for a damaged row,
// having changed nothing.
void set_running(Connection& connection, const std::string& task_id, Timestamp now);
void complete_task(Connection& connection, const std::string& task_id, const TaskResult& result,
                   Timestamp now);
void fail_task(Connection& connection, const std::string& task_id, const std::string& error,
               bool will_retry, Timestamp now);
void set_eta(Connection& connection, const std::string& task_id, Timestamp eta, Timestamp now);

std::size_t delete_results_before(Connection& connection, Timestamp older_than);

}  // namespace taskstore::postgres
