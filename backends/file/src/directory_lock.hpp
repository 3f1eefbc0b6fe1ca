#pragma once
// The store-wide writer lock: an exclusive flock() on DIR/LOCK, taken through a freshly
// opened descriptor each time. flock (not fcntl) because fcntl locks belong to the
// process and would not exclude two instances or two threads of one process; a fresh
// descriptor per holder because flock on one shared descriptor would not exclude this
// instance's own threads, nor a child that inherited it across fork().
//
// On NFS and SMB, Linux emulates flock with fcntl locks, which are per process again. So
// every holder in this process first takes a mutex shared by all instances that opened
// the same lock file (same device and inode): threads and instances then exclude each
// other whatever the file system, and flock excludes other processes and hosts.
//
// The lock file's content is the last enqueue sequence number handed out (u64
// little-endian). It is written without fsync: after a crash the wall clock keeps new
// sequence numbers above the ones already stored (see next_sequence).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

#include "posix_file.hpp"

namespace taskstore::file_backend {

class DirectoryLock {
 public:
  // Blocks until this holder has the exclusive lock on `lock_path`, creating the file if
  // it is missing.
  explicit DirectoryLock(const std::filesystem::path& lock_path);

  // Releases the lock explicitly: a child forked meanwhile shares the descriptor, and its
  // copy would otherwise keep the lock held after this one is closed.
  ~DirectoryLock();

  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  // Hands out the next enqueue sequence number: max(last + 1, wall clock in µs), so the
  // numbers grow with enqueue order within the store and across restarts.
  std::uint64_t next_sequence();

  // Makes sure every later sequence number exceeds `floor` (the highest one still in use),
  // so a wall clock that stepped back after a crash can't reorder new tasks before old.
  void raise_sequence_floor(std::uint64_t floor);

 private:
  std::uint64_t read_last() const;
  void write_last(std::uint64_t last);

  std::filesystem::path path_;
  std::shared_ptr<std::mutex> process_mutex_;
  std::unique_lock<std::mutex> process_hold_;
  UniqueFd fd_;
};

}  // namespace taskstore::file_backend
