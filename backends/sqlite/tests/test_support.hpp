#pragma once
// Helpers shared by the SQLite backend's tests: a temporary directory, running a
// coroutine to completion, sample tasks, and a raw sqlite3 connection for reaching
// behind the backend.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <utility>

#include "taskstore/sqlite_storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::sqlite_test {

namespace asio = boost::asio;

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("taskstore-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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

inline SqliteStorageOptions options_for(const std::filesystem::path& db, Timestamp clock_now) {
  return SqliteStorageOptions{
      .path = db, .connections = 2, .clock = [clock_now] { return clock_now; }};
}

// A plain sqlite3 connection of the test's own (serialized threading mode, any thread).
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  sqlite3* get() const { return db_; }

  // Runs SQL that returns no rows; fails the test on error.
  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (error != nullptr ? error : "?");
    }
    sqlite3_free(error);
  }

  // The first column of the first row, as text ("" if no row).
  std::string query(const std::string& sql) { return query_on(db_, sql); }

  static std::string query_on(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
      return out;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      if (text != nullptr) out = text;
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace taskstore::sqlite_test
