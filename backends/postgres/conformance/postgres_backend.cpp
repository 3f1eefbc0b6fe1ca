#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "taskstore/conformance/postgres_backend.hpp"
#include "taskstore/errors.hpp"
#include "taskstore/postgres_storage.hpp"

namespace taskstore::conformance {

namespace {

// A schema name no other test, thread or process picks, now or in an earlier run that
// died before dropping its schemas (hence the random part).
std::string unique_schema() {
  static std::atomic<unsigned> counter{0};
  static const unsigned run = std::random_device{}() & 0xffffff;
  return "ts_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_" +
         std::to_string(run);
}

// A short-lived libpq connection of the environment's own, behind the backend's back.
class RawConnection {
 public:
  explicit RawConnection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {}
  ~RawConnection() { PQfinish(conn_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn_); }

  // Runs `sql` with text parameters; the rows it changed, or -1 on failure.
  long run(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* result = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                    values.data(), nullptr, nullptr, 0);
    const auto status = PQresultStatus(result);
    const char* tuples = PQcmdTuples(result);
    const long changed = status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK ? -1
                         : tuples != nullptr && *tuples != '\0'            ? std::atol(tuples)
                                                                           : 0;
    PQclear(result);
    return changed;
  }

  // The first column of every row `sql` returns (nothing on failure).
  std::vector<std::string> column(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    std::vector<std::string> out;
    if (PQresultStatus(result) == PGRES_TUPLES_OK) {
      for (int row = 0; row < PQntuples(result); ++row) {
        out.emplace_back(PQgetvalue(result, row, 0));
      }
    }
    PQclear(result);
    return out;
  }

  std::string quote(const std::string& identifier) const {
    char* quoted = PQescapeIdentifier(conn_, identifier.data(), identifier.size());
    std::string out = quoted == nullptr ? identifier : std::string(quoted);
    PQfreemem(quoted);
    return out;
  }

 private:
  PGconn* conn_;
};

// Whether the process `pid` has ended (and been reaped).
bool process_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

class PostgresEnvironment final : public StoreEnvironment {
 public:
  explicit PostgresEnvironment(std::string conninfo)
      : conninfo_(std::move(conninfo)), schema_(unique_schema()) {}

  // Drops the schema, unless this is a forked child's copy (the parent owns it).
  ~PostgresEnvironment() override {
    if (::getpid() != creator_) return;
    RawConnection connection(conninfo_);
    if (connection.ok()) {
      connection.run("SET client_min_messages = warning");
      connection.run("DROP SCHEMA IF EXISTS " + connection.quote(schema_) + " CASCADE");
    }
  }

  std::shared_ptr<BaseStorage> open() override {
    wait_for_sessions_of_dead_processes();
    return std::make_shared<PostgresStorage>(
        PostgresStorageOptions{.conninfo = conninfo_, .schema = schema_});
  }
  std::shared_ptr<BaseStorage> open_with_clock(Clock clock) override {
    wait_for_sessions_of_dead_processes();
    return std::make_shared<PostgresStorage>(PostgresStorageOptions{
        .conninfo = conninfo_, .schema = schema_, .clock = std::move(clock)});
  }
  // As the backend names its store in every error message.
  std::string location() const override { return "postgres store (schema " + schema_ + ")"; }

  // A session of its own that locks both tables against writers (plain reads go on), as a
  // long transaction of another worker would, until the hold ends.
  std::unique_ptr<HeldLock> hold_write_lock() override {
    class TablesLock final : public HeldLock {
     public:
      TablesLock(const std::string& conninfo, const std::string& schema)
          : connection_(conninfo) {
        const std::string tables =
            connection_.quote(schema) + ".tasks, " + connection_.quote(schema) + ".results";
        if (!connection_.ok() || connection_.run("BEGIN") < 0 ||
            connection_.run("LOCK TABLE " + tables + " IN EXCLUSIVE MODE") < 0) {
          throw StorageError("hold_write_lock: cannot lock " + tables + ": " +
                             connection_.error());
        }
      }
      ~TablesLock() override { connection_.run("ROLLBACK"); }

     private:
      RawConnection connection_;
    };
    return std::make_unique<TablesLock>(conninfo_, schema_);
  }

  // Writes an unknown retry backoff into the task's row: the column's type allows it, the
  // backend's decoder does not, and the task stays PENDING (so the claim meets it).
  bool corrupt_task(const std::string& task_id) override {
    return update_one("tasks SET retry_backoff = 'sideways' WHERE id = $1", task_id);
  }

  // Writes an unknown status into the result's row; its finished_at stays readable, so a
  // purge may remove it by age (PUR-5 allows either).
  bool corrupt_result(const std::string& task_id) override {
    return update_one("results SET status = 'sideways' WHERE task_id = $1", task_id);
  }

 private:
  // Runs "UPDATE <schema>.<table_set_where>" with $1 = task_id on a connection of its own:
  // true if it changed one row.
  bool update_one(const std::string& table_set_where, const std::string& task_id) const {
    RawConnection connection(conninfo_);
    return connection.ok() &&
           connection.run("UPDATE " + connection.quote(schema_) + "." + table_set_where,
                          {task_id}) == 1;
  }

  // A client killed mid-operation leaves its server session behind until the server
  // notices, and that session may still commit what the client sent last. The crash tests
  // check the store right after the kill, as they would a file: so first wait until the
  // sessions of this store whose process has ended are gone (the backend names each
  // session "taskstore:<pid>:<schema>"). Bounded, in case the server never lets go.
  void wait_for_sessions_of_dead_processes() const {
    RawConnection connection(conninfo_);
    if (!connection.ok()) return;  // opening the store will report it
    const std::string suffix = ":" + schema_;
    for (int round = 0; round < 6000; ++round) {
      bool waiting = false;
      for (const std::string& name : connection.column(
               "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE "
               "'taskstore:%'")) {
        if (!name.ends_with(suffix)) continue;
        const std::string pid = name.substr(10, name.size() - 10 - suffix.size());
        if (process_gone(static_cast<pid_t>(std::atol(pid.c_str())))) waiting = true;
      }
      if (!waiting) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polls; decides nothing
    }
  }

  std::string conninfo_;
  std::string schema_;
  const pid_t creator_ = ::getpid();
};

}  // namespace

Backend postgres_backend(std::string conninfo) {
  return Backend{.name = "postgres",
                 .capabilities = {.persistent = true, .multi_process = true, .batch_claims = true},
                 .make_environment = [conninfo = std::move(conninfo)] {
                   return std::make_unique<PostgresEnvironment>(conninfo);
                 }};
}

Backend postgres_backend_from_environment() {
  const char* conninfo = std::getenv("TASKSTORE_PG");
  if (conninfo != nullptr && *conninfo != '\0') return postgres_backend(conninfo);
  Backend missing = postgres_backend("");
  missing.unavailable = kPostgresNotConfigured;
  missing.make_environment = []() -> std::unique_ptr<StoreEnvironment> {
    throw std::logic_error(kPostgresNotConfigured);
  };
  return missing;
}

BackendScheme postgres_scheme() {
  return BackendScheme{
      .name = "postgres",
      .arg_help = "CONNINFO",
      .help = "PostgreSQL store on the server CONNINFO (a libpq connection string, e.g. "
              "'host=/tmp/pg port=5432 dbname=taskstore'); each test uses a fresh schema, "
              "dropped afterwards",
      .make = [](const std::string& conninfo) { return postgres_backend(conninfo); },
      .default_arg = nullptr};
}

}  // namespace taskstore::conformance
