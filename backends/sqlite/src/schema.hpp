#pragma once
// The database schema, versioned with PRAGMA user_version.

#include "connection.hpp"

namespace taskstore::sqlite {

inline constexpr int kSchemaVersion = 1;

// Creates the schema in a new (empty) database, or checks an existing one. Two processes
// opening one new file at once are safe: creation runs inside BEGIN IMMEDIATE and
// re-reads the version there. Throws StorageError for a newer or unknown version and
// CorruptionError for a database that belongs to something else.
void ensure_schema(Connection& connection);

}  // namespace taskstore::sqlite
