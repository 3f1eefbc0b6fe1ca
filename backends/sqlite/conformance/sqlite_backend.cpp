#include "taskstore/conformance/sqlite_backend.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::conformance {

namespace fs = std::filesystem;
using detail::prepared_parent;
using detail::remove_quietly;
using detail::unique_name;

namespace {

class SqliteEnvironment final : public StoreEnvironment {
 public:
  // A directory of its own per store: the power-cut model rebuilds it whole.
  SqliteEnvironment(const fs::path& parent, SqliteStorageOptions::Synchronous synchronous)
      : directory_(parent / unique_name("store")),
        path_(directory_ / "queue.db"),
        synchronous_(synchronous) {
    std::error_code error;
    fs::create_directories(directory_, error);
    if (error) {
      throw StorageError("sqlite backend: cannot create the store directory " +
                         directory_.string() + ": " + error.message());
    }
  }
  ~SqliteEnvironment() override {
    if (::getpid() == creator_) remove_quietly(directory_);
  }

  std::shared_ptr<BaseStorage> open() override {
    return std::make_shared<SqliteStorage>(
        SqliteStorageOptions{.path = path_, .synchronous = synchronous_});
  }
  std::shared_ptr<BaseStorage> open_with_clock(Clock clock) override {
    return std::make_shared<SqliteStorage>(SqliteStorageOptions{
        .path = path_, .synchronous = synchronous_, .clock = std::move(clock)});
  }
  std::string location() const override { return path_.string(); }
  std::optional<fs::path> files_directory() const override { return directory_; }

  // A connection of its own in a write transaction (BEGIN IMMEDIATE), as another process's
  // would be, until the hold ends.
  std::unique_ptr<HeldLock> hold_write_lock() override {
    class WriteTransaction final : public HeldLock {
     public:
      explicit WriteTransaction(const fs::path& path) {
        const int opened = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
        if (opened != SQLITE_OK || sqlite3_busy_timeout(db_, 5000) != SQLITE_OK ||
            sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
          const std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(opened);
          sqlite3_close_v2(db_);
          throw StorageError("hold_write_lock: cannot begin a write transaction on " +
                             path.string() + ": " + why);
        }
      }
      ~WriteTransaction() override {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close_v2(db_);
      }

     private:
      sqlite3* db_ = nullptr;
    };
    return std::make_unique<WriteTransaction>(path_);
  }

  // Writes a value of the wrong type into the task's eta column, behind the backend.
  bool corrupt_task(const std::string& task_id) override {
    return update_one("UPDATE tasks SET eta = 'not a time' WHERE id = ?1", task_id);
  }

  // The same for the result's finished_at: as text it sorts after every number, so a purge
  // passes over it and the damaged result stays (PUR-5 allows either).
  bool corrupt_result(const std::string& task_id) override {
    return update_one("UPDATE results SET finished_at = 'not a time' WHERE task_id = ?1", task_id);
  }

 private:
  // Runs `sql` with ?1 = task_id on a connection of its own: true if it changed one row.
  bool update_one(const char* sql, const std::string& task_id) const {
    sqlite3* db = nullptr;
    bool ok = sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK;
    sqlite3_stmt* stmt = nullptr;
    ok = ok && sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
         sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
         sqlite3_bind_text(stmt, 1, task_id.data(), static_cast<int>(task_id.size()),
                           SQLITE_TRANSIENT) == SQLITE_OK &&
         sqlite3_step(stmt) == SQLITE_DONE && sqlite3_changes(db) == 1;
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return ok;
  }

  fs::path directory_;
  fs::path path_;
  SqliteStorageOptions::Synchronous synchronous_;
  pid_t creator_ = ::getpid();  // a forked child's copy leaves the store alone
};

}  // namespace

Backend sqlite_backend(fs::path parent, SqliteStorageOptions::Synchronous synchronous) {
  parent = prepared_parent(std::move(parent), "sqlite");
  return Backend{.name = "sqlite",
                 .capabilities = {.persistent = true,
                                  .multi_process = true,
                                  .survives_power_loss =
                                      synchronous == SqliteStorageOptions::Synchronous::full,
                                  .batch_claims = true},
                 .make_environment = [parent, synchronous] {
                   return std::make_unique<SqliteEnvironment>(parent, synchronous);
                 }};
}

BackendScheme sqlite_scheme() {
  return directory_scheme("sqlite", "SQLite store; each test uses a fresh database file in DIR",
                          [](const std::string& dir) { return sqlite_backend(dir); });
}

}  // namespace taskstore::conformance
