#include "write_group.hpp"

#include <vector>

#include "taskstore/internal/group_failure.hpp"

namespace taskstore::sqlite {

namespace {

enum class Attempt { committed, restart };

// One try at the group. Most failures (an unknown id, a duplicate, a damaged row) happen
// before the operation has written anything, so they need no undo, and the group goes on
// without savepoints, which would cost two statements per operation. An operation that
// fails after writing (SQLite's change counter moved), or whose failure took the whole
// transaction with it (SQLite rolls back by itself after e.g. SQLITE_FULL), is marked
// `excluded` and the group starts over without it.
Attempt try_group(Connection& connection, std::span<WriteOperation* const> group,
                  std::vector<bool>& excluded) {
  const std::size_t live = internal::kept_in_group(excluded);
  // Errors outside any one operation (BEGIN, COMMIT) name the operation when it is alone.
  auto name_for_commit = [&] {
    if (live != 1) return connection.set_operation("commit");
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!excluded[i]) connection.set_operation(group[i]->name(), group[i]->task_id());
    }
  };

  name_for_commit();
  Transaction transaction(connection);
  bool any_succeeded = false;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (excluded[i]) continue;
    WriteOperation& operation = *group[i];
    operation.reset();
    connection.set_operation(operation.name(), operation.task_id());
    const auto changes_before = sqlite3_total_changes64(connection.native());
    try {
      operation.apply(connection);
      any_succeeded = true;
    } catch (const BusyError&) {
      throw;  // the group as a whole waits and runs again
    } catch (...) {
      operation.fail(std::current_exception());
      if (!connection.in_transaction() ||
          sqlite3_total_changes64(connection.native()) != changes_before) {
        excluded[i] = true;
        return Attempt::restart;  // the destructor rolls back what the group did so far
      }
    }
  }
  if (!any_succeeded) return Attempt::committed;  // nothing to keep: the destructor rolls back
  name_for_commit();
  transaction.commit();
  return Attempt::committed;
}

}  // namespace

void commit_write_group(Connection& connection, std::span<WriteOperation* const> group) {
  std::vector<bool> excluded(group.size(), false);
  try {
    connection.retry_busy([&] {
      while (try_group(connection, group, excluded) == Attempt::restart) {
      }
    });
  } catch (...) {
    // Locked for good, or BEGIN/COMMIT failed: nothing the group did is durable.
    internal::fail_sql_group(group, excluded);
  }
}

}  // namespace taskstore::sqlite
