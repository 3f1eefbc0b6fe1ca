#pragma once
// RAII wrappers around sqlite3* and sqlite3_stmt*, the mapping of SQLite result codes to
// the contract's typed errors, and the busy-retry loop around whole transactions.
// A Connection is used by one thread at a time (the pool's checkout guarantees it), so it
// is opened with SQLITE_OPEN_NOMUTEX.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "taskstore/errors.hpp"
#include "taskstore/task.hpp"

namespace taskstore::sqlite {

// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock we need. The retry loop
// catches it; should it ever escape, it is still a StorageError.
class BusyError : public StorageError {
 public:
  using StorageError::StorageError;
};

struct ConnectionOptions {
  std::filesystem::path path;
  // SQLite's PRAGMA synchronous value: FULL, NORMAL or OFF.
  const char* synchronous = "FULL";
  std::chrono::milliseconds busy_timeout{5000};
  int busy_retries = 20;
};

class Connection;

// A prepared statement. Column and bind indexes follow SQLite (binds from 1, columns
// from 0). Errors throw through the owning connection, so they name the operation.
class Statement {
 public:
  Statement(Connection& connection, sqlite3_stmt* stmt) : connection_(connection), stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind_int64(int index, std::int64_t value);
  void bind_text(int index, std::string_view value);
  void bind_optional_text(int index, const std::optional<std::string>& value);
  void bind_blob(int index, const Bytes& value);
  void bind_null(int index);

  // Runs the statement to its next row: true if a row is ready, false once done.
  bool step();
  // Back to the start with no bindings; never throws (the error was reported by step).
  void reset() noexcept;

  int column_count() const;
  int column_type(int column) const;
  std::int64_t column_int64(int column) const;
  std::string column_text(int column) const;
  Bytes column_blob(int column) const;
  std::string_view column_name(int column) const;

  Connection& connection() const { return connection_; }

 private:
  void check_bind(int rc);

  Connection& connection_;
  sqlite3_stmt* stmt_;
};

// A cached statement in use. Resetting on scope exit releases the read snapshot a
// half-stepped statement would hold and drops the bindings.
class ScopedStatement {
 public:
  explicit ScopedStatement(Statement& statement) : statement_(statement) {}
  ~ScopedStatement() { statement_.reset(); }
  ScopedStatement(const ScopedStatement&) = delete;
  ScopedStatement& operator=(const ScopedStatement&) = delete;

  Statement* operator->() const { return &statement_; }
  Statement& operator*() const { return statement_; }

 private:
  Statement& statement_;
};

class Connection {
 public:
  // Opens (creating if missing) the database, sets the busy timeout, WAL journal mode and
  // the synchronous level. Throws CorruptionError for a file that is not a database.
  explicit Connection(ConnectionOptions options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* native() const { return db_.get(); }
  const std::filesystem::path& path() const { return options_.path; }

  // Names the operation, and the task it is about (empty if none), in error messages until
  // the next call; `operation` must outlive that use (the backend passes string literals).
  void set_operation(std::string_view operation, std::string task_id = {}) {
    operation_ = operation;
    task_id_ = std::move(task_id);
  }
  std::string_view operation() const { return operation_; }
  // "mark_done of task 'a': sqlite store /tmp/x.db", the start of every error message.
  std::string where() const;


  // The statement for `sql`, prepared on first use and cached for the connection's life.
  ScopedStatement statement(const std::string& sql);
  // Runs one or more statements that return no rows (DDL).
  void exec(const std::string& sql);

  // Throws the typed error for the result code `rc` of the latest call on this connection.
  [[noreturn]] void fail(int rc) const;

  // Ends an open transaction without keeping any of it; a no-op outside one.
  void rollback_if_open() noexcept;
  // True between BEGIN and the COMMIT or ROLLBACK (SQLite may roll back by itself after
  // some errors, such as a full disk).
  bool in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

  // Runs `body`; while it fails with BusyError, rolls back, sleeps a little longer each
  // time and runs it again, up to busy_retries times; then StorageError("... locked").
  template <typename Body>
  std::invoke_result_t<Body&> retry_busy(Body&& body);

  // `body` inside BEGIN IMMEDIATE ... COMMIT, the whole transaction retried while busy.
  // An exception from `body` rolls back. Inside a transaction that is already open (a
  // commit group's), runs just `body`: the group owns the commit and the retries.
  template <typename Body>
  std::invoke_result_t<Body&> write_transaction(Body&& body);

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };

  void set_journal_mode_wal();
  void sleep_before_retry(int attempt) const;
  [[noreturn]] void fail_locked(int attempts) const;

  ConnectionOptions options_;
  std::string_view operation_ = "open";
  std::string task_id_;
  std::unique_ptr<sqlite3, Closer> db_;
  // Declared after db_ so the statements are finalized before the connection closes.
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
};

// BEGIN IMMEDIATE on construction: takes the write lock up front, so a transaction never
// has to upgrade a read lock (which could fail with SQLITE_BUSY halfway through).
// Rolls back on destruction unless committed (or if COMMIT itself failed).
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction() { connection_.rollback_if_open(); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Connection& connection_;
};

template <typename Body>
std::invoke_result_t<Body&> Connection::retry_busy(Body&& body) {
  for (int attempt = 0;; ++attempt) {
    try {
      return body();
    } catch (const BusyError&) {
      rollback_if_open();
      if (attempt >= options_.busy_retries) fail_locked(attempt + 1);
      sleep_before_retry(attempt);
    }
  }
}

template <typename Body>
std::invoke_result_t<Body&> Connection::write_transaction(Body&& body) {
  if (in_transaction()) return body();
  return retry_busy([&]() -> std::invoke_result_t<Body&> {
    Transaction transaction(*this);
    if constexpr (std::is_void_v<std::invoke_result_t<Body&>>) {
      body();
      transaction.commit();
    } else {
      auto result = body();
      transaction.commit();
      return result;
    }
  });
}

}  // namespace taskstore::sqlite
