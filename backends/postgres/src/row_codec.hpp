#pragma once
// Task and TaskResult <-> table columns. Reading checks every column's type and every
// enum's text, so a row damaged behind the backend's back raises CorruptionError naming
// the store, the operation and the task instead of yielding a made-up value.

#include <string>

#include "connection.hpp"
#include "taskstore/task.hpp"

namespace taskstore::postgres {

// The task columns every SELECT or RETURNING lists, in the order read_task expects
// (seq first).
const std::string& task_columns();
// The insertable task columns (all but seq), whose values task_params gives as $1 ... $15.
const std::string& task_insert_columns();
Params task_params(const Task& task);
Task read_task(const Connection& connection, const Result& result, int row);
// The seq column of a row read with task_columns(), even when the rest is damaged.
std::int64_t read_seq(const Connection& connection, const Result& result, int row);

// The result columns every SELECT lists, in the order read_result expects; result_params
// gives them as $1 ... $5.
const std::string& result_columns();
Params result_params(const TaskResult& result);
TaskResult read_result(const Connection& connection, const Result& result, int row);

}  // namespace taskstore::postgres
