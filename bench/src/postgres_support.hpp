#pragma once
// PostgreSQL in the benchmarks: the server TASKSTORE_PG names, one fresh schema per store,
// and a small libpq connection of our own for the loader and the raw baseline (the
// backend's own connection class is private to it).

#include <libpq-fe.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskstore::bench {

// TASKSTORE_PG (a libpq connection string), or nullopt when it is unset or empty.
std::optional<std::string> postgres_conninfo();

// Printed once when TASKSTORE_PG is unset.
inline constexpr std::string_view kPostgresSkipped =
    "postgres skipped: TASKSTORE_PG is not set (a libpq connection string to a server where "
    "the role may CREATE; see bench/README.md)";

// The schema of the store at `location` (a path in a scratch directory): a fresh name no
// other store, run or process uses (tsbench_<pid>_<n>_<random>) the first time, the same
// name afterwards, also in forked children. The schema is dropped when the ScratchDir
// holding `location` is removed (at_scratch_removal), so every store is a fresh schema.
std::string postgres_schema(const std::string& conninfo, const std::filesystem::path& location);

// One query's result, freed on destruction.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}

  PGresult* get() const { return result_.get(); }
  int rows() const { return PQntuples(result_.get()); }
  std::string_view value(int row, int column) const {
    return {PQgetvalue(result_.get(), row, column),
            static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
  }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

 private:
  struct Clear {
    void operator()(PGresult* result) const { PQclear(result); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

// One libpq connection in autocommit, text format both ways. Every call throws
// std::runtime_error with the server's message if it fails.
class PgConnection {
 public:
  // With a non-empty `schema`, its statements find the store's tables (search_path).
  explicit PgConnection(const std::string& conninfo, const std::string& schema = {});
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs statements without parameters.
  PgResult exec(const std::string& sql);
  // Runs one statement with text parameters (nullopt is NULL).
  PgResult query(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  // Prepares `sql` as `name` on this session, and runs it.
  void prepare(const std::string& name, const std::string& sql);
  PgResult run_prepared(const std::string& name, const std::vector<const char*>& values);

  std::string quote(std::string_view identifier);
  std::string message() const;

 private:
  PgResult check(PGresult* raw, std::string_view what);

  struct Finish {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };
  std::unique_ptr<PGconn, Finish> conn_;
};

// bytea's hex input form of `bytes`: "\x" then two hex digits a byte (as the backend
// writes it, connection.cpp).
std::string bytea_hex(std::string_view bytes);
// The bytes of bytea's hex output form, without checks.
std::string bytea_bytes(std::string_view hex);

// "PostgreSQL 15.4, synchronous_commit on, fsync on" for the report, or the error.
std::string postgres_server_summary(const std::string& conninfo);

}  // namespace taskstore::bench
