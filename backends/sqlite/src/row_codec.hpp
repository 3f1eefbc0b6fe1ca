#pragma once
// Task and TaskResult <-> table columns. Reading checks every column's storage type and
// every enum's text, so a row damaged behind the backend's back raises CorruptionError
// naming the database, the operation and the task instead of yielding a made-up value.

#include <string>

#include "connection.hpp"
#include "taskstore/task.hpp"

namespace taskstore::sqlite {

// The task columns every SELECT or RETURNING lists, in the order read_task expects.
const std::string& task_columns();
// The insertable task columns (all but seq), bound by bind_task as ?1 ... ?15.
const std::string& task_insert_columns();
void bind_task(Statement& stmt, const Task& task);
Task read_task(const Statement& stmt);

// The result columns every SELECT lists, in the order read_result expects; bind_result
// binds them as ?1 ... ?5.
const std::string& result_columns();
void bind_result(Statement& stmt, const TaskResult& result);
TaskResult read_result(const Statement& stmt);

}  // namespace taskstore::sqlite
