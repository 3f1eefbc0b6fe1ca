#pragma once
// How the PostgreSQL backend commits a group of write operations: all of them in one
// BEGIN ... COMMIT on one connection, so concurrent callers share one WAL flush and, for
// the operations a queue makes most, one statement of each kind; an
// operation that fails (an unknown id, a duplicate, a damaged row) leaves no trace and the
// others commit.

#include <span>

#include "group_session.hpp"
#include "taskstore/internal/group_commit.hpp"

namespace taskstore::postgres {

using WriteOperation = GroupCommit<GroupSession>::Operation;

// Applies `group` on `connection` and commits it: the claims, mark_running and mark_done
// among them in batches (group_session.hpp), the rest in arrival order. On return every operation
// either succeeded and is committed, or has its own error. A deadlock with another
// process's transaction reruns the whole group; should BEGIN or COMMIT fail (the server is
// gone), every operation not failed on its own fails with that error, since none of them
// is known to be durable.
void commit_write_group(Connection& connection, std::span<WriteOperation* const> group);

}  // namespace taskstore::postgres
