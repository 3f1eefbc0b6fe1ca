#include "schema.hpp"

#include <string>

namespace taskstore::postgres {

namespace {

// Version 1. Every time is a bigint of microseconds since the Unix epoch, not timestamptz:
// the contract round-trips any Timestamp the suite generates (±2^61 µs, about ±73,000
// years; RT-1 and the property tests), and timestamptz stops at 4713 BC. seq orders ties
// in eta by enqueue order and names a row to the claim. name, last_error and error are
// bytea because the contract allows any bytes there (NUL, invalid UTF-8), which a text
// column rejects.
constexpr const char* kCreateTables = R"sql(
CREATE TABLE tasks (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  name bytea NOT NULL,
  payload bytea NOT NULL,
  status text NOT NULL,
  eta bigint NOT NULL,
  attempts bigint NOT NULL,
  max_retries bigint NOT NULL,
  retry_backoff text NOT NULL,
  retry_delay_us bigint NOT NULL,
  retry_max_delay_us bigint NOT NULL,
  retry_jitter boolean NOT NULL,
  interval_us bigint,
  last_error bytea,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
-- Serves the claim: only PENDING rows are indexed, already in claim order, so rows that
-- are running or finished are not in the claim's path. A claimed row's old entry stays
-- until VACUUM removes it, at the front of the index where the claim starts: the backend
-- vacuums the table every so many writes (PG-6) to keep the claim's cost flat.
CREATE INDEX tasks_pending_by_eta ON tasks (eta, seq) WHERE status = 'PENDING';
CREATE TABLE results (
  task_id text PRIMARY KEY,
  status text NOT NULL,
  value bytea NOT NULL,
  error bytea,
  finished_at bigint NOT NULL
);
CREATE INDEX results_by_finished_at ON results (finished_at);
CREATE TABLE schema_version (version integer NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
)sql";

bool table_exists(Connection& connection, const std::string& table) {
  Params params;
  params.text(connection.schema()).text(table);
  const Result found = connection.query(
      "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2", params);
  return found.rows() > 0;
}

void check_version(Connection& connection) {
  const Result rows = connection.query("SELECT version FROM schema_version");
  if (rows.rows() != 1 || rows.is_null(0, 0)) {
    throw CorruptionError(connection.where() + ": its schema_version table holds " +
                          std::to_string(rows.rows()) + " rows, expected one version");
  }
  const std::string version(rows.value(0, 0));
  if (version != std::to_string(kSchemaVersion)) {
    throw StorageError(connection.where() + " has schema version " + version +
                       ", this build supports version " + std::to_string(kSchemaVersion));
  }
  if (!table_exists(connection, "tasks") || !table_exists(connection, "results")) {
    throw CorruptionError(connection.where() + " has schema version " + version +
                          " but lacks the tasks or results table");
  }
}

}  // namespace

void ensure_schema(Connection& connection) {
  // The common case, an existing store, needs no lock.
  if (table_exists(connection, "schema_version")) {
    check_version(connection);
    return;
  }
  connection.transaction([&] {
    // Serialises creators of this schema in every process (CREATE SCHEMA IF NOT EXISTS
    // alone can still fail with a duplicate key when two run at once).
    Params params;
    params.text(connection.schema());
    connection.query("SELECT pg_advisory_xact_lock(hashtext($1))", params);
    if (table_exists(connection, "schema_version")) {
      check_version(connection);
      return;
    }
    const std::string schema = connection.quoted_schema();
    connection.exec("CREATE SCHEMA IF NOT EXISTS " + schema);
    if (table_exists(connection, "tasks") || table_exists(connection, "results")) {
      throw CorruptionError(connection.where() +
                            " is not a taskstore store (it has no schema_version table but "
                            "already holds tasks or results tables of its own)");
    }
    connection.exec(kCreateTables);
  });
}

}  // namespace taskstore::postgres
