#pragma once
// Registrations of taskstore's reference backends with the conformance suite.

#include <filesystem>
#include <string>

#include "taskstore/conformance/registry.hpp"
#include "taskstore/sqlite_storage.hpp"

namespace taskstore::conformance {

// One MemoryStorage per test.
Backend memory_backend();

// One FileStorage per test, each in a fresh subdirectory of `parent` (created if needed).
Backend file_backend(std::filesystem::path parent);

// One SqliteStorage per test, each in a fresh database file inside `parent`.
Backend sqlite_backend(std::filesystem::path parent,
                       SqliteStorageOptions::Synchronous synchronous =
                           SqliteStorageOptions::Synchronous::full);

// One PostgresStorage per test on the server `conninfo` (a libpq connection string), each
// in a fresh schema with a unique name, dropped when the test's environment goes.
Backend postgres_backend(std::string conninfo);

// Why the postgres tests of a test program skip (see below).
inline constexpr const char* kPostgresNotConfigured =
    "postgres: TASKSTORE_PG is not set; start a server with ci/postgres-cluster.sh";

// For test programs: registers postgres_backend($TASKSTORE_PG) if TASKSTORE_PG is set and
// returns true. Otherwise registers "postgres" as unavailable (Backend::unavailable), so its
// tests are listed all the same and each skips with kPostgresNotConfigured: a missing
// server shows as skips, never as passes; returns false.
bool register_postgres_from_environment();

}  // namespace taskstore::conformance
