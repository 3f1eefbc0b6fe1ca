#pragma once
// Helpers shared by the PostgreSQL backend's tests: the server from TASKSTORE_PG (each
// test skips, visibly, without one), a fresh schema per test dropped afterwards, sample
// tasks, and a raw libpq connection for reaching behind the backend.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "taskstore/postgres_storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::postgres_test {

namespace asio = boost::asio;

inline constexpr const char* kNoServer =
    "postgres: TASKSTORE_PG is not set; start a server with ci/postgres-cluster.sh";

// The connection string of the test server, or "" if none is configured.
inline std::string server_conninfo() {
  const char* conninfo = std::getenv("TASKSTORE_PG");
  return conninfo == nullptr ? std::string() : std::string(conninfo);
}

// A schema name no other test, thread or process picks.
inline std::string unique_schema() {
  static std::atomic<unsigned> counter{0};
  return "ts_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
}

inline Timestamp at(std::int64_t micros) { return from_micros(micros); }

// A valid PENDING task due at `eta` (microseconds since the epoch).
inline Task make_task(std::string id, std::int64_t eta = 1'000) {
  Task task;
  task.id = std::move(id);
  task.name = "send_email";
  task.payload = to_bytes(std::string("pay\0load", 8));
  task.eta = at(eta);
  task.max_retries = 3;
  task.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::exponential,
                           .delay = Duration(250'000),
                           .max_delay = Duration(10'000'000),
                           .jitter = true};
  task.created_at = at(500);
  task.updated_at = at(600);
  return task;
}

// A plain libpq connection of the test's own, for reaching behind the backend.
class RawPg {
 public:
  explicit RawPg(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      ADD_FAILURE() << "cannot connect to " << conninfo << ": " << PQerrorMessage(conn_);
    }
    exec("SET client_min_messages = warning");  // no NOTICEs from DROP ... CASCADE
  }
  ~RawPg() { PQfinish(conn_); }
  RawPg(const RawPg&) = delete;
  RawPg& operator=(const RawPg&) = delete;

  // Runs SQL; fails the test on error.
  void exec(const std::string& sql) { query(sql); }

  // The first column of the first row, as text ("" if no row).
  std::string query(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    std::string out;
    const auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(result);
    } else if (PQntuples(result) > 0 && PQnfields(result) > 0) {
      out = PQgetvalue(result, 0, 0);
    }
    PQclear(result);
    return out;
  }

 private:
  PGconn* conn_;
};

// Each test gets a fresh schema on the TASKSTORE_PG server, dropped afterwards; without a
// server the test is skipped with kNoServer.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = server_conninfo();
    if (conninfo_.empty()) GTEST_SKIP() << kNoServer;
    schema_ = unique_schema();
    // A run that died before its TearDown may have left a schema of this name behind.
    RawPg(conninfo_).exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }
  void TearDown() override {
    if (!schema_.empty()) RawPg(conninfo_).exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }

  PostgresStorageOptions options(Timestamp clock_now = at(0)) const {
    return PostgresStorageOptions{.conninfo = conninfo_,
                                  .schema = schema_,
                                  .connections = 2,
                                  .clock = [clock_now] { return clock_now; }};
  }

  // A raw connection whose search_path is the test's schema.
  std::unique_ptr<RawPg> raw() const {
    auto connection = std::make_unique<RawPg>(conninfo_);
    connection->exec("SET search_path TO " + schema_);
    return connection;
  }

  std::string conninfo_;
  std::string schema_;
  asio::io_context io_;
};

}  // namespace taskstore::postgres_test
