#pragma once
// The store-wide writer lock: an exclusive flock() on DIR/LOCK, taken through a freshly
// opened descriptor each time. flock (not fcntl) because fcntl locks belong to the
// process and would not exclude two instances or two threads of one process; a fresh
// descriptor per holder because flock on one shared descriptor would not exclude this
// instance's own threads, nor a child that inherited it across fork().
//
// The lock file's content is the last enqueue sequence number handed out (u64
// little-endian). It is written without fsync: after a crash the wall clock keeps new
// sequence numbers above the ones already stored (see next_sequence).

#include <cstdint>
#include <filesystem>

#include "posix_file.hpp"

namespace taskstore::file_backend {

class DirectoryLock {
 public:
  // Blocks until this holder has the exclusive lock on `lock_path`, creating the file if
  // it is missing.
  explicit DirectoryLock(const std::filesystem::path& lock_path);

  // Releases the lock (closing the descriptor does it).
  ~DirectoryLock() = default;

  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  // Hands out the next enqueue sequence number: max(last + 1, wall clock in µs), so the
  // numbers grow with enqueue order within the store and across restarts.
  std::uint64_t next_sequence();

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

}  // namespace taskstore::file_backend
