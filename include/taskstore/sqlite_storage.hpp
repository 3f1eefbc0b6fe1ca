#pragma once
// SqliteStorage: a durable backend in one SQLite database file (WAL mode). Several
// instances and several processes may share one file; claims are exclusive. An instance
// belongs to the process that opened it: a forked child opens its own (using the parent's
// raises StorageError).

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>

#include "taskstore/group_commit_stats.hpp"
#include "taskstore/storage.hpp"

struct sqlite3;

namespace taskstore {

struct SqliteStorageOptions {
  enum class Synchronous {
    full,    // survives power loss (the default)
    normal,  // survives a process crash; a power loss may drop the latest commits
    off,     // never syncs: survives a process crash, a power loss may lose anything
             // unsynced (throwaway queues, and the kit's proof that it sees a missing sync)
  };

  std::filesystem::path path;  // the database file, created if missing
  Synchronous synchronous = Synchronous::full;
  std::size_t connections = 4;  // pool threads, each with its own connection
  // How long one statement waits on a lock inside SQLite before reporting SQLITE_BUSY,
  // and how many times the backend then retries the whole transaction before it gives
  // up with StorageError. Together they keep concurrent writers waiting, not failing.
  std::chrono::milliseconds busy_timeout{5000};
  int busy_retries = 20;
  Clock clock = system_clock();  // stamps updated_at/finished_at without a `now`
  // Group commit: write operations that arrive while a commit is under way share the next
  // one (one transaction, one sync); a failure still fails only its own operation. This
  // caps a group's size; 1 commits every write alone.
  std::size_t max_group_size = 256;
};

class SqliteStorage final : public BaseStorage {
 public:
  // Opens (creating if needed) the database and its schema. Throws CorruptionError for a
  // file that is not a taskstore database, StorageError for an unsupported schema version
  // or any other failure to open.
  explicit SqliteStorage(SqliteStorageOptions options);
  ~SqliteStorage() override;

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

  // The database file, for backend-specific tests and tools.
  const std::filesystem::path& path() const;

  // How many write operations shared how many commits so far.
  GroupCommitStats group_commit_stats() const;

  // Runs `use` on the calling thread with one of the backend's own connections checked
  // out (none of the backend's operations uses it meanwhile), for backend-specific tests
  // and tools that inspect per-connection settings such as PRAGMA synchronous. Blocks.
  void with_native_connection(const std::function<void(sqlite3*)>& use) const;

  static constexpr int kSchemaVersion = 1;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskstore
