#pragma once
// Fast preloaders for the durable backends: they write tasks [first, first + count)
// (make_task, preload_eta) straight into a store, in its own format, with one sync at the
// end instead of an fsync'd enqueue per task. Benchmarks preload outside their timed
// region; what they then measure goes through the backend as usual.

#include <cstddef>
#include <filesystem>
#include <string>

#include "taskstore/postgres_storage.hpp"
#include "taskstore/sqlite_storage.hpp"

namespace taskstore::bench {

// Writes task records and due markers with the file backend's codec and layout
// (backends/file/src), then syncfs. The store at `directory` must exist (open it first).
void preload_file_store(const std::filesystem::path& directory, std::size_t first,
                        std::size_t count, std::size_t payload_bytes);

// Inserts the rows in one transaction on one of the store's own connections. Checks the
// schema version first: the INSERT spells out the columns of schema version 1.
void preload_sqlite_store(const SqliteStorage& store, std::size_t first, std::size_t count,
                          std::size_t payload_bytes);

// Inserts the rows with one INSERT ... SELECT over generate_series, on a libpq connection
// of our own, into the schema `store` created (so the tables, indexes and schema version
// are the backend's), in the form the backend's enqueue writes (row_codec.cpp); then
// VACUUM ANALYZE, so a benchmark starts from a settled table with statistics, as a store
// that autovacuum has seen, and CHECKPOINT (if the role may). Checks the schema version
// first, and afterwards that the first and the last task read back through get_task
// exactly as make_task made them.
void preload_postgres_store(PostgresStorage& store, const std::string& conninfo,
                            std::size_t first, std::size_t count, std::size_t payload_bytes);

}  // namespace taskstore::bench
