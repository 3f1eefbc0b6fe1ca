#pragma once
// PostgresStorage: a durable backend in a PostgreSQL database (libpq), for queues whose
// workers run on many hosts. Several instances and several processes may share one store
// (one schema); claims are exclusive (FOR UPDATE SKIP LOCKED). An instance belongs to the
// process that opened it: a forked child opens its own (using the parent's raises
// StorageError). A lost connection fails the operation that saw it with StorageError and
// is re-established on its next use, so the instance outlives a server restart.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "taskstore/group_commit_stats.hpp"
#include "taskstore/storage.hpp"

namespace taskstore {

struct PostgresStorageOptions {
  std::string conninfo;            // libpq connection string, e.g. "host=/tmp/pg dbname=x"
  std::string schema = "taskstore";  // the schema holding the tables, created if missing
  std::size_t connections = 4;     // pool threads, each with its own connection
  // Per-statement limit on the server (SET statement_timeout); 0 means none. A statement
  // that runs longer fails its operation with StorageError carrying the server's message.
  std::chrono::milliseconds statement_timeout{0};
  Clock clock = system_clock();  // stamps updated_at/finished_at without a `now`
  // Writes of concurrent callers share one transaction, and so one WAL flush, up to this
  // many per commit (spec PG-5); 1 gives each write its own transaction.
  std::size_t max_group_size = 256;
  // Groups that may commit at once, each on its own connection (at most `connections` - 1,
  // so that reads always find a thread): the server works on one while another waits for
  // its WAL flush (PG-5).
  std::size_t concurrent_groups = 2;
  // After this many writes by this instance, it vacuums the tasks table in the background,
  // on a connection and thread of its own (PG-6): a claimed or finished row leaves a dead entry at the front of the claim's
  // index that only VACUUM removes, and autovacuum wakes too rarely for a busy queue.
  // 0 leaves it to autovacuum.
  std::size_t vacuum_every = 20'000;
};

class PostgresStorage final : public BaseStorage {
 public:
  // Connects and creates the schema if missing (or checks it). Throws StorageError if the
  // server can't be reached or the schema has an unsupported version, CorruptionError if
  // the schema holds a version but lacks the tables.
  explicit PostgresStorage(PostgresStorageOptions options);
  ~PostgresStorage() override;

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

  const std::string& schema() const;
  // How writes were grouped into commits so far (PG-5).
  GroupCommitStats group_commit_stats() const;
  // VACUUMs of the tasks table this instance has completed (PG-6).
  std::uint64_t vacuums() const;

  static constexpr int kSchemaVersion = 1;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskstore
