#pragma once
// One libpq connection: lazily opened, re-established after a loss, with the statements it
// has prepared, and the mapping of server errors to the contract's typed errors. A
// Connection is used by one thread at a time (the pool's checkout guarantees it).
//
// Parameters and results use libpq's text format: every value crosses as a string the
// server parses by the column's type, bytea as hex, so no NUL byte ever reaches libpq.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "taskstore/errors.hpp"
#include "taskstore/task.hpp"

namespace taskstore::postgres {

// The values of $1, $2, ... in order, in text format.
class Params {
 public:
  Params& int64(std::int64_t value);
  Params& boolean(bool value);
  Params& text(std::string_view value);  // a text column; never holds NUL (ids, enums)
  Params& bytes(std::string_view value);  // a bytea column: any bytes
  Params& bytes(const Bytes& value);
  Params& optional_bytes(const std::optional<std::string>& value);
  Params& optional_int64(const std::optional<std::int64_t>& value);
  Params& null();

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object, valid while it lives unchanged; nullptr for NULL.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// An array in PostgreSQL's text format ('{"a","b",NULL}'), passed as one text parameter
// and cast in the SQL ($1::text[]): how a batch of values crosses in one statement.
class ArrayLiteral {
 public:
  ArrayLiteral& text(std::string_view value);  // never holds NUL
  ArrayLiteral& bytes(std::string_view value);  // for a bytea[]: any bytes
  ArrayLiteral& bytes(const Bytes& value);
  ArrayLiteral& optional_bytes(const std::optional<std::string>& value);
  ArrayLiteral& int64(std::int64_t value);
  std::string str() const { return "{" + elements_ + "}"; }

 private:
  void quoted(std::string_view element);
  std::string elements_;
};

// A query's result, freed on destruction. Columns and rows count from 0.
class Result {
 public:
  explicit Result(PGresult* result) : result_(result) {}
  // Hands the PGresult over (to be checked again as a new Result).
  PGresult* release() { return result_.release(); }

  int rows() const { return PQntuples(result_.get()); }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string_view value(int row, int column) const;
  Oid type(int column) const { return PQftype(result_.get(), column); }
  std::string column_name(int column) const;
  // Rows an INSERT, UPDATE or DELETE touched.
  std::size_t affected() const;
  // The command tag: "UPDATE 1", "SELECT 0", ...
  std::string_view command() const { return PQcmdStatus(result_.get()); }

 private:
  struct Clear {
    void operator()(PGresult* result) const { PQclear(result); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

struct ConnectionOptions {
  std::string conninfo;
  std::string schema;
  std::chrono::milliseconds statement_timeout{0};
};

class Connection {
 public:
  // Does not connect yet: the first query does (a pool sized for peak load only opens
  // the connections it uses).
  explicit Connection(ConnectionOptions options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Names the operation, and the task it is about (empty if none), in error messages until
  // the next call; `operation` must outlive that use (the backend passes string literals).
  void set_operation(std::string_view operation, std::string task_id = {}) {
    operation_ = operation;
    task_id_ = std::move(task_id);
  }
  std::string_view operation() const { return operation_; }
  // "mark_done of task 'a': postgres store (schema ts_1)", the start of every error message.
  std::string where() const;
  const std::string& schema() const { return options_.schema; }
  // The schema name quoted as an SQL identifier.
  std::string quoted_schema();

  // Runs `sql` (prepared on first use on this connection, then cached) with `params`.
  // Throws StorageError with the server's message if it fails.
  Result query(const std::string& sql, const Params& params = Params());
  // A statement of a pipeline: its SQL (prepared on first use) and parameters.
  struct Statement {
    const std::string& sql;
    const Params& params;
  };
  // Opens a transaction and runs `statements` in it, all sent in one round trip (libpq's
  // pipeline mode), and returns their results in order. Throws like query() for the first
  // that failed (the server skips the rest); the transaction is then to be rolled back.
  std::vector<Result> begin_pipelined(std::span<const Statement> statements);

  // Runs one or more statements without parameters (DDL, BEGIN, COMMIT).
  void exec(const std::string& sql);

  // `body` between BEGIN and COMMIT; an exception from `body` rolls back. Inside an open
  // transaction (a group commit's) it just runs `body`: the enclosing one commits.
  template <typename Body>
  std::invoke_result_t<Body&> transaction(Body&& body);
  bool in_transaction() const { return in_transaction_; }
  // Opens and closes a transaction by hand (a group commit spans many operations).
  void begin();
  void commit();

  // Rows written (inserted, updated, deleted) by this connection's statements so far: an
  // operation that fails after its count moved has written and must be undone.
  std::uint64_t writes() const { return writes_; }
  // True if the open transaction can no longer commit: a statement failed on the server
  // (PostgreSQL then refuses everything until ROLLBACK), or the connection is gone.
  bool transaction_failed() const;
  // The SQLSTATE of the last statement that failed on the server ("" if none did).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

  // Ends an open transaction without keeping any of it; a no-op outside one or on a lost
  // connection.
  void rollback_if_open() noexcept;

 private:
  struct Finish {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };

  // A live connection: opens it, or resets one the server dropped, before the next query.
  PGconn* live();
  // False if the server has closed this (idle) connection.
  bool still_open();
  void set_up_session();
  // The name `sql` is prepared under on this session, preparing it now if need be.
  const std::string& prepared_name(PGconn* conn, const std::string& sql);
  void count_writes(const Result& result);
  // Checks a result; throws the typed error (marking the connection for reset if the
  // server is gone).
  Result check(PGresult* raw, std::string_view sql);

  ConnectionOptions options_;
  std::string_view operation_ = "open";
  std::string task_id_;
  std::unique_ptr<PGconn, Finish> conn_;
  // Between BEGIN and COMMIT/ROLLBACK: a connection lost now must fail the operation, never
  // be reset, or the rest of the transaction would run in autocommit on a new session.
  bool in_transaction_ = false;
  std::uint64_t writes_ = 0;
  std::string last_sqlstate_;
  // SQL text -> the name it was prepared under on the current server session.
  std::unordered_map<std::string, std::string> prepared_;
};

template <typename Body>
std::invoke_result_t<Body&> Connection::transaction(Body&& body) {
  if (in_transaction_) return body();
  begin();
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Body&>>) {
      body();
      commit();
    } else {
      auto result = body();
      commit();
      return result;
    }
  } catch (...) {
    rollback_if_open();
    throw;
  }
}

}  // namespace taskstore::postgres
