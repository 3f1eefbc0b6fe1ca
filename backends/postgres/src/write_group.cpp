#include "write_group.hpp"

#include <exception>
#include <string>
#include <vector>

#include "queries.hpp"
#include "taskstore/internal/group_failure.hpp"

namespace taskstore::postgres {

namespace {

enum class Attempt { committed, restart };

// Reruns of a whole group after PostgreSQL broke a deadlock by aborting it: rows locked
// in different orders by two processes' groups. Each rerun is a fresh transaction, and
// a deadlock needs another process to take part, so a handful is plenty.
constexpr int kDeadlockReruns = 10;

bool deadlocked(const Connection& connection) {
  const std::string& state = connection.last_sqlstate();
  return state == "40P01" || state == "40001";  // deadlock_detected, serialization_failure
}

// One try at the group. An operation's own failure (unknown id, duplicate, damaged row
// found while reading) happens before it writes, so it needs no undo and the group goes
// on without savepoints, which would cost two round trips per operation. An operation
// that fails after writing (the connection's write count moved), or whose failure aborted
// the transaction on the server, is `excluded` and the group starts over without it.
Attempt try_group(GroupSession& session, std::span<WriteOperation* const> group,
                  std::vector<bool>& excluded, bool& batching) {
  Connection& connection = session.connection();
  const std::size_t live = internal::kept_in_group(excluded);
  // BEGIN's and COMMIT's errors name the operation when it is alone.
  auto name_for_commit = [&] {
    if (live != 1) return connection.set_operation("commit");
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!excluded[i]) connection.set_operation(group[i]->name(), group[i]->task_id());
    }
  };

  name_for_commit();
  struct Direct {
    GroupSession& session;
    ~Direct() { session.stop_batching(); }
  } direct_after{session};
  bool begun = false;
  if (batching) {
    std::size_t batchable = 0;
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!excluded[i] && GroupSession::batchable(group[i]->name())) ++batchable;
    }
    if (batchable > 0) {
      try {
        session.start_planning();
        for (std::size_t i = 0; i < group.size(); ++i) {
          if (excluded[i] || !GroupSession::batchable(group[i]->name())) continue;
          group[i]->reset();
          group[i]->apply(session);  // records its request only
        }
        session.run_batches();  // opens the transaction
        begun = true;
      } catch (const UndoAndRetry&) {
        connection.rollback_if_open();
        return Attempt::restart;  // a claimed row was damaged: run again passing over it
      } catch (...) {
        if (connection.transaction_failed() && deadlocked(connection)) throw;  // whole group
        // Any other failure of a batch (the server rejected a statement): run the group
        // again one operation at a time, which pins the failure on its operation.
        connection.rollback_if_open();
        batching = false;
        return Attempt::restart;
      }
    }
  }
  if (!begun) connection.begin();
  bool any_succeeded = false;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (excluded[i]) continue;
    WriteOperation& operation = *group[i];
    operation.reset();
    connection.set_operation(operation.name(), operation.task_id());
    const std::uint64_t writes_before = connection.writes();
    try {
      operation.apply(session);
      any_succeeded = true;
    } catch (const UndoAndRetry&) {
      connection.rollback_if_open();
      return Attempt::restart;  // the operation learned what to avoid; all run again
    } catch (...) {
      if (connection.transaction_failed() && deadlocked(connection)) throw;  // whole group
      operation.fail(std::current_exception());
      if (connection.transaction_failed() || connection.writes() != writes_before) {
        excluded[i] = true;
        connection.rollback_if_open();
        return Attempt::restart;
      }
    }
  }
  if (!any_succeeded) {
    connection.rollback_if_open();  // nothing to keep
    return Attempt::committed;
  }
  name_for_commit();
  connection.commit();
  return Attempt::committed;
}

}  // namespace

void commit_write_group(Connection& connection, std::span<WriteOperation* const> group) {
  GroupSession session(connection);
  std::vector<bool> excluded(group.size(), false);
  bool batching = true;
  try {
    for (int rerun = 0;; ++rerun) {
      try {
        while (try_group(session, group, excluded, batching) == Attempt::restart) {
        }
        return;
      } catch (...) {
        const bool again = rerun < kDeadlockReruns && deadlocked(connection);
        connection.rollback_if_open();
        if (!again) throw;
      }
    }
  } catch (...) {
    // BEGIN or COMMIT failed, or a deadlock persisted: nothing the group did is durable.
    internal::fail_sql_group(group, excluded);
  }
}

}  // namespace taskstore::postgres
