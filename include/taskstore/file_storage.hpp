#pragma once
// FileStorage: a durable backend that keeps one file per task and per result in a
// directory. Every write is atomic and durable (temp file, fsync, rename, fsync of the
// directory) before the operation returns; claims are exclusive across threads, instances
// and processes sharing the directory (flock, plus a per-process mutex because NFS and SMB
// turn flock into per-process locks). An instance belongs to the process that opened it:
// a forked child opens its own (using the parent's raises StorageError).
//
// Group commit: write operations that arrive while another group is being committed are
// applied together in the next group, in arrival order, under one hold of the lock, and
// made durable by one round of fsyncs; each caller resumes once its own operation is
// durable, with its own result or error (FILE-6).

#include <cstddef>
#include <filesystem>
#include <memory>

#include "taskstore/group_commit_stats.hpp"
#include "taskstore/storage.hpp"

namespace taskstore {

struct FileStorageOptions {
  std::filesystem::path directory;  // created (with parents) if missing
  std::size_t io_threads = 2;       // the pool that runs blocking file I/O
  Clock clock = system_clock();     // stamps updated_at/finished_at without a `now`
  // Most write operations one commit group may carry; 1 writes each alone, directly.
  std::size_t max_group_size = 256;
};

class FileStorage final : public BaseStorage {
 public:
  // Opens (creating if needed) the store in options.directory. Throws StorageError if the
  // directory can't be created or locked, CorruptionError if it holds a foreign layout.
  explicit FileStorage(FileStorageOptions options);
  ~FileStorage() override;

  Awaitable<std::string> enqueue(Task task) override;
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override;
  bool claims_batches() const override { return true; }
  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override;
  Awaitable<void> mark_running(std::string task_id) override;
  Awaitable<void> mark_done(std::string task_id, TaskResult result) override;
  Awaitable<std::optional<TaskResult>> get_result(std::string task_id) override;
  Awaitable<std::size_t> purge_results(Timestamp older_than) override;
  Awaitable<void> mark_failed(std::string task_id, std::string error, bool will_retry) override;
  Awaitable<std::optional<Task>> get_task(std::string task_id) override;
  Awaitable<void> reschedule(std::string task_id, Timestamp new_eta) override;

  // Group commit counters since this instance opened; for tests and benchmarks.
  GroupCommitStats group_commit_stats() const;

  // Native handles, for backend-specific tests and tools.
  const std::filesystem::path& directory() const;
  std::filesystem::path task_path(const std::string& task_id) const;
  std::filesystem::path result_path(const std::string& task_id) const;
  // The file every write holds an exclusive flock(2) on: another process holding it makes
  // this store's writes wait.
  std::filesystem::path lock_path() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskstore
