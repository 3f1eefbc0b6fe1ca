#include "write_group.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <string>

#include "overlay_io.hpp"
#include "taskstore/internal/group_failure.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::file_backend {

namespace {

// The current error as `operation`'s own: the same type, and the message FileStorage's
// with_context gives a lone operation, noting the group when there was one.
std::exception_ptr error_of(const WriteOperation& operation, std::size_t group_size) {
  std::string context(operation.name());
  if (!operation.task_id().empty()) context += " of task '" + operation.task_id() + "'";
  if (group_size > 1) {
    context += ", one of " + std::to_string(group_size) + " writes committed together";
  }
  return rewrap_current_error("", " (during " + context + ")");
}

// Fails every operation of `group` that has not failed on its own with the current error.
void fail_all(std::span<WriteOperation* const> group) {
  internal::fail_unfinished(group, error_of);
}

void apply(WriteOperation& operation, Session& session) {
  operation.reset();
  try {
    operation.apply(session);
  } catch (...) {
    operation.fail(std::current_exception());
  }
}

}  // namespace

void commit_write_group(FileStore& store, std::span<WriteOperation* const> group, bool direct) {
  for (WriteOperation* operation : group) operation->reset();
  std::optional<DirectoryLock> held;
  try {
    held.emplace(store.layout().lock_file());
  } catch (...) {
    fail_all(group);
    return;
  }
  try {
    store.settle_repairs();
  } catch (...) {
    fail_all(group);
    return;
  }
  // A batch claim is all or nothing only through the overlay, which rolls back the claims
  // it made before a failure (BAT-6); written directly, each claim is durable on its own.
  const bool has_batch = std::any_of(group.begin(), group.end(), [](const WriteOperation* op) {
    return op->name() == "dequeue_batch";
  });
  if (direct && !has_batch) {
    DirectIo io;
    Session session{io, *held};
    for (WriteOperation* operation : group) apply(*operation, session);
    return;
  }
  OverlayIo overlay(store.layout());
  Session session{overlay, *held};
  for (WriteOperation* operation : group) {
    const std::size_t savepoint = overlay.savepoint();
    apply(*operation, session);
    if (operation->failed()) {
      overlay.rollback_to(savepoint);
      store.forget_due_index();  // the index may have dropped names the rollback restored
    }
  }
  try {
    overlay.commit();
  } catch (...) {
    store.forget_due_index();
    store.owe_repairs(overlay.unrestored());
    fail_all(group);
  }
}

}  // namespace taskstore::file_backend
