#pragma once
// Task and TaskResult <-> table columns. Reading checks every column's storage type and
// every enum's text, so a row damaged behind the backend's back raises CorruptionError
// naming the database, the operation and the task instead of yielding a made-up value.
// The column lists and the checks are shared with PostgreSQL (taskstore/internal/sql_rows.hpp).

#include <string>

#include "connection.hpp"
#include "taskstore/internal/sql_rows.hpp"
#include "taskstore/task.hpp"

namespace taskstore::sqlite {

using internal::result_columns;
using internal::task_columns;
using internal::task_insert_columns;

// Binds task_insert_columns() as ?1 ... ?15.
void bind_task(Statement& stmt, const Task& task);
// A row read with task_columns().
Task read_task(const Statement& stmt);

// Binds result_columns() as ?1 ... ?5.
void bind_result(Statement& stmt, const TaskResult& result);
// A row read with result_columns().
TaskResult read_result(const Statement& stmt);

}  // namespace taskstore::sqlite
