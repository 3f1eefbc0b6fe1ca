#include "schema.hpp"

#include <string>

namespace taskstore::sqlite {

namespace {

// Version 1. Times are int64 microseconds since the Unix epoch; seq orders ties in eta by
// enqueue order (AUTOINCREMENT: a sequence number is never reused, even after deletes).
constexpr const char* kCreateSchema = R"sql(
CREATE TABLE tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  payload BLOB NOT NULL,
  status TEXT NOT NULL,
  eta INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  max_retries INTEGER NOT NULL,
  retry_backoff TEXT NOT NULL,
  retry_delay_us INTEGER NOT NULL,
  retry_max_delay_us INTEGER NOT NULL,
  retry_jitter INTEGER NOT NULL,
  interval_us INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- Serves the claim: only due candidates are indexed, already in claim order.
CREATE INDEX tasks_pending_by_eta ON tasks(eta, seq) WHERE status = 'PENDING';
CREATE TABLE results (
  task_id TEXT PRIMARY KEY NOT NULL,
  status TEXT NOT NULL,
  value BLOB NOT NULL,
  error TEXT,
  finished_at INTEGER NOT NULL
);
CREATE INDEX results_by_finished_at ON results(finished_at);
PRAGMA user_version = 1;
)sql";

int read_user_version(Connection& connection) {
  auto stmt = connection.statement("PRAGMA user_version");
  stmt->step();
  return static_cast<int>(stmt->column_int64(0));
}

std::int64_t count(Connection& connection, const std::string& sql) {
  auto stmt = connection.statement(sql);
  stmt->step();
  return stmt->column_int64(0);
}

void check_supported(Connection& connection, int version) {
  if (version == 0 || version == kSchemaVersion) return;
  throw StorageError(connection.where() + " has schema version " + std::to_string(version) +
                     ", this build supports version " + std::to_string(kSchemaVersion));
}

void verify_tables(Connection& connection) {
  const auto found = count(connection,
                           "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                           "name IN ('tasks', 'results')");
  if (found != 2) {
    throw CorruptionError(connection.where() + " has schema version " +
                          std::to_string(kSchemaVersion) + " but lacks the tasks or results table");
  }
}

}  // namespace

void ensure_schema(Connection& connection) {
  // The common case, an existing store, needs no write lock.
  const int version = connection.retry_busy([&] { return read_user_version(connection); });
  check_supported(connection, version);
  if (version == kSchemaVersion) {
    verify_tables(connection);
    return;
  }
  connection.write_transaction([&] {
    // Another process may have created the schema since the first look.
    const int locked_version = read_user_version(connection);
    check_supported(connection, locked_version);
    if (locked_version == kSchemaVersion) {
      verify_tables(connection);
      return;
    }
    const auto objects = count(connection,
                               "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE "
                               "'sqlite\\_%' ESCAPE '\\'");
    if (objects != 0) {
      throw CorruptionError(connection.where() +
                            " is not a taskstore database (it has no taskstore schema version "
                            "but already holds tables of its own)");
    }
    connection.exec(kCreateSchema);
  });
}

}  // namespace taskstore::sqlite
