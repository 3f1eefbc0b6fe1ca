#include "postgres_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>

#include "settings.hpp"

namespace taskstore::bench {

namespace {

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

// Location -> schema, inherited by forked children (which open the same locations).
struct Schemas {
  std::mutex mutex;
  std::map<std::filesystem::path, std::string> by_location;
};

Schemas& schemas() {
  static Schemas instance;
  return instance;
}

std::string fresh_schema_name() {
  static std::atomic<unsigned> counter{0};
  // The random part keeps apart runs on other hosts with the same pid, and a run that died
  // before dropping its schemas.
  static const unsigned run = std::random_device{}() & 0xffffff;
  return "tsbench_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)) +
         "_" + std::to_string(run);
}

void drop_schema(const std::string& conninfo, const std::string& schema) {
  PgConnection connection(conninfo);
  connection.exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " +
                  connection.quote(schema) + " CASCADE");
}

}  // namespace

std::optional<std::string> postgres_conninfo() {
  const char* value = std::getenv("TASKSTORE_PG");
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string postgres_schema(const std::string& conninfo, const std::filesystem::path& location) {
  Schemas& all = schemas();
  std::lock_guard lock(all.mutex);
  const auto found = all.by_location.find(location);
  if (found != all.by_location.end()) return found->second;
  std::string schema = fresh_schema_name();
  all.by_location.emplace(location, schema);
  at_scratch_removal(location, [conninfo, location, schema] {
    {
      Schemas& all = schemas();
      std::lock_guard lock(all.mutex);
      all.by_location.erase(location);
    }
    drop_schema(conninfo, schema);
  });
  return schema;
}

PgConnection::PgConnection(const std::string& conninfo, const std::string& schema)
    : conn_(PQconnectdb(conninfo.c_str())) {
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    throw std::runtime_error("postgres: cannot connect: " + message());
  }
  if (!schema.empty()) exec("SET search_path TO " + quote(schema));
}

std::string PgConnection::message() const {
  return conn_ ? one_line(PQerrorMessage(conn_.get())) : "out of memory";
}

PgResult PgConnection::check(PGresult* raw, std::string_view what) {
  PgResult result(raw);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  std::string error = raw != nullptr ? one_line(PQresultErrorMessage(raw)) : std::string();
  if (error.empty()) error = message();
  throw std::runtime_error("postgres: " + std::string(what.substr(0, 80)) + ": " + error);
}

PgResult PgConnection::exec(const std::string& sql) {
  return check(PQexec(conn_.get(), sql.c_str()), sql);
}

PgResult PgConnection::query(const std::string& sql,
                             const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  return check(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0),
               sql);
}

void PgConnection::prepare(const std::string& name, const std::string& sql) {
  check(PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr), sql);
}

PgResult PgConnection::run_prepared(const std::string& name,
                                    const std::vector<const char*>& values) {
  return check(PQexecPrepared(conn_.get(), name.c_str(), static_cast<int>(values.size()),
                              values.data(), nullptr, nullptr, 0),
               name);
}

std::string PgConnection::quote(std::string_view identifier) {
  char* quoted = PQescapeIdentifier(conn_.get(), identifier.data(), identifier.size());
  if (quoted == nullptr) throw std::runtime_error("postgres: quote identifier: " + message());
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

std::string bytea_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex = "\\x";
  hex.reserve(2 + 2 * bytes.size());
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0x0f];
  }
  return hex;
}

std::string bytea_bytes(std::string_view hex) {
  const auto digit = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  if (hex.size() < 2) return out;
  out.reserve(hex.size() / 2 - 1);
  for (std::size_t i = 2; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>((digit(hex[i]) << 4) | digit(hex[i + 1]));
  }
  return out;
}

std::string postgres_server_summary(const std::string& conninfo) {
  try {
    PgConnection connection(conninfo);
    const PgResult rows = connection.exec(
        "SELECT split_part(version(), ' ', 2), current_setting('synchronous_commit'), "
        "current_setting('fsync'), current_setting('shared_buffers')");
    return "PostgreSQL " + std::string(rows.value(0, 0)) + ", synchronous_commit " +
           std::string(rows.value(0, 1)) + ", fsync " + std::string(rows.value(0, 2)) +
           ", shared_buffers " + std::string(rows.value(0, 3));
  } catch (const std::exception& e) {
    return std::string("unreachable: ") + e.what();
  }
}

}  // namespace taskstore::bench
