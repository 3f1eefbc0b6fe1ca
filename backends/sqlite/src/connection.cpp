#include "connection.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <random>
#include <thread>

namespace taskstore::sqlite {

// --- Statement -----------------------------------------------------------------------------

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::check_bind(int rc) {
  if (rc != SQLITE_OK) connection_.fail(rc);
}

void Statement::bind_int64(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value));
}

void Statement::bind_text(int index, std::string_view value) {
  // data() of an empty view may be null, which would bind NULL instead of ''.
  static constexpr char kEmpty[] = "";
  const char* data = value.empty() ? kEmpty : value.data();
  check_bind(sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void Statement::bind_optional_text(int index, const std::optional<std::string>& value) {
  if (value) {
    bind_text(index, *value);
  } else {
    bind_null(index);
  }
}

void Statement::bind_blob(int index, const Bytes& value) {
  // A null pointer would bind NULL; a zero-length blob keeps "empty" distinct from it.
  if (value.empty()) {
    check_bind(sqlite3_bind_zeroblob(stmt_, index, 0));
  } else {
    check_bind(sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT));
  }
}

void Statement::bind_null(int index) { check_bind(sqlite3_bind_null(stmt_, index)); }

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  connection_.fail(rc);
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Statement::column_count() const { return sqlite3_column_count(stmt_); }

int Statement::column_type(int column) const { return sqlite3_column_type(stmt_, column); }

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);  // after column_text, as SQLite asks
  return text == nullptr ? std::string() : std::string(text, static_cast<std::size_t>(size));
}

Bytes Statement::column_blob(int column) const {
  const auto* data = static_cast<const std::byte*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? Bytes() : Bytes(data, data + size);
}

std::string_view Statement::column_name(int column) const {
  const char* name = sqlite3_column_name(stmt_, column);
  return name == nullptr ? std::string_view("?") : std::string_view(name);
}

// --- Connection ----------------------------------------------------------------------------

Connection::Connection(ConnectionOptions options) : options_(std::move(options)) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(options_.path.c_str(), &raw, flags, nullptr);
  db_.reset(raw);  // closes it even when the open failed
  if (rc != SQLITE_OK) {
    const std::string message = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw StorageError(where() + ": cannot open the database: " + message);
  }
  sqlite3_extended_result_codes(raw, 1);
  const std::int64_t timeout_ms =
      std::clamp<std::int64_t>(options_.busy_timeout.count(), 0, std::numeric_limits<int>::max());
  sqlite3_busy_timeout(raw, static_cast<int>(timeout_ms));
  // Switching to WAL needs an exclusive lock, so it reports SQLITE_BUSY, busy timeout or
  // not, while another process is opening the same file: retry it.
  retry_busy([this] { set_journal_mode_wal(); });
  exec(std::string("PRAGMA synchronous=") + options_.synchronous);
}

std::string Connection::where() const {
  std::string subject(operation_);
  if (!task_id_.empty()) subject += " of task '" + task_id_ + "'";
  return subject + ": sqlite store " + options_.path.string();
}

ScopedStatement Connection::statement(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      fail(rc);
    }
    found = statements_.emplace(sql, std::make_unique<Statement>(*this, stmt)).first;
  }
  return ScopedStatement(*found->second);
}

void Connection::exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc);
}

void Connection::fail(int rc) const {
  const std::string message = sqlite3_errmsg(db_.get());
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw BusyError(where() + ": " + message);
    case SQLITE_NOTADB:
      throw CorruptionError(where() + " is not an SQLite database (" + message + ")");
    case SQLITE_CORRUPT:
      throw CorruptionError(where() + " is corrupt (" + message + ")");
    default:
      throw StorageError(where() + ": " + message + " (sqlite error " + std::to_string(rc) + ")");
  }
}

void Connection::set_journal_mode_wal() {
  auto stmt = statement("PRAGMA journal_mode=WAL");
  std::string mode = stmt->step() ? stmt->column_text(0) : std::string();
  std::transform(mode.begin(), mode.end(), mode.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (mode != "wal") {
    throw StorageError(where() + ": cannot switch to WAL journal mode (the database reports '" +
                       mode + "')");
  }
}

void Connection::rollback_if_open() noexcept {
  if (sqlite3_get_autocommit(db_.get()) == 0) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Connection::sleep_before_retry(int attempt) const {
  // 1, 2, 4 ... 64 ms, with jitter so processes that collided don't collide again.
  thread_local std::minstd_rand random(std::random_device{}());
  const int base_ms = 1 << std::min(attempt, 6);
  std::uniform_int_distribution<int> jitter(0, base_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(base_ms + jitter(random)));
}

void Connection::fail_locked(int attempts) const {
  throw StorageError(where() + ": database is locked; gave up after " + std::to_string(attempts) +
                     " attempts with a busy timeout of " +
                     std::to_string(options_.busy_timeout.count()) + " ms each");
}

// --- Transaction ---------------------------------------------------------------------------

Transaction::Transaction(Connection& connection) : connection_(connection) {
  connection_.statement("BEGIN IMMEDIATE")->step();
}

void Transaction::commit() { connection_.statement("COMMIT")->step(); }

}  // namespace taskstore::sqlite
