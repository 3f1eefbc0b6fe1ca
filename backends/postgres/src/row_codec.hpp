#pragma once
// Task and TaskResult <-> table columns. Reading checks every column's type and every
// enum's text, so a row damaged behind the backend's back raises CorruptionError naming
// the store, the operation and the task instead of yielding a made-up value. The column
// lists and the checks are shared with SQLite (taskstore/internal/sql_rows.hpp).

#include <string>

#include "connection.hpp"
#include "taskstore/internal/sql_rows.hpp"
#include "taskstore/task.hpp"

namespace taskstore::postgres {

using internal::result_columns;
using internal::task_columns;
using internal::task_insert_columns;

// The values of task_insert_columns(), as $1 ... $15.
Params task_params(const Task& task);
// A row read with task_columns().
Task read_task(const Connection& connection, const Result& result, int row);
// The seq column of a row read with task_columns(), even when the rest is damaged.
std::int64_t read_seq(const Connection& connection, const Result& result, int row);

// The values of result_columns(), as $1 ... $5.
Params result_params(const TaskResult& result);
// A row read with result_columns().
TaskResult read_result(const Connection& connection, const Result& result, int row);

}  // namespace taskstore::postgres
