#pragma once
// The store's tables in their own PostgreSQL schema, versioned in a schema_version table.

#include "connection.hpp"

namespace taskstore::postgres {

inline constexpr int kSchemaVersion = 1;

// Creates the schema and its tables if missing, or checks existing ones. Several processes
// opening one new store at once are safe: creation runs under a transaction-scoped
// advisory lock named after the schema and re-reads the version there. Throws StorageError
// for an unsupported version and CorruptionError for a version without the tables.
void ensure_schema(Connection& connection);

}  // namespace taskstore::postgres
