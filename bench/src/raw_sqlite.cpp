// raw_sqlite and raw_sqlite_normal: the sqlite3 C API alone, with the backend's schema,
// pragmas and statement shape, and nothing else (no pool, no decoding checks, no
// savepoint, no retry beyond SQLite's busy timeout).
#include <sqlite3.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "baselines.hpp"

namespace taskstore::bench {

namespace fs = std::filesystem;

namespace {

constexpr int kBusyTimeoutMs = 5000;  // SqliteStorageOptions' default

// The backend's claim (backends/sqlite/src/queries.cpp) without its damaged-row
// exclusion list.
constexpr const char* kClaim =
    "UPDATE tasks SET status = 'RUNNING', attempts = MIN(attempts + 1, 2147483647), "
    "updated_at = ?1 "
    "WHERE seq = (SELECT seq FROM tasks WHERE status = 'PENDING' AND eta <= ?1 "
    "ORDER BY eta, seq LIMIT 1) "
    "RETURNING seq, id, name, payload, status, eta, attempts, max_retries, retry_backoff, "
    "retry_delay_us, retry_max_delay_us, retry_jitter, interval_us, last_error, created_at, "
    "updated_at";

constexpr const char* kInsert =
    "INSERT INTO tasks (id, name, payload, status, eta, attempts, max_retries, retry_backoff, "
    "retry_delay_us, retry_max_delay_us, retry_jitter, interval_us, last_error, created_at, "
    "updated_at) VALUES (?1, ?2, ?3, 'PENDING', ?4, 0, 0, 'fixed', 0, 0, 0, NULL, NULL, ?5, ?5)";

std::string text_column(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text == nullptr ? std::string()
                         : std::string(text, static_cast<std::size_t>(
                                                 sqlite3_column_bytes(stmt, column)));
}

// A claimed row as a Task, read straight from the columns without type checks.
Task read_task(sqlite3_stmt* stmt) {
  Task task;
  task.id = text_column(stmt, 1);
  task.name = text_column(stmt, 2);
  const auto* payload = static_cast<const std::byte*>(sqlite3_column_blob(stmt, 3));
  task.payload.assign(payload, payload + sqlite3_column_bytes(stmt, 3));
  task.status = parse_task_status(text_column(stmt, 4)).value_or(TaskStatus::RUNNING);
  task.eta = from_micros(sqlite3_column_int64(stmt, 5));
  task.attempts = static_cast<std::int32_t>(sqlite3_column_int64(stmt, 6));
  task.max_retries = static_cast<std::int32_t>(sqlite3_column_int64(stmt, 7));
  task.retry.backoff = text_column(stmt, 8) == "exponential" ? RetryPolicy::Backoff::exponential
                                                             : RetryPolicy::Backoff::fixed;
  task.retry.delay = Duration(sqlite3_column_int64(stmt, 9));
  task.retry.max_delay = Duration(sqlite3_column_int64(stmt, 10));
  task.retry.jitter = sqlite3_column_int64(stmt, 11) != 0;
  if (sqlite3_column_type(stmt, 12) != SQLITE_NULL) {
    task.schedule = IntervalSchedule{Duration(sqlite3_column_int64(stmt, 12))};
  }
  if (sqlite3_column_type(stmt, 13) != SQLITE_NULL) task.last_error = text_column(stmt, 13);
  task.created_at = from_micros(sqlite3_column_int64(stmt, 14));
  task.updated_at = from_micros(sqlite3_column_int64(stmt, 15));
  return task;
}

struct Finalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

struct Close {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

// One connection, opened as the backend opens its own (connection.cpp).
class RawConnection {
 public:
  RawConnection(const fs::path& path, bool synchronous_full) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) throw std::runtime_error("open " + path.string() + ": " + message());
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    exec("PRAGMA journal_mode=WAL");
    exec(synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
    rollback_ = prepare("ROLLBACK");
  }

  sqlite3* get() const { return db_.get(); }
  std::string message() const { return db_ ? sqlite3_errmsg(db_.get()) : "out of memory"; }

  void exec(const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sql) + ": " + message());
    }
  }

  StatementPtr prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                      nullptr);
    StatementPtr owned(stmt);
    if (rc != SQLITE_OK) throw std::runtime_error(std::string(sql) + ": " + message());
    return owned;
  }

  // Runs a statement without rows; returns SQLite's result code.
  int step_once(sqlite3_stmt* stmt) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc;
  }

  // BEGIN IMMEDIATE, waiting (busy timeout) and retrying while another writer holds the
  // lock. Returns how many times SQLITE_BUSY came back.
  std::uint64_t begin() {
    std::uint64_t busy = 0;
    for (;;) {
      const int rc = step_once(begin_.get());
      if (rc == SQLITE_DONE) return busy;
      if ((rc & 0xff) != SQLITE_BUSY) throw std::runtime_error("BEGIN IMMEDIATE: " + message());
      ++busy;
    }
  }

  void commit() {
    if (step_once(commit_.get()) != SQLITE_DONE) {
      const std::string error = message();
      step_once(rollback_.get());
      throw std::runtime_error("COMMIT: " + error);
    }
  }

  void rollback() { step_once(rollback_.get()); }

 private:
  std::unique_ptr<sqlite3, Close> db_;
  StatementPtr begin_;
  StatementPtr commit_;
  StatementPtr rollback_;
};

class RawSqliteContender final : public Contender {
 public:
  RawSqliteContender(const fs::path& path, bool synchronous_full)
      : connection_(path, synchronous_full), claim_(connection_.prepare(kClaim)) {}

  ClaimCount claim(std::uint64_t limit) override {
    ClaimCount count;
    while (count.claims < limit) {
      const std::uint64_t busy = connection_.begin();
      count.errors += busy;
      if (busy > 0 && count.first_error.empty()) count.first_error = "SQLITE_BUSY";
      std::optional<Task> task;
      sqlite3_stmt* stmt = claim_.get();
      sqlite3_bind_int64(stmt, 1, to_micros(now_utc()));
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        task = read_task(stmt);
        rc = sqlite3_step(stmt);
      }
      sqlite3_reset(stmt);
      if (rc != SQLITE_DONE) {
        const std::string error = connection_.message();
        connection_.rollback();
        throw std::runtime_error("claim: " + error);
      }
      connection_.commit();
      if (!task) break;
      ++count.claims;
    }
    return count;
  }

 private:
  RawConnection connection_;
  StatementPtr claim_;
};

class RawSqliteTarget final : public DrainTarget {
 public:
  RawSqliteTarget(fs::path path, bool synchronous_full)
      : path_(std::move(path)), synchronous_full_(synchronous_full) {}

  std::unique_ptr<Contender> contender() override {
    return std::make_unique<RawSqliteContender>(path_, synchronous_full_);
  }

 private:
  fs::path path_;
  bool synchronous_full_;
};

class RawSqliteEnqueuer final : public RawEnqueuer {
 public:
  RawSqliteEnqueuer(const fs::path& path, bool synchronous_full, std::size_t payload_bytes)
      : connection_(path, synchronous_full),
        insert_(connection_.prepare(kInsert)),
        payload_bytes_(payload_bytes) {}

  void enqueue(std::size_t index) override {
    const Task task = make_task(index, payload_bytes_, now_utc());
    connection_.begin();
    sqlite3_stmt* stmt = insert_.get();
    sqlite3_bind_text(stmt, 1, task.id.data(), static_cast<int>(task.id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, task.name.data(), static_cast<int>(task.name.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 3, task.payload.data(), static_cast<int>(task.payload.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 4, to_micros(task.eta));
    sqlite3_bind_int64(stmt, 5, to_micros(task.created_at));
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
      const std::string error = connection_.message();
      connection_.rollback();
      throw std::runtime_error("INSERT: " + error);
    }
    connection_.commit();
  }

 private:
  RawConnection connection_;
  StatementPtr insert_;
  std::size_t payload_bytes_;
};

// Creates (and preloads) the database through the backend, then closes it: the raw
// connections find the backend's schema, WAL mode and rows.
fs::path create_database(const BackendSpec& sqlite, const fs::path& scratch, std::size_t tasks,
                         std::size_t payload_bytes) {
  const fs::path path = store_location(scratch);
  sqlite.open(path, tasks, payload_bytes).reset();
  return path;
}

}  // namespace

BaselineSpec raw_sqlite_baseline(const BackendSpec& sqlite, bool synchronous_full) {
  return BaselineSpec{
      .medium = sqlite.medium,
      .drain = [sqlite, synchronous_full](const fs::path& scratch, std::size_t tasks,
                                          std::size_t payload_bytes) -> std::unique_ptr<DrainTarget> {
        return std::make_unique<RawSqliteTarget>(
            create_database(sqlite, scratch, tasks, payload_bytes), synchronous_full);
      },
      .enqueuer = [sqlite, synchronous_full](
                      const fs::path& scratch,
                      std::size_t payload_bytes) -> std::unique_ptr<RawEnqueuer> {
        return std::make_unique<RawSqliteEnqueuer>(
            create_database(sqlite, scratch, 0, payload_bytes), synchronous_full,
            payload_bytes);
      }};
}

}  // namespace taskstore::bench
