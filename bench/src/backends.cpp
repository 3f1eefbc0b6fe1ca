#include "backends.hpp"

#include "loaders.hpp"
#include "postgres_support.hpp"
#include "taskstore/file_storage.hpp"
#include "taskstore/memory_storage.hpp"
#include "taskstore/postgres_storage.hpp"
#include "taskstore/sqlite_storage.hpp"
#include "workload.hpp"

namespace taskstore::bench {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<BaseStorage> open_memory(const fs::path&, std::size_t preload,
                                         std::size_t payload_bytes) {
  auto store = std::make_shared<MemoryStorage>();
  run_sync(enqueue_range(*store, 0, preload, payload_bytes));
  return store;
}

std::shared_ptr<BaseStorage> open_file(const fs::path& location, std::size_t preload,
                                       std::size_t payload_bytes) {
  if (preload > 0) {
    // Preloaded between two opens: an open instance learns of new due markers from
    // DUE-LOG, which the preload does not write; opening lists them all.
    { const FileStorage create(FileStorageOptions{.directory = location}); }
    preload_file_store(location, 0, preload, payload_bytes);
  }
  auto store = std::make_shared<FileStorage>(FileStorageOptions{.directory = location});
  return store;
}

BackendSpec sqlite_backend(std::string name, SqliteStorageOptions::Synchronous synchronous,
                           BackendSizes sizes) {
  return BackendSpec{
      .name = name,
      .medium = name,
      .durable = true,
      .sizes = sizes,
      .open = [synchronous](const fs::path& location, std::size_t preload,
                            std::size_t payload_bytes) -> std::shared_ptr<BaseStorage> {
        auto store = std::make_shared<SqliteStorage>(
            SqliteStorageOptions{.path = location, .synchronous = synchronous});
        if (preload > 0) preload_sqlite_store(*store, 0, preload, payload_bytes);
        return store;
      }};
}

// Each location is a fresh schema on the server (postgres_schema), dropped with the
// location's scratch directory. The backend's defaults otherwise: a pool of 4 connections,
// the server's synchronous_commit (on: a claim is durable when it returns).
BackendSpec postgres_backend(std::string conninfo) {
  // A claim commits once (one WAL flush, ~0.4 ms on a local SSD), so drains of thousands
  // take seconds; the 1M-task stores of dequeue_size would spend minutes loading and
  // indexing for no new information, so sizes stop at 100,000 (dequeue_long goes to
  // 200,000).
  return BackendSpec{
      .name = "postgres",
      .medium = "postgres",
      .durable = true,
      .sizes = {.drain = 5'000,
                .queue_drain = 20'000,
                .size_claims = 2'000,
                .max_store = 100'000,
                .large_store = 100'000,
                .long_drain = 200'000},
      .open = [conninfo](const fs::path& location, std::size_t preload,
                         std::size_t payload_bytes) -> std::shared_ptr<BaseStorage> {
        auto store = std::make_shared<PostgresStorage>(PostgresStorageOptions{
            .conninfo = conninfo, .schema = postgres_schema(conninfo, location)});
        if (preload > 0) preload_postgres_store(*store, conninfo, 0, preload, payload_bytes);
        return store;
      },
      // A worker waits for two or three WAL flushes per task (claim, mark_running for a task
      // claimed ahead, mark_done), so
      // 8 workers keep at most 8 writes in flight whatever the backend batches. A queue in
      // front of a network database runs many more (each worker is a coroutine on one
      // thread; the peers run 100 and more): with 256, a group commit carries up to
      // 256 writes in a few statements.
      .queue_workers = {8, 256},
      .before_long_drain =
          [conninfo](const fs::path& location) {
            PgConnection connection(conninfo, postgres_schema(conninfo, location));
            connection.exec(
                "ALTER TABLE tasks SET (autovacuum_enabled = false); "
                "ALTER TABLE results SET (autovacuum_enabled = false)");
          }};
}

std::vector<BackendSpec> make_backends() {
  std::vector<BackendSpec> all;
  all.push_back(BackendSpec{.name = "memory",
                            .medium = "memory",
                            .durable = false,
                            .sizes = {.drain = 100'000,
                                      .queue_drain = 100'000,
                                      .size_claims = 100'000,
                                      .max_store = 1'000'000,
                                      .large_store = 1'000'000},
                            .open = open_memory});
  // Every claim is a durable file replacement (two fsyncs), so drains stay small; a
  // claim no longer lists the queue directory (FILE-9), so dequeue_size and open go to
  // 100,000 tasks (creating 200,000 files takes a while on most disks).
  all.push_back(BackendSpec{.name = "file",
                            .medium = "file",
                            .durable = true,
                            .sizes = {.drain = 200,
                                      .queue_drain = 100,
                                      .size_claims = 20,
                                      .max_store = 100'000,
                                      .large_store = 10'000},
                            .open = open_file});
  // FULL fsyncs the WAL at every commit.
  all.push_back(sqlite_backend("sqlite", SqliteStorageOptions::Synchronous::full,
                               {.drain = 500,
                                .queue_drain = 300,
                                .size_claims = 200,
                                .max_store = 1'000'000,
                                .large_store = 100'000}));
  all.push_back(sqlite_backend("sqlite_normal", SqliteStorageOptions::Synchronous::normal,
                               {.drain = 20'000,
                                .queue_drain = 100'000,
                                .size_claims = 10'000,
                                .max_store = 1'000'000,
                                .large_store = 100'000}));
  // Only with a server to run on; main() says why it is missing otherwise.
  if (const auto conninfo = postgres_conninfo()) all.push_back(postgres_backend(*conninfo));
  return all;
}

}  // namespace

const std::vector<BackendSpec>& backends() {
  static const std::vector<BackendSpec> all = make_backends();
  return all;
}

}  // namespace taskstore::bench
