#pragma once
// What a durable backend tells the callers of a write group that failed as a whole (its
// lock, BEGIN or COMMIT): one rule for the file store, SQLite and PostgreSQL (SQL-9).

#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include "taskstore/errors.hpp"

namespace taskstore::internal {

// Call from a catch block. Nothing the group did is durable, so every operation in it that
// has not failed on its own gets the current exception, as `error_of(operation, count)`
// words it for `count` operations sharing it. An operation that did fail on its own (an
// unknown id, a duplicate, a damaged row; or one a backend took out of the group and
// undid) keeps its own error: it changed nothing, so its error is still the whole truth
// about it, and the group's failure is not its cause.
template <typename Operation, typename ErrorOf>
void fail_unfinished(std::span<Operation* const> group, ErrorOf&& error_of) {
  std::size_t unfinished = 0;
  for (const Operation* operation : group) unfinished += operation->failed() ? 0 : 1;
  for (Operation* operation : group) {
    if (!operation->failed()) operation->fail(error_of(*operation, unfinished));
  }
}

// The SQL backends' wording for fail_unfinished: the error keeps its type and starts by
// naming this operation and its task, and how many writes shared the commit. `named` says
// the backend's own error already names the operation (it names the one operation left in
// a group before BEGIN and COMMIT), which is then passed on as it is.
template <typename Operation>
std::exception_ptr sql_group_error(const Operation& operation, std::size_t sharing,
                                   bool named) {
  if (named) return std::current_exception();
  std::string about(operation.name());
  if (!operation.task_id().empty()) about += " of task '" + operation.task_id() + "'";
  if (sharing > 1) about += " (one of " + std::to_string(sharing) + " writes committed together)";
  return rewrap_current_error(about + ": ", "");
}

// Operations of `group` not marked in `excluded` (taken out of the group and undone).
inline std::size_t kept_in_group(const std::vector<bool>& excluded) {
  std::size_t kept = 0;
  for (const bool skip : excluded) kept += skip ? 0 : 1;
  return kept;
}

// fail_unfinished for the SQL backends, whose own errors name the operation when it is the
// only one kept in the group (they name it before BEGIN and COMMIT).
template <typename Operation>
void fail_sql_group(std::span<Operation* const> group, const std::vector<bool>& excluded) {
  const bool named = kept_in_group(excluded) == 1;
  fail_unfinished(group, [named](const Operation& operation, std::size_t sharing) {
    return sql_group_error(operation, sharing, named);
  });
}

}  // namespace taskstore::internal
