// Preloads an SQLite store with one multi-row transaction on one of the backend's own
// connections (so the database, its schema and its pragmas are the backend's).
#include <sqlite3.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "loaders.hpp"
#include "workload.hpp"

namespace taskstore::bench {

namespace {

// Throws with SQLite's message unless `rc` is `expected`.
void check(sqlite3* db, int rc, int expected, const char* what) {
  if (rc != expected) {
    throw std::runtime_error(std::string("preload: ") + what + ": " + sqlite3_errmsg(db));
  }
}

void exec(sqlite3* db, const char* sql) {
  check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK, sql);
}

struct Finalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

StatementPtr prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  StatementPtr owned(stmt);
  check(db, rc, SQLITE_OK, sql);
  return owned;
}

void check_schema_version(sqlite3* db) {
  const StatementPtr stmt = prepare(db, "PRAGMA user_version");
  check(db, sqlite3_step(stmt.get()), SQLITE_ROW, "PRAGMA user_version");
  const auto version = sqlite3_column_int64(stmt.get(), 0);
  if (version != 1 || SqliteStorage::kSchemaVersion != 1) {
    throw std::runtime_error("preload: the SQLite store has schema version " +
                             std::to_string(version) +
                             "; bench/src/sqlite_loader.cpp writes version 1 rows");
  }
}

void insert_rows(sqlite3* db, std::size_t first, std::size_t count, std::size_t payload_bytes) {
  const StatementPtr insert = prepare(
      db,
      "INSERT INTO tasks (id, name, payload, status, eta, attempts, max_retries, "
      "retry_backoff, retry_delay_us, retry_max_delay_us, retry_jitter, interval_us, "
      "last_error, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, 'PENDING', ?4, 0, 0, ?5, 0, 0, 0, NULL, NULL, ?6, ?7)");
  const std::string backoff(to_string(RetryPolicy::Backoff::fixed));
  for (std::size_t i = first; i < first + count; ++i) {
    const Task task = make_task(i, payload_bytes, preload_eta(i));
    sqlite3_stmt* stmt = insert.get();
    sqlite3_bind_text(stmt, 1, task.id.data(), static_cast<int>(task.id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, task.name.data(), static_cast<int>(task.name.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 3, task.payload.data(), static_cast<int>(task.payload.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 4, to_micros(task.eta));
    sqlite3_bind_text(stmt, 5, backoff.data(), static_cast<int>(backoff.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 6, to_micros(task.created_at));
    sqlite3_bind_int64(stmt, 7, to_micros(task.updated_at));
    check(db, sqlite3_step(stmt), SQLITE_DONE, "INSERT INTO tasks");
    sqlite3_reset(stmt);
  }
}

}  // namespace

void preload_sqlite_store(const SqliteStorage& store, std::size_t first, std::size_t count,
                          std::size_t payload_bytes) {
  store.with_native_connection([&](sqlite3* db) {
    check_schema_version(db);
    exec(db, "BEGIN IMMEDIATE");
    try {
      insert_rows(db, first, count, payload_bytes);
      exec(db, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    // Moves the preload from the WAL into the database file, so the benchmark that
    // follows starts from a short WAL whatever the preload's size.
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  });
}

}  // namespace taskstore::bench
