#pragma once
// The SQL of each storage operation, run synchronously on one connection. Inputs are
// already validated; every mutation is one BEGIN IMMEDIATE transaction, retried as a
// whole while the database is busy.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "connection.hpp"
#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::sqlite {

// ConflictError if the id exists (the stored task is untouched).
void insert_task(Connection& connection, const Task& task);

// Claims the due task with the earliest (eta, seq): RUNNING, attempts + 1, updated_at = now.
std::optional<Task> claim_due_task(Connection& connection, Timestamp now);

// Claims up to `max` due tasks in claim order, in one write transaction (the caller's,
// when it has one), so a failure leaves none of them claimed.
std::vector<Task> claim_due_tasks(Connection& connection, Timestamp now, std::size_t max);

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

}  // namespace taskstore::sqlite
