#pragma once
// How the SQLite backend commits a group of write operations: all of them in one
// BEGIN IMMEDIATE ... COMMIT, where an operation that fails (an unknown id, a duplicate,
// a damaged row) leaves no trace and the others commit.

#include <span>

#include "connection.hpp"
#include "taskstore/internal/group_commit.hpp"

namespace taskstore::sqlite {

using WriteOperation = GroupCommit<Connection>::Operation;

// Applies `group` in order on `connection` and commits it. On return every operation
// either succeeded and is committed, or has its own error. While the database is locked
// the whole group is retried (as a single write would be); should the commit itself fail,
// every operation fails with that error, since none of them is known to be durable.
void commit_write_group(Connection& connection, std::span<WriteOperation* const> group);

}  // namespace taskstore::sqlite
