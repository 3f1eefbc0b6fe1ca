#include "connection.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace taskstore::postgres {

// --- Params --------------------------------------------------------------------------------

Params& Params::int64(std::int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}

Params& Params::boolean(bool value) {
  values_.emplace_back(value ? "t" : "f");
  return *this;
}

Params& Params::text(std::string_view value) {
  values_.emplace_back(std::string(value));
  return *this;
}

namespace {

// bytea's hex input form: "\x" then two hex digits a byte.
std::string bytea_hex(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex = "\\x";
  hex.reserve(2 + 2 * value.size());
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0x0f];
  }
  return hex;
}

std::string_view as_chars(const Bytes& value) {
  return std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
}

}  // namespace

Params& Params::bytes(std::string_view value) {
  values_.emplace_back(bytea_hex(value));
  return *this;
}

Params& Params::bytes(const Bytes& value) { return bytes(as_chars(value)); }

Params& Params::optional_bytes(const std::optional<std::string>& value) {
  return value ? bytes(*value) : null();
}

Params& Params::optional_int64(const std::optional<std::int64_t>& value) {
  return value ? int64(*value) : null();
}

Params& Params::null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& value : values_) out.push_back(value ? value->c_str() : nullptr);
  return out;
}

// --- ArrayLiteral --------------------------------------------------------------------------

void ArrayLiteral::quoted(std::string_view element) {
  // Every element quoted, with " and \ escaped, so commas, braces, spaces and the word
  // NULL inside a value stay part of it.
  if (!elements_.empty()) elements_ += ',';
  elements_ += '"';
  for (const char c : element) {
    if (c == '"' || c == '\\') elements_ += '\\';
    elements_ += c;
  }
  elements_ += '"';
}

ArrayLiteral& ArrayLiteral::text(std::string_view value) {
  quoted(value);
  return *this;
}

ArrayLiteral& ArrayLiteral::bytes(std::string_view value) {
  quoted(bytea_hex(value));
  return *this;
}

ArrayLiteral& ArrayLiteral::bytes(const Bytes& value) { return bytes(as_chars(value)); }

ArrayLiteral& ArrayLiteral::optional_bytes(const std::optional<std::string>& value) {
  if (value) return bytes(*value);
  if (!elements_.empty()) elements_ += ',';
  elements_ += "NULL";
  return *this;
}

ArrayLiteral& ArrayLiteral::int64(std::int64_t value) {
  if (!elements_.empty()) elements_ += ',';
  elements_ += std::to_string(value);
  return *this;
}

// --- Result --------------------------------------------------------------------------------

std::string_view Result::value(int row, int column) const {
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::string Result::column_name(int column) const {
  const char* name = PQfname(result_.get(), column);
  return name == nullptr ? "#" + std::to_string(column) : std::string(name);
}

std::size_t Result::affected() const {
  const char* count = PQcmdTuples(result_.get());
  return count == nullptr || *count == '\0' ? 0 : std::strtoull(count, nullptr, 10);
}

// --- Connection ----------------------------------------------------------------------------

namespace {

// libpq's messages end in a newline (sometimes several lines); one line reads better in a
// test log.
std::string one_line(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  return message;
}

}  // namespace

Connection::Connection(ConnectionOptions options) : options_(std::move(options)) {}

std::string Connection::where() const {
  std::string subject(operation_);
  if (!task_id_.empty()) subject += " of task '" + task_id_ + "'";
  return subject + ": postgres store (schema " + options_.schema + ")";
}

std::string Connection::quoted_schema() {
  PGconn* conn = live();
  char* quoted = PQescapeIdentifier(conn, options_.schema.data(), options_.schema.size());
  if (quoted == nullptr) {
    throw StorageError(where() + ": invalid schema name: " + one_line(PQerrorMessage(conn)));
  }
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

PGconn* Connection::live() {
  if (!conn_) {
    // A connect_timeout unless the connection string sets one (it comes later, so it
    // wins): against a server that stops answering, connecting must fail, not hang.
    const char* const keywords[] = {"connect_timeout", "dbname", nullptr};
    const char* const values[] = {"10", options_.conninfo.c_str(), nullptr};
    conn_.reset(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
    if (!conn_) throw StorageError(where() + ": cannot allocate a libpq connection");
    // libpq prints server notices to stderr by default; errors reach callers as exceptions,
    // and a library must not write to a test's or a worker's stderr.
    PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
  } else if (in_transaction_) {
    // Never reset inside a transaction (see in_transaction_): a dead session fails the
    // statement, and with it the operation.
    if (PQstatus(conn_.get()) == CONNECTION_OK) return conn_.get();
    throw StorageError(where() + ": lost the connection to the server in the middle of a "
                       "transaction: " + one_line(PQerrorMessage(conn_.get())));
  } else if (PQstatus(conn_.get()) == CONNECTION_OK) {
    if (still_open()) return conn_.get();
    PQreset(conn_.get());
  } else {
    PQreset(conn_.get());
  }
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw StorageError(where() + ": cannot connect to the server: " +
                       one_line(PQerrorMessage(conn_.get())));
  }
  // A new server session: nothing is prepared there yet.
  prepared_.clear();
  try {
    set_up_session();
  } catch (...) {
    conn_.reset();  // never run a query outside the store's schema: start over next time
    throw;
  }
  return conn_.get();
}

bool Connection::still_open() {
  // An idle connection learns that the server closed it (a restart, an administrator's
  // pg_terminate_backend) only from what waits on its socket: the server's goodbye, then
  // end of file. Read that now, without waiting, so such a connection is reset before use
  // instead of failing the next operation. A few rounds at most: the goodbye and the end
  // of file may need one read each.
  for (int round = 0; round < 4; ++round) {
    pollfd waiting{.fd = PQsocket(conn_.get()), .events = POLLIN, .revents = 0};
    if (::poll(&waiting, 1, 0) <= 0) break;
    if (PQconsumeInput(conn_.get()) == 0) return false;
    if (PQstatus(conn_.get()) != CONNECTION_OK) return false;
  }
  return PQstatus(conn_.get()) == CONNECTION_OK;
}

void Connection::set_up_session() {
  char* quoted = PQescapeIdentifier(conn_.get(), options_.schema.data(), options_.schema.size());
  if (quoted == nullptr) {
    throw StorageError(where() + ": invalid schema name: " + one_line(PQerrorMessage(conn_.get())));
  }
  // application_name says which process and store a session serves (pg_stat_activity):
  // the pid first, since the server cuts the name at 63 bytes.
  const std::string application = "taskstore:" + std::to_string(::getpid()) + ":" + options_.schema;
  char* application_literal = PQescapeLiteral(conn_.get(), application.data(), application.size());
  std::string sql = std::string("SET search_path TO ") + quoted + "; SET statement_timeout = " +
                    std::to_string(options_.statement_timeout.count()) +
                    "; SET client_min_messages = warning; SET bytea_output = hex" +
                    "; SET client_encoding = 'UTF8'" +
                    (application_literal != nullptr
                         ? std::string("; SET application_name = ") + application_literal
                         : std::string());
  PQfreemem(quoted);
  PQfreemem(application_literal);
  check(PQexec(conn_.get(), sql.c_str()), "session settings");
}

Result Connection::check(PGresult* raw, std::string_view sql) {
  Result result(raw);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    last_sqlstate_.clear();
    return result;
  }

  std::string message = raw != nullptr ? one_line(PQresultErrorMessage(raw)) : std::string();
  if (message.empty()) message = one_line(PQerrorMessage(conn_.get()));
  const char* state = raw != nullptr ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  std::string detail = " (";
  if (state != nullptr) detail += std::string("SQLSTATE ") + state + ", ";
  detail += "in: " + std::string(sql.substr(0, 60)) + (sql.size() > 60 ? "...)" : ")");
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    // The server or the network is gone; live() resets the connection before its next use.
    throw StorageError(where() + ": lost the connection to the server: " + message + detail);
  }
  throw StorageError(where() + ": " + message + detail);
}

const std::string& Connection::prepared_name(PGconn* conn, const std::string& sql) {
  auto found = prepared_.find(sql);
  if (found == prepared_.end()) {
    std::string name = "ts" + std::to_string(prepared_.size());
    check(PQprepare(conn, name.c_str(), sql.c_str(), 0, nullptr), sql);
    found = prepared_.emplace(sql, std::move(name)).first;
  }
  return found->second;
}

void Connection::count_writes(const Result& result) {
  // "SELECT n" counts rows read (FOR UPDATE locks, never writes); INSERT, UPDATE and
  // DELETE count rows written.
  if (!result.command().starts_with("SELECT")) writes_ += result.affected();
}

Result Connection::query(const std::string& sql, const Params& params) {
  last_sqlstate_.clear();  // a failure that never reaches the server has none
  PGconn* conn = live();
  const std::string& name = prepared_name(conn, sql);
  const std::vector<const char*> values = params.pointers();
  Result result =
      check(PQexecPrepared(conn, name.c_str(), params.size(), values.data(), nullptr, nullptr, 0),
            sql);
  count_writes(result);
  return result;
}

std::vector<Result> Connection::begin_pipelined(std::span<const Statement> statements) {
  last_sqlstate_.clear();
  PGconn* conn = live();
  std::vector<std::string> names;
  for (const Statement& statement : statements) names.push_back(prepared_name(conn, statement.sql));
  std::vector<std::vector<const char*>> values;
  for (const Statement& statement : statements) values.push_back(statement.params.pointers());

  auto broken = [&](const char* step) {
    return StorageError(where() + ": " + step + " failed: " + one_line(PQerrorMessage(conn)));
  };
  if (PQenterPipelineMode(conn) != 1) throw broken("entering pipeline mode");
  // From here the transaction is open (or aborted): a failure must end in a rollback.
  in_transaction_ = true;
  // Leaves pipeline mode on every path. If results are still pending (a send failed
  // halfway), libpq refuses, and the session could run nothing else: it is dropped, and
  // the next use outside a transaction connects afresh.
  struct Leave {
    Connection& owner;
    PGconn* conn;
    ~Leave() {
      PQsetnonblocking(conn, 0);
      if (PQexitPipelineMode(conn) != 1) owner.conn_.reset();
    }
  } leave{*this, conn};
  // Non-blocking while sending: a big batch could fill the socket while the server is
  // blocked sending us an earlier statement's rows, so read whatever arrives as we send.
  if (PQsetnonblocking(conn, 1) != 0) throw broken("switching to non-blocking");
  if (PQsendQueryParams(conn, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
    throw broken("sending BEGIN");
  }
  for (std::size_t i = 0; i < statements.size(); ++i) {
    if (PQsendQueryPrepared(conn, names[i].c_str(), statements[i].params.size(),
                            values[i].data(), nullptr, nullptr, 0) != 1) {
      throw broken("sending a statement");
    }
  }
  if (PQpipelineSync(conn) != 1) throw broken("sending the pipeline");
  for (;;) {
    const int pending = PQflush(conn);
    if (pending == 0) break;
    if (pending < 0) throw broken("sending the pipeline");
    pollfd ready{.fd = PQsocket(conn), .events = POLLIN | POLLOUT, .revents = 0};
    if (::poll(&ready, 1, -1) < 0 && errno != EINTR) throw broken("waiting on the socket");
    if ((ready.revents & POLLIN) != 0 && PQconsumeInput(conn) != 1) {
      throw broken("reading while sending");
    }
  }
  if (PQsetnonblocking(conn, 0) != 0) throw broken("switching back to blocking");

  // Every result is read before any is checked: the pipeline must be drained to its
  // sync point before the connection can be used again. After a failure the server
  // skips the rest (PGRES_PIPELINE_ABORTED).
  std::vector<Result> results;
  const std::size_t expected = statements.size() + 1;  // BEGIN first
  // Each statement's results end with a null; a run of nulls longer than the pipeline
  // means libpq has nothing more to give (a broken connection), never a reason to spin.
  std::size_t nulls = 0;
  const std::size_t max_nulls = expected + 2;
  bool synced = false;
  while (!synced && nulls <= max_nulls) {
    PGresult* raw = PQgetResult(conn);
    if (raw == nullptr) {
      if (PQstatus(conn) != CONNECTION_OK) break;
      ++nulls;
      continue;
    }
    if (PQresultStatus(raw) == PGRES_PIPELINE_SYNC) {
      PQclear(raw);
      synced = true;
    } else if (results.size() < expected) {
      results.emplace_back(raw);
    } else {
      PQclear(raw);
    }
  }
  if (results.size() < expected || !synced) {
    throw StorageError(where() + ": lost the connection to the server: " +
                       one_line(PQerrorMessage(conn)));
  }
  check(results[0].release(), "BEGIN");
  std::vector<Result> out;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    out.push_back(check(results[i + 1].release(), statements[i].sql));
    count_writes(out.back());
  }
  return out;
}

void Connection::exec(const std::string& sql) {
  last_sqlstate_.clear();
  check(PQexec(live(), sql.c_str()), sql);
}

void Connection::begin() {
  exec("BEGIN");
  in_transaction_ = true;
}

void Connection::commit() {
  // Whatever COMMIT does, the transaction is over: a failed COMMIT ends it too.
  struct Ends {
    bool& flag;
    ~Ends() { flag = false; }
  } ends{in_transaction_};
  // The server answers COMMIT of a failed transaction with a rollback, not an error:
  // never let that pass for a commit.
  if (transaction_failed()) {
    throw StorageError(where() + ": the transaction failed before COMMIT; none of it was kept");
  }
  exec("COMMIT");
}

bool Connection::transaction_failed() const {
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) return true;
  return PQtransactionStatus(conn_.get()) == PQTRANS_INERROR;
}

void Connection::rollback_if_open() noexcept {
  in_transaction_ = false;
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) return;
  if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
  PQclear(PQexec(conn_.get(), "ROLLBACK"));
}

}  // namespace taskstore::postgres
