// raw_postgres: libpq alone, with the backend's schema and claim statement, and nothing
// else (no pool thread, no transaction around the claim, no decoding checks, no
// damaged-row list). Every statement runs in autocommit at the server's
// synchronous_commit, so a claim costs one commit, as the backend's does.
#include <charconv>
#include <memory>
#include <stdexcept>
#include <string>

#include "baselines.hpp"
#include "postgres_support.hpp"

namespace taskstore::bench {

namespace fs = std::filesystem;

namespace {

// The backend's claim (backends/postgres/src/queries.cpp) without its damaged-row list:
// one statement picks the first due row it can lock and claims it.
constexpr const char* kClaim =
    "UPDATE tasks SET status = 'RUNNING', attempts = LEAST(attempts + 1, 2147483647), "
    "updated_at = $1 "
    "WHERE seq = (SELECT seq FROM tasks WHERE status = 'PENDING' AND eta <= $1 "
    "ORDER BY eta, seq FOR UPDATE SKIP LOCKED LIMIT 1) "
    "RETURNING seq, id, name, payload, status, eta, attempts, max_retries, retry_backoff, "
    "retry_delay_us, retry_max_delay_us, retry_jitter, interval_us, last_error, created_at, "
    "updated_at";

// When the claim matched nothing: is a row still due that no one holds? Under a race the
// row the claim picked can be claimed by another session before the UPDATE reaches it,
// and the UPDATE then matches nothing although due rows remain (the backend looks again
// the same way).
constexpr const char* kDue =
    "SELECT seq FROM tasks WHERE status = 'PENDING' AND eta <= $1 "
    "ORDER BY eta, seq FOR UPDATE SKIP LOCKED LIMIT 1";

// The backend's insert_task (queries.cpp), its parameters in task_params' order.
constexpr const char* kInsert =
    "INSERT INTO tasks (id, name, payload, status, eta, attempts, max_retries, retry_backoff, "
    "retry_delay_us, retry_max_delay_us, retry_jitter, interval_us, last_error, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
    "ON CONFLICT (id) DO NOTHING";

// The naive queue's finish: the task's status, by its primary key.
constexpr const char* kFinish = "UPDATE tasks SET status = 'SUCCESS', updated_at = $2 WHERE id = $1";

std::int64_t integer(const PgResult& rows, int column) {
  const std::string_view text = rows.value(0, column);
  std::int64_t out = 0;
  std::from_chars(text.data(), text.data() + text.size(), out);
  return out;
}

// A claimed row as a Task, read from libpq's text format without type checks.
Task read_task(const PgResult& rows) {
  Task task;
  task.id = std::string(rows.value(0, 1));
  task.name = bytea_bytes(rows.value(0, 2));
  task.payload = to_bytes(bytea_bytes(rows.value(0, 3)));
  task.status = parse_task_status(rows.value(0, 4)).value_or(TaskStatus::RUNNING);
  task.eta = from_micros(integer(rows, 5));
  task.attempts = static_cast<std::int32_t>(integer(rows, 6));
  task.max_retries = static_cast<std::int32_t>(integer(rows, 7));
  task.retry.backoff = rows.value(0, 8) == "exponential" ? RetryPolicy::Backoff::exponential
                                                          : RetryPolicy::Backoff::fixed;
  task.retry.delay = Duration(integer(rows, 9));
  task.retry.max_delay = Duration(integer(rows, 10));
  task.retry.jitter = rows.value(0, 11) == "t";
  if (!rows.is_null(0, 12)) task.schedule = IntervalSchedule{Duration(integer(rows, 12))};
  if (!rows.is_null(0, 13)) task.last_error = bytea_bytes(rows.value(0, 13));
  task.created_at = from_micros(integer(rows, 14));
  task.updated_at = from_micros(integer(rows, 15));
  return task;
}

// One session claiming with the prepared claim statement.
class RawClaimer {
 public:
  RawClaimer(const std::string& conninfo, const std::string& schema)
      : connection_(conninfo, schema) {
    connection_.prepare("claim", kClaim);
    connection_.prepare("due", kDue);
  }

  PgConnection& connection() { return connection_; }

  // Claims the first due task (RUNNING, one commit); nullopt once nothing is due.
  std::optional<Task> claim() {
    for (;;) {
      const std::string now = std::to_string(to_micros(now_utc()));
      const std::vector<const char*> values{now.c_str()};
      const PgResult rows = connection_.run_prepared("claim", values);
      if (rows.rows() > 0) return read_task(rows);
      if (connection_.run_prepared("due", values).rows() == 0) return std::nullopt;
    }
  }

 private:
  PgConnection connection_;
};

class RawPostgresContender final : public Contender {
 public:
  RawPostgresContender(const std::string& conninfo, const std::string& schema)
      : claimer_(conninfo, schema) {}

  ClaimCount claim(std::uint64_t limit) override {
    ClaimCount count;
    while (count.claims < limit) {
      if (!claimer_.claim()) break;
      ++count.claims;
    }
    return count;
  }

 private:
  RawClaimer claimer_;
};

// A store the backend created and preloaded, closed again (its pool gone), whose schema
// the raw sessions use; the schema lives as long as the scratch directory.
struct RawStore {
  RawStore(const BackendSpec& postgres, const std::string& conninfo, const fs::path& scratch,
           std::size_t tasks, std::size_t payload_bytes)
      : conninfo(conninfo), schema(postgres_schema(conninfo, store_location(scratch))) {
    postgres.open(store_location(scratch), tasks, payload_bytes).reset();
  }

  std::string conninfo;
  std::string schema;
};

class RawPostgresTarget final : public DrainTarget {
 public:
  explicit RawPostgresTarget(RawStore store) : store_(std::move(store)) {}

  std::unique_ptr<Contender> contender() override {
    return std::make_unique<RawPostgresContender>(store_.conninfo, store_.schema);
  }

 private:
  RawStore store_;
};

class RawPostgresEnqueuer final : public RawEnqueuer {
 public:
  RawPostgresEnqueuer(const RawStore& store, std::size_t payload_bytes)
      : connection_(store.conninfo, store.schema), payload_bytes_(payload_bytes) {
    connection_.prepare("insert", kInsert);
  }

  void enqueue(std::size_t index) override {
    const Task task = make_task(index, payload_bytes_, now_utc());
    const std::string name = bytea_hex(task.name);
    const std::string payload = bytea_hex(std::string_view(
        reinterpret_cast<const char*>(task.payload.data()), task.payload.size()));
    const std::string eta = std::to_string(to_micros(task.eta));
    const std::string created = std::to_string(to_micros(task.created_at));
    const std::string attempts = std::to_string(task.attempts);
    const std::string max_retries = std::to_string(task.max_retries);
    const std::string delay = std::to_string(task.retry.delay.count());
    const std::string max_delay = std::to_string(task.retry.max_delay.count());
    const std::string status(to_string(task.status));
    const std::string backoff(to_string(task.retry.backoff));
    // make_task leaves interval_us and last_error unset: NULL.
    const std::vector<const char*> values{task.id.c_str(),
                                          name.c_str(),
                                          payload.c_str(),
                                          status.c_str(),
                                          eta.c_str(),
                                          attempts.c_str(),
                                          max_retries.c_str(),
                                          backoff.c_str(),
                                          delay.c_str(),
                                          max_delay.c_str(),
                                          task.retry.jitter ? "t" : "f",
                                          nullptr,
                                          nullptr,
                                          created.c_str(),
                                          created.c_str()};
    connection_.run_prepared("insert", values);
  }

 private:
  PgConnection connection_;
  std::size_t payload_bytes_;
};

// The naive queue's worker: the same claim, then the finish, each its own commit.
class NaiveFinisher final : public Finisher {
 public:
  NaiveFinisher(const std::string& conninfo, const std::string& schema)
      : claimer_(conninfo, schema) {
    claimer_.connection().prepare("finish", kFinish);
  }

  bool finish_one() override {
    const std::optional<Task> task = claimer_.claim();
    if (!task) return false;
    const std::string now = std::to_string(to_micros(now_utc()));
    const std::vector<const char*> values{task->id.c_str(), now.c_str()};
    claimer_.connection().run_prepared("finish", values);
    return true;
  }

 private:
  RawClaimer claimer_;
};

// The backend's rows with the index a first attempt at a PostgreSQL queue would have: a
// plain one on (status, eta, seq) instead of the partial one on PENDING rows. Every claim
// and every finish then adds an entry for the row's new status, and leaves the old one
// dead in the key range the next claim scans until vacuum removes it (not during the
// drain: autovacuum is off on the table, as on the backend's store, bench_long.cpp).
class NaiveTarget final : public FinishTarget {
 public:
  explicit NaiveTarget(RawStore store) : store_(std::move(store)) {
    PgConnection connection(store_.conninfo, store_.schema);
    connection.exec(
        "DROP INDEX tasks_pending_by_eta; "
        "CREATE INDEX tasks_by_status_eta ON tasks (status, eta, seq); "
        "ANALYZE tasks; "
        "ALTER TABLE tasks SET (autovacuum_enabled = false)");  // as the backend's drain
  }

  std::unique_ptr<Finisher> finisher() override {
    return std::make_unique<NaiveFinisher>(store_.conninfo, store_.schema);
  }

 private:
  RawStore store_;
};

}  // namespace

BaselineSpec raw_postgres_baseline(const BackendSpec& postgres, const std::string& conninfo) {
  return BaselineSpec{
      .medium = postgres.medium,
      .drain = [postgres, conninfo](const fs::path& scratch, std::size_t tasks,
                                    std::size_t payload_bytes) -> std::unique_ptr<DrainTarget> {
        return std::make_unique<RawPostgresTarget>(
            RawStore(postgres, conninfo, scratch, tasks, payload_bytes));
      },
      .enqueuer = [postgres, conninfo](const fs::path& scratch,
                                       std::size_t payload_bytes) -> std::unique_ptr<RawEnqueuer> {
        const RawStore store(postgres, conninfo, scratch, 0, payload_bytes);
        return std::make_unique<RawPostgresEnqueuer>(store, payload_bytes);
      },
      .sized = true,
      .long_drain = [postgres, conninfo](const fs::path& scratch, std::size_t tasks,
                                         std::size_t payload_bytes) -> std::unique_ptr<FinishTarget> {
        return std::make_unique<NaiveTarget>(
            RawStore(postgres, conninfo, scratch, tasks, payload_bytes));
      }};
}

}  // namespace taskstore::bench
