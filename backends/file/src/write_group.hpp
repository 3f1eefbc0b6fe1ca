#pragma once
// How the file store commits a group of write operations: all of them under one hold of
// the store lock, in arrival order, through one OverlayIo, each with its own savepoint, so
// an operation that fails (an unknown id, a duplicate, a damaged record) is undone alone
// and the rest are made durable together by one round of syncs.

#include <span>

#include "file_store.hpp"
#include "taskstore/internal/group_commit.hpp"

namespace taskstore::file_backend {

using WriteOperation = GroupCommit<Session>::Operation;

// Applies `group` in order on `store` and makes it durable. On return every operation
// either succeeded and is durable, or has its own error; should the lock or the commit
// fail, every operation not already failed fails with that error, naming itself. With
// `direct`, each operation writes straight to disk instead (one durable write at a time,
// as max_group_size = 1 asks).
void commit_write_group(FileStore& store, std::span<WriteOperation* const> group, bool direct);

}  // namespace taskstore::file_backend
